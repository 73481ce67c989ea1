"""Scenario files: line-aware YAML loading, schema validation, extends/overrides, sweeps."""

from sim.scenario.errors import ErrorItem, ScenarioError
from sim.scenario.schema import Scenario, load_scenario, parse_set_arguments, scenario_from_dict

__all__ = ["ErrorItem", "Scenario", "ScenarioError", "load_scenario", "parse_set_arguments", "scenario_from_dict"]
