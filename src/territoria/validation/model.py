"""Pure types of the quality stage: rules, severities and findings (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from typing import Any, Literal

from territoria import i18n

# The message of a finding stored before codes, or of a rule that writes its own sentences.
TEXT_CODE = "finding.text"

Severity = Literal["error", "warning"]
Scope = Literal["row", "series", "asset", "dataset"]


@dataclass(frozen=True)
class Rule:
    """A quality rule: stable code, severity, what it looks at, and its title in both languages.

    Severity `error` sends the row to quarantine; `warning` stores it with a finding (a flag).
    """

    code: str
    severity: Severity
    scope: Scope
    title_en: str
    title_fr: str


@dataclass(frozen=True)
class Finding:
    """One thing a rule found, located as precisely as the rule can (row, field, asset, metric, time)."""

    code: str
    severity: Severity
    message_en: str
    message_fr: str
    row: int | None = None
    field: str | None = None
    asset: str | None = None
    metric: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    details: dict[str, Any] = dataclass_field(default_factory=dict)
    # The catalog code of the message and its parameters: what is stored; the sentences are read from it.
    message_code: str = ""
    params: dict[str, Any] = dataclass_field(default_factory=dict)

    def stored_message(self) -> tuple[str, dict[str, Any]]:
        """The code and parameters to store: the generic text code when the rule gave sentences only."""
        if self.message_code:
            return self.message_code, self.params
        return TEXT_CODE, {"en": self.message_en, "fr": self.message_fr}

    def as_error(self) -> dict[str, Any]:
        """The entry of a batch answer's `errors` list (English message, French beside it)."""
        return {
            "row": self.row,
            "field": self.field,
            "code": self.code,
            "message": self.message_en,
            "message_fr": self.message_fr,
        }


def finding(rule: Rule, en: str, fr: str, **where: Any) -> Finding:
    """A finding of `rule` with its messages and location."""
    return Finding(code=rule.code, severity=rule.severity, message_en=en, message_fr=fr, **where)


def coded(rule: Rule, code: str, params: dict[str, Any], **where: Any) -> Finding:
    """A finding of `rule` whose message is the catalog's `code` with `params` (JSON values)."""
    en, fr = (i18n.message(code, params, lang) for lang in ("en", "fr"))
    return Finding(rule.code, rule.severity, en, fr, message_code=code, params=params, **where)
