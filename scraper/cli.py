"""The command line: `scraper run|once|backfill|import|status|export|extract|db upgrade|healthcheck`;
`python -m scraper`.

Exit status (documented in the README): 0 all well (also: `once` found another run holding the lock, or
`run` stopped on a signal); 1 some feed failed (the others were still done), or `run` could not start;
2 the configuration or the command line is wrong; 128 + N: `run` got a second signal N and exited at once.
"""

from __future__ import annotations

import gc
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from scraper import __version__
from scraper.logs import LOG_FORMATS, setup_logging

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from scraper.backfill.progress import Progress
    from scraper.backfill.runner import BackfillOptions, BackfillReport
    from scraper.backfill.source import SourceValue
    from scraper.capture.export import PageFilter
    from scraper.config import Config, HttpConfig
    from scraper.due import PollTiming
    from scraper.summary import RunSummary

# Every command imports what it needs inside its function, and nothing here imports the database layer,
# the fetcher, the extractor or the exporter at module level: `scraper --version` and `scraper --help` pay
# for click alone, `status` for the database alone (tests/test_cli.py holds this, by sys.modules).

EXIT_OK, EXIT_FEED_FAILED, EXIT_BAD_CONFIG, EXIT_INTERRUPTED = 0, 1, 2, 130


def _remember(ctx: click.Context, param: click.Parameter, value: object) -> object:
    """Options given before or after the subcommand land in one place (the root context's obj), so
    `scraper -q once` and `scraper once -q` mean the same."""
    obj = ctx.find_root().ensure_object(dict)
    if param.name == "verbose":
        obj["verbose"] = obj.get("verbose", 0) + int(value or 0)  # type: ignore[call-overload]
    elif param.name == "quiet":
        obj["quiet"] = bool(obj.get("quiet") or value)
    elif value is not None and param.name == "log_format":
        # The command line wins over $SCRAPER_LOG_FORMAT, whichever side of the subcommand it is on.
        obj["log_format_env" if _from_env(ctx, param) else "log_format"] = value
    elif value is not None and param.name == "config_path":
        obj["config_path"] = value
    return value


def _from_env(ctx: click.Context, param: click.Parameter) -> bool:
    return ctx.get_parameter_source(param.name or "") is click.core.ParameterSource.ENVIRONMENT


def _global_options() -> Callable[[Callable[..., None]], Callable[..., None]]:
    """-v, -q, --log-format and --config on a command: accepted after the subcommand as before it."""

    def decorate(function: Callable[..., None]) -> Callable[..., None]:
        function = click.option(
            "-v", "--verbose", count=True, expose_value=False, callback=_remember, help="More log lines."
        )(function)
        function = click.option(
            "-q",
            "--quiet",
            is_flag=True,
            expose_value=False,
            callback=_remember,
            help="Warnings and errors only; nothing on standard output when all is well.",
        )(function)
        function = click.option(
            "--log-format",
            type=click.Choice(LOG_FORMATS),
            default=None,
            envvar="SCRAPER_LOG_FORMAT",
            expose_value=False,
            callback=_remember,
            help="Log lines for people (text, the default) or for a log collector (json, one object a "
            "line). Env: SCRAPER_LOG_FORMAT.",
        )(function)
        return click.option(
            "--config",
            "-c",
            "config_path",
            type=click.Path(path_type=Path),  # a folder is refused by load_config, in one line
            default=None,
            callback=_remember,
            help="Config file (default: $SCRAPER_CONFIG, then ./scraper.toml).",
        )(function)

    return decorate


def _options() -> dict[str, object]:
    return click.get_current_context().find_root().ensure_object(dict)


def _quiet() -> bool:
    return bool(_options().get("quiet"))


def _say(line: str) -> None:
    """A result line on standard output, unless -q asked for silence when all is well."""
    if not _quiet():
        click.echo(line)


def _start_logging(default: int = logging.WARNING) -> None:
    """Log at the level -v/-q ask (wherever they were given), in the --log-format asked."""
    options = _options()
    verbose = int(options.get("verbose", 0))  # type: ignore[call-overload]
    log_format = options.get("log_format") or options.get("log_format_env") or "text"
    setup_logging(_log_level(verbose, _quiet(), default), str(log_format))


