"""A big archive costs what a small one does: the export folder is walked only when it changed, imports and
adoptions stream a batch per transaction, and the indexes the reports read by exist after migration."""

from __future__ import annotations

import io
import itertools
import multiprocessing
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, func, inspect, select, text
from sqlalchemy.orm import Session

from scraper import parallel, post_adopt, post_import
from scraper.config import FeedConfig
from scraper.export import rewrite
from scraper.export.jekyll import TARGET as JEKYLL
from scraper.export.rewrite import rewrite_all
from scraper.export.writer import PostWriter
from scraper.parallel import ordered_map
from scraper.post_adopt import adopt_export_folder, restamp_export_folder
from scraper.post_import import ImportSummary, configured_feed_ids, import_posts
from scraper.post_reader import OldPost, read_post
from scraper.store.bulk import ArticleRows
from scraper.store.db import make_engine, session_factory, upgrade
from scraper.store.maintenance import BULK_ROWS, after_bulk_load
from scraper.store.models import Article
from scraper.store.reports import RevisitCounts, feed_health, revisit_counts
from tests.test_import import seed_post

FEEDS = [FeedConfig(name="News", url="http://127.0.0.1:9/feed")]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def write_posts(folder: Path, first: int, count: int) -> None:
    folder.mkdir(exist_ok=True)
    for n in range(first, first + count):
        text = seed_post(f"Story {n}", f"https://news.example/story/{n}", feed="News")
        (folder / f"2021-09-29-Story {n}.md").write_text(text, encoding="utf-8")


def article_count(engine: Engine) -> int:
    with session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(Article)) or 0


