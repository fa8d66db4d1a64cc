"""The command line: `scraper once|backfill|import|status|export|db upgrade`, also `python -m scraper`.

Exit status (documented in the README): 0 all well; 1 some feed failed (the others were still done);
2 the configuration or the command line is wrong.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import click
from sqlalchemy import Engine

from scraper import __version__
from scraper.backfill.frontier import Filters, parse_day_or_time
from scraper.backfill.progress import make_progress
from scraper.backfill.runner import BackfillError, BackfillOptions, run_backfill
from scraper.config import Config, ConfigError, load_config
from scraper.export.writer import PostWriter, archived_ids, export_articles
from scraper.fetch import Fetcher
from scraper.importer import PostFormatError, feeds_toml, import_paths
from scraper.pipeline import Pipeline, RunSummary
from scraper.status import feed_status_report
from scraper.store.db import make_engine, session_factory, upgrade

EXIT_OK, EXIT_FEED_FAILED, EXIT_BAD_CONFIG, EXIT_INTERRUPTED = 0, 1, 2, 130

config_option = click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Config file (default: $SCRAPER_CONFIG, then ./scraper.toml).",
)


def _load(config_path: Path | None) -> Config:
    try:
        return load_config(config_path)
    except ConfigError as exc:
        _fail(f"config error: {exc}", EXIT_BAD_CONFIG)


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"scraper: {message}", err=True)
    sys.exit(code)


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = (
        logging.WARNING
        if quiet
        else (logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    )
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    if verbose < 2:
        logging.getLogger("httpx").setLevel(logging.WARNING)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="scraper")
@click.option("-v", "--verbose", count=True, help="More log lines (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Warnings and errors only.")
def cli(verbose: int, quiet: bool) -> None:
    """RSS-to-archive scraper: polls feeds, archives every article, exports Jekyll posts."""
    _setup_logging(verbose, quiet)


@cli.command()
@config_option
@click.option(
    "--due-only", is_flag=True, help="Poll only feeds whose interval is up (cron polls all by default)."
)
def once(config_path: Path | None, due_only: bool) -> None:
    """Poll every feed, archive every new article, write the posts, then exit (for cron)."""
    config = _load(config_path)
    engine = make_engine(config.database.url)
    try:
        upgrade(engine)
        summary = asyncio.run(_run_once(config, engine, due_only))
    finally:
        engine.dispose()
    click.echo(summary.line())
    click.echo(f"posts: {config.export.dir}")
    for error in summary.errors:
        click.echo(f"  {error}", err=True)
    sys.exit(EXIT_FEED_FAILED if summary.feeds_failed else EXIT_OK)


async def _run_once(config: Config, engine: Engine, due_only: bool) -> RunSummary:
    async with Fetcher(config.http) as fetcher:
        return await Pipeline(config, engine, fetcher).run_once(due_only=due_only)


def _date_option(end_of_day: bool) -> Callable[[click.Context, click.Parameter, str | None], datetime | None]:
    def convert(_ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
        if value is None:
            return None
        try:
            return parse_day_or_time(value, end_of_day=end_of_day)
        except ValueError:
            raise click.BadParameter(
                f"{value!r} is not a date (2021-09-29) or time (2021-09-29T14:00)"
            ) from None

    return convert


def _regex(_ctx: click.Context, _param: click.Parameter, value: str | None) -> re.Pattern[str] | None:
    try:
        return re.compile(value) if value else None
    except re.error as exc:
        raise click.BadParameter(f"not a regular expression: {exc}") from None


@cli.command()
@config_option
@click.option(
    "--sitemap", "sitemaps", multiple=True, metavar="URL", help="A sitemap, index, or site root (robots.txt)."
)
@click.option(
    "--feed-history", is_flag=True, help="Walk the feed's archives (RFC 5005) and pages back to --since."
)
@click.option(
    "--urls", "url_files", multiple=True, metavar="FILE", help="One URL per line; - reads standard input."
)
@click.option(
    "--reextract",
    is_flag=True,
    help="Extract the stored raw pages again (offline) and rewrite changed posts.",
)
@click.option(
    "--feed",
    "feed_name",
    metavar="NAME",
    help="Put the articles under this configured feed (name, rule, content).",
)
@click.option(
    "--since", callback=_date_option(False), metavar="DATE", help="Only URLs dated on or after this."
)
@click.option(
    "--until", callback=_date_option(True), metavar="DATE", help="Only URLs dated before the end of this day."
)
@click.option(
    "--match", callback=_regex, metavar="REGEX", help="Only URLs this regular expression finds a match in."
)
@click.option(
    "--per-host", type=click.IntRange(1), default=2, show_default=True, help="Requests in flight per host."
)
@click.option(
    "--concurrency",
    type=click.IntRange(1),
    default=None,
    help="Requests in flight in all (default: http.concurrency).",
)
@click.option(
    "--max-pages", type=click.IntRange(1), default=1000, show_default=True, help="Feed pages read per feed."
)
@click.option(
    "--rescan", is_flag=True, help="Read again the sitemaps and feed pages an earlier run has read."
)
def backfill(
    config_path: Path | None,
    sitemaps: tuple[str, ...],
    feed_history: bool,
    url_files: tuple[str, ...],
    reextract: bool,
    feed_name: str | None,
    since: datetime | None,
    until: datetime | None,
    match: re.Pattern[str] | None,
    per_host: int,
    concurrency: int | None,
    max_pages: int,
    rescan: bool,
) -> None:
    """Archive history: from sitemaps, a feed's archives and pages, URL lists; or re-extract stored pages.

    Sources combine. Found URLs join the queue (never one already archived, imported or seen), then are
    archived at most --per-host at a time per site, with a progress bar. Interrupted, the same command
    continues where it stopped.
    """
    if not (sitemaps or feed_history or url_files or reextract):
        _fail("backfill: give a source: --sitemap, --feed-history, --urls or --reextract", EXIT_BAD_CONFIG)
    config = _load(config_path)
    options = BackfillOptions(
        sitemaps=sitemaps,
        feed_history=feed_history,
        url_files=url_files,
        reextract=reextract,
        feed=feed_name,
        filters=Filters(since, until, match),
        per_host=per_host,
        concurrency=concurrency,
        rescan=rescan,
        max_pages=max_pages,
    )
    engine = make_engine(config.database.url)
    stdin = click.open_file("-", encoding="utf-8", errors="replace") if "-" in url_files else ()
    try:
        upgrade(engine)
        report = asyncio.run(run_backfill(config, engine, options, make_progress(), stdin=stdin))
    except BackfillError as exc:
        _fail(str(exc), EXIT_BAD_CONFIG)
    except KeyboardInterrupt:
        _fail("interrupted: run the same command again to continue where it stopped", EXIT_INTERRUPTED)
    finally:
        engine.dispose()
    for line in report.lines():
        click.echo(line)
    click.echo(f"posts: {config.export.dir}")
    for error in report.errors():
        click.echo(f"  {error}", err=True)
    sys.exit(EXIT_FEED_FAILED if report.failed else EXIT_OK)


@cli.command()
@config_option
def status(config_path: Path | None) -> None:
    """Per-feed health: articles archived and failed, last poll, last error, next poll."""
    config = _load(config_path)
    engine = make_engine(config.database.url)
    try:
        upgrade(engine)
        click.echo(feed_status_report(engine), nl=False)
    finally:
        engine.dispose()


@cli.command("export")
@config_option
def export_command(config_path: Path | None) -> None:
    """Rewrite every post from the database (after a template change, say); unchanged files are left alone."""
    config = _load(config_path)
    engine = make_engine(config.database.url)
    try:
        upgrade(engine)
        sessions = session_factory(engine)
        with sessions() as session:
            ids = archived_ids(session)
        written = export_articles(sessions, PostWriter(config.export.dir), ids)
    finally:
        engine.dispose()
    click.echo(f"rewrote {written} posts in {config.export.dir}")


@cli.command("import")
@config_option
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--feed",
    "feed_name",
    default=None,
    help="Put every imported post under this configured feed (default: the feed its categories name).",
)
def import_command(config_path: Path | None, paths: tuple[Path, ...], feed_name: str | None) -> None:
    """Read an existing archive: post folders or files, seen-URL lists (allurls.dat), feed lists (subs.json).

    Posts become archived articles (their files are never rewritten), listed URLs are never archived again,
    and feed lists are printed as [[feeds]] tables to add to the config.
    """
    config = _load(config_path)
    engine = make_engine(config.database.url)
    try:
        upgrade(engine)
        summary = import_paths(
            session_factory(engine), paths, config.export.dir, config.feeds, feed_name=feed_name
        )
    except PostFormatError as exc:
        _fail(str(exc), EXIT_BAD_CONFIG)
    finally:
        engine.dispose()
    if summary.feeds:
        click.echo(feeds_toml(summary.feeds, config.feeds), nl=False)
    click.echo(summary.line(), err=True)
    for error in summary.errors:
        click.echo(f"  {error}", err=True)
    sys.exit(EXIT_FEED_FAILED if summary.errors else EXIT_OK)


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@config_option
@click.option("--revision", default="head", show_default=True, help="Migrate to this revision.")
def db_upgrade(config_path: Path | None, revision: str) -> None:
    """Apply the schema migrations (every other command does this on start too)."""
    config = _load(config_path)
    engine = make_engine(config.database.url)
    try:
        upgrade(engine, revision)
    finally:
        engine.dispose()
    click.echo(f"database at {revision}: {engine.url.render_as_string(hide_password=True)}")


def main() -> None:
    cli(prog_name="scraper")
