"""The archive path's fast paths (issue 15) against what they stand for: each gives what the plain code
gives, for any input (hypothesis), so the posts, their names and the rows claimed do not change.

- scraper.errors.storable_text, the post's file name, its link's URL and its dates: the ASCII fast paths
  and the date formatted field by field, against the code they replace (kept here as the reference);
- write_atomic: the same file, the same mode, temp files named as remove_stale_temp_files knows them;
- scraper.store.arrays.in_list: `= ANY` / `<> ALL` of an array select the rows `IN` / `NOT IN` select;
- scraper.store.plain_rows: a named tuple reads as the Row it is made of.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, Integer, bindparam, insert, select

from scraper.errors import storable_text
from scraper.export import files, jekyll
from scraper.export.target import Post
from scraper.store import arrays, tables
from scraper.store.plain_rows import as_named, named_rows

# --- the references: the code the fast paths replace ---------------------------------------------------

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_reference(text: str) -> str:
    return _UNSTORABLE.sub(lambda m: "" if m.group(0) == "\x00" else "\ufffd", text)


def markdown_url_reference(url: str) -> str:
    return "".join(
        ch if ch not in " ()<>{}\\`" and ch.isprintable() else "".join(f"%{b:02X}" for b in ch.encode())
        for ch in url
    )


def format_date_reference(when: datetime) -> str:
    when = when.astimezone(UTC)
    return f"{jekyll.day(when)}T{when:%H:%M:%S}.{when.microsecond // 1000:03d}Z"


def filename_reference(post: Post, suffix: int = 1, tag: str = "") -> str:
    title = "".join(char for char in post.title if not jekyll._invisible_in_names(char))
    stem = jekyll._REFUSED_IN_NAMES.sub("-", " ".join(title.split()))[: jekyll.TITLE_CHARS_IN_NAME]
    stem = jekyll._strip_name(storable_reference(stem) or "") or "untitled"
    more = f"-{tag}" if tag else f"-{suffix}" if suffix > 1 else ""
    return f"{jekyll.day(post.date)}-{stem}{more}.md"


# Text of every kind: ASCII (the fast paths), any code point (surrogates, NUL, format characters), and
# the characters the fast paths turn on.
SPECIAL = " ()<>{}\\`\x00\x7f\u00ad\u200b\u200d\u202e\ufeff\ud800\udfff\u2028é联🎉%#:\t\n"
texts = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127)),
    st.text(),
    st.text(alphabet=st.sampled_from(SPECIAL + "ab.-/")),
)
zones = st.builds(lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-23 * 60, 23 * 60))
dates = st.builds(
    lambda when, zone: when.replace(tzinfo=zone),
    st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)),
    zones,
)


def outcome(action: Any, *args: Any) -> tuple[str, Any]:
    """("ok", what it returned) or ("error", the class it raised): a lone surrogate fails both alike."""
    try:
        return "ok", action(*args)
    except Exception as exc:
        return "error", type(exc).__name__


@given(texts)
def test_storable_text_is_the_regex_it_skips(text: str) -> None:
    assert storable_text(text) == storable_reference(text)


@given(texts)
def test_a_links_url_is_encoded_as_before(url: str) -> None:
    assert outcome(jekyll.markdown_url, url) == outcome(markdown_url_reference, url)


@given(dates)
def test_a_date_is_written_as_strftime_wrote_it(when: datetime) -> None:
    assert jekyll.format_date(when) == format_date_reference(when)


@given(texts, dates, st.integers(1, 12), st.sampled_from(["", "abc123"]))
def test_a_post_is_named_as_before(title: str, when: datetime, suffix: int, tag: str) -> None:
    post = Post(title=title, url="https://example.com/a", feed_name="Site", published=when, archived_at=when,
                body_html="")  # fmt: skip
    assert outcome(jekyll.filename, post, suffix, tag) == outcome(filename_reference, post, suffix, tag)


@given(texts, texts, dates)
def test_a_post_renders_as_before(title: str, body: str, when: datetime) -> None:
    """The whole post: its storable title and body, its link, its date (the fast paths all at once)."""
    post = Post(title=title or "t", url="https://example.com/a b", feed_name="Site", published=when,
                archived_at=when, body_html=body)  # fmt: skip
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(jekyll, "storable_text", lambda text: text and storable_reference(text))
        patched.setattr(jekyll, "markdown_url", markdown_url_reference)
        patched.setattr(jekyll, "format_date", format_date_reference)
        expected = outcome(jekyll.render, post)
    assert outcome(jekyll.render, post) == expected


# --- write_atomic ----------------------------------------------------------------------------------------


def test_write_atomic_writes_whole_files_readable_by_all(tmp_path: Path) -> None:
    old = os.umask(0o077)  # the mode is set, not left to the umask
    try:
        path = tmp_path / "2024" / "a.md"
        assert files.write_atomic(path, "é one")
    finally:
        os.umask(old)
    assert path.read_text(encoding="utf-8") == "é one"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert not files.write_atomic(path, "é one")  # the same bytes: not touched
    assert files.write_atomic(path, "")  # emptied
    assert path.read_bytes() == b""
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.md"]  # no temp file left


def test_a_temp_file_is_named_as_the_stale_cleaner_knows_it(tmp_path: Path) -> None:
    name = "2024-05-01-" + "x" * 80 + ".md"
    fd, tmp = files._temp_file(tmp_path / name)
    os.close(fd)
    assert files._OUR_TEMP.match(Path(tmp).name)
    assert stat.S_IMODE(os.stat(tmp).st_mode) == 0o600  # private until written
    os.utime(tmp, (0, 0))
    assert files.remove_stale_temp_files(tmp_path) == 1


def test_a_failed_write_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int, data: Any) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "write", full)
    with pytest.raises(OSError, match="No space"):
        files.write_atomic(tmp_path / "a.md", "text")
    assert list(tmp_path.iterdir()) == []


# --- in_list and plain rows ------------------------------------------------------------------------------

HOSTS = ["a.example", "b.example", "", "ü.example", "x" * 255]  # the column's longest
ASKED = [*HOSTS, "x" * 300]  # longer than the column: a cast to varchar(255)[] would cut it to a row's host


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    with engine.begin() as connection:
        connection.execute(
            insert(tables.articles),
            [
                {
                    "url": f"https://h/{n}",
                    "canonical_url": f"https://h/{n}",
                    "host": HOSTS[n % 5],
                    "status": "pending",
                    "discovered_at": datetime(2024, 5, 1, tzinfo=UTC),
                }
                for n in range(20)
            ],
        )
    return engine


def _ids(connection: Connection, condition: Any, values: dict[str, Any]) -> list[int]:
    query = select(tables.articles.c.id).where(condition).order_by(tables.articles.c.id)
    return list(connection.execute(query, values).scalars())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=st.lists(st.integers(-5, 30), max_size=12), hosts=st.lists(st.sampled_from(ASKED), max_size=4))
def test_in_list_selects_what_in_selects(seeded: Engine, ids: list[int], hosts: list[str]) -> None:
    postgresql = seeded.dialect.name == "postgresql"
    column, host = tables.articles.c.id, tables.articles.c.host
    with seeded.connect() as connection:
        for negate in (False, True):
            expanding = bindparam("v", expanding=True, type_=Integer())
            plain = column.not_in(expanding) if negate else column.in_(expanding)
            ours = arrays.in_list(column, "v", postgresql=postgresql, negate=negate)
            assert _ids(connection, ours, {"v": ids}) == _ids(connection, plain, {"v": ids})
            by_host = host.not_in(hosts) if negate else host.in_(hosts)
            ours = arrays.in_list(host, "h", postgresql=postgresql, negate=negate)
            assert _ids(connection, ours, {"h": hosts}) == _ids(connection, by_host, {})


def test_plain_rows_read_as_the_rows(seeded: Engine) -> None:
    query = select(tables.articles.c.id, tables.articles.c.host, tables.articles.c.discovered_at)
    with seeded.connect() as connection:
        rows = list(connection.execute(query).all())
        named = named_rows(connection.execute(query))
    assert [tuple(row) for row in rows] == [tuple(row) for row in named]
    assert [(r.id, r.host, r.discovered_at) for r in rows] == [(r.id, r.host, r.discovered_at) for r in named]
    assert as_named(["id", "count"], [(1, 2)])[0].count == 2  # a column named as a tuple method: the column
    assert unicodedata.category("\u00ad") == "Cf" and not "\u00ad".isascii()  # the file name's premise
