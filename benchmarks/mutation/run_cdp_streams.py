"""A sampled mutation score for `sim/systems/cdp_streams/` (stand-alone small AST mutator).

Mutants of the correctness-critical modules (apply, chunks, data, recovery, undo, garbage,
snapshots, appliance, splitter, oracle) are generated with these operators: flip a comparison
(< <=, > >=, == !=, is / is not, in / not in), swap + and -, swap `and` / `or`, an integer
constant off by one, `True` <-> `False`, delete a statement that is a call or an assignment
(replaced by `pass`), swap two adjacent statements. `--sample N` of them are drawn at random with
`--seed`; each is written into a temporary copy of the worktree (the source tree is never
touched) and killed by the model's tests (`pytest -x -q -n 0`, fault-point tests first, less the
slow tests that check no correctness property: `KILLER`), with a per-mutant timeout. Prints killed / survived / timed out with a Wilson 95 % interval and writes
a JSON report (every mutant: module, line, operator, the mutated line, outcome).

    PYTHONPATH=$PWD python benchmarks/mutation/run_cdp_streams.py --sample 40 --seed 1 --jobs 2
"""

from __future__ import annotations

import argparse
import ast
import json
import os
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
PKG = "sim/systems/cdp_streams"
MODULES = ("apply", "chunks", "data", "recovery", "undo", "garbage", "snapshots", "appliance", "splitter",
           "oracle")
#: the fast killer: the fault-point tests first, then the model's tests less the slow ones that check
#: no correctness property (determinism in a fresh interpreter, costs, CLI and scenario validation)
KILLER = ["tests/systems/test_cdp_streams_faultpoints.py", "tests/systems/test_cdp_streams.py", "-k",
          "not deterministic and not monthly_cost and not bad_params and not scenarios_validate "
          "and not slow_link and not stream_variants_cost"]

CMP_SWAP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
            ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}


def _docstring(node: ast.AST, parent_body: list) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def sites(tree: ast.Module) -> list[tuple[str, int]]:
    """(operator, index among the nodes that operator visits) for every mutation of `tree`."""
    out: list[tuple[str, int]] = []
    for op in OPERATORS:
        n = len(list(OPERATORS[op](tree, None)))
        out += [(op, i) for i in range(n)]
    return out


def _walk(tree):
    return [n for n in ast.walk(tree)]


def op_compare(tree, k):
    i = 0
    for n in _walk(tree):
        if isinstance(n, ast.Compare):
            for j, o in enumerate(n.ops):
                if type(o) in CMP_SWAP:
                    if k == i:
                        n.ops[j] = CMP_SWAP[type(o)]()
                        yield n
                        return
                    i += 1
                    if k is None:
                        yield n


def _nth_node(tree, k, matches, change):
    """The k-th node of `tree` that `matches`, changed in place by `change`; every match when k is None."""
    i = 0
    for n in _walk(tree):
        if matches(n):
            if k == i:
                change(n)
                yield n
                return
            i += 1
            if k is None:
                yield n


def _flip_arith(n):
    n.op = ast.Sub() if isinstance(n.op, ast.Add) else ast.Add()


def _flip_bool(n):
    n.op = ast.Or() if isinstance(n.op, ast.And) else ast.And()


def _bump_const(n):
    n.value = (not n.value) if isinstance(n.value, bool) else n.value + 1


def op_arith(tree, k):
    return _nth_node(tree, k, lambda n: isinstance(n, (ast.BinOp, ast.AugAssign)) and isinstance(n.op, (ast.Add, ast.Sub)),
                     _flip_arith)


def op_bool(tree, k):
    return _nth_node(tree, k, lambda n: isinstance(n, ast.BoolOp), _flip_bool)


def op_const(tree, k):
    return _nth_node(tree, k, lambda n: isinstance(n, ast.Constant) and type(n.value) in (int, bool), _bump_const)


