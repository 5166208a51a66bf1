"""The cost of clinician turnover: replacement costs drawn from cited ranges, the cost of all
voluntary turnover, of the excess exits under RVU production pay, and of the turnover
attributable to burnout; and published worked examples reproduced.

Every Monte Carlo result here is summarized the same way (:func:`summarize`): the point is the
median of the draws and the interval their 2.5th to 97.5th percentiles, so the point is the
center of its own simulation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from helpers.data.contract import CLINICIAN_ROLES
from helpers.data.reference import replacement_cost_reference

# Hamidi et al. 2018: relative risk of leaving, burned out vs not, 2.1 (95% CI 1.3-3.3).
PUBLISHED_RELATIVE_RISK = (2.1, (1.3, 3.3))


# --- distributions --------------------------------------------------------------------------


def lognormal_from_range(low: float, high: float, interval: float = 0.90) -> tuple[float, float]:
    """(mu, sigma) of the lognormal whose central ``interval`` runs from ``low`` to ``high``:
    mu = (ln low + ln high) / 2 (the median is the geometric mean of the ends) and
    sigma = (ln high - ln low) / (2 z), z the standard normal quantile of (1 + interval) / 2."""
    if not 0 < low <= high:
        raise ValueError(f"a lognormal range needs 0 < low <= high, got {low}, {high}")
    z = stats.norm.ppf((1 + interval) / 2)
    return (np.log(low) + np.log(high)) / 2, (np.log(high) - np.log(low)) / (2 * z)


def lognormal_from_estimate(
    estimate: float, ci: tuple[float, float], level: float = 0.95
) -> tuple[float, float]:
    """(mu, sigma) of a lognormal centred on a published ratio and its confidence interval:
    mu = ln estimate, sigma = (ln high - ln low) / (2 z). A ratio's interval is symmetric on
    the log scale up to the paper's rounding; the median of the draws is the estimate."""
    low, high = ci
    if not 0 < low <= estimate <= high:
        raise ValueError(f"need 0 < low <= estimate <= high, got {estimate} ({low}, {high})")
    z = stats.norm.ppf((1 + level) / 2)
    return float(np.log(estimate)), float((np.log(high) - np.log(low)) / (2 * z))


def correlated_normals(k: int, correlation: float, draws: int, rng: np.random.Generator):
    """``draws`` x ``k`` standard normals with the same correlation between every pair of
    columns (a Gaussian copula)."""
    if k == 1:
        return rng.standard_normal((draws, 1))
    if not -1 / (k - 1) < correlation <= 1:
        raise ValueError(f"correlation {correlation} is not valid for {k} roles")
    if correlation == 1:
        return np.repeat(rng.standard_normal((draws, 1)), k, axis=1)
    cov = np.full((k, k), correlation) + (1 - correlation) * np.eye(k)
    return rng.standard_normal((draws, k)) @ np.linalg.cholesky(cov).T


@dataclass
class Summary:
    """A Monte Carlo result: the median of the draws and their 2.5th and 97.5th percentiles."""

    point: float
    low: float
    high: float
    draws: np.ndarray = field(repr=False)


def summarize(draws: np.ndarray) -> Summary:
    d = np.asarray(draws, float)
    low, point, high = np.percentile(d, [2.5, 50, 97.5])
    return Summary(float(point), float(low), float(high), d)


