"""Findings store a message code and its parameters instead of sentences in two languages (issue 14)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 00:30:00.000000

`finding.message_en`/`message_fr` become `message_code` (a gettext catalog msgid) and
`message_params` (JSON): pages and APIs write the message in the reader's language from the catalogs,
so a third language needs a catalog, not a migration. Stored sentences are parsed back into their code
and parameters where the rule's English wording is recognised (the patterns below are frozen at this
revision, whatever the catalogs say later); any other row keeps its two sentences as the parameters
of the generic code `finding.text`.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TEXT_CODE = "finding.text"
_HOURS = r"(?P<hours>\d+(?:\.\d+)?)"
# Rule code → (message code, English sentence as the rules wrote it up to revision 0008).
PATTERNS: list[tuple[str, str, re.Pattern[str]]] = [
    (
        "GAP",
        "finding.GAP.open",
        re.compile(
            rf"no data for {_HOURS} h from (?P<start>\S+) to (?P<end>\S+) \(still silent\): "
            r"about (?P<missing>\d+) expected readings missing"
        ),
    ),
    (
        "GAP",
        "finding.GAP",
        re.compile(
            rf"no data for {_HOURS} h from (?P<start>\S+) to (?P<end>\S+): "
            r"about (?P<missing>\d+) expected readings missing"
        ),
    ),
    (
        "STUCK_VALUE",
        "finding.STUCK_VALUE",
        re.compile(
            rf"the value (?P<value>\S+) repeats (?P<count>\d+) times over {_HOURS} h "
            r"\((?P<start>\S+) to (?P<end>\S+)\): the sensor may be frozen"
        ),
    ),
    (
        "STALE_SOURCE",
        "finding.STALE_SOURCE.series",
        re.compile(
            r"series (?P<asset>.+)/(?P<metric>[^/]+) has sent nothing since (?P<since>\S+) "
            rf"\({_HOURS} h, expected every (?P<interval>\d+) s\)"
        ),
    ),
    (
        "STALE_SOURCE",
        "finding.STALE_SOURCE.dataset",
        re.compile(
            r"dataset (?P<dataset>.+) has sent nothing since (?P<since>\S+) "
            rf"\({_HOURS} h, expected every (?P<interval>\d+) s\)"
        ),
    ),
    (
        "DUPLICATE",
        "finding.DUPLICATE.batch",
        re.compile(
            r"(?P<n>\d+) point\(s\) of this batch were already received with the same value and are kept "
            r"once \(rows (?P<rows>.*)\)"
        ),
    ),
]
INTEGERS = {"missing", "count", "interval", "n"}

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
finding = sa.table(
    "finding",
    sa.column("id", sa.Integer()),
    sa.column("code", sa.String()),
    sa.column("message_en", sa.Text()),
    sa.column("message_fr", sa.Text()),
    sa.column("message_code", sa.String()),
    sa.column("message_params", JSON),
)


def parse(rule: str, en: str, fr: str) -> tuple[str, dict[str, Any]]:
    """The message code and parameters of a stored finding's sentences (the generic code if unknown)."""
    for code, message_code, pattern in PATTERNS:
        found = pattern.fullmatch(en) if code == rule else None
        if found:
            params: dict[str, Any] = {}
            for name, value in found.groupdict().items():
                params[name] = int(value) if name in INTEGERS else float(value) if name == "hours" else value
            return message_code, params
    return TEXT_CODE, {"en": en, "fr": fr}


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("finding") as batch:
        batch.add_column(sa.Column("message_code", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("message_params", JSON, nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.select(finding.c.id, finding.c.code, finding.c.message_en, finding.c.message_fr))
    updates = []
    for row_id, rule, en, fr in rows:
        code, params = parse(rule, en or "", fr or "")
        updates.append({"row_id": row_id, "message_code": code, "message_params": params})
    if updates:
        stmt = (
            finding.update()
            .where(finding.c.id == sa.bindparam("row_id"))
            .values(message_code=sa.bindparam("message_code"), message_params=sa.bindparam("message_params"))
        )
        bind.execute(stmt, updates)
    with op.batch_alter_table("finding") as batch:
        batch.alter_column("message_code", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("message_params", existing_type=JSON, nullable=False)
        batch.drop_column("message_en")
        batch.drop_column("message_fr")


def downgrade() -> None:
    """Revert this revision: the sentences written again, in the wording of today's catalogs."""
    from territoria import i18n

    with op.batch_alter_table("finding") as batch:
        batch.add_column(sa.Column("message_en", sa.Text(), nullable=True))
        batch.add_column(sa.Column("message_fr", sa.Text(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.select(finding.c.id, finding.c.message_code, finding.c.message_params))
    updates = [
        {
            "row_id": row_id,
            "message_en": i18n.message(code, params or {}, "en"),
            "message_fr": i18n.message(code, params or {}, "fr"),
        }
        for row_id, code, params in rows
    ]
    if updates:
        stmt = (
            finding.update()
            .where(finding.c.id == sa.bindparam("row_id"))
            .values(message_en=sa.bindparam("message_en"), message_fr=sa.bindparam("message_fr"))
        )
        bind.execute(stmt, updates)
    with op.batch_alter_table("finding") as batch:
        batch.alter_column("message_en", existing_type=sa.Text(), nullable=False)
        batch.alter_column("message_fr", existing_type=sa.Text(), nullable=False)
        batch.drop_column("message_code")
        batch.drop_column("message_params")
