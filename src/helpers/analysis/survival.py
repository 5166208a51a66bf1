"""Survival estimators for counting-process data with delayed entry: a Cox model (Breslow ties,
strata, site-clustered sandwich), the Grambsch–Therneau test of proportional hazards, and the
Aalen–Johansen cumulative incidence of one cause among competing causes.

Every row is an interval ``(start, stop]`` of one person's time: a row is in the risk set at
time ``t`` when ``start < t <= stop`` (the convention of R's ``survival`` and of lifelines'
time-varying fitter). Pieces of one spell that meet at a split (``stop`` of one equal to
``start`` of the next) therefore never count the person twice, and a spell that entered
observation at tenure ``s`` (left truncation) is at risk only after ``s``.

Written here rather than taken from a library because no installed library does all of this
on delayed-entry data: statsmodels' PHReg counts a row at risk at its own entry time (so split
pieces overlap at event times on the split), lifelines' residuals and sandwich ignore entry
times, and lifelines' Aalen–Johansen fitter has no delayed entry. Each piece is checked
against lifelines where lifelines is right (``tests/test_survival.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from helpers.analysis.inference import cr1


# --- the Cox model ---------------------------------------------------------------------------
@dataclass
class _Stratum:
    rows: np.ndarray  # row positions in the full data
    u: np.ndarray  # distinct event times, ascending
    d: np.ndarray  # events at each
    a: np.ndarray  # per row: first event-time index at which the row is at risk
    b: np.ndarray  # per row: one past the last
    k_event: np.ndarray  # per row: index of its event time (-1 if no event)


@dataclass
class CoxFit:
    """A fitted Cox model: ``params`` (log hazard ratios), ``cov`` (model-based covariance,
    the inverse observed information), and what residuals need."""

    terms: list[str]
    params: np.ndarray
    cov: np.ndarray
    loglik: float
    n_events: int
    iterations: int
    x: np.ndarray = field(repr=False)
    event: np.ndarray = field(repr=False)
    stop: np.ndarray = field(repr=False)
    strata: list[_Stratum] = field(repr=False)

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    def score_residuals(self) -> np.ndarray:
        """Score (Lin–Wei) residuals, one row per data row: the row's contribution to the
        score at the estimate. They sum to the score (zero at the estimate); summed within a
        cluster they give the cluster's score for the sandwich."""
        out = np.zeros_like(self.x)
        for s in self.strata:
            x = self.x[s.rows]
            w = np.exp(x @ self.params - (x @ self.params).max())
            s0, xbar = _risk_sums(s, w, x)
            h = s.d / s0
            hc = np.concatenate([[0.0], np.cumsum(h)])
            gc = np.vstack([np.zeros(x.shape[1]), np.cumsum(h[:, None] * xbar, axis=0)])
            c0 = hc[s.b] - hc[s.a]
            c1 = gc[s.b] - gc[s.a]
            res = -w[:, None] * (x * c0[:, None] - c1)
            ev = s.k_event >= 0
            res[ev] += x[ev] - xbar[s.k_event[ev]]
            out[s.rows] = res
        return out

    def schoenfeld_residuals(self) -> tuple[np.ndarray, np.ndarray]:
        """Event times and Schoenfeld residuals (covariate minus its risk-weighted mean in the
        risk set at the event time), one row per event, in data order."""
        out = np.full_like(self.x, np.nan)
        for s in self.strata:
            x = self.x[s.rows]
            w = np.exp(x @ self.params - (x @ self.params).max())
            _, xbar = _risk_sums(s, w, x)
            ev = s.k_event >= 0
            out[s.rows[ev]] = x[ev] - xbar[s.k_event[ev]]
        ev = self.event & ~np.isnan(out).any(axis=1)
        return self.stop[ev], out[ev]

    def cluster_cov(self, groups, small_sample: bool = True) -> tuple[np.ndarray, int]:
        """Cluster-robust (sandwich) covariance ``V (sum_g U_g U_g') V`` with ``V`` the
        model-based covariance and ``U_g`` the summed score residuals of cluster ``g``; times
        the CR1 factor G/(G-1) when ``small_sample``. Returns the matrix and G."""
        u = self.score_residuals()
        codes, uniques = pd.factorize(np.asarray(groups))
        by = np.zeros((len(uniques), u.shape[1]))
        np.add.at(by, codes, u)
        cov = self.cov @ (by.T @ by) @ self.cov
        g = len(uniques)
        return (cov * cr1(g) if small_sample else cov), g