def _config_path(given: Path | None) -> Path | None:
    """--config after the subcommand, else before it."""
    remembered = _options().get("config_path")
    return given or (remembered if isinstance(remembered, Path) else None)


def _load(config_path: Path | None) -> Config:
    from scraper.config import ConfigError, load_config
    from scraper.extract.rules import RuleError, user_rules

    try:
        config = load_config(_config_path(config_path))
        user_rules(config.rules)  # a broken [[rules]] table is a config error, found before any work
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


@contextmanager
def _database(
    config: Config, *, lock: bool = False, advisory: bool = True, revision: str = "head"
) -> Iterator[Engine]:
    """The archive opened by the composition root (scraper.compose.database: migrated, under the run lock
    if `lock`, disposed after); a database that cannot be reached or used is one line and exit 1, not a
    traceback (a config error caught later, such as a missing driver, is exit 2). LockHeldError passes."""
    from sqlalchemy.exc import ArgumentError

    from scraper.compose import database
    from scraper.diagnose import database_error

    try:
        opening = database(config, lock=lock, advisory=advisory, revision=revision)
    except (ArgumentError, ImportError) as exc:
        _fail(f"config error: database.url: {exc}", EXIT_BAD_CONFIG)
    try:
        with opening as engine:
            yield engine
    except _database_errors() as exc:
        logging.getLogger("scraper.cli").debug("database error", exc_info=True)
        _fail(database_error(config.database.url, exc), EXIT_FEED_FAILED)


def _database_errors() -> tuple[type[Exception], ...]:
    """What a database that cannot be reached or used raises (imported when an error is being caught, so
    a command that opens no database does not load SQLAlchemy for its except clauses)."""
    from sqlalchemy.exc import DatabaseError, InterfaceError, OperationalError

    from scraper.errors import SchemaRevisionError, StoredValueError

    return (OperationalError, InterfaceError, DatabaseError, SchemaRevisionError, StoredValueError)


