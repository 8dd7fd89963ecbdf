"""Resubmitting hostile corrections (issue 13): deep raw JSON, lone surrogates and NUL
stay in quarantine with a reason; never a 500."""

from __future__ import annotations

from tests.conftest import World
from tests.quality.test_quarantine import BAD_BATCH, Q, quarantined, qw, send  # noqa: F401 - fixture

ROW = '{"asset": "L001", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": '


def test_hostile_corrections_stay_in_quarantine(qw: World) -> None:  # noqa: F811 - the fixture
    first = send(qw, BAD_BATCH)
    rows = {r["row"]: r for r in quarantined(qw, batch=first["batch_id"])}
    body = [
        {"id": rows[2]["id"], "raw": ROW + '{"a":' * 600 + "1" + "}" * 600 + "}"},
        {
            "id": rows[4]["id"],
            "row": {"asset": "L\ud800", "metric": "power", "ts": "2026-11-01T00:00:00Z", "value": 1},
        },
        {"id": rows[5]["id"], "raw": ROW + '1, "note": "a\\u0000b"}'},
    ]
    import json

    r = qw.client.post(
        Q + "/resubmit",
        content=json.dumps(body),  # json, not orjson: the lone surrogate travels as \\ud800
        headers={**qw.operator, "content-type": "application/json"},
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["still_open"] == 3, out
    codes = {e["code"] for row in out["rows"] for e in row["errors"]}
    assert {"PARSE", "ENCODING"} <= codes, out