class FolderReads:
    """Directories listed and post files read, counted."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.listed: list[str] = []
        self.read: list[Path] = []
        real_scandir = os.scandir

        def scandir(path: str | os.PathLike[str]) -> object:
            self.listed.append(os.fspath(path))
            return real_scandir(path)

        def read(path: Path | str) -> OldPost:
            self.read.append(Path(path))
            return read_post(path)

        monkeypatch.setattr(os, "scandir", scandir)
        monkeypatch.setattr(post_import, "read_post", read)  # what the adoption reads with


def test_a_run_reads_nothing_in_an_unchanged_export_folder(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "_posts"
    write_posts(folder, 0, 30)
    sessions = session_factory(engine)
    assert adopt_export_folder(sessions, folder, FEEDS).posts == 30
    reads = FolderReads(monkeypatch)

    assert adopt_export_folder(sessions, folder, FEEDS).posts == 0
    assert reads.listed == [] and reads.read == []  # a stat of the folder, nothing listed, nothing read

    write_posts(folder, 30, 2)  # copied in: the folder's mtime moves
    assert adopt_export_folder(sessions, folder, FEEDS).posts == 2
    assert reads.listed and sorted(p.name for p in reads.read) == [
        "2021-09-29-Story 30.md",
        "2021-09-29-Story 31.md",
    ]
    assert article_count(engine) == 32


def test_a_new_subfolder_is_seen_and_the_runs_own_posts_are_restamped(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "_posts"
    write_posts(folder, 0, 3)
    sessions = session_factory(engine)
    adopt_export_folder(sessions, folder, FEEDS)

    write_posts(folder / "2020", 100, 2)  # a new folder changes its parent's mtime
    assert adopt_export_folder(sessions, folder, FEEDS).posts == 2
    write_posts(folder / "2020", 200, 1)  # and it is watched from then on
    assert adopt_export_folder(sessions, folder, FEEDS).posts == 1

    (folder / "ours.md").write_text("written by this run's export\n", encoding="utf-8")
    restamp_export_folder(sessions, folder)  # the run knows its own posts
    reads = FolderReads(monkeypatch)
    assert adopt_export_folder(sessions, folder, FEEDS).posts == 0
    assert reads.listed == []
    assert adopt_export_folder(sessions, folder, FEEDS, force=True).posts == 0  # walked, nothing new
    assert reads.listed


def test_adopting_without_a_database_streams_a_batch_per_transaction(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "_posts"
    write_posts(folder, 0, 25)
    monkeypatch.setattr(post_import, "BATCH", 4)
    monkeypatch.setattr(post_adopt, "BATCH", 4)
    events: list[str] = []
    insert = ArticleRows.insert

    def inserted(rows: ArticleRows, session: Session, values: Sequence[tuple[object, ...]]) -> None:
        if values:
            events.append("insert")
        insert(rows, session, values)

    monkeypatch.setattr(ArticleRows, "insert", inserted)  # the rows go to the driver, past SQLAlchemy events
    event.listen(engine, "commit", lambda connection: events.append("commit"))
    adopt_export_folder(session_factory(engine), folder, FEEDS)
    assert article_count(engine) == 25
    assert events.count("insert") == 7  # ceil(25 / 4): one bulk insert per batch
    inserts = [i for i, kind in enumerate(events) if kind == "insert"]
    for here, following in itertools.pairwise(inserts):
        assert "commit" in events[here:following]  # each batch committed before the next is written


def test_import_pulls_posts_lazily_and_commits_each_batch(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "_posts"
    write_posts(folder, 0, 10)
    monkeypatch.setattr(post_import, "BATCH", 3)
    pulled = 0
    rows_at_commit: list[tuple[int, int]] = []

    def posts() -> Iterator[OldPost]:
        nonlocal pulled
        for path in sorted(folder.iterdir()):
            pulled += 1
            yield read_post(path)

    sessions = session_factory(engine)

    def after_batch(n: int) -> None:
        rows_at_commit.append((pulled, article_count(engine)))

    import_posts(sessions, posts(), folder, {}, ImportSummary(), on_batch=after_batch)
    assert rows_at_commit == [(3, 3), (6, 6), (9, 9), (10, 10)]  # committed before the next were read


def test_status_and_adoption_indexes_exist_after_migration_on_sqlite(engine: Engine) -> None:
    assert_indexes(engine)


def test_status_and_adoption_indexes_exist_after_migration_on_postgres(postgres_engine: Engine) -> None:
    upgrade(postgres_engine)
    assert_indexes(postgres_engine)


def assert_indexes(engine: Engine) -> None:
    inspector = inspect(engine)
    indexes = {index["name"]: index["column_names"] for index in inspector.get_indexes("articles")}
    assert indexes["ix_articles_feed_id_status"] == ["feed_id", "status"]
    assert indexes["ix_articles_status_next_attempt_at"] == ["status", "next_attempt_at"]
    assert indexes["ix_articles_errors"] == ["feed_id", "status"]  # partial: the rows with an error
    assert indexes["ix_articles_revisited"] == ["feed_id", "status"]  # partial: the rows revisited
    unique = {tuple(c["column_names"]) for c in inspector.get_unique_constraints("articles")}
    unique |= {tuple(i["column_names"]) for i in inspector.get_indexes("articles") if i.get("unique")}
    assert ("post_path",) in unique and ("canonical_url",) in unique  # adoption's and import's lookups
    assert "folder_stamps" in inspector.get_table_names()


def test_imported_posts_are_outside_the_range_a_run_reads_for_posts_to_write(
    engine: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "_posts"
    write_posts(folder, 0, 5)
    adopt_export_folder(session_factory(engine), folder, FEEDS)
    with session_factory(engine)() as session:
        in_range = session.scalar(
            select(func.count())
            .select_from(Article)
            .where(Article.status == "archived", Article.post_written_at.is_(None))
        )
    assert in_range == 0  # the (status, post_written_at) index range a run scans holds only posts to write


def test_a_bulk_load_leaves_postgres_able_to_count_from_the_index(postgres_engine: Engine) -> None:
    upgrade(postgres_engine)
    after_bulk_load(postgres_engine, BULK_ROWS)
    with postgres_engine.connect() as connection:
        vacuumed = connection.execute(
            text(
                "SELECT last_vacuum, last_analyze FROM pg_stat_user_tables WHERE relid = 'articles'::regclass"
            )
        ).one()
    assert vacuumed.last_vacuum is not None and vacuumed.last_analyze is not None


def test_a_bulk_load_writes_no_statistics_on_sqlite(engine: Engine) -> None:
    after_bulk_load(engine, BULK_ROWS)
    with engine.connect() as connection:
        tables = set(connection.scalars(text("SELECT name FROM sqlite_master WHERE type = 'table'")))
    assert "sqlite_stat1" not in tables  # statistics of an all-archived table would make claims scan


# --- parsing in worker processes, streamed ------------------------------------------------------------------


def test_import_in_worker_processes_keeps_order_and_a_bad_post_fails_alone(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "_posts"
    write_posts(folder, 0, 11)
    (folder / "2021-09-29-No URL.md").write_text('---\ntitle: "no source"\n---\n<div>\n</div>\n', "utf-8")
    bad_port = seed_post("Bad port", "https://news.example:99999/story/x", feed="News")
    (folder / "2021-09-29-Bad port.md").write_text(bad_port, encoding="utf-8")
    (folder / "2021-09-29-Story 0 again.md").write_text(  # after "Story 0" in the order given: a duplicate
        seed_post("Story 0 again", "https://news.example/story/0", feed="News"), encoding="utf-8"
    )
    files = sorted(folder.iterdir(), key=lambda p: (p.name.startswith("2021-09-29-Story 0 again"), p.name))
    monkeypatch.setattr(post_import, "CHUNK", 2)  # 7 chunks: the first here, the others in 2 workers
    monkeypatch.setattr(post_import, "BATCH", 4)  # batches across chunk boundaries
    summary = ImportSummary()
    batches: list[tuple[int, int]] = []
    post_import.import_post_files(
        session_factory(engine),
        files,
        folder,
        {"News": configured_feed_ids(session_factory(engine), FEEDS)["News"]},
        summary,
        workers=2,
        on_batch=lambda stored, failed: batches.append((stored, failed)),
    )
    assert summary.posts == 11 and summary.duplicates == 1
    assert sorted(error.split(": ", 1)[0].rsplit("/", 1)[1] for error in summary.errors) == [
        "2021-09-29-Bad port.md",
        "2021-09-29-No URL.md",
    ]
    assert "port" in " ".join(summary.errors)
    assert sum(stored for stored, _ in batches) == 12 and sum(failed for _, failed in batches) == 2
    with session_factory(engine)() as session:
        kept = session.scalar(select(Article.post_path).where(Article.url == "https://news.example/story/0"))
        texts = list(session.scalars(select(Article.content_text)))
    assert kept == "2021-09-29-Story 0.md"  # the first in the order given keeps the URL
    assert all(texts) and article_count(engine) == 11


def test_seen_urls_in_batches_and_a_bad_url_fails_alone(engine: Engine) -> None:
    urls = [f"https://news.example/seen/{n}?utm_source=x" for n in range(7)]
    urls[3] = "https://news.example:99999/seen/3"
    urls.append("https://news.example/seen/0")  # the same canonical URL as the first
    summary = ImportSummary()
    monkeypatch = pytest.MonkeyPatch()
    with monkeypatch.context() as patch:
        patch.setattr(post_import, "BATCH", 3)
        post_import.import_seen_urls(session_factory(engine), urls, summary)
    assert summary.seen == 6 and summary.seen_known == 1 and len(summary.errors) == 1
    assert "99999" in summary.errors[0]
    with session_factory(engine)() as session:
        keys = set(session.scalars(select(Article.canonical_url)))
    assert keys == {f"https://news.example/seen/{n}" for n in range(7) if n != 3}


def chunk_sum(chunk: list[int]) -> int:
    """A worker's unit for the tests below (module level: a spawned worker imports it)."""
    if chunk == [-1] and multiprocessing.parent_process() is not None:
        os._exit(3)  # a worker killed (out of memory, say) while on this chunk
    return sum(chunk)


