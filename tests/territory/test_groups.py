"""EPCI areas built from a commune-to-EPCI table."""

from __future__ import annotations

from pathlib import Path

import pytest
from shapely.geometry import shape
from sqlalchemy import select

from territoria.context import Context
from territoria.simulate.service import ensure_territory
from territoria.territory.groups import DEFAULT_EPCI, group_of, load_groups, read_membership
from territoria.territory.models import Area
from territoria.territory.service import TerritoryError


def test_the_packaged_table_groups_all_163_communes_into_7_epcis(ctx: Context) -> None:
    ensure_territory(ctx)
    with ctx.session() as s:
        epcis = {a.code: a for a in s.scalars(select(Area).where(Area.level == "epci"))}
        communes = {a.code: a for a in s.scalars(select(Area).where(Area.level == "commune"))}
        of = group_of(s)
    assert len(epcis) == 7 and len(of) == 163
    metro = epcis["200030195"]
    assert metro.name == "Métropole Nice Côte d'Azur"
    members = [c for c in communes.values() if c.parent_code == metro.code]
    assert len(members) == 51 and of["06088"] == metro.code  # Nice
    assert metro.population == sum(c.population or 0 for c in members)
    assert sum(e.population or 0 for e in epcis.values()) == sum(c.population or 0 for c in communes.values())
    # the merged outline contains each member's interior
    outline = shape(metro.geometry)
    assert all(outline.buffer(0.001).contains(shape(c.geometry).representative_point()) for c in members)


def test_insee_style_columns_and_semicolons_are_read(tmp_path: Path) -> None:
    path = tmp_path / "appartenance.csv"
    path.write_text(
        "\ufeffCODGEO;LIBGEO;EPCI;LIBEPCI\n06088;Nice;200030195;Métropole NCA\n", encoding="utf-8"
    )
    assert read_membership(path) == {"06088": ("200030195", "Métropole NCA")}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("commune,name\n06088,Nice\n", "no group code column"),
        ("code,name\n06088,Nice\n", "no commune code column"),
        ("commune,epci\n06088,\n", "line 2"),
        ("commune,epci\n06088,1\n06088,2\n", "two groups"),
    ],
)
def test_bad_tables_are_refused_with_what_to_fix(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "groups.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TerritoryError, match=message):
        read_membership(path)


def test_groups_need_communes_first(ctx: Context) -> None:
    with ctx.session(write=True) as s, pytest.raises(TerritoryError, match="territory load"):
        load_groups(s, DEFAULT_EPCI)
