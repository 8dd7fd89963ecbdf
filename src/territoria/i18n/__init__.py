"""Messages (gettext catalogs), numbers and dates in the visitor's language, and the choice of language.

Messages live in `.po` catalogs, one folder per language under each registered locale directory
(`<dir>/<lang>/LC_MESSAGES/territoria.po`); their msgids are stable symbolic keys ("home.title"), their
texts `%`-format strings (`%(name)s`, a literal percent sign written `%%`). A language is available as
soon as one registered directory holds a catalog for it: adding a language needs no code change.
"""

from __future__ import annotations

import re
import threading
from datetime import date, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale, negotiate_locale
from babel.dates import format_date, format_datetime, get_day_names
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, get_decimal_symbol
from babel.support import Translations

DOMAIN = "territoria"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DEFAULT_LANG = "fr"
COOKIE = "lang"

_dirs: list[Path] = [LOCALE_DIR]
_cache: dict[str, Translations] = {}
_langs: list[str] = []
_lock = threading.Lock()


def add_locale_dir(path: Path | str) -> None:
    """Register a folder of catalogs (a domain's own messages); later folders override earlier ones."""
    folder = Path(path).resolve()
    with _lock:
        if folder not in _dirs:
            _dirs.append(folder)
            _cache.clear()
            _langs.clear()


def remove_locale_dir(path: Path | str) -> None:
    """Forget a registered folder of catalogs (the platform's own stays)."""
    folder = Path(path).resolve()
    with _lock:
        if folder in _dirs and folder != LOCALE_DIR:
            _dirs.remove(folder)
            _cache.clear()
            _langs.clear()


def locale_dirs() -> tuple[Path, ...]:
    """The registered catalog folders, the platform's first."""
    return tuple(_dirs)


def catalog_files(lang: str) -> list[Path]:
    """The `.po` files of `lang` in the registered folders, in registration order."""
    return [p for d in _dirs if (p := d / lang / "LC_MESSAGES" / f"{DOMAIN}.po").is_file()]


def langs() -> tuple[str, ...]:
    """The available languages: French first, then every other language with a catalog, by code."""
    with _lock:
        known = _langs[:]
    if not known:  # read once per set of folders: every request asks
        found = {p.name for d in _dirs if d.is_dir() for p in d.iterdir() if catalog_files(p.name)}
        known = [DEFAULT_LANG, *sorted(found - {DEFAULT_LANG})]
        with _lock:
            _langs[:] = known
    return tuple(known)


def _compiled(po: Path, lang: str) -> Translations:
    """One catalog compiled in memory: the `.po` is the only source, no `.mo` build step can go stale."""
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def translations(lang: str) -> Translations:
    """The merged catalogs of `lang`, falling back to French for a message a language lacks."""
    with _lock:
        cached = _cache.get(lang)
    if cached is not None:
        return cached
    merged: Translations | None = None
    for po in catalog_files(lang):
        part = _compiled(po, lang)
        # The first catalog brings the language's plural rule; the next ones add (or replace) messages.
        merged = part if merged is None else merged.merge(part)
    if merged is None:
        merged = Translations(domain=DOMAIN)
    if lang != DEFAULT_LANG:
        merged.add_fallback(translations(DEFAULT_LANG))
    with _lock:
        _cache[lang] = merged
    return merged


def has(key: str, lang: str) -> bool:
    """Whether `key` has a text in `lang`'s catalogs (or in French)."""
    return translations(lang).gettext(key) != key


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def t(key: str, lang: str, **values: object) -> str:
    """The message `key` in `lang` (French, then the key itself, when missing), formatted with values.

    Without values, the text is a template for the page scripts: `{name}` where a value goes.
    """
    text: str = translations(lang).gettext(key)
    if text == key:
        return key
    if not values:
        return _PLACEHOLDER.sub(r"{\1}", text).replace("%%", "%")
    return text % values


def nt(key: str, plural: str, count: int, lang: str, /, **values: object) -> str:
    """The counted message `key` in `lang` for `count` things (`n` is the count unless given)."""
    text: str = translations(lang).ngettext(key, plural, count)
    values.setdefault("n", count)
    return text % values if text not in (key, plural) else text


def keys(lang: str) -> list[str]:
    """Every msgid of `lang`'s catalogs (the French ones included, as its fallback)."""
    found: dict[str, None] = {}
    catalog: Translations | None = translations(lang)
    while catalog is not None:
        found.update(dict.fromkeys(k if isinstance(k, str) else k[0] for k in catalog._catalog if k))
        fallback = catalog._fallback
        catalog = fallback if isinstance(fallback, Translations) else None
    return list(found)


