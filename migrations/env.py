"""Alembic environment: runs against the engine the program hands over (scraper.store.db.upgrade),
or against SCRAPER_DATABASE_URL / sqlalchemy.url when called from the alembic command line."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Engine

from scraper.store.db import make_engine
from scraper.store.models import Base

config = context.config
target_metadata = Base.metadata


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine
    url = os.environ.get("SCRAPER_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set SCRAPER_DATABASE_URL or sqlalchemy.url")
    return make_engine(url)


def run_migrations() -> None:
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
