"""Optional differential privacy of a release: Laplace noise on published counts and clipped sums."""

from __future__ import annotations

from dataclasses import dataclass
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
    rng = np.random.default_rng(spec.seed)  # seed None: fresh OS entropy, as production must use
    n = int(published.sum())
    scales = {"contributors": composition / spec.epsilon}
    counts = contributors.astype(np.float64)
    counts[published] = np.maximum(
        np.rint(counts[published] + rng.laplace(0.0, scales["contributors"], n)), 0
    )
    sums: dict[str, FloatArray] = {}
    for m, total in clipped.items():
        scale = spec.clip[m] * composition / spec.epsilon
        scales[f"{m}_sum"] = scale
        noisy = total.copy()
        noisy[published] = np.maximum(total[published] + rng.laplace(0.0, scale, n), 0.0)
        sums[m] = noisy
    return counts, sums, NoiseApplied(epsilon=spec.epsilon, composition=composition, scales=scales)
