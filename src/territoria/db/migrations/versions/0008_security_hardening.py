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


def downgrade() -> None:
    """Revert this revision."""
