"""The `territoria` command line (typer); packages add their own sub-commands here."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from territoria import i18n, plugins
from territoria.access.clients import forwarded_allow_ips
from territoria.access.retention import start_retention_schedule
from territoria.cli.common import (
    choose_database,
    cli_context,
    console,
    fail,
    listen_url,
    record_config,
)
from territoria.cli.lang import choose as choose_lang
from territoria.cli.lang import num, say
from territoria.context import Context
from territoria.db.migrate import upgrade
from territoria.errors import DomainError
from territoria.ingest.dead_letters_cli import dead_letters_app
from territoria.opendata.cli import policy_app, publish_command
from territoria.process import tune_gc
from territoria.quality.cli import quality_app
from territoria.quality.schedule import QualitySchedule
from territoria.registry.agreement_cli import agreement_app
from territoria.registry.audit_cli import audit_app
from territoria.registry.retention_cli import retention_app
from territoria.registry.user_cli import user_app

app = typer.Typer(
    help="Territoria: public control of the data of a territory's networks.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
territory_app = typer.Typer(help="Areas of the territory.", no_args_is_help=True)
org_app = typer.Typer(help="Organisations.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(territory_app, name="territory")
app.add_typer(org_app, name="org")
app.add_typer(token_app, name="token")
app.add_typer(quality_app, name="quality")
app.add_typer(audit_app, name="audit")
app.add_typer(agreement_app, name="agreement")
app.add_typer(retention_app, name="retention")
app.add_typer(user_app, name="user")
app.add_typer(policy_app, name="policy")
app.add_typer(dead_letters_app, name="dead-letters")
app.command("publish")(publish_command)
# Each domain brings its own sub-command (`territoria <domain> …`), through its contract.
for _domain in plugins.load():
    if _domain.cli is not None:
        app.add_typer(_domain.cli, name=_domain.name)


@app.callback()
def main(
    lang: Annotated[
        str | None,
        typer.Option("--lang", help="Language of the messages (fr, en…); else LANG, else English."),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Database to work on; else TERRITORIA_DATABASE_URL, else database_url in ./territoria.toml "
            "(written by the demo), else in ~/.config/territoria/territoria.toml, else "
            "sqlite:///territoria-data/territoria.db.",
        ),
    ] = None,
) -> None:
    """Territoria: public control of the data of a territory's networks."""
    try:
        choose_lang(lang)
    except ValueError as exc:
        choices = ", ".join(i18n.langs())
        raise typer.BadParameter(
            say("cli.lang_unknown", code=lang, choices=choices), param_hint="--lang"
        ) from exc
    choose_database(database_url)


