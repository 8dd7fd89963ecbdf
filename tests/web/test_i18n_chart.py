"""Message catalogues, language choice and the server-side chart geometry."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from territoria import i18n
from territoria.web.chart import line_chart, nice_step
from territoria.web.colours import domain_colour

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "territoria" / "web" / "templates"


def test_every_key_used_by_the_templates_exists() -> None:
    used = set()
    for path in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""_\(\s*["']([\w.]+)["']""", path.read_text(encoding="utf-8")))
    assert used and not used - set(i18n.keys("fr"))


def test_translation_and_labels() -> None:
    assert i18n.t("nav.home", "fr") == "Accueil" and i18n.t("nav.home", "en") == "Home"
    assert i18n.nt("home.count", "home.count.plural", 3, "en") == "3 visible datasets"
    assert i18n.t("nav.home", "de") == "Accueil"  # unknown language: French
    assert i18n.t("no.such.key", "en") == "no.such.key"
    assert i18n.label("domain", "water", "fr") == "Eau" and i18n.label("domain", "bees", "fr") == "bees"
    assert i18n.number(2.5, "fr") == "2,50" and i18n.number(400.0, "en") == "400"


@pytest.mark.parametrize(
    ("query", "cookie", "header", "lang"),
    [
        ("en", "fr", "fr", "en"),
        ("xx", "en", "fr", "en"),
        (None, None, "en-US,en;q=0.9", "en"),
        (None, None, "it, en;q=0.2, fr;q=0.8", "fr"),
        (None, None, "en;q=0, fr;q=0.1", "fr"),
        (None, None, "en;q=bad", "fr"),
        (None, None, None, "fr"),
    ],
)
def test_language_choice(query: str | None, cookie: str | None, header: str | None, lang: str) -> None:
    assert i18n.choose_lang(query, cookie, header) == lang


def test_nice_steps() -> None:
    assert nice_step(10) == 2 and nice_step(0.3) == pytest.approx(0.1) and nice_step(900) == 200
    assert nice_step(0) == 1


def test_line_chart_breaks_on_gaps_and_labels_days() -> None:
    start = datetime(2026, 3, 27, 12, tzinfo=UTC)
    hours = [*range(30), *range(40, 80)]  # a ten-hour gap
    chart = line_chart([(start + timedelta(hours=h), float(h % 7)) for h in hours], "fr")
    assert chart is not None
    assert chart.path.count("M") == 2 and chart.hours == len(hours)
    assert chart.low == 0 and chart.high == 6
    assert [t.label for t in chart.x_ticks] == ["28/03", "29/03", "30/03"]  # across the DST change
    assert all(chart.left <= t.pos <= chart.width - chart.right for t in chart.x_ticks)
    assert chart.start == "27/03 13:00"
    flat = line_chart([(start, 5.0)], "en")
    assert flat is not None and flat.path.startswith("M") and len(flat.y_ticks) >= 2
    assert line_chart([], "fr") is None


def test_domain_colours_are_stable() -> None:
    assert domain_colour("water") == "#1f6fb2"
    assert domain_colour("bees") == domain_colour("bees") and domain_colour("bees").startswith("#")


def test_large_numbers_are_grouped_per_language() -> None:
    assert i18n.number(1383211, "en") == "1,383,211"
    assert i18n.number(1383211.5, "fr") == "1\u202f383\u202f211,50"
