"""quality stage

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 13:06:16.051528
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from territoria.db.base import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "quality_run",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("checked_until", UTCDateTime(), nullable=True),
        sa.Column("last_batch_at", UTCDateTime(), nullable=True),
        sa.Column("last_run_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["dataset.id"], name=op.f("fk_quality_run_dataset_id_dataset"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("dataset_id", name=op.f("pk_quality_run")),
    )
    op.create_table(
        "quality_score",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("day", UTCDateTime(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("warnings", sa.Integer(), nullable=False),
        sa.Column("delay_s", sa.Float(), nullable=True),
        sa.Column("completeness", sa.Float(), nullable=True),
        sa.Column("validity", sa.Float(), nullable=True),
        sa.Column("freshness", sa.Float(), nullable=True),
        sa.Column("consistency", sa.Float(), nullable=True),
        sa.Column("overall", sa.Float(), nullable=True),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_quality_score_dataset_id_dataset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_quality_score_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dataset_id", "day", name=op.f("pk_quality_score")),
    )
    with op.batch_alter_table("quality_score", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quality_score_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "schema_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "table_schema",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_schema_version_dataset_id_dataset"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schema_version")),
        sa.UniqueConstraint("dataset_id", "version", name=op.f("uq_schema_version_dataset_id_version")),
    )
    with op.batch_alter_table("schema_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_schema_version_dataset_id"), ["dataset_id"], unique=False)

    op.create_table(
        "finding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=True),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(length=100), nullable=True),
        sa.Column("start_ts", UTCDateTime(), nullable=True),
        sa.Column("end_ts", UTCDateTime(), nullable=True),
        sa.Column("message_en", sa.Text(), nullable=False),
        sa.Column("message_fr", sa.Text(), nullable=False),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("fingerprint", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batch.id"], name=op.f("fk_finding_batch_id_batch"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["dataset.id"], name=op.f("fk_finding_dataset_id_dataset"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding")),
        sa.UniqueConstraint("dataset_id", "fingerprint", name=op.f("uq_finding_dataset_id_fingerprint")),
    )
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_finding_asset_id"), ["asset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_finding_code"), ["code"], unique=False)
        batch_op.create_index(batch_op.f("ix_finding_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_finding_series_id"), ["series_id"], unique=False)

    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replay_of", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("schema_version", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_batch_replay_of"), ["replay_of"], unique=False)

    with op.batch_alter_table("dataset", schema=None) as batch_op:
        batch_op.add_column(sa.Column("schema_version", sa.Integer(), nullable=False, server_default="1"))

    with op.batch_alter_table("metric", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_rate_per_h", sa.Float(), nullable=True))

    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolved_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("resolved_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("resolution_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("replay_batch_id", sa.String(length=36), nullable=True))

    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("schema_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("quality_run")
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.drop_column("schema_version")

    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_column("replay_batch_id")
        batch_op.drop_column("resolution_reason")
        batch_op.drop_column("resolved_by")
        batch_op.drop_column("resolved_at")

    with op.batch_alter_table("metric", schema=None) as batch_op:
        batch_op.drop_column("max_rate_per_h")

    with op.batch_alter_table("dataset", schema=None) as batch_op:
        batch_op.drop_column("schema_version")

    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batch_replay_of"))
        batch_op.drop_column("schema_version")
        batch_op.drop_column("replay_of")

    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_finding_series_id"))
        batch_op.drop_index(batch_op.f("ix_finding_dataset_id"))
        batch_op.drop_index(batch_op.f("ix_finding_code"))
        batch_op.drop_index(batch_op.f("ix_finding_asset_id"))

    op.drop_table("finding")
    with op.batch_alter_table("schema_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schema_version_dataset_id"))

    op.drop_table("schema_version")
    with op.batch_alter_table("quality_score", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quality_score_organisation_id"))

    op.drop_table("quality_score")