def context(*, create: bool = False, **overrides: object) -> Context:
    """A context on the configured settings (the commands migrate explicitly when they need to).

    Without `create`, a database that does not exist or has no schema is refused with what to do.
    """
    return cli_context(migrate=False, create=create, **overrides)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest version."""
    ctx = context(create=True)
    upgrade(ctx.engine)
    console.print(say("cli.schema_up_to_date", dialect=ctx.engine.dialect.name))


@territory_app.command("load")
def territory_load(
    geojson: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="GeoJSON of area boundaries")],
    level: Annotated[str, typer.Option(help="commune, iris, epci or district")] = "commune",
    population: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="CSV code,population_…")
    ] = None,
) -> None:
    """Load area boundaries (and population) into the territory."""
    from territoria.territory.service import load_areas

    ctx = context(create=True)  # a set-up command: may start a new database
    upgrade(ctx.engine)
    try:
        with ctx.session(write=True) as session:
            report = load_areas(session, geojson, level=level, population=population)
    except DomainError as exc:
        raise fail(exc.message) from exc
    console.print(
        say(
            "cli.territory.loaded",
            loaded=num(report.loaded),
            level=report.level,
            with_population=num(report.with_population),
        )
    )
    if report.population_unmatched:
        codes = ", ".join(report.population_unmatched[:10])
        unmatched = say("cli.territory.population_unmatched")
        console.print(f"[yellow]{unmatched}[/] {codes}")


@territory_app.command("load-groups")
def territory_load_groups(
    membership: Annotated[
        Path | None,
        typer.Argument(
            exists=True, dir_okay=False, help="CSV commune,epci,epci_name (or INSEE CODGEO,EPCI,LIBEPCI)"
        ),
    ] = None,
    level: Annotated[str, typer.Option(help="group level")] = "epci",
) -> None:
    """Build EPCI areas from a commune-to-EPCI table (default: the packaged Alpes-Maritimes one)."""
    from territoria.territory.groups import DEFAULT_EPCI, load_groups

    ctx = context(create=True)  # a set-up command: may start a new database
    upgrade(ctx.engine)
    try:
        with ctx.session(write=True) as session:
            report = load_groups(session, membership or DEFAULT_EPCI, level=level)
    except DomainError as exc:
        raise fail(exc.message) from exc
    except ValueError as exc:
        raise fail(str(exc)) from exc
    console.print(
        say(
            "cli.territory.grouped",
            groups=num(report.groups),
            level=report.level,
            communes=num(report.communes),
        )
    )
    if report.unknown_communes:
        unknown = say("cli.territory.unknown_communes", n=num(len(report.unknown_communes)))
        console.print(f"[yellow]{unknown}[/] " + ", ".join(report.unknown_communes[:10]))
    if report.ungrouped_communes:
        ungrouped = say("cli.territory.ungrouped_communes", n=num(len(report.ungrouped_communes)))
        console.print(f"[yellow]{ungrouped}[/] " + ", ".join(report.ungrouped_communes[:10]))


@org_app.command("create")
def org_create(
    slug: str,
    name: Annotated[str, typer.Option(help="display name")],
    kind: Annotated[str, typer.Option(help="authority, operator, partner or public")],
    siren: Annotated[str | None, typer.Option(help="nine-digit SIREN")] = None,
) -> None:
    """Create an organisation."""
    from pydantic import ValidationError

    from territoria.catalog.schemas import OrganisationCreate
    from territoria.catalog.service import create_organisation

    try:
        body = OrganisationCreate(slug=slug, name=name, kind=kind, siren=siren)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from exc
    ctx = context(create=True)  # a set-up command: may start a new database
    upgrade(ctx.engine)
    try:
        with ctx.session(write=True) as session:
            create_organisation(session, body)
    except DomainError as exc:
        raise fail(exc.message) from exc
    console.print(say("cli.org.created", slug=slug))


@token_app.command("create")
def token_create(
    org: Annotated[str, typer.Option(help="organisation slug")],
    scope: Annotated[list[str], typer.Option(help="ingest, read or admin; repeat for several")],
    dataset: Annotated[list[str] | None, typer.Option(help="restrict to these datasets; repeat")] = None,
    name: Annotated[str, typer.Option(help="a label to recognise the token")] = "",
    ttl_days: Annotated[int | None, typer.Option(help="expiry in days")] = None,
) -> None:
    """Create an API token; the secret is printed once, alone on the last line."""
    from territoria.access.service import create_token
    from territoria.catalog.service import get_organisation

    ctx = context()
    upgrade(ctx.engine)
    try:
        with ctx.session(write=True) as session:
            organisation = get_organisation(session, org)
            _, secret = create_token(
                session, organisation, scope, datasets=dataset, name=name, ttl_days=ttl_days
            )
    except DomainError as exc:
        raise fail(exc.message) from exc
    console.print(say("cli.token.created", org=org, scopes=", ".join(scope)))
    print(secret)


@app.command("import")
def import_cmd(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV, NDJSON, JSON or GeoJSON file")
    ],
    dataset: Annotated[str, typer.Option(help="dataset slug")],
    encoding: Annotated[
        str,
        typer.Option(help="file encoding, e.g. cp1252; 'auto': a BOM, else UTF-8, else Windows-1252"),
    ] = "auto",
) -> None:
    """Import a file of any size into a dataset, in constant memory, with a progress bar."""
    from territoria.ingest.files import import_file

    ctx = context()
    upgrade(ctx.engine)
    tune_gc()
    size = file.stat().st_size
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn(say("cli.import.rows", rows="{task.fields[rows]}")),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=console) as progress:
            task = progress.add_task(say("cli.import.task", file=file.name), total=size, rows=num(0))
            report = import_file(
                ctx,
                file,
                dataset,
                encoding=None if encoding == "auto" else encoding,
                on_progress=lambda done, rows: progress.update(task, completed=done, rows=num(rows)),
            )
            progress.update(task, completed=size)
    except DomainError as exc:
        raise fail(exc.message) from exc
    if report.encoding:
        console.print(
            say(
                "cli.import.encoding",
                file=file.name,
                encoding=report.encoding,
                separator=repr(report.separator),
            )
        )
    counts = say(
        "cli.import.summary",
        received=num(report.received),
        accepted=num(report.accepted),
        duplicates=num(report.duplicates),
        rejected=num(report.rejected),
        batches=num(len(report.batches)),
    )
    if report.skipped_batches:
        counts += say("cli.import.skipped", n=num(report.skipped_batches))
    console.print(counts)
    for err in report.sample_errors[:10]:
        row = say("cli.import.row", row=err.get("row"))
        console.print(f"  {row} [yellow]{err.get('code')}[/] {err.get('message')}")
    if report.rejected and report.target == "rows":
        console.print(say("cli.import.quarantine", dataset=dataset))
    elif report.target == "assets":
        console.print(say("cli.import.assets", dataset=dataset))
    json.dump(
        {
            "batches": len(report.batches),
            "received": report.received,
            "accepted": report.accepted,
            "rejected": report.rejected,
        },
        sys.stdout,
    )
    print()


def _start_quality_schedule(ctx: Context) -> QualitySchedule | None:
    """The periodic quality pass of a server process (one per deployment is enough)."""
    if ctx.settings.quality_interval_s <= 0:
        return None
    schedule = QualitySchedule(ctx, ctx.settings.quality_interval_s)
    schedule.start()
    return schedule


def _require_free_port(host: str, port: int) -> None:
    """Fail before any long work when the port is taken."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise fail(say("cli.port_in_use", port=port, host=host)) from exc