def language_name(lang: str) -> str:
    """A language's name in itself, capitalised as a menu item: "Français", "English", "Deutsch"."""
    name = locale(lang).get_display_name(lang) or lang
    return name[:1].upper() + name[1:]


def is_plural(key: str, lang: str) -> bool:
    """Whether the catalog gives `key` plural forms (a counted message)."""
    return (key, 0) in translations(lang)._catalog or (key, 0) in translations(DEFAULT_LANG)._catalog


def message(code: str, params: dict[str, Any], lang: str) -> str:
    """A stored message (a catalog code and its parameters) in `lang`.

    A float parameter is written with one decimal as the language writes numbers; a counted message
    (plural forms in the catalog) takes its count from the `n` parameter.
    """
    values = {k: number(v, lang, 1) if isinstance(v, float) else v for k, v in params.items()}
    count = params.get("n")
    if isinstance(count, int) and is_plural(code, lang):
        return nt(code, f"{code}.plural", count, lang, **values)
    return t(code, lang, **values)


def label(prefix: str, value: str, lang: str) -> str:
    """A translated label for a coded value (domain, kind, access); the raw value when unknown."""
    for key in (f"{prefix}.{value}", f"{prefix}.{value.replace('-', '_')}"):  # slug-style values too
        if has(key, lang):
            return t(key, lang)
    return value


def choose_lang(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The page language: `?lang=`, then the `lang` cookie, then Accept-Language, then French."""
    available = langs()
    for candidate in (query, cookie):
        if candidate and candidate.lower() in available:
            return candidate.lower()
    return negotiate_locale(_by_quality(accept_language or ""), available, sep="-") or DEFAULT_LANG


def _by_quality(header: str) -> list[str]:
    """The language tags of an Accept-Language header, best first (q=0 means "not this one")."""
    tags: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag.strip() and q > 0:
            tags.append((-q, position, tag.strip().lower()))
    # Babel's negotiation then takes a regional tag ("en-GB") for its language when only that exists.
    return [tag for _, _, tag in sorted(tags)]


def locale(lang: str) -> Locale:
    """The Babel locale of a language code."""
    return Locale.parse(lang.replace("-", "_"))


def decimal_comma(lang: str) -> bool:
    """Whether the language writes decimals with a comma (its spreadsheets then separate cells by `;`)."""
    return bool(get_decimal_symbol(lang) == ",")


def number(value: float, lang: str, decimals: int | None = None) -> str:
    """A number as the language writes it (CLDR): 1,383,211.5 in English, 1 383 211,5 in French.

    French groups digits with U+202F (narrow no-break space), as CLDR says; every formatter of the
    platform goes through here so pages, charts and statistics agree.
    """
    if decimals is None:
        decimals = 0 if float(value).is_integer() else 2
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return format_decimal(value, format=pattern, locale=locale(lang))


def significant(value: float, lang: str, decimals: int) -> str:
    """A number with at most `decimals` decimals, trailing zeros dropped, in the language's writing."""
    pattern = "#,##0" + ("." + "#" * decimals if decimals > 0 else "")
    return format_decimal(value, format=pattern, locale=locale(lang))


def percent_sign(value: str, lang: str) -> str:
    """`value` followed by the percent sign as the language writes it ("12 %" in French, "12%")."""
    suffix = locale(lang).percent_formats[None].suffix[0]
    return value + str(suffix)


def _pattern(key: str, day: date | datetime, lang: str) -> str:
    """A date written with the date pattern the catalog gives for `key` (CLDR pattern letters)."""
    return format_date(day, t(key, lang), locale=locale(lang))


def short_date(value: date | datetime, lang: str) -> str:
    """A day as 24/11 (French) or Nov 24 (English)."""
    return _pattern("fmt.short_date", value, lang)


def day_text(value: date | datetime, lang: str) -> str:
    """A day in numbers: 24/11/2026 (French) or 2026-11-24 (English)."""
    return _pattern("fmt.date", value, lang)


def month_number(value: date | datetime, lang: str) -> str:
    """A month in numbers: 11/2026 (French) or 2026-11 (English)."""
    return _pattern("fmt.month", value, lang)


def date_time(value: datetime, lang: str) -> str:
    """A local date and time: "24/11/2026 à 14:05" (French) or "2026-11-24 14:05" (English)."""
    return format_datetime(value, t("fmt.datetime", lang), locale=locale(lang))


def weekday_name(index: int, lang: str) -> str:
    """The name of a day of the week, Monday being 0 ("lundi", "Monday")."""
    return str(get_day_names("wide", "format", locale(lang))[index])


def month_name(value: date | datetime, lang: str) -> str:
    """A month and its year in words: "novembre 2026", "November 2026" (CLDR stand-alone name)."""
    return format_date(value, "LLLL y", locale=locale(lang))
