"""Leases: several nodes share one database's work, each unit done by one node, none lost when a node dies.

A unit of work is a row: a due feed (a poll), a pending article (a fetch), an archived article without its
post (an export), a backfill document (a sitemap or feed page to read). A node *claims* units in one short
transaction: `SELECT ... FOR UPDATE SKIP LOCKED` the rows that are due and whose lease is free or expired,
then writes its id and an expiry into `lease_owner` / `lease_expires_at`. Two nodes claiming at once get
different rows (each skips what the other has locked), and neither waits for the other.

The work runs outside any transaction. Its result is written in a transaction that first locks the row
*with our id still on it* (`guard`): if the lease was lost (it expired, and another node claimed the
unit), the result is discarded and logged, never written. The result's transaction also releases the
lease (or keeps it, for an article whose post this node writes next).

While work runs, the node renews what it holds every `[cluster] heartbeat_seconds` (`renew`). A node that
dies stops renewing: `lease_seconds` later its units are free, and another node claims them. Nothing is
lost, and nothing is done twice unless a node was cut off for longer than its lease (then the result of
the first is thrown away, and the unit is done again by the second).

SQLite (one node) goes through the same code: SQLAlchemy renders no FOR UPDATE there, and the claim and
guard transactions begin with `BEGIN IMMEDIATE` (scraper.store.db), which takes the one write lock first,
so they are exclusive all the same. PostgreSQL is the engine; this module writes no coordination of its
own beyond these rows.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable, Hashable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Engine,
    Result,
    Select,
    Table,
    Update,
    bindparam,
    or_,
    select,
    update,
)

from scraper.store import arrays, nodes, tables
from scraper.store.nodes import Transaction
from scraper.store.plain_rows import named_rows

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

# The leased tables, by kind. Core tables: a node's own statements (join, claims, renewal, release) need no
# ORM, so a cron run with nothing new never loads it (scraper.store.tables); `sessions` and `guard`, which
# the recording stages use, load it when first asked.
KINDS: dict[str, Table] = {
    "feed": tables.feeds,
    "article": tables.articles,
    "document": tables.backfill_documents,
}
CHUNK = 500  # ids per statement (SQLite's bound-parameter limit, PostgreSQL's plan cache)


def _rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched (its result is a CursorResult, which the Result type hides)."""
    return cast("CursorResult[Any]", result).rowcount or 0


def chunks(ids: Sequence[int], size: int = CHUNK) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


