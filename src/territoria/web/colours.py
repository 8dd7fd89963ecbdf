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


# The layers of one map, in the order of its layer list: colour-blind-safe and distinct from each other
# (Okabe & Ito's eight without the yellow, then Paul Tol's muted scheme). territoria-map.js holds the
# same list for maps drawn without a server-side legend.
LAYER_PALETTE = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#882255",
    "#999933",
    "#332288",
    "#44AA99",
    "#000000",
    "#DDCC77",
)


def layer_colour(index: int) -> str:
    """The colour of the index-th layer of a map's list (the palette repeats past its end)."""
    return LAYER_PALETTE[index % len(LAYER_PALETTE)]
