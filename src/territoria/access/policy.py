"""The one place that decides who may do what with a dataset.

Every API route, page, export and query goes through `decide`/`require` (and the wrappers below):
ownership, roles, token limits, data-sharing agreements and open access are weighed here and nowhere
else. Refusals are noted in the principal's journal, which the request writes to the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from territoria.access.principal import Grant, Principal
from territoria.access.roles import Capability
from territoria.catalog.errors import DatasetNotFound
from territoria.catalog.models import Dataset
from territoria.errors import Forbidden, NotFound, Unauthenticated

Via = Literal["owner", "agreement", "open", "none"]
Scope = Literal["data", "release"]


@dataclass(frozen=True)
class Decision:
    """Whether an action is allowed, on what ground, and the agreement that allows it if any."""

    allowed: bool
    via: Via
    reason: str = ""
    grant: Grant | None = None


WHAT: dict[Capability, str] = {
    Capability.READ: "read",
    Capability.INGEST: "send data to",
    Capability.QUARANTINE: "see the rejected rows and batch reports of",
    Capability.MANAGE: "change",
    Capability.SHARE: "share",
    Capability.PUBLISH: "publish",
    Capability.MEMBERS: "manage the members of",
    Capability.ANALYSE: "build indicators on",
}


def _token_allows(principal: Principal, ds: Dataset) -> bool:
    """A token limited to some datasets includes this one."""
    return principal.datasets is None or ds.slug in principal.datasets


def is_owner(principal: Principal, ds: Dataset) -> bool:
    """The principal acts for the organisation that owns the dataset."""
    return principal.organisation_id is not None and principal.organisation_id == ds.owner_id


def can_see(principal: Principal, ds: Dataset) -> bool:
    """Whether the principal may know that the dataset exists: open, or its own organisation's (within
    the token's datasets), or shared with it by a live agreement. Everyone else is answered as if the
    slug were unknown, so that private slugs cannot be enumerated (nothing is noted)."""
    if ds.access == "open":
        return True
    if principal.anonymous or not _token_allows(principal, ds):
        return False
    return is_owner(principal, ds) or ds.id in principal.grants


def decide(principal: Principal, ds: Dataset, capability: Capability) -> Decision:
    """May this principal exercise this capability on this dataset, and why."""
    if capability is Capability.READ and ds.access == "open":
        return Decision(True, "open")
    if principal.anonymous:
        return Decision(False, "none", f"dataset '{ds.slug}' is not open: log in or send a token")
    if not _token_allows(principal, ds):
        return Decision(False, "none", f"this token is limited to other datasets than '{ds.slug}'")
    if is_owner(principal, ds):
        if principal.can(capability):
            return Decision(True, "owner")
        return Decision(
            False, "none", f"your role does not allow you to {WHAT[capability]} dataset '{ds.slug}'"
        )
    grant = principal.grants.get(ds.id)
    if capability is Capability.READ and grant is not None and principal.can(Capability.READ):
        return Decision(True, "agreement", grant=grant)
    if capability is Capability.READ:
        return Decision(
            False,
            "none",
            f"your organisation has no read access to dataset '{ds.slug}': "
            "ask its owner for a data-sharing agreement",
        )
    return Decision(False, "none", f"only the owner organisation of '{ds.slug}' may {WHAT[capability]} it")


def require(principal: Principal, ds: Dataset, capability: Capability) -> Decision:
    """The decision if allowed; otherwise note the refusal and raise 404 (the principal may not see the
    dataset: the same answer as an unknown slug), 401 (anonymous, on an open dataset) or 403."""
    decision = decide(principal, ds, capability)
    if decision.allowed:
        if decision.via == "agreement" and decision.grant is not None:
            principal.journal.add("dataset.read", f"dataset:{ds.slug}", agreement=decision.grant.agreement_id)
        return decision
    principal.journal.add(
        "access.denied", f"dataset:{ds.slug}", capability=capability.value, reason=decision.reason
    )
    if not can_see(principal, ds):
        raise DatasetNotFound(ds.slug)
    if principal.anonymous:
        raise Unauthenticated(decision.reason)
    raise Forbidden(decision.reason)


def check_read(principal: Principal, ds: Dataset) -> bool:
    """Like `require_read` for pages that answer "not found" rather than raise: notes reads and refusals."""
    try:
        require(principal, ds, Capability.READ)
    except (Unauthenticated, Forbidden, NotFound):
        return False
    return True


def may_handle_quarantine(principal: Principal, ds: Dataset) -> bool:
    """Whether links to the dataset's quarantine and quality reports lead somewhere (nothing is noted)."""
    return decide(principal, ds, Capability.QUARANTINE).allowed


def can_read(principal: Principal, ds: Dataset) -> bool:
    """True when the principal may read the dataset (nothing is noted)."""
    return decide(principal, ds, Capability.READ).allowed