class Leases:
    """One node's leases on one database. Thread-safe (the backfill records outcomes in a thread)."""

    def __init__(
        self, engine: Engine, *, ttl: float = 60.0, heartbeat: float | None = None, node_id: str | None = None
    ) -> None:
        self.engine = engine
        self.node_id = node_id or nodes.new_node_id()
        self.ttl = ttl
        self.heartbeat = heartbeat or ttl / 3
        # Claims and guarded writes: BEGIN IMMEDIATE on SQLite (see the module docstring).
        self.writes = engine.execution_options(sqlite_begin="IMMEDIATE")
        self.live_nodes = 1
        self.lost = 0  # results thrown away because the lease had gone to another node
        self._held: dict[str, set[int]] = {kind: set() for kind in KINDS}
        self._lock = threading.Lock()
        self._command: str | None = None
        self._claims: dict[Hashable, tuple[Select[Any], Update]] = {}  # see `claim`'s `shape`
        self._beats: ThreadPoolExecutor | None = None  # see `beat_apart`

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        """ORM sessions on `writes`, for the stages that record results on mapped rows (made on first use:
        it imports the ORM)."""
        from sqlalchemy.orm import sessionmaker

        return sessionmaker(self.writes, expire_on_commit=False)

    # --- the node -----------------------------------------------------------------------------------------

    def join(self, command: str) -> None:
        """Register this node. Leases that cannot belong to a live process are freed first: on SQLite all
        of them (the run lock makes this the only process on the file), on PostgreSQL those of earlier
        lives of nodes on this machine."""
        self._command = command
        with self.writes.begin() as session:
            dead = nodes.dead_local_nodes(session, self.node_id)
            everyone = self.engine.dialect.name == "sqlite"
            freed = free_owners(session, None if everyone else dead)
            for node_id in dead:
                nodes.forget(session, node_id)
            nodes.prune(session, self.engine)
            nodes.register(session, self.engine, self.node_id, command)
            self.live_nodes = nodes.live_count(session, self.engine, self.ttl)
        if freed:
            log.info("freed %d leases left by a process that is no longer running", freed)

    def beat(self) -> int:
        """The heartbeat: renew what we hold, say we are alive, count the live nodes (returned)."""
        self.renew()
        with self.writes.begin() as session:
            nodes.touch(session, self.engine, self.node_id, self._command or "?")
            self.live_nodes = nodes.live_count(session, self.engine, self.ttl)
        return self.live_nodes

    async def beat_apart(self) -> int:
        """`beat` in a thread of its own: the default pool's few threads also run the claims, the outcome
        batches and the polls' writes, and a heartbeat queued behind them on a slow database would renew
        the leases late, or let them expire under work that is still running."""
        if self._beats is None:
            self._beats = ThreadPoolExecutor(max_workers=1, thread_name_prefix="heartbeat")
        return await asyncio.get_running_loop().run_in_executor(self._beats, self.beat)

    async def keep_alive(self, on_beat: Callable[[int], None] | None = None) -> None:
        """Beat every `heartbeat` seconds until cancelled (for `once` and `backfill`; the daemon schedules
        `beat` as a job). A failed beat is logged and tried again at the next."""
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                live = await self.beat_apart()
            except Exception as exc:
                log.error("heartbeat failed (leases not renewed this time): %s", exc)
                continue
            if on_beat is not None:
                on_beat(live)

    @asynccontextmanager
    async def working(
        self, command: str, on_beat: Callable[[int], None] | None = None
    ) -> AsyncIterator[None]:
        """Join, beat in the background, leave at the end (after an error or Ctrl-C too): once, backfill."""
        self.join(command)
        try:
            beat = asyncio.create_task(self.keep_alive(on_beat))
            try:
                yield
            finally:
                beat.cancel()
                await asyncio.gather(beat, return_exceptions=True)
        finally:
            self.leave()

    def leave(self) -> None:
        """Release everything this node holds and mark its row stopped (a clean stop)."""
        with self.writes.begin() as session:
            free_owners(session, [self.node_id])
            nodes.stopped(session, self.engine, self.node_id)
        with self._lock:
            self._held = {kind: set() for kind in KINDS}
        beats, self._beats = self._beats, None
        if beats is not None:
            beats.shutdown(wait=False)

    # --- claims ---------------------------------------------------------------------------------------------

    def now(self) -> ColumnElement[Any]:
        return nodes.sql_now(self.engine)

    def free(self, table: Any, *, or_mine: bool = False) -> ColumnElement[bool]:
        """No lease, or an expired one (or, with `or_mine`, one of ours). `table`: a Core table (or its
        mapped class)."""
        columns = getattr(table, "c", table)
        conditions = [columns.lease_owner.is_(None), columns.lease_expires_at < self.now()]
        if or_mine:
            conditions.append(columns.lease_owner == self.node_id)
        return or_(*conditions)

    def claim(
        self,
        kind: str,
        where: Sequence[ColumnElement[bool]],
        *,
        order_by: Sequence[Any],
        limit: int | None,
        scan: int | None = None,
        pick: Callable[[list[Any]], list[Any]] | None = None,
        pick_by: Sequence[Any] = (),
        or_mine: bool = False,
        columns: Sequence[Any] | None = None,
        params: Mapping[str, Any] | None = None,
        shape: Hashable | None = None,
    ) -> list[Any]:
        """Claim up to `limit` rows of `kind` matching `where` whose lease is free; returns the rows, as
        named tuples of `columns` (default: all) in claim order.

        `scan` rows are read (default `limit`), only their id and the `pick_by` columns, and `pick` chooses
        among them which to claim (how articles are spread over hosts). Without `pick`, the rows are locked
        as read (FOR UPDATE SKIP LOCKED); with it, only those chosen are, as the lease is written (see
        `claim_statements`), so a claim may read many rows without a lock on each. The lease is written
        and the rows read back in one statement (UPDATE ... RETURNING): named tuples, not ORM objects.

        `where` may hold bound parameters, their values in `params`. A `shape` stands for `where`,
        `order_by`, `pick_by` and `columns` (the same shape, the same statements): on PostgreSQL the
        statements are then built once, since building and keying them costs as much as running them.
        """
        table = KINDS[kind]
        wanted = list(columns) if columns is not None else list(table.c)
        values = {**(params or {}), "claim_scan": scan or limit, "claim_node": self.node_id}
        returning = bool(self.engine.dialect.update_returning)
        key = (kind, shape, or_mine)
        if (built := self._claims.get(key) if shape is not None else None) is None:
            where = [*where, self.free(table, or_mine=or_mine)]
            built = claim_statements(
                self, table, where, order_by, pick_by, wanted, scan or limit, lock_chosen=pick is not None
            )
            if shape is not None and self.engine.dialect.name == "postgresql":  # SQLite's clock is a value
                self._claims[key] = built
        query, lease = built
        with self.writes.begin() as connection:
            # All at once (the driver's fetchall), as named tuples (scraper.store.plain_rows): pick reads each
            scanned = named_rows(connection.execute(query, values))
            chosen = pick(scanned) if pick is not None else scanned
            ids = [row.id for row in (chosen if limit is None else chosen[:limit])]
            rows: list[Any] = []
            for chunk in chunks(ids):
                chunk_values = {**values, "claim_ids": list(chunk)}
                if returning:
                    rows += named_rows(connection.execute(lease, chunk_values))
                else:
                    connection.execute(lease, chunk_values)
                    mine = [table.c.id.in_(chunk), table.c.lease_owner == self.node_id]
                    rows += named_rows(connection.execute(select(*wanted).where(*mine)))
        position = {row_id: index for index, row_id in enumerate(ids)}
        rows.sort(key=lambda row: position[row.id])
        self.hold(kind, (row.id for row in rows))
        return rows

    def claim_one(self, session: Transaction, kind: str, key: int) -> bool:
        """Within the caller's (IMMEDIATE) transaction: claim this row if its lease is free or ours."""
        table = KINDS[kind]
        claimed = session.execute(
            update(table)
            .where(table.c.id == key, self.free(table, or_mine=True))
            .values(lease_owner=self.node_id, lease_expires_at=nodes.sql_now(self.engine, self.ttl))
        )
        if _rowcount(claimed):
            self.hold(kind, [key])
        return bool(_rowcount(claimed))

    # --- while the work runs, and after ---------------------------------------------------------------------

    def guard(self, session: Session, kind: str, key: int) -> Any | None:
        """The row, locked for this transaction, if our lease on it still stands; else None (the result
        must be discarded: call `discard`). Use in a transaction from `self.sessions`."""
        from scraper.store.models import Article, BackfillDocument, Feed

        model: Any = {"feed": Feed, "article": Article, "document": BackfillDocument}[kind]
        row = session.scalars(
            select(model).where(model.id == key, model.lease_owner == self.node_id).with_for_update()
        ).first()
        return row

    def discard(self, kind: str, key: int, what: str) -> None:
        """Log a result thrown away because the lease was lost, and forget the lease."""
        self.lost += 1
        self.forget(kind, [key])
        log.warning(
            "%s: lease lost (it expired and another node took the work over); this result is discarded",
            what,
        )

    def release(self, kind: str, keys: Iterable[int], session: Transaction | None = None) -> None:
        """Give up our leases on these rows (in the caller's transaction, if given)."""
        table = KINDS[kind]
        ids = list(keys)
        if not ids:
            return

        def run(session: Transaction) -> None:
            for chunk in chunks(ids):
                mine = self.lock_mine(session, kind, chunk)
                if mine:
                    session.execute(
                        update(table)
                        .where(table.c.id.in_(mine))
                        .values(lease_owner=None, lease_expires_at=None)
                    )

        if session is not None:
            run(session)
        else:
            with self.writes.begin() as own:
                run(own)
        self.forget(kind, ids)

    def expiry(self) -> ColumnElement[datetime]:
        """A new expiry, to write with a result when the lease is kept for the unit's next step."""
        return nodes.sql_now(self.engine, self.ttl)

    def renew(self) -> dict[str, list[int]]:
        """Push back the expiry of everything we hold; returns (and forgets) the leases found lost."""
        lost: dict[str, list[int]] = {}
        with self._lock:
            held = {kind: sorted(ids) for kind, ids in self._held.items() if ids}
        for kind, ids in held.items():
            table = KINDS[kind]
            kept: set[int] = set()
            with self.writes.begin() as session:
                for chunk in chunks(ids):
                    mine = self.lock_mine(session, kind, chunk)
                    if mine:
                        session.execute(
                            update(table)
                            .where(table.c.id.in_(mine))
                            .values(lease_expires_at=nodes.sql_now(self.engine, self.ttl))
                        )
                    kept.update(mine)
            gone = [key for key in ids if key not in kept]
            if gone:
                with self._lock:
                    # Released meanwhile (the work finished as we renewed) is not lost: only what we hold.
                    gone = [key for key in gone if key in self._held[kind]]
                    self._held[kind].difference_update(gone)
            if gone:
                lost[kind] = gone
                log.warning(
                    "%d %s leases lost (expired and taken over before renewal: was this node paused?); "
                    "their results will be discarded",
                    len(gone),
                    kind,
                )
        return lost

    def lock_mine(self, session: Transaction, kind: str, keys: Sequence[int]) -> list[int]:
        """Lock, in id order, those of these rows whose lease is ours; returns their ids. Every statement
        that changes several of a node's rows at once takes their locks this way first (in id order), so
        two of its threads (the heartbeat renewing, a batch of posts marked written) never deadlock."""
        columns = KINDS[kind].c
        return list(
            session.scalars(
                select(columns.id)
                .where(columns.id.in_(keys), columns.lease_owner == self.node_id)
                .order_by(columns.id)
                .with_for_update()
            )
        )

    def hold(self, kind: str, keys: Iterable[int]) -> None:
        """Renew these from now on (claimed by the caller's own statement)."""
        with self._lock:
            self._held[kind].update(keys)

    def forget(self, kind: str, keys: Iterable[int]) -> None:
        """Stop renewing these (released by the caller's own statement)."""
        with self._lock:
            self._held[kind].difference_update(keys)

    def held(self, kind: str) -> frozenset[int]:
        with self._lock:
            return frozenset(self._held[kind])


