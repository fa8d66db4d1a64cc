"""Politeness: how hard the fetcher may press on one host, and on the network as a whole.

Every request (feed poll, article page, robots.txt, each redirect hop) takes a slot here first:

- at most `concurrency` requests to one host in flight, and successive requests to that host start at
  least `delay` seconds apart, so a feed with 200 new entries is fetched at the pace the site expects,
  not in a burst; the limits are given per request, so a feed with its own override is served at its
  own pace while sharing the host's count with everyone else;
- at most `global_concurrency` requests in flight in all (taken after the host wait, so requests queued
  behind a slow host never hold slots that other hosts could use);
- a host that answered 429 or 503 with `Retry-After` is blocked as a whole: a block shorter than
  `max_wait` is waited out, a longer one fails fast with HostBlockedError so the caller can defer the work
  in the database instead of holding a task for an hour;
- a robots.txt `Crawl-delay` raises the host's delay (`set_min_delay`).

Hosts are keyed by host name (lower case, no port): politeness is owed to the machine.

Several nodes (scraper.store.leases) each keep their own table; `share` is the number of live nodes, and
each takes its share of every host's limits: at most max(1, concurrency // share) requests in flight to a
host, starting at least delay x share seconds apart. Across the cluster a host then sees at most
max(concurrency, live nodes) requests at once, and no more than one start per `delay` on average: the
limits hold (to within that max) without a round trip to the database per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType

from scraper.errors import HostBlockedError

# Host entries idle this long are forgotten (the table would otherwise grow with every host ever seen).
_IDLE_SECONDS = 3600.0
_PRUNE_AT = 10_000


def _blocked(host: str, seconds: float) -> HostBlockedError:
    """The host asked us to wait (Retry-After) longer than we wait within a run."""
    return HostBlockedError(host, f"{host} asked to wait {seconds:.0f} s (Retry-After)", seconds)


@dataclass
class _Host:
    in_flight: int = 0
    waiting: int = 0
    last_start: float = -math.inf
    blocked_until: float = 0.0
    min_delay: float = 0.0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


class Politeness:
    def __init__(
        self,
        global_concurrency: int,
        *,
        max_wait: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.global_concurrency = global_concurrency
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._hosts: dict[str, _Host] = {}
        self._global: asyncio.Semaphore | None = None
        self.share = 1  # live nodes sharing each host's limits (set by the node's heartbeat)

    @staticmethod
    def key(host: str) -> str:
        return host.strip("[]").lower()

    def _host(self, host: str) -> _Host:
        key = self.key(host)
        state = self._hosts.get(key)
        if state is None:
            if len(self._hosts) >= _PRUNE_AT:
                self._prune()
            state = self._hosts[key] = _Host()
        return state

    def _prune(self) -> None:
        now = self._clock()
        for key, state in list(self._hosts.items()):
            idle = now - state.last_start > _IDLE_SECONDS and state.blocked_until < now
            if idle and state.in_flight == 0 and not state.min_delay:
                del self._hosts[key]

    def block(self, host: str, seconds: float) -> None:
        """Hold every request to `host` for `seconds` (a Retry-After); a longer block already set stands."""
        state = self._host(host)
        state.blocked_until = max(state.blocked_until, self._clock() + seconds)

    def blocked_for(self, host: str) -> float:
        """Seconds the host is still blocked (0 if not)."""
        state = self._hosts.get(self.key(host))
        return max(0.0, state.blocked_until - self._clock()) if state else 0.0

    def set_min_delay(self, host: str, seconds: float) -> None:
        """A floor under the delay between requests to `host` (robots.txt Crawl-delay)."""
        self._host(host).min_delay = max(0.0, seconds)

    def in_flight(self, host: str) -> int:
        state = self._hosts.get(self.key(host))
        return state.in_flight if state else 0

    def slot(self, host: str, concurrency: int, delay: float) -> _Slot:
        """Wait for a turn at `host`, then hold it (and a global slot) for the request's duration:
        `async with politeness.slot(host, concurrency, delay):`."""
        return _Slot(self, host, concurrency, delay)

    async def _enter(self, host: str, concurrency: int, delay: float) -> _Host:
        """A slot's start: the host's turn, its start time waited for, a block waited out (or refused),
        then a global slot. Returns the host's state (the place in it is given back by _leave)."""
        state = self._host(host)
        share = max(1, self.share)
        start = await self._reserve(host, state, max(1, concurrency // share), delay * share)
        try:
            wait = start - self._clock()
            if wait > 0:
                await self._sleep(wait)
            await self._wait_out_block(host, state)
            if self._global is None:
                self._global = asyncio.Semaphore(self.global_concurrency)
            await self._global.acquire()
        except BaseException:
            await self._leave(state)
            raise
        return state

    async def _leave(self, state: _Host) -> None:
        """The host's in-flight place given back, its waiters woken. With none waiting (`waiting` counts
        them from before their wait until they hold the condition again), taking the condition's lock
        (free: no one holds it across an await) and notifying nobody would change nothing: skipped."""
        if not state.waiting:
            state.in_flight -= 1
            return
        async with state.changed:
            state.in_flight -= 1
            state.changed.notify_all()

    async def _reserve(self, host: str, state: _Host, concurrency: int, delay: float) -> float:
        """Take an in-flight place at the host and book a start time; returns that time. A request that
        finds its place free and no one waiting takes it at once, as the loop's first turn would, without
        the condition's lock (free then: see _leave)."""
        if not state.waiting:
            now = self._clock()
            if state.blocked_until - now <= 0 and state.in_flight < concurrency:
                return self._book(state, now, delay)
        async with state.changed:
            while True:
                now = self._clock()
                blocked = state.blocked_until - now
                if blocked > self.max_wait:
                    raise _blocked(host, blocked)
                if blocked <= 0 and state.in_flight < concurrency:
                    break
                # Woken by a request finishing, or by the end of a short block.
                state.waiting += 1
                try:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(state.changed.wait(), blocked if blocked > 0 else None)
                finally:
                    state.waiting -= 1
            return self._book(state, now, delay)

    def _book(self, state: _Host, now: float, delay: float) -> float:
        """The host's place taken, a start time booked (`delay` after the last, at the least)."""
        start = max(now, state.last_start + max(delay, state.min_delay * max(1, self.share)))
        state.last_start = start
        state.in_flight += 1
        return start

    async def _wait_out_block(self, host: str, state: _Host) -> None:
        """A block may have been set while this request waited for its start time."""
        blocked = state.blocked_until - self._clock()
        if blocked > self.max_wait:
            raise _blocked(host, blocked)
        if blocked > 0:
            await self._sleep(blocked)


class _Slot:
    """One request's turn (Politeness.slot), as an async context manager written out: what the
    generator-based one did (enter: the host's place, the start time, the block, the global slot; exit:
    the global slot, then the host's place) without a generator and its context-manager object per
    request."""

    __slots__ = ("_concurrency", "_delay", "_host", "_politeness", "_state")

    def __init__(self, politeness: Politeness, host: str, concurrency: int, delay: float) -> None:
        self._politeness = politeness
        self._host = host
        self._concurrency = concurrency
        self._delay = delay
        self._state: _Host | None = None

    async def __aenter__(self) -> None:
        self._state = await self._politeness._enter(self._host, self._concurrency, self._delay)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        state, self._state = self._state, None
        assert state is not None and self._politeness._global is not None
        try:
            self._politeness._global.release()
        finally:
            await self._politeness._leave(state)
