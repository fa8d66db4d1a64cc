"""The composition root: every command builds its engine, leases, fetcher and pipeline here, and nowhere
else, so `once`, `run`, `backfill`, `import`, `status`, `export` and `db upgrade` open the archive the same
way (upgrade first, the run lock where the command takes it, the engine disposed at the end) and the stages
get the same collaborators (with the observers a command passes in: the daemon's metrics).

It also holds the two tables of extensions, filled here and nowhere else (Scrapy's feed exports, whose
storages are picked from a table by URI scheme, are the model):

- `EXPORT_TARGETS`, by name: the values `[export] template` may take (the config is checked against this
  table) and what the post writer renders with (`new_writer`). A target is a module exposing an
  `export.target.ExportTarget`.
- `WORK_SOURCES`, by option key, in the order they run: each is one option of `scraper backfill` (the CLI
  builds the options from this table when it runs) and a way to find URLs into the frontier (the backfill
  runner runs each one given). A source is a module exposing a `backfill.source.WorkSource`.

A new target or source is its module and one `register_*` call (a built-in source: one entry in
`_builtin_sources`).

Nothing here is imported before a command asks for it: the config's check of `[export] template` imports
this module, and `scraper status` or a `once` with nothing new must not pay for the fetcher, the pipeline
or the backfill sources. So the stages are imported inside the functions that build them, and both tables
are made when first read (`_builtin_targets`, `_builtin_sources`): the built-in target's module (the
renderer, the sanitizer's and the date parser's patterns under it) loads when a post is to be written,
not for the config's check, which needs only the names (`check_target_name`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from importlib import import_module
from typing import TYPE_CHECKING, Any

from scraper.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from scraper.backfill.source import WorkSource
    from scraper.config import Config
    from scraper.export.target import ExportTarget
    from scraper.export.writer import PostWriter
    from scraper.fetch import Fetcher, RequestHook
    from scraper.outcome_recorder import OutcomeHook
    from scraper.pipeline import Pipeline
    from scraper.store.leases import Leases

# EXPORT_TARGETS, by name, and WORK_SOURCES, by option key: made by _builtin_targets and _builtin_sources
# when first read (module __getattr__ below).
EXPORT_TARGETS: dict[str, ExportTarget]
WORK_SOURCES: dict[str, WorkSource]
# The built-in export targets' names, in the table's order, and the module exposing each one's `TARGET`
# (tests/test_extension_points.py holds the names equal to the targets').
BUILTIN_TARGETS = {"jekyll": "scraper.export.jekyll"}


def register_target(target: ExportTarget) -> None:
    """Make `target.name` a value of `[export] template` (replacing a target of that name)."""
    _export_targets()[target.name] = target


def register_source(source: WorkSource) -> None:
    """Add the source's option to `scraper backfill`; sources run in the order they were registered (after
    the built-in ones)."""
    _work_sources()[source.option.key] = source


def _builtin_targets() -> dict[str, ExportTarget]:
    """The built-in export targets, by name."""
    return {name: import_module(module).TARGET for name, module in BUILTIN_TARGETS.items()}


def _export_targets() -> dict[str, ExportTarget]:
    return _made_on_first_read("EXPORT_TARGETS", _builtin_targets)


def _made_on_first_read(name: str, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The module's table `name`, built by `build` the first time it is asked for (then kept)."""
    table = globals().get(name)
    if table is None:
        table = globals()[name] = build()
    return table


def _builtin_sources() -> dict[str, WorkSource]:
    """The built-in work sources, in the order they run."""
    from scraper.backfill import feed_history, reextract, sitemap, url_list

    table: dict[str, WorkSource] = {}
    for source in (sitemap.SOURCE, feed_history.SOURCE, url_list.SOURCE, reextract.SOURCE):
        table[source.option.key] = source  # reextract last: it works on what is stored, and queues nothing
    return table