def claim_statements(
    leases: Leases,
    table: Table,
    where: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    pick_by: Sequence[Any],
    wanted: list[Any],
    scan: int | None,
    *,
    lock_chosen: bool = False,
) -> tuple[Select[Any], Update]:
    """A claim's two statements (Leases.claim): the rows read (`claim_scan` of them, if `scan` is not
    None), and the lease written on those chosen (`claim_ids`), returning `wanted` where the database can.

    The rows read are locked as they are read; or, with `lock_chosen`, only those chosen are, by the
    lease's statement (a sub-select FOR UPDATE SKIP LOCKED that checks `where` again): a row another node
    is claiming at that moment is skipped, and one it claimed since the read no longer matches."""
    query = select(table.c.id, *pick_by).where(*where).order_by(*order_by)
    if scan is not None:
        query = query.limit(bindparam("claim_scan"))
    chosen = arrays.in_list(table.c.id, "claim_ids", postgresql=leases.engine.dialect.name == "postgresql")
    if lock_chosen:
        free = select(table.c.id).where(chosen, *where).order_by(table.c.id)
        chosen = table.c.id.in_(free.with_for_update(skip_locked=True))
    else:
        query = query.with_for_update(skip_locked=True)
    expires = nodes.sql_now(leases.engine, leases.ttl)
    lease = update(table).where(chosen).values(lease_owner=bindparam("claim_node"), lease_expires_at=expires)
    if leases.engine.dialect.update_returning:
        lease = lease.returning(*wanted)
    return query, lease


def free_owners(session: Transaction, owners: list[str] | None) -> int:
    """Free the leases of these owners (None: of everyone)."""
    if owners == []:
        return 0
    freed = 0
    for table in KINDS.values():
        statement = update(table).where(table.c.lease_owner.is_not(None))
        if owners is not None:
            statement = statement.where(table.c.lease_owner.in_(owners))
        result = session.execute(statement.values(lease_owner=None, lease_expires_at=None))
        freed += _rowcount(result)
    return freed
