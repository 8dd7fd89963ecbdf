"""EV: history of which charge points belong to which station

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 20:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from territoria.db.base import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "ev_station_membership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("id_pdc", sa.String(length=100), nullable=False),
        sa.Column("id_station", sa.String(length=100), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
        sa.Column("first_batch", sa.String(length=36), nullable=False),
        sa.Column("last_batch", sa.String(length=36), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_ev_station_membership_dataset_id_dataset"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ev_station_membership")),
    )
    with op.batch_alter_table("ev_station_membership", schema=None) as batch_op:
        batch_op.create_index("ix_ev_station_membership_point", ["dataset_id", "id_pdc"], unique=False)
        batch_op.create_index("ix_ev_station_membership_station", ["id_station"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("ev_station_membership", schema=None) as batch_op:
        batch_op.drop_index("ix_ev_station_membership_station")
        batch_op.drop_index("ix_ev_station_membership_point")
    op.drop_table("ev_station_membership")
