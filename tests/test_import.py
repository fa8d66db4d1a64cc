"""`scraper import`, and `scraper once` adopting the export folder: an old archive continued, never twice."""

from __future__ import annotations

import hashlib
import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from scraper.importer import PostFormatError, read_post
from scraper.store.db import make_engine, session_factory
from scraper.store.models import Article, Feed
from tests.conftest import run_cli, write_config
from tests.test_once import PARAGRAPHS, article_page, rss

SEED = Path(__file__).parent / "fixtures" / "seed-example.md"  # a copy of ../shared/seed-example.md
SEED_TEXT = SEED.read_text(encoding="utf-8")


def seed_post(title: str, url: str, feed: str = "联合早报", epoch_ms: int = 1632928260000) -> str:
    """A post exactly as the old script wrote them (its `comments: True` line included)."""
    when = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    iso = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    return (
        f'---\nlayout: post\ntitle: "{title}"\ndate: {iso}\nauthor: {feed}\nfrom: {url}\n'
        f"tags: [ {feed} ]\ncomments: True\ncategories: [ {feed} ]\n---\n<!--{epoch_ms}-->\n"
        f"[{title}]({url})\n------\n\n<div>\n<p>{title}：旧存档里的正文。</p>\n</div>\n"
    )


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def rows(folder: Path) -> dict[str, Article]:
    engine = make_engine(f"sqlite:///{folder / 'archive.db'}")
    with session_factory(engine)() as session:
        found = {a.canonical_url: a for a in session.scalars(select(Article))}
        feeds = {f.id: f.name for f in session.scalars(select(Feed))}
    engine.dispose()
    for article in found.values():
        article.feed_name = feeds.get(article.feed_id)  # type: ignore[attr-defined]
    return found


# --- reading posts -----------------------------------------------------------------------------------------


def test_reads_the_seed_post(tmp_path: Path) -> None:
    path = tmp_path / "2021-09-29-中国拟推动10家物联网成百亿龙头.md"
    path.write_text(SEED_TEXT, encoding="utf-8")
    post = read_post(path)
    assert post.url == "https://www.zaobao.com/realtime/china/story20210929-1198422"
    assert post.title == "中国拟推动10家物联网成百亿龙头"
    assert post.feed_name == "联合早报" and post.author == "联合早报"
    assert post.published == datetime.fromtimestamp(1632928260, UTC)  # the comment, not the capped date
    assert post.body_html.startswith("<p>中国工业和信息化部") and not post.body_html.endswith("</div>")


def test_reads_hugo_toml_and_plain_jekyll_front_matter(tmp_path: Path) -> None:
    hugo = tmp_path / "hugo.md"
    hugo.write_text(
        '+++\ntitle = "Hugo post"\ndate = 2020-05-01T08:00:00+02:00\nurl = "/posts/hugo/"\n'
        'source = "https://example.org/a?utm_source=x"\ncategories = ["Example"]\n+++\n\nSome *markdown*.\n',
        encoding="utf-8",
    )
    post = read_post(hugo)
    assert post.url == "https://example.org/a?utm_source=x" and post.feed_name == "Example"
    assert post.published == datetime(2020, 5, 1, 6, tzinfo=UTC)
    assert post.body_html == "Some *markdown*."

    jekyll = tmp_path / "jekyll.markdown"
    jekyll.write_text(
        "---\r\ntitle: Plain Jekyll\r\ndate: 2019-01-02 03:04:05 +0800\r\nlink: https://example.org/b\r\n"
        "tags: news\r\n---\r\n<p>Body</p>\r\n",
        encoding="utf-8",
    )
    post = read_post(jekyll)
    assert (post.title, post.url, post.feed_name) == ("Plain Jekyll", "https://example.org/b", "news")
    assert post.published == datetime(2019, 1, 1, 19, 4, 5, tzinfo=UTC)