# --- replacement costs ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReplacementCosts:
    """Replacement cost per departure by role: each role lognormal with (low, high) as its
    central ``interval``, the roles' log costs correlated ``correlation`` pairwise."""

    ranges: Mapping[str, tuple[float, float]]  # role -> (low, high), USD
    interval: float = 0.90
    correlation: float = 0.5
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_reference(
        cls,
        overrides: Mapping[str, Any] | None = None,
        *,
        interval: float | None = None,
        correlation: float | None = None,
        behavioral_health_salary: float | None = None,
    ) -> ReplacementCosts:
        """The shipped ranges (``reference/replacement_costs.yaml``); ``overrides`` maps a role
        to its own (low, high) in USD, and a salary replaces the shipped behavioral-health
        salary that its share-of-salary range multiplies."""
        ref = replacement_cost_reference()
        ranges, sources = {}, {}
        for role, r in ref["roles"].items():
            if "low_usd" in r:
                ranges[role] = (float(r["low_usd"]), float(r["high_usd"]))
            else:
                salary = behavioral_health_salary or r["salary_usd"]
                ranges[role] = (
                    r["low_share_of_salary"] * salary,
                    r["high_share_of_salary"] * salary,
                )
            sources[role] = tuple(r.get("sources", ())) + tuple(r.get("salary_sources", ()))
        for role, value in (overrides or {}).items():
            if value is not None:
                ranges[role] = (float(value[0]), float(value[1]))
                sources[role] = ("analyst's parameter",)
        return cls(
            ranges,
            float(interval if interval is not None else ref["interval"]),
            float(correlation if correlation is not None else ref["correlation"]),
            sources,
        )

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(self.ranges)

    def params(self) -> dict[str, tuple[float, float]]:
        """Role -> (mu, sigma) of its lognormal."""
        return {r: lognormal_from_range(*self.ranges[r], self.interval) for r in self.roles}

    def median(self, role: str) -> float:
        return float(np.exp(self.params()[role][0]))

    def draws(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """``n`` correlated draws of every role's replacement cost (one column per role)."""
        z = correlated_normals(len(self.roles), self.correlation, n, rng)
        p = self.params()
        mu = np.array([p[r][0] for r in self.roles])
        sigma = np.array([p[r][1] for r in self.roles])
        return pd.DataFrame(np.exp(mu + sigma * z), columns=list(self.roles))

    def with_(self, **changes: Any) -> ReplacementCosts:
        return replace(self, **changes)


# --- the cost of all voluntary turnover -----------------------------------------------------


def exits_per_year(
    clinicians: pd.DataFrame, window: tuple[pd.Timestamp, pd.Timestamp]
) -> tuple[pd.DataFrame, float]:
    """Voluntary clinician exits in the window by role, and the window's length in years.

    Parameters
    ----------
    clinicians : pandas.DataFrame
        The ``clinicians`` table (``role``, ``exit_date``, ``exit_reason``). Only roles in
        ``CLINICIAN_ROLES`` and ``exit_reason == "voluntary"`` count.
    window : tuple of pandas.Timestamp
        First and last day of the analysis window, both included.

    Returns
    -------
    exits : pandas.DataFrame
        One row per clinician role, in ``CLINICIAN_ROLES`` order (0 for a role without
        exits): ``role``, ``exits`` (voluntary exits dated in the window) and
        ``exits_per_year``.
    years : float
        The window's length in years (days, both ends included, / 365.25).

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({
    ...     "role": ["physician", "physician", "medical_assistant"],
    ...     "exit_date": pd.to_datetime(["2022-03-31", None, "2022-05-01"]),
    ...     "exit_reason": ["voluntary", None, "voluntary"]})
    >>> exits, years = exits_per_year(c, (pd.Timestamp("2022-01-01"), pd.Timestamp("2023-12-31")))
    >>> exits
                    role  exits  exits_per_year
    0          physician      1        0.500342
    1  advanced_practice      0        0.000000
    2  behavioral_health      0        0.000000
    >>> round(years, 3)
    1.999
    """
    years = ((window[1] - window[0]).days + 1) / 365.25
    c = clinicians[clinicians["role"].isin(CLINICIAN_ROLES)]
    vol = c[
        (c["exit_reason"] == "voluntary")
        & (c["exit_date"] >= window[0])
        & (c["exit_date"] <= window[1])
    ]
    counts = vol.groupby("role").size().reindex(CLINICIAN_ROLES, fill_value=0)
    return pd.DataFrame(
        {
            "role": counts.index,
            "exits": counts.to_numpy(),
            "exits_per_year": counts.to_numpy() / years,
        }
    ), years


@dataclass
class CostResult:
    point: float  # median of the draws
    low: float
    high: float
    by_role: pd.DataFrame
    draws: np.ndarray = field(repr=False)


def turnover_cost(
    exits: pd.DataFrame,
    years: float,
    costs: ReplacementCosts,
    draws: int = 20000,
    seed: int = 0,
) -> CostResult:
    """Yearly replacement cost of ALL voluntary exits = Σ_role exit rate × replacement cost.

    Monte Carlo: each role's exit rate from its Gamma(exits + 0.5, 1 / years) posterior (the
    Jeffreys prior for a Poisson rate), independent across roles; the replacement costs from
    ``costs`` (lognormal, correlated across roles). Point = median of the total's draws,
    interval = its 2.5th to 97.5th percentiles; the same for each role.

    Parameters
    ----------
    exits : pandas.DataFrame
        Voluntary exits by role (:func:`exits_per_year`): ``role``, ``exits``,
        ``exits_per_year``. Every role needs a range in ``costs``.
    years : float
        Length of the window the exits were counted over, in years.
    costs : ReplacementCosts
        Replacement cost per departure by role (USD).
    draws : int, default 20000
        Monte Carlo draws.
    seed : int, default 0
        Seed of the random generator.

    Returns
    -------
    CostResult
        ``point``, ``low``, ``high``: median and 2.5th and 97.5th percentiles of the yearly
        cost (USD per year); ``draws``: the total's draws; ``by_role``: one row per role with
        ``role``, ``exits``, ``exits_per_year``, ``replacement_cost_median``,
        ``replacement_cost_low``, ``replacement_cost_high`` (USD per departure) and
        ``cost_per_year_median``, ``cost_per_year_low``, ``cost_per_year_high`` (USD per year).
    """
    rng = np.random.default_rng(seed)
    cost_draws = costs.draws(draws, rng)
    total = np.zeros(draws)
    rows = []
    for r in exits.itertuples():
        rate = rng.gamma(r.exits + 0.5, 1 / years, draws)
        d = rate * cost_draws[r.role].to_numpy()
        total += d
        s = summarize(d)
        low, high = costs.ranges[r.role]
        rows.append(
            {
                "role": r.role,
                "exits": r.exits,
                "exits_per_year": r.exits_per_year,
                "replacement_cost_median": costs.median(r.role),
                "replacement_cost_low": low,
                "replacement_cost_high": high,
                "cost_per_year_median": s.point,
                "cost_per_year_low": s.low,
                "cost_per_year_high": s.high,
            }
        )
    s = summarize(total)
    return CostResult(s.point, s.low, s.high, pd.DataFrame(rows), total)


# --- the cost of the excess exits under RVU production pay -----------------------------------


@dataclass
class ExcessCost:
    point: float
    low: float
    high: float
    by_role: pd.DataFrame  # role, excess_exits_per_year (median), cost per year median/low/high
    draws: np.ndarray = field(repr=False)
    role_mix: dict[str, float] | None  # the mix used when exits were not given by role


def excess_turnover_cost(
    excess: np.ndarray | Mapping[str, np.ndarray],
    costs: ReplacementCosts,
    role_mix: Mapping[str, float] | None = None,
    seed: int = 0,
) -> ExcessCost:
    """Yearly replacement cost of the excess voluntary exits under RVU production pay.

    ``excess`` holds Monte Carlo draws of excess exits per year (from the turnover analysis):
    either one array for all clinicians, split across roles by ``role_mix`` (shares that sum
    to 1, e.g. the roles' shares of the organization's voluntary exits), or one array per role
    (all of the same length, draw i of every role from the same joint draw). Draw i of the
    cost is Σ_role excess_i,role × replacement cost_i,role with replacement costs drawn from
    ``costs`` (one correlated draw per excess draw), so the interval carries both the
    uncertainty of the excess exits and of the costs. Point = median of the draws.

    Parameters
    ----------
    excess : numpy.ndarray or mapping of str to numpy.ndarray
        Draws of excess voluntary exits per year: one array for all clinicians, or role ->
        array (arrays of equal length).
    costs : ReplacementCosts
        Replacement cost per departure by role (USD).
    role_mix : mapping of str to float, optional
        Role -> share of the exits, summing to 1; required when ``excess`` is one array,
        ignored otherwise.
    seed : int, default 0
        Seed of the replacement-cost draws.

    Returns
    -------
    ExcessCost
        ``point``, ``low``, ``high``: median and 2.5th and 97.5th percentiles of the yearly
        cost (USD per year); ``draws``: its draws; ``by_role``: one row per role with
        ``role``, ``excess_exits_per_year`` (median of the draws),
        ``cost_per_year_median``, ``cost_per_year_low``, ``cost_per_year_high``;
        ``role_mix``: the shares used (None when ``excess`` was given by role).

    Raises
    ------
    ValueError
        One array without a ``role_mix``, shares that do not sum to 1, roles with different
        numbers of draws, or a role without a replacement cost in ``costs``.
    """
    if isinstance(excess, Mapping):
        by_role = {r: np.asarray(v, float) for r, v in excess.items()}
        mix = None
    else:
        if not role_mix:
            raise ValueError("excess exits for all clinicians need a role_mix to be priced")
        total = sum(role_mix.values())
        if not np.isclose(total, 1.0):
            raise ValueError(f"role_mix shares sum to {total}, not 1")
        e = np.asarray(excess, float)
        mix = {r: float(s) for r, s in role_mix.items()}
        by_role = {r: e * s for r, s in mix.items()}
    lengths = {len(v) for v in by_role.values()}
    if len(lengths) != 1:
        raise ValueError("every role needs the same number of draws")
    n = lengths.pop()
    unknown = set(by_role) - set(costs.roles)
    if unknown:
        raise ValueError(f"no replacement cost for role(s) {sorted(unknown)}")
    cost_draws = costs.draws(n, np.random.default_rng(seed))
    total = np.zeros(n)
    rows = []
    for role, e in by_role.items():
        d = e * cost_draws[role].to_numpy()
        total += d
        s = summarize(d)
        rows.append(
            {
                "role": role,
                "excess_exits_per_year": float(np.median(e)),
                "cost_per_year_median": s.point,
                "cost_per_year_low": s.low,
                "cost_per_year_high": s.high,
            }
        )
    s = summarize(total)
    return ExcessCost(s.point, s.low, s.high, pd.DataFrame(rows), total, mix)


# --- the cost attributable to burnout -------------------------------------------------------


def attributable_fraction(
    prevalence: float | np.ndarray, relative_risk: float | np.ndarray
) -> float | np.ndarray:
    """Share of turnover attributable to burnout: p(RR-1) / (1 + p(RR-1))."""
    excess = prevalence * (relative_risk - 1)
    return excess / (1 + excess)


def relative_risk_draws(
    n: int,
    rng: np.random.Generator,
    estimate: float = PUBLISHED_RELATIVE_RISK[0],
    ci: tuple[float, float] = PUBLISHED_RELATIVE_RISK[1],
    level: float = 0.95,
) -> np.ndarray:
    """Draws of the relative risk (or hazard ratio) of leaving for burned-out clinicians from
    the lognormal centred on ``estimate`` whose central ``level`` interval is ``ci``: by
    default Hamidi et al. 2018's 2.1 (1.3-3.3); a local hazard ratio and its interval (the
    organization's own linked analysis) can be given instead."""
    mu, sigma = lognormal_from_estimate(estimate, ci, level)
    return np.exp(mu + sigma * rng.standard_normal(n))


def burnout_attributable_cost(
    burned_out: int,
    responses: int,
    cost_draws: np.ndarray,
    seed: int = 0,
    estimate: float = PUBLISHED_RELATIVE_RISK[0],
    ci: tuple[float, float] = PUBLISHED_RELATIVE_RISK[1],
) -> tuple[Summary, Summary]:
    """Yearly cost of voluntary turnover attributable to burnout, and the attributable fraction.

    Draw i: prevalence p_i ~ Beta(burned out + 0.5, not burned out + 0.5) (Jeffreys), relative
    risk RR_i from :func:`relative_risk_draws`, attributable fraction
    p_i (RR_i - 1) / (1 + p_i (RR_i - 1)), times draw i of the yearly cost of all voluntary
    turnover (``cost_draws``). Point = median of the draws.

    Parameters
    ----------
    burned_out : int
        Survey responses that report burnout.
    responses : int
        All survey responses (the denominator of the prevalence).
    cost_draws : numpy.ndarray
        Draws of the yearly cost of all voluntary turnover, USD per year (e.g.
        ``turnover_cost(...).draws``); their number sets the number of draws.
    seed : int, default 0
        Seed of the prevalence and relative-risk draws.
    estimate : float, default 2.1
        Relative risk (or hazard ratio) of leaving for burned-out clinicians; by default
        Hamidi et al. 2018's.
    ci : tuple of float, default (1.3, 3.3)
        Its 95% confidence interval.

    Returns
    -------
    cost : Summary
        Yearly cost attributable to burnout (USD per year): ``point`` (median), ``low``,
        ``high`` (2.5th and 97.5th percentiles) and ``draws``.
    fraction : Summary
        The attributable fraction (a share between 0 and 1), summarized the same way.
    """
    rng = np.random.default_rng(seed)
    n = len(cost_draws)
    p = rng.beta(burned_out + 0.5, responses - burned_out + 0.5, n)
    rr = relative_risk_draws(n, rng, estimate, ci)
    af = attributable_fraction(p, rr)
    return summarize(af * np.asarray(cost_draws, float)), summarize(af)


# --- published worked examples --------------------------------------------------------------


def hamidi2018(ref: dict) -> dict[str, float]:
    """Hamidi et al. 2018: physicians x burned-out share x excess two-year departure
    (21% - 10%), rounded to whole physicians as the paper does, x replacement cost.

    Parameters
    ----------
    ref : dict
        The paper's numbers (``published()["hamidi2018"]``): ``physicians``,
        ``burnout_share``, ``departure_2yr_burned_out``, ``departure_2yr_not_burned_out``
        (two-year departure shares) and ``replacement_cost_usd`` (low, high).

    Returns
    -------
    dict of str to float
        ``departures`` (two-year departures attributable to burnout), ``departures_rounded``
        (to whole physicians), ``cost_low`` and ``cost_high`` (USD over two years, from the
        rounded departures) and ``cost_low_unrounded`` and ``cost_high_unrounded``.

    Examples
    --------
    >>> h = hamidi2018({"physicians": 2023, "burnout_share": 0.26,
    ...                 "departure_2yr_burned_out": 0.21, "departure_2yr_not_burned_out": 0.10,
    ...                 "replacement_cost_usd": [268000, 957000]})
    >>> h["departures_rounded"], h["cost_low"], h["cost_high"]
    (58, 15544000, 55506000)
    """
    excess = ref["departure_2yr_burned_out"] - ref["departure_2yr_not_burned_out"]
    departures = ref["physicians"] * ref["burnout_share"] * excess
    rounded = round(departures)
    low, high = ref["replacement_cost_usd"]
    return {
        "departures": departures,
        "departures_rounded": rounded,
        "cost_low": rounded * low,
        "cost_high": rounded * high,
        "cost_low_unrounded": departures * low,
        "cost_high_unrounded": departures * high,
    }


def shanafelt2017(ref: dict) -> dict[str, float]:
    """Shanafelt, Goh and Sinsky 2017 worked example: physicians x turnover reduction x
    replacement cost; and the attributable turnover their worksheet inputs imply.

    Parameters
    ----------
    ref : dict
        The paper's numbers (``published()["shanafelt2017"]``): ``turnover_per_year`` (a
        share), ``relative_risk_leaving_burned_out`` and ``worked_example`` with
        ``physicians``, ``turnover_reduction_points`` (a share of physicians per year),
        ``replacement_cost_usd`` and ``burnout_before`` (a share).

    Returns
    -------
    dict of str to float
        ``savings`` (USD per year) and ``attributable_turnover_points`` (turnover
        attributable to burnout, percentage points per year).

    Examples
    --------
    >>> s = shanafelt2017({"turnover_per_year": 0.07, "relative_risk_leaving_burned_out": 2.0,
    ...                    "worked_example": {"physicians": 450, "turnover_reduction_points": 0.005,
    ...                                       "replacement_cost_usd": 500000,
    ...                                       "burnout_before": 0.5}})
    >>> s["savings"], round(s["attributable_turnover_points"], 2)
    (1125000.0, 2.33)
    """
    ex = ref["worked_example"]
    savings = ex["physicians"] * ex["turnover_reduction_points"] * ex["replacement_cost_usd"]
    p, rr, turnover = (
        ex["burnout_before"],
        ref["relative_risk_leaving_burned_out"],
        ref["turnover_per_year"],
    )
    share = attributable_fraction(p, rr)
    return {"savings": savings, "attributable_turnover_points": 100 * turnover * share}