def _risk_sums(s: _Stratum, w: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum of risk weights and the weighted covariate mean over the risk set at each event
    time: a row adds to event times a..b-1 (difference arrays, then a cumulative sum)."""
    k = len(s.u)
    s0 = np.cumsum(
        np.bincount(s.a, weights=w, minlength=k + 1) - np.bincount(s.b, weights=w, minlength=k + 1)
    )[:k]
    s1 = np.empty((k, x.shape[1]))
    for j in range(x.shape[1]):
        wx = w * x[:, j]
        s1[:, j] = np.cumsum(
            np.bincount(s.a, weights=wx, minlength=k + 1)
            - np.bincount(s.b, weights=wx, minlength=k + 1)
        )[:k]
    return s0, s1 / s0[:, None]


def _strata(start, stop, event, strata) -> list[_Stratum]:
    out = []
    codes = pd.factorize(np.asarray(strata))[0] if strata is not None else np.zeros(len(stop), int)
    for c in np.unique(codes):
        rows = np.flatnonzero(codes == c)
        ev = event[rows]
        if not ev.any():
            continue  # a stratum without events adds nothing to the partial likelihood
        u, d = np.unique(stop[rows][ev], return_counts=True)
        a = np.searchsorted(u, start[rows], side="right")
        b = np.searchsorted(u, stop[rows], side="right")
        k_event = np.where(ev, b - 1, -1)
        out.append(_Stratum(rows, u, d.astype(float), a, b, k_event))
    return out


def _evaluate(st: list[_Stratum], xv: np.ndarray, beta: np.ndarray):
    """Partial log likelihood (Breslow), score and observed information at ``beta``."""
    p = xv.shape[1]
    ll, score, info = 0.0, np.zeros(p), np.zeros((p, p))
    for s in st:
        xs = xv[s.rows]
        eta = xs @ beta
        c = eta.max()
        w = np.exp(eta - c)
        s0, xbar = _risk_sums(s, w, xs)
        ev = s.k_event >= 0
        ll += eta[ev].sum() - np.sum(s.d * (np.log(s0) + c))
        score += xs[ev].sum(axis=0) - (s.d[:, None] * xbar).sum(axis=0)
        hc = np.concatenate([[0.0], np.cumsum(s.d / s0)])
        cw = w * (hc[s.b] - hc[s.a])
        info += (xs * cw[:, None]).T @ xs - (xbar * s.d[:, None]).T @ xbar
    return ll, score, info


def fit_cox(
    x: pd.DataFrame,
    start,
    stop,
    event,
    strata=None,
    max_iter: int = 100,
    tol: float = 1e-10,
    init: np.ndarray | None = None,
) -> CoxFit:
    """Cox proportional hazards by Newton–Raphson on counting-process rows ``(start, stop]``,
    Breslow ties, optional strata (each its own baseline hazard), from ``init`` (default 0;
    a nearby estimate saves iterations when the model is refitted on part of the data).

    Raises ``ValueError`` when there are no events or the model does not converge (an
    estimate running off to infinity: a group with no events), ``LinAlgError`` when a
    covariate has no variation within the risk sets.
    """
    xv = np.asarray(x, dtype=float)
    start, stop = np.asarray(start, dtype=float), np.asarray(stop, dtype=float)
    event = np.asarray(event, dtype=bool)
    if np.any(start >= stop):
        raise ValueError("every row needs start < stop")
    if not event.any():
        raise ValueError("no events")
    st = _strata(start, stop, event, strata)
    p = xv.shape[1]

    def evaluate(beta):
        return _evaluate(st, xv, beta)

    beta = np.zeros(p) if init is None else np.asarray(init, dtype=float).copy()
    ll, score, info = evaluate(beta)
    iterations = 0
    for _ in range(max_iter):
        iterations += 1
        step = np.linalg.solve(info, score)
        for _ in range(30):  # step halving keeps every iteration uphill
            new = beta + step
            ll_new, score_new, info_new = evaluate(new)
            if np.isfinite(ll_new) and ll_new >= ll - 1e-12:
                break
            step = step / 2
        done = abs(ll_new - ll) < tol and np.max(np.abs(step)) < 1e-6
        beta, ll, score, info = new, ll_new, score_new, info_new
        if done:
            break
    else:
        raise ValueError(f"Cox model did not converge in {max_iter} iterations")
    if np.max(np.abs(beta)) > 15:
        raise ValueError("Cox model: an estimate runs off to infinity (a group without events)")
    cov = np.linalg.inv(info)
    return CoxFit(
        list(x.columns), beta, cov, float(ll), int(event.sum()), iterations, xv, event, stop, st
    )


def leave_one_group_out(
    x: pd.DataFrame, start, stop, event, groups, beta: np.ndarray, strata=None
) -> np.ndarray:
    """The Cox model's coefficients with each group (a site) left out in turn: one row per
    group in ``pd.factorize`` order, each one Newton step from ``beta`` (the full-data
    estimate) on the rows of the other groups. A leave-one-out estimate differs from
    ``beta`` by O(1/G) and one step from there leaves an error of O(1/G^2), so this is the
    refitted estimate for any use (the cluster jackknife) at a third of the cost. A row is
    NaN when the rest of the data cannot estimate the model (no events, or a covariate
    without variation in the risk sets)."""
    xv = np.asarray(x, dtype=float)
    start, stop = np.asarray(start, dtype=float), np.asarray(stop, dtype=float)
    event = np.asarray(event, dtype=bool)
    codes = pd.factorize(np.asarray(groups))[0]
    labels = None if strata is None else np.asarray(strata)
    beta = np.asarray(beta, dtype=float)
    out = np.full((codes.max() + 1, xv.shape[1]), np.nan)
    for g in range(len(out)):
        keep = codes != g
        if not event[keep].any():
            continue
        st = _strata(start[keep], stop[keep], event[keep], None if labels is None else labels[keep])
        _, score, info = _evaluate(st, xv[keep], beta)
        try:
            out[g] = beta + np.linalg.solve(info, score)
        except np.linalg.LinAlgError:
            continue
    return out


# --- proportional hazards ---------------------------------------------------------------------
def grambsch_therneau(fit: CoxFit, transform: str = "rank") -> pd.DataFrame:
    """Grambsch–Therneau test of proportional hazards from scaled Schoenfeld residuals.

    Scaled residuals are ``d V r_k`` (``d`` events, ``V`` the model-based covariance, ``r_k``
    the Schoenfeld residual of event ``k``), the approximation of Grambsch and Therneau (1994)
    used by R's ``cox.zph`` before survival 3.0 and by lifelines. With ``g`` the transformed
    event time centred at its mean, the statistic for covariate ``j`` is
    ``(sum_k g_k r*_kj)^2 / (d V_jj sum_k g_k^2)`` on 1 degree of freedom, and the global
    statistic ``d (sum_k g_k r_k)' V (sum_k g_k r_k) / sum_k g_k^2`` on ``p``. A slope of the
    scaled residuals on ``g`` means the log hazard ratio drifts with time.

    ``transform``: ``rank`` (ranks of the event times, ties averaged) or ``log``.
    """
    times, r = fit.schoenfeld_residuals()
    if transform == "rank":
        g = stats.rankdata(times)
    elif transform == "log":
        g = np.log(times)
    else:
        raise ValueError(f"unknown time transform {transform!r}")
    g = g - g.mean()
    d = len(times)
    v = fit.cov
    u = g @ r
    scaled = d * (r @ v)
    per = (g @ scaled) ** 2 / (d * np.diag(v) * (g @ g))
    glob = d * (u @ v @ u) / (g @ g)
    rows = [
        {"term": t, "chi2": float(c), "df": 1, "p": float(stats.chi2.sf(c, 1))}
        for t, c in zip(fit.terms, per, strict=True)
    ]
    p = len(fit.terms)
    rows.append(
        {"term": "global", "chi2": float(glob), "df": p, "p": float(stats.chi2.sf(glob, p))}
    )
    return pd.DataFrame(rows)


# --- cumulative incidence -----------------------------------------------------------------------
def cumulative_incidence(entry, exit, cause, of_interest) -> pd.DataFrame:
    """Aalen–Johansen cumulative incidence of one cause among competing causes, with delayed
    entry.

    ``entry``, ``exit``: times of entry into observation and of exit or censoring; ``cause``:
    the cause of exit (``None``/NaN/"" for censored). At each distinct exit time ``t`` with any
    cause, ``n(t)`` rows are at risk (``entry < t <= exit``); the all-cause survival just
    before ``t`` is the product-limit ``S(t-) = prod_{s<t} (1 - d(s)/n(s))`` and the cumulative
    incidence is ``F(t) = sum_{s<=t} S(s-) d_c(s)/n(s)``. Without entry times (all zero) this
    is lifelines' ``AalenJohansenFitter``.

    Returns one row per distinct exit time: ``time``, ``at_risk``, ``events`` (of interest),
    ``competing``, ``cif``, ``surv`` (all-cause, at ``t``).
    """
    entry = np.asarray(entry, dtype=float)
    exit = np.asarray(exit, dtype=float)
    cause = pd.Series(np.asarray(cause, dtype=object))
    failed = (cause.notna() & (cause.astype(str) != "")).to_numpy()
    hit = (cause == of_interest).to_numpy() & failed
    if np.any(entry >= exit):
        raise ValueError("every row needs entry < exit")
    times = np.unique(exit[failed])
    d_all = np.bincount(np.searchsorted(times, exit[failed]), minlength=len(times))
    d_hit = np.bincount(np.searchsorted(times, exit[hit]), minlength=len(times))
    at_risk = at_risk_at(entry, exit, times, closed="right")
    haz = d_all / at_risk
    surv = np.cumprod(1 - haz)
    before = np.concatenate([[1.0], surv[:-1]])
    cif = np.cumsum(before * d_hit / at_risk)
    return pd.DataFrame(
        {
            "time": times,
            "at_risk": at_risk,
            "events": d_hit,
            "competing": d_all - d_hit,
            "cif": cif,
            "surv": surv,
        }
    )


def at_risk_at(entry, exit, times, closed: str = "left") -> np.ndarray:
    """Rows under observation at each time: ``entry <= t < exit`` (``closed="left"``, who is
    at risk just after ``t``: the numbers printed under a curve) or ``entry < t <= exit``
    (``"right"``, the risk set at an exit time ``t``)."""
    if closed not in ("left", "right"):
        raise ValueError(f"closed must be 'left' or 'right', not {closed!r}")
    e, x = np.sort(np.asarray(entry, float)), np.sort(np.asarray(exit, float))
    t = np.asarray(times, float)
    if closed == "left":
        return np.searchsorted(e, t, side="right") - np.searchsorted(x, t, side="right")
    return np.searchsorted(e, t, side="left") - np.searchsorted(x, t, side="left")


def step_at(curve: pd.DataFrame, times, column: str = "cif") -> np.ndarray:
    """The right-continuous step function ``column`` of ``curve`` (from
    :func:`cumulative_incidence`) at ``times`` (0 before the first exit)."""
    idx = np.searchsorted(curve["time"].to_numpy(), np.asarray(times, float), side="right") - 1
    vals = np.concatenate([[0.0 if column == "cif" else 1.0], curve[column].to_numpy()])
    return vals[idx + 1]
