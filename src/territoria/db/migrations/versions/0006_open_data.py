"""open data: privacy policies, releases, DCAT metadata on datasets

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from territoria.db.base import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "privacy_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", JSON, nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_privacy_policy_dataset_id_dataset"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_policy")),
        sa.UniqueConstraint("dataset_id", "version", name=op.f("uq_privacy_policy_dataset_id_version")),
    )
    with op.batch_alter_table("privacy_policy", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_privacy_policy_dataset_id"), ["dataset_id"], unique=False)

    op.create_table(
        "release",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("columns", JSON, nullable=False),
        sa.Column("geometry", sa.String(length=16), nullable=False),
        sa.Column("report", JSON, nullable=False),
        sa.Column("changelog", JSON, nullable=False),
        sa.Column("coverage_start", UTCDateTime(), nullable=True),
        sa.Column("coverage_end", UTCDateTime(), nullable=True),
        sa.Column("licence", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["dataset.id"], name=op.f("fk_release_dataset_id_dataset"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release")),
        sa.UniqueConstraint("dataset_id", "version", name=op.f("uq_release_dataset_id_version")),
    )
    with op.batch_alter_table("release", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_release_dataset_id"), ["dataset_id"], unique=False)

    with op.batch_alter_table("dataset", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dcat", JSON, nullable=False, server_default="{}"))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("dataset", schema=None) as batch_op:
        batch_op.drop_column("dcat")
    with op.batch_alter_table("release", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_release_dataset_id"))
    op.drop_table("release")
    with op.batch_alter_table("privacy_policy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_policy_dataset_id"))
    op.drop_table("privacy_policy")
