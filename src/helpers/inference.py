"""Inference that is honest about sites: every model here clusters by site, and sites are few.

Cluster-robust intervals from few clusters are too narrow unless corrected (Cameron AC, Miller
DL. A practitioner's guide to cluster-robust inference. J Hum Resour. 2015;50(2):317-372).
This toolkit uses the CR1 small-sample factor G/(G-1) on the sandwich and Student's t with
G - 1 degrees of freedom for intervals, resamples whole sites in bootstraps, and fits no
site-clustered model on fewer than ``MIN_SITES`` sites.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from scipy import stats

# Fewest sites for a site-clustered interval; 10 is this toolkit's choice (Cameron and Miller
# 2015 show over-rejection well beyond this even with corrections).
MIN_SITES = 10


class TooFewSites(ValueError):
    """A site-clustered model was asked for on fewer than ``MIN_SITES`` sites."""


def require_sites(n_sites: int, what: str) -> None:
    """Raise :class:`TooFewSites` (a ``ValueError``, so notebooks report the finding as
    unavailable) when ``n_sites`` is below ``MIN_SITES``."""
    if n_sites < MIN_SITES:
        raise TooFewSites(
            f"{what}: {n_sites} site(s); at least {MIN_SITES} are needed for a site-clustered "
            "interval"
        )


def cr1(n_clusters: int) -> float:
    """The CR1 small-sample factor G / (G - 1) applied to a cluster sandwich (the n/(n-k)
    part is omitted: it is negligible with thousands of rows)."""
    return n_clusters / (n_clusters - 1)


def t_interval(
    estimate: float, se: float, n_clusters: int, level: float = 0.95
) -> tuple[float, float]:
    """estimate ± t(G-1) · se."""
    q = stats.t.ppf(0.5 + level / 2, n_clusters - 1)
    return estimate - q * se, estimate + q * se


def t_p_value(estimate: float, se: float, n_clusters: int) -> float:
    """Two-sided P value of estimate / se against t(G-1)."""
    return float(2 * stats.t.sf(abs(estimate / se), n_clusters - 1))


def site_resamples(
    sites: pd.Series | np.ndarray, resamples: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """Row indices of ``resamples`` cluster-bootstrap samples: sites drawn with replacement,
    each drawn site bringing all its rows (a site drawn twice appears twice)."""
    codes = pd.factorize(np.asarray(sites))[0]
    members = [np.flatnonzero(codes == k) for k in range(codes.max() + 1)]
    for _ in range(resamples):
        pick = rng.integers(0, len(members), size=len(members))
        yield np.concatenate([members[i] for i in pick])
