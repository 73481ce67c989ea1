"""Item 14 of issue 18: result files respect the umask (not 0600 from mkstemp)."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from sim.runner.store import atomic_write_bytes, atomic_write_json, atomic_write_parquet


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_result_files_get_the_mode_of_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        atomic_write_bytes(tmp_path / "a.bin", b"x")
        atomic_write_json(tmp_path / "m.json", {"a": 1})
        atomic_write_parquet(tmp_path / "r.parquet", pd.DataFrame({"a": [1]}))
    finally:
        os.umask(old)
    for name in ("a.bin", "m.json", "r.parquet"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
