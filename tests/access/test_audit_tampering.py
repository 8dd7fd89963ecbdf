"""Tampering by someone who holds the database but not the audit key: truncation, rewriting, forgery."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import insert, make_url, select, text, update
from sqlalchemy.exc import DBAPIError
from tests.access.audit_tamper import tampering
from typer.testing import CliRunner

from territoria.access.audit import record, verify
from territoria.access.audit_chain import KEYED_HMAC, PLAIN_SHA256, event_hash
from territoria.access.audit_checkpoints import read_checkpoints
from territoria.access.audit_models import GENESIS_HASH, AuditEvent
from territoria.context import Context
from territoria.db.migrate import upgrade
from territoria.registry.audit_cli import audit_app
from territoria.settings import Settings


def append(ctx: Context, n: int, start: int = 0) -> None:
    """n events, one transaction."""
    with ctx.session(write=True) as s:
        for i in range(start, start + n):
            record(s, actor="cli", action="token.create", target=f"token:{i}", details={"i": i})


def checkpointed(ctx: Context, n: int = 5) -> None:
    """n events, then a verify that checkpoints the head outside the table."""
    append(ctx, n)
    with ctx.session() as s:
        report = verify(s)
    assert report.ok and report.checked == n


def failed(ctx: Context) -> tuple[int | None, str]:
    """Where and why verification fails."""
    with ctx.session() as s:
        report = verify(s)
    assert not report.ok, report
    assert report.reason is not None
    return report.first_bad_id, report.reason


def rechain(ctx: Context, version: int, key: bytes | None = None) -> None:
    """Recompute every hash as an attacker would: SHA-256 or an HMAC under a guessed key."""
    with tampering(ctx) as s:
        previous = GENESIS_HASH
        for event in s.scalars(select(AuditEvent).order_by(AuditEvent.id)).all():
            event.prev_hash, event.hash_version = previous, version
            event.hash = event_hash(
                id=event.id,
                at=event.at,
                actor=event.actor,
                organisation_id=event.organisation_id,
                action=event.action,
                target=event.target,
                details=event.details,
                prev_hash=previous,
                version=version,
                key=key,
            )
            previous = event.hash
            s.flush()


def legacy_fields(i: int, previous: str) -> dict[str, Any]:
    """The fields of event `i` as an older release wrote it, chained to `previous`."""
    return {
        "id": i,
        "at": datetime(2026, 1, i, tzinfo=UTC),
        "actor": "cli",
        "organisation_id": None,
        "action": "token.create",
        "target": f"token:{i}",
        "details": {"i": i},
        "prev_hash": previous,
    }


def test_deleting_the_last_events_is_detected(ctx: Context) -> None:
    checkpointed(ctx)
    with tampering(ctx) as s:
        s.execute(text("DELETE FROM audit_event WHERE id > 3"))
    _, reason = failed(ctx)
    assert "holds 3 events" in reason and "counted 5" in reason and "last 2 event(s) deleted" in reason


def test_deleting_every_event_is_detected(ctx: Context) -> None:
    checkpointed(ctx)
    with tampering(ctx) as s:
        s.execute(text("DELETE FROM audit_event"))
    _, reason = failed(ctx)
    assert "empty" in reason and "all events deleted" in reason


def test_truncation_is_caught_by_the_periodic_checkpoint_without_any_verify(ctx: Context) -> None:
    append(ctx, 1)  # the first keyed event is checkpointed …
    append(ctx, 119, start=1)  # … and every 100th
    reasons = [c.reason for c in read_checkpoints(ctx.settings, ctx.engine).checkpoints]
    assert reasons == ["first keyed event", "every"]
    with tampering(ctx) as s:
        s.execute(text("DELETE FROM audit_event WHERE id > 90"))
    assert "last 10 event(s) deleted" in failed(ctx)[1]


def test_an_edited_event_with_a_recomputed_sha256_chain_is_detected(ctx: Context) -> None:
    checkpointed(ctx)
    with tampering(ctx) as s:
        s.execute(update(AuditEvent).where(AuditEvent.id == 3).values(actor="someone-else"))
    rechain(ctx, KEYED_HMAC, key=b"guessed")  # keyed, but not with the audit key
    first_bad, reason = failed(ctx)
    assert first_bad == 1 and "without the audit key" in reason
    rechain(ctx, PLAIN_SHA256)  # passed off as events of before the keyed chain
    first_bad, reason = failed(ctx)
    assert first_bad == 1 and "differs from the signed checkpoint" in reason and "rewritten" in reason


def test_a_forged_appended_event_is_detected(ctx: Context) -> None:
    checkpointed(ctx)
    with ctx.session() as s:
        head = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert head is not None
    forged = {
        "id": 6,
        "at": datetime.now(UTC),
        "actor": "cli",
        "organisation_id": None,
        "action": "token.revoke",
        "target": "token:1",
        "details": {},
        "prev_hash": head.hash,
    }
    for version, key in ((PLAIN_SHA256, None), (KEYED_HMAC, b"guessed")):
        with tampering(ctx) as s:
            s.execute(text("DELETE FROM audit_event WHERE id = 6"))
            digest = event_hash(**forged, version=version, key=key)  # type: ignore[arg-type]
            s.execute(insert(AuditEvent).values(**forged, hash=digest, hash_version=version))
        first_bad, reason = failed(ctx)
        assert first_bad == 6
        assert (
            "unkeyed event after keyed ones" if version == PLAIN_SHA256 else "without the audit key"
        ) in reason


def test_events_of_before_the_keyed_chain_still_verify(ctx: Context) -> None:
    """Rows written by an older release (plain SHA-256, hash_version 1) are verified as they are."""
    previous = GENESIS_HASH
    with tampering(ctx) as s:
        for i in range(1, 4):
            fields = legacy_fields(i, previous)
            previous = event_hash(**fields)  # type: ignore[arg-type]
            s.execute(insert(AuditEvent).values(**fields, hash=previous, hash_version=PLAIN_SHA256))
    with ctx.session() as s:
        report = verify(s)
    assert report.ok and report.checked == 3 and report.legacy == 3
    append(ctx, 2)
    with ctx.session() as s:
        report = verify(s)
        stored = s.scalars(select(AuditEvent.hash_version).order_by(AuditEvent.id)).all()
    assert report.ok and report.checked == 5 and report.legacy == 3 and stored == [1, 1, 1, 2, 2]
    # An old row edited after the keyed chain began breaks the keyed event that follows it.
    with tampering(ctx) as s:
        s.execute(update(AuditEvent).where(AuditEvent.id == 2).values(target="token:x"))
    assert failed(ctx)[0] == 2
    rechain(ctx, PLAIN_SHA256)  # and recomputing them all as old rows fails at the checkpoint
    assert "differs from the signed checkpoint" in failed(ctx)[1]


def test_a_tampered_checkpoint_file_is_detected(ctx: Context) -> None:
    checkpointed(ctx)
    path = ctx.settings.audit_checkpoints_path()
    lines = path.read_bytes().splitlines()
    last = orjson.loads(lines[-1])
    last["count"] = last["seq"] = 3  # an attacker lowering the count to hide a truncation
    path.write_bytes(b"\n".join([*lines[:-1], orjson.dumps(last)]) + b"\n")
    _, reason = failed(ctx)
    assert "not signed with the audit key" in reason


def test_another_audit_key_does_not_verify(ctx: Context) -> None:
    append(ctx, 3)
    other = Context(ctx.settings.model_copy(update={"audit_key": "another-key-" + "x" * 40}))
    try:
        with other.session() as s:
            report = verify(s, checkpoint=False)
    finally:
        other.engine.dispose()
    assert not report.ok and report.first_bad_id == 1


def test_the_audit_table_is_append_only(ctx: Context) -> None:
    append(ctx, 2)
    statements = ["UPDATE audit_event SET actor = 'x' WHERE id = 1", "DELETE FROM audit_event WHERE id = 2"]
    if ctx.engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_event")
    for sql in statements:
        with pytest.raises(DBAPIError, match="append-only"), ctx.session(write=True) as s:
            s.execute(text(sql))
    with ctx.session() as s:
        report = verify(s)
    assert report.ok and report.checked == 2


def test_cli_verify_reports_a_truncation(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERRITORIA_DATABASE_URL", ctx.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("TERRITORIA_AUDIT_CHECKPOINT_FILE", str(ctx.settings.audit_checkpoints_path()))
    runner = CliRunner()
    append(ctx, 4)
    result = runner.invoke(audit_app, ["verify"])
    assert result.exit_code == 0 and "4 events, chain intact" in result.stdout
    with tampering(ctx) as s:
        s.execute(text("DELETE FROM audit_event WHERE id = 4"))
    result = runner.invoke(audit_app, ["verify"])
    assert result.exit_code == 1 and "last 1 event(s) deleted" in result.stderr


def test_checkpoint_lines_are_signed_json(ctx: Context) -> None:
    checkpointed(ctx, 2)
    lines = ctx.settings.audit_checkpoints_path().read_bytes().splitlines()
    entry = orjson.loads(lines[-1])
    assert entry["seq"] == entry["count"] == 2 and entry["reason"] == "verify" and len(entry["mac"]) == 64
    with ctx.session() as s:
        head = s.scalar(select(AuditEvent.hash).where(AuditEvent.id == 2))
    assert entry["head"] == head
    assert entry["database"] != hashlib.sha256(b"").hexdigest()[:16]


@pytest.mark.integration
def test_the_application_role_may_only_insert_and_select(pg_schema: str, tmp_path: Path) -> None:
    """docs/trust.md's grants: another role owns audit_event; the application's role appends and reads."""
    owner = Context(Settings(database_url=pg_schema, demo=True, release_dir=tmp_path / "releases"))
    upgrade(owner.engine)
    schema = pg_schema.rsplit("%3D", 1)[1]
    app_role, audit_role = f"app_{schema}", f"audit_{schema}"
    grants = [
        f"CREATE ROLE {app_role} LOGIN",
        f"CREATE ROLE {audit_role} NOLOGIN",
        f"ALTER TABLE {schema}.audit_event OWNER TO {audit_role}",
        f"ALTER FUNCTION {schema}.audit_event_append_only() OWNER TO {audit_role}",
        f"GRANT USAGE ON SCHEMA {schema} TO {app_role}",
        f"REVOKE ALL ON {schema}.audit_event FROM {app_role}",
        f"GRANT SELECT, INSERT ON {schema}.audit_event TO {app_role}",
    ]
    with owner.engine.begin() as conn:
        for sql in grants:
            conn.execute(text(sql))
    url = make_url(pg_schema).set(username=app_role)
    app = Context(
        owner.settings.model_copy(update={"database_url": url.render_as_string(hide_password=False)})
    )
    try:
        append(app, 3)
        for sql in (
            "UPDATE audit_event SET actor = 'x'",
            "DELETE FROM audit_event",
            "TRUNCATE audit_event",
            "ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change",
        ):
            with (
                pytest.raises(DBAPIError, match="permission denied|must be owner"),
                app.session(write=True) as s,
            ):
                s.execute(text(sql))
        with app.session() as s:
            report = verify(s)
        assert report.ok and report.checked == 3
        with owner.session() as s:  # an auditor connecting as another role sees the same checkpoints
            assert verify(s).checkpoints == report.checkpoints + 1
    finally:
        app.engine.dispose()
        with owner.engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))  # the fixture drops it again
            conn.execute(text(f"DROP ROLE {app_role}"))
            conn.execute(text(f"DROP ROLE {audit_role}"))
        owner.engine.dispose()


def test_a_release_checkpoints_the_head_and_a_rolled_back_one_does_not(ctx: Context) -> None:
    append(ctx, 2)
    with pytest.raises(RuntimeError), ctx.session(write=True) as s:
        record(s, actor="cli", action="release.publish", target="dataset:lights", details={"version": 1})
        raise RuntimeError("the release failed")
    with ctx.session(write=True) as s:
        record(s, actor="cli", action="release.publish", target="dataset:lights", details={"version": 1})
    checkpoints = read_checkpoints(ctx.settings, ctx.engine).checkpoints
    assert [(c.seq, c.reason) for c in checkpoints] == [(1, "first keyed event"), (3, "release.publish")]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def test_a_trail_written_before_revision_0008_verifies_after_the_upgrade(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path}/old.db" if backend == "sqlite" else request.getfixturevalue("pg_schema")
    ctx = Context(Settings(database_url=url, demo=True, release_dir=tmp_path / "releases"))
    try:
        upgrade(ctx.engine, "0007")
        previous = GENESIS_HASH
        with ctx.engine.begin() as conn:  # rows as the old code wrote them: no hash_version column
            for i in (1, 2):
                fields = legacy_fields(i, previous)
                previous = event_hash(**fields)  # type: ignore[arg-type]
                table = AuditEvent.__table__
                columns = [c for c in table.c if c.name != "hash_version"]
                conn.execute(
                    insert(table).values({c.name: {**fields, "hash": previous}[c.name] for c in columns})
                )
        upgrade(ctx.engine)
        append(ctx, 1)
        with ctx.session() as s:
            report = verify(s)
        assert report.ok and report.checked == 3 and report.legacy == 2
    finally:
        ctx.engine.dispose()
