"""The group recorder (scraper.recorder): outcomes that finish while a batch is written go in the next."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from scraper.recorder import GroupRecorder


class Store:
    """A store_many that blocks on its first batch until released, and records the batches it saw."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.fail_on = fail_on

    def __call__(self, items: Sequence[str], summaries: Sequence[list[str]]) -> None:
        if not self.batches:
            self.release.wait(5)
        self.batches.append(list(items))
        if self.fail_on in items:
            raise RuntimeError("database went away")
        for item, summary in zip(items, summaries, strict=True):
            summary.append(f"stored {item}")


def test_outcomes_arriving_during_a_write_go_together_in_the_next_batch() -> None:
    async def main() -> list[list[str]]:
        store = Store()
        recorder: GroupRecorder[str, list[str]] = GroupRecorder(store, list)
        first = asyncio.create_task(recorder.record("a"))
        await asyncio.sleep(0.05)  # "a" is being written (blocked in the thread)
        rest = [asyncio.create_task(recorder.record(name)) for name in "bcd"]
        await asyncio.sleep(0.05)
        store.release.set()
        results = await asyncio.gather(first, *rest)
        assert results == [["stored a"], ["stored b"], ["stored c"], ["stored d"]]
        assert recorder.batches == 2
        return store.batches

    assert asyncio.run(main()) == [["a"], ["b", "c", "d"]]


def test_a_failed_batch_raises_in_each_of_its_callers_and_the_next_batch_goes_on() -> None:
    async def main() -> None:
        store = Store(fail_on="b")
        recorder: GroupRecorder[str, list[str]] = GroupRecorder(store, list)
        first = asyncio.create_task(recorder.record("a"))
        await asyncio.sleep(0.05)
        failing = [asyncio.create_task(recorder.record(name)) for name in "bc"]
        await asyncio.sleep(0.05)
        store.release.set()
        assert await first == ["stored a"]
        for task in failing:
            with pytest.raises(RuntimeError, match="went away"):
                await task
        assert await recorder.record("d") == ["stored d"]  # the recorder still works

    asyncio.run(main())


def test_an_outcome_whose_caller_was_cancelled_is_still_written() -> None:
    async def main() -> list[list[str]]:
        store = Store()
        recorder: GroupRecorder[str, list[str]] = GroupRecorder(store, list)
        first = asyncio.create_task(recorder.record("a"))
        await asyncio.sleep(0.05)
        cancelled = asyncio.create_task(recorder.record("b"))
        await asyncio.sleep(0.01)
        cancelled.cancel()  # the daemon stopping: the fetch was done, its outcome is kept
        store.release.set()
        await first
        await recorder.wait()
        return store.batches

    assert asyncio.run(main()) == [["a"], ["b"]]


def test_with_a_linger_outcomes_finishing_close_together_share_one_transaction() -> None:
    """A node with few requests in flight: outcomes a few ms apart go in one batch, not one each."""

    async def main() -> list[list[str]]:
        store = Store()
        store.release.set()
        recorder: GroupRecorder[str, list[str]] = GroupRecorder(store, list, linger=0.5)
        tasks = []
        for name in "abcd":
            tasks.append(asyncio.create_task(recorder.record(name)))
            await asyncio.sleep(0.01)
        assert await asyncio.gather(*tasks) == [[f"stored {name}"] for name in "abcd"]
        return store.batches

    assert asyncio.run(main()) == [["a", "b", "c", "d"]]


def test_a_full_batch_is_written_at_once_without_waiting_out_the_linger() -> None:
    async def main() -> tuple[list[list[str]], float]:
        store = Store()
        store.release.set()
        recorder: GroupRecorder[str, list[str]] = GroupRecorder(store, list, max_batch=3, linger=30.0)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(*(recorder.record(name) for name in "abc"))
        return store.batches, loop.time() - started

    batches, seconds = asyncio.run(main())
    assert batches == [["a", "b", "c"]]
    assert seconds < 20  # not the 30 s linger (a wide margin: the machine may be loaded)


def test_a_writer_cancelled_while_lingering_still_writes_what_it_holds() -> None:
    """Nothing fetched is lost: a stop that cancels the writer mid-linger gets the outcomes written first."""

    async def main() -> list[list[str]]:
        store = Store()
        store.release.set()
        recorder: GroupRecorder[str, list[str]] = GroupRecorder(store, list, linger=30.0)
        tasks = [asyncio.create_task(recorder.record(name)) for name in "ab"]
        await asyncio.sleep(0.05)
        assert recorder._writer is not None
        recorder._writer.cancel()
        assert await asyncio.gather(*tasks) == [["stored a"], ["stored b"]]
        with pytest.raises(asyncio.CancelledError):
            await recorder._writer
        return store.batches

    assert asyncio.run(main()) == [["a", "b"]]


def test_the_idle_hook_runs_once_after_a_burst_not_between_its_batches() -> None:
    """The article recorder marks the posts written when the outcomes pause (scraper.outcome_recorder)."""

    async def main() -> list[object]:
        events: list[object] = []
        store = Store()
        store.release.set()

        def store_many(items: Sequence[str], summaries: Sequence[list[str]]) -> None:
            store(items, summaries)
            events.append(list(items))

        recorder: GroupRecorder[str, list[str]] = GroupRecorder(
            store_many, list, max_batch=2, linger=0.2, on_idle=lambda: events.append("idle")
        )
        await asyncio.gather(*(recorder.record(name) for name in "abc"))
        while recorder.busy:  # the hook comes a linger after the last batch
            await asyncio.sleep(0.01)
        return events

    assert asyncio.run(main()) == [["a", "b"], ["c"], "idle"]


def test_waiting_for_the_recorder_runs_the_idle_hook_without_the_linger() -> None:
    async def main() -> tuple[int, float]:
        calls: list[int] = []
        store = Store()
        store.release.set()
        recorder: GroupRecorder[str, list[str]] = GroupRecorder(
            store, list, max_batch=1, linger=30.0, on_idle=lambda: calls.append(1)
        )
        loop = asyncio.get_running_loop()
        started = loop.time()
        await recorder.record("a")
        await recorder.wait()
        return len(calls), loop.time() - started

    calls, seconds = asyncio.run(main())
    assert calls == 1
    assert seconds < 20  # not the 30 s linger (a wide margin: the machine may be loaded)
