"""A hostile archive of old posts: odd entries in its folder, odd names, odd front matter (task H, s15).

`scraper import` and the adoption of the export folder at each run walk a folder someone else filled. Found:
one entry whose type could not be read (a symlink loop) ended the listing of its folder silently, every
post after it neither imported nor reported; a folder linked into itself was walked again and again.
"""

from __future__ import annotations

import codecs
import os
import tempfile
import tomllib
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from scraper.post_import import ImportSummary, import_post_files
from scraper.post_reader import MAX_POST_BYTES, read_post, scan_post_files
from scraper.store.db import make_engine, session_factory, upgrade
from scraper.store.models import Article
from tests.conftest import run_cli, write_config
from tests.test_import import seed_post

NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def make_engine_at(folder: Path) -> Engine:
    engine = make_engine(f"sqlite:///{folder / 'archive.db'}")
    upgrade(engine)
    return engine


def _posts(folder: Path, count: int, prefix: str = "story") -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for n in range(count):
        name = f"2021-01-0{n % 9 + 1}-{prefix}-{n}.md"
        (folder / name).write_text(seed_post(f"{prefix} {n}", f"https://news.example/{prefix}/{n}"), "utf-8")
        names.append(name)
    return names


def test_an_entry_whose_type_cannot_be_read_costs_that_entry_alone(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    names = _posts(folder, 30)
    os.symlink(folder / "loop-a.md", folder / "loop-b.md")
    os.symlink(folder / "loop-b.md", folder / "loop-a.md")
    names += _posts(folder / "sub", 3, "sub")

    listed = sorted(relative for relative, _ in scan_post_files(folder))

    expected = sorted([*names[:30], *(f"sub/{name}" for name in names[30:]), "loop-a.md", "loop-b.md"])
    assert listed == expected  # the loops are listed: reading them says why they are no posts


def test_a_symlink_loop_among_posts_is_an_error_and_every_other_post_is_imported(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    names = _posts(folder, 20)
    os.symlink(folder / "loop.md", folder / "loop.md")
    config = write_config(tmp_path, [])

    result = run_cli("import", str(folder), "--config", str(config))

    assert "imported 20 posts" in result.output, result.output
    assert "loop.md" in result.output and "symbolic links" in result.output, result.output
    assert len(names) == 20


def test_a_folder_linked_into_itself_is_walked_once(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    names = _posts(folder, 3)
    names += [f"sub/{name}" for name in _posts(folder / "sub", 2, "sub")]
    os.symlink(folder, folder / "sub" / "up")
    os.symlink(folder / "sub", folder / "sub" / "again")
    os.symlink(".", folder / "here")

    listed = [relative for relative, _ in islice(scan_post_files(folder), 1000)]

    assert sorted(listed) == sorted(names)


def test_a_post_whose_name_is_not_utf8_fails_alone_on_both_backends(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    raw = os.fsencode(folder) + b"/2021-01-01-\xff\xfe.md"
    with open(raw, "wb") as file:
        file.write(seed_post("odd name", "https://news.example/odd").encode())
    _posts(folder, 2)
    summary = ImportSummary()
    files = [path for _, path in scan_post_files(folder)]
    import_post_files(session_factory(engine), files, folder, {}, summary, now=NOW, workers=0)
    with engine.connect() as connection:
        stored = sorted(connection.scalars(select(Article.canonical_url)))
    assert len(stored) == 2 and "https://news.example/odd" not in stored, stored
    (error,) = summary.errors
    assert "not UTF-8" in error, error


def test_the_cli_reports_a_post_whose_name_is_not_utf8(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    _posts(folder, 2)
    with open(os.fsencode(folder) + b"/2021-01-01-\xff.md", "wb") as file:
        file.write(seed_post("odd name", "https://news.example/odd").encode())
    config = write_config(tmp_path, [])

    result = run_cli("import", str(folder), "--config", str(config))

    assert "imported 2 posts" in result.output and "not UTF-8" in result.output, result.output


def test_a_post_named_in_bytes_that_are_not_utf8_in_the_export_folder_never_stops_a_run(
    tmp_path: Path,
) -> None:
    """Found by a hostile archive: every `scraper once` ended in a traceback (the adoption of the export
    folder asked the database for the file's name), whatever the feeds held."""
    posts = tmp_path / "_posts"
    _posts(posts, 2)
    (posts / "sub").mkdir()
    for folder in (posts, posts / "sub"):
        with open(os.fsencode(folder) + b"/2021-01-01-\xff.md", "wb") as file:
            file.write(seed_post("odd name", f"https://news.example/{folder.name}").encode())
    os.mkdir(os.fsencode(posts) + b"/\xfe")
    feed = tmp_path / "feed.xml"
    feed.write_text('<rss version="2.0"><channel><title>t</title></channel></rss>', "utf-8")
    config = write_config(tmp_path, [{"name": "F", "url": feed.as_uri()}])

    for _ in range(2):
        result = run_cli("once", "--config", str(config))
        assert result.exit_code == 0, result.output
    status = run_cli("status", "--config", str(config))
    assert status.exit_code == 0, status.output


# --- front matter dates ----------------------------------------------------------------------------------

date_values = st.one_of(
    st.sampled_from(
        [
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-14:00",
            "2021-02-30",
            "0000-00-00",
            "2021-01-01T00:00:00+99:00",
            "2021-13-01 00:00:00",
            "2021-01-01 25:00:00",
        ]
    ),
    st.builds(
        lambda y, m, d, h, off: f"{y:04d}-{m:02d}-{d:02d}T{h:02d}:00:00{off}",
        st.integers(0, 9999),
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 25),
        st.sampled_from(["Z", "+14:00", "-14:00", "+23:59", "+24:00", "", ".5Z"]),
    ),
    st.builds(lambda d: str(d), st.dates()),
)


@settings(max_examples=300, deadline=None)
@given(date_values, st.sampled_from(["yaml", "yaml-quoted", "toml"]))
def test_a_post_with_any_date_is_read_with_that_date_or_none(value: str, kind: str) -> None:
    """A date the YAML reader or datetime refuses (a 30th of February, year 0, a time zone past a day, a
    year 1 that is year 0 in UTC) cost the whole post: read as no date, like a date in words."""
    if kind == "toml":
        text = f"+++\ntitle = 'x'\ndate = {value}\nfrom = 'https://news.example/a'\n+++\n<p>x</p>\n"
    else:
        shown = f'"{value}"' if kind == "yaml-quoted" else value
        text = f"---\ntitle: x\ndate: {shown}\nfrom: https://news.example/a\n---\n<p>x</p>\n"
    try:
        tomllib.loads(text.split("+++")[1]) if kind == "toml" else None
    except tomllib.TOMLDecodeError:
        return  # not TOML at all: the post fails for its front matter, not its date
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "post.md"
        path.write_text(text, "utf-8")
        post = read_post(path)
    assert post.url == "https://news.example/a"
    assert post.published is None or post.published.utcoffset() == timedelta(0)


@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "utf-32", "utf-32-be"])
def test_a_post_saved_with_a_bom_in_any_unicode_encoding_reads_as_itself(tmp_path: Path, codec: str) -> None:
    text = seed_post("标题 title", "https://news.example/bom")
    bom = {"utf-16-be": codecs.BOM_UTF16_BE, "utf-32-be": codecs.BOM_UTF32_BE}.get(codec, b"")
    (tmp_path / "post.md").write_bytes(bom + text.encode(codec))
    post = read_post(tmp_path / "post.md")
    assert (post.url, post.title) == ("https://news.example/bom", "标题 title")


def test_a_post_file_larger_than_any_post_fails_alone_without_being_read_whole(tmp_path: Path) -> None:
    """A file of gigabytes dropped among the posts was read whole by each import or adoption of the export
    folder (a run out of memory); no post is that large: it fails alone, its reason given."""
    folder = tmp_path / "old"
    _posts(folder, 2)
    with open(folder / "2021-01-01-huge.md", "wb") as file:
        file.write(seed_post("huge", "https://news.example/huge").encode())
        file.truncate(MAX_POST_BYTES + 1)  # sparse: no disk used
    summary = ImportSummary()
    files = [path for _, path in scan_post_files(folder)]
    import_post_files(
        session_factory(make_engine_at(tmp_path)), files, folder, {}, summary, now=NOW, workers=0
    )
    assert summary.posts == 2
    (error,) = summary.errors
    assert "huge.md" in error and "larger than" in error


def test_a_seen_url_list_s_lines_that_are_not_urls_are_named_and_counted(tmp_path: Path) -> None:
    """Found: `import allurls.dat` skipped each line that is not an http(s) URL without a word; now as
    `backfill --urls`: the first lines named (line number and text), the rest counted, and the summary
    says how many lines were skipped. Blank lines and comments are no lines to skip."""
    config = write_config(tmp_path, [])
    listed = tmp_path / "allurls.dat"
    bad = [f"junk {n}" for n in range(25)]
    listed.write_text(
        "# a comment\n\nhttps://example.com/a\nnot a url\nftp://example.com/b\n" + "\n".join(bad) + "\n",
        encoding="utf-8",
    )
    result = run_cli("import", str(listed), "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "line 4: not an http(s) URL, skipped: 'not a url'" in result.stderr
    assert "line 5: not an http(s) URL, skipped: 'ftp://example.com/b'" in result.stderr
    assert "7 more lines that are not http(s) URLs, skipped" in result.stderr
    assert "1 seen URLs (0 already known, 27 lines skipped: not http(s) URLs)" in result.stderr
    assert "comment" not in result.stderr
