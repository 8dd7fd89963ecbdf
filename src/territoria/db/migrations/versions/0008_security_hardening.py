"""Security and robustness hardening (issue 13): one revision, one section per concern

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 21:15:00.000000

Each concern adds its schema changes in its own pair of functions below and calls them from
upgrade()/downgrade(), so that the fixes of one issue share one revision and one head.
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401 - used by the sections below
from alembic import op  # noqa: F401 - used by the sections below

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    # Sections are appended here: accounts (pending memberships), ingest (dead letters), audit.
    _upgrade_accounts()
    _upgrade_audit()
    _upgrade_ingest()


def downgrade() -> None:
    """Revert this revision."""
    _downgrade_ingest()
    _downgrade_audit()
    _downgrade_accounts()


# --- accounts: roles offered to existing accounts, waiting for their consent ------------------------


def _upgrade_accounts() -> None:
    """The membership_offer table: a role offered to an existing person until they accept it."""
    from territoria.db.base import UTCDateTime

    op.create_table(
        "membership_offer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("offered_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_membership_offer_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_membership_offer_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_offer")),
        sa.UniqueConstraint(
            "user_id", "organisation_id", name=op.f("uq_membership_offer_user_id_organisation_id")
        ),
    )
    with op.batch_alter_table("membership_offer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_membership_offer_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_membership_offer_user_id"), ["user_id"], unique=False)


def _downgrade_accounts() -> None:
    """Drop the membership_offer table."""
    op.drop_table("membership_offer")


# --- audit: keyed chain (hash_version) and an append-only table --------------------------------------

AUDIT_REFUSE_PG = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def _upgrade_audit() -> None:
    """hash_version (1 for the existing SHA-256 rows); triggers refusing UPDATE, DELETE (and TRUNCATE)."""
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("hash_version", sa.SmallInteger(), server_default=sa.text("1"), nullable=False)
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(AUDIT_REFUSE_PG)
        op.execute(
            "CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
            f"BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: {verb} refused'); END"
        )


def _downgrade_audit() -> None:
    """Drop the triggers and hash_version."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("hash_version")


# --- ingest: dead letters of the MQTT worker --------------------------------------------------------


def _upgrade_ingest() -> None:
    """The ingest_dead_letter table: messages neither stored nor quarantined after bounded retries."""
    from territoria.db.base import UTCDateTime

    op.create_table(
        "ingest_dead_letter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("dataset", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_dead_letter")),
    )
    with op.batch_alter_table("ingest_dead_letter", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ingest_dead_letter_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ingest_dead_letter_dataset"), ["dataset"], unique=False)


def _downgrade_ingest() -> None:
    """Drop the ingest_dead_letter table."""
    op.drop_table("ingest_dead_letter")
