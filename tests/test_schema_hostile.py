"""A hostile alembic_version: two rows, one the ancestor of the other (a hand edit, a half-restored
backup). The schema check must refuse it with SchemaRevisionError naming the fix, not Alembic's bare
CommandError."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from scraper.errors import SchemaRevisionError
from scraper.store.db import head_revisions, make_engine, upgrade


def test_alembic_version_with_head_and_its_ancestor_is_refused(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'two.db'}")
    upgrade(engine)
    assert len(head_revisions()) == 1
    with engine.begin() as connection:
        connection.execute(text("insert into alembic_version values ('0002')"))
    with pytest.raises(SchemaRevisionError, match="0002"):
        upgrade(engine)
    engine.dispose()
