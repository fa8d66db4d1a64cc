"""CPU-bound reading spread over processes, in order, with memory bounded by the work in flight.

An import or adoption of a big archive spends its time parsing (front matter, canonical URLs, the body's
plain text), not in the database: worker processes parse chunks while this process stores what they gave.
Why processes: the parsing is pure Python, which threads cannot run at once. Why bounded: the chunks are
submitted a few at a time (never the whole input), so memory holds `ahead` chunks whatever the archive's
size. Why the first chunk here: a run that finds a handful of files (most runs) never starts a process.

The workers are spawned (not forked): the parent may hold threads (a progress bar's) and database
connections, which a forked child would inherit in whatever state they were.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """One worker per core this process may run on, less the one this process stores on: a worker more
    than the cores only takes turns with the others and with this process (on 2 cores, 2 workers and the
    storing process cost ~50% more CPU than one worker for no shorter run). One core: none."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(cores - 1, 0)


def ordered_map(fn: Callable[[T], R], chunks: Iterable[T], *, workers: int, ahead: int = 2) -> Iterator[R]:
    """`fn(chunk)` for each chunk, in order. `fn` must be a module-level function (it is pickled) that
    does not raise for bad input (it returns the failure as data). With `workers` < 1, or a single chunk,
    everything runs here; a pool that breaks (a worker killed) has its chunks done here instead."""
    pending = iter(chunks)
    first = next(pending, None)
    if first is None:
        return
    yield fn(first)
    second = next(pending, None)
    if second is None:
        return
    rest = _chain(second, pending)
    if workers < 1:
        yield from (fn(chunk) for chunk in rest)
    else:
        yield from _pooled(fn, rest, workers, ahead)


def _chain(head: T, rest: Iterator[T]) -> Iterator[T]:
    yield head
    yield from rest


def _pooled(fn: Callable[[T], R], chunks: Iterator[T], workers: int, ahead: int) -> Iterator[R]:
    in_flight: deque[tuple[T, Future[R] | None]] = deque()
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        for chunk in chunks:
            in_flight.append((chunk, _submit(pool, fn, chunk)))
            while len(in_flight) > workers * ahead:
                yield _result(fn, *in_flight.popleft())
        while in_flight:
            yield _result(fn, *in_flight.popleft())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _submit(pool: ProcessPoolExecutor, fn: Callable[[T], R], chunk: T) -> Future[R] | None:
    try:
        return pool.submit(fn, chunk)
    except BrokenProcessPool:
        return None  # done here when its turn comes


def _result(fn: Callable[[T], R], chunk: T, future: Future[R] | None) -> R:
    if future is not None:
        try:
            return future.result()
        except BrokenProcessPool:
            log.warning("a parsing worker died; its chunk is parsed in this process")
    return fn(chunk)