def _bodies(tree):
    for n in _walk(tree):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(n, field, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                yield body


def op_delete(tree, k):
    i = 0
    for body in _bodies(tree):
        for j, s in enumerate(body):
            if isinstance(s, (ast.Assign, ast.AugAssign, ast.AnnAssign)) or (
                    isinstance(s, ast.Expr) and isinstance(s.value, (ast.Call, ast.Yield, ast.YieldFrom))):
                if k == i:
                    body[j] = ast.copy_location(ast.Pass(), s)
                    yield s
                    return
                i += 1
                if k is None:
                    yield s


def op_swap(tree, k):
    i = 0
    for body in _bodies(tree):
        for j in range(len(body) - 1):
            a, b = body[j], body[j + 1]
            if _docstring(a, body) or isinstance(a, (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)) \
                    or isinstance(b, (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
                continue
            if k == i:
                body[j], body[j + 1] = b, a
                yield a
                return
            i += 1
            if k is None:
                yield a


OPERATORS = {"compare": op_compare, "arith": op_arith, "bool": op_bool, "const": op_const,
             "delete": op_delete, "swap": op_swap}


def mutate(src: str, op: str, k: int) -> tuple[str, int] | None:
    tree = ast.parse(src)
    got = list(OPERATORS[op](tree, k))
    if not got:
        return None
    line = getattr(got[0], "lineno", 0)
    new = ast.unparse(tree)
    if new == ast.unparse(ast.parse(src)):
        return None
    return new, line


def make_copy(dst: Path) -> None:
    ignore = shutil.ignore_patterns(".git", "results", "__pycache__", "*.pyc", ".pytest_cache", "notebooks")
    shutil.copytree(ROOT, dst, ignore=ignore)


def run_mutant(work: Path, mod: str, src: str, timeout: float) -> tuple[str, float]:
    path = work / PKG / f"{mod}.py"
    original = path.read_text()
    path.write_text(src)
    env = dict(os.environ, PYTHONPATH=str(work), PYTHONDONTWRITEBYTECODE="1")
    t0 = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-n", "0", "-p", "no:cacheprovider",
                               *KILLER], cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
        outcome = "survived" if proc.returncode == 0 else "killed"
    except subprocess.TimeoutExpired:
        outcome = "timeout"
    finally:
        path.write_text(original)
    return outcome, time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1, help="mutants run at once (each in its own copy)")
    ap.add_argument("--timeout", type=float, default=240.0, help="per mutant, wall seconds")
    ap.add_argument("--out", default="benchmarks/mutation/cdp_streams.json")
    ap.add_argument("--list", action="store_true", help="only count the mutants per module and operator")
    ap.add_argument("--skip", type=int, default=0, help="leave out the first SKIP mutants of the sample "
                    "(split one sample over several processes: --skip 0 --sample 20, --skip 20 --sample 20)")
    ap.add_argument("--only", default="", help="re-run given mutants instead of a sample: MODULE:OP:LINE,...")
    args = ap.parse_args()
    all_mutants: list[tuple[str, str, int]] = []
    for mod in MODULES:
        tree = ast.parse((ROOT / PKG / f"{mod}.py").read_text())
        all_mutants += [(mod, op, k) for op, k in sites(tree)]
    print(f"{len(all_mutants)} mutants in {len(MODULES)} modules of {PKG}")
    if args.list:
        from collections import Counter

        for (mod, op), n in sorted(Counter((m, o) for m, o, _ in all_mutants).items()):
            print(f"  {mod:<12}{op:<10}{n:>5}")
        return 0
    rng = random.Random(args.seed)
    order = list(all_mutants)
    rng.shuffle(order)
    only = {tuple(x.split(":")) for x in args.only.split(",") if x}
    chosen = []
    for mod, op, k in order:  # skip mutants that do not change the code (e.g. unparse-equal)
        src = (ROOT / PKG / f"{mod}.py").read_text()
        got = mutate(src, op, k)
        if got is None:
            continue
        new, line = got
        if only and (mod, op, str(line)) not in only:
            continue
        text = src.splitlines()[line - 1].strip() if 0 < line <= len(src.splitlines()) else ""
        chosen.append({"module": mod, "op": op, "index": k, "line": line, "original": text, "src": new})
        if len(chosen) >= args.skip + args.sample and not only:
            break
    chosen = chosen[args.skip:]
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mut_cdp_") as tmp:
        works = [Path(tmp) / f"w{j}" for j in range(args.jobs)]
        for w in works:
            make_copy(w)
        free = list(works)

        def job(m: dict) -> dict:
            w = free.pop()
            try:
                m["outcome"], m["wall_s"] = run_mutant(w, m["module"], m["src"], args.timeout)
            finally:
                free.append(w)
            print(f"  {m['outcome']:<9}{m['wall_s']:7.1f}s  {m['module']}:{m['op']}:{m['line']} #{m['index']}  "
                  f"{m['original']}",
                  flush=True)
            return m

        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(job, chosen))
    wall = time.monotonic() - t0
    killed = sum(r["outcome"] == "killed" for r in results)
    survived = sum(r["outcome"] == "survived" for r in results)
    timeout = sum(r["outcome"] == "timeout" for r in results)
    n = len(results)
    lo, hi = wilson(killed + timeout, n)
    print(f"{n} mutants (sampled, seed {args.seed}): {killed} killed, {survived} survived, {timeout} timed out; "
          f"score {(killed + timeout) / max(n, 1):.1%} (Wilson 95 % {lo:.1%}..{hi:.1%}); {wall:.0f} s wall")
    for r in results:
        r.pop("src")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"seed": args.seed, "sample": n, "population": len(all_mutants),
                                          "killed": killed, "survived": survived, "timeout": timeout,
                                          "wall_s": wall, "mutants": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
