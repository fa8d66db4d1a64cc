"""A new export target and a new work source are each one module registered in the composition root.

The toy target and the toy source below live in this test file and are registered from here (through
`scraper.compose.register_target` / `register_source`), with no change to any other module: the config
accepts the toy template, `scraper backfill` gets the toy source's option, the runner runs it, the work loop
archives what it queued and the writer writes the toy target's files, end to end against a local server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from scraper import compose
from scraper.backfill.frontier import Found, queue_found
from scraper.backfill.source import SourceOption, SourceRun, SourceValue, given_values
from scraper.config import ConfigError, parse_config
from scraper.export.target import ExportTarget, Post
from tests.conftest import run_cli, write_config
from tests.test_once import PARAGRAPHS, article_page

# --- the toy target: a plain-text file per article --------------------------------------------------------


def toy_render(post: Post) -> str:
    return f"{post.title}\n{post.url}\n\n{post.body_html.strip()}\n"


def toy_filename(post: Post, suffix: int = 1, tag: str = "") -> str:
    more = f"-{tag}" if tag else f"-{suffix}" if suffix > 1 else ""
    return f"{post.date:%Y%m%d}-{post.url.rsplit('/', 1)[-1]}{more}.toy.txt"


def toy_source_url(path: Path) -> str | None:
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[1] if len(lines) > 1 else None


TOY_TARGET = ExportTarget("toy", toy_render, toy_filename, toy_source_url)


# --- the toy source: a word names a page of one site ------------------------------------------------------


class ToySource:
    """`--toy-word WORD` (repeatable): the page /toy/WORD of the site in `site`."""

    option = SourceOption("--toy-word", "A word; its page on the toy site is archived.", metavar="WORD")
    queues = True
    site = ""

    async def run(self, given: SourceValue, run: SourceRun) -> None:
        report = run.start("toy words")
        report.documents_read = 1
        found = [Found(f"{self.site}/toy/{word}") for word in given_values(given)]
        with run.pipeline.sessions.begin() as session:
            queue_found(session, run.feed_id, found, run.filters, report)
        run.note(report)


@pytest.fixture
def registered() -> Iterator[ToySource]:
    """The toy target and source registered for one test; the tables as they were afterwards."""
    targets, sources = dict(compose.EXPORT_TARGETS), dict(compose.WORK_SOURCES)
    source = ToySource()
    compose.register_target(TOY_TARGET)
    compose.register_source(source)
    try:
        yield source
    finally:
        compose.EXPORT_TARGETS.clear()
        compose.EXPORT_TARGETS.update(targets)
        compose.WORK_SOURCES.clear()
        compose.WORK_SOURCES.update(sources)


def toy_config(folder: Path) -> Path:
    path = write_config(folder, [])
    text = path.read_text(encoding="utf-8").replace("[export]\n", '[export]\ntemplate = "toy"\n', 1)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_toy_source_and_a_toy_target_registered_from_a_test_run_end_to_end(
    registered: ToySource, httpserver: HTTPServer, tmp_path: Path
) -> None:
    registered.site = httpserver.url_for("").rstrip("/")
    for word in ("alpha", "beta"):
        httpserver.expect_request(f"/toy/{word}").respond_with_data(
            article_page(f"玩具 {word}", PARAGRAPHS), content_type="text/html; charset=utf-8"
        )
    config = toy_config(tmp_path)

    assert "--toy-word WORD" in run_cli("backfill", "--help").output
    result = run_cli("backfill", "--config", str(config), "--toy-word", "alpha", "--toy-word", "beta")
    assert result.exit_code == 0, result.output
    assert "toy words: read 1 documents (0 skipped); found 2 URLs, 0 filtered out, 2 queued" in result.output
    assert "archived 2" in result.output

    posts = {path.name: path.read_text(encoding="utf-8") for path in (tmp_path / "_posts").iterdir()}
    assert sorted(posts) == ["20210929-alpha.toy.txt", "20210929-beta.toy.txt"]  # no Jekyll post beside them
    alpha = posts["20210929-alpha.toy.txt"].splitlines()
    assert alpha[:2] == ["玩具 alpha", f"{registered.site}/toy/alpha"] and PARAGRAPHS[0][:20] in alpha[3]

    # The same command again: the source finds both known, nothing is fetched or rewritten.
    again = run_cli("backfill", "--config", str(config), "--toy-word", "alpha", "--toy-word", "beta")
    assert again.exit_code == 0 and "0 queued, 2 already known" in again.output
    assert len(httpserver.log) == 2
    # `scraper export` rewrites through the same target: the same bytes, so no file changes.
    export = run_cli("export", "--config", str(config))
    assert export.exit_code == 0, export.output
    assert {path.name: path.read_text(encoding="utf-8") for path in (tmp_path / "_posts").iterdir()} == posts


def test_without_the_registration_the_toy_option_and_template_do_not_exist(tmp_path: Path) -> None:
    config = toy_config(tmp_path)
    assert "--toy-word" not in run_cli("backfill", "--help").output
    result = run_cli("once", "--config", str(config))
    assert result.exit_code == 2
    assert "export.template: unknown template 'toy' (known: 'jekyll')" in result.output
    unknown = run_cli("backfill", "--config", str(config), "--toy-word", "alpha")
    assert unknown.exit_code == 2 and "--toy-word" in unknown.output


NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=20)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NAMES)
def test_the_config_allows_exactly_the_registered_target_names(name: str, tmp_path: Path) -> None:
    """Whatever a target is called, `[export] template` takes its name once it is registered and refuses
    it (naming the registered ones) when it is not: the config reads the composition root's table."""
    raw = {"export": {"template": name}}
    before = dict(compose.EXPORT_TARGETS)
    try:
        if name not in before:
            with pytest.raises(ConfigError, match=r"export\.template: unknown template"):
                parse_config(raw, tmp_path / "scraper.toml", {})
        compose.register_target(ExportTarget(name, toy_render, toy_filename))
        assert parse_config(raw, tmp_path / "scraper.toml", {}).export.template == name
        assert compose.new_writer(parse_config(raw, tmp_path / "scraper.toml", {})).target.name == name
    finally:
        compose.EXPORT_TARGETS.clear()
        compose.EXPORT_TARGETS.update(before)
