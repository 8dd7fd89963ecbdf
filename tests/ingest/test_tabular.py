"""The one tabular reader (issue 14): one encoding policy and one delimiter sniffer behind every CSV path,
rows read by Arrow in columnar chunks, unusual rows kept with their number, raw text and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from tests.conftest import World, build_world, sqlite_context
from tests.domains.ev.test_status import DAY, A, ev  # noqa: F401 - the fixture
from typer.testing import CliRunner

import territoria.domains.ev.cli_import  # noqa: F401 - registers import-static on the ev app
from territoria.catalog.service import get_dataset
from territoria.domains.ev.cli import ev_app
from territoria.domains.ev.status import STATUS_DATASET
from territoria.errors import Invalid
from territoria.ingest.files import import_file
from territoria.ingest.models import QuarantinedRow, Record
from territoria.ingest.parsers import BadRow, csv_body
from territoria.ingest.records_columns import check_chunk
from territoria.validation import tabular, tabular_blocks
from territoria.validation.tabular import open_csv

EV_DATA = Path(__file__).parents[1] / "domains" / "ev" / "data"
SCHEMA = {
    "fields": [
        {"name": "id", "type": "string", "constraints": {"required": True}},
        {"name": "insee", "type": "string"},
        {"name": "tarif", "type": "string"},
        {"name": "puissance", "type": "number"},
    ],
    "primaryKey": ["id"],
}
# Excel's "CSV (séparateur : point-virgule)": Windows-1252, ';', decimal commas, a leading zero.
FRENCH = "id;insee;tarif;puissance\r\nP1;06088;0,35€ / kWh;22,5\r\nP2;06004;gratuit;7\r\n".encode("cp1252")


def rows(body: bytes, **kw: object) -> list[tuple[int, object]]:
    return list(open_csv(body, **kw).rows())  # type: ignore[arg-type]


def no_resolver(resource: str, fields: object) -> set[tuple[object, ...]]:
    return set()


def test_encoding_policy_bom_utf8_then_windows_1252() -> None:
    for body, encoding in (
        ("id;tarif\n1;0,35€\n".encode("utf-8-sig"), "utf-8-sig"),
        ("id;tarif\n1;0,35€\n".encode(), "utf-8"),
        ("id;tarif\n1;0,35€\n".encode("cp1252"), "cp1252"),
        ("id;tarif\n1;0,35€\n".encode("utf-16"), "utf-16"),
    ):
        tab = open_csv(body)
        assert (tab.encoding, tab.header, list(tab.rows())) == (
            encoding,
            ["id", "tarif"],
            [(1, {"id": "1", "tarif": "0,35€"})],
        ), encoding
    # The five bytes Windows-1252 leaves undefined are read as Latin-1, never lost.
    assert rows(b"a\n\x81\x80\n") == [(1, {"a": "\x81€"})]


def test_delimiters_quoted_newlines_and_leading_zeros() -> None:
    assert rows(b"a\tb\n01\t2\n") == [(1, {"a": "01", "b": "2"})]
    assert rows(b"a|b\n01|2\n") == [(1, {"a": "01", "b": "2"})]
    assert rows(b'a,b\n"x\ny",1\n"q ""z""",2\n') == [
        (1, {"a": "x\ny", "b": "1"}),
        (2, {"a": 'q "z"', "b": "2"}),
    ]


def test_semicolon_and_decimal_comma_where_the_schema_says_number() -> None:
    chunk = open_csv(FRENCH).all()
    assert (chunk.encoding, chunk.delimiter) == ("cp1252", ";")
    typed, errors = check_chunk(chunk, SCHEMA, no_resolver)
    assert not errors
    assert typed[0] == {"id": "P1", "insee": "06088", "tarif": "0,35€ / kWh", "puissance": 22.5}
    assert typed[1]["puissance"] == 7.0
    # With ',' as the delimiter a comma cannot be a decimal mark: "22,5" is not a number there.
    chunk = open_csv(b'id,puissance\nP1,"22,5"\n').all()
    _, errors = check_chunk(chunk, {"fields": SCHEMA["fields"][::3]}, no_resolver)
    assert errors[0][0]["code"] == "TYPE"


def test_ragged_rows_and_an_unclosed_quote_are_rows_with_their_reason() -> None:
    got = rows(b'a,b\n1,2\n3\n4,5,6\n7,8\n"9,10\n11,12\n')
    assert [n for n, _ in got] == [1, 2, 3, 4, 5]
    assert got[0] == (1, {"a": "1", "b": "2"}) and got[3] == (4, {"a": "7", "b": "8"})
    bad = {n: r for n, r in got if isinstance(r, BadRow)}
    assert {n: (r.code, r.raw) for n, r in bad.items()} == {
        2: ("PARSE", "3"),
        3: ("PARSE", "4,5,6"),
        5: ("PARSE", '"9,10\n11,12'),
    }
    assert bad[3].message == "3 fields where the header has 2"


def test_empty_file_and_header_only() -> None:
    tab = open_csv(b"")
    assert (tab.header, list(tab.rows())) == ([], [])
    with pytest.raises(Invalid, match="missing column"):
        csv_body(b"", "text/csv", ["asset"])
    tab = open_csv(b"id;tarif\r\n")
    assert (tab.header, tab.delimiter, list(tab.rows())) == (["id", "tarif"], ";", [])
    assert len(tab.all()) == 0


