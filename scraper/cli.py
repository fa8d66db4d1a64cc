"""The command line: `scraper run|once|backfill|import|status|export|extract|db upgrade|healthcheck`;
`python -m scraper`.

Exit status (documented in the README): 0 all well (also: `once` found another run holding the lock, or
`run` stopped on a signal); 1 some feed failed (the others were still done), or `run` could not start;
2 the configuration or the command line is wrong; 128 + N: `run` got a second signal N and exited at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
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
from scraper.compose import database, node
from scraper.config import (
    Config,
    ConfigError,
    HttpConfig,
    find_config_path,
    load_config,
    parse_config,
    parse_listen,
)
from scraper.errors import LockHeldError
from scraper.export.writer import PostWriter, export_articles
from scraper.extract import RuleBook, RuleError, extract
from scraper.fetch import Fetcher, FetchError
from scraper.history import history_report
from scraper.importer import PostFormatError, feeds_toml, import_paths
from scraper.logs import LOG_FORMATS, setup_logging
from scraper.pipeline import RunSummary
from scraper.status import feed_status_report
from scraper.store.db import session_factory
from scraper.store.posts import archived_ids

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
        config = load_config(config_path)
        RuleBook.load(config.rules)  # a broken [[rules]] table is a config error, found before any work
    except (ConfigError, RuleError) as exc:
        _fail(f"config error: {exc}", EXIT_BAD_CONFIG)
    return config


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"scraper: {message}", err=True)
    sys.exit(code)


def _log_level(verbose: int, quiet: bool, default: int = logging.WARNING) -> int:
    if quiet:
        return logging.WARNING
    return logging.DEBUG if verbose > 1 else logging.INFO if verbose else default


log_format_option = click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    default="text",
    show_default=True,
    envvar="SCRAPER_LOG_FORMAT",
    help="Log lines for people (text) or for a log collector (json, one object a line). "
    "Env: SCRAPER_LOG_FORMAT.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="scraper")
@click.option("-v", "--verbose", count=True, help="More log lines (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Warnings and errors only.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """RSS-to-archive scraper: polls feeds, archives every article, exports Jekyll posts."""
    ctx.obj = {"verbose": verbose, "quiet": quiet}
    setup_logging(_log_level(verbose, quiet))


@cli.command()
@config_option
@log_format_option
@click.pass_context
def run(ctx: click.Context, config_path: Path | None, log_format: str) -> None:
    """The daemon: poll feeds as they fall due, archive, write posts; stop cleanly on SIGTERM/SIGINT.

    Logs at info level by default (-q: warnings only). SIGHUP, or a change to the config file, reloads the
    feed list. Health and metrics on [daemon] listen: /healthz, /metrics.
    """
    from scraper.daemon import Daemon

    setup_logging(_log_level(ctx.obj["verbose"], ctx.obj["quiet"], logging.INFO), log_format)
    config = _load(config_path)
    try:
        code = Daemon(config).serve()
    except LockHeldError as exc:
        _fail(f"{exc}: is a daemon or cron run already working on this archive?", EXIT_FEED_FAILED)
    except Exception as exc:  # the database or the listen address: nothing could start
        logging.getLogger("scraper.daemon").debug("start failed", exc_info=True)
        _fail(f"cannot start: {type(exc).__name__}: {exc}", EXIT_FEED_FAILED)
    sys.exit(code)


@cli.command()
@config_option
@click.option(
    "--due-only", is_flag=True, help="Poll only feeds whose interval is up (cron polls all by default)."
)
@log_format_option
@click.pass_context
def once(ctx: click.Context, config_path: Path | None, due_only: bool, log_format: str) -> None:
    """Poll every feed, archive every new article, write the posts, then exit (for cron).

    Takes the archive's run lock first: when another run holds it, says so and exits 0.
    """
    setup_logging(_log_level(ctx.obj["verbose"], ctx.obj["quiet"]), log_format)
    config = _load(config_path)
    try:
        with database(config, lock=True) as engine:
            summary = asyncio.run(_run_once(config, engine, due_only))
    except LockHeldError as exc:
        click.echo(f"scraper: {exc}; this run does nothing (the other one is doing the work)", err=True)
        sys.exit(EXIT_OK)
    click.echo(summary.line())
    click.echo(f"posts: {config.export.dir}")
    for error in summary.errors:
        click.echo(f"  {error}", err=True)
    sys.exit(EXIT_FEED_FAILED if summary.feeds_failed else EXIT_OK)


async def _run_once(config: Config, engine: Engine, due_only: bool) -> RunSummary:
    """One run, as a node: it claims what it does, so it may run beside daemons on one PostgreSQL."""
    async with node(config, engine, "once") as pipeline:
        return await pipeline.run_once(due_only=due_only)


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
    "--per-host",
    type=click.IntRange(1),
    default=None,
    help="Requests in flight per host (default: http.per_host_concurrency).",
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
    per_host: int | None,
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
    stdin = click.open_file("-", encoding="utf-8", errors="replace") if "-" in url_files else ()
    try:
        # SQLite: one process works on an archive at a time. PostgreSQL: backfills on several machines
        # share the queue through their claims, beside the daemons.
        with database(config, lock=True, advisory=False) as engine:
            report = asyncio.run(run_backfill(config, engine, options, make_progress(), stdin=stdin))
    except LockHeldError as exc:
        _fail(
            f"{exc}: a daemon or cron run is working on this archive; backfill when it is done",
            EXIT_FEED_FAILED,
        )
    except BackfillError as exc:
        _fail(str(exc), EXIT_BAD_CONFIG)
    except KeyboardInterrupt:
        _fail("interrupted: run the same command again to continue where it stopped", EXIT_INTERRUPTED)
    for line in report.lines():
        click.echo(line)
    click.echo(f"posts: {config.export.dir}")
    for error in report.errors():
        click.echo(f"  {error}", err=True)
    sys.exit(EXIT_FEED_FAILED if report.failed else EXIT_OK)


@cli.command()
@config_option
def status(config_path: Path | None) -> None:
    """Per-feed health: articles, last poll and success, failures in a row, broken, next poll, last error;
    then the nodes seen in the last day and what each holds."""
    config = _load(config_path)
    with database(config) as engine:
        intervals = {feed.url: feed.interval for feed in config.feeds}
        report = feed_status_report(engine, intervals=intervals, lease_seconds=config.cluster.lease_seconds)
        click.echo(report, nl=False)


@cli.command()
@config_option
@click.argument("key", metavar="ID|URL")
@click.option(
    "--diff",
    "pair",
    nargs=2,
    type=int,
    default=None,
    help="The two versions to compare (default: each with the one before).",
)
def history(config_path: Path | None, key: str, pair: tuple[int, int] | None) -> None:
    """An article's versions, its edits and removals, and a word-level diff (character-level for Chinese
    and Japanese) between versions."""
    config = _load(config_path)
    with database(config) as engine, session_factory(engine)() as session:
        try:
            click.echo(history_report(session, key, pair), nl=False)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None


@cli.command("export")
@config_option
def export_command(config_path: Path | None) -> None:
    """Rewrite every post from the database (after a template change, say); unchanged files are left alone."""
    config = _load(config_path)
    with database(config) as engine:
        sessions = session_factory(engine)
        with sessions() as session:
            ids = archived_ids(session)
        written = export_articles(sessions, PostWriter(config.export.dir, config.export.front_matter), ids)
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
    try:
        with database(config, lock=True) as engine:
            summary = import_paths(
                session_factory(engine), paths, config.export.dir, config.feeds, feed_name=feed_name
            )
    except LockHeldError as exc:
        _fail(
            f"{exc}: a daemon or cron run is working on this archive; import when it is done",
            EXIT_FEED_FAILED,
        )
    except PostFormatError as exc:
        _fail(str(exc), EXIT_BAD_CONFIG)
    if summary.feeds:
        click.echo(feeds_toml(summary.feeds, config.feeds), nl=False)
    click.echo(summary.line(), err=True)
    for error in summary.errors:
        click.echo(f"  {error}", err=True)
    sys.exit(EXIT_FEED_FAILED if summary.errors else EXIT_OK)


@cli.command("extract")
@click.argument("source")
@click.option("--url", help="The page's address, for a saved file (resolves links, picks the site rule).")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["html", "text", "json"]),
    default="text",
    show_default=True,
)
@click.option("--selector", help="Try a body selector (as a feed's `selector` would).")
@click.option("--remove", multiple=True, help="Try a selector to drop (repeatable, as a feed's `remove`).")
@config_option
def extract_command(
    source: str,
    url: str | None,
    output_format: str,
    selector: str | None,
    remove: tuple[str, ...],
    config_path: Path | None,
) -> None:
    """Extract one page (a file or a URL) and print the record: for trying a rule on one page."""
    config = _optional_config(config_path)
    page: str | bytes
    if source.startswith(("http://", "https://")):
        page, final_url = asyncio.run(_download(source, config.http))
    else:
        try:
            page, final_url = Path(source).read_bytes(), Path(source).resolve().as_uri()
        except OSError as exc:
            _fail(f"cannot read {source}: {exc.strerror or exc}", EXIT_BAD_CONFIG)
    page_url = url or final_url
    rules = RuleBook.load(config.rules)
    record = extract(page, page_url, rules.for_url(page_url, selector, remove))
    if output_format == "html":
        click.echo(record.html)
    elif output_format == "text":
        click.echo(record.text)
    else:
        fields = dataclasses.asdict(record)
        fields["published"] = record.published.isoformat() if record.published else None
        fields["url"] = page_url
        click.echo(json.dumps(fields, ensure_ascii=False, indent=2))


def _optional_config(config_path: Path | None) -> Config:
    """The config if one is given or found (for user rules and HTTP settings); without one, the defaults
    and the environment's `SCRAPER_*` overrides."""
    if config_path is None and not find_config_path(None, os.environ).exists():
        try:
            return parse_config({}, None, os.environ)
        except ConfigError as exc:
            _fail(f"config error: {exc}", EXIT_BAD_CONFIG)
    return _load(config_path)


