"""What an article's row becomes after an outcome, from plain data (no server, no database)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from scraper.archive import ArchiveOutcome, ArticleJob
from scraper.extract import Record
from scraper.outcomes import MAX_RETRY_DELAY, ArticleState, RetryPolicy, article_after_outcome
from scraper.store.models import ArticleStatus

NOW = datetime(2026, 3, 4, 10, 30, tzinfo=UTC)
JOB = ArticleJob(1, "https://news.test/a", "News", False, entry_author="Feed Author")
POLICY = RetryPolicy(max_attempts=5, retry_base=60.0)
RECORD = Record(title="T", author=None, published=None, lang="en", html="<p>x</p>", text="x")

failures = st.builds(
    ArchiveOutcome,
    status=st.sampled_from([ArticleStatus.PENDING, ArticleStatus.FAILED, ArticleStatus.GONE]),
    error=st.text(max_size=20),
    retry_after=st.one_of(st.none(), st.floats(0, 10**7)),
)


@given(failures, st.integers(0, 10), st.integers(0, 2**32))
def test_a_failure_is_retried_until_max_attempts_then_final(outcome, attempts, seed) -> None:  # type: ignore[no-untyped-def]
    verdict, values = article_after_outcome(
        JOB, ArticleState(attempts), outcome, NOW, POLICY, random.Random(seed)
    )
    assert values["attempts"] == attempts + 1 and values["last_error"] == outcome.error
    if outcome.status == ArticleStatus.PENDING and attempts + 1 < POLICY.max_attempts:
        assert verdict.kind == "retrying" and "status" not in values
        delay = values["next_attempt_at"] - NOW
        assert delay == verdict.delay and delay <= timedelta(seconds=MAX_RETRY_DELAY)
        if outcome.retry_after:
            assert delay >= timedelta(seconds=min(outcome.retry_after, MAX_RETRY_DELAY))
    else:  # never pending forever: the last attempt of a transient failure fails it
        expected = ArticleStatus.GONE if outcome.status == ArticleStatus.GONE else ArticleStatus.FAILED
        assert verdict.status == values["status"] == expected and values["next_attempt_at"] is None
        assert verdict.kind == ("gone" if expected == ArticleStatus.GONE else "failed")


@given(st.floats(0, 10**8), st.integers(0, 10))
def test_a_deferral_is_not_an_attempt(retry_after, attempts) -> None:  # type: ignore[no-untyped-def]
    outcome = ArchiveOutcome(ArticleStatus.PENDING, "wait", retry_after=retry_after, deferred=True)
    verdict, values = article_after_outcome(JOB, ArticleState(attempts), outcome, NOW, POLICY)
    assert verdict.kind == "deferred" and set(values) == {"next_attempt_at"}
    assert values["next_attempt_at"] == NOW + timedelta(seconds=min(retry_after, MAX_RETRY_DELAY))


@given(st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))), st.one_of(st.none(), st.text(max_size=5)))
def test_an_archive_keeps_the_first_archive_time_and_fills_the_author(first, page_error) -> None:  # type: ignore[no-untyped-def]
    outcome = ArchiveOutcome(
        ArticleStatus.ARCHIVED,
        record=RECORD,
        content_source="page",
        extra={"page_error": page_error} if page_error else {},
        final_url="https://news.test/a?x",
    )
    verdict, values = article_after_outcome(JOB, ArticleState(2, first, "old"), outcome, NOW, POLICY)
    assert verdict.kind == "archived" and values["status"] == ArticleStatus.ARCHIVED
    assert values["archived_at"] == (first or NOW) and values["author"] == "Feed Author"
    assert values["final_url"] == "https://news.test/a?x" and values["next_attempt_at"] is None
    assert values["last_error"] == (page_error or None) and "fetched_at" not in values  # no page fetched
