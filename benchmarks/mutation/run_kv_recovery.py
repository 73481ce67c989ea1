"""Sampled mutation score of the `kv_recovery` package (issue 13 item 4), standalone.

Generates mutants of the package's correctness-critical modules with a small AST mutator
(comparison flips, + <-> -, * <-> /, and <-> or, `not x` -> `x`, `if c` -> `if not c`, integer
constants n -> n+1, True <-> False, delete a call or assignment statement, swap two adjacent
statements (not in `__init__`), `return x` -> `return None`; docstrings and strings left alone), draws a fixed random
sample, and runs each mutant in a COPY of the worktree (never in the source tree) against the
killer: the model's fast fault-point tests, then the model tests (`-x -q -n 0`), then a 6-run swarm
campaign on scenarios/kv_recovery_swarm.yaml. Prints per mutant killed / survived / timeout, the
score with a Wilson 95 % interval, the wall time and the diff of every survivor.

    python benchmarks/mutation/run_kv_recovery.py --sample 40 --seed 1 --jobs 2 --timeout 300 \\
        --out /tmp/kv_mutation.json
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mutate import wilson  # the shared mutator's interval (this directory is on sys.path when run)

ROOT = Path(__file__).resolve().parents[2]
MODULES = ["restart_recovery.py", "durable.py", "page_writer.py", "checkpointer.py", "transactions.py",
           "oracle.py", "replica.py", "model.py"]
PKG = "sim/systems/kv_recovery"
KILLERS = [
    "python -m pytest -x -q -n 0 -p no:cacheprovider tests/systems/test_kv_recovery_faultpoints.py",
    "python -m pytest -x -q -n 0 -p no:cacheprovider tests/systems/test_kv_recovery.py",
    "python -m sim campaign scenarios/kv_recovery_swarm.yaml --swarm --runs 6 --workers 1 --no-progress "
    "--out {tmp}/camp",
]
CMP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
       ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
BIN = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}


@dataclass
class Mutant:
    file: str
    index: int  # site number within the file
    line: int
    op: str


def _docstring(node) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _sites(tree: ast.AST):
    """Yield (node, op, apply) where apply(node) mutates that node in place (on a copied tree)."""
    in_func: set[int] = set()
    ctor: set[int] = set()  # bodies of __init__: swapping two independent initialisations is noise
    for f in ast.walk(tree):
        if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for n in ast.walk(f):
                in_func.add(id(n))
                if f.name == "__init__":
                    ctor.add(id(n))
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for i, o in enumerate(node.ops):
                if type(o) in CMP:
                    yield node, f"cmp {type(o).__name__}->{CMP[type(o)].__name__}", \
                        lambda n, i=i: n.ops.__setitem__(i, CMP[type(n.ops[i])]())
        elif isinstance(node, ast.BinOp) and type(node.op) in BIN:
            yield node, f"binop {type(node.op).__name__}", lambda n: setattr(n, "op", BIN[type(n.op)]())
        elif isinstance(node, ast.BoolOp):
            yield node, "and<->or", lambda n: setattr(n, "op", ast.Or() if isinstance(n.op, ast.And) else ast.And())
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            yield node, "not x -> x", lambda n: (setattr(n, "op", ast.UAdd()),)  # +bool(x) keeps the truth of x
        elif isinstance(node, (ast.If, ast.While)):
            yield node, f"{type(node).__name__.lower()} not", \
                lambda n: setattr(n, "test", ast.UnaryOp(op=ast.Not(), operand=n.test))
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            yield node, f"const {node.value}->{node.value + 1}", lambda n: setattr(n, "value", n.value + 1)
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            yield node, f"{node.value}->{not node.value}", lambda n: setattr(n, "value", not n.value)
        elif isinstance(node, ast.Return) and node.value is not None and id(node) in in_func:
            yield node, "return None", lambda n: setattr(n, "value", None)
        for field in ("body", "orelse"):
            body = getattr(node, field, None)
            if not isinstance(body, list) or id(node) not in in_func and not isinstance(node, ast.FunctionDef):
                continue
            for j, st in enumerate(body):
                if _docstring(st):
                    continue
                if isinstance(st, (ast.Assign, ast.AugAssign, ast.AnnAssign)) or \
                        (isinstance(st, ast.Expr) and isinstance(st.value, (ast.Call, ast.Yield, ast.YieldFrom))):
                    yield st, "delete statement", \
                        lambda n, node=node, field=field, j=j: getattr(node, field).__setitem__(j, ast.Pass())
                if j + 1 < len(body) and id(node) not in ctor:
                    yield st, "swap with next", lambda n, node=node, field=field, j=j: _swap(getattr(node, field), j)


def _swap(body, j):
    body[j], body[j + 1] = body[j + 1], body[j]


def _fix_not(tree):
    # `not x -> x` was marked as UAdd on the bool: replace by the operand itself
    class T(ast.NodeTransformer):
        def visit_UnaryOp(self, n):
            self.generic_visit(n)
            return n.operand if isinstance(n.op, ast.UAdd) and getattr(n, "_mut", False) else n
    return T().visit(tree)


def generate(root: Path) -> list[Mutant]:
    out = []
    for m in MODULES:
        rel = f"{PKG}/{m}"
        tree = ast.parse((root / rel).read_text())
        for i, (node, op, _apply) in enumerate(_sites(tree)):
            out.append(Mutant(rel, i, getattr(node, "lineno", 0), op))
    return out


def mutated_source(root: Path, m: Mutant) -> str:
    tree = ast.parse((root / m.file).read_text())
    for i, (node, _op, apply) in enumerate(_sites(tree)):
        if i == m.index:
            if isinstance(node, ast.UnaryOp):
                node._mut = True
            apply(node)
            break
    tree = _fix_not(tree)
    ast.fix_missing_locations(tree)
    return ast.unparse(tree)


def diff(root: Path, m: Mutant) -> str:
    orig = ast.unparse(ast.parse((root / m.file).read_text())).splitlines()
    mut = mutated_source(root, m).splitlines()
    return "\n".join(difflib.unified_diff(orig, mut, m.file, m.file + " (mutant)", n=1, lineterm=""))


def copy_tree(root: Path, dest: Path) -> None:
    shutil.copytree(root, dest, ignore=shutil.ignore_patterns(".git", "results", "__pycache__", ".pytest_cache",
                                                              ".ruff_cache", "*.egg-info"))


def run_killers(tree: Path, timeout: float) -> tuple[str, int | None, float]:
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    t0 = time.time()
    for k, cmd in enumerate(KILLERS):
        left = timeout - (time.time() - t0)
        if left <= 0:
            return "timeout", k, time.time() - t0
        with tempfile.TemporaryDirectory() as tmp:
            try:
                r = subprocess.run(cmd.format(tmp=tmp), shell=True, cwd=tree, env=env, timeout=left,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            except subprocess.TimeoutExpired:
                return "timeout", k, time.time() - t0
        if r.returncode != 0:
            return "killed", k, time.time() - t0
    return "survived", None, time.time() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--list", action="store_true", help="print the sampled mutants and their diffs, run nothing")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    allm = generate(ROOT)
    picked = sorted(random.Random(a.seed).sample(allm, min(a.sample, len(allm))), key=lambda m: (m.file, m.index))
    print(f"{len(allm)} mutants in {len(MODULES)} modules; sampled {len(picked)} (seed {a.seed})")
    if a.list:
        for m in picked:
            print(f"# {m.file}:{m.line} {m.op}\n{diff(ROOT, m)}\n")
        return 0
    t0 = time.time()
    work = Path(tempfile.mkdtemp(prefix="kv_mut_"))
    trees = []
    for j in range(a.jobs):
        copy_tree(ROOT, work / f"w{j}")
        trees.append(work / f"w{j}")
    base = run_killers(trees[0], a.timeout * 3)
    if base[0] != "survived":
        print(f"the killers fail on the unmutated copy ({base}); stopping")
        return 2
    print(f"unmutated: killers pass in {base[2]:.0f} s")
    free = list(trees)
    import threading
    lock = threading.Lock()

    def one(m: Mutant):
        with lock:
            tree = free.pop()
        try:
            path = tree / m.file
            orig = (ROOT / m.file).read_text()
            path.write_text(mutated_source(ROOT, m))
            try:
                status, killer, secs = run_killers(tree, a.timeout)
            finally:
                path.write_text(orig)
            print(f"  {status:<8} {m.file}:{m.line} {m.op} ({secs:.0f} s, killer {killer})", flush=True)
            return m, status, killer, secs
        finally:
            with lock:
                free.append(tree)

    with ThreadPoolExecutor(a.jobs) as ex:
        results = list(ex.map(one, picked))
    shutil.rmtree(work, ignore_errors=True)
    wall = time.time() - t0
    killed = sum(r[1] == "killed" for r in results)
    surv = [r for r in results if r[1] == "survived"]
    tout = sum(r[1] == "timeout" for r in results)
    n = len(results)
    lo, hi = wilson(killed + tout, n)
    print(f"killed {killed}, timed out {tout} (counted as killed), survived {len(surv)} of {n}: "
          f"score {(killed + tout) / n:.1%} (Wilson 95 % {lo:.1%}-{hi:.1%}); wall {wall:.0f} s")
    for m, *_ in surv:
        print(f"\n# SURVIVOR {m.file}:{m.line} {m.op}\n{diff(ROOT, m)}")
    if a.out:
        a.out.write_text(json.dumps({"results": [{"file": m.file, "line": m.line, "op": m.op, "index": m.index,
                                                  "status": s, "killer": k, "seconds": sec}
                                                 for m, s, k, sec in results],
                                     "wall_s": wall, "sample": a.sample, "seed": a.seed}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
