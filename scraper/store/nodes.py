"""The nodes working on one database, known by their heartbeats.

Every process that claims work (`scraper run`, `once`, `backfill`) is a node: it has an id (host:pid:random,
the value its leases carry in `lease_owner`) and a row in `nodes` that it touches on every heartbeat. The
table is for people (`scraper status` shows who is working and what each holds) and for politeness (the
live nodes divide each host's limits between them); correctness never depends on it: a lease is a lease
whether or not its owner's row is there.

Times are the database's clock on PostgreSQL (`now()`), so nodes on machines whose clocks disagree still
agree on who is alive and which lease has expired; on SQLite (one machine) the local clock.
"""

from __future__ import annotations

import functools
import os
import secrets
import socket
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Union, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    Engine,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)

from scraper.store import tables
from scraper.store.tables import UTCDateTime, utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Core statements only: a transaction of the leases (a Connection) or of a stage (an ORM Session) runs them.
Transaction = Union["Session", Connection]
Node = tables.nodes.c

FORGET_AFTER = timedelta(days=1)  # a node unseen this long is dropped from the table (and from status)


def new_node_id() -> str:
    """host:pid:random. The random part tells two lives of one pid apart (a restarted container is pid 1)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


def sql_now(engine: Engine, plus: float = 0.0) -> ColumnElement[datetime]:
    """Now (plus `plus` seconds) as the database should compare it: its own clock on PostgreSQL (one
    expression per `plus`, made once: statements built from it can be kept too), on SQLite this moment."""
    if engine.dialect.name == "postgresql":
        return _database_now(plus)
    return literal(utcnow() + timedelta(seconds=plus), UTCDateTime())


@functools.lru_cache(maxsize=16)
def _database_now(plus: float) -> ColumnElement[datetime]:
    return func.now() + timedelta(seconds=plus) if plus else func.now()


def register(session: Transaction, engine: Engine, node_id: str, command: str) -> None:
    """The node's row, written at start (and again by a heartbeat that finds it gone)."""
    hostname, pid, _ = node_id.rsplit(":", 2)
    now = sql_now(engine)
    session.execute(delete(tables.nodes).where(Node.id == node_id))
    session.execute(
        insert(tables.nodes).values(
            id=node_id, hostname=hostname, pid=int(pid), command=command, started_at=now, last_seen_at=now
        )
    )


def touch(session: Transaction, engine: Engine, node_id: str, command: str) -> None:
    found = session.execute(
        update(tables.nodes).where(Node.id == node_id).values(last_seen_at=sql_now(engine))
    )
    if not cast(
        "CursorResult[Any]", found
    ).rowcount:  # pruned by another node after a long pause: say we are here again
        register(session, engine, node_id, command)


def live_count(session: Transaction, engine: Engine, within: float) -> int:
    """Nodes seen within `within` seconds and not stopped (at least 1: the caller is one)."""
    seen = session.scalar(
        select(func.count())
        .select_from(tables.nodes)
        .where(Node.last_seen_at >= sql_now(engine, -within), Node.stopped_at.is_(None))
    )
    return max(1, seen or 0)


def stopped(session: Transaction, engine: Engine, node_id: str) -> None:
    """A clean stop: the row stays (until pruned with the rest) so `status` shows the node as stopped."""
    now = sql_now(engine)
    session.execute(update(tables.nodes).where(Node.id == node_id).values(stopped_at=now, last_seen_at=now))


def forget(session: Transaction, node_id: str) -> None:
    session.execute(delete(tables.nodes).where(Node.id == node_id))


def prune(session: Transaction, engine: Engine) -> None:
    session.execute(
        delete(tables.nodes).where(Node.last_seen_at < sql_now(engine, -FORGET_AFTER.total_seconds()))
    )


def dead_local_nodes(session: Transaction, node_id: str) -> list[str]:
    """Earlier lives of nodes on this machine: same host name, and a pid that no longer runs (or is ours:
    a restarted container has pid 1 again). Their leases can go at once instead of at expiry."""
    hostname, pid, _ = node_id.rsplit(":", 2)
    rows = session.execute(select(Node.id, Node.pid).where(Node.hostname == hostname, Node.id != node_id))
    return [other for other, other_pid in rows if other_pid == int(pid) or not _running(other_pid)]


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