@app.command("mqtt")
def mqtt_cmd(
    url: Annotated[
        str | None,
        typer.Option(
            help="broker URL, mqtt://host:1883 or mqtts://user:pass@host:8883 (default: TERRITORIA_MQTT_URL)"
        ),
    ] = None,
    shared: Annotated[
        bool,
        typer.Option(
            help="join the shared subscription $share/territoria/… so several workers split the load"
        ),
    ] = False,
    client_id: Annotated[
        str | None,
        typer.Option(
            help="client id of this worker's persistent session (default: TERRITORIA_MQTT_CLIENT_ID)"
        ),
    ] = None,
) -> None:
    """Ingest measurements published on territoria/{dataset}/{asset}/{metric} (QoS 1, acked after commit)."""
    from territoria.ingest.mqtt import serve as serve_mqtt

    ctx = context()
    upgrade(ctx.engine)
    try:
        serve_mqtt(ctx, url, shared=shared, client_id=client_id)
    except ValueError as exc:
        raise fail(str(exc)) from exc


def proxy_options(ctx: Context) -> dict[str, Any]:
    """uvicorn's proxy-header options: X-Forwarded-For/-Proto believed from TERRITORIA_TRUSTED_PROXIES only.

    uvicorn's own default trusts 127.0.0.1, so that whoever reaches the server through a local process
    would pick its own address: the list is always given, empty when no proxy is trusted.
    """
    return {"proxy_headers": True, "forwarded_allow_ips": forwarded_allow_ips(ctx.settings.trusted_proxies)}


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="server processes (one per core is a good start)")] = 1,
) -> None:
    """Run the web server and API."""
    import uvicorn

    from territoria.app import create_app

    ctx = context(create=True)
    try:
        ctx.settings.require_real_secret()
        proxies = proxy_options(ctx)  # a typo fails now, not at the first login
    except ValueError as exc:
        raise fail(str(exc)) from exc
    _require_free_port(host, port)
    upgrade(ctx.engine)
    if not ctx.settings.configured("public_url"):  # links point where this server answers
        ctx.settings.public_url = listen_url(host, port)
    console.print(say("cli.public_url", url=ctx.settings.public_url), highlight=False)
    level = ctx.settings.log_level.lower()
    if workers > 1:  # each process builds its own context from the same environment
        os.environ["TERRITORIA_PUBLIC_URL"] = ctx.settings.public_url
        os.environ["TERRITORIA_DATABASE_URL"] = ctx.settings.database_url  # --database-url included
        ctx.engine.dispose()
        uvicorn.run(
            "territoria.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=level,
            **proxies,
        )
        return
    tune_gc()
    schedule = _start_quality_schedule(ctx)
    retention = start_retention_schedule(ctx)
    try:
        uvicorn.run(create_app(context=ctx), host=host, port=port, log_level=level, **proxies)
    finally:
        if schedule is not None:
            schedule.stop_event.set()
        if retention is not None:
            retention.stop_event.set()


