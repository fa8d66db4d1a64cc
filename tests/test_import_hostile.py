"""A hostile seen-URL list and a hostile operator against the import's bulk path (issue 16), on both
backends: odd lines fail alone, an interrupted import run again stores the same rows, the SQLite load's
pragmas come back whatever ends it, two imports at once on PostgreSQL do not clash, and migration
0009_s14_16 goes up and down over odd rows."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.command import downgrade
from sqlalchemy import Engine, select, text

from scraper.post_import import BATCH, POST_PATH_CHARS, ImportSummary, import_post_files, import_seen_urls
from scraper.post_reader import read_url_list
from scraper.sanitize import MAX_URL_CHARS
from scraper.store.bulk import bulk_sessions
from scraper.store.db import alembic_config, session_factory, upgrade
from scraper.store.models import Article
from tests.test_import import seed_post

NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def keys(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(select(Article.canonical_url).order_by(Article.canonical_url)))


def test_a_hostile_url_list_stores_each_good_url_once_and_refuses_the_rest_alone(engine: Engine) -> None:
    long_path = "".join(chr(ord("a") + (n * 7919) % 26) for n in range(MAX_URL_CHARS))  # not compressible
    at_cap = ("https://long.example/" + long_path)[:MAX_URL_CHARS]
    raw = (
        b"https://a.example/x\n"
        b"https://a.example/x\n"  # twice in one batch
        b"https://A.EXAMPLE/x\n"  # the host's case: the same URL
        b"https://a.example/X\n"  # the path's case: another URL
        b"https://a.example/x/\n"  # a trailing slash: another URL
        b"https://a.example/cr\r\n"  # CRLF
        b"https://a.example/nul\x00x\n"  # a NUL
        b"https://a.example/bad\xff\xfeutf8\n"  # invalid UTF-8, read with errors="replace"
        + at_cap.encode()
        + b"\n"
        + (at_cap + "z").encode()  # one over the columns' width
        + b"\n"
    )
    lines = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", errors="replace")
    first, second = ImportSummary(), ImportSummary()
    sessions = session_factory(engine)
    import_seen_urls(sessions, read_url_list(lines), first, now=NOW)
    stored = keys(engine)
    assert "https://a.example/x" in stored and "https://a.example/X" in stored
    assert "https://a.example/x/" in stored and "https://a.example/cr" in stored
    assert at_cap in stored and not any("nul" in key for key in stored)
    assert len(stored) == len(set(stored)) == first.seen
    assert len(first.errors) == 2, first.errors  # the NUL and the URL over the width, each alone
    assert first.seen + first.seen_known + len(first.errors) == 10 - 2  # the case and the repeat: one row
    import_seen_urls(sessions, read_url_list(io.StringIO(raw.decode("utf-8", "replace"))), second, now=NOW)
    assert (second.seen, second.seen_known) == (0, first.seen + first.seen_known)
    assert keys(engine) == stored


def interrupted(urls: list[str], after: int, error: BaseException) -> Iterator[str]:
    """The list's URLs, then `error` when `after` were read (a Ctrl-C or a failing disk mid-batch)."""
    for n, url in enumerate(urls):
        if n == after:
            raise error
        yield url


@pytest.mark.parametrize("error", [KeyboardInterrupt(), OSError("disk gone")], ids=["ctrl-c", "oserror"])
def test_an_interrupted_import_run_again_stores_every_url_once(engine: Engine, error: BaseException) -> None:
    urls = [f"https://news.example/{n:05d}" for n in range(BATCH * 2 + 10)]
    sessions = session_factory(engine)
    with pytest.raises(type(error)):
        import_seen_urls(sessions, interrupted(urls, BATCH + 7, error), ImportSummary(), now=NOW)
    assert keys(engine) == urls[:BATCH]  # the first batch committed, the interrupted one not at all
    again = ImportSummary()
    import_seen_urls(sessions, urls, again, now=NOW)
    assert (again.seen, again.seen_known) == (len(urls) - BATCH, BATCH)
    assert keys(engine) == urls


def pragmas(engine: Engine) -> tuple[Any, Any]:
    with engine.connect() as connection:
        run = connection.exec_driver_sql
        return run("PRAGMA cache_size").scalar(), run("PRAGMA wal_autocheckpoint").scalar()