# The signals that stopped this command, for its last line and exit status (128 + N).
_INTERRUPTED: list[int] = []


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM (systemd, a CI timeout) and SIGHUP (a closed terminal) stop a command as Ctrl-C does,
    unwinding it (the run lock released, what was archived committed) and saying so, instead of the default
    action's silent death; the daemon installs its own handlers over these. Restored after, so an embedding
    process (the tests' runner) keeps its own."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, _frame: object) -> None:
        _INTERRUPTED.append(signum)
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, interrupt) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class _OneLineErrors(click.Group):
    """The root command: a command-line mistake is one `scraper: ...` line naming the option and where the
    help is, exit 2, like every other error of the program (click's own is four lines: usage, hint, a blank
    line, the error), so a cron mail or a log collector gets the same shape whatever went wrong."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        with _signals_interrupt():
            return self._main_one_line(args, prog_name, complete_var, **extra)

    def _main_one_line(
        self, args: Sequence[str] | None, prog_name: str | None, complete_var: str | None, **extra: Any
    ) -> Any:
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # `scraper`, `scraper db` alone: the help itself
                exc.show()
                sys.exit(exc.exit_code)
            where = exc.ctx.command_path if exc.ctx else prog_name or "scraper"
            _fail(f"{exc.format_message()} (see {where} --help)", exc.exit_code)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        except click.Abort:
            name = signal.Signals(_INTERRUPTED[-1]).name if _INTERRUPTED else "SIGINT"
            _fail(
                f"interrupted by {name}: what was archived is kept, the rest stays pending for the next run",
                128 + (_INTERRUPTED[-1] if _INTERRUPTED else signal.SIGINT),
            )
        sys.exit(result if isinstance(result, int) else EXIT_OK)


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="scraper")
@_global_options()
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """RSS-to-archive scraper: polls feeds, archives every article, exports Jekyll posts.

    -v, -q, --log-format and --config may be given before the subcommand or after it.
    """
    _start_logging()


@cli.command()
@_global_options()
def run(config_path: Path | None) -> None:
    """The daemon: poll feeds as they fall due, archive, write posts; stop cleanly on SIGTERM/SIGINT.

    Logs at info level by default (-q: warnings only). SIGHUP, or a change to the config file, reloads the
    feed list. Health and metrics on [daemon] listen: /healthz, /metrics.
    """
    from scraper.daemon import Daemon
    from scraper.diagnose import database_error
    from scraper.errors import LockHeldError

    _start_logging(logging.INFO)
    config = _load(config_path)
    _started()
    try:
        code = Daemon(config).serve()
    except LockHeldError as exc:
        _fail(f"{exc}: is a daemon or cron run already working on this archive?", EXIT_FEED_FAILED)
    except _database_errors() as exc:
        logging.getLogger("scraper.daemon").debug("start failed", exc_info=True)
        _fail(f"cannot start: {database_error(config.database.url, exc)}", EXIT_FEED_FAILED)
    except Exception as exc:  # the listen address: nothing could start
        logging.getLogger("scraper.daemon").debug("start failed", exc_info=True)
        _fail(f"cannot start: {type(exc).__name__}: {exc}", EXIT_FEED_FAILED)
    sys.exit(code)


@cli.command()
@_global_options()
@click.option(
    "--due-only", is_flag=True, help="Poll only feeds whose interval is up (cron polls all by default)."
)
@click.option(
    "--force",
    is_flag=True,
    help="Poll every enabled feed now, whatever backoff, Retry-After, <ttl> or skipHours say.",
)
def once(config_path: Path | None, due_only: bool, force: bool) -> None:
    """Poll every feed, archive every new article, write the posts, then exit (for cron).

    Feeds not polled (backoff after failures, the server's Retry-After, its <ttl> or skipHours) are listed
    with when and why. Takes the archive's run lock first: when another run holds it, says so and exits 0.
    With -q nothing is printed when all is well.
    """
    import asyncio

    from scraper.diagnose import export_dir_problem
    from scraper.due import describe
    from scraper.errors import LockHeldError
    from scraper.store.posts import posts_waiting

    _start_logging()
    config = _load(config_path)
    quiet = _quiet()
    _warn_export_dir(config)
    try:
        with _database(config, lock=True) as engine:
            run = asyncio.run(_run_once(config, engine, due_only, force))
            # Posts this run could not write (other nodes' posts in flight are not this run's trouble).
            unwritable, waiting = run.export_failure or export_dir_problem(config.export.dir), 0
            if unwritable:
                with engine.connect() as connection:
                    waiting = posts_waiting(connection)
    except LockHeldError as exc:
        if not quiet:
            click.echo(f"scraper: {exc}; this run does nothing (the other one is doing the work)", err=True)
        sys.exit(EXIT_OK)
    summary = run.summary
    failed = bool(summary.feeds_failed or unwritable)
    out = not quiet or failed  # -q: nothing when all is well (cron mails nothing)
    if out:
        click.echo(summary.line(), err=quiet)
        if not quiet:
            click.echo(f"posts: {config.export.dir}")
            for name, timing in run.skipped:
                click.echo(f"  skipped {name}: {describe(timing, run.started)}")
    for error in summary.errors:
        click.echo(f"  {error}", err=True)
    _say_unwritten(config, unwritable, waiting)
    sys.exit(EXIT_FEED_FAILED if failed else EXIT_OK)


@dataclass(frozen=True)
class _OnceRun:
    summary: RunSummary
    skipped: list[tuple[str, PollTiming]]
    started: datetime
    export_failure: str | None


async def _run_once(config: Config, engine: Engine, due_only: bool, force: bool = False) -> _OnceRun:
    """One run, as a node: it claims what it does, so it may run beside daemons on one PostgreSQL."""
    from scraper.compose import node
    from scraper.due import describe
    from scraper.status import skipped_feeds

    async with node(config, engine, "once") as pipeline:
        _started()
        pipeline.sync_feeds()  # a changed config first, so what is skipped is what this run skips
        started = pipeline.clock()
        skipped = [] if force else skipped_feeds(engine, started, due_only=due_only)
        for name, timing in skipped:
            logging.getLogger("scraper.once").info("feed %s: skipped, %s", name, describe(timing, started))
        summary = await pipeline.run_once(due_only=due_only, force=force, synced=True)
        return _OnceRun(summary, skipped, started, pipeline.export_failure)


class _FinalSummaryOnly:
    """The backfill's progress bar (or lines) on standard error, without the per-source lines the
    final summary prints on standard output anyway; with -q (`inner` None), nothing."""

    def __init__(self, inner: Progress | None) -> None:
        self.inner = inner

    def note(self, line: str) -> None:
        pass

    def start(self, label: str, total: int) -> None:
        if self.inner:
            self.inner.start(label, total)

    def advance(self, failed: bool) -> None:
        if self.inner:
            self.inner.advance(failed)

    def finish(self) -> None:
        if self.inner:
            self.inner.finish()


def _date_option(end_of_day: bool) -> Callable[[click.Context, click.Parameter, str | None], datetime | None]:
    def convert(_ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
        from scraper.backfill.frontier import parse_day_or_time

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


class _BackfillCommand(click.Command):
    """`scraper backfill`, with one option per registered work source (scraper.compose.WORK_SOURCES) made
    when the command runs, so that the command names no source and a source registered after this module
    was imported still gets its option."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        at = next((i for i, param in enumerate(params) if param.name == "feed_name"), 0)
        return [*params[:at], *_source_options(), *params[at:]]


def _source_options() -> list[click.Parameter]:
    """A repeatable `--flag VALUE` for a source with a metavar, an on/off `--flag` for the others; each
    passed to the command under the source's key."""
    from scraper.compose import work_sources

    options: list[click.Parameter] = []
    for key, source in work_sources().items():
        option = source.option
        if option.metavar:
            options.append(
                click.Option([option.flag, key], multiple=True, metavar=option.metavar, help=option.help)
            )
        else:
            options.append(click.Option([option.flag, key], is_flag=True, help=option.help))
    return options


def _source_flags() -> str:
    """`--sitemap, --feed-history, --urls or --reextract`: the registered sources' options."""
    from scraper.compose import work_sources

    flags = [source.option.flag for source in work_sources().values()]
    return " or ".join([", ".join(flags[:-1]), flags[-1]] if len(flags) > 1 else flags)


@cli.command(cls=_BackfillCommand)
@_global_options()
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
    feed_name: str | None,
    since: datetime | None,
    until: datetime | None,
    match: re.Pattern[str] | None,
    per_host: int | None,
    concurrency: int | None,
    max_pages: int,
    rescan: bool,
    **sources: SourceValue,
) -> None:
    """Archive history: from sitemaps, a feed's archives and pages, URL lists; or re-extract stored pages.

    Sources combine. Found URLs join the queue (never one already archived, imported or seen), then are
    archived at most --per-host at a time per site, with a progress bar. Interrupted, the same command
    continues where it stopped.
    """
    from scraper.backfill.frontier import Filters
    from scraper.backfill.runner import BackfillOptions

    if not any(sources.values()):
        _fail(f"backfill: give a source: {_source_flags()}", EXIT_BAD_CONFIG)
    _start_logging()
    config = _load(config_path)
    options = BackfillOptions(
        sources=sources,
        feed=feed_name,
        filters=Filters(since, until, match),
        per_host=per_host,
        concurrency=concurrency,
        rescan=rescan,
        max_pages=max_pages,
    )
    _warn_export_dir(config)
    _run_backfill(config, options)


