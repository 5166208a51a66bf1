"""A policy model of a new integrated behavioral-health service: productivity targets from
month one versus targets that follow the learning curve.

Expected values, month by month, over positions whose occupants move along a learning curve
(learn to do the work, do it well, do it efficiently). Every mechanism is stated here and in
notebook 08:

* **Capacity.** A clinician of tenure t months can deliver capacity(t) of a fully proficient
  clinician's visits: a logistic curve from ``start_capacity`` in month one to 1.
* **Targets.** A *day-one* target demands ``level`` (1 = full productivity) from month one; a
  *learning-curve* target demands capacity(t) + ``learning_curve_gap`` (at most 1), a stated
  stretch above the curve, so the comparison is not zero by construction.
* **Output.** A clinician below target stretches: output = capacity + min(gap, ``stretch`` x
  capacity), gap = max(target - capacity, 0). A share ``rework_share`` of the stretched visits
  is rework (repeat or corrected visits): it sees no new patient and is not billed.
* **Exits.** The monthly exit hazard is base x exp(elasticity x gap). The elasticity is not
  free: it is set so that in month one a day-one full target (gap = 1 - start_capacity) has
  hazard ratio ``month_one_hazard_ratio`` against no gap:
  elasticity = ln(month_one_hazard_ratio) / (1 - start_capacity).
* **Vacancy.** A departure leaves the post vacant (refilled at rate 1 / ``vacancy_months`` a
  month) and the replacement starts at the bottom of the curve.
* **Money.** Net cost = salaries + replacement costs - revenue; revenue = billed visits x
  total RVUs per visit (non-facility total, CMS PFS CY2025) x conversion factor x
  ``payment_share``. Money is discounted to month one at ``discount_rate`` a year
  (3%, Sanders et al. 2016, the Second Panel on Cost-Effectiveness); departures and visits
  are counts, not discounted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import numpy as np
import pandas as pd
from scipy import stats

from helpers.data.reference import fee_schedule, replacement_cost_reference

_BH = replacement_cost_reference()["roles"]["behavioral_health"]
# median of the shipped behavioral-health replacement cost, as a share of salary (0.2-2.0)
REPLACEMENT_SHARE_MEDIAN = float(np.sqrt(_BH["low_share_of_salary"] * _BH["high_share_of_salary"]))
# CMS PFS CY2025 (PPRRVU2025_Oct): non-facility total RVUs of 90834 (45 min) and 90837 (60 min)
DEFAULT_VISIT_MIX = {"90834": 0.5, "90837": 0.5}
CONVERSION_FACTOR_2025 = 32.3465


def total_rvu_per_visit(
    mix: dict[str, float] = DEFAULT_VISIT_MIX, setting: str = "nonfacility"
) -> float:
    """Mean total RVUs per visit of a mix of codes (shares summing to 1) from the shipped CMS
    PFS CY2025 schedule: ``nonfacility`` (an office) or ``facility`` totals."""
    if not np.isclose(sum(mix.values()), 1.0):
        raise ValueError("visit mix shares must sum to 1")
    fee = fee_schedule().set_index("code")[f"{setting}_total_rvu"]
    missing = [c for c in mix if c not in fee.index or np.isnan(fee[c])]
    if missing:
        raise ValueError(f"no {setting} total RVU for {missing}")
    return float(sum(share * fee[code] for code, share in mix.items()))


@dataclass(frozen=True)
class Assumptions:
    positions: int = 6  # clinician positions in the new service
    months: int = 84  # 7 years
    full_visits_per_month: float = 110.0  # visits a fully proficient clinician completes
    start_capacity: float = 0.4  # share of full productivity in month one
    midpoint_months: float = 12.0  # tenure at which half the learning is done
    learning_width_months: float = 4.0  # steepness of the learning curve
    base_exit_per_year: float = 0.10  # voluntary exits with no productivity gap
    month_one_hazard_ratio: float = 1.6  # exit HR in month one, full day-one target vs no gap
    stretch: float = 0.10  # most output above capacity under a target above it (x capacity)
    rework_share: float = 0.30  # share of stretched visits that are rework (unbilled)
    learning_curve_gap: float = 0.05  # learning-curve target = capacity + this, at most 1
    vacancy_months: float = 4.5  # mean months to refill
    salary_per_year: float = 150_000.0  # employer's cost of one clinician a year
    replacement_share_of_salary: float = REPLACEMENT_SHARE_MEDIAN  # cost of one departure
    total_rvu_per_visit: float = 0.5 * 3.22 + 0.5 * 4.77  # 90834/90837 non-facility totals
    conversion_factor: float = CONVERSION_FACTOR_2025  # USD per RVU, CMS PFS CY2025
    payment_share: float = 1.0  # share of the fee-schedule amount the payer pays
    discount_rate: float = 0.03  # a year (Sanders et al. 2016)

    @property
    def gap_elasticity(self) -> float:
        """ln(month-one hazard ratio) / (1 - start capacity): see the module docstring."""
        return float(np.log(self.month_one_hazard_ratio) / (1 - self.start_capacity))

    @property
    def replacement_cost(self) -> float:
        return self.replacement_share_of_salary * self.salary_per_year


def gap_elasticity(month_one_hazard_ratio, start_capacity):
    """Elasticity that makes exp(elasticity x (1 - start_capacity)) = month_one_hazard_ratio."""
    return np.log(month_one_hazard_ratio) / (1 - np.asarray(start_capacity, float))


def _col(p: dict, name: str) -> np.ndarray:
    """A parameter as a (draws, 1) column."""
    return np.atleast_1d(np.asarray(p[name], float))[:, None]


def capacity(a: Assumptions | dict, tenure_months: np.ndarray) -> np.ndarray:
    """Share of full productivity reached at a tenure (logistic learning curve from
    ``start_capacity`` at tenure 0 to 1). With a dict of parameter draws, one row per draw."""
    p = asdict(a) if isinstance(a, Assumptions) else a
    c0, mid, width = (
        _col(p, k) for k in ("start_capacity", "midpoint_months", "learning_width_months")
    )
    t = np.asarray(tenure_months, float)[None, :]
    rise = 1 / (1 + np.exp(-(t - mid) / width))
    rise0 = 1 / (1 + np.exp(mid / width))
    out = c0 + (1 - c0) * (rise - rise0) / (1 - rise0)
    return out[0] if isinstance(a, Assumptions) else out


def target(
    a: Assumptions | dict, tenure_months: np.ndarray, policy: str, level: float = 1.0
) -> np.ndarray:
    """Share of full productivity demanded: ``level`` from month one (``day_one``), or the
    learning curve plus ``learning_curve_gap``, at most 1 (``learning_curve``)."""
    cap = capacity(a, tenure_months)
    if policy == "day_one":
        lvl = np.asarray(level, float)
        return np.broadcast_to(lvl[..., None] if lvl.ndim else lvl, cap.shape).astype(float)
    if policy == "learning_curve":
        p = asdict(a) if isinstance(a, Assumptions) else a
        g = p["learning_curve_gap"]
        g = g if isinstance(a, Assumptions) else _col(p, "learning_curve_gap")
        return np.minimum(cap + g, 1.0)
    raise ValueError(f"unknown policy {policy!r}")


def output_share(cap: np.ndarray, tgt: np.ndarray, stretch, rework) -> tuple[np.ndarray, ...]:
    """(gap, delivered share, billed share of full productivity): a clinician below target
    delivers capacity + min(gap, stretch x capacity); rework is neither new care nor billed."""
    gap = np.clip(tgt - cap, 0, None)
    extra = np.minimum(gap, stretch * cap)
    billed = cap + (1 - rework) * extra
    return gap, cap + extra, billed


def discount_factors(months: int, rate) -> np.ndarray:
    """(1 + rate) ** -((m - 1) / 12) for months m = 1..months (month one undiscounted)."""
    m = np.arange(months, dtype=float)[None, :]
    return (1 + np.atleast_1d(np.asarray(rate, float))[:, None]) ** (-m / 12)


def monthly_hazard(p: dict, gap: np.ndarray) -> np.ndarray:
    """Monthly exit hazard: base / 12 x exp(elasticity x gap), elasticity from the month-one
    hazard ratio (:func:`gap_elasticity`)."""
    beta = gap_elasticity(_col(p, "month_one_hazard_ratio"), _col(p, "start_capacity"))
    return _col(p, "base_exit_per_year") / 12 * np.exp(beta * gap)


def run(p: dict, policy: str, level=1.0) -> dict[str, np.ndarray]:
    """Month-by-month expected staffing, exits, visits and money of one policy for every draw
    of the parameters in ``p`` (a dict of equal-length arrays; ``positions`` and ``months``
    are integers). Returns (draws, months) arrays."""
    months, positions = int(p["months"]), float(p["positions"])
    draws = len(np.atleast_1d(p["start_capacity"]))
    tenure = np.arange(months + 1, dtype=float)
    cap = capacity(p, tenure) * np.ones((draws, 1))
    lvl = np.atleast_1d(np.asarray(level, float))
    tgt = (
        np.broadcast_to(lvl[:, None], cap.shape)
        if policy == "day_one"
        else target(p, tenure, policy)
    )
    if policy not in ("day_one", "learning_curve"):
        raise ValueError(f"unknown policy {policy!r}")
    gap, _, billed = output_share(cap, tgt, _col(p, "stretch"), _col(p, "rework_share"))
    hazard = monthly_hazard(p, gap)
    leave = 1 - np.exp(-hazard)
    fill = 1 / _col(p, "vacancy_months")[:, 0]
    full = _col(p, "full_visits_per_month")[:, 0]
    occ = np.zeros((draws, months + 1))
    occ[:, 0] = positions  # every position filled in month one
    vacant = np.zeros(draws)
    out = {k: np.zeros((draws, months)) for k in ("staffed", "vacant", "exits", "visits")}
    keep = 1 - leave
    for m in range(months):
        exits = np.einsum("ij,ij->i", occ, leave)
        out["staffed"][:, m] = occ.sum(axis=1)
        out["vacant"][:, m] = vacant
        out["exits"][:, m] = exits
        out["visits"][:, m] = np.einsum("ij,ij->i", occ, billed) * full
        hires = vacant * fill
        occ *= keep  # those who stay ...
        last = occ[:, -1].copy()
        occ[:, 1:] = occ[:, :-1].copy()  # ... gain a month of tenure
        occ[:, -1] += last
        occ[:, 0] = hires  # new hires start at the bottom of the curve
        vacant = vacant - hires + exits
    salary = out["staffed"] * _col(p, "salary_per_year") / 12
    replacement = out["exits"] * _col(p, "replacement_share_of_salary") * _col(p, "salary_per_year")
    revenue = (
        out["visits"]
        * _col(p, "total_rvu_per_visit")
        * _col(p, "conversion_factor")
        * _col(p, "payment_share")
    )
    net = salary + replacement - revenue
    out.update(salary=salary, replacement=replacement, revenue=revenue, net_cost=net)
    out["discounted_net_cost"] = net * discount_factors(months, p["discount_rate"])
    return out


def _params(a: Assumptions) -> dict:
    return asdict(a)


def simulate(a: Assumptions, policy: str, level: float = 1.0) -> pd.DataFrame:
    """Month-by-month expected occupancy, exits, visits and money of one policy."""
    r = run(_params(a), policy, level)
    df = pd.DataFrame({k: v[0] for k, v in r.items()})
    df.insert(0, "month", np.arange(1, a.months + 1))
    df["policy"] = policy
    return df


def totals(r: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Totals over the horizon: exits, visits (counts), net cost discounted and undiscounted."""
    return {
        "exits": r["exits"].sum(axis=1),
        "visits": r["visits"].sum(axis=1),
        "net_cost": r["discounted_net_cost"].sum(axis=1),
        "net_cost_undiscounted": r["net_cost"].sum(axis=1),
    }


