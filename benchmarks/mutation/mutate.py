"""A small AST mutation tester: mutate a COPY of the worktree, run a killer command, report.

Shared by the per-model scripts (`benchmarks/mutation/run_<name>.py` may import it). It never
touches the source tree it is given: the tree is copied (without `.git`, `results`, caches) to a
temporary directory per worker, each mutant is written into that copy, the killer runs there with
`PYTHONPATH=<copy>`, and the original file is put back before the next mutant.

Command line (from the repo root)::

    python benchmarks/mutation/mutate.py \\
        --module sim/systems/nvlog_mirror/variants.py --module sim/systems/nvlog_mirror/oracle.py \\
        --killer "python -m pytest -x -q -n 0 -p no:cacheprovider tests/systems/test_nvlog_mirror.py" \\
        --sample 40 --seed 1 --timeout 120 --jobs 1 --out results/mutation/nvlog.json

    exit 0; prints one line per mutant (killed / survived / timeout / error), the score with a
    Wilson 95 % interval, the wall time, and the unified diff of every survivor.

`--list` only prints the mutants (no run). `--killer` may be given several times: they run in
order and the first failing one kills the mutant (e.g. the fast tests, then a short campaign).
A killer is a shell command run with `cwd` = the copy; `{root}` in it is replaced by the copy's path.
Before any mutant, the killers run once on the unmutated copy and must all pass (else exit 2).

Python interface::

    from benchmarks.mutation.mutate import generate_mutants, run_mutants, sample, wilson, summarize
    # (repo root on sys.path: `benchmarks` is a namespace package; or sys.path.insert(0, "benchmarks/mutation")
    #  and `import mutate`)

    mutants = generate_mutants(root, ["sim/systems/x/model.py"])     # list[Mutant], deterministic
    mutants = sample(mutants, 40, seed=1)                            # a fixed random subset
    results = run_mutants(root, mutants, ["python -m pytest -x -q -n 0 tests/..."], timeout=120)
    print(summarize(results))                                        # text report
    # Mutant: .file .line .op .description .index; .diff(root) -> unified diff text
    # Result: .mutant .status ("killed" | "survived" | "timeout" | "error") .seconds .killer (which one)

Operators (each site yields one mutant): comparison flips (`<`->`<=`, `<=`->`<`, `>`->`>=`,
`>=`->`>`, `==`<->`!=`, `is`<->`is not`, `in`<->`not in`), arithmetic `+`<->`-`, `*`<->`/`,
`and`<->`or`, `not x`->`x`, `if c`/`while c` -> `if not c`, integer constants `n`->`n+1`,
`True`<->`False`, delete a statement that is a call or an (augmented) assignment (replaced by
`pass`), swap two adjacent statements (both only inside functions), `return x` -> `return None`. Docstrings and string
constants are left alone. A mutant is written as `ast.unparse` of the mutated tree (comments are
lost, semantics kept); the survivor diff compares the unparsed original to the unparsed mutant,
so it shows only the mutated lines.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

_CMP_SWAP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
             ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
_BIN_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
_BOOL_SWAP = {ast.And: ast.Or, ast.Or: ast.And}
_IGNORE = (".git", "results", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".hypothesis",
           "*.egg-info", ".venv", "node_modules")


@dataclass
class Mutant:
    """One mutation: the `index`-th node of `ast.walk` order in `file` (`site` says which part)."""

    file: str  # relative to the root
    index: int  # the node's position in ast.walk(tree)
    site: tuple  # operator-specific: ("cmp", k), ("bin",), ("bool",), ("not",), ("cond",), ("int",),
    #              ("bool_const",), ("del", field, i), ("swap", field, i), ("ret_none",)
    op: str
    line: int
    description: str

    @property
    def key(self) -> str:
        return f"{self.file}:{self.line}:{self.op}:{self.index}:{'/'.join(map(str, self.site))}"

    def mutated_source(self, original: str) -> str:
        tree = ast.parse(original)
        nodes = list(ast.walk(tree))
        node = nodes[self.index]
        if self.site[0] == "not":
            _replace_child(nodes, node, node.operand)
        else:
            _apply(node, self.site)
        ast.fix_missing_locations(tree)
        return ast.unparse(tree) + "\n"

    def diff(self, root: str | Path) -> str:
        src = (Path(root) / self.file).read_text()
        before = ast.unparse(ast.parse(src)) + "\n"
        after = self.mutated_source(src)
        return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True),
                                            f"a/{self.file}", f"b/{self.file}", n=1))


@dataclass
class Result:
    mutant: Mutant
    status: str  # killed | survived | timeout | error
    seconds: float
    killer: int | None = None  # index of the killer that failed (killed) or timed out
    tail: str = field(default="", repr=False)  # last lines of the killer's output (killed / error)


def _is_docstring(node: ast.AST, parent_body: list | None = None) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def _sites(node: ast.AST):
    """(site, op, description) of the mutations at `node`."""
    if isinstance(node, ast.Compare):
        for k, o in enumerate(node.ops):
            if type(o) in _CMP_SWAP:
                yield ("cmp", k), "compare", f"{type(o).__name__} -> {_CMP_SWAP[type(o)].__name__}"
    elif isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _BIN_SWAP:
        yield ("bin",), "arith", f"{type(node.op).__name__} -> {_BIN_SWAP[type(node.op)].__name__}"
    elif isinstance(node, ast.BoolOp):
        yield ("bool",), "boolop", f"{type(node.op).__name__} -> {_BOOL_SWAP[type(node.op)].__name__}"
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield ("not",), "not", "not x -> x"
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool):
            yield ("bool_const",), "constant", f"{node.value} -> {not node.value}"
        elif isinstance(node.value, int):
            yield ("int",), "constant", f"{node.value} -> {node.value + 1}"
    elif isinstance(node, ast.Return) and node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None):
        yield ("ret_none",), "return", "return x -> return None"
    if isinstance(node, (ast.If, ast.While)):
        yield ("cond",), "negate", f"{type(node).__name__.lower()} c -> {type(node).__name__.lower()} not c"
    if isinstance(node, (ast.Module, ast.ClassDef)):
        return  # imports and class attributes: deleting or swapping them is noise (import errors)
    for fld in ("body", "orelse", "finalbody"):
        body = getattr(node, fld, None)
        if not isinstance(body, list) or not body or not isinstance(body[0], ast.stmt):
            continue
        for i, st in enumerate(body):
            if _is_docstring(st, body):
                continue
            deletable = (isinstance(st, ast.Expr) and isinstance(st.value, ast.Call)) or isinstance(
                st, (ast.Assign, ast.AugAssign, ast.AnnAssign))
            if deletable and not (isinstance(st, ast.AnnAssign) and st.value is None):
                yield ("del", fld, i), "delete", f"delete statement at line {st.lineno}"
            if i + 1 < len(body) and not _is_docstring(body[i + 1], body) and not isinstance(
                    st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not isinstance(
                    body[i + 1], (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if ast.dump(st) != ast.dump(body[i + 1]):
                    yield ("swap", fld, i), "swap", f"swap statements at lines {st.lineno} and {body[i + 1].lineno}"


def _replace_child(nodes: list, old: ast.AST, new: ast.AST) -> None:
    """Put `new` where `old` is in its parent."""
    for parent in nodes:
        for fld, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, fld, new)
                return
            if isinstance(value, list):
                for i, v in enumerate(value):
                    if v is old:
                        value[i] = new
                        return


def _apply(node: ast.AST, site: tuple) -> None:
    kind = site[0]
    if kind == "cmp":
        node.ops[site[1]] = _CMP_SWAP[type(node.ops[site[1]])]()
    elif kind == "bin":
        node.op = _BIN_SWAP[type(node.op)]()
    elif kind == "bool":
        node.op = _BOOL_SWAP[type(node.op)]()
    elif kind == "not":
        pass  # replaced in its parent by `mutated_source` (`not x` -> `x`)
    elif kind == "cond":
        node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)
    elif kind == "int":
        node.value = node.value + 1
    elif kind == "bool_const":
        node.value = not node.value
    elif kind == "ret_none":
        node.value = ast.Constant(value=None)
    elif kind == "del":
        body = getattr(node, site[1])
        old = body[site[2]]
        body[site[2]] = ast.copy_location(ast.Pass(), old)
    elif kind == "swap":
        body = getattr(node, site[1])
        i = site[2]
        body[i], body[i + 1] = body[i + 1], body[i]
    else:  # pragma: no cover
        raise ValueError(site)


def generate_mutants(root: str | Path, files: list[str], ops: set[str] | None = None) -> list[Mutant]:
    """Every mutant of `files` (paths relative to `root`), in a deterministic order; `ops` filters by op."""
    out: list[Mutant] = []
    for rel in files:
        src = (Path(root) / rel).read_text()
        tree = ast.parse(src)
        nodes = list(ast.walk(tree))
        # string constants that are docstrings are skipped by construction (only int/bool constants)
        for idx, node in enumerate(nodes):
            for site, op, desc in _sites(node):
                if ops and op not in ops:
                    continue
                line = getattr(node, "lineno", 0)
                if site[0] in ("del", "swap"):
                    line = getattr(node, site[1])[site[2]].lineno
                out.append(Mutant(rel, idx, site, op, line, desc))
    # drop mutants whose source equals the original (e.g. a no-op) or does not compile
    keep = []
    cache: dict[str, str] = {}
    for m in out:
        src = cache.setdefault(m.file, (Path(root) / m.file).read_text())
        try:
            new = m.mutated_source(src)
            compile(new, m.file, "exec")
        except Exception:
            continue
        if new != ast.unparse(ast.parse(src)) + "\n":
            keep.append(m)
    return keep


def sample(mutants: list[Mutant], n: int | None, seed: int = 1) -> list[Mutant]:
    """A fixed random subset of `n` mutants (all of them when n is None or >= their number)."""
    if n is None or n >= len(mutants):
        return list(mutants)
    rng = random.Random(seed)
    picked = sorted(rng.sample(range(len(mutants)), n))
    return [mutants[i] for i in picked]


def copy_tree(root: str | Path, dest: str | Path) -> Path:
    """A copy of `root` for mutating (without .git, results and caches)."""
    dest = Path(dest)
    shutil.copytree(root, dest, ignore=shutil.ignore_patterns(*_IGNORE), symlinks=True)
    return dest


def _run(cmd: str, cwd: Path, timeout: float) -> tuple[str, int | None, str]:
    """('ok' | 'fail' | 'timeout', returncode, output tail)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(cwd)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    cmd = cmd.replace("{root}", str(cwd))
    p = subprocess.Popen(cmd, shell=True, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True, text=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)  # the killer's own process group only
        p.communicate()
        return "timeout", None, ""
    tail = "\n".join(out.strip().splitlines()[-5:])
    return ("ok" if p.returncode == 0 else "fail"), p.returncode, tail


