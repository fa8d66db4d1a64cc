"""Revisits end to end: `once` against a loopback site whose articles change between runs, on SQLite and
PostgreSQL. Each kind of change must give exactly the versions and removals a person would record."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml
from prometheus_client import generate_latest
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, select, update
from werkzeug import Request
from werkzeug import Response as WResponse

from scraper.cli import _run_once
from scraper.config import load_config
from scraper.metrics import Metrics
from scraper.status import feed_status_report
from scraper.store.db import make_engine, session_factory, upgrade
from scraper.store.models import Article, ArticleChange, ArticleVersion, utcnow
from tests.conftest import run_cli, write_config

PARAGRAPHS = [
    "The council voted on Tuesday to close the old river bridge for repairs that engineers say are overdue.",
    "Residents said the detour through the industrial estate would add twenty minutes to their commute.",
    "Work is expected to last until the spring, and the council promised a shuttle bus for pedestrians.",
    "Shop owners near the bridge asked for a reduction in business rates while the work goes on.",
]
REWRITTEN = PARAGRAPHS[1].replace("twenty minutes", "almost an hour")


def page(title: str, paragraphs: list[str], meta: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title></head><body>"
        f"<nav><a href='/'>Home</a> <a href='/local/'>Local</a></nav><article><h1>{title}</h1>"
        f"<div class='meta'>{meta}</div>{body}</article><footer>News Example</footer></body></html>"
    )


HOME = page("News Example: front page", ["Latest news from around the region, updated all day long."])


class Site:
    """The articles, each answering by the round (0: the first archive, then one round per revisit)."""

    def __init__(self) -> None:
        self.round = 0
        self.conditional = 0  # requests that carried If-None-Match
        self.behaviour: dict[str, Callable[[int, Request], WResponse]] = {
            "rewritten": lambda r, _: self.html(
                "Bridge to close", PARAGRAPHS if r == 0 else [PARAGRAPHS[0], REWRITTEN, *PARAGRAPHS[2:]]
            ),
            "retitled": lambda r, _: self.html(
                "Bridge to close" if r == 0 else "Bridge to close for a year", PARAGRAPHS
            ),
            "counter": lambda r, _: self.html(
                "Bridge to close", PARAGRAPHS, f"Updated 1{r}:0{r} am · {1204 + 311 * r} views"
            ),
            "removed": lambda r, _: (
                self.html("Bridge to close", PARAGRAPHS) if r == 0 else WResponse("not found", 404)
            ),
            "restored": lambda r, _: (
                self.html("Bridge to close", PARAGRAPHS) if r in (0, 3) else WResponse("gone", 410)
            ),
            "outage": lambda r, _: (
                self.html("Bridge to close", PARAGRAPHS) if r in (0, 3) else WResponse("down", 503)
            ),
            "home": lambda r, _: (
                self.html("Bridge to close", PARAGRAPHS) if r == 0 else WResponse("", 302, {"Location": "/"})
            ),
            "etag": self.with_etag,
        }

    @staticmethod
    def html(title: str, paragraphs: list[str], meta: str = "") -> WResponse:
        return WResponse(page(title, paragraphs, meta), content_type="text/html; charset=utf-8")

    def with_etag(self, _: int, request: Request) -> WResponse:
        if request.headers.get("If-None-Match") == '"v1"':
            self.conditional += 1
            return WResponse(status=304, headers={"ETag": '"v1"'})
        response = self.html("Bridge to close", PARAGRAPHS)
        response.headers["ETag"] = '"v1"'
        return response

    def serve(self, server: HTTPServer) -> None:
        base = server.url_for("").rstrip("/")
        items = "".join(
            f"<item><title>Bridge {name}</title><link>{base}/local/2026/{name}</link><guid>{name}</guid>"
            "<pubDate>Mon, 02 Mar 2026 09:00:00 +0000</pubDate></item>"
            for name in self.behaviour
        )
        feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
        server.expect_request("/feed.xml").respond_with_data(feed, content_type="application/rss+xml")
        server.expect_request("/").respond_with_data(HOME, content_type="text/html; charset=utf-8")
        for name, answer in self.behaviour.items():
            server.expect_request(f"/local/2026/{name}").respond_with_handler(
                lambda request, answer=answer: answer(self.round, request)
            )


def run_once(config_path: Path, engine: Engine) -> None:
    config = load_config(config_path)
    upgrade(engine)
    asyncio.run(_run_once(config, engine, False))


def make_due(engine: Engine) -> None:
    """As if the time of every scheduled revisit had come."""
    with session_factory(engine).begin() as session:
        session.execute(
            update(Article)
            .where(Article.revisit_at.is_not(None))
            .values(revisit_at=utcnow() - timedelta(seconds=1))
        )


def by_name(engine: Engine) -> dict[str, tuple[Article, list[str], list[int]]]:
    with session_factory(engine)() as session:
        articles = list(session.scalars(select(Article)))
        changes = {
            a.id: [
                c.kind
                for c in session.scalars(
                    select(ArticleChange).where(ArticleChange.article_id == a.id).order_by(ArticleChange.id)
                )
            ]
            for a in articles
        }
        versions = {
            a.id: [
                v.number
                for v in session.scalars(
                    select(ArticleVersion)
                    .where(ArticleVersion.article_id == a.id)
                    .order_by(ArticleVersion.number)
                )
            ]
            for a in articles
        }
        session.expunge_all()
    return {a.url.rsplit("/", 1)[1]: (a, changes[a.id], versions[a.id]) for a in articles}


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    if request.param == "sqlite":
        return make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    return request.getfixturevalue("postgres_engine")


def test_revisits_record_what_a_person_would(httpserver: HTTPServer, tmp_path: Path, engine: Engine) -> None:
    site = Site()
    site.serve(httpserver)
    config = write_config(
        tmp_path,
        [{"name": "Local", "url": httpserver.url_for("/feed.xml")}],
        revisit={"after": ["1h", "1d", "7d", "30d"]},
    )
    run_once(config, engine)
    first = by_name(engine)
    assert all(a.status == "archived" and a.revisit_at is not None for a, _, _ in first.values())
    posts = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "_posts").iterdir()}
    for site.round in (1, 2, 3):
        make_due(engine)
        run_once(config, engine)

    found = by_name(engine)
    changes = {name: kinds for name, (_, kinds, _) in found.items()}
    assert changes == {
        "rewritten": ["edited"],
        "retitled": ["edited"],
        "counter": [],
        "removed": ["removed"],
        "restored": ["removed", "restored"],
        "outage": [],
        "home": ["removed"],
        "etag": [],
    }
    versions = {name: numbers for name, (_, _, numbers) in found.items()}
    assert versions == {name: [1, 2] if name in ("rewritten", "retitled") else [] for name in found}
    assert all(article.revisits == 3 for article, _, _ in found.values())
    removed, restored = found["removed"][0], found["restored"][0]
    assert removed.removal_confirmed_at is not None and removed.removal_suspected_at is not None
    assert restored.removal_confirmed_at is None and restored.restored_at is not None
    assert found["outage"][0].removal_suspected_at is None
    with session_factory(engine)() as session:
        details = dict(session.execute(select(ArticleChange.article_id, ArticleChange.detail)).all())
        texts = [
            v.content_text
            for v in session.scalars(
                select(ArticleVersion)
                .where(ArticleVersion.article_id == found["rewritten"][0].id)
                .order_by(ArticleVersion.number)
            )
        ]
        raw = session.scalars(select(ArticleVersion.body_zlib).where(ArticleVersion.number == 2)).all()
    assert "twenty minutes" in texts[0] and "almost an hour" in texts[1]
    assert all(body for body in raw)  # the raw page of each new version is kept
    assert "home page" in (details[found["home"][0].id] or "")
    assert site.conditional == 3  # every revisit of the page with an ETag cost a 304
    report = feed_status_report(engine)
    assert re.search(r"Local\s*│\s*24\s*│\s*2\s*│\s*2\s*│\s*0", report), (
        report
    )  # revisits, edits, removed, suspected
    metrics = Metrics()
    metrics.add_database(engine)
    exposed = generate_latest(metrics.registry).decode()
    assert 'scraper_revisits{feed="Local"} 24.0' in exposed
    assert 'scraper_edits{feed="Local"} 2.0' in exposed
    assert 'scraper_removed{feed="Local"} 2.0' in exposed
    # The posts keep what was first archived.
    assert {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "_posts").iterdir()} == posts


def test_latest_posts_marks_changes_feed_and_history(httpserver: HTTPServer, tmp_path: Path) -> None:
    """`revisions = "latest"` rewrites the post with the edit; the optional front-matter keys mark it; the
    changes feed and `scraper history` show the diff."""
    site = Site()
    site.serve(httpserver)
    config = write_config(tmp_path, [{"name": "Local", "url": httpserver.url_for("/feed.xml")}])
    export = 'revisions = "latest"\nfront_matter = ["revised", "removed"]\nchanges_feed = "changes.xml"\n'
    config.write_text(config.read_text().replace('dir = "_posts"\n', f'dir = "_posts"\n{export}', 1))
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    run_once(config, engine)
    for site.round in (1, 2):
        make_due(engine)
        run_once(config, engine)
    found = by_name(engine)
    posts = tmp_path / "_posts"
    rewritten = (posts / found["rewritten"][0].post_path).read_text(encoding="utf-8")
    assert "almost an hour" in rewritten and "twenty minutes" not in rewritten
    assert re.search(r"^revised: \{ count: 1, last: \S+Z \}$", rewritten, re.M)
    removed = (posts / found["removed"][0].post_path).read_text(encoding="utf-8")
    assert re.search(r"^removed: \S+Z$", removed, re.M) and "revised:" not in removed
    counter = (posts / found["counter"][0].post_path).read_text(encoding="utf-8")
    assert "revised:" not in counter and "removed:" not in counter
    front = yaml.safe_load(rewritten.split("---\n")[1])
    assert front["revised"]["count"] == 1

    feed = ElementTree.parse(posts / "changes.xml").getroot()
    atom = "{http://www.w3.org/2005/Atom}"
    entries = feed.findall(f"{atom}entry")
    titles = sorted(e.findtext(f"{atom}title") or "" for e in entries)
    assert [t.split(":")[0] for t in titles] == ["Edited", "Edited", "Removed", "Removed", "Removed"]
    contents = " ".join(e.findtext(f"{atom}content") or "" for e in entries)
    assert "<del>twenty minutes </del><ins>almost an hour </ins>" in contents
    assert "<del>Bridge to close</del>" in contents

    result = run_cli("history", "--config", str(config), found["rewritten"][0].url)
    assert result.exit_code == 0, result.output
    assert "[-twenty minutes-] {+almost an hour+}" in result.output
    assert "edited (version 2)" in result.output
    result = run_cli("history", "--config", str(config), str(found["retitled"][0].id), "--diff", "1", "2")
    assert "title: [-Bridge to close-] {+Bridge to close for a year+}" in result.output
    assert "(the text is the same)" in result.output
    missing = run_cli("history", "--config", str(config), "https://nowhere.example/x")
    assert missing.exit_code != 0 and "no article" in missing.output


def test_latest_posts_take_a_changed_title(httpserver: HTTPServer, tmp_path: Path) -> None:
    """`revisions = "latest"`: a post is titled by its feed entry first; when the page's headline changed,
    the post takes the new one (and an edit of the text alone keeps the entry's title)."""
    site = Site()
    site.serve(httpserver)
    config = write_config(tmp_path, [{"name": "Local", "url": httpserver.url_for("/feed.xml")}])
    config.write_text(
        config.read_text().replace('dir = "_posts"\n', 'dir = "_posts"\nrevisions = "latest"\n', 1)
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    run_once(config, engine)
    site.round = 1
    make_due(engine)
    run_once(config, engine)
    found = by_name(engine)
    posts = tmp_path / "_posts"
    front = {
        name: yaml.safe_load(
            (posts / (found[name][0].post_path or "")).read_text(encoding="utf-8").split("---\n")[1]
        )
        for name in ("retitled", "rewritten", "counter")
    }
    assert front["retitled"]["title"] == "Bridge to close for a year"
    assert front["rewritten"]["title"] == "Bridge rewritten"  # the text changed, not the headline
    assert front["counter"]["title"] == "Bridge counter"


def test_articles_with_the_feeds_body_are_revisited(httpserver: HTTPServer, tmp_path: Path) -> None:
    """A feed whose body is archived (`content = "feed"`): the page is still watched. The first page seen
    is the baseline (a summary feed's text is no earlier version of it), a later rewrite is an edit, a page
    taken down a removal; the post keeps the feed's body."""
    summary = "The council will close the old river bridge, engineers say, for overdue repairs this year."
    rounds = {"round": 0}

    def article(request: Request) -> WResponse:
        r = rounds["round"]
        paragraphs = PARAGRAPHS if r < 2 else [PARAGRAPHS[0], REWRITTEN, *PARAGRAPHS[2:]]
        return Site.html("Bridge to close", paragraphs)

    def gone(request: Request) -> WResponse:
        return Site.html("Bridge to close", PARAGRAPHS) if rounds["round"] == 0 else WResponse("no", 404)

    base = httpserver.url_for("").rstrip("/")
    items = "".join(
        f"<item><title>Bridge {name}</title><link>{base}/local/{name}</link><guid>{name}</guid>"
        f"<description>{summary}</description><pubDate>Mon, 02 Mar 2026 09:00:00 +0000</pubDate></item>"
        for name in ("kept", "gone")
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
    httpserver.expect_request("/feed.xml").respond_with_data(feed, content_type="application/rss+xml")
    httpserver.expect_request("/local/kept").respond_with_handler(article)
    httpserver.expect_request("/local/gone").respond_with_handler(gone)
    config = write_config(
        tmp_path, [{"name": "Local", "url": httpserver.url_for("/feed.xml"), "content": "feed"}]
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    run_once(config, engine)
    first = by_name(engine)
    assert all(a.content_source == "feed" and a.revisit_at is not None for a, _, _ in first.values())
    posts = {p.name: p.read_bytes() for p in (tmp_path / "_posts").iterdir()}
    for rounds["round"] in (1, 2, 3):
        make_due(engine)
        run_once(config, engine)
    found = by_name(engine)
    kept, kept_changes, kept_versions = found["kept"]
    assert kept_changes == ["edited"] and kept_versions == [1, 2]  # round 1: the baseline, no edit
    assert kept.content_text == summary  # the post keeps the feed's body
    assert found["gone"][1] == ["removed"] and found["gone"][2] == []  # 404 from the first revisit on
    result = run_cli("history", "--config", str(config), kept.url)
    assert "[-twenty minutes-] {+almost an hour+}" in result.output, result.output
    assert {p.name: p.read_bytes() for p in (tmp_path / "_posts").iterdir()} == posts


def test_articles_archived_before_revisits_get_one(httpserver: HTTPServer, tmp_path: Path) -> None:
    """An archive made before revisits existed (no revisit time) is given one when it is upgraded: its
    articles are revisited at the next run; those of a feed whose revisits are off are unscheduled without
    a fetch."""
    from alembic import command

    from scraper.store.db import alembic_config

    site = Site()
    site.serve(httpserver)
    feeds = [{"name": "Local", "url": httpserver.url_for("/feed.xml")}]
    config = write_config(tmp_path, feeds)
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    run_once(config, engine)
    with session_factory(engine).begin() as session:  # as 0006_issue_17 left the rows of an old archive
        session.execute(update(Article).values(revisit_at=None, revisits=0))
    command.downgrade(alembic_config(engine), "0006_issue_16")
    upgrade(engine)
    found = by_name(engine)
    assert all(a.revisit_at == a.archived_at for a, _, _ in found.values())
    site.round = 1
    run_once(config, engine)
    found = by_name(engine)
    assert all(a.revisits == 1 for a, _, _ in found.values())
    assert found["rewritten"][1] == ["edited"] and found["removed"][0].removal_suspected_at is not None

    with session_factory(engine).begin() as session:  # again, now with the feed's revisits off
        session.execute(update(Article).values(revisit_at=None, revisits=0))
    command.downgrade(alembic_config(engine), "0006_issue_16")
    upgrade(engine)
    off = write_config(tmp_path, [{**feeds[0], "revisit": "off"}])
    served = len(httpserver.log)
    run_once(off, engine)
    assert not [r for r, _ in httpserver.log[served:] if r.path.startswith("/local/")]
    assert all(a.revisit_at is None and a.revisits == 0 for a, _, _ in by_name(engine).values())


def test_a_page_whose_counter_moved_is_not_extracted_again(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A site without validators whose view counter moves on every request: the first revisit extracts
    it (and keeps the counters-masked fingerprint), the next ones know it unchanged from the bytes; a
    rewritten paragraph is extracted again."""
    from scraper.config import HttpConfig
    from scraper.extract import RuleBook, extractor
    from scraper.fetch import Fetcher
    from scraper.revisit import NOT_MODIFIED, PAGE, RevisitJob, revisit_article

    views = iter(range(1000, 2000, 7))
    text = {"paragraphs": PARAGRAPHS}
    httpserver.expect_request("/story").respond_with_handler(
        lambda _: Site.html("Bridge to close", text["paragraphs"], f"{next(views)} views")
    )
    extracted = []
    real_extract = extractor.extract  # imported by the revisit at the call, from its module
    monkeypatch.setattr(extractor, "extract", lambda *a, **k: extracted.append(1) or real_extract(*a, **k))

    async def visits() -> list[str]:
        seen, digest = [], None
        async with Fetcher(HttpConfig(allow_private_networks=True, respect_robots=False)) as fetcher:
            for round_ in range(4):
                if round_ == 3:
                    text["paragraphs"] = [PARAGRAPHS[0], REWRITTEN, *PARAGRAPHS[2:]]
                job = RevisitJob(1, httpserver.url_for("/story"), None, "Local", digest=digest)
                outcome = await revisit_article(job, fetcher, RuleBook.load())
                seen.append(outcome.seen)
                digest = outcome.digest or digest
        return seen

    assert asyncio.run(visits()) == [PAGE, NOT_MODIFIED, NOT_MODIFIED, PAGE]
    assert len(extracted) == 2  # the first visit and the rewrite


class FigureSite(Site):
    """Articles whose counters move on every visit beside figures of the article's own sentences: only a
    changed figure in a sentence is an edit, whatever the counters around it do."""

    def __init__(self) -> None:
        super().__init__()
        figure = "The plan was read {} times in council and shared by {} parishes before the vote."
        self.behaviour = {
            "figure": lambda r, _: self.html(
                "Bridge to close",
                [PARAGRAPHS[0], figure.format(3 if r < 2 else 30, 4), *PARAGRAPHS[1:]],
                f"{1204 + 311 * r} views · Shares: {40 + r}",
            ),
            "figure-zh": lambda r, _: self.html(
                "大桥将关闭",
                [PARAGRAPHS[0], f"据统计，该方案已有{3000 if r < 3 else 5000}人阅读过原文，引发广泛讨论。"],
                f"阅读 {1204 + 311 * r} · 评论 ({12 + r}) · {r + 1} 小时前",
            ),
            "counters-mixed": lambda r, _: self.html(
                "Bridge to close",
                PARAGRAPHS,
                f"By <a href='/jane'>Jane Doe</a> · <span>{r + 1}.2k</span> reads · 评论 ({12 + r}) | "
                f"<b>{100 + r}</b> likes",
            ),
        }


def test_a_sentences_figure_is_an_edit_and_a_counter_is_not(
    httpserver: HTTPServer, tmp_path: Path, engine: Engine
) -> None:
    site = FigureSite()
    site.serve(httpserver)
    config = write_config(
        tmp_path,
        [{"name": "Local", "url": httpserver.url_for("/feed.xml")}],
        revisit={"after": ["1h", "1d", "7d", "30d"]},
    )
    run_once(config, engine)
    for site.round in (1, 2, 3):
        make_due(engine)
        run_once(config, engine)
    found = by_name(engine)
    assert {name: kinds for name, (_, kinds, _) in found.items()} == {
        "figure": ["edited"],
        "figure-zh": ["edited"],
        "counters-mixed": [],
    }
    assert {name: numbers for name, (_, _, numbers) in found.items()} == {
        "figure": [1, 2],
        "figure-zh": [1, 2],
        "counters-mixed": [],
    }
    with session_factory(engine)() as session:
        texts = session.scalars(
            select(ArticleVersion.content_text)
            .where(ArticleVersion.article_id == found["figure"][0].id)
            .order_by(ArticleVersion.number)
        ).all()
    assert "read 3 times" in texts[0] and "read 30 times" in texts[1]
