"""Fixtures for the sweep tests: scenario files written on the fly and one shared Dask LocalCluster."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

TOY = """\
name: toy_sweep
description: M/M/1 sweep used by the runner tests
system: toy_queue
plugins: [tests.plugins.toy_queue]
seed: 11
duration: 2s
replications: 2
params:
  arrival_rate: 50/s
  mean_service: 10ms
"""


@pytest.fixture
def scenario_file(tmp_path):
    """Write TOY followed by `extra` (dedented YAML) to a file and return its path."""

    def make(extra: str = "", base: str = TOY, name: str = "sweep.yaml") -> Path:
        p = tmp_path / name
        p.write_text(base + textwrap.dedent(extra))
        return p

    return make


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