def _run_backfill(config: Config, options: BackfillOptions) -> NoReturn:
    """The backfill itself, under the run lock, then its summary and exit status."""
    import asyncio

    from scraper.backfill.progress import make_progress
    from scraper.backfill.runner import BackfillError, run_backfill
    from scraper.diagnose import export_dir_problem
    from scraper.errors import LockHeldError
    from scraper.store.posts import posts_waiting

    def stdin() -> Iterable[str]:
        return click.open_file("-", encoding="utf-8", errors="replace")

    try:
        # SQLite: one process works on an archive at a time. PostgreSQL: backfills on several machines
        # share the queue through their claims, beside the daemons.
        with _database(config, lock=True, advisory=False) as engine:
            _started()
            progress = _FinalSummaryOnly(None if _quiet() else make_progress())
            report = asyncio.run(run_backfill(config, engine, options, progress, stdin=stdin))
            unwritable, waiting = export_dir_problem(config.export.dir), 0  # (its failed writes are logged)
            if unwritable:
                with engine.connect() as connection:
                    waiting = posts_waiting(connection)
    except LockHeldError as exc:
        _fail(
            f"{exc}: a daemon or cron run is working on this archive; backfill when it is done",
            EXIT_FEED_FAILED,
        )
    except BackfillError as exc:
        _fail(str(exc), EXIT_BAD_CONFIG)
    except KeyboardInterrupt:
        _fail("interrupted: run the same command again to continue where it stopped", EXIT_INTERRUPTED)
    _finish_backfill(config, report, unwritable, waiting)


