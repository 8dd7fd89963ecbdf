"""The gettext catalogs: complete in every language, no dead entry, same placeholders, plural forms,
no visible template text outside the catalogs, a third language without code, numbers and dates."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from tests.conftest import sqlite_context
from typer.testing import CliRunner

from territoria import i18n
from territoria.analytics.stats import fmt_number, fmt_percent
from territoria.app import create_app
from territoria.cli import lang as cli_lang
from territoria.cli.main import app as cli_app
from territoria.dashboard.kpi_pages import SCRIPT_TEXTS
from territoria.domains.ev import i18n_keys as ev_keys
from territoria.domains.ev.plugin import DOMAIN as EV_DOMAIN
from territoria.i18n import i18n_keys
from territoria.validation.model import TEXT_CODE
from territoria.web.render import templates

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "territoria"
assert EV_DOMAIN.locale is not None
LOCALE_DIRS = (i18n.LOCALE_DIR, EV_DOMAIN.locale)
KEY_LISTS = (i18n_keys, ev_keys)
# The keyword functions of the code, as `pybabel extract` is told in docs/translating.md.
KEYWORDS = {**DEFAULT_KEYWORDS, "t": (1,), "nt": (1, 2), "say": (1,)}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# Keys a template builds from a suffix (`purpose ~ ".title"` in link_password.html): no literal to find.
SUFFIX_BUILT = {f"{p}.{s}" for p in ("invite", "reset") for s in ("title", "intro", "submit")}
# Visible template text that is not a message: brand and format names, units, technical identifiers.
ALLOWED_WORDS = {"Territoria", "CSV", "JSON", "UTC", "kW", "SIREN", "GET", "ε"}
# CSS class values written by macros (not shown): steering_macros.html's cell state.
ALLOWED_IN = {"steering_macros.html": {"none", "ok", "breach"}}
VISIBLE_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "label"}


def _key(message: Message) -> str:
    """A message's msgid (the singular one of a plural message)."""
    return message.id if isinstance(message.id, str) else str(message.id[0])


@cache
def catalog(lang: str) -> dict[str, Message]:
    """Every message of `lang` in the platform's and the EV domain's catalogs."""
    out: dict[str, Message] = {}
    for folder in LOCALE_DIRS:
        with (folder / lang / "LC_MESSAGES" / "territoria.po").open("rb") as fh:
            parsed: Catalog = read_po(fh, locale=lang)
        out.update({_key(m): m for m in parsed if m.id})
    return out