def _work_sources() -> dict[str, WorkSource]:
    return _made_on_first_read("WORK_SOURCES", _builtin_sources)


def __getattr__(name: str) -> Any:
    """`compose.EXPORT_TARGETS` and `compose.WORK_SOURCES`, made on first reading (PEP 562)."""
    if name == "EXPORT_TARGETS":
        return _export_targets()
    if name == "WORK_SOURCES":
        return _work_sources()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def export_target(name: str) -> ExportTarget:
    """The registered target of that name; a ConfigError naming the known ones otherwise."""
    check_target_name(name)
    return _export_targets()[name]


def check_target_name(name: str) -> None:
    """A ConfigError naming the known targets unless `name` is one: the table's names, or the built-in
    ones while the table is not made yet (no target module is imported for this)."""
    table = globals().get("EXPORT_TARGETS")
    names = list(BUILTIN_TARGETS if table is None else table)
    if name not in names:
        known = ", ".join(repr(known) for known in names)
        raise ConfigError(f"export.template: unknown template {name!r} (known: {known})")


def work_sources() -> dict[str, WorkSource]:
    """The registered work sources by option key, in the order they run (a copy)."""
    return dict(_work_sources())


def new_writer(config: Config) -> PostWriter:
    """The post writer of the config's export folder and target."""
    from scraper.export.writer import PostWriter

    return PostWriter(
        config.export.dir, export_target(config.export.template), front_matter=config.export.front_matter
    )


def new_engine(config: Config) -> Engine:
    from scraper.store.db import make_engine

    return make_engine(config.database.url)


@contextmanager
def opened(
    engine: Engine, *, lock: bool = False, advisory: bool = True, revision: str = "head"
) -> Iterator[Engine]:
    """The archive migrated to `revision` (under the run lock, if `lock`: raises LockHeldError at once
    when another run holds it), for the block; the engine disposed after it, whatever happens."""
    from scraper.store.db import upgrade
    from scraper.store.runlock import run_lock

    try:
        with run_lock(engine, advisory=advisory) if lock else contextlib.nullcontext():
            upgrade(engine, revision)
            yield engine
    finally:
        engine.dispose()


def database(
    config: Config, *, lock: bool = False, advisory: bool = True, revision: str = "head"
) -> contextlib.AbstractContextManager[Engine]:
    """`opened` on a new engine for the config's database."""
    return opened(new_engine(config), lock=lock, advisory=advisory, revision=revision)


def new_leases(config: Config, engine: Engine) -> Leases:
    from scraper.store.leases import Leases

    return Leases(engine, ttl=config.cluster.lease_seconds, heartbeat=config.cluster.heartbeat)


def new_fetcher(config: Config, *, on_request: RequestHook | None = None) -> Fetcher:
    """The one Fetcher of a command, with the capture of `[warc]` (none when it is off)."""
    from scraper.capture import capture_for
    from scraper.fetch import Fetcher

    return Fetcher(config.http, on_request=on_request, capture=capture_for(config))


def new_pipeline(
    config: Config,
    engine: Engine,
    fetcher: Fetcher,
    leases: Leases,
    *,
    on_outcome: Sequence[OutcomeHook] = (),
) -> Pipeline:
    from scraper.pipeline import Pipeline

    # The post writer is the pipeline's (new_writer's), made when a post is first to write.
    return Pipeline(config, engine, fetcher, leases=leases, on_outcome=on_outcome)


@asynccontextmanager
async def node(config: Config, engine: Engine, command: str) -> AsyncIterator[Pipeline]:
    """A node for the length of a command (`once`, `backfill`): it joins the cluster, beats in the
    background (sharing each host's politeness limits with the live nodes) and leaves at the end."""
    leases = new_leases(config, engine)
    async with (
        new_fetcher(config) as fetcher,
        leases.working(command, partial(setattr, fetcher.politeness, "share")),
    ):
        fetcher.politeness.share = leases.live_nodes
        yield new_pipeline(config, engine, fetcher, leases)