def test_reads_front_matter_the_old_script_broke(tmp_path: Path) -> None:
    # It escaped quotes but not backslashes: `\d` is no YAML escape, so the line is read as written.
    path = tmp_path / "broken.md"
    path.write_text(seed_post('C:\\dir 说\\"是\\"', "https://example.org/c"), encoding="utf-8")
    post = read_post(path)
    assert post.url == "https://example.org/c" and post.title == 'C:\\dir 说"是"'
    assert post.feed_name == "联合早报"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("just text\n", "no front matter"),
        ("---\ntitle: x\n", "never closed"),
        ("---\ntitle: no url\n---\n<div>\n</div>\n", "no source URL"),
        ("+++\ntitle = \n+++\n", "TOML"),
    ],
)
def test_unreadable_posts_say_why(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "bad.md"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PostFormatError, match=reason):
        read_post(path)


# --- import, then continue with `scraper once` ------------------------------------------------------------


@pytest.fixture
def old_archive(httpserver: HTTPServer, tmp_path: Path) -> dict[str, str]:
    """An old archive of two posts, a seen list of three URLs (two of them posts), and a feed list."""
    url = httpserver.url_for
    archive = tmp_path / "old"
    (archive / "_posts").mkdir(parents=True)
    (archive / "_posts" / "2021-09-29-旧文一.md").write_text(
        seed_post("旧文一", url("/news/1")), encoding="utf-8"
    )
    (archive / "_posts" / "2021-09-29-旧文二.md").write_text(
        seed_post("旧文二", url("/news/2")), encoding="utf-8"
    )
    (archive / "_posts" / "README.txt").write_text("not a post", encoding="utf-8")
    (archive / "_posts" / "notes.md").write_text("# notes, no front matter\n", encoding="utf-8")
    (archive / "allurls.dat").write_text(
        f"{url('/news/1')}\n{url('/news/2')}\n{url('/news/3')}\n", encoding="utf-8"
    )
    subs = [
        {"site": "联合早报", "url": url("/feed.xml")},
        {"site": 'Other "quoted"', "url": "https://o.example/rss"},
        {"site": "中国数字时代"},
    ]
    (archive / "subs.json").write_text(json.dumps(subs, ensure_ascii=False, indent=4), encoding="utf-8")
    return {"dir": str(archive)}


def serve_site(server: HTTPServer, paths: list[str]) -> None:
    base = server.url_for("").rstrip("/")
    items = [(f"文章{p[-1]}", f"{p}?utm_source=rss", f"guid-{p[-1]}") for p in paths]
    server.expect_request("/feed.xml").respond_with_data(rss(items, base), content_type="application/rss+xml")
    for path in paths:
        server.expect_request(path).respond_with_data(
            article_page(f"文章{path[-1]}", PARAGRAPHS), content_type="text/html; charset=utf-8"
        )


