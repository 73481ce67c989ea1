"""Real-PostgreSQL cross-check of db_pitr (not CI): 2PC over three servers, WAL archiving, PITR.

    python benchmarks/pg_pitr_crosscheck.py [--txns 400] [--out benchmarks/db_pitr_pg.json]

Needs PostgreSQL's server binaries (Debian's `postgresql-15`: /usr/lib/postgresql/15/bin) and, when
run as root, the `postgres` system user (the servers run under it). No Python driver: each
connection is a long-lived `psql` process fed on stdin.

1. Three servers (the partitions) with `wal_level=replica`, `archive_mode=on` (`cp` to an archive
   directory) and `max_prepared_transactions`; a base backup of each.
2. A small Python coordinator runs transactions over two or three servers with `PREPARE
   TRANSACTION` on each, appends its commit decision to its own log file (fsync) and then runs
   `COMMIT PREPARED` on each participant in turn, pausing between participants so that the commit
   phase straddles instants; single-server transactions commit directly. The oracle: the plan
   (transaction -> servers) and the coordinator's decision times.
3. T = an instant inside one transaction's commit phase. Every server's WAL is switched and
   archived; the servers stop.
4. Twice, each server is restored from its base backup with `recovery_target_time = T`:
   - independent: each server alone rolls back the transactions it finds prepared;
   - coordinated: each prepared transaction is committed iff the coordinator's log has its
     decision before T, else rolled back.
   Counted: transactions left prepared, half applied after resolution, and lost (decided before T
   but not everywhere).
5. WAL replay rate: pgbench writes WAL on one server after its base backup; a restore replays it
   all; the rate is (redo end LSN - redo start LSN) / the redo time PostgreSQL logs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
ROOT = Path(os.environ.get("PG_XCHECK_DIR", "/tmp/db_pitr_pgxcheck"))
USER = "postgres"
PORT0 = 55431


def as_pg(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", USER, "--"] + cmd
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


class Psql:
    """One connection: a psql process fed on stdin; `run(sql)` returns its output lines."""

    def __init__(self, port: int, db: str = "postgres") -> None:
        cmd = [str(BIN / "psql"), "-X", "-q", "-A", "-t", "-h", str(ROOT / "sock"), "-p", str(port), "-d", db]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", USER, "--"] + cmd
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, bufsize=1)

    def run(self, sql: str) -> list[str]:
        sql = sql.rstrip()
        self.p.stdin.write(sql + ("" if sql.endswith(";") else ";") + "\n\\echo __done__\n")
        self.p.stdin.flush()
        out = []
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError("psql ended: " + "\n".join(out))
            line = line.rstrip("\n")
            if line == "__done__":
                return out
            if "ERROR:" in line:
                raise RuntimeError(f"{sql}: {line}")
            out.append(line)

    def close(self) -> None:
        self.p.stdin.close()
        self.p.wait(timeout=30)


def conf(datadir: Path, port: int, extra: str = "") -> None:
    with open(datadir / "postgresql.conf", "a") as f:
        f.write(f"\nport = {port}\nlisten_addresses = ''\nunix_socket_directories = '{ROOT / 'sock'}'\n"
                "max_prepared_transactions = 200\nwal_level = replica\nfsync = on\n"
                "shared_buffers = 64MB\nmax_wal_size = 4GB\nlog_checkpoints = on\n" + extra)


def start(datadir: Path, log: Path) -> None:
    as_pg([str(BIN / "pg_ctl"), "-D", str(datadir), "-l", str(log), "-w", "-t", "600", "start"])


def stop(datadir: Path) -> None:
    as_pg([str(BIN / "pg_ctl"), "-D", str(datadir), "-m", "fast", "-w", "stop"])


def wait_promoted(port: int, timeout: float = 600.0) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            out = as_pg([str(BIN / "psql"), "-X", "-A", "-t", "-h", str(ROOT / "sock"), "-p", str(port), "-c",
                         "select pg_is_in_recovery()"]).stdout.strip()
            if out == "f":
                return
        except subprocess.CalledProcessError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"server on port {port} did not finish recovery")


def setup(n: int) -> list[Path]:
    if ROOT.exists():  # a previous run's servers: stop them before their directories go
        for pid_file in ROOT.glob("*/postmaster.pid"):
            try:
                stop(pid_file.parent)
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(ROOT)
    (ROOT / "sock").mkdir(parents=True)
    dirs = []
    for i in range(n):
        d, arch = ROOT / f"data{i}", ROOT / f"archive{i}"
        arch.mkdir()
        dirs.append(d)
    if os.geteuid() == 0:
        for p in [ROOT, *ROOT.rglob("*")]:
            shutil.chown(p, USER)
    for i, d in enumerate(dirs):
        as_pg([str(BIN / "initdb"), "-D", str(d), "-A", "trust", "-U", USER, "--no-sync"])
        conf(d, PORT0 + i, f"archive_mode = on\narchive_command = 'test ! -f {ROOT}/archive{i}/%f && "
                           f"cp %p {ROOT}/archive{i}/%f'\n")
        start(d, ROOT / f"server{i}.log")
    return dirs


def restore(i: int, target: str | None, tag: str) -> Path:
    """Restore server i from its base backup to `target` (None: the end of the archive)."""
    d = ROOT / f"{tag}{i}"
    if d.exists():
        shutil.rmtree(d)
    shutil.copytree(ROOT / f"base{i}", d)
    if os.geteuid() == 0:
        for p in [d, *d.rglob("*")]:
            shutil.chown(p, USER)
    os.chmod(d, 0o700)
    extra = f"restore_command = 'cp {ROOT}/archive{i}/%f %p'\narchive_mode = off\n"
    if target is not None:
        extra += f"recovery_target_time = '{target}'\nrecovery_target_action = 'promote'\n"
    conf(d, PORT0 + 10 + i, extra)
    (d / "recovery.signal").touch()
    if os.geteuid() == 0:
        shutil.chown(d / "recovery.signal", USER)
    log = ROOT / f"{tag}{i}.log"
    start(d, log)
    wait_promoted(PORT0 + 10 + i)
    return d


def ts(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")


def workload(servers: list[Psql], n_txns: int, coord_log: Path) -> tuple[dict, dict, float]:
    """Run the transactions; returns (plan txn->servers, decision time per txn, T)."""
    import random

    rng = random.Random(22)
    plan: dict[int, list[int]] = {}
    decided: dict[int, float] = {}
    straddle: list[tuple[float, float]] = []
    with open(coord_log, "a") as log:
        for k in range(1, n_txns + 1):
            if rng.random() < 0.5:
                parts = [rng.randrange(3)]
                servers[parts[0]].run(f"insert into t values ({k}, {k})")
                plan[k] = parts
                continue
            parts = sorted(rng.sample(range(3), rng.choice((2, 3))))
            plan[k] = parts
            for i in parts:
                servers[i].run(f"begin; insert into t values ({k}, {k}); prepare transaction 'g{k}'")
            t_dec = time.time()
            log.write(f"commit {k} {t_dec!r}\n")
            log.flush()
            os.fsync(log.fileno())
            decided[k] = t_dec
            first = None
            for j, i in enumerate(parts):
                servers[i].run(f"commit prepared 'g{k}'")
                if j == 0:
                    first = time.time()
                    time.sleep(0.02)  # the commit phase straddles instants
            straddle.append((first, time.time()))
    mid = straddle[len(straddle) // 2]
    return plan, decided, (mid[0] + mid[1]) / 2 + 0.001


def resolve_and_count(plan: dict, decided: dict, target: float, coordinated: bool) -> dict:
    conns = [Psql(PORT0 + 10 + i) for i in range(3)]
    left = 0
    for c in conns:
        gids = [g for g in c.run("select gid from pg_prepared_xacts") if g]
        left += len(gids)
        for g in gids:
            k = int(g[1:])
            commit = coordinated and k in decided and decided[k] < target
            c.run(f"{'commit' if commit else 'rollback'} prepared '{g}'")
    applied = [set(int(x) for x in c.run("select id from t") if x) for c in conns]
    for c in conns:
        c.close()
    half = sum(1 for k, ps in plan.items() if 0 < sum(k in applied[i] for i in ps) < len(ps))
    lost = sum(1 for k, t in decided.items() if t < target and not all(k in applied[i] for i in plan[k]))
    return {"prepared_at_T": left, "half_applied": half, "decided_before_T_not_everywhere": lost,
            "multi_partition_decided_before_T": sum(1 for t in decided.values() if t < target)}


def replay_rate(scale: int, seconds: int) -> dict:
    """WAL replay rate of one restore: pgbench writes WAL after the base backup, a restore replays it."""
    d0 = ROOT / "data0"
    port = PORT0
    as_pg([str(BIN / "pgbench"), "-h", str(ROOT / "sock"), "-p", str(port), "-i", "-s", str(scale), "-q",
           "postgres"])
    base = ROOT / "base_r0"
    as_pg([str(BIN / "pg_basebackup"), "-h", str(ROOT / "sock"), "-p", str(port), "-D", str(base), "-X", "fetch"])
    as_pg([str(BIN / "pgbench"), "-h", str(ROOT / "sock"), "-p", str(port), "-c", "4", "-T", str(seconds),
           "-N", "postgres"])
    as_pg([str(BIN / "psql"), "-X", "-h", str(ROOT / "sock"), "-p", str(port), "-c", "select pg_switch_wal()"])
    time.sleep(3)
    stop(d0)
    shutil.move(str(ROOT / "base0"), str(ROOT / "base0_2pc"))
    shutil.move(str(base), str(ROOT / "base0"))
    t0 = time.time()
    restore(0, None, "replay")
    wall = time.time() - t0
    log = (ROOT / "replay0.log").read_text()
    m1 = re.search(r"redo starts at ([0-9A-F]+)/([0-9A-F]+)", log)
    m2 = re.search(r"redo done at ([0-9A-F]+)/([0-9A-F]+).*?elapsed: ([0-9.]+) s", log, re.S)
    out = {"restore_wall_s": wall}
    if m1 and m2:
        lsn = lambda hi, lo: (int(hi, 16) << 32) + int(lo, 16)  # noqa: E731
        nbytes = lsn(m2.group(1), m2.group(2)) - lsn(m1.group(1), m1.group(2))
        el = float(m2.group(3))
        out |= {"wal_bytes": nbytes, "redo_elapsed_s": el, "replay_rate_bytes_s": nbytes / el if el else None}
    stop(ROOT / "replay0")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--txns", type=int, default=400)
    ap.add_argument("--pgbench-scale", type=int, default=20)
    ap.add_argument("--pgbench-seconds", type=int, default=30)
    ap.add_argument("--out", default="benchmarks/db_pitr_pg.json")
    a = ap.parse_args()
    t_start = time.time()
    try:
        return run(a, t_start)
    finally:  # never leave a server running
        for pid_file in ROOT.glob("*/postmaster.pid"):
            try:
                stop(pid_file.parent)
            except subprocess.CalledProcessError:
                pass


def run(a, t_start: float) -> int:
    dirs = setup(3)
    servers = [Psql(PORT0 + i) for i in range(3)]
    for s in servers:
        s.run("create table t (id bigint primary key, v bigint)")
        s.run("checkpoint")
    for i in range(3):
        as_pg([str(BIN / "pg_basebackup"), "-h", str(ROOT / "sock"), "-p", str(PORT0 + i), "-D",
               str(ROOT / f"base{i}"), "-X", "fetch"])
    coord_log = ROOT / "coordinator.log"
    plan, decided, target = workload(servers, a.txns, coord_log)
    time.sleep(0.5)
    for s in servers:
        s.run("select pg_switch_wal()")
        s.close()
    time.sleep(3)  # the archiver copies the switched segments
    result = {"servers": 3, "transactions": a.txns, "multi_partition": len(decided), "T": ts(target)}
    for tag, coordinated in (("independent", False), ("coordinated", True)):
        for i in range(3):
            restore(i, ts(target), tag)
        result[tag] = resolve_and_count(plan, decided, target, coordinated)
        for i in range(3):
            stop(ROOT / f"{tag}{i}")
    result["replay"] = replay_rate(a.pgbench_scale, a.pgbench_seconds)
    for d in dirs[1:]:
        stop(d)
    result["wall_s"] = time.time() - t_start
    result["loadavg"] = open("/proc/loadavg").read().split()[:3]
    print(json.dumps(result, indent=2))
    Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
