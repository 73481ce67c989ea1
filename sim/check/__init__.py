"""Oracles, invariants and range sets: what a model's results are checked against (drivers live in sim.runner)."""
