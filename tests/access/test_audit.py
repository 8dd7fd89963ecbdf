"""The audit trail: events chain by hash, and any hand edit, deletion or reordering is detected."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import typer
from sqlalchemy import text
from tests.access.audit_tamper import tampering
from typer.testing import CliRunner

from territoria.access import audit_models  # noqa: F401 - the table must be in the metadata
from territoria.access.audit import (
    AuditEventPublic,
    audit_table_row,
    list_events,
    principal_actor,
    record,
    verify,
)
from territoria.access.audit_models import GENESIS_HASH, AuditEvent
from territoria.access.principal import ANONYMOUS, Principal
from territoria.context import Context
from territoria.registry.audit_cli import audit_app


def append_five(ctx: Context) -> None:
    """Five events in two transactions, with details that must survive the JSON round trip."""
    with ctx.session(write=True) as s:
        record(s, actor="cli", action="token.create", target="token:1", organisation_id=2)
        record(
            s,
            actor="org:lightco/token:1",
            action="dataset.create",
            target="dataset:lights",
            details={"b": 1.0, "a": [1, 2.5, None], "big": 1e20, "when": datetime(2026, 1, 1, tzinfo=UTC)},
            organisation_id=2,
        )
    with ctx.session(write=True) as s:
        record(
            s,
            actor="org:lightco/token:1",
            action="dataset.schema_change",
            target="dataset:lights",
            details={"version": 2},
        )
        record(s, actor="anonymous", action="login.failure", target="user:bob", details={"ip": "10.0.0.1"})
        record(s, actor="cli", action="quarantine.discard", target="dataset:lights", details={"rows": 3})


def json_param(ctx: Context) -> str:
    """The bound parameter :v as a JSON value of the backend's column type."""
    return "CAST(:v AS jsonb)" if ctx.engine.dialect.name == "postgresql" else ":v"


def cli() -> typer.Typer:
    """A local app with the audit sub-app mounted as cli.py will mount it."""
    app = typer.Typer()
    app.add_typer(audit_app, name="audit")
    return app


def test_events_chain_and_verify(ctx: Context) -> None:
    with ctx.session() as s:
        assert verify(s).ok and verify(s).checked == 0
    append_five(ctx)
    with ctx.session() as s:
        report = verify(s, page_size=2)  # several pages
        assert report.ok, report
        assert report.checked == 5
        events = list(s.scalars(text("SELECT id FROM audit_event ORDER BY id")))
        assert events == [1, 2, 3, 4, 5]
        first = s.get(AuditEvent, 1)
        assert first is not None and first.prev_hash == GENESIS_HASH
        second = s.get(AuditEvent, 2)
        assert second is not None and second.prev_hash == first.hash
        assert (
            second.details["big"] == "100000000000000000000"
            and second.details["b"] == 1
            and second.details["when"].startswith("2026-01-01")
        )
        last = s.get(AuditEvent, 5)
        assert last is not None and report.head_hash == last.hash


def test_rolled_back_event_leaves_no_trace(ctx: Context) -> None:
    append_five(ctx)
    with pytest.raises(RuntimeError), ctx.session(write=True) as s:
        record(s, actor="cli", action="token.create", target="token:9")
        raise RuntimeError("the described change failed")
    with ctx.session(write=True) as s:
        assert record(s, actor="cli", action="token.create", target="token:10").id == 6
    with ctx.session() as s:
        assert verify(s).ok and verify(s).checked == 6


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("UPDATE audit_event SET actor = :v WHERE id = 3", {"v": "someone-else"}),
        ("UPDATE audit_event SET details = {json} WHERE id = 3", {"v": '{"version": 3}'}),
        ("UPDATE audit_event SET target = :v WHERE id = 3", {"v": "dataset:other"}),
    ],
)
def test_a_modified_row_is_detected(ctx: Context, sql: str, params: dict[str, str]) -> None:
    append_five(ctx)
    sql = sql.replace("{json}", json_param(ctx))
    with tampering(ctx) as s:
        s.execute(text(sql), params)
    with ctx.session() as s:
        report = verify(s, page_size=2)
    assert not report.ok
    assert report.first_bad_id == 3 and report.checked == 2
    assert report.reason is not None and "modified" in report.reason


