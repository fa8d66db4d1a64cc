"""Per-host concurrency and delay, the global cap, host-wide blocks: timed with short real delays."""

import asyncio
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.errors import HostBlockedError
from scraper.politeness import Politeness


async def crowd(politeness: Politeness, hosts: list[str], concurrency: int, delay: float, hold: float):
    """Run one request per entry of `hosts`; returns (start times per host, most in flight per host)."""
    starts: dict[str, list[float]] = {}
    peak: dict[str, int] = {}
    total_peak = 0
    in_flight: dict[str, int] = {}

    async def one(host: str) -> None:
        nonlocal total_peak
        async with politeness.slot(host, concurrency, delay):
            starts.setdefault(host, []).append(time.monotonic())
            in_flight[host] = in_flight.get(host, 0) + 1
            peak[host] = max(peak.get(host, 0), in_flight[host])
            total_peak = max(total_peak, sum(in_flight.values()))
            await asyncio.sleep(hold)
            in_flight[host] -= 1

    await asyncio.gather(*(one(h) for h in hosts))
    return starts, peak, total_peak


def test_per_host_concurrency_and_delay() -> None:
    politeness = Politeness(global_concurrency=100)
    starts, peak, _ = asyncio.run(crowd(politeness, ["a.example"] * 5, 2, 0.05, 0.1))
    assert peak["a.example"] == 2
    gaps = [b - a for a, b in zip(starts["a.example"], starts["a.example"][1:], strict=False)]
    assert min(gaps) >= 0.045


def test_hosts_do_not_wait_for_each_other_but_share_the_global_cap() -> None:
    politeness = Politeness(global_concurrency=3)
    hosts = [f"h{i}.example" for i in range(6)]
    began = time.monotonic()
    starts, _, total_peak = asyncio.run(crowd(politeness, hosts, 1, 1.0, 0.05))
    assert total_peak == 3  # the global cap
    assert (
        max(s[0] for s in starts.values()) - began < 0.5
    )  # a per-host delay of 1 s never applied across hosts


def test_host_names_are_one_host_whatever_the_case() -> None:
    politeness = Politeness(global_concurrency=10)
    _, peak, _ = asyncio.run(crowd(politeness, ["A.example", "a.EXAMPLE", "a.example"], 1, 0, 0.05))
    assert max(peak.values()) == 1


def test_a_feed_override_waits_for_its_own_limit() -> None:
    # Two requests at concurrency 2 are in flight; a third asking for concurrency 1 waits for both.
    politeness = Politeness(global_concurrency=10)

    async def go() -> float:
        async def hold(concurrency: int) -> float:
            async with politeness.slot("a.example", concurrency, 0):
                began = time.monotonic()
                await asyncio.sleep(0.1)
                return began

        first, second, third = await asyncio.gather(hold(2), hold(2), hold(1))
        return third - max(first, second)

    assert asyncio.run(go()) >= 0.09


def test_short_block_is_waited_out_long_block_fails_fast() -> None:
    politeness = Politeness(global_concurrency=10, max_wait=1.0)

    async def go() -> float:
        politeness.block("a.example", 0.2)
        began = time.monotonic()
        async with politeness.slot("a.example", 2, 0):
            waited = time.monotonic() - began
        politeness.block("a.example", 30)
        with pytest.raises(HostBlockedError) as info:
            async with politeness.slot("a.example", 2, 0):
                pass
        assert 29 < info.value.retry_after <= 30 and politeness.blocked_for("a.example") > 29
        async with politeness.slot("b.example", 2, 0):  # other hosts go on
            pass
        return waited

    assert 0.18 <= asyncio.run(go()) < 0.5


def test_crawl_delay_raises_the_floor() -> None:
    politeness = Politeness(global_concurrency=10)
    politeness.set_min_delay("a.example", 0.1)
    starts, _, _ = asyncio.run(crowd(politeness, ["a.example"] * 3, 5, 0, 0))
    assert starts["a.example"][2] - starts["a.example"][0] >= 0.19


