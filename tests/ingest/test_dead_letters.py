"""`territoria dead-letters …`: an operator lists, replays and discards the MQTT worker's dead letters."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, text
from tests.conftest import World
from tests.ingest.refusing import REFUSE_DATASET_PG
from typer.testing import CliRunner

from territoria.access.audit import list_events, verify
from territoria.catalog.models import Dataset
from territoria.cli.main import app
from territoria.context import Context
from territoria.ingest.models import Batch, DeadLetter, QuarantinedRow
from territoria.timeseries.models import measurement

REFUSED = "IntegrityError: batch refused by the test"
GOOD = orjson.dumps(
    [{"ts": "2026-06-01T00:00:00Z", "value": 120.0}, {"ts": "2026-06-01T00:15:00Z", "value": 900.0}]
)

REFUSE_SQLITE = """
CREATE TRIGGER refuse_dataset BEFORE INSERT ON batch WHEN NEW.dataset_id = {id}
BEGIN SELECT RAISE(ABORT, 'batch refused by the test'); END
"""


@pytest.fixture
def cli(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """The world, with the command line pointed at its database."""
    monkeypatch.setenv("TERRITORIA_DATABASE_URL", world.ctx.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "200")  # the table as a wide terminal shows it, one line per letter
    return world


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["dead-letters", *args])
    return result.exit_code, result.stdout, result.stderr


def dead_letter(ctx: Context, topic: str, payload: bytes, *, error: str = REFUSED, attempts: int = 5) -> int:
    """Keep a message as the worker does when even the quarantine failed."""
    dataset = topic.split("/")[1]
    with ctx.session(write=True) as s:
        letter = DeadLetter(topic=topic, dataset=dataset, payload=payload, error=error, attempts=attempts)
        s.add(letter)
        s.flush()
        return letter.id


def letters(ctx: Context) -> dict[int, DeadLetter]:
    with ctx.session() as s:
        return {d.id: d for d in s.scalars(select(DeadLetter))}


def events(ctx: Context, action: str) -> list[dict[str, Any]]:
    with ctx.session() as s:
        return [
            {"actor": e.actor, "target": e.target, "organisation_id": e.organisation_id, **e.details}
            for e in list_events(s, action=action, limit=100)
        ]


def refuse_batches(ctx: Context, slug: str) -> None:
    """Make every batch of a dataset fail, as a broken trigger or constraint would."""
    with ctx.session() as s:
        dataset_id = int(s.scalar(select(Dataset.id).where(Dataset.slug == slug)) or 0)
    script = REFUSE_DATASET_PG if ctx.engine.dialect.name == "postgresql" else REFUSE_SQLITE
    with ctx.engine.begin() as conn:
        conn.execute(text(script.format(id=dataset_id)))


def allow_batches(ctx: Context) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(
            text(
                "DROP TRIGGER refuse_dataset"
                + (" ON batch" if ctx.engine.dialect.name == "postgresql" else "")
            )
        )


def test_list_says_when_there_are_none(cli: World) -> None:
    code, out, _err = run("list")
    assert code == 0 and "no dead letters" in out
    dead_letter(cli.ctx, "territoria/lights/L001/power", GOOD)
    code, out, _err = run("list", "--dataset", "other")
    assert code == 0 and "no dead letters for dataset other" in out


def test_list_shows_the_newest_first_with_a_count(cli: World) -> None:
    long_error = "OperationalError: " + "x" * 200
    first = dead_letter(cli.ctx, "territoria/lights/L001/power", GOOD)
    second = dead_letter(cli.ctx, "territoria/meters/M1/energy", b"[1]", error=long_error, attempts=4)
    code, out, _err = run("list")
    assert code == 0, out
    assert "territoria/lights/L001/power" in out and "territoria/meters/M1/energy" in out
    assert out.index(f"│ {second:>2} │") < out.index(f"│ {first:>2} │")  # newest first
    assert f"{len(GOOD):,}" in out and "batch refused by the test" in out
    assert "x" * 80 not in out  # the error is cut to its first 80 characters
    assert "2 dead letter(s), 2 shown" in out
    code, out, _err = run("list", "--dataset", "meters", "--limit", "5")
    assert code == 0 and "meters" in out and "territoria/lights" not in out
    assert "1 dead letter(s) for dataset meters, 1 shown" in out
    code, out, _err = run("list", "--limit", "1")
    assert "2 dead letter(s), 1 shown" in out and "territoria/lights" not in out


def test_a_letter_whose_cause_was_fixed_is_replayed_and_stored(cli: World) -> None:
    ctx = cli.ctx
    fixed = dead_letter(ctx, "territoria/lights/L001/power", GOOD)
    code, out, err = run("replay", str(fixed))
    assert code == 0, out + err
    assert f"{fixed}: stored in batch" in out
    assert "received 2, accepted 1 (0 already stored), rejected 1" in out
    assert "1 of 1 replayed and removed" in out
    assert letters(ctx) == {}
    with ctx.session() as s:
        (batch,) = s.scalars(select(Batch)).all()
        assert (batch.source, batch.received, batch.accepted, batch.rejected) == ("mqtt", 2, 1, 1)
        assert s.scalar(select(func.count()).select_from(measurement)) == 1
        (row,) = s.scalars(select(QuarantinedRow)).all()
        assert row.batch_id == batch.id and row.errors[0]["code"]  # quarantined with its reason
        owner = s.scalar(select(Dataset.owner_id).where(Dataset.slug == "lights"))
    (event,) = events(ctx, "dead_letter.replay")
    assert event["actor"] == "cli" and event["target"] == f"dead_letter:{fixed}"
    assert event["organisation_id"] == owner
    assert event["outcome"] == "stored" and event["batch_id"] == batch.id
    assert (event["received"], event["accepted"], event["rejected"]) == (2, 1, 1)
    assert event["payload_sha256"] == hashlib.sha256(GOOD).hexdigest() and event["error"] == REFUSED
    # Replaying it again finds nothing: it is gone, and said so.
    code, out, _err = run("replay", str(fixed))
    assert code == 1 and f"{fixed}: not found" in out
    with ctx.session() as s:
        assert verify(s).ok


def test_a_letter_still_failing_stays_with_its_new_error(cli: World) -> None:
    ctx = cli.ctx
    refuse_batches(ctx, "lights")
    failing = dead_letter(ctx, "territoria/lights/L002/power", GOOD, error="old error", attempts=5)
    unroutable = dead_letter(ctx, "territoria/gone/A1/power", GOOD, error="old error", attempts=5)
    code, out, err = run("replay", "--all")
    assert code == 1, out + err
    assert f"{failing}: still failing, kept:" in out and "batch refused by the test" in out
    assert f"{unroutable}: still failing, kept: dataset 'gone' does not exist" in out
    assert "0 of 2 replayed and removed" in out
    kept = letters(ctx)
    assert set(kept) == {failing, unroutable}
    assert "batch refused by the test" in kept[failing].error and kept[failing].attempts == 6
    assert kept[unroutable].error == "dataset 'gone' does not exist" and kept[unroutable].attempts == 6
    assert kept[failing].payload == GOOD  # kept as received
    with ctx.session() as s:
        assert s.scalar(select(func.count()).select_from(Batch)) == 0
        assert s.scalar(select(func.count()).select_from(QuarantinedRow)) == 0
    replays = {e["target"]: e for e in events(ctx, "dead_letter.replay")}
    assert replays[f"dead_letter:{failing}"]["outcome"] == "failed"
    assert "batch refused by the test" in replays[f"dead_letter:{failing}"]["new_error"]
    assert replays[f"dead_letter:{unroutable}"]["organisation_id"] is None
    # The cause fixed, --all --dataset replays that dataset's letters only.
    allow_batches(ctx)
    code, out, _err = run("replay", "--all", "--dataset", "lights")
    assert code == 0 and f"{failing}: stored in batch" in out and "1 of 1 replayed" in out
    assert set(letters(ctx)) == {unroutable}


def test_replay_takes_ids_or_all(cli: World) -> None:
    code, _out, err = run("replay")
    assert code == 2 and "--all" in err
    code, _out, err = run("replay", "1", "--all")
    assert code == 2
    code, _out, err = run("replay", "1", "--dataset", "lights")
    assert code == 2 and "--dataset goes with --all" in err
    code, out, _err = run("replay", "--all")
    assert code == 0 and "no dead letters to replay" in out


def test_discard_needs_a_reason_and_is_audited(cli: World) -> None:
    ctx = cli.ctx
    kept = dead_letter(ctx, "territoria/lights/L001/power", GOOD)
    gone = dead_letter(ctx, "territoria/lights/L003/power", b"not json at all")
    code, _out, err = run("discard", str(gone))
    assert code == 2 and "--reason" in err
    code, _out, err = run("discard", str(gone), "--reason", "   ")
    assert code == 1 and "reason is required" in err
    assert set(letters(ctx)) == {kept, gone} and events(ctx, "dead_letter.discard") == []
    code, out, _err = run("discard", str(gone), "--reason", "test device, decommissioned")
    assert code == 0 and f"{gone}: discarded" in out and "1 discarded" in out
    assert set(letters(ctx)) == {kept}
    (event,) = events(ctx, "dead_letter.discard")
    assert event["reason"] == "test device, decommissioned" and event["target"] == f"dead_letter:{gone}"
    assert event["topic"] == "territoria/lights/L003/power" and event["actor"] == "cli"
    assert event["payload_sha256"] == hashlib.sha256(b"not json at all").hexdigest()
    assert event["payload_bytes"] == len(b"not json at all") and event["attempts"] == 5
    code, out, _err = run("discard", str(gone), "--reason", "again")
    assert code == 1 and f"{gone}: not found" in out
    assert len(events(ctx, "dead_letter.discard")) == 1
    with ctx.session() as s:
        assert verify(s).ok
