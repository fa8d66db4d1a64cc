"""The articles table: the pending-and-due query, lookups by canonical URL or post path, the locked batch
write of fetch outcomes, and the raw pages kept beside them.

Every reader of the archive (the pipeline, the importer, `status`, the metrics, the backfill) asks here, so
a condition such as "pending and due" is written once.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    BindParameter,
    ColumnElement,
    Connection,
    Insert,
    Integer,
    Select,
    Table,
    Text,
    Update,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.sql import Executable

from scraper.hosts import host_key
from scraper.store import arrays
from scraper.store.leases import chunks
from scraper.store.models import Article, ArticleStatus, RawPage
from scraper.store.plain_rows import named_rows
from scraper.store.work_due import claimable, due_count, pending_and_due

# claimable, due_count and pending_and_due are defined with the other conditions of what is due (work_due)
__all__ = ["claimable", "claimable_bound", "claimable_params", "due_count", "pending_and_due"]


@functools.lru_cache(maxsize=8)
def claimable_bound(
    left_out: bool, excluded: bool, postgresql: bool = False
) -> tuple[ColumnElement[bool], ...]:
    """`claimable` with bound values (`claimable_params`), built once per shape (with or without hosts
    left out, ids excluded), so that a claim's statement is built once and kept (scraper.store.leases).
    On PostgreSQL the lists are arrays (scraper.store.arrays.in_list): one statement whatever their length."""
    due = bindparam("claim_now", type_=Article.next_attempt_at.type)
    where = [
        Article.status == ArticleStatus.PENDING,
        or_(Article.next_attempt_at.is_(None), Article.next_attempt_at <= due),
    ]
    if left_out:
        hosts = arrays.in_list(Article.host, "claim_left_out", postgresql=postgresql, negate=True)
        where.append(or_(Article.host.is_(None), hosts))
    if excluded:
        where.append(arrays.in_list(Article.id, "claim_excluded", postgresql=postgresql, negate=True))
    return tuple(where)


def claimable_params(
    now: datetime, left_out_hosts: Sequence[str] = (), exclude_ids: Collection[int] = ()
) -> dict[str, Any]:
    """The values of `claimable_bound(bool(left_out_hosts), bool(exclude_ids))`."""
    return {
        "claim_now": now,
        "claim_left_out": list(left_out_hosts),
        "claim_excluded": sorted(exclude_ids),
    }


def known_keys(
    session: Session, feed_id: int | None, keys: Sequence[str], guids: Sequence[str | None]
) -> Iterable[Any]:
    """(canonical_url, guid, feed_id) of the rows holding one of these URLs, or one of these GUIDs in
    this feed. On PostgreSQL the lists go as two arrays (`= ANY`), so the statement is the same whatever
    their length: built and parsed once, where an `IN` of each value is a statement of its own."""
    connection = session.connection()
    if arrays.on_psycopg(connection):
        values = {"all_keys": list(keys), "all_guids": list(guids), "feed": feed_id}
        return arrays.execute(connection, _known_keys_any(feed_id is None), values)
    return session.execute(
        select(Article.canonical_url, Article.guid, Article.feed_id).where(
            or_(Article.canonical_url.in_(keys), (Article.feed_id == feed_id) & Article.guid.in_(guids))
        )
    )


@functools.lru_cache(maxsize=2)
def _known_keys_any(no_feed: bool) -> Executable:
    """`known_keys`' query with its lists as bound arrays; `no_feed`: the GUIDs of rows under no feed (as
    `feed_id == None` is `IS NULL` in the query it stands for)."""
    keys = bindparam("all_keys", type_=ARRAY(Text())).cast(ARRAY(Text()))
    guids = bindparam("all_guids", type_=ARRAY(Text())).cast(ARRAY(Text()))
    feed = Article.feed_id.is_(None) if no_feed else Article.feed_id == bindparam("feed", type_=Integer())
    return select(Article.canonical_url, Article.guid, Article.feed_id).where(
        or_(Article.canonical_url == func.any(keys), feed & (Article.guid == func.any(guids)))
    )


def by_canonical_url(session: Session, keys: Collection[str]) -> dict[str, Article]:
    query = select(Article).where(Article.canonical_url.in_(_keys()))
    return {a.canonical_url: a for a in session.scalars(query, {"keys": list(keys)})}


def post_path_owners(session: Session, paths: Collection[str]) -> dict[str | None, str]:
    """Post path -> the canonical URL of the article holding it, for those of `paths` held."""
    owned = select(Article.post_path, Article.canonical_url).where(Article.post_path.in_(_keys()))
    return {path: key for path, key in session.execute(owned, {"keys": list(paths)})}


def held_post_paths(session: Session, paths: Collection[str]) -> set[str]:
    """Those of `paths` an article holds (by the unique index on post_path)."""
    query = select(Article.post_path).where(Article.post_path.in_(_keys()))
    return set(session.scalars(query, {"keys": list(paths)}))


def _keys() -> BindParameter[Any]:
    """`IN (...)` of a list given at execution: an import asks these a batch of 2,000 at a time, and a
    list written into the statement is coerced value by value in Python (a fifth of storing a batch)."""
    return bindparam("keys", expanding=True)


def insert_articles(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """New article rows in one statement (an import adds thousands a second: no ORM object per row)."""
    if rows:
        session.execute(insert(cast(Table, Article.__table__)), list(rows))


def insert_returning_ids(session: Session, rows: Sequence[dict[str, Any]]) -> list[int]:
    """New article rows in one statement, their ids returned in the rows' order: a poll queues a feed's
    new entries this way (no ORM object per row: the queue is written for every article archived).

    Each id is matched to its row by the canonical URL it comes back with (unique in the table: two rows
    of one URL fail the insert as before), so a plain multi-row INSERT ... RETURNING does: no need for the
    database to return them in order, which costs a counter per row and a sort around the insert
    (`sort_by_parameter_order`), a quarter more CPU for a feed's fifty new entries."""
    if not rows:
        return []
    table = cast(Table, Article.__table__)
    names = tuple(rows[0])
    if "host" not in names and _constant_defaults(names) is not None:
        connection = session.connection()
        if arrays.as_arrays(connection, rows, "canonical_url"):
            values = {f"all_{name}": [row[name] for row in rows] for name in names}
            values["all_host"] = [host_key(row.get("url") or "") for row in rows]  # the column's default
            for name, value in (_constant_defaults(names) or {}).items():
                values[f"all_{name}"] = [value] * len(rows)
            found = arrays.execute(connection, _insert_article_arrays(names), values)
            ids = {url: row_id for row_id, url in cast("Iterable[tuple[int, str]]", found)}
            return [ids[row["canonical_url"]] for row in rows]
    statement = insert(table).returning(table.c.id, table.c.canonical_url)
    ids = {url: row_id for row_id, url in session.execute(statement, list(rows))}
    return [ids[row["canonical_url"]] for row in rows]


