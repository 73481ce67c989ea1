"""Measure a real log replay on this machine: the per-record cost behind kv_recovery's `apply_cost`.

    python -u benchmarks/bench_kv_recovery_replay.py [--records 20000 100000 300000] [--repeats 5]

Two engines, both offline (method and results in benchmarks/kv_recovery_replay.md):

- RocksDB (the `rocksdict` binding): a child process writes N records (16-byte keys, 1 KiB values,
  write batches of 4 puts: kv_recovery's default transaction) with the WAL on and a memtable large
  enough that nothing is flushed, then kills itself with SIGKILL (no flush, no clean close). The
  parent times `Rdict(path)`: RocksDB replays the WAL into a fresh memtable (and, as it does by
  default, writes the recovered memtable to an L0 file). The slope of open time against N, fitted
  over several N, is the replay cost per record; the intercept (opening an empty store) drops out.
- SQLite (Python's `sqlite3`, WAL mode): a child writes N rows in transactions of 4 rows with
  `wal_autocheckpoint=0` and is killed before any checkpoint; the parent copies db + wal (so each
  repeat starts from the same files) and times opening plus the first query (the WAL-index rebuild:
  SQLite's recovery reads every frame) and a `wal_checkpoint(TRUNCATE)` (the frames applied to the
  database file). SQLite's WAL is physical (page images), so this bounds the cost per row from
  another side, not a logical redo.

The files are in the page cache when they are replayed (just written): the numbers are CPU cost of
replay, without the device reads, which kv_recovery charges separately through its SSD model.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import statistics
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

VALUE = 1024
KEY = 16
BATCH = 4


def _keys(n: int) -> list[bytes]:
    rng = np.random.default_rng(1)
    ids = rng.permutation(n)  # distinct keys in random order (a key written once: no coalescing)
    return [b"%016d" % i for i in ids]


def _rocks_writer(path: str, n: int) -> None:
    from rocksdict import Options, Rdict, WriteBatch

    opt = Options(raw_mode=True)
    opt.create_if_missing(True)
    opt.set_write_buffer_size(4 * 2**30)  # nothing is flushed: every record stays in the WAL only
    opt.set_max_write_buffer_number(4)
    db = Rdict(path, opt)
    value = os.urandom(VALUE)
    keys = _keys(n)
    for i in range(0, n, BATCH):
        wb = WriteBatch(raw_mode=True)
        for k in keys[i : i + BATCH]:
            wb.put(k, value)
        db.write(wb)
    db.flush_wal(True)  # the WAL is on the file system; the memtable is not flushed
    os.kill(os.getpid(), signal.SIGKILL)


def rocks_replay(n: int, repeats: int, root: Path) -> list[tuple[float, float]]:
    """(wall, CPU) open times (s) of a store whose last N records exist only in its WAL (fresh copy each time).

    CPU time is the process's (every RocksDB thread): on a loaded machine it is the cost; wall time
    also holds the waiting for a core."""
    from rocksdict import Options, Rdict

    src = root / f"rocks-{n}"
    ctx = get_context("fork")
    p = ctx.Process(target=_rocks_writer, args=(str(src), n))
    p.start()
    p.join()
    assert p.exitcode == -signal.SIGKILL, p.exitcode
    times = []
    for r in range(repeats):
        dst = root / f"rocks-{n}-{r}"
        shutil.copytree(src, dst)
        opt = Options(raw_mode=True)
        opt.set_write_buffer_size(4 * 2**30)
        t0, c0 = time.perf_counter(), time.process_time()
        db = Rdict(str(dst), opt)
        t, cpu = time.perf_counter() - t0, time.process_time() - c0
        if n:
            assert db.get(_keys(n)[-1]) is not None  # the replay recovered the last record
        db.close()
        shutil.rmtree(dst)
        times.append((t, cpu))
    shutil.rmtree(src)
    return times


def _sqlite_writer(path: str, n: int) -> None:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")  # no checkpoint: every row stays in the WAL
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID")
    value = os.urandom(VALUE)
    keys = _keys(n)
    for i in range(0, n, BATCH):
        con.execute("BEGIN")
        con.executemany("INSERT INTO kv VALUES (?, ?)", [(k, value) for k in keys[i : i + BATCH]])
        con.execute("COMMIT")
    os.kill(os.getpid(), signal.SIGKILL)  # before any checkpoint, without closing


def sqlite_replay(n: int, repeats: int, root: Path) -> list[tuple[float, float]]:
    """(open + first query, checkpoint) CPU times (s) of a database whose N rows exist only in its WAL."""
    src = root / f"sq-{n}"
    src.mkdir()
    ctx = get_context("fork")
    p = ctx.Process(target=_sqlite_writer, args=(str(src / "db"), n))
    p.start()
    p.join()
    assert p.exitcode == -signal.SIGKILL, p.exitcode
    out = []
    for r in range(repeats):
        dst = root / f"sq-{n}-{r}"
        dst.mkdir()
        for name in ("db", "db-wal"):  # without the -shm: the WAL index is rebuilt (recovery)
            shutil.copy(src / name, dst / name)
        t0 = time.process_time()
        con = sqlite3.connect(str(dst / "db"), isolation_level=None)
        (count,) = con.execute("SELECT count(*) FROM kv").fetchone()
        t1 = time.process_time()
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        t2 = time.process_time()
        con.close()
        assert count == n, (count, n)
        shutil.rmtree(dst)
        out.append((t1 - t0, t2 - t1))
    shutil.rmtree(src)
    return out


def slope(ns: list[int], ts: list[float]) -> tuple[float, float]:
    """Least-squares slope (s per record) and intercept (s) of t against n."""
    a, b = np.polyfit(np.asarray(ns, float), np.asarray(ts, float), 1)
    return float(a), float(b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, nargs="+", default=[20_000, 100_000, 300_000])
    ap.add_argument("--sqlite-records", type=int, nargs="+", default=[2_000, 10_000, 30_000],
                    help="SQLite rows (its WAL holds whole B-tree pages per commit: ~16 KB a row)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--dir", default=None, help="scratch directory (default: a temporary one)")
    ap.add_argument("--json", default=None, help="write the raw times here")
    args = ap.parse_args()
    root = Path(args.dir or tempfile.mkdtemp(prefix="kv-replay-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"load average {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores; scratch {root}")
    raw: dict = {"records": args.records, "load_1min": os.getloadavg()[0]}
    try:
        import rocksdict  # noqa: F401

        have_rocks = True
    except ImportError:
        have_rocks = False
        print("rocksdict not installed: RocksDB skipped (pip install rocksdict)")
    if have_rocks:
        ns, walls, cpus = [], [], []
        for n in args.records:
            times = rocks_replay(n, args.repeats, root)
            ns += [n] * len(times)
            walls += [w for w, _ in times]
            cpus += [c for _, c in times]
            print(f"rocksdb  N={n:>8}: open wall {statistics.median([w for w, _ in times]) * 1e3:8.1f} ms, "
                  f"CPU {statistics.median([c for _, c in times]) * 1e3:8.1f} ms (medians of {len(times)})")
        a, b = slope(ns, walls)
        ac, bc = slope(ns, cpus)
        print(f"rocksdb  WAL replay: CPU {ac * 1e6:.2f} us per record (slope; intercept {bc * 1e3:.1f} ms), "
              f"wall {a * 1e6:.2f} us per record (intercept {b * 1e3:.1f} ms)")
        raw["rocksdb"] = {"n": ns, "open_wall_s": walls, "open_cpu_s": cpus, "slope_wall_s": a, "slope_cpu_s": ac}
    ns, t_open, t_all = [], [], []
    for n in args.sqlite_records:
        times = sqlite_replay(n, args.repeats, root)
        ns += [n] * len(times)
        t_open += [o for o, _c in times]
        t_all += [o + c for o, c in times]
        print(f"sqlite   N={n:>8}: CPU open+first query {statistics.median([o for o, _ in times]) * 1e3:8.1f} ms, "
              f"checkpoint {statistics.median([c for _, c in times]) * 1e3:8.1f} ms (medians)")
    a1, _ = slope(ns, t_open)
    a2, _ = slope(ns, t_all)
    print(f"sqlite   WAL index rebuild {a1 * 1e6:.2f} us per row; rebuild + checkpoint {a2 * 1e6:.2f} us per row")
    raw["sqlite"] = {"n": ns, "open_s": t_open, "open_checkpoint_s": t_all, "slope_open_s": a1, "slope_all_s": a2}
    print(f"load average {os.getloadavg()[0]:.2f} (1 min) at the end")
    if args.json:
        Path(args.json).write_text(json.dumps(raw, indent=1))
    if not args.dir:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
