"""Confidence intervals for rates and proportions."""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2
from statsmodels.stats.proportion import proportion_confint


def poisson_rate_ci(
    events: int, exposure: float, per: float = 100.0, level: float = 0.95
) -> tuple[float, float, float]:
    """Rate per ``per`` units of exposure with the exact (Garwood) Poisson interval."""
    if exposure <= 0:
        raise ValueError("exposure must be positive")
    a = 1 - level
    low = chi2.ppf(a / 2, 2 * events) / 2 if events > 0 else 0.0
    high = chi2.ppf(1 - a / 2, 2 * (events + 1)) / 2
    scale = per / exposure
    return events * scale, low * scale, high * scale


def wilson_ci(successes: int, n: int, level: float = 0.95) -> tuple[float, float, float]:
    """Proportion with the Wilson score interval."""
    if n <= 0:
        raise ValueError("n must be positive")
    low, high = proportion_confint(successes, n, alpha=1 - level, method="wilson")
    return successes / n, float(low), float(high)


def ratio_bootstrap(
    num: np.ndarray, den: np.ndarray, resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """Σnum/Σden with a percentile 95% CI from resampling the units (e.g. clinicians)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(num), size=(resamples, len(num)))
    draws = num[idx].sum(axis=1) / den[idx].sum(axis=1)
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(num.sum() / den.sum()), float(low), float(high)
