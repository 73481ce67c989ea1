"""Executors for sweeps, all behind the `concurrent.futures.Executor` interface.

- `serial`: runs each call in the calling process when it is submitted (debugging, tiny sweeps).
- `processes` (default): `ProcessPoolExecutor` with an explicit *spawn* context, so it works the same
  from a shell, a notebook or a thread, on every OS, without changing the global multiprocessing
  start method (fork after threads have started is unsafe; notebooks cannot use fork reliably).
- `dask`: `dask.distributed.Client.get_executor()` on an existing scheduler (`address`) or a
  `LocalCluster` started here (one single-threaded worker process per core: runs are CPU-bound
  Python and would fight over the GIL in threads). Dask is an optional extra.

`open_executor(...)` is a context manager yielding `(executor, description, max_in_flight)` and
closing everything it started on exit.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

EXECUTORS = ("serial", "processes", "dask")
CONNECT_TIMEOUT_S = 5.0  # a --scheduler address with nothing listening fails after this long


class ExecutorUnavailable(RuntimeError):
    """The executor could not be started or reached (one-line message, e.g. no Dask scheduler)."""


class SerialExecutor(cf.Executor):
    """Runs each submitted call immediately in this process and returns its finished Future."""

    def __init__(self) -> None:
        self._shutdown = False
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
        fut: cf.Future = cf.Future()
        if not fut.set_running_or_notify_cancel():
            return fut
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - delivered through the future, like other executors
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            fut.set_exception(exc)
        return fut

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True


class UnguardedMainError(SystemExit):
    """A script starts spawn workers without `if __name__ == "__main__":` (each worker would re-run it).

    A SystemExit: the script ends with its one-line message on stderr and exit code 1, not with a
    traceback (or, unchecked, with a BrokenProcessPool after pages of the workers' tracebacks)."""


def check_main_guard() -> None:
    """Refuse to start spawn workers from a script without an `if __name__ == "__main__":` guard.

    Spawn re-imports the main script in every worker; unguarded, each one runs the sweep again and
    the pool breaks with pages of tracebacks. `python -m pkg.__main__`-style entry points, `-c`,
    notebooks and interactive sessions are not re-imported and need no guard."""
    import ast
    import sys

    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and (spec.name == "__main__" or spec.name.endswith(".__main__")):
        return  # not re-run by spawn (multiprocessing skips such modules)
    path = getattr(main, "__file__", None)
    if not path or not str(path).endswith(".py") or not os.path.isfile(path):
        return
    try:
        tree = ast.parse(open(path, encoding="utf-8").read(), filename=str(path))  # noqa: SIM115
    except (OSError, SyntaxError, ValueError):
        return
    for node in tree.body:
        if isinstance(node, ast.If) and "__name__" in ast.unparse(node.test) and "__main__" in ast.unparse(node.test):
            return
    raise UnguardedMainError(
        f'{path}: starts worker processes without an `if __name__ == "__main__":` guard; spawned workers '
        "re-import the script, so put the code that runs the sweep under that guard (or use executor='serial')")


def _worker_init() -> None:
    """Set up a pool worker: leave Ctrl-C to the sweep's process (which saves its results and stops
    the workers), and exit when that process dies (a pool worker otherwise outlives a killed parent:
    it holds the write end of its own task queue, so it never sees end-of-file)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:

        def exit_with_parent() -> None:
            parent.join()  # waits on the parent's sentinel: returns when the parent is gone
            os._exit(1)

        threading.Thread(target=exit_with_parent, name="exit-with-parent", daemon=True).start()


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def open_executor(kind: str = "processes", workers: int | None = None,
                  scheduler: str | None = None) -> Iterator[tuple[cf.Executor, str, int]]:
    """Yield (executor, description, max_in_flight); shuts down what it started on exit."""
    if kind not in EXECUTORS:
        raise ValueError(f"unknown executor {kind!r}; use one of {', '.join(EXECUTORS)}")
    if workers is not None and workers < 1:
        raise ValueError("workers must be >= 1")
    if kind == "serial":
        ex = SerialExecutor()
        try:
            yield ex, "serial", 1
        finally:
            ex.shutdown()
        return
    if kind == "processes":
        check_main_guard()
        n = workers or available_cores()
        ex = cf.ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"),
                                    initializer=_worker_init)
        try:
            yield ex, f"processes ({n} workers, spawn)", 2 * n
        except BaseException:
            procs = list((getattr(ex, "_processes", None) or {}).values())
            ex.shutdown(wait=False, cancel_futures=True)
            for proc in procs:
                proc.terminate()  # do not wait for the runs in flight: they are lost either way
            for proc in procs:
                proc.join(timeout=2)
            queue = getattr(ex, "_call_queue", None)
            if queue is not None:  # its feeder thread must not block the exit on a pipe nobody reads
                queue.cancel_join_thread()
            manager = getattr(ex, "_executor_manager_thread", None)
            if manager is not None:
                manager.join(timeout=2)
            raise
        else:
            ex.shutdown(wait=True)
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise RuntimeError('the dask executor needs dask.distributed: pip install -e ".[dask]"') from e
    with contextlib.ExitStack() as stack:
        if scheduler:
            try:
                client = stack.enter_context(Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s"))
            except (OSError, TimeoutError) as e:
                raise ExecutorUnavailable(f"cannot reach the Dask scheduler at {scheduler} within "
                                          f"{CONNECT_TIMEOUT_S:g} s ({type(e).__name__}); is it running?") from None
            desc = f"dask ({scheduler})"
        else:
            n = workers or available_cores()
            cluster = stack.enter_context(LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                                       dashboard_address=None))
            client = stack.enter_context(Client(cluster))
            desc = f"dask LocalCluster ({n} workers)"
        threads = sum(client.nthreads().values()) or 1
        ex = client.get_executor()
        try:
            yield ex, desc, 2 * threads
        finally:
            ex.shutdown(wait=False)