def run_killers(copy: Path, killers: list[str], timeout: float) -> tuple[str, int | None, str]:
    """Run the killers in order on `copy`: ('passed', None, '') or (status, index, tail) of the first not passing."""
    for k, cmd in enumerate(killers):
        st, _rc, tail = _run(cmd, copy, timeout)
        if st != "ok":
            return st, k, tail
    return "passed", None, ""


def run_mutants(root: str | Path, mutants: list[Mutant], killers: list[str], timeout: float = 120.0,
                jobs: int = 1, progress=None, check_baseline: bool = True) -> list[Result]:
    """Run every mutant against the killers, `jobs` copies in parallel; `progress(result)` after each."""
    root = Path(root)
    tmp = Path(tempfile.mkdtemp(prefix="mutate-"))
    try:
        copies = [copy_tree(root, tmp / f"w{j}") for j in range(max(1, jobs))]
        if check_baseline:
            st, k, tail = run_killers(copies[0], killers, timeout)
            if st != "passed":
                raise RuntimeError(f"killer {k} does not pass on the unmutated tree ({st}):\n{tail}")
        originals = {m.file: (root / m.file).read_text() for m in mutants}
        queues = [mutants[j::len(copies)] for j in range(len(copies))]

        def work(j: int) -> list[Result]:
            copy = copies[j]
            res = []
            for m in queues[j]:
                target = copy / m.file
                t0 = time.monotonic()
                try:
                    target.write_text(m.mutated_source(originals[m.file]))
                    st, k, tail = run_killers(copy, killers, timeout)
                finally:
                    target.write_text(originals[m.file])
                status = {"passed": "survived", "fail": "killed", "timeout": "timeout"}[st]
                r = Result(m, status, time.monotonic() - t0, k, tail)
                res.append(r)
                if progress is not None:
                    progress(r)
            return res

        with ThreadPoolExecutor(len(copies)) as ex:
            parts = list(ex.map(work, range(len(copies))))
        order = {m.key: i for i, m in enumerate(mutants)}
        return sorted((r for p in parts for r in p), key=lambda r: order[r.mutant.key])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n (95 % by default)."""
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


def summarize(results: list[Result], root: str | Path | None = None, seconds: float | None = None) -> str:
    """Counts, score (killed + timeout over all) with its Wilson 95 % interval, and the survivors' diffs."""
    n = len(results)
    counts = {s: sum(1 for r in results if r.status == s) for s in ("killed", "timeout", "survived", "error")}
    dead = counts["killed"] + counts["timeout"]
    lo, hi = wilson(dead, n)
    lines = [f"mutants: {n}  killed: {counts['killed']}  timeout: {counts['timeout']}  "
             f"survived: {counts['survived']}  error: {counts['error']}",
             f"score (killed+timeout)/all: {dead}/{n} = {dead / n if n else math.nan:.1%}  "
             f"Wilson 95% [{lo:.1%}, {hi:.1%}]"]
    if seconds is not None:
        lines.append(f"wall time: {seconds:.0f} s")
    surv = [r for r in results if r.status == "survived"]
    if surv and root is not None:
        lines.append("")
        lines.append("survivors:")
        for r in surv:
            lines.append(f"--- {r.mutant.key}  ({r.mutant.description})")
            lines.append(r.mutant.diff(root).rstrip())
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=".", help="the tree to copy (default: .)")
    ap.add_argument("--module", action="append", required=True, help="file to mutate, relative to root (repeat)")
    ap.add_argument("--killer", action="append", required=True, help="shell command; non-zero exit kills (repeat)")
    ap.add_argument("--sample", type=int, default=None, help="run a fixed random sample of this many mutants")
    ap.add_argument("--seed", type=int, default=1, help="sampling seed (default 1)")
    ap.add_argument("--timeout", type=float, default=120.0, help="per-killer timeout, s (default 120)")
    ap.add_argument("--jobs", type=int, default=1, help="copies run in parallel (default 1)")
    ap.add_argument("--ops", default=None, help="comma-separated operators to keep (compare,arith,boolop,not,"
                                                "negate,constant,return,delete,swap)")
    ap.add_argument("--list", action="store_true", help="list the (sampled) mutants and exit")
    ap.add_argument("--out", default=None, help="write every result as JSON here")
    a = ap.parse_args(argv)
    root = Path(a.root).resolve()
    ops = set(a.ops.split(",")) if a.ops else None
    everything = generate_mutants(root, a.module, ops)
    chosen = sample(everything, a.sample, a.seed)
    print(f"{len(everything)} mutants in {len(a.module)} file(s); running {len(chosen)}"
          + (f" (sample, seed {a.seed})" if len(chosen) < len(everything) else ""), flush=True)
    if a.list:
        try:
            for m in chosen:
                print(f"{m.key}  {m.description}")
        except BrokenPipeError:  # e.g. piped into head
            pass
        return 0
    t0 = time.monotonic()
    done = [0]

    def progress(r: Result) -> None:
        done[0] += 1
        print(f"[{done[0]}/{len(chosen)}] {r.status:8s} {r.seconds:6.1f}s  {r.mutant.key}  {r.mutant.description}",
              flush=True)

    try:
        results = run_mutants(root, chosen, a.killer, a.timeout, a.jobs, progress)
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    wall = time.monotonic() - t0
    print()
    print(summarize(results, root, wall))
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        payload = {"total_mutants": len(everything), "sampled": len(chosen), "seed": a.seed, "wall_time_s": wall,
                   "killers": a.killer, "timeout_s": a.timeout,
                   "results": [{**asdict(r.mutant), "key": r.mutant.key, "status": r.status, "seconds": r.seconds,
                                "killer": r.killer, "diff": r.mutant.diff(root) if r.status == "survived" else ""}
                               for r in results]}
        Path(a.out).write_text(json.dumps(payload, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