def test_import_then_once_archives_only_new_entries(
    httpserver: HTTPServer, tmp_path: Path, old_archive: dict[str, str]
) -> None:
    archive = Path(old_archive["dir"])
    before = digests(archive)
    config = write_config(tmp_path, [{"name": "联合早报", "url": httpserver.url_for("/feed.xml")}])
    posts = tmp_path / "_posts"

    result = run_cli(
        "import",
        "--config",
        str(config),
        str(archive / "_posts"),
        str(archive / "allurls.dat"),
        str(archive / "subs.json"),
    )
    assert result.exit_code == 1, result.output  # notes.md is no post: reported, the rest imported
    assert "imported 2 posts" in result.output and "1 seen URLs (2 already known)" in result.output
    assert "notes.md: no front matter" in result.output
    assert "README.txt" not in result.output  # only .md/.markdown/.html files are posts
    printed = tomllib.loads(result.stdout)
    assert printed["feeds"] == [{"name": 'Other "quoted"', "url": "https://o.example/rss"}]
    assert "# already configured" in result.stdout
    assert digests(archive) == before  # not a byte of the old archive changed

    found = rows(tmp_path)
    one = found[httpserver.url_for("/news/1")]
    assert one.status == "archived" and one.content_source == "import"
    assert one.feed_name == "联合早报"  # type: ignore[attr-defined]
    assert one.post_path == str((archive / "_posts" / "2021-09-29-旧文一.md").resolve())
    assert "旧存档里的正文" in (one.content_html or "")
    assert one.published_at == datetime.fromtimestamp(1632928260, UTC)
    assert found[httpserver.url_for("/news/3")].status == "seen"

    # The feed repeats all three old URLs (with tracking parameters) and brings two new ones.
    serve_site(httpserver, ["/news/1", "/news/2", "/news/3", "/news/4", "/news/5"])
    result = run_cli("once", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "2 new entries; archived 2" in result.output and "wrote 2 posts" in result.output
    fetched = {r.path for r, _ in httpserver.log}
    assert fetched == {"/feed.xml", "/news/4", "/news/5"}
    assert sorted(p.name for p in posts.iterdir()) == ["2021-09-29-文章4.md", "2021-09-29-文章5.md"]
    assert digests(archive) == before

    result = run_cli("export", "--config", str(config))  # a full rewrite leaves imported files alone
    assert result.exit_code == 0 and "rewrote 0 posts" in result.output
    assert digests(archive) == before

    again = run_cli("import", "--config", str(config), str(archive / "_posts"))
    assert "imported 0 posts (0 joined known articles, 2 already imported" in again.output


def test_import_into_the_export_folder_keeps_relative_paths_and_feed_option(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path,
        [
            {"name": "A", "url": httpserver.url_for("/a.xml")},
            {"name": "B", "url": httpserver.url_for("/b.xml")},
        ],
    )
    posts = tmp_path / "_posts"
    (posts / "2021").mkdir(parents=True)
    (posts / "2021" / "x.md").write_text(seed_post("X", "https://example.org/x", feed="A"), encoding="utf-8")
    result = run_cli("import", "--config", str(config), "--feed", "B", str(posts))
    assert result.exit_code == 0, result.output
    article = rows(tmp_path)["https://example.org/x"]
    assert article.post_path == "2021/x.md" and article.feed_name == "B"  # type: ignore[attr-defined]

    bad = run_cli("import", "--config", str(config), "--feed", "nope", str(posts))
    assert bad.exit_code == 2 and "no configured feed" in bad.output


def test_once_on_a_folder_of_posts_without_a_database_duplicates_none(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """A fresh CI runner: the site repository is checked out (posts, no database), then the cron job runs."""
    config = write_config(tmp_path, [{"name": "联合早报", "url": httpserver.url_for("/feed.xml")}])
    serve_site(httpserver, ["/news/1", "/news/2", "/news/3"])
    first = run_cli("once", "--config", str(config))
    assert first.exit_code == 0 and "wrote 3 posts" in first.output
    posts = tmp_path / "_posts"
    before = digests(posts)
    (tmp_path / "archive.db").unlink()
    for extra in tmp_path.glob("archive.db-*"):
        extra.unlink()

    # The feed moves on: it repeats 1-3 and brings 4, of which an old-script post is already in the folder.
    httpserver.clear()
    serve_site(httpserver, ["/news/1", "/news/2", "/news/3", "/news/4"])
    (posts / "2021-09-28-旧文.md").write_text(
        seed_post("旧文", httpserver.url_for("/news/4")), encoding="utf-8"
    )
    before = digests(posts)
    second = run_cli("once", "--config", str(config))
    assert second.exit_code == 0, second.output
    assert "0 new entries" in second.output and "wrote 0 posts" in second.output
    assert {r.path for r, _ in httpserver.log} == {"/feed.xml"}
    assert digests(posts) == before  # nothing written, nothing rewritten
    found = rows(tmp_path)
    assert len(found) == 4 and all(a.status == "archived" for a in found.values())
    assert found[httpserver.url_for("/news/1")].post_path == "2021-09-29-文章1.md"
