"""Privacy policies: presets, validation against the dataset, refusals that explain, versions."""

from __future__ import annotations

from typing import Any

import pytest
from tests.conftest import World
from tests.opendata.energy_world import add_meters

from territoria.catalog.service import get_dataset
from territoria.errors import Invalid
from territoria.opendata.policies import current_policy, set_policy


def _set(world: World, body: dict[str, Any]) -> int:
    """Store a policy for the meters dataset from the console; its version."""
    with world.ctx.session(write=True) as s:
        return set_policy(s, get_dataset(s, "meters"), body, None).version


def _refusal(world: World, body: dict[str, Any]) -> Invalid:
    """The error a policy is refused with."""
    with pytest.raises(Invalid) as caught:
        _set(world, body)
    return caught.value


@pytest.fixture
def metered(world: World) -> World:
    """The world with the meters dataset."""
    add_meters(world)
    return world


def test_preset_expands_to_the_french_energy_rules(metered: World) -> None:
    assert _set(metered, {"preset": "fr-energy-by-commune"}) == 1
    with metered.ctx.session() as s:
        body = current_policy(s, get_dataset(s, "meters")).body  # type: ignore[union-attr]
    assert body["k"] == 10 and body["personal_data"] is True
    assert {"field": "segment", "value": "tertiary"}.items() <= body["rules"][1].items()
    assert body["rules"][1]["dominance_p"] == 85
    assert body["measures"][0]["scale"] == 0.5 and body["measures"][0]["unit"] == "kWh"


def test_same_policy_twice_keeps_one_version_and_a_change_adds_one(metered: World) -> None:
    assert _set(metered, {"preset": "fr-energy-by-commune"}) == 1
    assert _set(metered, {"preset": "fr-energy-by-commune"}) == 1
    assert _set(metered, {"preset": "fr-energy-by-commune", "delay_days": 3}) == 2


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        (
            {"preset": "fr-energy-by-commune", "aggregate": {"categories": ["colour"]}},
            "UNKNOWN_FIELD",
            "colour",
        ),
        ({"preset": "fr-energy-by-commune", "k": 500}, "K_UNREACHABLE", "35 contributors"),
        (
            {"preset": "fr-energy-by-commune", "measures": [{"name": "e", "source": "voltage"}]},
            "UNKNOWN_FIELD",
            "voltage",
        ),
        ({"preset": "fr-energy-by-commune", "location": {"to": "iris"}}, "NO_IRIS", "IRIS"),
        ({"preset": "fr-load-curve", "k_by_span": [{"k": 100}]}, "K_UNREACHABLE", "100"),
    ],
)
def test_a_policy_that_cannot_hold_is_refused_with_its_reason(
    metered: World, body: dict[str, Any], code: str, words: str
) -> None:
    error = _refusal(metered, body)
    assert code in [e["code"] for e in error.errors]
    assert words in error.message


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"measures": [{"name": "e", "source": "active_power"}]}, "must aggregate"),
        ({"aggregate": {}, "measures": [{"name": "e", "source": "active_power"}]}, "k ≥ 2"),
        ({"preset": "nope"}, "unknown preset"),
        ({"preset": "fr-energy-by-commune", "kk": 3}, "Extra inputs"),
        ({"preset": "fr-energy-by-commune", "k": "10"}, "integer"),
        ({"preset": "fr-energy-by-commune", "aggregate": {"totals": ["colour"]}}, "totals"),
        ({"preset": "fr-energy-by-commune", "noise": {"epsilon": 1, "clip": {}}}, "clip"),
        ({"preset": "fr-energy-by-commune", "location": {"to": "grid"}}, "grid_m"),
    ],
)
def test_malformed_policies_are_refused(metered: World, body: dict[str, Any], words: str) -> None:
    assert words in _refusal(metered, body).message


def test_policy_api_needs_the_owner_and_explains_refusals(metered: World) -> None:
    client = metered.client
    url = "/api/v1/datasets/meters/privacy-policy"
    assert client.get(url, headers=metered.operator).status_code == 404
    assert client.put(url, json={"preset": "fr-energy-by-commune"}, headers=metered.other).status_code == 404
    assert client.put(url, json={"preset": "fr-energy-by-commune"}).status_code == 404
    answer = client.put(url, json={"preset": "fr-energy-by-commune", "k": 999}, headers=metered.operator)
    assert answer.status_code == 422 and answer.json()["errors"][0]["code"] == "K_UNREACHABLE"
    answer = client.put(url, json={"preset": "fr-energy-by-commune"}, headers=metered.operator)
    assert answer.status_code == 200 and answer.json()["version"] == 1
    assert client.get(url, headers=metered.operator).json()["policy"]["k"] == 10
