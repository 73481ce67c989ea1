"""Worked examples of plugin systems, loaded by a scenario's `plugins:` list (run from the repo root)."""
