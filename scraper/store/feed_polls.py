"""A poll round's two writes on PostgreSQL, each one statement built and compiled once: the claim of the
feeds to poll, and the write of their 304s.

Elsewhere (SQLite) the poll stage claims through `Leases.claim` and writes a batch of 304s as the lock of
the rows still ours, then an executemany (`write_unchanged`'s fallback): two transactions' worth of
statements, fine for one node on a file. On PostgreSQL a daemon polls its feeds as they come due, a few at
a time, and per 304 that cost a claim's share (a SELECT ... FOR UPDATE SKIP LOCKED, an UPDATE ... RETURNING,
built and compiled again each time since its `now` and excluded ids are part of it), then a transaction of
its own: BEGIN, the lock, the UPDATE, COMMIT, four round trips and SQLAlchemy's work for each (issue 15).

Here each is one statement, run outside a transaction (autocommit: a statement is atomic by itself), its
values bound (scraper.store.arrays: compiled once, arrays sent in binary):

- the claim: `WITH chosen AS (SELECT id ... ORDER BY id LIMIT n FOR UPDATE SKIP LOCKED) UPDATE feeds SET
  lease ... FROM chosen ... RETURNING` what the poll needs. The same conditions as `Leases.claim` over
  `feeds.pollable`: enabled, not blocked, due (unless forced), the lease free or expired;
- the 304s: `WITH mine AS (SELECT id ... WHERE lease_owner = us ORDER BY id FOR UPDATE) UPDATE feeds SET
  ... FROM unnest(the batch's arrays), mine ... RETURNING id`. Only the rows still ours are written, their
  locks taken in id order first as `Leases.lock_mine` takes them (the heartbeat's renewal locks a node's rows
  in the same order, so the two never deadlock); the ids returned are those written, the rest were lost.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    CompoundSelect,
    Connection,
    Engine,
    Integer,
    Row,
    Update,
    all_,
    any_,
    bindparam,
    case,
    false,
    func,
    null,
    or_,
    select,
    union_all,
    update,
)

from scraper.store import arrays
from scraper.store.feeds import lock_mine, pollable, write_rows
from scraper.store.nodes import Transaction
from scraper.store.tables import UTCDateTime
from scraper.store.tables import feeds as feeds_table

FEED = feeds_table.c

# What a poll reads of each feed it claims (scraper.poll_stage.FeedState): no dates, so the driver's values
# need none of the column types' processing.
POLL_COLUMNS = (
    "id",
    "url",
    "name",
    "etag",
    "last_modified",
    "poll_interval",
    "ttl_minutes",
    "skip_hours",
    "skip_days",
    "broken",
)
# A 304's new values per feed (scraper.poll_stage.PollStage._unchanged_values); the rest of what it writes is
# the same for every 304: answered now (last_success_at = last_polled_at), no failure, the lease released.
UNCHANGED_COLUMNS = ("last_polled_at", "last_status", "poll_interval", "blocked_until", "next_poll_at")
UNCHANGED_SAME = {"failures_in_row": 0, "failing_since": None, "broken": False}
_RELEASED = UNCHANGED_SAME | {"lease_owner": None, "lease_expires_at": None}


def fast(connection: Connection | Engine) -> bool:
    """Whether these statements apply: PostgreSQL through psycopg (see scraper.store.arrays)."""
    return connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg"


def autocommit(engine: Engine) -> Engine:
    """The engine's statements each committed on its own: one round trip for one statement, where a
    transaction adds a BEGIN and a COMMIT."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


@dataclass(frozen=True)
class Claimed:
    """A claim's feeds (POLL_COLUMNS, in id order), and when the first of the rest falls due."""

    rows: list[Row[Any]]
    # The earliest time a feed not claimed now becomes pollable: its next poll, its block's end, or the
    # end of another node's lease on it, whichever is last (None: no other enabled feed).
    next_due: datetime | None


def claim(
    connection: Connection,
    node_id: str,
    ttl: float,
    now: datetime,
    *,
    due_only: bool,
    force: bool,
    exclude_ids: Collection[int],
    limit: int | None,
) -> Claimed:
    """Claim for `node_id` (for `ttl` seconds) up to `limit` (None: all) of the feeds pollable at `now`
    (scraper.store.feeds.pollable), but `exclude_ids`; with them, when the first feed left (but those
    excluded) falls due (with `due_only`; else None)."""
    values = {
        "poll_now": now,
        "all_exclude": sorted(exclude_ids),
        "claim_limit": limit,
        "claim_node": node_id,
    }
    statement = _claim_statement(due_only and not force, force, ttl)
    rows: list[Row[Any]] = []
    next_due: datetime | None = None
    for row in arrays.execute(connection, statement, values).all():
        if row.id is None:  # the row that says when the rest falls due
            next_due = None if row.next_due is None else row.next_due.astimezone(UTC)
        else:
            rows.append(row)
    rows.sort(key=lambda row: row.id)
    return Claimed(rows, next_due)