def test_a_rewritten_hash_is_detected_at_the_next_event(ctx: Context) -> None:
    append_five(ctx)
    with tampering(ctx) as s:
        s.execute(text("UPDATE audit_event SET actor = 'x', hash = :h WHERE id = 2"), {"h": "f" * 64})
    with ctx.session() as s:
        report = verify(s)
    # Row 2's content no longer matches its hash; had its hash been recomputed, row 3 would break.
    assert not report.ok and report.first_bad_id == 2


def test_a_deleted_row_is_detected(ctx: Context) -> None:
    append_five(ctx)
    with tampering(ctx) as s:
        s.execute(text("DELETE FROM audit_event WHERE id = 3"))
    with ctx.session() as s:
        report = verify(s)
    assert not report.ok and report.first_bad_id == 4 and report.checked == 2
    assert report.reason is not None and "missing" in report.reason


def test_a_deleted_first_row_and_a_renumbered_chain_are_detected(ctx: Context) -> None:
    append_five(ctx)
    with tampering(ctx) as s:
        s.execute(text("DELETE FROM audit_event WHERE id = 1"))
        s.execute(text("UPDATE audit_event SET id = id - 1"))
    with ctx.session() as s:
        report = verify(s)
    assert not report.ok and report.first_bad_id == 1
    assert report.reason is not None and "prev_hash" in report.reason


def test_swapped_rows_are_detected(ctx: Context) -> None:
    append_five(ctx)
    with tampering(ctx) as s:
        s.execute(text("UPDATE audit_event SET id = 100 WHERE id = 2"))
        s.execute(text("UPDATE audit_event SET id = 2 WHERE id = 3"))
        s.execute(text("UPDATE audit_event SET id = 3 WHERE id = 100"))
    with ctx.session() as s:
        report = verify(s)
    assert not report.ok and report.first_bad_id == 2


def test_list_public_model_and_table_row(ctx: Context) -> None:
    append_five(ctx)
    with ctx.session() as s:
        assert [e.id for e in list_events(s)] == [5, 4, 3, 2, 1]
        assert [e.action for e in list_events(s, action="dataset.")] == [
            "dataset.schema_change",
            "dataset.create",
        ]
        assert [e.id for e in list_events(s, action="token.create")] == [1]
        assert [e.id for e in list_events(s, limit=2, before_id=4)] == [3, 2]
        assert [e.id for e in list_events(s, organisation_id=2)] == [2, 1]
        event = list_events(s, limit=1)[0]
    public = AuditEventPublic.model_validate(event)
    assert public.id == 5 and public.details == {"rows": 3} and public.at.tzinfo is not None
    row = audit_table_row(event)
    assert (
        row[0] == "5" and row[1].endswith("Z") and row[3] == "quarantine.discard" and row[5] == '{"rows":3}'
    )


def test_cli_verify_and_list(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERRITORIA_DATABASE_URL", ctx.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps the table at 80 columns otherwise
    runner = CliRunner()
    result = runner.invoke(cli(), ["audit", "verify"])
    assert result.exit_code == 0 and "0 events, chain intact" in result.stdout
    append_five(ctx)
    result = runner.invoke(cli(), ["audit", "verify"])
    assert result.exit_code == 0 and "5 events, chain intact" in result.stdout
    result = runner.invoke(cli(), ["audit", "list", "--action", "dataset.", "--limit", "10"])
    assert (
        result.exit_code == 0 and "dataset.create" in result.stdout and "login.failure" not in result.stdout
    )
    with tampering(ctx) as s:
        s.execute(
            text(f"UPDATE audit_event SET details = {json_param(ctx)} WHERE id = 4"),
            {"v": '{"ip": "10.0.0.2"}'},
        )
    result = runner.invoke(cli(), ["audit", "verify"])
    assert result.exit_code == 1
    assert "event 4" in result.stderr and "modified" in result.stderr


def test_concurrent_writers_never_fork_the_chain(ctx: Context) -> None:
    def writer(n: int) -> None:
        for i in range(10):
            with ctx.session(write=True) as s:
                record(s, actor=f"worker:{n}", action="token.create", target=f"token:{n}-{i}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(writer, range(4)))
    with ctx.session() as s:
        report = verify(s)
    assert report.ok and report.checked == 40


def test_principal_actor() -> None:
    assert principal_actor(ANONYMOUS) == "anonymous"
    caller = Principal(organisation_id=2, organisation_slug="lightco", token_id=3)
    assert principal_actor(caller) == "org:lightco/token:3"
