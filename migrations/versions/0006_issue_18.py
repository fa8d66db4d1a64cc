"""captures: where a raw page's WARC capture is (file name, offset of its response record)

Revision ID: 0006_issue_18
Revises: 0006_issue_13
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_issue_18"
down_revision = "0006_issue_13"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("raw_pages") as batch:
        batch.add_column(sa.Column("warc_file", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("warc_offset", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("raw_pages") as batch:
        batch.drop_column("warc_offset")
        batch.drop_column("warc_file")
