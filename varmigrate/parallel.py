"""Run a function over many work items in worker processes, in chunks, surviving crashes and signals.

- Results come back in input order, whatever the number of processes.
- One item's failure never stops the others: a worker that dies (a segfault in a native parser,
  the OOM killer) only costs a retry of its chunk, one item per fresh process, so the culprit is
  isolated and reported through `on_crash`.
- SIGTERM (and SIGINT) stop the run: workers are terminated. Workers hold signals while they
  replace a file (`sources.atomic_write`), so every file is left either old or new.
- A parent killed outright (`kill -9`, which it cannot catch) takes its workers with it: each worker
  gets SIGTERM when its parent dies (`lifeline`), held like the others while a file is replaced.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar

from .lifeline import die_with_parent

# multiprocessing and concurrent.futures cost ~25% of a pre-commit run's imports: they are
# imported when processes are started, not for a run that checks a file or two in-process.
if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

T = TypeVar("T")
R = TypeVar("R")

# Below this many files that need parsing, starting processes costs more than it saves
# (bench/README.md: one worker start ~15 ms with fork; one typical file ~20-60 ms to lint).
AUTO_MIN_ITEMS = 12
# Items per task: large enough to amortise pickling, small enough to balance the load.
MAX_CHUNK = 8


def auto_jobs(n_items: int) -> int:
    if n_items < AUTO_MIN_ITEMS:
        return 1
    return max(1, min(os.cpu_count() or 1, n_items // (AUTO_MIN_ITEMS // 2)))


def _context() -> Any:
    # fork: workers inherit the already imported engine (no 0.3 s libcst import per worker).
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def _worker_init(parent_pid: int) -> None:
    # Ctrl-C reaches the whole process group; the parent alone decides, then terminates us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # A parent that dies without terminating us (SIGKILL) leaves us blocked on the task pipe forever.
    die_with_parent(parent_pid, signal.SIGTERM)


def _executor(jobs: int) -> ProcessPoolExecutor:
    # Workers are forked by the calling thread, which waits for them to finish (the death signal
    # follows the forking thread: see lifeline).
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=jobs, mp_context=_context(), initializer=_worker_init,
                               initargs=(os.getpid(),))


def _run_chunk(fn: Callable[[T], R], chunk: Sequence[T]) -> list[R]:
    return [fn(item) for item in chunk]


class Terminated(SystemExit):
    """SIGTERM arrived: unwind (closing workers, deleting temporary files) and exit 128+15."""


@contextlib.contextmanager
def terminate_gracefully() -> Iterator[None]:
    """Turn SIGTERM into an exception for the duration (main thread only; a no-op elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _kill_workers(executor: ProcessPoolExecutor) -> None:
    for process in list(getattr(executor, "_processes", {}).values()):
        with contextlib.suppress(Exception):
            process.terminate()
    executor.shutdown(wait=True, cancel_futures=True)


def run_parallel(
    fn: Callable[[T], R],
    items: Sequence[T],
    jobs: int,
    on_crash: Callable[[T, BaseException], R],
    progress: Optional[Callable[[R], None]] = None,
) -> list[R]:
    """`[fn(item) for item in items]`, computed by `jobs` processes; `fn` must be picklable.

    `progress` sees each result as it arrives (chunk by chunk, in input order).
    """
    report = progress or (lambda result: None)
    if jobs <= 1 or len(items) <= 1:
        serial: list[R] = []
        for item in items:
            serial.append(fn(item))
            report(serial[-1])
        return serial
    jobs = min(jobs, len(items))
    size = max(1, min(MAX_CHUNK, len(items) // (jobs * 4)))
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    results: list[Optional[list[R]]] = [None] * len(chunks)
    executor = _executor(jobs)
    try:
        futures: list[Future[list[R]]] = [executor.submit(_run_chunk, fn, chunk) for chunk in chunks]
        for index, future in enumerate(futures):
            try:
                results[index] = future.result()
                for arrived in results[index] or ():
                    report(arrived)
            except Exception:  # a dead worker (BrokenProcessPool) or an unpicklable result
                pass  # retried below, item by item
    except BaseException:
        _kill_workers(executor)
        raise
    executor.shutdown(wait=True)
    out: list[R] = []
    for chunk, result in zip(chunks, results):
        if result is None:
            result = [_isolated(fn, item, on_crash) for item in chunk]
            for item_result in result:
                report(item_result)
        out.extend(result)
    return out


def _isolated(fn: Callable[[T], R], item: T, on_crash: Callable[[T, BaseException], R]) -> R:
    executor = _executor(1)
    try:
        return executor.submit(fn, item).result()
    except Exception as exc:
        return on_crash(item, exc)
    except BaseException:
        _kill_workers(executor)
        raise
    finally:
        executor.shutdown(wait=True)
