"""One availability: the contract clause, the KPI (home card) and the observatory agree on the same month.

A month of IRVE status reports every 4 hours for the 10 charge points of the test territory, with
out-of-service stretches, an `inconnu` state and silent days (no report, so unknown after 6 hours): the
availability is computed by hand from the schedule, then read from the KPI API, from the contract's
compliance, from `/ev` and from the area API; all give the same value (to the KPI's one decimal).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from tests.analytics.steering_world import share_with
from tests.conftest import World
from tests.domains.ev.irve_factory import COMMUNES, pdc_id
from tests.domains.ev.test_status import dyn, ev  # noqa: F401 - `ev` is the fixture used below

from territoria import i18n
from territoria.analytics.periods import next_start
from territoria.catalog.service import get_dataset
from territoria.domains.ev.status import STATUS_DATASET, availability_by_area, import_dynamic

NICE, CANNES = COMMUNES["Nice"][0], COMMUNES["Cannes"][0]
STEP = timedelta(hours=4)
POINTS = [pdc_id(station, k) for station in range(5) for k in range(2)]  # 2 per commune, Nice first


def _month() -> date:
    """The last complete month (inside the import's 90-day horizon)."""
    today = datetime.now(UTC).date()
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def _state(pdc: str, day: int, hour: int) -> str | None:
    """The schedule: the state reported at that time (None: no report, the point is silent)."""
    if pdc == POINTS[0] and 3 <= day <= 5:
        return "hors_service"  # three days out of order
    if pdc == POINTS[1]:
        if 10 <= day <= 12:
            return None  # three silent days: unknown time
        if day == 9 and hour == 20:
            return "inconnu"  # the last report before the silence: nothing of it counts as known
        if day == 20:
            return "inconnu"
    if pdc == POINTS[2] and day == 15 and hour >= 8:
        return "hors_service"  # an afternoon out of order in Cannes
    if pdc == POINTS[9] and day >= 25:
        return None  # the feed of the last point stops before the month ends
    if pdc == POINTS[9] and day == 24 and hour == 20:
        return "inconnu"  # (an en-service report would last 6 h, beyond the 4 h counted here)
    return "en_service"


def _schedule(month: date) -> tuple[list[dict[str, str]], float, float]:
    """IRVE rows of the month, and the expected availability and status coverage (in %)."""
    end = next_start(month, "month")
    days = (end - month).days
    rows, up, known = [], 0.0, 0.0
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    for pdc in POINTS:
        at = start
        while at.date() < end:
            state = _state(pdc, at.day, at.hour)
            if state is not None:
                rows.append(dyn(pdc, at, state, "libre" if state == "en_service" else "inconnu"))
                if state != "inconnu":  # a report lasts until the next one, 4 h later (at most 6 h)
                    known += 4
                    up += 4 * (state == "en_service")
            at += STEP
    return rows, 100 * up / known, 100 * known / (len(POINTS) * days * 24)


def _page_month(html: str, month: date) -> float:
    """The availability `/ev` shows for a month (its monthly table)."""
    row = re.search(rf'data-month="{month.isoformat()[:7]}">(.*?)</tr>', html, re.S)
    assert row is not None, "no row for the month on /ev"
    cell = re.search(r"data-availability>([^<]*)<", row.group(1))
    assert cell is not None
    return float(cell.group(1).replace("\u202f", "").replace("%", "").replace(",", ".").strip())


def test_contract_kpi_and_observatory_give_one_availability(ev: World) -> None:  # noqa: F811
    month = _month()
    end = next_start(month, "month")
    rows, expected, expected_coverage = _schedule(month)
    assert 90 < expected < 99 and 80 < expected_coverage < 99  # the stretches weigh, but do not dominate
    with ev.ctx.session(write=True) as s:
        report = import_dynamic(s, get_dataset(s, STATUS_DATASET), rows, now=datetime.now(UTC))
    assert report.rejected == 0, report.rejected_by_code
    for slug in (STATUS_DATASET, "irve"):  # the authority reads its operator's feeds under an agreement
        share_with(ev.ctx, slug, "city")

    # (b) the KPI, as the KPI pages and the home card read it: the territory and Nice
    query = {"level": "territory", "period": "month", "start": month.isoformat(), "end": end.isoformat()}
    r = ev.client.get("/api/v1/kpis/ev_availability", params=query, headers=ev.admin)
    assert r.status_code == 200, r.text
    (kpi,) = r.json()["rows"]
    assert kpi["value"] == pytest.approx(expected, abs=1e-6) and kpi["contributors"] == 10
    cover = ev.client.get("/api/v1/kpis/ev_status_coverage", params=query, headers=ev.admin).json()["rows"]
    assert cover[0]["value"] == pytest.approx(expected_coverage, abs=1e-6)
    r = ev.client.get("/api/v1/kpis/ev_availability", params={**query, "level": "commune"}, headers=ev.admin)
    by_commune = {row["area"]: row["value"] for row in r.json()["rows"]}
    assert set(by_commune) == {code for code, *_ in COMMUNES.values()}

    # (a) the contract clause on the operator's status feed
    body = {
        "reference": "DSP-TEST",
        "title": "Concession",
        "operator": "lightco",
        "starts_on": month.replace(month=1).isoformat(),
        "ends_on": date(month.year + 3, 12, 31).isoformat(),
        "clauses": [
            {
                "code": "availability",
                "label": "Disponibilité",
                "indicator": "ev_availability",
                "dataset": STATUS_DATASET,
                "comparator": ">=",
                "threshold": 99,
            }
        ],
    }
    r = ev.client.post("/api/v1/contracts", json=body, headers=ev.admin)
    assert r.status_code == 201, r.text
    contract_id = r.json()["id"]
    r = ev.client.get(
        f"/api/v1/contracts/{contract_id}/compliance",
        params={"start": month.isoformat(), "end": end.isoformat()},
        headers=ev.admin,
    )
    assert r.status_code == 200, r.text
    (clause,) = r.json()["rows"]
    assert clause["value"] == round(expected, 1) and clause["ok"] is False
    # the worst day is one of the month's days, never better than the month as a whole
    assert clause["evidence"]["worst_value"] <= clause["value"] <= 100

    # (c) the observatory: /ev's monthly table and the area API, the territory and Nice
    html = ev.client.get("/ev", params={"lang": "en"}, headers=ev.admin).text
    assert _page_month(html, month) == round(expected, 1)
    assert "data-ev-window-coverage" in html
    with ev.ctx.session() as s:
        ds = get_dataset(s, STATUS_DATASET)
        start_at = datetime(month.year, month.month, 1, tzinfo=UTC)
        end_at = datetime(end.year, end.month, 1, tzinfo=UTC)
        (territory,) = availability_by_area(s, ds, start_at, end_at, "territory")
        communes = {a.area_code: a for a in availability_by_area(s, ds, start_at, end_at, "commune")}
    assert territory.availability_rate is not None
    assert 100 * territory.availability_rate == pytest.approx(expected, abs=1e-6)
    for code in (NICE, CANNES):
        rate = communes[code].availability_rate
        assert rate is not None and 100 * rate == pytest.approx(by_commune[code], abs=1e-6)

    # the home card shows the same figure for that month when it is the latest complete one
    home = ev.client.get("/", params={"lang": "en"}, headers=ev.admin).text
    assert "Charge-point availability" in home
    assert i18n.number(round(expected, 1), "en", 1) in home
