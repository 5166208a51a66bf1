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
# The minimum detectable effect is the effect a two-sided test at 1 - MDE_LEVEL detects with
# probability MDE_POWER (helpers.findings.MDE_POWER, published with it).
MDE_LEVEL = 0.95
MDE_POWER = 0.8


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
    """Two-sided P value of estimate / se against t(G-1).

    Parameters
    ----------
    estimate : float
        The estimate (a coefficient, or a log ratio).
    se : float
        Its standard error (positive).
    n_clusters : int
        Clusters (sites) G behind the standard error; the reference is Student's t with
        G - 1 degrees of freedom.

    Returns
    -------
    float
        P(|T| >= |estimate / se|) for T ~ t(G - 1).

    Examples
    --------
    >>> round(t_p_value(2.0, 1.0, 20), 4)
    0.06
    """
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


# --- small-sample corrections beyond CR1 --------------------------------------------------------
#
# With few clusters, or clusters of very different size and leverage, the CR1 sandwich is
# biased down and t(G-1) does not make up for it (Cameron and Miller 2015; Imbens GW, Kolesár M.
# Robust standard errors in small samples: some practical advice. Rev Econ Stat.
# 2016;98(4):701-712; MacKinnon JG, Nielsen MØ, Webb MD. Cluster-robust inference: a guide to
# empirical practice. J Econom. 2023;232(2):272-299). Two remedies, chosen per model from the
# coverage runs in VALIDATION.md: the bias-reduced linearization (CR2) with Bell-McCaffrey
# degrees of freedom for linear models, and the cluster jackknife (CR3) for any estimator.


def _clusters(clusters) -> tuple[np.ndarray, list[np.ndarray]]:
    codes = pd.factorize(np.asarray(clusters))[0]
    order = np.argsort(codes, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(codes))]
    return codes, [order[bounds[g] : bounds[g + 1]] for g in range(len(bounds) - 1)]


def _contrast(contrast, k: int) -> np.ndarray:
    if np.ndim(contrast) == 0:
        c = np.zeros(k)
        c[int(contrast)] = 1.0
        return c
    return np.asarray(contrast, float)


def cr2(x, resid, clusters, contrast, tol: float = 1e-10) -> tuple[float, float]:
    """Standard error of ``c'b`` in a linear model fitted by least squares, with the CR2
    ("bias-reduced linearization") cluster sandwich, and its Bell-McCaffrey degrees of freedom.

    ``x`` is the full design (fixed effects as indicator columns), ``resid`` the least-squares
    residuals, ``contrast`` a column index or a vector ``c``. Each cluster's residuals are
    scaled by ``(I - H_gg)^(-1/2)`` (Moore-Penrose, so that a cluster's own fixed effect, which
    leaves ``I - H_gg`` singular, is allowed for), which makes the sandwich unbiased when the
    errors are independent and homoskedastic (Bell RM, McCaffrey DF. Bias reduction in
    standard errors for linear regression with multi-stage samples. Surv Methodol.
    2002;28(2):169-181). The degrees of freedom are Satterthwaite's for that sandwich under
    the same working model, ``tr(W)^2 / tr(W^2)`` with ``W = G'G`` and column ``g`` of ``G``
    the annihilator ``I - H`` applied to cluster ``g``'s weights on the residuals (Imbens and
    Kolesár 2016); use them for a t interval in place of G - 1. Returns (se, df)."""
    x = np.asarray(x, float)
    e = np.asarray(resid, float)
    c = _contrast(contrast, x.shape[1])
    bread = np.linalg.pinv(x.T @ x)
    a = x @ (bread @ c)  # each row's weight in c'b
    _, members = _clusters(clusters)
    p = np.zeros((len(e), len(members)))
    terms = np.empty(len(members))
    for g, rows in enumerate(members):
        xg = x[rows]
        vals, vecs = np.linalg.eigh(np.eye(len(rows)) - xg @ bread @ xg.T)
        inv_sqrt = np.where(vals > tol, 1 / np.sqrt(np.clip(vals, tol, None)), 0.0)
        pg = (vecs * inv_sqrt) @ (vecs.T @ a[rows])
        p[rows, g] = pg
        terms[g] = pg @ e[rows]
    u = p - x @ (bread @ (x.T @ p))
    w = u.T @ u
    return float(np.sqrt(terms @ terms)), float(np.trace(w) ** 2 / np.sum(w * w))