@cache
def extracted() -> dict[str, tuple[str, ...]]:
    """The msgids Babel's Python and Jinja extractors find, as `pybabel extract -F babel.cfg` does."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[str, tuple[str, ...]] = {}
    for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, options_map, KEYWORDS):
        ids = (message,) if isinstance(message, str) else tuple(m for m in message if m)
        found[ids[0]] = ids
    return found


def _sources() -> Iterator[Path]:
    """The code, templates and scripts that may name a message."""
    for path in SRC.rglob("*"):
        if path.suffix in {".py", ".html", ".js"} and "vendor" not in path.parts:
            yield path


def test_babel_extracts_the_messages_of_code_and_templates() -> None:
    found = extracted()
    assert {"home.title", "nav.home", "cli.error", "summary.trend.none", "domain.water"} <= found.keys()
    assert found["home.count"] == ("home.count", "home.count.plural")


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_extracted_message_has_a_text_in_each_language(lang: str) -> None:
    messages = catalog(lang)
    missing = [key for key in extracted() if key not in messages]
    assert not missing, f"no {lang} entry for {missing}: run pybabel update (docs/translating.md)"
    for key, ids in extracted().items():
        message = messages[key]
        texts = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(texts), f"{key} has an empty {lang} text"
        if len(ids) == 2:
            assert message.pluralizable and message.id[1] == ids[1], f"{key}: plural id differs"


def test_french_and_english_have_the_same_messages_and_placeholders() -> None:
    fr, en = catalog("fr"), catalog("en")
    assert fr.keys() == en.keys()
    for key, message in fr.items():
        if key == TEXT_CODE:  # the generic stored text: each language reads its own parameter
            continue
        names = [set(PLACEHOLDER.findall(text)) for m in (message, en[key]) for text in _texts(m)]
        assert all(n == names[0] for n in names[1:]) or message.pluralizable, key
        if message.pluralizable:  # a form may leave out the count ("un seul"), never another value
            assert set.union(*names[: len(names) // 2]) == set.union(*names[len(names) // 2 :]), key


def _texts(message: Message) -> tuple[str, ...]:
    """Every text of a message (its plural forms)."""
    return message.string if isinstance(message.string, tuple) else (message.string,)


def test_no_catalog_entry_is_unused() -> None:
    not_extracted = [key for key in catalog("fr") if key not in extracted()]
    assert not not_extracted, (
        f"entries nothing extracts (list a key built in code in an i18n_keys module): {not_extracted}"
    )
    # The keys listed for extraction must be reached by the code: a literal, or a prefix it builds from.
    listed = [k for m in KEY_LISTS for k in m.KEYS]
    text = "\n".join(p.read_text(encoding="utf-8") for p in _sources() if p.name != "i18n_keys.py")
    literals = set(re.findall(r"""["']([a-z_]+\.[\w.-]+)["']""", text))
    # Keys built in code: f"ev.state.{k}", "q.error." ~ code, label("domain", …), "prefix." + name.
    prefixes = set(re.findall(r"""f["']([a-z_]+(?:\.\w+)*)\.\{""", text))
    prefixes |= set(re.findall(r"""["']([a-z_]+(?:\.\w+)*)\.["']\s*[~+]""", text))
    prefixes |= set(re.findall(r"""label\(\s*["']([a-z_]+(?:\.\w+)*)["']""", text))
    prefixes |= {p.rstrip(".") for p in SCRIPT_TEXTS}
    unused = [
        key
        for key in listed
        if key not in literals
        and key not in SUFFIX_BUILT
        and not any(key.startswith(p + ".") for p in prefixes)
    ]
    assert not unused, f"catalog entries nothing uses (remove them from every language): {unused}"


def test_plural_forms_follow_each_language() -> None:
    fr = [i18n.nt("home.count", "home.count.plural", n, "fr") for n in (0, 1, 2)]
    en = [i18n.nt("home.count", "home.count.plural", n, "en") for n in (0, 1, 2)]
    assert fr == ["0 jeu de données visible", "1 jeu de données visible", "2 jeux de données visibles"]
    assert en == ["0 visible datasets", "1 visible dataset", "2 visible datasets"]
    for folder in LOCALE_DIRS:
        header = (folder / "fr" / "LC_MESSAGES" / "territoria.po").read_text(encoding="utf-8")
        assert '"Plural-Forms: nplurals=2; plural=(n > 1);\\n"' in header


class _Visible(HTMLParser):
    """The text a reader sees in a template's HTML: text nodes and labelling attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hidden += tag in ("script", "style")
        self.found += [v for k, v in attrs if k in VISIBLE_ATTRIBUTES and v]

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.found.append(data)


def _untranslated(source: str, allowed: set[str]) -> list[str]:
    """Words of a template's own text (outside every `{{ }}` and `{% %}`) that no message holds."""
    parts = []
    for _, kind, value in templates.env.lex(source):
        if kind == "data":
            parts.append(value)
        elif kind == "variable_begin":
            parts.append("\x00")  # an expression's output is translated where it is produced
        elif kind == "block_begin":
            parts.append(" ")  # a tag separates words (and may sit between a tag's attributes)
    parser = _Visible()
    parser.feed("".join(parts))
    words = []
    for chunk in parser.found:
        for token in re.split(r"[\s\x00]+", chunk):
            if "/" in token or "=" in token or re.fullmatch(r"[a-z]+(-[a-z]+)+", token):
                continue  # an API path shown as code, or a CSS class name
            words += [w for w in re.findall(r"[^\W\d_]+", token) if w not in allowed]
    return words


def test_templates_show_no_text_outside_the_catalogs() -> None:
    found = {}
    for path in sorted(SRC.glob("**/templates/*.html")):  # every stage's and domain's templates
        allowed = ALLOWED_WORDS | ALLOWED_IN.get(path.name, set())
        if words := _untranslated(path.read_text(encoding="utf-8"), allowed):
            found[path.name] = words
    assert not found, f"visible text outside _()/ngettext(): {found}"


def test_the_template_check_finds_plain_text() -> None:
    assert _untranslated('<p title="Bonjour">{{ _("nav.home") }} Carte</p>', ALLOWED_WORDS) == [
        "Bonjour",
        "Carte",
    ]
    assert _untranslated("<p>Territoria · {{ x }} GET /api/v1/x</p>", ALLOWED_WORDS) == []


def test_a_third_language_is_a_catalog_folder(tmp_path: Path) -> None:
    folder = tmp_path / "locale"
    po = folder / "de" / "LC_MESSAGES" / "territoria.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        'msgid "nav.home"\nmsgstr "Startseite"\n',
        encoding="utf-8",
    )
    ctx = sqlite_context(tmp_path)
    i18n.add_locale_dir(folder)
    try:
        assert "de" in i18n.langs()
        page = TestClient(create_app(context=ctx)).get("/?lang=de")
        assert page.status_code == 200 and page.headers["content-language"] == "de"
        assert "Startseite" in page.text and '<html lang="de">' in page.text
        assert "Tableau de bord" in page.text  # what German lacks falls back to French
        assert "Deutsch" in page.text  # the language menu names it
        assert i18n.choose_lang(None, None, "de-AT, en;q=0.5") == "de"
    finally:
        i18n.remove_locale_dir(folder)
        ctx.engine.dispose()
    assert "de" not in i18n.langs() and i18n.choose_lang("de", None, None) == "fr"