def differences(p: dict, level=1.0) -> dict[str, np.ndarray]:
    """Day-one target at ``level`` minus learning-curve target, per draw."""
    d1, lc = totals(run(p, "day_one", level)), totals(run(p, "learning_curve"))
    return {k: d1[k] - lc[k] for k in d1}


def compare(a: Assumptions, level: float = 1.0) -> dict[str, float]:
    """Seven-year totals of a day-one target (at ``level``) minus a learning-curve target:
    departures, visits, discounted net cost and undiscounted net cost."""
    return {k: float(v[0]) for k, v in differences(_params(a), level).items()}


# --- break-even target --------------------------------------------------------------------


def net_cost_by_level(a: Assumptions, levels: np.ndarray) -> pd.DataFrame:
    """Discounted net-cost difference (day-one at each level minus learning curve)."""
    p = {
        k: np.full(len(levels), v) if k not in ("positions", "months") else v
        for k, v in _params(a).items()
    }
    d = differences(p, np.asarray(levels, float))
    return pd.DataFrame({"target_level": levels, **{k: v for k, v in d.items()}})


def break_even(p: dict, low: float = 0.0, high: float = 1.0, iterations: int = 14) -> np.ndarray:
    """Day-one target level (share of full productivity from month one) at which its
    discounted net cost equals the learning-curve policy's, per draw, by bisection on
    [low, high]; NaN for a draw whose difference does not change sign on the interval."""
    draws = len(np.atleast_1d(p["start_capacity"]))
    lc = totals(run(p, "learning_curve"))["net_cost"]

    def diff(level: np.ndarray) -> np.ndarray:
        return totals(run(p, "day_one", level))["net_cost"] - lc

    lo, hi = np.full(draws, low), np.full(draws, high)
    f_lo, f_hi = diff(lo), diff(hi)
    ok = np.sign(f_lo) != np.sign(f_hi)
    for _ in range(iterations):
        mid = (lo + hi) / 2
        f_mid = diff(mid)
        left = np.sign(f_mid) == np.sign(f_lo)
        lo, f_lo = np.where(left, mid, lo), np.where(left, f_mid, f_lo)
        hi = np.where(left, hi, mid)
    return np.where(ok, (lo + hi) / 2, np.nan)