def _finish_backfill(
    config: Config, report: BackfillReport, unwritable: str | None, waiting: int
) -> NoReturn:
    """The backfill's summary (-q: only on trouble), its errors, and its exit status."""
    failed = bool(report.failed or unwritable)
    if not _quiet() or failed:
        for line in report.lines():
            click.echo(line, err=_quiet())
        if not _quiet():
            click.echo(f"posts: {config.export.dir}")
    for error in report.errors():
        click.echo(f"  {error}", err=True)
    _say_unwritten(config, unwritable, waiting)
    sys.exit(EXIT_FEED_FAILED if failed else EXIT_OK)


def _warn_export_dir(config: Config) -> None:
    """Say at once when posts cannot be written: the run still archives, and the posts wait in the
    database until the folder takes them."""
    from scraper.diagnose import EXPORT_DIR_FIX, export_dir_problem

    problem = export_dir_problem(config.export.dir)
    if problem:
        click.echo(f"scraper: {problem}; {EXPORT_DIR_FIX}", err=True)


def _say_unwritten(config: Config, unwritable: str | None, waiting: int) -> None:
    """Posts a run could not write: how many, why, and the fix (they are written by a later run)."""
    from scraper.diagnose import EXPORT_DIR_FIX

    if unwritable:
        click.echo(
            f"scraper: {waiting} posts not written to {config.export.dir}: {unwritable}; {EXPORT_DIR_FIX}",
            err=True,
        )


@cli.command()
@_global_options()
def status(config_path: Path | None) -> None:
    """Per-feed health: articles, last poll and success, failures in a row, broken, next poll, last error;
    then the nodes seen in the last day and what each holds."""
    from scraper.status import feed_status_report

    _start_logging()
    config = _load(config_path)
    with _database(config) as engine:
        _started()
        intervals = {feed.url: feed.interval for feed in config.feeds}
        report = feed_status_report(engine, intervals=intervals, lease_seconds=config.cluster.lease_seconds)
    click.echo(report, nl=False)


@cli.command()
@_global_options()
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
    from scraper.config import ConfigError
    from scraper.history import history_report
    from scraper.store.db import session_factory

    _start_logging()
    config = _load(config_path)
    with _database(config) as engine, session_factory(engine)() as session:
        _started()
        try:
            report = history_report(session, key, pair)
        except ConfigError as exc:  # no such article or version
            _fail(str(exc), EXIT_FEED_FAILED)
    click.echo(report, nl=False)


@cli.command("export")
@_global_options()
@click.option(
    "--warc",
    "warc_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the stored pages as WARC files into this folder instead of rewriting posts.",
)
@click.option(
    "--wacz",
    "wacz_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Package the stored pages (WARCs, CDXJ index, pages list) into this WACZ file instead.",
)
@click.option(
    "--since", callback=_date_option(False), metavar="DATE", help="--warc/--wacz: fetched on or after."
)
@click.option(
    "--until", callback=_date_option(True), metavar="DATE", help="--warc/--wacz: fetched by the end."
)
@click.option("--feed", "feed_name", metavar="NAME", help="--warc/--wacz: only this feed's pages.")
def export_command(
    config_path: Path | None,
    warc_dir: Path | None,
    wacz_file: Path | None,
    since: datetime | None,
    until: datetime | None,
    feed_name: str | None,
) -> None:
    """Rewrite every post from the database (after a template change, say); unchanged files are left alone.

    With --warc or --wacz, the stored pages go to WARC files or a WACZ instead (scraper.capture.export).
    """
    from scraper.capture.export import PageFilter
    from scraper.compose import new_writer
    from scraper.diagnose import EXPORT_DIR_FIX, export_dir_problem
    from scraper.export.rewrite import rewrite_all
    from scraper.store.db import session_factory

    _start_logging()
    config = _load(config_path)
    if warc_dir or wacz_file:
        _export_captures(config, warc_dir, wacz_file, PageFilter(since, until, feed_name))
        return
    if since or until or feed_name:
        _fail("--since, --until and --feed choose what --warc or --wacz export", EXIT_BAD_CONFIG)
    problem = export_dir_problem(config.export.dir)
    if problem:
        _fail(f"{problem}; {EXPORT_DIR_FIX}", EXIT_FEED_FAILED)
    with _database(config) as engine:
        _started()
        try:
            written = rewrite_all(session_factory(engine), new_writer(config))
        except OSError as exc:  # the disk full, say: what was written stays, the rest is written next time
            _fail(
                f"export stopped: {exc.strerror or exc}: {exc.filename or config.export.dir}; "
                + EXPORT_DIR_FIX,
                EXIT_FEED_FAILED,
            )
    if not _quiet():
        click.echo(f"rewrote {written} posts in {config.export.dir}")