@pytest.mark.parametrize("error", [KeyboardInterrupt(), ValueError("bad row")], ids=["ctrl-c", "error"])
def test_the_sqlite_pragmas_come_back_on_every_pooled_connection_after_an_error(
    sqlite_engine: Engine, error: BaseException
) -> None:
    before = pragmas(sqlite_engine)
    # two connections in the pool: the load takes one of them, which must not keep its settings
    first, second = sqlite_engine.connect(), sqlite_engine.connect()
    first.close(), second.close()
    urls = [f"https://news.example/{n}" for n in range(BATCH + 5)]
    for _ in range(2):
        with pytest.raises(type(error)):
            import_seen_urls(
                session_factory(sqlite_engine), interrupted(urls, BATCH + 1, error), ImportSummary()
            )
    with sqlite_engine.connect() as a, sqlite_engine.connect() as b:
        for connection in (a, b):
            run = connection.exec_driver_sql
            assert (run("PRAGMA cache_size").scalar(), run("PRAGMA wal_autocheckpoint").scalar()) == before
            connection.rollback()
            with connection.begin():  # a later normal transaction on it: still the old settings
                assert run("PRAGMA cache_size").scalar() == before[0]


def test_the_sqlite_pragmas_come_back_when_the_load_left_a_failed_transaction(sqlite_engine: Engine) -> None:
    before = pragmas(sqlite_engine)
    sessions = session_factory(sqlite_engine)
    with pytest.raises(RuntimeError), bulk_sessions(sessions) as bulk:
        session = bulk()
        session.begin()
        session.connection().exec_driver_sql(
            "INSERT INTO articles (url, canonical_url, status, attempts, discovered_at) "
            "VALUES ('https://a.example/', 'https://a.example/', 'seen', 0, '2024-05-01')"
        )
        raise RuntimeError("the caller never closed its session")  # its transaction left open
    assert pragmas(sqlite_engine) == before and keys(sqlite_engine) == []


@pytest.fixture
def sqlite_engine(tmp_path: Any) -> Iterator[Engine]:
    from scraper.store.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def test_two_imports_at_once_on_postgresql_store_each_url_once(postgres_engine: Engine) -> None:
    upgrade(postgres_engine)
    sessions = session_factory(postgres_engine)
    lists = [
        [f"https://news.example/{n:05d}" for n in range(0, BATCH * 2, 1)],
        [f"https://news.example/{n:05d}" for n in range(BATCH, BATCH * 3, 1)],
    ]
    summaries = [ImportSummary(), ImportSummary()]
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            import_seen_urls(sessions, lists[index], summaries[index], now=NOW)
        except BaseException as exc:  # reported to the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(index,)) for index in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert keys(postgres_engine) == sorted(set(lists[0]) | set(lists[1]))
    assert sum(summary.seen for summary in summaries) == BATCH * 3
    assert sum(summary.seen_known for summary in summaries) == BATCH  # the overlap, told by one of them


ODD_ROWS = (
    "INSERT INTO articles (url, canonical_url, status, attempts, lease_owner, post_written_at, revisit_at, "
    "feed_id, discovered_at) VALUES "
    "('https://a.example/1', 'https://a.example/1', 'pending', 0, NULL, NULL, NULL, NULL, '2024-05-01'), "
    "('https://a.example/2', 'https://a.example/2', 'odd-status', -1, '', '1970-01-01', '9999-12-31', NULL, "
    "'2024-05-01')"
)


def test_the_migration_goes_up_and_down_over_null_and_odd_values(engine: Engine) -> None:
    config = alembic_config(engine)
    downgrade(config, "0008_s13_16")
    with engine.begin() as connection:
        connection.execute(text(ODD_ROWS))
    upgrade(engine)
    assert keys(engine) == ["https://a.example/1", "https://a.example/2"]
    downgrade(config, "0008_s13_16")
    assert keys(engine) == ["https://a.example/1", "https://a.example/2"]
    upgrade(engine)  # and up again over the same rows
    assert keys(engine) == ["https://a.example/1", "https://a.example/2"]


def test_post_files_with_nul_bytes_and_invalid_utf8_are_stored_on_both_backends(
    engine: Engine, tmp_path: Any
) -> None:
    folder = tmp_path / "posts"
    folder.mkdir()
    for n, junk in enumerate((b"\x00", b"\xff\xfe", b"\r", b"\xed\xa0\x80")):  # the last: a UTF-8 surrogate
        text = seed_post(f"Story {n}", f"https://news.example/story/{n}", feed="News").encode()
        (folder / f"story-{n}.md").write_bytes(
            text.replace(b"Story", b"Sto" + junk + b"ry") + junk + b"end\n"
        )
    summary = ImportSummary()
    import_post_files(
        session_factory(engine), sorted(folder.iterdir()), folder, {}, summary, now=NOW, workers=0
    )
    assert summary.errors == [] and summary.posts == 4
    assert keys(engine) == [f"https://news.example/story/{n}" for n in range(4)]
    with engine.connect() as connection:
        stored = connection.execute(select(Article.title, Article.content_html, Article.content_text)).all()
    assert not any("\x00" in (value or "") for row in stored for value in row)


