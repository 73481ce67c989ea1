"""Sampled mutation score of the `pmem_image` package (a small AST mutator; stand-alone).

Generates every mutant of the package's correctness-critical modules (flip a comparison, swap + and
-, swap `and`/`or`, a constant off by one, `True`/`False`, delete a statement that is a call or an
assignment, swap two adjacent statements), samples `--sample` of them with a fixed seed, and runs
each against the killer — `tests/systems/test_pmem_image_faultpoints.py` and the data-structure and
recovery tests of `tests/systems/test_pmem_image.py` (`KILLER`, `-x -q -n 0`) — in a temporary copy of the worktree (the
source tree is never mutated), with a per-mutant timeout. Prints killed / survived / timed out
with a Wilson 95 % interval and writes every mutant's diff and outcome to `--out` (JSON).

    python benchmarks/mutation/run_pmem_image.py [--sample 40] [--seed 16] [--jobs 2] [--timeout 300]
"""

from __future__ import annotations

import argparse
import ast
import copy
import difflib
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mutate import wilson  # the shared mutator's interval (this directory is on sys.path when run)

ROOT = Path(__file__).resolve().parents[2]
PKG = "sim/systems/pmem_image"
MODULES = ["durability.py", "capture.py", "schemes.py", "store.py", "recovery.py", "restore.py", "frames.py",
           "oracle.py", "application.py", "reclaimer.py", "copy_checkpoint.py"]
#: the fast killer: the fault-point tests (16 MiB runs) and the data-structure and recovery tests of the
#: model's test file (the full file, 256 MiB runs, takes several minutes per surviving mutant on a
#: loaded 2-core machine)
KILLER = ["tests/systems/test_pmem_image_faultpoints.py",
          "tests/systems/test_pmem_image.py::test_per_write_versions_and_last_writes",
          "tests/systems/test_pmem_image.py::test_diff_chain_resolves_like_full_and_merge_keeps_contents",
          "tests/systems/test_pmem_image.py::test_log_truncate_and_unflushed_loss",
          "tests/systems/test_pmem_image.py::test_crash_recovery_equals_memory_at_failure",
          "tests/systems/test_pmem_image.py::test_index_corruption_is_detected_and_recovery_falls_back",
          "tests/systems/test_pmem_image.py::test_broken_variant_without_copy_on_write_is_caught",
          "tests/systems/test_pmem_image.py::test_group_commit_crash_right_after_a_capture_recovers_exactly"]

CMP_FLIP = {ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.Eq: ast.NotEq,
            ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}


def sites(tree: ast.AST) -> list[tuple[str, int]]:
    """(operator, index of the node in ast.walk order) of every possible mutation."""
    out = []
    for i, node in enumerate(ast.walk(tree)):
        if isinstance(node, ast.Compare) and type(node.ops[0]) in CMP_FLIP:
            out.append(("cmp", i))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            out.append(("addsub", i))
        elif isinstance(node, ast.BoolOp):
            out.append(("andor", i))
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            out.append(("bool", i))
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float) and not isinstance(node.value, bool):
            out.append(("const", i))
        if isinstance(node, (ast.FunctionDef, ast.For, ast.While, ast.If, ast.With, ast.Try)):
            for fld in ("body", "orelse"):
                body = getattr(node, fld, None) or []
                for j, st in enumerate(body):
                    is_call = isinstance(st, ast.Expr) and isinstance(st.value, (ast.Call, ast.Yield, ast.YieldFrom))
                    if (is_call or isinstance(st, (ast.Assign, ast.AugAssign))) and len(body) > 1:
                        out.append((f"del:{fld}:{j}", i))
                    if j + 1 < len(body) and not isinstance(st, ast.Return) and not isinstance(
                            body[j + 1], ast.Return):
                        out.append((f"swap:{fld}:{j}", i))
    return out


def apply(tree: ast.AST, op: str, idx: int) -> ast.AST:
    tree = copy.deepcopy(tree)
    node = list(ast.walk(tree))[idx]
    if op == "cmp":
        node.ops[0] = CMP_FLIP[type(node.ops[0])]()
    elif op == "addsub":
        node.op = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
    elif op == "andor":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif op == "bool":
        node.value = not node.value
    elif op == "const":
        node.value = node.value + 1 if node.value != 1 else 0
    elif op.startswith("del:"):
        _, fld, j = op.split(":")
        getattr(node, fld)[int(j)] = ast.Pass()
    elif op.startswith("swap:"):
        _, fld, j = op.split(":")
        body, j = getattr(node, fld), int(j)
        body[j], body[j + 1] = body[j + 1], body[j]
    return ast.fix_missing_locations(tree)


def make_mutants() -> list[dict]:
    out = []
    for mod in MODULES:
        path = ROOT / PKG / mod
        src = path.read_text()
        tree = ast.parse(src)
        base = ast.unparse(tree)
        for op, idx in sites(tree):
            new = ast.unparse(apply(tree, op, idx))
            if new == base:
                continue
            diff = "".join(difflib.unified_diff(base.splitlines(True), new.splitlines(True), n=0))
            out.append({"module": mod, "op": op, "node": idx, "source": new, "diff": diff})
    return out


def run_one(m: dict, timeout: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="mut_pmem_") as tmp:
        work = Path(tmp) / "wt"
        shutil.copytree(ROOT, work, ignore=shutil.ignore_patterns(".git", "results", "__pycache__", "*.pyc",
                                                                  ".pytest_cache", "notebooks"))
        (work / PKG / m["module"]).write_text(m["source"])
        t0 = time.monotonic()
        try:
            r = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-n", "0", "-p", "no:cacheprovider",
                                *KILLER], cwd=work, env={"PYTHONPATH": str(work), "PATH": "/usr/bin:/bin"},
                               capture_output=True, text=True, timeout=timeout)
            outcome = "survived" if r.returncode == 0 else "killed"
            tail = r.stdout.strip().splitlines()[-3:]
        except subprocess.TimeoutExpired:
            outcome, tail = "timeout", []
        return {k: m[k] for k in ("module", "op", "node", "diff")} | {
            "outcome": outcome, "seconds": round(time.monotonic() - t0, 1), "tail": tail}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", type=int, default=40)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--out", default="/tmp/mutation_pmem_image.json")
    a = ap.parse_args()
    t0 = time.monotonic()
    mutants = make_mutants()
    print(f"{len(mutants)} mutants in {len(MODULES)} modules; sampling {a.sample} (seed {a.seed})", flush=True)
    sample = random.Random(a.seed).sample(mutants, min(a.sample, len(mutants)))
    results = []
    with ThreadPoolExecutor(a.jobs) as ex:
        for r in ex.map(lambda m: run_one(m, a.timeout), sample):
            results.append(r)
            print(f"  {r['outcome']:<8} {r['seconds']:6.1f} s  {r['module']}:{r['op']}@{r['node']}", flush=True)
    k = sum(r["outcome"] == "killed" for r in results)
    s = sum(r["outcome"] == "survived" for r in results)
    t = sum(r["outcome"] == "timeout" for r in results)
    lo, hi = wilson(k + t, len(results))
    print(f"killed {k}, survived {s}, timed out {t} of {len(results)}; score (killed + timed out) "
          f"{(k + t) / len(results):.1%}, Wilson 95 % [{lo:.1%}, {hi:.1%}]; {time.monotonic() - t0:.0f} s")
    Path(a.out).write_text(json.dumps({"total_mutants": len(mutants), "seed": a.seed, "results": results},
                                      indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