def _export_captures(
    config: Config, warc_dir: Path | None, wacz_file: Path | None, pages: PageFilter
) -> None:
    """The stored pages as WARC files or a WACZ (--feed may name a feed no longer in the config: its pages
    are still stored); a destination that cannot be written is one line, exit 1."""
    option = "--warc" if warc_dir else "--wacz"
    try:
        (warc_dir or (wacz_file or Path()).parent).mkdir(parents=True, exist_ok=True)  # fail before work
        _write_captures(config, warc_dir, wacz_file, pages)
    except OSError as exc:
        _fail(
            f"{option} {warc_dir or wacz_file}: {exc.strerror or exc}: {exc.filename or ''}; "
            "fix: give a folder (--warc) or a file in a folder (--wacz) this user can write",
            EXIT_FEED_FAILED,
        )


def _write_captures(config: Config, warc_dir: Path | None, wacz_file: Path | None, pages: PageFilter) -> None:
    from scraper.capture.export import export_wacz, export_warc
    from scraper.store.db import session_factory

    with _database(config) as engine:
        _started()
        sessions = session_factory(engine)
        try:
            if warc_dir:
                report = export_warc(
                    sessions, warc_dir, config.warc.dir, pages, max_file_bytes=config.warc.max_file_bytes
                )
                _say(f"{report.line()} in {len(report.files)} WARC files in {warc_dir}")
            if wacz_file:
                report = export_wacz(sessions, wacz_file, config.warc.dir, pages)
                _say(f"{report.line()} into {wacz_file}")
        except RuntimeError as exc:
            _fail(str(exc), EXIT_FEED_FAILED)


@cli.command("import")
@_global_options()
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
    from scraper.errors import LockHeldError
    from scraper.importer import PostFormatError, feeds_toml, import_paths
    from scraper.store.db import session_factory

    _start_logging()
    config = _load(config_path)
    try:
        with _database(config, lock=True) as engine:
            _started()
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
@_global_options()
def extract_command(
    source: str,
    url: str | None,
    output_format: str,
    selector: str | None,
    remove: tuple[str, ...],
    config_path: Path | None,
) -> None:
    """Extract one page (a file or a URL) and print the record: for trying a rule on one page.

    An invalid --selector or --remove is an error (exit 2); a --selector that matches nothing on the page
    is said on standard error (the generic finder is used instead).
    """
    import asyncio
    import dataclasses
    import json

    from scraper.config import ConfigError, check_selector
    from scraper.extract import RuleBook, extract

    _start_logging()
    try:
        selector = check_selector("--selector", selector) if selector is not None else None
        remove = tuple(check_selector(f"--remove {r!r}", r) for r in remove)
    except ConfigError as exc:
        _fail(str(exc), EXIT_BAD_CONFIG)
    config = _optional_config(config_path)
    page: str | bytes
    if source.startswith(("http://", "https://")):
        page, final_url = asyncio.run(_download(source, config.http))
    else:
        cap = config.http.max_body_bytes  # as a page's body: /dev/zero or a FIFO never ends
        try:
            with open(source, "rb") as file:
                page, final_url = file.read(cap + 1), Path(source).resolve().as_uri()
        except OSError as exc:
            _fail(f"cannot read {source}: {exc.strerror or exc}", EXIT_BAD_CONFIG)
        if len(page) > cap:
            _fail(f"cannot read {source}: larger than http.max_body_bytes ({cap} bytes)", EXIT_BAD_CONFIG)
    page_url = url or final_url
    rules = RuleBook.load(config.rules)
    record = extract(page, page_url, rules.for_url(page_url, selector, remove))
    if selector is not None and record.body_selector != selector:
        click.echo(
            f"scraper: --selector {selector!r} matches nothing on this page: the generic finder was used",
            err=True,
        )
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
    from scraper.config import ConfigError, find_config_path, parse_config

    config_path = _config_path(config_path)
    if config_path is None and not find_config_path(None, os.environ).exists():
        try:
            return parse_config({}, None, os.environ)
        except ConfigError as exc:
            _fail(f"config error: {exc}", EXIT_BAD_CONFIG)
    return _load(config_path)