def test_a_large_file_in_many_blocks_keeps_every_row_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular_blocks, "BLOCK_BYTES", 2000)  # many Arrow blocks
    monkeypatch.setattr(tabular, "READ_BYTES", 333)  # pieces cut anywhere, inside quotes too
    monkeypatch.setattr(tabular, "SNIFF_BYTES", 256)  # a bad byte after the head is an ENCODING row
    lines, expected = [b"id,note,n"], {}
    for i in range(1, 5001):
        if i % 997 == 0:
            lines.append(f"{i},ragged".encode())
            expected[i] = "PARSE"
        elif i == 4000:
            lines.append(b"4000,caf\xe9,1")
            expected[i] = "ENCODING"
        elif i % 7 == 0:
            lines.append(f'{i:05d},"two\nlines, quoted",{i}'.encode())
            expected[i] = {"id": f"{i:05d}", "note": "two\nlines, quoted", "n": str(i)}
        else:
            lines.append(f"{i:05d},plain,{i}".encode())
            expected[i] = {"id": f"{i:05d}", "note": "plain", "n": str(i)}
    body = b"\n".join(lines) + b"\n\n"  # a trailing blank line is no row
    assert len(list(open_csv(body).chunks())) > 10
    chunks = list(open_csv(body).chunks(700))
    assert [len(c) for c in chunks] == [700] * 7 + [100]
    got = [r for c in chunks for r in c]
    assert [n for n, _ in got] == list(range(1, 5001))
    for n, row in got:
        want = expected[n]
        if isinstance(want, str):
            assert isinstance(row, BadRow) and row.code == want, (n, row)
        else:
            assert row == want, n
    assert got[3999][1].raw == "4000,caf\\xe9,1"  # type: ignore[union-attr]
    # Readable rows stay columns: no dict is made to hand them to the engine.
    first = chunks[0]
    assert first.columns[0].to_pylist()[:2] == ["00001", "00002"] and first.numbers[-1] == 700


# --- the same cp1252 "€" through every path -------------------------------------------------------


def _records_dataset(world: World) -> None:
    body = {"slug": "tarifs", "title": "Tarifs", "domain": "ev", "kind": "records", "schema": SCHEMA}
    r = world.client.post("/api/v1/datasets", json=body, headers=world.operator)
    assert r.status_code == 201, r.text


def _stored(world: World, slug: str) -> dict[str, dict[str, object]]:
    with world.ctx.session() as s:
        ds = get_dataset(s, slug)
        return {r.key: r.data for r in s.scalars(select(Record).where(Record.dataset_id == ds.id))}


def test_cp1252_euro_through_import_and_http(world: World, tmp_path: Path) -> None:
    _records_dataset(world)
    path = tmp_path / "tarifs.csv"
    path.write_bytes(FRENCH)
    report = import_file(world.ctx, path, "tarifs")
    assert (report.received, report.accepted) == (2, 2), report.sample_errors
    assert (report.encoding, report.separator) == ("cp1252", ";")  # reported, never silently assumed
    by_import = _stored(world, "tarifs")
    assert by_import["P1"] == {"id": "P1", "insee": "06088", "tarif": "0,35€ / kWh", "puissance": 22.5}
    headers = {**world.operator, "content-type": "text/csv; charset=windows-1252"}
    r = world.client.post("/api/v1/datasets/tarifs/records", content=FRENCH, headers=headers)
    assert r.status_code == 200 and r.json()["accepted"] == 2, r.text
    assert _stored(world, "tarifs") == by_import
    # HTTP without a charset is UTF-8 by contract: the bytes that are not are ENCODING, never guessed.
    headers = {**world.operator, "content-type": "text/csv"}
    r = world.client.post("/api/v1/datasets/tarifs/records", content=FRENCH, headers=headers)
    assert r.json()["accepted"] == 1 and r.json()["errors"][0]["code"] == "ENCODING", r.text


def _ev_cli(world: World, monkeypatch: pytest.MonkeyPatch, *args: str) -> dict[str, object]:
    monkeypatch.setenv("TERRITORIA_DATABASE_URL", world.ctx.engine.url.render_as_string(hide_password=False))
    app = typer.Typer()
    app.add_typer(ev_app, name="ev")
    result = CliRunner().invoke(app, ["ev", *args])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_cp1252_euro_through_ev_import_static(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    world = build_world(sqlite_context(tmp_path))
    path = EV_DATA / "irve_v20_latin1_semicolon.csv"
    out = _ev_cli(world, monkeypatch, "import-static", str(path), "--dataset", "irve-a", "--owner", "lightco")
    assert (out["encoding"], out["separator"], out["accepted"]) == ("cp1252", ";", 6)
    assert {d["tarification"] for d in _stored(world, "irve-a").values()} >= {"0,35€ / kWh"}
    world.ctx.engine.dispose()


def test_cp1252_euro_through_ev_import_dynamic(
    ev: World,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    path = tmp_path / "dyn.csv"
    lines = [
        "id_pdc_itinerance;etat_pdc;occupation_pdc;horodatage",
        f"{A};en_service;libre€;{DAY.isoformat()}",
    ]
    path.write_bytes("\r\n".join(lines).encode("cp1252"))
    out = _ev_cli(ev, monkeypatch, "import-dynamic", str(path))
    assert (out["encoding"], out["separator"], out["rejected"]) == ("cp1252", ";", 1)
    with ev.ctx.session() as s:
        ds = get_dataset(s, STATUS_DATASET)
        (raw,) = s.scalars(select(QuarantinedRow.raw).where(QuarantinedRow.dataset_id == ds.id)).all()
    assert "libre€" in json.loads(raw).values()  # "€", not U+0080 as Latin-1 read it