def test_numbers_follow_cldr_with_one_french_group_separator() -> None:
    assert i18n.number(1383211.5, "fr") == "1\u202f383\u202f211,50"
    assert i18n.number(1383211.5, "en") == "1,383,211.50" and i18n.number(400.0, "en") == "400"
    assert i18n.number(-2.345, "fr", 1) == "-2,3" and i18n.number(12, "fr", 0) == "12"
    # The statistics summaries and the pages write thousands the same way.
    assert fmt_number(12345.6, "fr") == "12\u202f346" == i18n.number(12346, "fr")
    assert fmt_number(0.000123, "en") == "0.000123" and fmt_number(-1.5, "fr", signed=True) == "-1,5"
    assert fmt_percent(0.023, "fr") == "2,3\u00a0%" and fmt_percent(0.023, "en") == "2.3%"


def test_dates_and_month_names_come_from_babel() -> None:
    day = date(2026, 3, 5)
    assert i18n.short_date(day, "fr") == "05/03" and i18n.short_date(day, "en") == "Mar 5"
    assert i18n.day_text(day, "fr") == "05/03/2026" and i18n.day_text(day, "en") == "2026-03-05"
    assert i18n.month_number(day, "fr") == "03/2026" and i18n.month_number(day, "en") == "2026-03"
    assert i18n.month_name(day, "fr") == "mars 2026" and i18n.month_name(day, "en") == "March 2026"
    assert i18n.date_time(datetime(2026, 3, 5, 14, 7), "fr") == "05/03/2026 à 14:07"
    assert i18n.weekday_name(0, "fr") == "lundi" and i18n.weekday_name(6, "en") == "Sunday"


@pytest.mark.parametrize(
    ("header", "lang"),
    [("en-GB,en;q=0.9", "en"), ("de, en;q=0.3, fr;q=0.2", "en"), ("EN-us", "en"), ("*", "fr"), ("", "fr")],
)
def test_accept_language_negotiation(header: str, lang: str) -> None:
    assert i18n.choose_lang(None, None, header) == lang


LANG_BRANCH = re.compile(
    r"""\b(?:lang|lg|language|locale)\w*\s*[!=]=\s*["'](?:fr|en)["']|["'](?:fr|en)["']\s*[!=]=\s*(?:lang|lg)\b"""
)


def test_no_language_branch_in_python_or_templates() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in _sources()
        if path.suffix in {".py", ".html"}
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if LANG_BRANCH.search(line)
    ]
    assert not found, "use the catalogs, Babel or data keyed by language instead of:\n" + "\n".join(found)


def test_the_branch_check_sees_a_branch() -> None:
    assert LANG_BRANCH.search('x = "a" if lang == "fr" else "b"')
    assert LANG_BRANCH.search("if lg != 'en':") and not LANG_BRANCH.search('lang = "fr"')


@pytest.mark.parametrize(
    ("environ", "lang"),
    [
        ({"LANG": "fr_FR.UTF-8"}, "fr"),
        ({"LANG": "C.UTF-8"}, None),
        ({"LANGUAGE": "de:fr", "LANG": "en_US.UTF-8"}, "fr"),
        ({"LC_ALL": "en_GB.UTF-8", "LANG": "fr_FR.UTF-8"}, "en"),
    ],
)
def test_cli_language_from_the_environment(environ: dict[str, str], lang: str | None) -> None:
    assert cli_lang.from_env(environ) == lang


def test_cli_messages_follow_lang_and_the_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERRITORIA_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    french = runner.invoke(cli_app, ["db", "upgrade"], env={"LANG": "fr_FR.UTF-8"})
    assert french.exit_code == 0 and "schéma à jour sur sqlite" in french.stderr
    english = runner.invoke(cli_app, ["--lang", "en", "db", "upgrade"], env={"LANG": "fr_FR.UTF-8"})
    assert "schema up to date on sqlite" in english.stderr
    plain = runner.invoke(cli_app, ["db", "upgrade"], env={"LANG": "C.UTF-8"})
    assert "schema up to date on sqlite" in plain.stderr  # no language asked: English, as before
    wrong = runner.invoke(cli_app, ["--lang", "xx", "db", "upgrade"])
    assert wrong.exit_code == 2 and "fr, en" in wrong.stderr
