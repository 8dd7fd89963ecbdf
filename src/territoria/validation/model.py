"""Pure types of the quality stage: rules, severities and findings (no I/O here)."""

from __future__ import annotations

from collections.abc import Mapping
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
    """A quality rule: stable code, severity and what it looks at; its title is the catalog's `rule.<code>`.

    Severity `error` sends the row to quarantine; `warning` stores it with a finding (a flag).
    """

    code: str
    severity: Severity
    scope: Scope

    def title(self, lang: str) -> str:
        """The rule's title in `lang`."""
        return i18n.t(f"rule.{self.code}", lang)


@dataclass(frozen=True)
class Finding:
    """One thing a rule found, located as precisely as the rule can (row, field, asset, metric, time).

    Its message is a catalog code and JSON parameters, written in the reader's language when read.
    """

    code: str
    severity: Severity
    message_code: str
    params: dict[str, Any] = dataclass_field(default_factory=dict)
    row: int | None = None
    field: str | None = None
    asset: str | None = None
    metric: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    details: dict[str, Any] = dataclass_field(default_factory=dict)

    def message(self, lang: str) -> str:
        """The message in `lang`, from the catalogs."""
        return i18n.message(self.message_code, self.params, lang)

    @property
    def message_en(self) -> str:
        """The English message (the API's `message` and `message_en`)."""
        return self.message("en")

    @property
    def message_fr(self) -> str:
        """The French message (the API's `message_fr`)."""
        return self.message("fr")

    def stored_message(self) -> tuple[str, dict[str, Any]]:
        """The code and parameters to store."""
        return self.message_code, self.params

    def as_error(self) -> RowError:
        """The entry of a batch answer's `errors` list (the stored code, its English and French texts)."""
        return row_error(self.row, self.field, self.code, self.message_code, self.params)


def coded(rule: Rule, code: str, params: dict[str, Any], **where: Any) -> Finding:
    """A finding of `rule` whose message is the catalog's `code` with `params` (JSON values)."""
    return Finding(rule.code, rule.severity, code, params, **where)


def text_params(en: str, fr: str) -> dict[str, str]:
    """The parameters of the generic `finding.text` message: sentences written by a sender or a parser."""
    return {"en": en, "fr": fr or en}


# A rejected row's reason: row, field, rule code, and its message as a catalog code and parameters.
RowError = dict[str, Any]
# The texts a batch answer adds to each error (computed from the code; never stored).
ANSWER_TEXTS = ("message", "message_fr")


def row_error(
    row: int | None, field: str | None, code: str, message_code: str, params: dict[str, Any]
) -> RowError:
    """One entry of a batch's `errors` list: the stored code and parameters, with the English (`message`)
    and French texts the API has always answered."""
    error: RowError = {"row": row, "field": field, "code": code}
    error |= {"message_code": message_code, "message_params": params}
    error["message"] = i18n.message(message_code, params, "en")
    error["message_fr"] = i18n.message(message_code, params, "fr")
    return error


def stored_error(error: Mapping[str, Any]) -> RowError:
    """What a quarantined row keeps of an error: its code and parameters, not the sentences."""
    if error.get("message_code"):
        return {k: v for k, v in error.items() if k not in ANSWER_TEXTS}
    return dict(error)


def error_message(error: Mapping[str, Any], lang: str) -> str:
    """A stored error's message in `lang`; an error stored before codes keeps its sentences
    (English in `message`, French in `message_fr`), read in `lang` when it has one, else French."""
    code = error.get("message_code")
    if isinstance(code, str) and code:
        params = error.get("message_params")
        return i18n.message(code, params if isinstance(params, dict) else {}, lang)
    old = {"en": error.get("message"), "fr": error.get("message_fr")}
    return str(old.get(lang) or old["fr"] or old["en"] or "")


def answered_error(error: Mapping[str, Any]) -> RowError:
    """A stored error as the API answers it: `message` (English) and `message_fr` from its code."""
    out = dict(error)
    if error.get("message_code"):
        out["message"], out["message_fr"] = error_message(error, "en"), error_message(error, "fr")
    return out
