"""`territoria publish DATASET` and `territoria policy set|show`: privacy policies and open-data releases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from territoria.analytics.definitions import check_yaml_shape
from territoria.catalog.service import get_dataset
from territoria.cli.common import cli_context, console, fail, out
from territoria.cli.lang import num, say
from territoria.db.migrate import upgrade
from territoria.errors import DomainError, Invalid
from territoria.opendata.models import Release
from territoria.opendata.policies import current_policy, set_policy
from territoria.opendata.presets import PRESETS
from territoria.opendata.service import publish
from territoria.opendata.sources import domain_sources

policy_app = typer.Typer(
    help="Privacy policies of datasets (what may be opened, and how).", no_args_is_help=True
)


def _read_policy(path: Path | None, preset: str | None) -> dict[str, Any]:
    """A policy body from a JSON or YAML file, or a preset name."""
    if path is None:
        if preset is None:
            names = sorted([*PRESETS, *domain_sources()])  # domain modules are imported only on this error
            raise fail(say("cli.policy.file_or_preset", presets=", ".join(names)))
        return {"preset": preset}
    try:
        text = path.read_text(encoding="utf-8")
        check_yaml_shape(text, str(path))  # bounded depth and aliases before safe_load recurses
        raw = yaml.safe_load(text)
    except (OSError, UnicodeError, yaml.YAMLError) as exc:
        raise fail(say("cli.policy.unreadable", path=str(path), error=str(exc))) from None
    except Invalid as exc:
        raise fail(exc.message) from None
    if not isinstance(raw, dict):
        raise fail(say("cli.policy.not_a_mapping", path=str(path), type=type(raw).__name__))
    if preset:
        raw.setdefault("preset", preset)
    return raw


def report_table(release: Release) -> Table:
    """The disclosure-control checks of a release, one row each."""
    title = say("cli.publish.title", version=release.version, status=release.status, rows=num(release.rows))
    table = Table(title=title)
    table.add_column(say("cli.publish.check"))
    table.add_column(say("cli.publish.checked"), justify="right")
    table.add_column(say("cli.publish.failures"), justify="right")
    table.add_column("")
    for item in release.report.get("checks", []):
        mark = "[green]✓[/]" if item.get("passed") else "[red]✗[/]"
        table.add_row(
            str(item.get("code")), str(item.get("checked", "")), str(item.get("failures", "")), mark
        )
    return table


@policy_app.command("set")
def policy_set(
    dataset: Annotated[str, typer.Argument(help="Dataset slug")],
    path: Annotated[Path | None, typer.Argument(help="Policy file (JSON or YAML)")] = None,
    preset: Annotated[
        str | None,
        typer.Option(help=f"Start from a preset: {', '.join(sorted(PRESETS))}, or a domain's source"),
    ] = None,
    comment: Annotated[str, typer.Option(help="Why this version")] = "",
) -> None:
    """Store a new version of a dataset's privacy policy (refused, with reasons, if it cannot hold)."""
    raw = _read_policy(path, preset)
    ctx = cli_context(migrate=False)
    try:
        upgrade(ctx.engine)
        with ctx.session(write=True) as session:
            row = set_policy(session, get_dataset(session, dataset), raw, None, comment)
            version = row.version
    except DomainError as exc:
        for item in exc.errors:
            console.print(f"  [red]•[/] {item.get('field')}: {item.get('message')}")
        raise fail(exc.message) from None
    finally:
        ctx.engine.dispose()
    console.print(say("cli.policy.stored", dataset=dataset, version=version))


@policy_app.command("show")
def policy_show(dataset: Annotated[str, typer.Argument(help="Dataset slug")]) -> None:
    """Print the current privacy policy of a dataset (JSON)."""
    ctx = cli_context(migrate=False)
    try:
        with ctx.session() as session:
            row = current_policy(session, get_dataset(session, dataset))
            if row is None:
                raise fail(say("cli.policy.none", dataset=dataset))
            out.print_json(json.dumps({"version": row.version, "policy": row.body}))
    except DomainError as exc:
        raise fail(exc.message) from None
    finally:
        ctx.engine.dispose()


def publish_command(
    dataset: Annotated[str, typer.Argument(help="Dataset slug")],
    preset: Annotated[
        str | None, typer.Option(help="Set this preset as the policy first, if the dataset has none")
    ] = None,
) -> None:
    """Build the next open-data release of a dataset under its privacy policy, and check every cell."""
    ctx = cli_context(migrate=False)
    try:
        upgrade(ctx.engine)
        with ctx.session(write=True) as session:
            ds = get_dataset(session, dataset)
            if preset and current_policy(session, ds) is None:
                set_policy(session, ds, {"preset": preset}, None, "set by territoria publish --preset")
        building = console.status(say("cli.publish.building", dataset=dataset))
        with building, ctx.session(write=True) as session:
            outcome = publish(session, ctx.settings, get_dataset(session, dataset), None)
            release = outcome.release
            console.print(report_table(release))
            version, status, rows = release.version, release.status, release.rows
            secret = release.report.get("secret", 0)
    except DomainError as exc:
        for item in exc.errors:
            console.print(f"  [red]•[/] {item.get('field')}: {item.get('message')}")
        raise fail(exc.message) from None
    finally:
        ctx.engine.dispose()
    if status != "published":
        raise fail(say("cli.publish.failed", version=version, dataset=dataset))
    detail = say("cli.publish.detail", dataset=dataset, version=version, rows=num(rows), secret=num(secret))
    published = say("cli.publish.published")
    console.print(f"[green]{published}[/] {detail}")
    out.print(f"/opendata/{dataset}")
