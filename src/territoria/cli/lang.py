"""The language of the command line's messages: `--lang`, else the locale environment, else English."""

from __future__ import annotations

import os
from collections.abc import Mapping

from babel import negotiate_locale

from territoria import i18n

CLI_DEFAULT = "en"  # the command line spoke English before it had catalogs; scripts may parse it
_chosen: list[str] = []


def from_env(environ: Mapping[str, str]) -> str | None:
    """The language the POSIX locale variables ask for (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), if available."""
    wanted: list[str] = []
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        for value in environ.get(name, "").split(":"):
            tag = value.split(".")[0].split("@")[0]  # fr_FR.UTF-8@euro → fr_FR
            if tag and tag not in ("C", "POSIX"):
                wanted.append(tag)
    return negotiate_locale(wanted, i18n.langs(), sep="_") if wanted else None


def choose(option: str | None, environ: Mapping[str, str] | None = None) -> str:
    """Set the language of this run from `--lang`, else the environment; returns it."""
    available = i18n.langs()
    if option is not None and option.lower() not in available:
        raise ValueError(f"unknown language {option!r}: choose one of {', '.join(available)}")
    lang = option.lower() if option else from_env(os.environ if environ is None else environ) or CLI_DEFAULT
    _chosen[:] = [lang]
    return lang


def lang() -> str:
    """The language of this run (the environment's until `choose` ran)."""
    return _chosen[0] if _chosen else (from_env(os.environ) or CLI_DEFAULT)


def say(key: str, **values: object) -> str:
    """The CLI message `key` in this run's language."""
    return i18n.t(key, lang(), **values)


def num(value: float, decimals: int | None = None) -> str:
    """A count or a measure as this run's language writes it (1,234 in English, 1 234 in French)."""
    return i18n.number(value, lang(), decimals)