def leave_one_cluster_out_linear(x, y, clusters) -> np.ndarray:
    """Least-squares coefficients refitted without each cluster in turn (G x k, clusters in
    ``pd.factorize`` order), from the cross-products (a pseudo-inverse where dropping a
    cluster leaves a fixed effect without rows)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    xx, xy = x.T @ x, x.T @ y
    _, members = _clusters(clusters)
    out = np.empty((len(members), x.shape[1]))
    for g, rows in enumerate(members):
        xg = x[rows]
        out[g] = np.linalg.pinv(xx - xg.T @ xg) @ (xy - xg.T @ y[rows])
    return out


def jackknife_se(leave_one_out, estimate: float) -> float:
    """Cluster jackknife (CR3) standard error of a statistic from its values with each cluster
    left out in turn: ``sqrt((G-1)/G * sum_g (est_(g) - est)^2)``, centred at the full-data
    estimate (MacKinnon, Nielsen and Webb 2023, CV3). For a linear model it equals the CR3
    sandwich; for a nonlinear estimator it needs no linearization. Use t(G-1)."""
    d = np.asarray(leave_one_out, float) - float(estimate)
    g = len(d)
    return float(np.sqrt((g - 1) / g * np.sum(d * d)))


# --- the minimum detectable effect ---------------------------------------------------------
def mde_multiplier(df: float, power: float = MDE_POWER, level: float = MDE_LEVEL) -> float:
    """t(1 - (1 - level)/2, df) + t(power, df): standard errors between no effect and the
    effect a two-sided test at ``1 - level`` detects with probability ``power``."""
    return float(stats.t.ppf(0.5 + level / 2, df) + stats.t.ppf(power, df))


def mde(
    se: float, df: float, ratio: bool = True, power: float = MDE_POWER, level: float = MDE_LEVEL
) -> float | None:
    """Minimum detectable effect from a standard error ``se`` (of the log ratio when
    ``ratio``) and the ``df`` of its t reference: exp(m x se) for a ratio (its reciprocal is
    the smallest detectable ratio below 1), m x se for a difference (either sign), m from
    :func:`mde_multiplier` (the usual approximation to the power of the t test, within a
    percentage point of the noncentral t's for 10 or more degrees of freedom; the test's
    other side is ignored, it adds under 0.1%). None without a finite positive ``se`` or
    with ``df`` < 1.

    Parameters
    ----------
    se : float
        Standard error of the estimate: of the log ratio when ``ratio``, else of the
        difference (in the outcome's units).
    df : float
        Degrees of freedom of the t reference (e.g. sites - 1, or Bell-McCaffrey's).
    ratio : bool, default True
        Whether the estimate is a ratio (``se`` on the log scale) or a difference.
    power : float, default ``MDE_POWER`` (0.8)
        Probability that the test detects the effect.
    level : float, default ``MDE_LEVEL`` (0.95)
        Confidence level; the test is two-sided at ``1 - level``.

    Returns
    -------
    float or None
        The smallest ratio above 1 (``ratio``) or the smallest absolute difference
        (otherwise) detected with probability ``power``; None when ``se`` is missing, not
        finite or not positive, or ``df`` is missing or below 1.

    Examples
    --------
    >>> round(mde(0.1, 30), 3)  # a ratio: se of the log ratio 0.1, 30 degrees of freedom
    1.336
    >>> round(mde(2.0, 30, ratio=False), 2)  # a difference of 2.0 points' standard error
    5.79
    >>> mde(0.0, 30) is None
    True
    """
    if se is None or not np.isfinite(se) or se <= 0 or df is None or not df >= 1:
        return None
    k = mde_multiplier(df, power, level) * float(se)
    return float(np.exp(k)) if ratio else float(k)
