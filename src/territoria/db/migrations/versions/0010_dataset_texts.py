"""Dataset titles and descriptions per language (issue 15, item 8)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 04:00:00.000000

`dataset.titles` and `dataset.descriptions` hold the texts per language ({"en": …, "fr": …});
`title`/`description` keep the authority's own wording and are read for any language the maps lack,
so a third language needs no migration.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


# Plain ALTER TABLE (no batch copy): on SQLite a batch would recreate `dataset`, and dropping the old
# table would cascade to every row that references it.


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("dataset", sa.Column("titles", JSON, nullable=False, server_default=sa.text("'{}'")))
    op.add_column("dataset", sa.Column("descriptions", JSON, nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    """Revert this revision."""
    op.drop_column("dataset", "descriptions")
    op.drop_column("dataset", "titles")
