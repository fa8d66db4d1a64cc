"""What a revisit writes, decided without a server or database (scraper.revisit_outcomes), and the work
loop giving revisits only the room new work leaves, up to their share."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scraper.archive import ArticleJob
from scraper.config import parse_config
from scraper.errors import ConfigError
from scraper.extract import Record
from scraper.fetch import Response
from scraper.revisit import (
    ABSENT,
    DEFERRED,
    NOT_MODIFIED,
    OUTAGE,
    PAGE,
    RevisitJob,
    RevisitOutcome,
    schedule_of,
)
from scraper.revisit_outcomes import RevisitState, article_after_revisit
from scraper.summary import RunSummary
from scraper.work_loop import ArchiveStage

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
URL = "https://news.example/local/2026/bridge"
TEXT = "The council voted on Tuesday to close the old bridge. Residents said the detour adds twenty minutes."
SCHEDULE = (timedelta(hours=1), timedelta(days=1), timedelta(days=7))
JOB = RevisitJob(article_id=7, url=URL, feed_id=1, feed_name="Local")
ROW = RevisitState(title="Bridge to close", text=TEXT, archived_at=T0)


def page_outcome(
    title: str, text: str, final_url: str = URL, headers: dict[str, str] | None = None
) -> RevisitOutcome:
    response = Response(
        URL, final_url, 200, f"<p>{text}</p>".encode(), headers or {"content-type": "text/html"}
    )
    record = Record(title=title, author=None, published=None, lang="en", html=f"<p>{text}</p>", text=text)
    return RevisitOutcome(PAGE, None, 200, response, "utf-8", record)


def test_an_unchanged_page_moves_the_schedule_and_keeps_the_validators() -> None:
    now = T0 + timedelta(hours=1, minutes=3)
    outcome = page_outcome(
        "Bridge to close", TEXT, headers={"etag": '"v2"', "last-modified": "Sun, 01 Mar 2026"}
    )
    verdict = article_after_revisit(JOB, ROW, outcome, now, SCHEDULE)
    assert verdict.kind == "unchanged" and verdict.version is None and verdict.change is None
    assert verdict.values["revisits"] == 1 and verdict.values["revisit_at"] == T0 + timedelta(days=1)
    assert verdict.values["page_etag"] == '"v2"'
    not_modified = RevisitOutcome(NOT_MODIFIED, http_status=304, response=Response(URL, URL, 304, b""))
    verdict = article_after_revisit(JOB, ROW, not_modified, now, SCHEDULE)
    assert verdict.kind == "unchanged" and "page_etag" not in verdict.values  # a 304 keeps what was sent


def test_the_first_edit_is_version_2_and_copies_version_1() -> None:
    verdict = article_after_revisit(
        JOB, ROW, page_outcome("Bridge to close", TEXT.replace("twenty", "forty")), T0, SCHEDULE
    )
    assert verdict.kind == "edited" and verdict.first_version
    assert verdict.version is not None and verdict.version["number"] == 2 and verdict.version["body_zlib"]
    assert verdict.change == {"kind": "edited", "at": T0, "version": 2, "detail": None}
    assert verdict.values["edits"] == 1 and "content_text" not in verdict.values and not verdict.post_stale
    later = RevisitState(title="Bridge to close", text=TEXT, archived_at=T0, edits=2, last_version=3)
    verdict = article_after_revisit(
        JOB, later, page_outcome("Bridge shut", TEXT), T0, SCHEDULE, keep_latest=True
    )
    assert verdict.version is not None and verdict.version["number"] == 4 and not verdict.first_version
    assert verdict.values["title"] == "Bridge shut" and verdict.post_stale


@pytest.mark.parametrize(
    "outcome",
    [
        RevisitOutcome(ABSENT, "HTTP 404", 404),
        page_outcome("News Example", "Latest news from around the region", final_url="https://news.example/"),
        page_outcome("Bridge to close", TEXT, final_url="https://news.example/login?next=/x"),
        page_outcome(
            "Not found", "Sorry, this page is no longer available. Browse our latest headlines instead."
        ),
    ],
)
def test_removal_signals_are_suspected_then_confirmed(outcome: RevisitOutcome) -> None:
    first = article_after_revisit(JOB, ROW, outcome, T0 + timedelta(days=2), SCHEDULE)
    assert first.kind == "suspected" and first.change is None
    assert first.values["revisit_at"] == T0 + timedelta(days=2, hours=1)  # confirmed soon, not in 5 days
    suspected = RevisitState(
        title=ROW.title, text=TEXT, archived_at=T0, revisits=1, suspected_at=T0 + timedelta(days=2)
    )
    second = article_after_revisit(
        JOB, suspected, outcome, T0 + timedelta(days=2, hours=1), SCHEDULE, marks=True
    )
    assert second.kind == "removed" and second.change is not None and second.change["kind"] == "removed"
    assert second.values["removal_confirmed_at"] == T0 + timedelta(days=2, hours=1) and second.post_stale


@pytest.mark.parametrize(
    "outcome",
    [
        RevisitOutcome(OUTAGE, "HTTP 503", 503),
        RevisitOutcome(OUTAGE, "timed out (read)"),
        RevisitOutcome(OUTAGE, "HTTP 403", 403),
    ],
)
def test_outages_are_never_removals(outcome: RevisitOutcome) -> None:
    for state in (ROW, RevisitState(title=ROW.title, text=TEXT, archived_at=T0, suspected_at=T0)):
        verdict = article_after_revisit(JOB, state, outcome, T0 + timedelta(hours=2), SCHEDULE)
        assert verdict.change is None and verdict.values["removal_confirmed_at"] is None
        assert verdict.values["removal_suspected_at"] == state.suspected_at


def test_a_deferred_revisit_only_waits() -> None:
    verdict = article_after_revisit(
        JOB, ROW, RevisitOutcome(DEFERRED, "host blocked", retry_after=600), T0, SCHEDULE
    )
    assert verdict.kind == "deferred" and verdict.values == {"revisit_at": T0 + timedelta(seconds=600)}


def test_restored_after_a_confirmed_removal() -> None:
    removed = RevisitState(title=ROW.title, text=TEXT, archived_at=T0, suspected_at=T0, confirmed_at=T0)
    verdict = article_after_revisit(
        JOB, removed, page_outcome("Bridge to close", TEXT), T0 + timedelta(days=3), SCHEDULE
    )
    assert verdict.kind == "restored" and verdict.values["restored_at"] == T0 + timedelta(days=3)
    assert verdict.values["removal_confirmed_at"] is None


def config(text: dict[str, Any]) -> Any:
    return parse_config(text, None, {})


def test_revisit_config_is_validated() -> None:
    feeds = [
        {"name": "A", "url": "https://a.example/feed"},
        {"name": "B", "url": "https://b.example/feed", "revisit": "off"},
        {"name": "C", "url": "https://c.example/feed", "revisit": ["10m", "2h"]},
    ]
    loaded = config({"revisit": {"after": ["30m", "1d"]}, "feeds": feeds})
    assert schedule_of(loaded, loaded.feeds[0]) == (timedelta(minutes=30), timedelta(days=1))
    assert schedule_of(loaded, loaded.feeds[1]) == ()
    assert schedule_of(loaded, loaded.feeds[2]) == (timedelta(minutes=10), timedelta(hours=2))
    assert schedule_of(config({"revisit": {"enabled": False}}), None) == ()
    bad: list[dict[str, Any]] = [
        {"revisit": {"after": ["1d", "1h"]}},
        {"revisit": {"after": ["soon"]}},
        {"revisit": {"share": 0}},
        {"revisit": {"often": True}},
        {"export": {"revisions": "newest"}},
        {"export": {"front_matter": ["edited"]}},
        {"export": {"changes_feed": "../changes.xml"}},
        {"feeds": [{"name": "D", "url": "https://d.example/feed", "revisit": "never"}]},
        {"feeds": [{"name": "D", "url": "https://d.example/feed", "revisit": ["1x"]}]},
    ]
    for raw in bad:
        with pytest.raises(ConfigError, match=r"revisit|revisions|front_matter|changes_feed"):
            config(raw)


class _Claims:
    def __init__(self, jobs: list[ArticleJob]) -> None:
        self.queue = jobs

    def claims_per_host(self) -> int:
        return 1000

    def claim_jobs(self, limit: int, **_: Any) -> list[ArticleJob]:
        taken, self.queue = self.queue[:limit], self.queue[limit:]
        return taken


class _Revisits:
    share = 0.25

    def __init__(self, jobs: list[RevisitJob], claims: _Claims) -> None:
        self.queue, self.claims = jobs, claims
        self.running = self.most = 0
        self.claimed_while_new_waited = 0
        self.new_running: Any = lambda: False

    def claim(self, limit: int, **_: Any) -> list[RevisitJob]:
        if self.claims.queue:
            self.claimed_while_new_waited += 1
        taken, self.queue = self.queue[:limit], self.queue[limit:]
        return taken

    async def run(self, job: RevisitJob, summary: RunSummary) -> None:
        self.running += 1
        if self.new_running():
            self.most = max(self.most, self.running)
        await asyncio.sleep(0.001)
        self.running -= 1
        summary.revisited += 1

    @property
    def recorder(self) -> Any:
        return self

    async def wait(self) -> None:
        return None


class _Leases:
    def release(self, kind: str, keys: Any) -> None:
        return None


def test_revisits_take_what_new_work_leaves_up_to_their_share() -> None:
    """New work is claimed first; while it runs, revisits keep to their share of the window; when there is
    none left, they take the room."""
    new = [
        ArticleJob(article_id=i, url=f"https://h{i % 5}.example/{i}", feed_name="F", feed_is_local=False)
        for i in range(300)
    ]
    claims = _Claims(new)
    revisits = _Revisits(
        [RevisitJob(1000 + i, f"https://h{i % 5}.example/r{i}", 1, "F") for i in range(400)], claims
    )
    stage = ArchiveStage(
        claims,
        _Revisits([], claims),
        None,
        None,
        _Leases(),
        concurrency=16,
        clock=lambda: T0,
        revisits=revisits,
    )  # type: ignore[arg-type]
    archived: list[int] = []

    new_in_flight = [0]
    revisits.new_running = lambda: new_in_flight[0] > 0

    async def archive(job: ArticleJob, summary: RunSummary, _hook: object = None) -> None:
        new_in_flight[0] += 1
        await asyncio.sleep(0.001)
        archived.append(job.article_id)
        new_in_flight[0] -= 1

    stage.archive = archive  # type: ignore[method-assign]
    summary = RunSummary()
    asyncio.run(stage.archive_due(summary, revisit=True))
    assert len(archived) == 300 and summary.revisited == 400
    assert revisits.claimed_while_new_waited == 0  # new work first
    assert (
        0 < revisits.most <= stage.window * revisits.share
    )  # while new work ran, revisits kept to their share
    no_revisits = RunSummary()
    revisits.queue = [RevisitJob(1, "https://h.example/x", 1, "F")]
    asyncio.run(stage.archive_due(no_revisits))  # the backfill's loop: no revisits
    assert no_revisits.revisited == 0
