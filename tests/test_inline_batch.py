"""Small pages extracted a few at a time on the event loop (scraper.inline_batch): each caller gets its own
page's record or error, nothing waits longer than the batch's wait, a cancelled caller's page is dropped."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from scraper import inline_batch
from scraper.archive import ArchiveOutcome, ArticleJob, archive_article
from scraper.config import HttpConfig
from scraper.extract import RuleBook
from scraper.fetch import Fetcher
from scraper.inline_batch import InlineBatch
from scraper.store.models import ArticleStatus
from tests import hostile
from tests.hostile import HostileServer


def noting(log: list[str], name: str, result: object = None) -> Callable[[], object]:
    def work() -> object:
        log.append(name)
        return result if result is not None else name.upper()

    return work


async def queue_and_cancel(batch: InlineBatch, ran: list[str]) -> None:
    """A piece queued, then its caller cancelled while it waits."""
    gone = asyncio.create_task(batch.run(noting(ran, "gone")))
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.sleep(0)


def test_pieces_that_come_together_run_together_each_caller_getting_its_own_result() -> None:
    async def main() -> tuple[list[object], list[str], int]:
        batch = InlineBatch(size=3, wait=30.0)  # only a full batch runs: no timer in this test
        ran: list[str] = []
        results = await asyncio.gather(*(batch.run(noting(ran, name)) for name in "abc"))
        return list(results), ran, batch.batches

    results, ran, batches = asyncio.run(main())
    assert results == ["A", "B", "C"]
    assert ran == ["a", "b", "c"] and batches == 1


def test_a_lone_piece_runs_after_the_wait_on_the_loops_thread() -> None:
    async def main() -> tuple[object, float, bool]:
        batch = InlineBatch(size=4, wait=0.05)
        loop_thread = threading.get_ident()
        started = time.monotonic()
        result = await batch.run(lambda: threading.get_ident() == loop_thread)
        return result, time.monotonic() - started, batch.batches == 1

    on_loop, waited, one_batch = asyncio.run(main())
    assert on_loop is True and one_batch
    assert 0.04 <= waited < 5  # the wait, not forever (a wide margin: the machine may be loaded)


def test_an_exception_goes_to_its_caller_alone() -> None:
    def broken() -> object:
        raise ValueError("bad page")

    async def main() -> list[object]:
        batch = InlineBatch(size=3, wait=30.0)
        ran: list[str] = []
        pieces = [batch.run(noting(ran, "a")), batch.run(broken), batch.run(noting(ran, "c"))]
        return list(await asyncio.gather(*pieces, return_exceptions=True))

    first, error, last = asyncio.run(main())
    assert first == "A" and last == "C"
    assert isinstance(error, ValueError) and str(error) == "bad page"


def test_a_caller_cancelled_while_waiting_has_its_piece_dropped() -> None:
    async def main() -> tuple[list[str], list[object]]:
        batch = InlineBatch(size=3, wait=30.0)
        ran: list[str] = []
        await queue_and_cancel(batch, ran)
        kept = [batch.run(noting(ran, "b")), batch.run(noting(ran, "c"))]
        return ran, list(await asyncio.gather(*kept))

    ran, results = asyncio.run(main())
    assert ran == ["b", "c"] and results == ["B", "C"]


def test_a_batch_left_by_an_ended_loop_does_not_hold_up_the_next_one() -> None:
    batch = InlineBatch(size=2, wait=0.05)

    async def abandon() -> None:  # a piece queued, its timer set, and the loop ends under it
        task = asyncio.create_task(batch.run(lambda: "never"))
        await asyncio.sleep(0)
        task.cancel()

    async def next_run() -> object:
        return await asyncio.wait_for(batch.run(lambda: "ran"), 5)

    asyncio.run(abandon())
    assert asyncio.run(next_run()) == "ran"


def test_a_batch_of_one_runs_at_once() -> None:
    async def main() -> object:
        return await InlineBatch(size=1, wait=30.0).run(lambda: "now")

    assert asyncio.run(main()) == "now"


# --- the archive stage's pages ------------------------------------------------------------------------------

PARAGRAPH = "This paragraph is long enough to be the text of an article, and says which page it is on: "


def page(n: int) -> str:
    body = "".join(f"<p>{PARAGRAPH}page {n}, paragraph {k}.</p>" for k in range(4))
    return f"<html><head><title>Page {n}</title></head><body><article>{body}</article></body></html>"


@pytest.fixture
def site() -> Iterator[HostileServer]:
    server = HostileServer("127.0.0.1")
    for n in range(6):
        server.route(f"/p/{n}", hostile.html(page(n)))
    server.route("/empty", hostile.html("<html><body></body></html>"))
    with server.running():
        yield server


def test_pages_fetched_together_are_extracted_together_each_into_its_own_record(site: HostileServer) -> None:
    urls = [site.url(f"/p/{n}") for n in range(6)] + [site.url("/empty")]
    jobs = [
        ArticleJob(article_id=n, url=url, feed_name="F", feed_is_local=False, entry_title=f"e{n}")
        for n, url in enumerate(urls)
    ]

    async def main() -> tuple[list[ArchiveOutcome], int]:
        pages = InlineBatch(size=4, wait=0.5)
        async with Fetcher(HttpConfig(allow_networks=("127.0.0.0/8",), per_host_delay=0)) as fetcher:
            outcomes = await asyncio.gather(
                *(archive_article(job, fetcher, RuleBook.load(), pages) for job in jobs)
            )
        return list(outcomes), pages.batches

    outcomes, batches = asyncio.run(main())
    for n, outcome in enumerate(outcomes[:6]):
        assert outcome.status == ArticleStatus.ARCHIVED, outcome.error
        assert outcome.record is not None and f"page {n}," in outcome.record.text
    assert outcomes[6].status == ArticleStatus.FAILED and "no article text" in (outcomes[6].error or "")
    assert batches < len(jobs)  # not one by one


def test_a_slow_batch_lets_the_loop_run_between_its_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_HOLD_SECONDS the rest of a batch waits for the loop's next pass: what came ready meanwhile
    (another fetch, /healthz) runs first, as it did between pages extracted one at a time."""
    monkeypatch.setattr(inline_batch, "MAX_HOLD_SECONDS", 0.05)
    events: list[str] = []

    def slow(name: str) -> Callable[[], str]:
        def work() -> str:
            events.append(name)
            time.sleep(0.03)
            return name

        return work

    async def main() -> list[str]:
        batch = InlineBatch(size=4, wait=30.0)

        async def ticker() -> None:
            while True:
                events.append("tick")
                await asyncio.sleep(0)

        ticking = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        results = await asyncio.gather(*(batch.run(slow(name)) for name in "abcd"))
        ticking.cancel()
        return list(results)

    assert asyncio.run(main()) == ["a", "b", "c", "d"]
    pieces = [event for event in events if event != "tick"]
    assert pieces == ["a", "b", "c", "d"]
    between = events[events.index("b") + 1 : events.index("c")]
    assert "tick" in between  # the loop ran between the two halves of the batch


def test_a_cancelled_piece_does_not_count_towards_a_full_batch() -> None:
    async def main() -> list[str]:
        batch = InlineBatch(size=2, wait=30.0)
        ran: list[str] = []
        await queue_and_cancel(batch, ran)
        second = asyncio.create_task(batch.run(noting(ran, "b")))
        await asyncio.sleep(0.05)
        assert ran == []  # one live piece of two: the batch waits on
        await batch.run(noting(ran, "c"))
        await second
        return ran

    assert asyncio.run(main()) == ["b", "c"]
