"""Optional differential privacy of a release: Laplace noise on published counts and clipped sums.

The noise comes from OpenDP: the discrete Laplace mechanism on integer counts, and OpenDP's Laplace on
floats for sums, which samples exactly on a grid instead of computing `scale * log(u)` in floating
point (the construction whose gaps between representable results reveal the value behind the noise,
Mironov 2012). OpenDP draws from the operating system's CSPRNG and cannot be seeded: a release's noise
is drawn once, when the release is built, and stored with it; reads never draw again.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from territoria.opendata.disclosure import NoiseSpec

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class NoiseApplied:
    """The budget accounting of a noised release, as recorded in its report."""

    epsilon: float
    composition: int  # number of queries one contributor can take part in (sequential composition)
    scales: dict[str, float]  # Laplace scale per published quantity: "contributors" and "{m}_sum"

    def as_json(self) -> dict[str, Any]:
        """The accounting as a JSON-serialisable dict."""
        return {"epsilon": self.epsilon, "composition": self.composition, "scales": dict(self.scales)}


def composition_count(cells_per_contributor: int, n_measures: int) -> int:
    """Queries one contributor can affect: its cells times the quantities published per cell."""
    return cells_per_contributor * (1 + n_measures)


def add_noise(
    contributors: npt.NDArray[np.int64],
    clipped: dict[str, FloatArray],
    published: npt.NDArray[np.bool_],
    spec: NoiseSpec,
    cells_per_contributor: int,
) -> tuple[FloatArray, dict[str, FloatArray], NoiseApplied]:
    """Noisy counts (integers >= 0) and clipped sums (>= 0) of the published cells; secret cells untouched.

    `cells_per_contributor` bounds the cells one contributor is in: one per margin level and slice of the
    non-totals dims (2^len(totals) × slices), or more when the data show it. Each cell publishes
    1 + len(measures) quantities, so by sequential composition each of them gets epsilon / composition,
    and the Laplace scale is sensitivity × composition / epsilon (sensitivity 1 for a count, clip[m] for
    a sum of values clipped to [0, clip[m]] per contributor).
    """
    composition = composition_count(cells_per_contributor, len(clipped))
    scales = {"contributors": composition / spec.epsilon}
    counts = contributors.astype(np.float64)
    counts[published] = np.maximum(laplace_counts(contributors[published], scales["contributors"]), 0)
    sums: dict[str, FloatArray] = {}
    for m, total in clipped.items():
        scale = spec.clip[m] * composition / spec.epsilon
        scales[f"{m}_sum"] = scale
        noisy = total.copy()
        noisy[published] = np.maximum(laplace_sums(total[published], scale), 0.0)
        sums[m] = noisy
    return counts, sums, NoiseApplied(epsilon=spec.epsilon, composition=composition, scales=scales)


@lru_cache(maxsize=1)
def _opendp() -> Any:
    """OpenDP with its community-vetted ("contrib") mechanisms enabled; imported on first use (1 s)."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    return dp


def laplace_counts(values: npt.NDArray[np.int64], scale: float) -> npt.NDArray[np.int64]:
    """Integer counts plus discrete Laplace noise of `scale` (OpenDP, on the integers: never rounded)."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    dp = _opendp()
    space = dp.vector_domain(dp.atom_domain(T="i64")), dp.l1_distance(T="i64")
    mechanism = dp.m.make_laplace(*space, scale=float(scale))
    return np.asarray(mechanism([int(v) for v in values]), dtype=np.int64)


def laplace_sums(values: FloatArray, scale: float) -> FloatArray:
    """Finite sums plus Laplace noise of `scale` (OpenDP's float Laplace, safe from the float attack)."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.float64)
    dp = _opendp()
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l1_distance(T=float)
    mechanism = dp.m.make_laplace(*space, scale=float(scale))
    return np.asarray(mechanism([float(v) for v in values]), dtype=np.float64)