@pytest.mark.parametrize(("cores", "workers"), [(1, 0), (2, 1), (8, 7)])
def test_one_parsing_worker_per_core_less_the_storing_process(
    monkeypatch: pytest.MonkeyPatch, cores: int, workers: int
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    assert parallel.default_workers() == workers


def test_ordered_map_keeps_order_and_pulls_only_a_few_chunks_ahead() -> None:
    pulled = 0

    def chunks() -> Iterator[list[int]]:
        nonlocal pulled
        for n in range(20):
            pulled += 1
            yield [n, n]

    seen: list[tuple[int, int]] = []
    for result in ordered_map(chunk_sum, chunks(), workers=2, ahead=2):
        seen.append((result, pulled))
    assert [result for result, _ in seen] == [2 * n for n in range(20)]
    # memory bounded by the work in flight: never more than workers * ahead (+ the one being given back)
    # chunks pulled beyond those already yielded
    assert all(pulled_then - done <= 2 * 2 + 2 for done, (_, pulled_then) in enumerate(seen, start=1))


def test_ordered_map_does_a_dead_workers_chunk_itself() -> None:
    chunks = [[1], [2], [-1], [4], [5]]
    assert list(ordered_map(chunk_sum, chunks, workers=2)) == [1, 2, -1, 4, 5]


def test_a_small_input_starts_no_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a process pool was started for one chunk")

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", no_pool)
    assert list(ordered_map(chunk_sum, [[1, 2]], workers=2)) == [3]
    assert list(ordered_map(chunk_sum, [[1], [2]], workers=0)) == [1, 2]


# --- export (rewrite all), streamed -------------------------------------------------------------------------


class Recorded:
    """A progress sink that keeps what it was told."""

    def __init__(self) -> None:
        self.total: int | None = None
        self.done = 0
        self.finished = False

    def note(self, line: str) -> None:
        pass

    def start(self, label: str, total: int) -> None:
        self.total = total

    def advance(self, failed: bool) -> None:
        self.done += 1

    def finish(self) -> None:
        self.finished = True


def made_ours(engine: Engine, folder: Path, count: int) -> None:
    """`count` posts adopted, then made the program's own (so a rewrite renders every one)."""
    write_posts(folder, 0, count)
    adopt_export_folder(session_factory(engine), folder, FEEDS)
    with engine.begin() as connection:
        connection.execute(text("UPDATE articles SET content_source = 'page'"))


def test_export_rewrites_every_post_a_window_of_ids_at_a_time(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "_posts"
    made_ours(engine, folder, 7)
    for path in folder.iterdir():
        path.unlink()  # every post must be written again
    windows: list[str] = []

    def executed(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT ARTICLES.ID") and "LIMIT" in statement.upper():
            windows.append(statement)

    event.listen(engine, "before_cursor_execute", executed)
    progress = Recorded()
    writer = PostWriter(folder, JEKYLL)
    assert rewrite_all(session_factory(engine), writer, progress=progress, window=3) == 7
    assert len(windows) == 3  # 3 + 3 + 1 ids: never the whole list at once
    assert progress.total == 7 and progress.done == 7 and progress.finished
    assert len(list(folder.iterdir())) == 7


def test_export_shows_a_bar_only_on_a_terminal(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "_posts"
    made_ours(engine, folder, 2)
    made: list[Recorded] = []

    def recording() -> Recorded:
        made.append(Recorded())
        return made[-1]

    monkeypatch.setattr(rewrite, "make_progress", recording)
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a pipe, a cron mail: no bar
    rewrite_all(session_factory(engine), PostWriter(folder, JEKYLL))
    assert made == []

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    rewrite_all(session_factory(engine), PostWriter(folder, JEKYLL))
    assert len(made) == 1 and made[0].total == 2 and made[0].done == 2


def test_status_reasons_read_only_the_rows_with_an_error(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "_posts"
    write_posts(folder, 0, 3)
    adopt_export_folder(session_factory(engine), folder, FEEDS)
    with engine.begin() as connection:
        connection.execute(text("UPDATE articles SET status = 'failed', last_error = 'HTTP 500' WHERE id=1"))
        connection.execute(text("UPDATE articles SET status = 'seen', last_error = 'odd' WHERE id = 2"))
    statements: list[str] = []

    def executed(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "last_error" in statement and "GROUP BY" in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", executed)
    with session_factory(engine)() as session:
        health = feed_health(session)
    event.remove(engine, "before_cursor_execute", executed)
    assert [(row[1], row[2], row[3]) for row in health.reasons] == [("failed", "HTTP 500", 1)]
    with engine.connect() as connection:
        plan = " ".join(str(row) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statements[0]))
    assert "ix_articles_errors" in plan  # not a walk of every archived row


def test_revisit_summary_reads_only_the_revisited_rows(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "_posts"
    write_posts(folder, 0, 4)
    adopt_export_folder(session_factory(engine), folder, FEEDS)
    with engine.begin() as connection:
        connection.execute(text("UPDATE articles SET revisits = 2, edits = 1 WHERE id = 1"))
        connection.execute(
            text("UPDATE articles SET revisits = 1, removal_suspected_at = discovered_at WHERE id = 2")
        )
        connection.execute(text("UPDATE articles SET revisits = 3, status = 'gone' WHERE id = 3"))
    statements: list[tuple[str, object]] = []

    def executed(conn: object, cursor: object, statement: str, parameters: object, *args: object) -> None:
        if "sum(" in statement.lower() and "revisits" in statement:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", executed)
    with engine.connect() as connection:
        counts = revisit_counts(connection)
    event.remove(engine, "before_cursor_execute", executed)
    assert list(counts.values()) == [RevisitCounts(revisits=3, edits=1, removed=0, suspected=1)]
    with engine.connect() as connection:
        explained = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statements[0][0], statements[0][1])  # type: ignore[arg-type]
        plan = " ".join(str(row) for row in explained)
    assert "ix_articles_revisited" in plan  # not a sum over every archived row


def test_status_counts_the_feeds_rows_not_the_seen_urls_of_an_imported_list(engine: Engine) -> None:
    sessions = session_factory(engine)
    feed_id = configured_feed_ids(sessions, FEEDS)["News"]
    seen = [f"https://news.example/seen/{n}" for n in range(5)]
    post_import.import_seen_urls(sessions, seen, ImportSummary())
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE articles SET feed_id = {feed_id}, status = 'pending' WHERE id <= 2"))
    with sessions() as session:
        counts = feed_health(session).counts
    assert counts == {(feed_id, "pending"): 2}  # the 3 seen rows (no feed, never shown) are not counted