def read_scope(principal: Principal, ds: Dataset, needs: Iterable[str] = ()) -> Scope:
    """What a domain view (a figure, a map, a page computed from a dataset) may use of a dataset: "data"
    when the principal may read it (with the fields or metrics `needs` names), else only its published
    open-data "release". Domain modules never read a dataset without asking this (or `require_read`).
    Reads under an agreement are noted; a fallback to the release is not a refusal and is not noted."""
    decision = decide(principal, ds, Capability.READ)
    if not decision.allowed:
        return "release"
    fields = allowed_fields(principal, ds)
    if fields is not None and not set(needs) <= fields:
        return "release"  # an agreement leaving out a metric the view needs: only the release applies
    if decision.via == "agreement" and decision.grant is not None:
        principal.journal.add("dataset.read", f"dataset:{ds.slug}", agreement=decision.grant.agreement_id)
    return "data"


def may_release_with(published: Dataset, other: Dataset) -> bool:
    """A release of `published` may draw on `other`'s data: the same dataset, an open one, or one of the
    same owner organisation (whose publisher decides for it); never another organisation's private data."""
    return other.id == published.id or other.access == "open" or other.owner_id == published.owner_id


def readable(principal: Principal, datasets: Iterable[Dataset]) -> list[Dataset]:
    """The datasets this principal may read, in the given order."""
    return [ds for ds in datasets if can_read(principal, ds)]


def require_read(principal: Principal, ds: Dataset) -> Decision:
    """Refuse a read the principal is not allowed."""
    return require(principal, ds, Capability.READ)


def require_ingest(principal: Principal, ds: Dataset) -> None:
    """Sending data needs the `ingest` capability in the owner organisation."""
    require(principal, ds, Capability.INGEST)


def require_owner(principal: Principal, ds: Dataset, what: str = "") -> None:
    """Rejected rows and batch reports are for the owner's producers, stewards and admins."""
    del what  # the reason names the capability; kept for call sites that describe the view
    require(principal, ds, Capability.QUARANTINE)


def quarantine_token(principal: Principal) -> int | None:
    """Whose rejected rows and batch reports a principal who passed `require_owner` handles: None for
    every batch of the dataset (people and tokens that may read it: producers, stewards, admins), else
    only those its own token submitted (an ingest-only token; 0 matches none, for callers without a
    token): a device's token must not read the rejected rows of the organisation's other feeds."""
    if principal.can(Capability.READ):
        return None
    return principal.token_id or 0


def require_batch(principal: Principal, ds: Dataset, batch_id: str, batch_token_id: int | None) -> None:
    """A batch's report and rejected rows: like `require_owner`; a caller who may not see the dataset,
    or an ingest-only token asking for another token's batch, is answered as if the batch did not exist."""
    unknown = f"batch '{batch_id}' does not exist"
    try:
        require(principal, ds, Capability.QUARANTINE)
    except NotFound:
        raise NotFound(unknown) from None
    token = quarantine_token(principal)
    if token is not None and token != batch_token_id:
        principal.journal.add("access.denied", f"batch:{batch_id}", reason="a batch another token sent")
        raise NotFound(unknown)


def require_manage(principal: Principal, ds: Dataset | None = None) -> None:
    """Creating a dataset, or changing one, needs the `manage` capability (in the owner organisation)."""
    if ds is not None:
        require(principal, ds, Capability.MANAGE)
        return
    require_capability(principal, Capability.MANAGE, "create datasets", target="dataset:*")


def require_capability(principal: Principal, capability: Capability, what: str, *, target: str) -> None:
    """An organisation-level action (no dataset yet): the capability in the principal's organisation."""
    if principal.anonymous:
        principal.journal.add("access.denied", target, capability=capability.value, reason="anonymous")
        raise Unauthenticated(f"to {what}, log in or send a token")
    if principal.organisation_id is None or not principal.can(capability):
        reason = f"your role does not allow you to {what}"
        principal.journal.add("access.denied", target, capability=capability.value, reason=reason)
        raise Forbidden(reason)


def require_platform_admin(principal: Principal, what: str, *, target: str) -> None:
    """Platform administration (organisations, people, the audit trail) is for the authority's admins."""
    if principal.anonymous:
        principal.journal.add("access.denied", target, capability="platform_admin", reason="anonymous")
        raise Unauthenticated(f"to {what}, log in as a platform administrator")
    if not principal.platform_admin:
        reason = f"only a platform administrator may {what}"
        principal.journal.add("access.denied", target, capability="platform_admin", reason=reason)
        raise Forbidden(reason)


def allowed_fields(principal: Principal, ds: Dataset) -> frozenset[str] | None:
    """Fields (records) or metrics (time series) the principal may read; None: all of them."""
    if ds.access == "open" or is_owner(principal, ds):
        return None
    grant = principal.grants.get(ds.id)
    return grant.fields if grant is not None else frozenset()


