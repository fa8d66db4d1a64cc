"""The composition root: every command builds its engine, leases, fetcher and pipeline here, and nowhere
else, so `once`, `run`, `backfill`, `import`, `status`, `export` and `db upgrade` open the archive the same
way (upgrade first, the run lock where the command takes it, the engine disposed at the end) and the stages
get the same collaborators (with the observers a command passes in: the daemon's metrics).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from functools import partial

from sqlalchemy import Engine

from scraper.capture import capture_for
from scraper.config import Config
from scraper.fetch import Fetcher, RequestHook
from scraper.outcome_recorder import OutcomeHook
from scraper.pipeline import Pipeline
from scraper.store.db import make_engine, upgrade
from scraper.store.leases import Leases
from scraper.store.runlock import run_lock


def new_engine(config: Config) -> Engine:
    return make_engine(config.database.url)


@contextmanager
def opened(
    engine: Engine, *, lock: bool = False, advisory: bool = True, revision: str = "head"
) -> Iterator[Engine]:
    """The archive migrated to `revision` (under the run lock, if `lock`: raises LockHeldError at once
    when another run holds it), for the block; the engine disposed after it, whatever happens."""
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
    return Leases(engine, ttl=config.cluster.lease_seconds, heartbeat=config.cluster.heartbeat)


def new_fetcher(config: Config, *, on_request: RequestHook | None = None) -> Fetcher:
    """The one Fetcher of a command, with the capture of `[warc]` (none when it is off)."""
    return Fetcher(config.http, on_request=on_request, capture=capture_for(config))


def new_pipeline(
    config: Config,
    engine: Engine,
    fetcher: Fetcher,
    leases: Leases,
    *,
    on_outcome: Sequence[OutcomeHook] = (),
) -> Pipeline:
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
