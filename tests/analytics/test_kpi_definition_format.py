"""A KPI definition file holds one mapping or a list; the README's example is a valid definition."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.conftest import World

from territoria.analytics.definitions import load_yaml
from territoria.errors import Invalid

README = Path(__file__).resolve().parents[2] / "README.md"
ONE = """
code: lights_on_share
title: {fr: Allumés, en: Lit}
description: {fr: Part allumée, en: Share lit}
dataset: lights
metric: power
aggregation: share
condition: {of: max, op: ">=", value: 1}
unit: "%"
"""


def readme_example() -> str:
    match = re.search(r"`my-kpi\.yaml`:\n\n```yaml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert match is not None, "the README shows a KPI definition file"
    return match.group(1)


def test_one_mapping_or_a_list_and_the_readme_example() -> None:
    assert [k.code for k in load_yaml(ONE)] == ["lights_on_share"]
    assert [k.code for k in load_yaml("- " + ONE.strip().replace("\n", "\n  "))] == ["lights_on_share"]
    example = load_yaml(readme_example(), "README")
    assert example[0].code == "lighting_energy_per_km2" and example[0].normalise == "per_km2"
    with pytest.raises(Invalid):
        load_yaml("just a string")


def test_the_api_takes_one_yaml_mapping_and_a_json_list_of_one(world: World) -> None:
    yaml_type = {**world.operator, "content-type": "application/yaml"}
    r = world.client.post("/api/v1/kpis", content=ONE.encode(), headers=yaml_type)
    assert r.status_code == 201, r.text
    body = load_yaml(ONE)[0].model_dump(mode="json") | {"code": "lights_on_share_2"}
    r = world.client.post("/api/v1/kpis", json=[body], headers=world.operator)
    assert r.status_code == 201, r.text
    r = world.client.post("/api/v1/kpis", json=[body, body], headers=world.operator)
    assert r.status_code == 422 and "one KPI definition" in r.text
