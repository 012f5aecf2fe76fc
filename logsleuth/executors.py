"""Where per-run work runs: in this process, in a local process pool, or on a Dask cluster.

Each executor takes the run sources and a picklable `work(chunk) -> [Outcome]`, calls
`on_done(first, outcomes)` in the parent as each chunk finishes (`first`: the index of the
chunk's first source, so the caller can keep what is done, e.g. in the cache, before the scan
ends), and returns the diagnoses in the order of the sources.  A worker handles one run at a
time, so its memory holds one run's data; the parent only collects diagnoses.  Local pool
workers exit when the parent dies (they would otherwise wait for work forever).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence

from .errors import UsageError
from .model import Outcome

POOL_MIN_RUNS = 16  # below this a process pool costs more than it saves
MAX_CHUNK = 16
PARENT_POLL_S = 1.0  # how often a pool worker checks that the process that started it is alive


def _watch_parent(parent: int) -> None:
    """Pool initializer: exit when the parent (`parent`, its pid taken before the fork) is gone
    (killed with -9, say).  The objects inherited from the parent are frozen (gc.freeze).
    On Linux the kernel also signals the worker at once (PR_SET_PDEATHSIG).  Ctrl-C is the
    parent's to handle: a worker that took it while waiting for work would print a traceback."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    # a parent killed between the fork and this line sends no signal and leaves nothing to
    # watch (getppid() would already be the new parent): such a worker waited for work forever
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_S)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="logsleuth-parent-watch").start()
    # what the worker inherited from the parent (modules, the rule set) lives as long as it does:
    # out of the collector's sight, its collections walk only what the runs make (and do not
    # write to the parent's pages: copy-on-write stays shared). 2-5% of a 2,000-run first scan
    import gc

    gc.freeze()


def chunks(n: int, workers: int) -> list[tuple[int, int]]:
    """(start, stop) slices: about 8 per worker for load balance, at most MAX_CHUNK runs each
    so progress moves and a slow run does not hold many others back."""
    size = max(1, min(MAX_CHUNK, n // (8 * max(1, workers))))
    return [(i, min(n, i + size)) for i in range(0, n, size)]


def _collect(sources: Sequence, parts: list[tuple[int, int]], finished) -> list[Outcome]:
    out: list[Outcome | None] = [None] * len(sources)
    for (a, b), res in finished:
        if len(res) != b - a:
            raise RuntimeError(f"worker returned {len(res)} results for {b - a} runs")
        out[a:b] = res
    return out  # type: ignore[return-value]


OnDone = Callable[[int, list[Outcome]], None]


def run_local(sources: Sequence, work: Callable, jobs: int, on_done: OnDone) -> list[Outcome]:
    if jobs <= 1 or len(sources) < POOL_MIN_RUNS:
        out: list[Outcome] = []
        for i, s in enumerate(sources):
            res = work([s])
            on_done(i, res)
            out += res
        return out
    from concurrent.futures import ProcessPoolExecutor, as_completed

    parts = chunks(len(sources), jobs)

    def finished():
        ex = ProcessPoolExecutor(max_workers=jobs, initializer=_watch_parent, initargs=(os.getpid(),))
        try:
            futs = {ex.submit(work, list(sources[a:b])): (a, b) for a, b in parts}
            for fut in as_completed(futs):
                res = fut.result()
                on_done(futs[fut][0], res)
                yield futs[fut], res
        except BaseException:  # Ctrl-C, a worker lost: do not wait for the chunks still queued
            ex.shutdown(wait=False, cancel_futures=True)
            raise
        # every chunk is back: wait for the pool to close its pipes.  Left closing at exit, its
        # manager thread races the interpreter's exit hook on an unlocked pipe (CPython gh-125451,
        # fixed after 3.11), which then prints an OSError traceback after the report
        ex.shutdown(wait=True)

    return _collect(sources, parts, finished())


def run_dask(sources: Sequence, work: Callable, scheduler: str | None, jobs: int, on_done: OnDone) -> list[Outcome]:
    """On the Dask distributed cluster at `scheduler` (workers must see the log paths and
    have logsleuth installed); with no address, on a LocalCluster of `jobs` worker processes."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        raise UsageError("--executor dask needs the dask extra: pip install 'logsleuth-training[dask]'") from exc
    if not sources:
        return []
    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="30s")
        else:
            cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler {scheduler or '(local cluster)'}: {exc}") from exc
    try:
        parts = chunks(len(sources), sum(client.nthreads().values()) or jobs)
        futs = client.map(work, [list(sources[a:b]) for a, b in parts], pure=False)
        where = {f.key: p for f, p in zip(futs, parts)}

        def finished():
            for fut in as_completed(futs):
                res = fut.result()
                on_done(where[fut.key][0], res)
                yield where[fut.key], res

        return _collect(sources, parts, finished())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