@functools.lru_cache(maxsize=16)
def _claim_statement(due_only: bool, force: bool, ttl: float) -> CompoundSelect[Any]:
    """The claim (see the module's docstring), its rows followed by one more, its id NULL, whose
    `next_due` says when the first of the feeds left falls due (NULL unless `due_only`). That one is read
    from the snapshot the claim started from, the rows claimed left out."""
    now = bindparam("poll_now", type_=UTCDateTime())
    excluded = FEED.id != all_(bindparam("all_exclude", type_=ARRAY(Integer)))
    # feeds.pollable's conditions, `now` a bound value (one statement for every call), the ids left out
    # bound as one array instead of its NOT IN list
    where = [*pollable(now, due_only=due_only, force=force), excluded]
    where.append(or_(FEED.lease_owner.is_(None), FEED.lease_expires_at < func.now()))
    chosen = (
        select(FEED.id)
        .where(*where)
        .order_by(FEED.id)
        .limit(bindparam("claim_limit", type_=Integer()))
        .with_for_update(skip_locked=True)
        .cte("chosen")
    )
    claimed = (
        update(feeds_table)
        .where(FEED.id == chosen.c.id)
        .values(lease_owner=bindparam("claim_node"), lease_expires_at=func.now() + timedelta(seconds=ttl))
        .returning(*(FEED[name] for name in POLL_COLUMNS))
        .cte("claimed")
    )
    next_due: Any = null()
    if due_only:  # PostgreSQL's greatest() leaves out NULLs: a NULL next poll is due now
        leased_until = case((FEED.lease_owner.is_not(None), FEED.lease_expires_at))
        due_at = func.greatest(func.coalesce(FEED.next_poll_at, now), FEED.blocked_until, leased_until)
        # A lease with no end (a hand edit) never comes free (the claim's `lease_expires_at < now()`): as
        # for greatest(), it is no due time, else the job would wake for it every DRY_CLAIM_SECONDS.
        ends = or_(FEED.lease_owner.is_(None), FEED.lease_expires_at.is_not(None))
        next_due = (
            select(func.min(due_at))
            .where(FEED.enabled.is_(True), excluded, ends, FEED.id.not_in(select(chosen.c.id)))
            .scalar_subquery()
        )
    return union_all(
        select(*claimed.c, null().label("next_due")),
        select(*(null().label(name) for name in POLL_COLUMNS), next_due.label("next_due")),
    )


def write_unchanged(connection: Transaction, batch: Sequence[Mapping[str, Any]], node_id: str) -> set[int]:
    """Write a batch of 304s (each its row's `id` and UNCHANGED_COLUMNS, with UNCHANGED_SAME's values and
    last_success_at = last_polled_at), releasing their leases, on the rows whose lease is still
    `node_id`'s; returns the ids of those written.

    On PostgreSQL one statement (see the module's docstring); elsewhere the rows are locked (`lock_mine`)
    and written by an executemany, in the caller's transaction: the caller runs this in one."""
    if not batch:
        return set()
    if isinstance(connection, Connection) and fast(connection):
        if len({row["id"] for row in batch}) != len(batch):  # an id twice: its last values, as executemany's
            batch = list({row["id"]: row for row in batch}.values())
        values: dict[str, Any] = {"all_id": [row["id"] for row in batch], "claim_node": node_id}
        for name in UNCHANGED_COLUMNS:
            values[f"all_{name}"] = [row[name] for row in batch]
        return {row.id for row in arrays.execute(connection, _unchanged_statement(), values)}
    mine = lock_mine(connection, [row["id"] for row in batch], node_id)
    write_rows(connection, [unchanged_row(row) for row in batch if row["id"] in mine])
    return mine


def unchanged_row(values: Mapping[str, Any]) -> dict[str, Any]:
    """Every column a 304 writes, from its `id` and UNCHANGED_COLUMNS (for `feeds.write_rows`)."""
    row = dict(values)
    row["last_success_at"] = values["last_polled_at"]
    row.update(_RELEASED)
    return row


@functools.lru_cache(maxsize=1)
def _unchanged_statement() -> Update:
    mine = (
        select(FEED.id)
        .where(
            FEED.id == any_(bindparam("all_id", type_=ARRAY(Integer))),
            FEED.lease_owner == bindparam("claim_node"),
        )
        .order_by(FEED.id)
        .with_for_update()
        .cte("mine")
    )
    batch = arrays.unnest(feeds_table, ("id", *UNCHANGED_COLUMNS))
    return (
        update(feeds_table)
        .where(FEED.id == batch.c.id, FEED.id == mine.c.id)
        .values({name: batch.c[name] for name in UNCHANGED_COLUMNS})
        .values(
            last_success_at=batch.c.last_polled_at,
            failures_in_row=0,
            failing_since=null(),
            broken=false(),
            lease_owner=null(),
            lease_expires_at=null(),
        )
        .returning(FEED.id)
    )