# --- probabilistic sensitivity analysis ---------------------------------------------------


@dataclass(frozen=True)
class Distribution:
    """How one assumption is drawn: ``lognormal`` (median ``a``; 95% of draws between a / b
    and a x b), ``lognormal90`` (``a`` to ``b`` is the central 90%), ``beta`` (mean ``a``,
    SD ``b``) or ``uniform`` (``a`` to ``b``)."""

    kind: str
    a: float
    b: float
    source: str = "assumption"

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        z = rng.standard_normal(n) if self.kind.startswith("lognormal") else None
        if self.kind == "lognormal":
            return self.a * np.exp(np.log(self.b) / stats.norm.ppf(0.975) * z)
        if self.kind == "lognormal90":
            sigma = np.log(self.b / self.a) / (2 * stats.norm.ppf(0.95))
            return np.sqrt(self.a * self.b) * np.exp(sigma * z)
        if self.kind == "beta":
            k = self.a * (1 - self.a) / self.b**2 - 1
            return rng.beta(self.a * k, (1 - self.a) * k, n)
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b, n)
        raise ValueError(f"unknown distribution {self.kind!r}")

    def describe(self) -> str:
        def num(x: float) -> str:  # four significant digits, never in exponent notation
            return f"{x:,.0f}" if abs(x) >= 1e4 else f"{x:,.4g}"

        if self.kind == "lognormal":
            return (
                f"lognormal, median {num(self.a)}, 95% of draws {num(self.a / self.b)} to "
                f"{num(self.a * self.b)}"
            )
        if self.kind == "lognormal90":
            return f"lognormal, 90% of draws {num(self.a)} to {num(self.b)}"
        if self.kind == "beta":
            return f"beta, mean {num(self.a)}, SD {num(self.b)}"
        return f"uniform, {num(self.a)} to {num(self.b)}"


