"""Steering pages: targets with progress bars, contracts with their last month, the compliance grid; texts in
French and English, cells that say their result in words, visibility."""

from __future__ import annotations

import re

from tests.analytics.steering_world import steering  # noqa: F401 - the fixture
from tests.analytics.test_contracts import BREACH, EMPTY, GOOD, contracted  # noqa: F401 - the fixture
from tests.conftest import World, web_login

from territoria.analytics.steering_pages import month_label

CELL = re.compile(r'<td class="st-cell st-cell--(ok|breach|none)">(.*?)</td>', re.S)
TARGET = {
    "kpi_code": "t_power_avg",
    "plan": "PCAET 2024-2030",
    "baseline_year": 2024,
    "baseline_value": 100,
    "target_year": 2030,
    "target_value": 50,
}


def test_targets_page_shows_progress_and_status(steering: World) -> None:  # noqa: F811
    assert steering.client.post("/api/v1/targets", json=TARGET, headers=steering.admin).status_code == 201
    web_login(steering.ctx, steering.client, org="city", role="viewer")
    fr = steering.client.get("/targets", params={"lang": "fr"})
    assert fr.status_code == 200
    # 2025 mean power 80 W against 100 → 50: 40 % of the way, below the expected 91.7.
    assert "Objectifs des plans" in fr.text and "PCAET 2024-2030" in fr.text
    assert '<progress class="st-progress" max="100" value="40.0"' in fr.text and "40 %" in fr.text
    assert "Sur la trajectoire" in fr.text and "80,0\u00a0W en 2025" in fr.text and "91,7\u00a0W" in fr.text
    en = steering.client.get("/targets", params={"lang": "en"}).text
    assert "Plan targets" in en and "On track" in en and "80.0\u00a0W in 2025" in en and "(reduce)" in en


def test_targets_page_for_visitors_without_access(steering: World) -> None:  # noqa: F811
    assert steering.client.post("/api/v1/targets", json=TARGET, headers=steering.admin).status_code == 201
    anonymous = steering.client.get("/targets", params={"lang": "en"})
    assert anonymous.status_code == 200
    assert "Log in to see the targets" in anonymous.text and "PCAET" not in anonymous.text
    web_login(steering.ctx, steering.client, org="waterco", role="admin")
    assert "PCAET" not in steering.client.get("/targets").text  # cannot read the lights


def test_contracts_list_and_grid(contracted: tuple[World, int]) -> None:  # noqa: F811
    world, cid = contracted
    assert world.client.get("/contracts").status_code == 401  # asked to log in
    web_login(world.ctx, world.client, org="city", role="viewer")
    listing = world.client.get("/contracts", params={"lang": "fr"}).text
    assert "DSP-LUM-01" in listing and "LightCo" in listing
    assert f"/contracts/{cid}/report?month={BREACH.isoformat()[:7]}" in listing and "Manquement" in listing
    page = world.client.get(f"/contracts/{cid}", params={"lang": "en"})
    assert page.status_code == 200
    cells = CELL.findall(page.text)
    assert cells, page.text
    # Never colour alone: every cell says its result in words.
    words = {"ok": "Compliant", "breach": "Breach", "none": "No data"}
    for tone, text in cells:
        assert words[tone] in text or "—" in text
    tones = [tone for tone, _ in cells]
    assert tones.count("breach") == 3 and tones.count("ok") == 3  # GOOD all met, BREACH all missed
    for month in (EMPTY, GOOD, BREACH):
        assert month_label(month, "en") in page.text
    assert "Data completeness" in page.text and "≤\u00a01\u00a0h" in page.text and "33.3\u00a0%" in page.text


def test_contract_pages_visibility(contracted: tuple[World, int]) -> None:  # noqa: F811
    world, cid = contracted
    web_login(world.ctx, world.client, org="lightco", role="viewer")
    assert "DSP-LUM-01" in world.client.get("/contracts").text
    assert world.client.get(f"/contracts/{cid}").status_code == 200
    web_login(world.ctx, world.client, org="waterco", role="admin", email="boss@waterco.example.org")
    assert "Aucun contrat visible." in world.client.get("/contracts", params={"lang": "fr"}).text
    hidden = world.client.get(f"/contracts/{cid}", params={"lang": "en"})
    assert hidden.status_code == 404 and "does not exist or is not visible" in hidden.text
    assert world.client.get(f"/contracts/{cid}/report").status_code == 404
    for bad in ("abc", "0", "99999999999", str(2**31)):
        assert world.client.get(f"/contracts/{bad}").status_code == 404