def test_a_ctrl_c_inside_postgresqls_copy_loses_nothing_and_the_connection_goes_on(
    postgres_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    upgrade(postgres_engine)
    urls = [f"https://news.example/{n:05d}" for n in range(BATCH + 50)]
    real = psycopg.Copy.write_row
    calls = 0

    def write_row(self: Any, row: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == BATCH + 10:  # mid-COPY of the second batch
            raise KeyboardInterrupt
        real(self, row)

    monkeypatch.setattr(psycopg.Copy, "write_row", write_row)
    sessions = session_factory(postgres_engine)
    with pytest.raises(KeyboardInterrupt):
        import_seen_urls(sessions, urls, ImportSummary(), now=NOW)
    monkeypatch.setattr(psycopg.Copy, "write_row", real)
    assert keys(postgres_engine) == urls[:BATCH]
    again = ImportSummary()
    import_seen_urls(sessions, urls, again, now=NOW)  # on the same pooled connection: its staging table
    assert (again.seen, again.seen_known) == (50, BATCH) and keys(postgres_engine) == urls


def test_a_failed_restore_of_the_sqlite_pragmas_leaves_no_pooled_connection_with_them(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scraper.store import bulk

    before = pragmas(sqlite_engine)
    real = bulk._pragmas
    calls = 0

    def restore_interrupted(connection: Any, values: dict[str, int]) -> dict[str, int]:
        nonlocal calls
        calls += 1
        if calls == 2:  # the restore, after the load
            raise KeyboardInterrupt
        return real(connection, values)

    monkeypatch.setattr(bulk, "_pragmas", restore_interrupted)
    with pytest.raises(KeyboardInterrupt):
        import_seen_urls(session_factory(sqlite_engine), ["https://a.example/1"], ImportSummary(), now=NOW)
    assert pragmas(sqlite_engine) == before  # the pool's connection is a fresh one
    assert keys(sqlite_engine) == ["https://a.example/1"]


def test_insert_new_given_one_url_twice_in_a_batch_stores_it_once(engine: Engine) -> None:
    from scraper.store.bulk import ArticleRows

    rows = ArticleRows(("url", "canonical_url", "host", "status", "attempts", "discovered_at"))
    twice = [
        (f"https://a.example/{n}", f"https://a.example/{n}", "a.example", "seen", 0, NOW)
        for n in (1, 2, 1, 1)
    ]
    with session_factory(engine).begin() as session:
        assert rows.insert_new(session, twice) == 2  # a caller that did not dedupe: the index does
    assert keys(engine) == ["https://a.example/1", "https://a.example/2"]


def test_a_url_whose_canonical_form_outgrows_the_column_fails_alone(engine: Engine) -> None:
    grows = [
        "https://a.example/" + "é" * 1000,  # 1,018 characters kept, 6,018 once percent-encoded
        "https://bücher.example/" + "x" * 2020,  # the host's punycode: 2,050
    ]
    urls = ["https://a.example/before", *grows, "https://a.example/after"]
    summary = ImportSummary()
    import_seen_urls(session_factory(engine), urls, summary, now=NOW)
    assert keys(engine) == ["https://a.example/after", "https://a.example/before"]
    assert len(summary.errors) == 2 and summary.seen == 2, summary.errors


def test_a_post_whose_canonical_url_outgrows_the_column_fails_alone(engine: Engine, tmp_path: Any) -> None:
    folder = tmp_path / "posts"
    folder.mkdir()
    for n, url in enumerate(("https://a.example/" + "é" * 1000, "https://a.example/fine")):
        (folder / f"story-{n}.md").write_text(seed_post(f"Story {n}", url, feed="News"), encoding="utf-8")
    summary = ImportSummary()
    import_post_files(
        session_factory(engine), sorted(folder.iterdir()), folder, {}, summary, now=NOW, workers=0
    )
    assert keys(engine) == ["https://a.example/fine"] and summary.posts == 1
    assert len(summary.errors) == 1 and "story-0.md" in summary.errors[0] and "canonical" in summary.errors[0]


def test_a_post_path_wider_than_its_column_fails_alone(engine: Engine, tmp_path: Any) -> None:
    folder = tmp_path / "posts"
    deep = folder.joinpath(*["d" * 250] * 5)  # 1,255 characters before the file's name
    deep.mkdir(parents=True)
    (deep / "story-0.md").write_text(seed_post("Deep", "https://a.example/deep", feed="News"), "utf-8")
    (folder / "story-1.md").write_text(seed_post("Near", "https://a.example/near", feed="News"), "utf-8")
    summary = ImportSummary()
    files = [deep / "story-0.md", folder / "story-1.md"]
    import_post_files(session_factory(engine), files, folder, {}, summary, now=NOW, workers=0)
    assert keys(engine) == ["https://a.example/near"] and summary.posts == 1
    assert len(summary.errors) == 1 and "story-0.md" in summary.errors[0], summary.errors
    assert Article.__table__.c.post_path.type.length == POST_PATH_CHARS  # type: ignore[attr-defined]