@functools.lru_cache(maxsize=8)
def _constant_defaults(names: tuple[str, ...]) -> dict[str, Any] | None:
    """The values the article columns not in `names` take by default, when each is a constant (the host,
    computed from the URL, aside: the caller gives it); None if another default must be computed."""
    table = cast(Table, Article.__table__)
    constants: dict[str, Any] = {}
    for column in table.columns:
        if column.name in names or column.name == "host" or column.default is None:
            continue
        if not column.default.is_scalar:
            return None
        constants[column.name] = column.default.arg  # type: ignore[attr-defined]
    return constants


@functools.lru_cache(maxsize=8)
def _insert_article_arrays(names: tuple[str, ...]) -> Insert:
    """`insert_returning_ids`' statement for several rows on PostgreSQL: INSERT ... SELECT from unnest()
    of one array per column (scraper.store.arrays), the host and the constant defaults given as arrays too."""
    table = cast(Table, Article.__table__)
    every = (*names, "host", *(_constant_defaults(names) or {}))
    rows = arrays.unnest(table, every)
    chosen = select(*(rows.c[name] for name in every))
    inserted = insert(table).from_select(list(every), chosen, include_defaults=False)
    return inserted.returning(table.c.id, table.c.canonical_url)


def reextract_candidates(
    session: Session, feed_id: int | None, *, after: int = 0, limit: int | None = None
) -> list[int]:
    """Articles with a stored page worth extracting again: archived from the page, or failed on a 2xx.
    In id order; `after` and `limit` give one window of them (a re-extraction of a million streams)."""
    query = _reextract_query(select(Article.id), feed_id).where(Article.id > after).order_by(Article.id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def count_reextract_candidates(session: Session, feed_id: int | None) -> int:
    """How many articles reextract_candidates gives in all (a progress bar's total)."""
    return int(session.scalar(_reextract_query(select(func.count()), feed_id)) or 0)


def _reextract_query(query: Select[Any], feed_id: int | None) -> Select[Any]:
    query = (
        query.select_from(Article)
        .join(RawPage, RawPage.article_id == Article.id)
        .where(
            or_(
                (Article.status == ArticleStatus.ARCHIVED) & (Article.content_source == "page"),
                # A failed article's page counts only if it was a 2xx answer (not an error page).
                (Article.status == ArticleStatus.FAILED) & Article.http_status.between(200, 299),
            )
        )
    )
    return query if feed_id is None else query.where(Article.feed_id == feed_id)


def with_pages(session: Session, ids: Sequence[int]) -> Iterable[Article]:
    """These articles with their raw page and feed loaded, in id order."""
    query = (
        select(Article)
        .options(joinedload(Article.page), joinedload(Article.feed))
        .where(Article.id.in_(ids))
        .order_by(Article.id)
    )
    return session.scalars(query).unique()


# --- the outcome of fetches, a batch per transaction -------------------------------------------------


def lock_mine(
    connection: Connection, ids: Sequence[int], node_id: str, columns: Sequence[Any]
) -> dict[int, Any]:
    """Of these articles, those still leased to this node, locked and read (`columns`, as named tuples:
    scraper.store.plain_rows), by id."""
    rows: dict[int, Any] = {}
    statement = _lock_mine_statement(tuple(columns), connection.dialect.name == "postgresql")
    for chunk in chunks(sorted(set(ids))):
        for row in named_rows(connection.execute(statement, {"ids": list(chunk), "node": node_id})):
            rows[row.id] = row
    return rows


# The outcome batch's statements are built once per shape and reused (an expanding IN, bound values):
# a batch is written every few articles, and building and keying a statement costs as much as running it.


@functools.lru_cache(maxsize=32)
def _lock_mine_statement(columns: tuple[Any, ...], postgresql: bool) -> Select[Any]:
    ids = arrays.in_list(Article.id, "ids", postgresql=postgresql)
    return (
        select(*columns)
        .where(ids, Article.lease_owner == bindparam("node"))
        .order_by(Article.id)  # locks taken in id order, as the heartbeat takes them
        .with_for_update()
    )


@functools.lru_cache(maxsize=64)
def _update_statement(columns: tuple[str, ...], keep_lease: bool, expires: Any) -> Update:
    """`expires`: None (a bound `lease_until` per row), or the SQL expression of a new expiry (the
    database's clock: scraper.store.nodes.sql_now, itself made once per length)."""
    articles = cast(Table, Article.__table__)
    statement = (
        update(articles)
        .where(articles.c.id == bindparam("row_id"))
        .values({name: bindparam(f"new_{name}") for name in columns})
    )
    if not keep_lease:
        return statement.values(lease_owner=None, lease_expires_at=None)
    until = bindparam("lease_until") if expires is None else expires
    return statement.values(lease_owner=bindparam("lease_node"), lease_expires_at=until)


def update_many(
    connection: Connection,
    columns: Sequence[str],
    batch: list[dict[str, Any]],
    lease_owner: str | None,
    lease_expires_at: datetime | ColumnElement[datetime] | None,
) -> None:
    """One UPDATE for rows changing the same `columns`: each item `row_id` and `new_<column>` values. The
    lease is released, or (`lease_owner`) kept until `lease_expires_at`.

    On PostgreSQL a batch of several rows is one statement over arrays of their values (scraper.store.arrays);
    elsewhere, and for one row, the statement is run once per row (the driver's executemany)."""
    expression: ColumnElement[datetime] | None = None
    extra: dict[str, Any] = {}
    if lease_owner is not None:
        extra["lease_node"] = lease_owner
        if isinstance(lease_expires_at, BindParameter):  # a value (SQLite's clock): bound
            extra["lease_until"] = lease_expires_at.value
        elif isinstance(lease_expires_at, ColumnElement):  # the database's clock: part of the statement
            expression = lease_expires_at
        else:
            extra["lease_until"] = lease_expires_at
    keep = lease_owner is not None
    if arrays.as_arrays(connection, batch, "row_id"):
        names = tuple(columns)
        values = {"all_id": [item["row_id"] for item in batch]}
        values |= {f"all_{name}": [item[f"new_{name}"] for item in batch] for name in names}
        arrays.execute(connection, _update_arrays(names, keep, expression), values | extra)
        return
    statement = _update_statement(tuple(columns), keep, expression)
    connection.execute(statement, [item | extra for item in batch] if extra else batch)


@functools.lru_cache(maxsize=64)
def _update_arrays(columns: tuple[str, ...], keep_lease: bool, expires: Any) -> Update:
    """`_update_statement` for a whole batch on PostgreSQL: UPDATE ... FROM unnest(the arrays)."""
    articles = cast(Table, Article.__table__)
    rows = arrays.unnest(articles, ("id", *columns))
    statement = (
        update(articles).where(articles.c.id == rows.c.id).values({name: rows.c[name] for name in columns})
    )
    if not keep_lease:
        return statement.values(lease_owner=None, lease_expires_at=None)
    until = bindparam("lease_until", type_=articles.c.lease_expires_at.type) if expires is None else expires
    return statement.values(lease_owner=bindparam("lease_node"), lease_expires_at=until)


def keep_raw_pages(connection: Connection, pages: list[dict[str, Any]], refetched: Sequence[int]) -> None:
    """Insert these raw pages; `refetched` articles had one before, replaced. On PostgreSQL several are
    one statement over arrays (scraper.store.arrays)."""
    table = cast(Table, RawPage.__table__)
    for chunk in chunks(list(refetched)):
        connection.execute(delete(table).where(table.c.article_id.in_(chunk)))
    if not pages:
        return
    if arrays.as_arrays(connection, pages, "article_id"):
        names = tuple(pages[0])
        values = {f"all_{name}": [page[name] for page in pages] for name in names}
        arrays.execute(connection, _insert_page_arrays(names), values)
        return
    connection.execute(_insert_pages(), pages)


@functools.cache
def _insert_pages() -> Insert:
    return insert(cast(Table, RawPage.__table__))


@functools.lru_cache(maxsize=8)
def _insert_page_arrays(names: tuple[str, ...]) -> Insert:
    """`_insert_pages` for a whole batch on PostgreSQL: INSERT ... SELECT from unnest(the arrays)."""
    table = cast(Table, RawPage.__table__)
    rows = arrays.unnest(table, names)
    return insert(table).from_select(list(names), select(*(rows.c[name] for name in names)))


def fail_unstorable(connection: Connection, article_id: int, node_id: str, reason: str) -> bool:
    """Mark an article whose outcome the database refused as failed, with the reason, an attempt counted
    and its lease released; False when the lease is no longer this node's."""
    done = connection.execute(
        update(Article)
        .where(Article.id == article_id, Article.lease_owner == node_id)
        .values(
            status=ArticleStatus.FAILED,
            attempts=Article.attempts + 1,
            last_error=reason[:2000],
            next_attempt_at=None,
            lease_owner=None,
            lease_expires_at=None,
        ),
        execution_options={"synchronize_session": False},
    )
    return bool(done.rowcount)