async def _download(url: str, http: HttpConfig) -> tuple[str, str]:
    async with Fetcher(http) as fetcher:
        try:
            response = await fetcher.get(url)
        except FetchError as exc:
            _fail(f"cannot fetch {url}: {exc.reason}", EXIT_FEED_FAILED)
    if not response.ok:
        _fail(f"cannot fetch {url}: HTTP {response.status}", EXIT_FEED_FAILED)
    text, _charset = response.text()  # the header's charset first, as for archived pages
    return text, response.final_url


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@config_option
@click.option("--revision", default="head", show_default=True, help="Migrate to this revision.")
def db_upgrade(config_path: Path | None, revision: str) -> None:
    """Apply the schema migrations (every other command does this on start too)."""
    config = _load(config_path)
    with database(config, revision=revision) as engine:
        pass
    click.echo(f"database at {revision}: {engine.url.render_as_string(hide_password=True)}")


@cli.command()
@config_option
@click.option("--timeout", default=5.0, show_default=True, help="Seconds to wait for the answer.")
def healthcheck(config_path: Path | None, timeout: float) -> None:
    """Ask a running daemon's /healthz (at [daemon] listen); exit 0 if healthy, 1 if not (for HEALTHCHECK)."""
    import httpx

    config = _load(config_path)
    if not config.daemon.listen:
        _fail("[daemon] listen is empty: the daemon has no health listener to ask", EXIT_BAD_CONFIG)
    host, port = parse_listen(config.daemon.listen)
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    url = f"http://[{host}]:{port}/healthz" if ":" in host else f"http://{host}:{port}/healthz"
    try:
        response = httpx.get(url, timeout=timeout, trust_env=False)
    except httpx.HTTPError as exc:
        _fail(f"{url}: no answer: {type(exc).__name__}: {exc}", EXIT_FEED_FAILED)
    click.echo(response.text)
    sys.exit(EXIT_OK if response.status_code == 200 else EXIT_FEED_FAILED)


def main() -> None:
    cli(prog_name="scraper")