def psa_distributions(a: Assumptions) -> dict[str, Distribution]:
    """The stated distribution of every uncertain assumption, centred on ``a``'s value
    (median for lognormals, mean for beta and uniform draws). The spreads are assumptions
    except the replacement cost's, which is the shipped behavioral-health range. Policy
    choices (positions, horizon, learning-curve gap), the fee schedule, the payment share and
    the discount rate are held fixed."""
    bh = _BH
    return {
        "start_capacity": Distribution("beta", a.start_capacity, 0.075),
        "midpoint_months": Distribution("lognormal", a.midpoint_months, 1.5),
        "learning_width_months": Distribution("lognormal", a.learning_width_months, 1.6),
        "month_one_hazard_ratio": Distribution("lognormal", a.month_one_hazard_ratio, 1.35),
        "base_exit_per_year": Distribution("lognormal", a.base_exit_per_year, 1.7),
        "vacancy_months": Distribution("lognormal", a.vacancy_months, 1.5),
        "stretch": Distribution("uniform", 0.0, 2 * a.stretch),
        "rework_share": Distribution("uniform", max(a.rework_share - 0.2, 0),
                                     min(a.rework_share + 0.2, 1)),
        "full_visits_per_month": Distribution("lognormal", a.full_visits_per_month, 1.2),
        "salary_per_year": Distribution("lognormal", a.salary_per_year, 1.25),
        "replacement_share_of_salary": Distribution(
            "lognormal90", bh["low_share_of_salary"], bh["high_share_of_salary"],
            source="replacement_costs.yaml: boushey2012costs, melnic2019app"),
    }  # fmt: skip