def test_live_nodes_share_each_hosts_limits() -> None:
    """With 2 live nodes, each takes half of a host's slots and spaces its requests twice as far apart, so
    the two together keep to the host's limits; a limit smaller than the nodes still lets one through."""
    politeness = Politeness(global_concurrency=100)
    politeness.share = 2
    _, peak, _ = asyncio.run(crowd(politeness, ["a.example"] * 4, 4, 0, 0.05))
    assert peak["a.example"] == 2
    starts, _, _ = asyncio.run(crowd(politeness, ["b.example"] * 3, 4, 0.03, 0))
    gaps = [b - a for a, b in zip(starts["b.example"], starts["b.example"][1:], strict=False)]
    assert min(gaps) >= 0.055
    politeness.share = 3
    _, peak, _ = asyncio.run(crowd(politeness, ["c.example"] * 3, 2, 0, 0.02))
    assert peak["c.example"] == 1


@pytest.mark.parametrize("where", ["body", "host turn", "start time", "global slot", "block"])
def test_a_slot_left_any_way_gives_its_places_back(where: str) -> None:
    """However a request leaves its slot (its body raising, cancelled while waiting for the host's turn,
    for its start time or for a global slot, refused by a block), the host's in-flight count and the
    global slots are as before: the next requests are neither held nor let through beyond the limits."""

    async def run() -> None:
        politeness = Politeness(global_concurrency=1, max_wait=0.01)
        holder_in, holder_out = asyncio.Event(), asyncio.Event()

        async def holder(host: str) -> None:  # keeps the host's one place (or the one global slot)
            async with politeness.slot(host, 1, 0):
                holder_in.set()
                await holder_out.wait()

        if where == "body":
            with pytest.raises(RuntimeError):
                async with politeness.slot("a.example", 1, 0):
                    raise RuntimeError("the request failed")
        elif where == "block":
            politeness.block("a.example", 5)
            with pytest.raises(HostBlockedError):
                async with politeness.slot("a.example", 1, 0):
                    pass
            politeness._hosts["a.example"].blocked_until = 0.0  # the block over
        else:
            other = {"host turn": "a.example", "global slot": "b.example"}.get(where)
            held = asyncio.create_task(holder(other)) if other else None
            if held is not None:
                await holder_in.wait()
            delay = 5.0 if where == "start time" else 0
            if where == "start time":  # a first request sets the host's last start: the next waits
                async with politeness.slot("a.example", 1, delay):
                    pass
            waiting = asyncio.create_task(_enter(politeness, "a.example", delay))
            await asyncio.sleep(0.02)
            assert not waiting.done()
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            holder_out.set()
            if held is not None:
                await held
        assert politeness.in_flight("a.example") == 0
        assert politeness.in_flight("b.example") == 0
        assert politeness._global is None or politeness._global._value == 1
        if where != "start time":  # (a start time booked stays booked, cancelled or not)
            async with asyncio.timeout(1):  # and the host takes a request at once
                async with politeness.slot("a.example", 1, 0):
                    assert politeness.in_flight("a.example") == 1

    asyncio.run(run())


async def _enter(politeness: Politeness, host: str, delay: float) -> None:
    async with politeness.slot(host, 1, delay):
        raise AssertionError("never let in")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a.example", "b.example"]), st.integers(1, 3), st.sampled_from([0, 0.5])),
        min_size=1,
        max_size=12,
    ),
    st.lists(st.integers(0, 3), min_size=12, max_size=12),
)
def test_the_uncontended_shortcut_is_the_conditions_path(
    requests: list[tuple[str, int, float]], holds: list[int]
) -> None:
    """A place taken and given back without the host's condition when no one waits for it: the same
    starts, in the same order, at the same (virtual) times, as when every request takes the condition
    (`waiting` counted from 1000: the shortcuts never apply)."""

    def run(waiting_from: int) -> list[tuple[int, str, float]]:
        now = [0.0]
        log: list[tuple[int, str, float]] = []

        async def sleep(seconds: float) -> None:
            now[0] += seconds
            await asyncio.sleep(0)

        async def one(n: int, host: str, concurrency: int, delay: float) -> None:
            async with politeness.slot(host, concurrency, delay):
                log.append((n, "in", now[0]))
                for _ in range(holds[n]):
                    await asyncio.sleep(0)
            log.append((n, "out", now[0]))

        async def main() -> None:
            await asyncio.gather(*(one(n, *request) for n, request in enumerate(requests)))

        politeness = Politeness(3, clock=lambda: now[0], sleep=sleep)
        for host in ("a.example", "b.example"):
            politeness._host(host).waiting = waiting_from
        asyncio.run(main())
        assert all(politeness.in_flight(host) == 0 for host in ("a.example", "b.example"))
        return log

    assert run(0) == run(1000)
