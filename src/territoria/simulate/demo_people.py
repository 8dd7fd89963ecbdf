"""The demo's people and agreements: who logs in, for which organisation, and what is shared with whom."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria.access.agreement_models import Agreement
from territoria.access.audit import record
from territoria.access.passwords import hash_password
from territoria.access.users import create_user, find_user, set_membership
from territoria.catalog.schemas import OrganisationCreate
from territoria.catalog.service import ensure_organisation, get_dataset, get_organisation
from territoria.cli.lang import say
from territoria.context import Context
from territoria.simulate import networks

# Published with the demo on purpose: the demo runs on 127.0.0.1 with simulated data only.
DEMO_PASSWORD = "territoria-demo"  # noqa: S105
PARTNER = OrganisationCreate(
    slug="observatoire-energie-demo", name="Observatoire régional de l'énergie (démo)", kind="partner"
)


@dataclass(frozen=True)
class DemoUser:
    """One demo account: e-mail, organisation, role, and what it shows."""

    email: str
    org: str
    role: str
    about: str
    platform_admin: bool = False


USERS: tuple[DemoUser, ...] = (
    DemoUser("admin@metropole.demo", networks.METROPOLE.slug, "admin", "authority, platform admin", True),
    DemoUser("elus@metropole.demo", networks.METROPOLE.slug, "viewer", "steering committee (read only)"),
    DemoUser("exploitation@eau-azur.demo", networks.WATER_OPERATOR.slug, "steward", "water operator"),
    DemoUser(
        "donnees@reseau-electrique.demo",
        networks.ELECTRICITY_OPERATOR.slug,
        "steward",
        "electricity operator, publishes open data",
    ),
    DemoUser("flux@recharge-azur.demo", networks.EV_OPERATOR.slug, "producer", "EV operator's data feed"),
    DemoUser("analyste@observatoire.demo", PARTNER.slug, "analyst", "partner, electricity shared"),
)

CONTRACT_PURPOSE = (
    "Contrôle du contrat de délégation de service public (rapport annuel, indicateurs de performance)"
)


@dataclass(frozen=True)
class DemoShare:
    """An agreement the demo starts with."""

    dataset: str
    recipient: str
    purpose: str
    fields: tuple[str, ...] | None
    days: int  # negative: already expired, to show what an expired agreement does


def shares() -> list[DemoShare]:
    """The authority reads every operator's network under its contract; the partner reads electricity."""
    contract = [
        DemoShare(net.slug, networks.METROPOLE.slug, CONTRACT_PURPOSE, None, 365)
        for net in networks.NETWORKS
        if net.owner.slug != networks.METROPOLE.slug and net.access != "open"
    ]
    return [
        *contract,
        DemoShare(
            networks.ELECTRICITY_METERS.slug,
            PARTNER.slug,
            "Bilan énergétique territorial annuel (consommations agrégées par commune)",
            ("active_power",),
            180,
        ),
        DemoShare(networks.WATER_METERS.slug, PARTNER.slug, "Étude ponctuelle 2025 (terminée)", None, -1),
    ]


def install_people(ctx: Context) -> list[DemoUser]:
    """Create the demo's users, partner, agreements and personal-data settings (idempotent)."""
    now = datetime.now(UTC)
    with ctx.session(write=True) as session:
        ensure_organisation(session, PARTNER)
        for spec in USERS:
            user = find_user(session, spec.email)
            if user is None:
                user = create_user(session, spec.email, platform_admin=spec.platform_admin, actor="demo")
                # The documented demo password is refused to anyone choosing it (it is public): the demo
                # alone sets it, here, without the strength check.
                user.password_hash = hash_password(DEMO_PASSWORD)
                set_membership(session, user, get_organisation(session, spec.org), spec.role, actor="demo")
        meters = get_dataset(session, networks.ELECTRICITY_METERS.slug)
        # A smart meter identifies a household: its id and position are personal data, so others see a
        # pseudonym and the commune only.
        meters.personal_fields = ["asset", "asset.location"]
        meters.retention_days = 730
        for share in shares():
            add_share(session, share, now)
    return list(USERS)


def add_share(session: Session, share: DemoShare, now: datetime) -> None:
    """The data-sharing agreement of a demo share, unless the recipient already has one (audited)."""
    ds = get_dataset(session, share.dataset)
    recipient = get_organisation(session, share.recipient)
    exists = session.scalar(
        select(Agreement.id).where(Agreement.dataset_id == ds.id, Agreement.organisation_id == recipient.id)
    )
    if exists is not None:
        return
    starts = now - timedelta(days=30) if share.days < 0 else now
    agreement = Agreement(
        dataset_id=ds.id,
        organisation_id=recipient.id,
        purpose=share.purpose,
        fields=list(share.fields) if share.fields is not None else None,
        starts_at=starts,
        expires_at=now + timedelta(days=share.days),
        created_by="demo",
    )
    session.add(agreement)
    session.flush()
    record(
        session,
        actor="demo",
        action="agreement.create",
        target=f"agreement:{agreement.id}",
        organisation_id=ds.owner_id,
        details={"dataset": ds.slug, "recipient": recipient.slug, "fields": agreement.fields},
    )


def people_lines(users: list[DemoUser], base_url: str) -> list[str]:
    """The demo accounts, one per line (never truncated, whatever the terminal's width)."""
    lines = [say("cli.demo.log_in", url=f"{base_url}/login", password=DEMO_PASSWORD)]
    lines += [f"  {u.email:<28} {u.role:<9} {u.org} — {u.about}" for u in users]
    return lines