def psa_draws(a: Assumptions, n: int = 2000, seed: int = 0) -> dict:
    """``n`` joint draws of the assumptions (independent across assumptions)."""
    rng = np.random.default_rng(seed)
    p = {
        k: np.full(n, v, dtype=float)
        for k, v in _params(a).items()
        if k not in ("positions", "months")
    }
    p.update(positions=a.positions, months=a.months)
    for name, dist in psa_distributions(a).items():
        p[name] = dist.draw(n, rng)
    return p


@dataclass
class PSA:
    base: dict[str, float]  # deterministic differences at the base case
    draws: pd.DataFrame  # one row per draw: the assumptions and the differences
    summary: pd.DataFrame  # outcome, base, median, ci_low, ci_high, share_above_zero
    break_even: float  # base-case break-even target level (NaN: none on [0, 1])
    break_even_draws: np.ndarray


def psa(a: Assumptions, n: int = 2000, seed: int = 0, with_break_even: bool = True) -> PSA:
    """Probabilistic sensitivity analysis: every uncertain assumption drawn from its stated
    distribution (:func:`psa_distributions`), ``n`` draws; the 95% interval of each difference
    is the 2.5th to 97.5th percentile of its draws; the point stays the base case."""
    p = psa_draws(a, n, seed)
    diff = differences(p)
    base = compare(a)
    rows = []
    for k, v in diff.items():
        low, med, high = np.percentile(v, [2.5, 50, 97.5])
        rows.append(
            {
                "outcome": k,
                "base": base[k],
                "median": med,
                "ci_low": low,
                "ci_high": high,
                "share_above_zero": float((v > 0).mean()),
            }
        )
    draws = pd.DataFrame({k: v for k, v in p.items() if np.ndim(v)} | diff)
    be_base = float(break_even(_as_draw(a))[0]) if with_break_even else np.nan
    be = break_even(p) if with_break_even else np.full(n, np.nan)
    return PSA(base, draws, pd.DataFrame(rows), be_base, be)


def _as_draw(a: Assumptions) -> dict:
    p = {k: np.array([v], float) for k, v in _params(a).items() if k not in ("positions", "months")}
    p.update(positions=a.positions, months=a.months)
    return p


def one_way(a: Assumptions, outcome: str = "net_cost") -> pd.DataFrame:
    """Each uncertain assumption at the 2.5th and 97.5th percentiles of its PSA distribution,
    the others at the base case: the ``outcome`` difference (day-one minus learning curve)."""
    base = compare(a)[outcome]
    rng = np.random.default_rng(0)
    rows = []
    for name, dist in psa_distributions(a).items():
        lo, hi = np.percentile(dist.draw(200_000, rng), [2.5, 97.5])
        rows.append(
            {
                "assumption": name,
                "value": asdict(a)[name],
                "low_value": lo,
                "high_value": hi,
                "low_value_result": compare(replace(a, **{name: lo}))[outcome],
                "high_value_result": compare(replace(a, **{name: hi}))[outcome],
                "base_result": base,
            }
        )
    return pd.DataFrame(rows)


def assumptions_table(a: Assumptions) -> pd.DataFrame:
    """Every assumption: its base value and how the PSA draws it (or 'fixed')."""
    dists = psa_distributions(a)
    return pd.DataFrame(
        [
            {
                "assumption": f.name,
                "value": getattr(a, f.name),
                "distribution": dists[f.name].describe() if f.name in dists else "fixed",
            }
            for f in fields(a)
        ]
    )
