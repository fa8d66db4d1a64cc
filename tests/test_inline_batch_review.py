"""The hostile review of scraper.inline_batch: what broke it (a StopIteration, a caller cancelled while its
piece ran, two running loops; fixed) and what it was tried with and did right ("held")."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from pathlib import Path

import pytest

from scraper.inline_batch import InlineBatch
from tests.conftest import run_cli, write_config
from tests.daemon_helpers import (
    DaemonProcess,
    Site,
    daemon_config,
    post_files,
    site_running,
    statuses,
    wait_for,
)

# --- found by the review, fixed ----------------------------------------------------------------------------


def test_a_piece_raising_stopiteration_fails_alone_and_the_rest_of_its_batch_is_answered() -> None:
    """StopIteration is an Exception, but Future.set_exception(StopIteration()) raises TypeError: the
    TypeError leaves `_run_queued` with the batch already taken off the queue, so the pieces after it
    never run and their callers wait forever (and so does the StopIteration piece's own caller)."""

    def stops() -> object:
        return next(iter(()))  # a bug in an extractor: StopIteration escapes

    async def main() -> list[object]:
        batch = InlineBatch(size=3, wait=0.01)
        pieces = [batch.run(lambda: "a"), batch.run(stops), batch.run(lambda: "c")]
        return list(await asyncio.wait_for(asyncio.gather(*pieces, return_exceptions=True), 3))

    first, error, last = asyncio.run(main())  # first version: a TimeoutError (pieces 2 and 3 hung)
    assert first == "a" and last == "c"
    assert isinstance(error, Exception)


def test_a_caller_cancelled_while_its_piece_runs_leaves_the_rest_of_the_batch_answered() -> None:
    """A caller cancelled while its own piece runs (only a Python-level signal handler or the piece itself
    can do that: e.g. asyncio.Runner's SIGINT handler cancelling the main task): set_result on the
    cancelled future raises InvalidStateError, and the pieces after it are never run nor answered."""
    tasks: list[asyncio.Task[object]] = []

    def cancels_own_caller() -> object:
        tasks[1].cancel()  # as a signal handler would, in the middle of the piece
        return "b"

    async def main(size: int) -> str:
        tasks.clear()
        batch = InlineBatch(size=size, wait=0.01)
        for work in (lambda: "a", cancels_own_caller, lambda: "c"):
            tasks.append(asyncio.create_task(batch.run(work)))
        done, _ = await asyncio.wait(tasks, timeout=3)
        last = tasks[2]
        if last not in done:
            return "hung"
        return repr(last.exception()) if last.exception() else last.result()

    # the timer runs the batch: c3151d6 logs "Exception in callback" (InvalidStateError); c hangs
    assert asyncio.run(main(size=10)) == "c"
    # the third caller fills the batch and runs it: c3151d6 gives it the InvalidStateError of piece 2
    assert asyncio.run(main(size=3)) == "c"


def test_a_batch_refuses_a_second_running_loop_and_the_first_loops_piece_is_answered() -> None:
    """Two loops alive at once (two threads) with one batch: the second is refused at once, rather than
    the first loop's piece dropped (its caller hung) and its timer left to run the other's queue on the
    wrong thread, as the first version did. Not reachable in the shipped code (one loop per process)."""
    batch = InlineBatch(size=4, wait=0.3)
    a_queued = threading.Event()
    results: dict[str, object] = {}

    def in_a() -> None:
        async def main() -> None:
            task = asyncio.create_task(batch.run(lambda: threading.current_thread().name))
            await asyncio.sleep(0)
            a_queued.set()
            try:
                results["a"] = await asyncio.wait_for(task, 2)
            except TimeoutError:
                results["a"] = "hung"

        asyncio.run(main())

    def in_b() -> None:
        a_queued.wait(5)

        async def main() -> None:
            results["b"] = await asyncio.wait_for(batch.run(lambda: threading.current_thread().name), 2)

        try:
            asyncio.run(main())
        except RuntimeError as exc:
            results["b"] = str(exc)

    threads = [threading.Thread(target=in_a, name="A"), threading.Thread(target=in_b, name="B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == {"a": "A", "b": "an InlineBatch serves one running event loop at a time"}


# --- held: what the batch was tried with and did right ---------------------------------------------------


def test_held_hundreds_of_callers_each_get_their_own_result_in_batches_of_four() -> None:
    async def main() -> tuple[list[object], int]:
        batch = InlineBatch()
        results = await asyncio.gather(*(batch.run(lambda n=n: n * n) for n in range(500)))
        return list(results), batch.batches

    results, batches = asyncio.run(main())
    assert results == [n * n for n in range(500)] and batches == 125


def test_held_callers_arriving_over_time_all_answered_within_the_wait() -> None:
    async def one(batch: InlineBatch, n: int) -> tuple[int, float]:
        await asyncio.sleep((n % 17) * 0.003)
        started = time.monotonic()
        value = await batch.run(lambda: n)
        return value, time.monotonic() - started

    async def main() -> list[tuple[int, float]]:
        batch = InlineBatch()
        return list(await asyncio.wait_for(asyncio.gather(*(one(batch, n) for n in range(300))), 10))

    answers = asyncio.run(main())
    assert [value for value, _ in answers] == list(range(300))
    assert max(waited for _, waited in answers) < 0.5


@pytest.mark.parametrize("size", [-5, 0, 1, 2, 4, 1000])
@pytest.mark.parametrize("wait", [-1.0, 0.0, 0.001])
def test_held_size_and_wait_edges(size: int, wait: float) -> None:
    async def main() -> list[object]:
        batch = InlineBatch(size=size, wait=wait)
        return list(await asyncio.wait_for(asyncio.gather(*(batch.run(lambda n=n: n) for n in range(9))), 3))

    assert asyncio.run(main()) == list(range(9))


def test_held_an_exception_in_the_piece_that_fills_the_batch_goes_to_its_caller_alone() -> None:
    def broken() -> object:
        raise ValueError("bad")

    async def main() -> list[object]:
        batch = InlineBatch(size=3, wait=30)
        pieces = [batch.run(lambda: "a"), batch.run(lambda: "b"), batch.run(broken)]
        return list(await asyncio.wait_for(asyncio.gather(*pieces, return_exceptions=True), 3))

    a, b, error = asyncio.run(main())
    assert (a, b) == ("a", "b") and isinstance(error, ValueError)


def test_held_keyboard_interrupt_in_a_piece_answers_the_earlier_ones_and_cancels_the_rest() -> None:
    tasks: list[asyncio.Task[object]] = []
    states: dict[int, str] = {}

    def interrupts() -> object:
        raise KeyboardInterrupt

    async def main() -> None:
        batch = InlineBatch(size=4, wait=0.01)
        for work in (lambda: "a", interrupts, lambda: "c"):
            tasks.append(asyncio.create_task(batch.run(work)))
        await asyncio.sleep(1)

    with pytest.raises(KeyboardInterrupt):
        asyncio.run(main())
    # nobody is left waiting (asyncio.run's shutdown cancels even the answered one before it resumes)
    assert all(task.done() for task in tasks) and not states


def test_held_cancelling_callers_at_each_point() -> None:
    async def main() -> dict[str, object]:
        batch = InlineBatch(size=3, wait=0.05)
        ran: list[str] = []

        def note(name: str) -> object:
            ran.append(name)
            return name

        before = asyncio.create_task(batch.run(lambda: note("before")))  # cancelled before it starts
        before.cancel()
        queued = asyncio.create_task(batch.run(lambda: note("queued")))
        await asyncio.sleep(0)
        queued.cancel()  # cancelled while queued
        answered = asyncio.create_task(batch.run(lambda: note("answered")))
        await asyncio.sleep(0)
        late = asyncio.create_task(batch.run(lambda: note("late")))
        await asyncio.sleep(0)  # two live pieces of three (a cancelled one does not count): still waiting
        late.cancel()  # so cancelled while queued: dropped too
        results = await asyncio.gather(before, queued, answered, late, return_exceptions=True)
        after = await asyncio.wait_for(batch.run(lambda: note("after")), 2)
        named = [type(r).__name__ if isinstance(r, BaseException) else r for r in results]
        return {"ran": ran, "results": named, "after": after}

    out = asyncio.run(main())
    assert out["ran"] == ["answered", "after"]
    assert out["results"] == ["CancelledError", "CancelledError", "answered", "CancelledError"]


def test_held_a_piece_that_starts_another_run_is_answered_in_a_later_batch() -> None:
    async def main() -> list[object]:
        batch = InlineBatch(size=2, wait=0.01)
        inner: list[asyncio.Task[object]] = []

        def spawns() -> object:
            inner.append(asyncio.ensure_future(batch.run(lambda: "inner")))
            return "outer"

        outer = await asyncio.wait_for(asyncio.gather(batch.run(spawns), batch.run(lambda: "b")), 2)
        return [*outer, await asyncio.wait_for(inner[0], 2)]

    assert asyncio.run(main()) == ["outer", "b", "inner"]


def test_held_a_batch_holds_the_loop_for_about_its_pieces_and_no_more() -> None:
    from scraper.archive import _extract
    from scraper.extract import RuleBook
    from tests.test_inline_batch import page

    rules = RuleBook.load()
    from scraper.archive import ArticleJob

    job = ArticleJob(article_id=1, url="https://a.example/x", feed_name="F", feed_is_local=False)
    html = page(1)
    started = time.perf_counter()
    for _ in range(20):
        _extract(html, job.url, rules, job)
    one = (time.perf_counter() - started) / 20

    async def main() -> float:
        batch = InlineBatch()
        gaps: list[float] = []
        stop = False

        async def ticker() -> None:
            last = time.perf_counter()
            while not stop:
                await asyncio.sleep(0)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        tick = asyncio.create_task(ticker())
        await asyncio.sleep(0.01)
        for _ in range(10):
            await asyncio.gather(*(batch.run(lambda: _extract(html, job.url, rules, job)) for _ in range(4)))
        stop = True
        await tick
        return max(gaps)

    longest = asyncio.run(main())
    assert longest < 4 * one * 3 + 0.01, (longest, one)


# --- held: end to end ------------------------------------------------------------------------------------


def publish(site: Site, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        site.publish(f"Story {n}", f"/fast/{n}")


def assert_posts_are_their_own(folder: Path, count: int) -> None:
    posts = post_files(folder)
    assert len(posts) == count, sorted(posts)
    for n in range(count):
        text = posts[f"2024-05-01-Story {n}.md"]
        assert f"story {n}-word59" in text
        assert not any(f"story {m}-word" in text for m in range(count) if m != n)


def test_held_once_archives_three_dozen_small_pages_each_into_its_own_post(tmp_path: Path) -> None:
    with site_running() as site:
        publish(site, 36)
        config = write_config(
            tmp_path,
            [{"name": "Site", "url": site.feed_url}],
            http={"concurrency": 8, "per_host_concurrency": 8},
        )
        result = run_cli("once", "--config", str(config))
        assert result.exit_code == 0, result.output
    assert set(statuses(tmp_path).values()) == {"archived"}
    assert_posts_are_their_own(tmp_path, 36)


def test_held_run_sigterm_while_pages_come_in_loses_nothing_and_records_nothing_twice(
    tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    with site_running() as site:
        publish(site, 48)
        config = daemon_config(tmp_path, site, grace_seconds=0)  # cancel at once: pages may sit in a batch
        daemon = DaemonProcess(config)
        daemons.append(daemon)
        wait_for(lambda: len(post_files(tmp_path)) >= 1, 15, "a first post")
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0, daemon.log()
        first = statuses(tmp_path)
        assert set(first.values()) <= {"archived", "pending"}, first
        archived_first = sorted(path for path, status in first.items() if status == "archived")
        print("after the first stop:", len(archived_first), "archived of", len(first))
        assert len(post_files(tmp_path)) == len(archived_first)

        daemon = DaemonProcess(config)
        daemons.append(daemon)
        wait_for(lambda: len(post_files(tmp_path)) == 48, 20, "every post")
        assert daemon.stop() == 0, daemon.log()
    assert set(statuses(tmp_path).values()) == {"archived"}
    assert_posts_are_their_own(tmp_path, 48)
