"""The caller of a request or a command: who it is, for which organisation, with which rights."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from territoria.access.roles import Capability


@dataclass(frozen=True)
class Grant:
    """A live data-sharing agreement as the recipient holds it."""

    agreement_id: int
    purpose: str
    fields: frozenset[str] | None
    expires_at: datetime


@dataclass
class Journal:
    """Security events noticed while serving one request, written to the audit trail when it ends."""

    events: list[dict[str, Any]] = field(default_factory=list)

    def add(self, action: str, target: str, **details: Any) -> None:
        """Note one event (deduplicated: a page reading a dataset ten times notes it once)."""
        event = {"action": action, "target": target, "details": details}
        if event not in self.events:
            self.events.append(event)


@dataclass(frozen=True)
class Principal:
    """Anonymous, a machine token, or a logged-in user acting for one organisation."""

    organisation_id: int | None = None
    organisation_slug: str | None = None
    organisation_kind: str | None = None
    token_id: int | None = None
    user_id: int | None = None
    user_email: str | None = None
    session_id: int | None = None
    scopes: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    capabilities: frozenset[Capability] = frozenset()
    # A token may be limited to some datasets (slugs); None: no such limit.
    datasets: frozenset[str] | None = None
    # Live agreements of the principal's organisation, by dataset id.
    grants: dict[int, Grant] = field(default_factory=dict, compare=False, hash=False)
    is_platform_admin: bool = False
    csrf_token: str | None = field(default=None, compare=False, repr=False)
    journal: Journal = field(default_factory=Journal, compare=False, hash=False, repr=False)

    @property
    def anonymous(self) -> bool:
        """True without a token or a session."""
        return self.token_id is None and self.user_id is None

    @property
    def platform_admin(self) -> bool:
        """Administers the platform: organisations, people, the audit trail (not a data bypass)."""
        return self.is_platform_admin

    @property
    def actor(self) -> str:
        """How the audit trail names this caller."""
        org = self.organisation_slug or self.organisation_id
        if self.user_id is not None:
            return f"user:{self.user_email or self.user_id}" + (f"@org:{org}" if org else "")
        if self.token_id is not None:
            return f"org:{org}/token:{self.token_id}"
        return "anonymous"

    def can(self, capability: Capability) -> bool:
        """True when one of the principal's roles or scopes grants this capability."""
        return capability in self.capabilities


ANONYMOUS = Principal()