def require_field(principal: Principal, ds: Dataset, name: str) -> None:
    """Refuse reading a metric or field left out of the principal's agreement."""
    fields = allowed_fields(principal, ds)
    if fields is None or name in fields:
        return
    reason = f"the data-sharing agreement on '{ds.slug}' does not include '{name}'"
    principal.journal.add("access.denied", f"dataset:{ds.slug}", field=name, reason=reason)
    raise Forbidden(reason)


def sees_personal(principal: Principal, ds: Dataset) -> bool:
    """Personal fields are shown in clear to the owner organisation only."""
    return is_owner(principal, ds) and principal.can(Capability.READ)


def require_org_capability(
    principal: Principal, organisation_id: int | None, capability: Capability, what: str, *, target: str
) -> None:
    """An action on one organisation (members, tokens, audit events): its own people, or a platform admin."""
    if principal.anonymous:
        principal.journal.add("access.denied", target, capability=capability.value, reason="anonymous")
        raise Unauthenticated(f"to {what}, log in or send a token")
    if principal.platform_admin:
        return
    own = organisation_id is not None and principal.organisation_id == organisation_id
    if not own or not principal.can(capability):
        reason = f"your role does not allow you to {what}"
        principal.journal.add("access.denied", target, capability=capability.value, reason=reason)
        raise Forbidden(reason)


def require_delegable(
    principal: Principal,
    granted: frozenset[Capability],
    datasets: frozenset[str] | None,
    *,
    platform_admin: bool,
    target: str,
) -> None:
    """A new token carries no more than its creator: capabilities, dataset limit, platform administration."""
    reason = ""
    missing = sorted(c.value for c in granted - principal.capabilities)
    if missing:
        reason = f"a token cannot receive rights you do not hold ({', '.join(missing)})"
    elif principal.datasets is not None and (datasets is None or not datasets <= principal.datasets):
        reason = "your token is limited to some datasets: a token you create must stay within them"
    elif platform_admin and not principal.platform_admin:
        # An admin token of the authority administers the platform: only a platform admin may mint one.
        reason = "only a platform administrator may create an admin token for the authority"
    if reason:
        principal.journal.add("access.denied", target, capability=Capability.MEMBERS.value, reason=reason)
        raise Forbidden(reason)


def require_signed_in(principal: Principal, what: str, *, target: str) -> None:
    """Things only logged-in parties see (agreements, contracts): an anonymous caller is asked to log in
    before anything is looked up, so that the answer does not tell whether the id exists."""
    if principal.anonymous:
        principal.journal.add("access.denied", target, reason="anonymous")
        raise Unauthenticated(f"log in or send a token to see {what}")


def check_agreement_party(principal: Principal, agreement_id: int, owner_id: int, recipient_id: int) -> bool:
    """Both sides of an agreement and platform admins see it; others are refused (noted; callers say 404)."""
    if principal.platform_admin or principal.organisation_id in (owner_id, recipient_id):
        return True
    reason = "not a party to this data-sharing agreement"
    principal.journal.add("access.denied", f"agreement:{agreement_id}", reason=reason)
    if principal.anonymous:
        raise Unauthenticated("log in or send a token to see data-sharing agreements")
    return False


def require_authority(principal: Principal, capability: Capability, what: str, *, target: str) -> None:
    """Steering the territory (plan targets, operator contracts): the authority's people with the
    capability, or a platform administrator."""
    if principal.anonymous:
        principal.journal.add("access.denied", target, capability=capability.value, reason="anonymous")
        raise Unauthenticated(f"to {what}, log in or send a token")
    if principal.platform_admin:
        return
    reason = ""
    if principal.organisation_kind != "authority":
        reason = f"only the authority may {what}"
    elif not principal.can(capability):
        reason = f"your role does not allow you to {what}"
    if reason:
        principal.journal.add("access.denied", target, capability=capability.value, reason=reason)
        raise Forbidden(reason)


def is_contract_party(principal: Principal, operator_id: int) -> bool:
    """The authority's readers, the contract's operator's readers and platform admins (nothing is noted)."""
    if principal.anonymous:
        return False
    if principal.platform_admin:
        return True
    party = principal.organisation_kind == "authority" or principal.organisation_id == operator_id
    return party and principal.can(Capability.READ)


def check_contract_party(principal: Principal, contract_id: int, operator_id: int) -> bool:
    """Like `is_contract_party`, noting refusals (callers answer 404 so that other operators' contracts
    stay unknown); anonymous callers are asked to log in."""
    if principal.anonymous:
        principal.journal.add("access.denied", f"contract:{contract_id}", reason="anonymous")
        raise Unauthenticated("log in or send a token to see operator contracts")
    if is_contract_party(principal, operator_id):
        return True
    principal.journal.add("access.denied", f"contract:{contract_id}", reason="not a party to this contract")
    return False
