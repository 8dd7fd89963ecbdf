"""Roles within an organisation, what each may do, and how token scopes map onto them."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Role(StrEnum):
    """A person's (or a token's) role in one organisation."""

    ADMIN = "admin"
    STEWARD = "steward"
    PRODUCER = "producer"
    ANALYST = "analyst"
    VIEWER = "viewer"


class Capability(StrEnum):
    """Something a principal may do on a dataset or an organisation."""

    READ = "read"  # read measurements, records, assets, quality
    INGEST = "ingest"  # send measurements, records, assets
    QUARANTINE = "quarantine"  # see and handle rejected raw rows and batch reports
    MANAGE = "manage"  # create datasets, change schemas, access and personal fields
    SHARE = "share"  # create and revoke data-sharing agreements
    PUBLISH = "publish"  # build open-data releases
    MEMBERS = "members"  # invite people, change roles, create tokens
    ANALYSE = "analyse"  # define KPIs, plan targets and contract clauses


ROLES: tuple[str, ...] = tuple(r.value for r in Role)

# Why these sets: a producer must see what was rejected to fix its feed, but not reshape the dataset;
# an analyst reads and builds indicators; a steward curates (schemas, agreements, publication).
CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.ADMIN: frozenset(Capability),
    Role.STEWARD: frozenset(
        {
            Capability.READ,
            Capability.INGEST,
            Capability.QUARANTINE,
            Capability.MANAGE,
            Capability.SHARE,
            Capability.PUBLISH,
            Capability.ANALYSE,
        }
    ),
    Role.PRODUCER: frozenset({Capability.READ, Capability.INGEST, Capability.QUARANTINE}),
    Role.ANALYST: frozenset({Capability.READ, Capability.ANALYSE}),
    Role.VIEWER: frozenset({Capability.READ}),
}

# Token scopes are narrower than roles on purpose: an ingest-only feed sends data and reads its own batch
# reports and rejections, but cannot read the dataset itself.
SCOPE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    "ingest": frozenset({Capability.INGEST, Capability.QUARANTINE}),
    "read": frozenset({Capability.READ}),
    "admin": frozenset(Capability),
}


def capabilities(roles: Iterable[str]) -> frozenset[Capability]:
    """Union of the capabilities of some roles (unknown names grant nothing)."""
    granted: set[Capability] = set()
    for name in roles:
        if name in ROLES:
            granted |= CAPABILITIES[Role(name)]
    return frozenset(granted)


def scope_capabilities(scopes: Iterable[str]) -> frozenset[Capability]:
    """Union of the capabilities of a token's scopes."""
    granted: set[Capability] = set()
    for scope in scopes:
        granted |= SCOPE_CAPABILITIES.get(scope, frozenset())
    return frozenset(granted)
