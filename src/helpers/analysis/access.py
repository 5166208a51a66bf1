"""Access: how vacant clinician FTE moves waits and visits (two-way fixed effects)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from helpers.analysis.inference import require_sites, site_resamples, t_interval
from helpers.data.contract import CLINICIAN_ROLES, EXIT_REASONS


def panel(access: pd.DataFrame) -> pd.DataFrame:
    """Site-months with vacant FTE = max(budgeted - filled, 0) and visits per budgeted FTE.

    Parameters
    ----------
    access : pandas.DataFrame
        The ``access`` table: one row per site and month with ``site_id``, ``month``
        (datetime), ``budgeted_clinician_fte``, ``filled_clinician_fte``, ``visits`` and the
        outcomes (e.g. ``third_next_available_days``). It is not modified.

    Returns
    -------
    pandas.DataFrame
        A copy with three columns added: ``vacant_fte`` (clinician FTE, never negative),
        ``visits_per_fte`` (visits per budgeted clinician FTE; NaN where none is budgeted)
        and ``month_key`` (``"YYYY-MM"``, the month fixed effect).

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({
    ...     "site_id": ["s1", "s1", "s2"],
    ...     "month": pd.to_datetime(["2022-01-01", "2022-02-01", "2022-02-01"]),
    ...     "budgeted_clinician_fte": [4.0, 4.0, 0.0], "filled_clinician_fte": [3.0, 4.5, 0.0],
    ...     "visits": [800, 900, 10]})
    >>> panel(a)[["site_id", "month_key", "vacant_fte", "visits_per_fte"]]
      site_id month_key  vacant_fte  visits_per_fte
    0      s1   2022-01         1.0           200.0
    1      s1   2022-02         0.0           225.0
    2      s2   2022-02         0.0             NaN
    """
    d = access.copy()
    d["vacant_fte"] = (d["budgeted_clinician_fte"] - d["filled_clinician_fte"]).clip(lower=0)
    d["visits_per_fte"] = np.where(
        d["budgeted_clinician_fte"] > 0,
        d["visits"].astype(float) / d["budgeted_clinician_fte"],
        np.nan,
    )
    d["month_key"] = d["month"].dt.strftime("%Y-%m")
    return d


@dataclass
class Slope:
    outcome: str
    estimate: float
    ci_low: float
    ci_high: float
    se: float
    n: int
    sites: int
    residuals: pd.DataFrame  # site_id, fitted, resid


def fe_slope(d: pd.DataFrame, outcome: str) -> Slope:
    """OLS of ``outcome`` on vacant FTE with site and month fixed effects; SEs clustered by
    site, 95% interval from Student's t with (sites - 1) degrees of freedom.

    Raises ValueError with fewer than ``MIN_SITES`` sites: a cluster-robust interval from a
    handful of clusters claims a precision the data do not have.

    Parameters
    ----------
    d : pandas.DataFrame
        Site-months from :func:`panel` (``site_id``, ``month_key``, ``vacant_fte`` and the
        outcome). Rows missing any of these are left out.
    outcome : str
        The outcome column, e.g. ``"third_next_available_days"`` or ``"visits_per_fte"``.

    Returns
    -------
    Slope
        ``outcome``; ``estimate`` (change in the outcome per vacant clinician FTE in a
        site-month, in the outcome's units), ``ci_low``, ``ci_high`` (95%), ``se``
        (site-clustered); ``n`` (site-months fitted), ``sites``; ``residuals`` (a DataFrame of
        ``site_id``, ``fitted``, ``resid`` per site-month fitted).

    Raises
    ------
    helpers.analysis.inference.TooFewSites
        Fewer than ``MIN_SITES`` sites with data (a ``ValueError``).
    """
    data = d[[outcome, "vacant_fte", "site_id", "month_key"]].dropna()
    sites = data["site_id"].nunique()
    require_sites(sites, outcome)
    fit = smf.ols(f"{outcome} ~ vacant_fte + C(site_id) + C(month_key)", data=data).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(data["site_id"])[0]}
    )
    b, se = float(fit.params["vacant_fte"]), float(fit.bse["vacant_fte"])
    low, high = t_interval(b, se, sites)
    res = pd.DataFrame({"site_id": data["site_id"], "fitted": fit.fittedvalues, "resid": fit.resid})
    return Slope(outcome, b, low, high, se, len(data), sites, res)


# --- what one departure costs in access --------------------------------------------------------
#
# A departure of f FTE leaves f FTE vacant until the post is refilled. The fixed-effects slope
# is the change in an outcome per vacant FTE per site-month, so the outcome summed over a
# departure's vacancy is slope x (vacant FTE-months the departure causes). The organization's
# vacant FTE-months per departed FTE is estimated as a ratio of sums over the access panel:
#
#     Σ over site-months of vacant FTE  /  Σ FTE of the clinician exits in the access window
#
# Vacant FTE is max(budgeted - filled, 0) in a site-month (as in the slopes), so a post left
# by a part-time clinician counts its FTE, and two overlapping departures count both (runs of
# vacant months did not). Every exit reason opens a vacancy that the numerator counts, so the
# denominator counts every exit reason too (counting voluntary exits alone would divide all
# vacancy by some of its causes). The number is then applied per voluntary departure, which
# assumes a voluntary exit stays vacant as long as the average exit.


def departures(
    clinicians: pd.DataFrame,
    sites: pd.Series | np.ndarray | list,
    window: tuple[pd.Timestamp, pd.Timestamp],
    reasons: tuple[str, ...] = EXIT_REASONS,
) -> pd.DataFrame:
    """Clinician exits (roles in ``CLINICIAN_ROLES``, exit reason in ``reasons``) dated inside
    ``window`` (both ends included) at the given sites: one row per exit with ``site_id``,
    ``clinician_id``, ``fte``, ``exit_date``, ``exit_reason``. Support staff are left out
    because the access panel's FTE are clinician FTE.

    Parameters
    ----------
    clinicians : pandas.DataFrame
        The ``clinicians`` table (``site_id``, ``clinician_id``, ``role``, ``fte``,
        ``exit_date``, ``exit_reason``).
    sites : sequence of str
        The sites of the access panel; exits elsewhere are left out.
    window : tuple of pandas.Timestamp
        First and last day counted (:func:`access_window`), both included.
    reasons : tuple of str, default ``EXIT_REASONS`` (every reason)
        The exit reasons counted. An exit without a recorded reason is never counted.

    Returns
    -------
    pandas.DataFrame
        One row per exit: ``site_id``, ``clinician_id``, ``fte``, ``exit_date``,
        ``exit_reason``.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({
    ...     "clinician_id": ["a", "b", "c"], "site_id": ["s1", "s1", "s2"],
    ...     "role": ["physician", "nurse", "advanced_practice"], "fte": [1.0, 1.0, 0.8],
    ...     "exit_date": pd.to_datetime(["2022-02-10", "2022-02-11", "2022-03-01"]),
    ...     "exit_reason": ["voluntary", "voluntary", "retirement"]})
    >>> departures(c, ["s1", "s2"], (pd.Timestamp("2022-01-01"), pd.Timestamp("2022-02-28")))
      site_id clinician_id  fte  exit_date exit_reason
    0      s1            a  1.0 2022-02-10   voluntary
    """
    c = clinicians
    keep = (
        c["role"].isin(CLINICIAN_ROLES)
        & c["exit_reason"].isin(reasons)
        & (c["exit_date"] >= window[0])
        & (c["exit_date"] <= window[1])
        & c["site_id"].isin(set(sites))
    )
    cols = ["site_id", "clinician_id", "fte", "exit_date", "exit_reason"]
    return c.loc[keep, cols].reset_index(drop=True)


def access_window(d: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First day of the panel's first month to the last day of its last month.

    Parameters
    ----------
    d : pandas.DataFrame
        Site-months with ``month`` the first day of each month (:func:`panel`).

    Returns
    -------
    tuple of pandas.Timestamp
        (first day, last day), both included.

    Examples
    --------
    >>> import pandas as pd
    >>> access_window(pd.DataFrame({"month": pd.to_datetime(["2022-01-01", "2022-02-01"])}))
    (Timestamp('2022-01-01 00:00:00'), Timestamp('2022-02-28 00:00:00'))
    """
    return d["month"].min(), d["month"].max() + pd.offsets.MonthEnd(0)


@dataclass
class Vacancy:
    """Vacant FTE-months per departed FTE, and its parts."""

    ratio: float  # vacant FTE-months per departed FTE
    vacant_fte_months: float  # Σ vacant FTE over site-months
    budget_weighted: float  # Σ vacant FTE x budgeted FTE over site-months
    departed_fte: float  # Σ FTE of the exits
    departures: int  # number of exits
    sites: int


def vacancy_per_departure(d: pd.DataFrame, deps: pd.DataFrame) -> Vacancy:
    """Σ vacant FTE over the panel's site-months / Σ FTE of the exits in ``deps``."""
    vacant = float(d["vacant_fte"].sum())
    weighted = float((d["vacant_fte"] * d["budgeted_clinician_fte"]).sum())
    fte = float(deps["fte"].sum())
    if fte <= 0:
        raise ValueError("no clinician exits in the access window: vacancy per departure")
    return Vacancy(vacant / fte, vacant, weighted, fte, len(deps), d["site_id"].nunique())


def within_slope(
    y: np.ndarray,
    x: np.ndarray,
    site: np.ndarray,
    month: np.ndarray,
    weights: np.ndarray | None = None,
    tol: float = 1e-11,
    max_iter: int = 1000,
) -> float:
    """Slope of ``y`` on ``x`` with site and month fixed effects (weighted least squares).

    The two-way within transformation by alternating weighted projections (demean by site,
    then by month, until nothing changes; one pass on a balanced panel); the slope is then
    Σ w x̃ ỹ / Σ w x̃² (Frisch-Waugh-Lovell). Integer weights equal repeating rows, so a site
    drawn twice in a cluster bootstrap is a site with weight 2. ``site`` and ``month`` are
    integer codes 0..k-1.
    """
    w = np.ones(len(y)) if weights is None else np.asarray(weights, float)
    keep = w > 0
    y, x, w = np.asarray(y, float)[keep], np.asarray(x, float)[keep], w[keep]
    site, month = np.asarray(site)[keep], np.asarray(month)[keep]
    z = np.column_stack([y, x])
    scale = np.abs(z).max(axis=0) + 1.0
    for _ in range(max_iter):
        before = z.copy()
        for g in (site, month):
            total = np.bincount(g, w)
            mean = np.column_stack([np.bincount(g, w * z[:, j]) for j in range(2)])
            with np.errstate(invalid="ignore", divide="ignore"):
                z = z - (mean / total[:, None])[g]
        if np.max(np.abs(z - before) / scale) < tol:
            break
    yt, xt = z[:, 0], z[:, 1]
    return float((w * xt * yt).sum() / (w * xt * xt).sum())


@dataclass
class DepartureEffect:
    """Access lost per departed FTE with a site cluster bootstrap of both of its parts."""

    vacancy: Vacancy
    ratio_ci: tuple[float, float]
    slopes: dict[str, float]  # outcome -> slope on the full data
    days: tuple[float, float, float]  # third-next-available day-months: estimate, low, high
    visits: tuple[float, float, float]  # visits lost: estimate, low, high
    resamples: int
    draws: pd.DataFrame  # one row per resample


def _site_parts(d: pd.DataFrame, deps: pd.DataFrame, codes: pd.Index) -> tuple[np.ndarray, ...]:
    site = codes.get_indexer(d["site_id"])
    vacant = np.bincount(site, d["vacant_fte"].to_numpy(float), len(codes))
    weighted = np.bincount(
        site, (d["vacant_fte"] * d["budgeted_clinician_fte"]).to_numpy(float), len(codes)
    )
    fte = np.bincount(codes.get_indexer(deps["site_id"]), deps["fte"].to_numpy(float), len(codes))
    return vacant, weighted, fte


def departure_effects(
    d: pd.DataFrame,
    deps: pd.DataFrame,
    resamples: int = 1000,
    seed: int = 0,
    days_outcome: str = "third_next_available_days",
    visits_outcome: str = "visits_per_fte",
) -> DepartureEffect:
    """Third-next-available day-months added and visits lost per departed FTE.

    days   = slope(third-next-available days per vacant FTE) x vacant FTE-months per departed FTE
    visits = -slope(visits per budgeted FTE per vacant FTE) x Σ(vacant FTE x budgeted FTE)
             / Σ departed FTE

    The visits slope is per budgeted FTE, so a vacant FTE-month at a site with B budgeted FTE
    loses slope x B visits; weighting each vacant FTE-month by its site's budgeted FTE keeps
    the units exact (it equals slope x vacant FTE-months per departed FTE x the
    vacancy-weighted mean budgeted FTE).

    95% intervals are percentiles of a site cluster bootstrap: whole sites are drawn with
    replacement, each bringing its site-months and its exits, and both slopes (site and month
    fixed effects) and the vacancy ratio are recomputed on each resample, so the intervals
    carry the uncertainty of both parts and their correlation.

    Parameters
    ----------
    d : pandas.DataFrame
        Site-months from :func:`panel` (``site_id``, ``month``, ``vacant_fte``,
        ``budgeted_clinician_fte`` and both outcomes).
    deps : pandas.DataFrame
        Clinician exits in the panel's window at its sites (:func:`departures`; ``site_id``,
        ``fte``).
    resamples : int, default 1000
        Site cluster bootstrap resamples.
    seed : int, default 0
        Seed of the bootstrap.
    days_outcome : str, default ``"third_next_available_days"``
        The waiting-time outcome (days).
    visits_outcome : str, default ``"visits_per_fte"``
        The visits outcome (visits per budgeted clinician FTE per month).

    Returns
    -------
    DepartureEffect
        ``vacancy`` (a :class:`Vacancy`: ``ratio`` of vacant FTE-months per departed FTE,
        ``vacant_fte_months``, ``budget_weighted``, ``departed_fte``, ``departures``,
        ``sites``); ``ratio_ci`` (its 95% interval); ``slopes`` (outcome -> slope on the full
        data); ``days`` and ``visits`` (estimate, low, high: third-next-available day-months
        added and visits lost per departed FTE); ``resamples``; ``draws`` (one row per
        resample: ``slope_days``, ``slope_visits``, ``ratio``, ``days``, ``visits``).

    Raises
    ------
    helpers.analysis.inference.TooFewSites
        Fewer than ``MIN_SITES`` sites (a ``ValueError``).
    ValueError
        No clinician FTE in ``deps`` (no exits to divide by).
    """
    sites = d["site_id"].nunique()
    require_sites(sites, "access per departure")
    codes = pd.Index(pd.unique(d["site_id"]))
    vac = vacancy_per_departure(d, deps)
    month_codes = pd.factorize(d["month"])[0]
    site_codes = codes.get_indexer(d["site_id"])
    rows: dict[str, tuple[np.ndarray, ...]] = {}
    for outcome in (days_outcome, visits_outcome):
        ok = d[outcome].notna().to_numpy() & d["vacant_fte"].notna().to_numpy()
        rows[outcome] = (
            d.loc[ok, outcome].to_numpy(float),
            d.loc[ok, "vacant_fte"].to_numpy(float),
            site_codes[ok],
            month_codes[ok],
        )
    vacant, weighted, fte = _site_parts(d, deps, codes)

    def slope(outcome: str, site_w: np.ndarray) -> float:
        y, x, site, month = rows[outcome]
        return within_slope(y, x, site, month, site_w[site])

    def estimate(site_w: np.ndarray) -> tuple[float, ...]:
        b_days, b_vis = slope(days_outcome, site_w), slope(visits_outcome, site_w)
        dep = float(site_w @ fte)
        ratio = float(site_w @ vacant) / dep if dep > 0 else np.nan
        per_budget = float(site_w @ weighted) / dep if dep > 0 else np.nan
        return b_days, b_vis, ratio, b_days * ratio, -b_vis * per_budget

    point = estimate(np.ones(len(codes)))
    rng = np.random.default_rng(seed)
    draws = [
        estimate(np.bincount(pick, minlength=len(codes)).astype(float))
        for pick in site_resamples(np.arange(len(codes)), resamples, rng)
    ]
    df = pd.DataFrame(draws, columns=["slope_days", "slope_visits", "ratio", "days", "visits"])

    def ci(col: str) -> tuple[float, float]:
        low, high = np.nanpercentile(df[col], [2.5, 97.5])
        return float(low), float(high)

    return DepartureEffect(
        vacancy=vac,
        ratio_ci=ci("ratio"),
        slopes={days_outcome: point[0], visits_outcome: point[1]},
        days=(point[3], *ci("days")),
        visits=(point[4], *ci("visits")),
        resamples=resamples,
        draws=df,
    )
