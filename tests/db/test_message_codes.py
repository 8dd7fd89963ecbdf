"""Revision 0009: findings stored as sentences become a message code and parameters, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import select
from tests.conftest import LIGHTS

from territoria.context import Context
from territoria.db.base import JSONType, UTCDateTime
from territoria.db.migrate import alembic_config, upgrade
from territoria.ingest.models import FindingRow
from territoria.quality.rules import duplicate, gap
from territoria.settings import Settings

START = "2026-11-01T00:00:00+00:00"
END = "2026-11-01T02:30:00+00:00"
# Sentences as the rules of revision 0008 wrote them.
OLD = [
    (
        "GAP",
        f"no data for 2.5 h from {START} to {END}: about 10 expected readings missing",
        f"aucune donnée pendant 2,5 h du {START} au {END} : environ 10 relevés attendus manquants",
    ),
    (
        "DUPLICATE",
        "3 point(s) of this batch were already received with the same value and are kept once (rows 2, 4, 5)",
        "3 point(s) de ce lot avaient déjà été reçus avec la même valeur et ne sont conservés qu'une fois "
        "(lignes 2, 4, 5)",
    ),
    ("RANGE", "value 900 is above the maximum 400", "valeur 900 au-dessus du maximum 400"),
    ("GAP", "a sentence some older code wrote", "une phrase d'un code plus ancien"),
]

old_finding = sa.table(
    "finding",
    sa.column("dataset_id", sa.Integer()),
    sa.column("code", sa.String()),
    sa.column("severity", sa.String()),
    sa.column("message_en", sa.Text()),
    sa.column("message_fr", sa.Text()),
    sa.column("details", JSONType),
    sa.column("fingerprint", sa.String()),
    sa.column("status", sa.String()),
    sa.column("created_at", UTCDateTime()),
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def at_0008(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Context]:
    """A database migrated to revision 0008 only, with a dataset and findings stored as sentences."""
    on_pg = request.param == "postgresql"
    url = request.getfixturevalue("pg_schema") if on_pg else f"sqlite:///{tmp_path}/m.db"
    ctx = Context(Settings(database_url=url, demo=True))
    upgrade(ctx.engine, "0008")
    with ctx.session(write=True) as s:
        # Tables as revision 0008 has them (the models have moved on: dataset.titles came with 0010).
        meta = sa.MetaData()
        org = sa.Table("organisation", meta, autoload_with=s.connection())
        dataset = sa.Table("dataset", meta, autoload_with=s.connection())
        now = datetime.now(UTC)
        owner_id = s.execute(
            org.insert().values(slug="lightco", name="LightCo", kind="operator", created_at=now)
        ).inserted_primary_key[0]
        ds_id = s.execute(
            dataset.insert().values(
                slug=LIGHTS.slug,
                title=LIGHTS.title,
                description="",
                domain=LIGHTS.domain,
                kind=LIGHTS.kind,
                owner_id=owner_id,
                licence="etalab-2.0",
                access="private",
                keywords=[],
                schema_version=1,
                personal_fields=[],
                dcat={},
                created_at=now,
                updated_at=now,
            )
        ).inserted_primary_key[0]
        rows = [
            {"dataset_id": ds_id, "code": code, "severity": "warning", "message_en": en, "message_fr": fr}
            | {"details": {}, "fingerprint": f"f{i}", "status": "open", "created_at": datetime.now(UTC)}
            for i, (code, en, fr) in enumerate(OLD)
        ]
        s.execute(old_finding.insert(), rows)
    yield ctx
    ctx.engine.dispose()


def _downgrade(ctx: Context, revision: str) -> None:
    cfg = alembic_config()
    with ctx.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)


def test_stored_sentences_become_codes_and_read_in_each_language(at_0008: Context) -> None:
    upgrade(at_0008.engine)
    with at_0008.session() as s:
        found = list(s.scalars(select(FindingRow).order_by(FindingRow.fingerprint)))
        stored = [(f.message_code, f.message_params) for f in found]
        assert stored[0] == ("finding.GAP", {"hours": 2.5, "start": START, "end": END, "missing": 10})
        assert stored[1] == ("finding.DUPLICATE.batch", {"n": 3, "rows": "2, 4, 5"})
        assert stored[2] == ("finding.text", {"en": OLD[2][1], "fr": OLD[2][2]})
        assert stored[3] == ("finding.text", {"en": OLD[3][1], "fr": OLD[3][2]})
        # The parsed rows read as the rules write today; the plural reads right in both languages.
        assert found[0].message_fr == OLD[0][2] and found[0].message_en == OLD[0][1]
        assert found[1].message_en.startswith("3 points of this batch were already received")
        assert found[1].message_fr.startswith("3 points de ce lot avaient déjà été reçus")
        assert [f.message("fr") for f in found[2:]] == [OLD[2][2], OLD[3][2]]
        assert [f.message("en") for f in found[2:]] == [OLD[2][1], OLD[3][1]]
    _downgrade(at_0008, "0008")
    with at_0008.engine.connect() as conn:
        back = conn.execute(sa.text("SELECT message_en, message_fr FROM finding ORDER BY fingerprint")).all()
    assert back[0] == (OLD[0][1], OLD[0][2]) and back[2] == (OLD[2][1], OLD[2][2])
    upgrade(at_0008.engine)  # and up again: the same codes
    with at_0008.session() as s:
        assert (
            s.scalar(select(FindingRow.message_code).where(FindingRow.fingerprint == "f0")) == "finding.GAP"
        )


def test_the_rules_store_codes_that_read_like_their_old_sentences() -> None:
    silent = gap._gap("L001", "power", 0, 9_000_000_000, 10, open_end=True)
    assert silent.stored_message()[0] == "finding.GAP.open"
    assert "(toujours muette)" in silent.message_fr and "(still silent)" in silent.message_en
    one = duplicate.summary(1, [7])
    assert one is not None and one.message_en == (
        "1 point of this batch was already received with the same value and is kept once (rows 7)"
    )
