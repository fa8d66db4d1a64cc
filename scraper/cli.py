"""The command line: `scraper once|backfill|import|status|export|db upgrade`, also `python -m scraper`.

Exit status (documented in the README): 0 all well; 1 some feed failed (the others were still done);
2 the configuration or the command line is wrong.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import NoReturn

import click
from sqlalchemy import Engine

from scraper import __version__
from scraper.config import Config, ConfigError, load_config
from scraper.export.writer import PostWriter, archived_ids, export_articles
from scraper.fetch import Fetcher
from scraper.importer import PostFormatError, feeds_toml, import_paths
from scraper.pipeline import Pipeline, RunSummary
from scraper.status import feed_status_report
from scraper.store.db import make_engine, session_factory, upgrade

EXIT_OK, EXIT_FEED_FAILED, EXIT_BAD_CONFIG = 0, 1, 2

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