async def _download(url: str, http: HttpConfig) -> tuple[str, str]:
    from scraper.fetch import Fetcher, FetchError

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
@_global_options()
@click.option("--revision", default="head", show_default=True, help="Migrate to this revision.")
def db_upgrade(config_path: Path | None, revision: str) -> None:
    """Apply the schema migrations (every other command does this on start too)."""
    _start_logging()
    config = _load(config_path)
    with _database(config, revision=revision) as engine:
        pass
    if not _quiet():
        click.echo(f"database at {revision}: {engine.url.render_as_string(hide_password=True)}")


@cli.command()
@_global_options()
@click.option(
    "--timeout",
    type=click.FloatRange(0.001, 3600.0),  # nan passes a range (every comparison is false): refused below
    callback=lambda _ctx, _param, value: _finite_seconds(value),
    default=5.0,
    show_default=True,
    help="Seconds to wait for the answer.",
)
def healthcheck(config_path: Path | None, timeout: float) -> None:
    """Ask a running daemon's /healthz (at [daemon] listen); exit 0 if healthy, 1 if not (for HEALTHCHECK)."""
    import httpx

    from scraper.config import parse_listen

    _start_logging()
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


def _finite_seconds(value: float) -> float:
    """A number of seconds httpx can wait: nan slips through click's range checks, and an infinite or
    negative one raised from deep in httpx, a traceback."""
    if value != value:  # nan
        raise click.BadParameter("not a number of seconds: nan")
    return value


def main() -> None:
    _collect_rarely_while_starting()
    _skip_httpx_command_line()
    cli(prog_name="scraper")


# The cyclic garbage collector runs after every 700 net allocations of tracked objects (its default first
# threshold), and a start-up allocates a few hundred thousand: the imports of SQLAlchemy, httpx and the
# rest made a quiet `once` pay ~140 young collections and a full one over every object the imports had
# made, for no garbage (modules, classes and functions live as long as the process): 8% of its instructions
# and, the scans being cache misses, a third of its CPU time.
STARTING_THRESHOLD = 100_000
_threshold_before: list[int] = []  # the first threshold the process had, put back by `_started`


def _collect_rarely_while_starting() -> None:
    """Until `_started`: a young collection only every STARTING_THRESHOLD allocations (never disabled: a
    command that never calls `_started` still collects its cycles, in bounded memory)."""
    first, *older = gc.get_threshold()
    _threshold_before[:] = [first]
    gc.set_threshold(STARTING_THRESHOLD, *older)


def _started() -> None:
    """The command's modules are imported and its work begins: what start-up made is moved out of the
    collector's generations (`gc.freeze`: never scanned again, as it is never freed), and the collector
    runs on its usual thresholds again for the work's own garbage. Every command that opens the archive
    calls it once the archive is open (`run` once the daemon's modules are in, `once` once its node is
    built): a long import or backfill must not run its whole course on the starting threshold. A second
    call does nothing."""
    if not _threshold_before:  # not started by main() (a test's in-process run): the collector as it is
        return
    gc.freeze()
    gc.set_threshold(_threshold_before.pop(), *gc.get_threshold()[1:])


def _skip_httpx_command_line() -> None:
    """httpx imports its own command-line client at import when rich, pygments and click are installed
    (they are: click and rich are ours), ~0.1 CPU s of a cron run's start for a tool never called here. A
    None in sys.modules makes that import fail, and httpx falls back to a stub `httpx.main` (its own
    `except ImportError`); the client itself is untouched. Only the `scraper` command does this, before
    anything imports httpx; a process that imported scraper as a library keeps httpx as it is."""
    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