@app.command("simulate")
def simulate(
    assets: Annotated[int, typer.Option(help="number of simulated assets")] = 2000,
    days: Annotated[int, typer.Option(help="days of history up to now")] = 30,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same city)")] = 6,
    faults: Annotated[bool, typer.Option(help="inject faults for the quality stage")] = True,
    months: Annotated[
        int, typer.Option(help="months of older history, one reading a day, before the full-resolution days")
    ] = 0,
    feeds_dir: Annotated[
        Path | None,
        typer.Option(
            help="also write each domain's source files for this city (as operators send them) here"
        ),
    ] = None,
) -> None:
    """Generate a synthetic city on the real communes into the configured database."""
    from territoria.simulate.demo import DemoPlan, populate

    tune_gc()
    plan = DemoPlan(assets=assets, days=days, months=months, seed=seed, faults=faults)
    city = populate(context(create=True), plan, console)
    if feeds_dir is not None:
        feeds_dir.mkdir(parents=True, exist_ok=True)
        for domain in plugins.load():
            if domain.feeds is not None:
                domain.feeds.write(city, feeds_dir, days, console)


@app.command("demo")
def demo(
    port: Annotated[int, typer.Option(help="port of the web server")] = 8000,
    data_dir: Annotated[Path, typer.Option(help="where the SQLite database lives")] = Path("territoria-data"),
    assets: Annotated[int, typer.Option(help="number of simulated assets")] = 2000,
    days: Annotated[int, typer.Option(help="days of full-resolution history")] = 30,
    months: Annotated[
        int, typer.Option(help="months of older history, one reading a day, before the full-resolution days")
    ] = 13,
    live_period: Annotated[float, typer.Option(help="seconds between two live readings")] = 30.0,
) -> None:
    """Run the demo on the embedded default: SQLite, simulated city, web server, live feed."""
    import uvicorn

    from territoria.app import create_app
    from territoria.simulate.demo import DemoPlan, LiveFeed, admin_token, data_dir_url, populate
    from territoria.simulate.demo_opendata import install_opendata
    from territoria.simulate.demo_people import install_people, people_lines
    from territoria.simulate.demo_steering import install_steering

    _require_free_port("127.0.0.1", port)
    public_url = os.environ.get("TERRITORIA_PUBLIC_URL") or listen_url("127.0.0.1", port)
    ctx = context(create=True, database_url=data_dir_url(data_dir), demo=True, public_url=public_url)
    tune_gc()
    plan = DemoPlan(assets=assets, days=days, months=months)
    city = populate(ctx, plan, console)
    people = install_people(ctx)
    install_opendata(ctx, console)
    for domain in plugins.load():
        if domain.demo is not None:
            domain.demo.install(ctx, city, days, console)
    install_steering(ctx)  # after the domains: a contract clause may read a domain's dataset
    token = admin_token(ctx)
    feed = LiveFeed(ctx, city, plan.seed, live_period)
    feed.start()
    schedule = _start_quality_schedule(ctx)
    retention = start_retention_schedule(ctx)
    recorded = record_config(ctx.settings, by="demo")
    where = say("cli.demo.where", url=f"{public_url}/")
    title = say("cli.demo.title")
    console.print(f"\n[bold green]{title}[/] {where}")
    for line in people_lines(people, public_url):
        console.print(line, soft_wrap=True, highlight=False)
    if recorded is not None:
        console.print(say("cli.config_recorded", path=recorded), soft_wrap=True, highlight=False)
    else:
        console.print(say("cli.config_kept", url=ctx.settings.database_url), soft_wrap=True, highlight=False)
    console.print(say("cli.demo.admin_token"))
    print(token, flush=True)
    try:
        web = create_app(context=ctx)
        uvicorn.run(web, host="127.0.0.1", port=port, log_level="warning", **proxy_options(ctx))
    finally:
        feed.stop_event.set()
        if schedule is not None:
            schedule.stop_event.set()
        if retention is not None:
            retention.stop_event.set()


if __name__ == "__main__":
    app()
