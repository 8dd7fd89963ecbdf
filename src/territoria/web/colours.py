"""One colour per network domain, shared by map markers, legends and charts."""

from __future__ import annotations

# One colour per domain, shared by the map markers and the legends (dark enough on light tiles).
DOMAIN_COLOURS: dict[str, str] = {
    "lighting": "#b8860b",
    "electricity": "#c0392b",
    "gas": "#8e44ad",
    "ev_charging": "#16a085",
    "water": "#1f6fb2",
    "sanitation": "#5d6d7e",
    "waste": "#6b8e23",
    "mobility": "#d35400",
    "air_quality": "#2c3e50",
    "telecom": "#7d3c98",
}
FALLBACK_COLOURS = ("#1b4f72", "#7b241c", "#0e6655", "#6e2c00", "#4a235a", "#17202a")


def domain_colour(domain: str) -> str:
    """The colour of a domain (a stable fallback for domains without their own)."""
    if domain in DOMAIN_COLOURS:
        return DOMAIN_COLOURS[domain]
    return FALLBACK_COLOURS[sum(domain.encode()) % len(FALLBACK_COLOURS)]
