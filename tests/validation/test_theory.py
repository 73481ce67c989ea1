"""Component models agree with queueing theory (the same checks as `python -m sim validate-models`).

The points, formulas and scenarios live in `sim.runner.theory` (one source of truth); each check
runs its scenario's replications through the normal runner.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from sim.runner import theory as T

_CACHE: dict = {}


def test_formulas_against_known_values():
    assert T.erlang_b(1, 1.0) == pytest.approx(0.5)
    assert T.erlang_b(8, 6.0) == pytest.approx(0.12188, abs=1e-5)  # standard Erlang B table
    assert T.erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = rho
    assert T.mmc_mean_wait(1, 0.7, 1.0) == pytest.approx(T.mm1_mean_wait(0.7, 1.0))
    assert T.md1_mean_wait(0.7, 1.0) == pytest.approx(T.mm1_mean_wait(0.7, 1.0) / 2)
    # M/M/c/K with no waiting room is Erlang B; Little holds inside mmck
    assert T.mmck(4, 4, 3.0, 1.0)["blocking"] == pytest.approx(T.erlang_b(4, 3.0))
    r = T.mmck(2, 5, 2.0, 1.0)
    assert r["busy"] == pytest.approx(r["lambda_eff"] * 1.0)
    assert T.ps_mean_sojourn(0.5, 1.0, 1.0) == pytest.approx(2.0)
    assert T.fluid_finish_times([0, 0], [1, 1], 1.0) == pytest.approx([2.0, 2.0])
    assert T.fluid_finish_times([0, 10], [1, 1], 1.0) == pytest.approx([1.0, 11.0])
    assert T.fluid_finish_times([0, 0], [1, 3], 10.0, per_flow_cap=1.0) == pytest.approx([1.0, 3.0])


def test_checks_cover_what_the_issue_asks():
    models = [c.model for c in T.CHECKS]
    erlang_b = [c for c in T.CHECKS if c.model == "sendqueue loss: Erlang B"]
    assert len(erlang_b) >= 5
    assert any("deterministic" in c.point for c in erlang_b)
    assert any("M/M/1" in m for m in models) and any("Erlang C" in m for m in models)
    assert any("Little" in m for m in models)
    assert any(m.startswith("stream throttling") for m in models)
    assert any("fluid" in m for m in models) and any("PS" in m for m in models)


@pytest.mark.parametrize("check", T.CHECKS, ids=[f"{c.model}|{c.point}|{c.metric}" for c in T.CHECKS])
def test_model_agrees_with_theory(check):
    r = T.evaluate(check, _CACHE)
    assert r.passed, T.format_row(r)


def test_a_wrong_analytic_value_fails():
    """The comparison can fail: Erlang B with one slot fewer is far outside the interval."""
    check = next(c for c in T.CHECKS if c.point.startswith("c=8 a=6 exponential") and c.metric == "blocking_probability")
    wrong = dataclasses.replace(check, analytic=T.erlang_b(7, 6.0))
    r = T.evaluate(wrong, _CACHE)
    assert not r.passed and not math.isnan(r.mean)


def test_validate_models_cli_table_and_exit_code(capsys):
    from sim.cli import main

    assert main(["validate-models", "--only", "fluid"]) == 0
    out = capsys.readouterr().out
    assert "analytic" in out and "pass" in out and "6/6 checks passed" in out
