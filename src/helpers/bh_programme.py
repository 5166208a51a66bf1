"""A policy model of a new integrated behavioural-health service: productivity targets from
month one versus targets that follow the learning curve.

Expected values, month by month, over positions whose occupants move along a learning
curve (learn to do the work, do it well, do it efficiently). The monthly exit hazard rises
with the gap between the target and what a clinician of that tenure can achieve; a departure
leaves the position vacant for a while and the replacement starts at the bottom of the curve.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Assumptions:
    positions: int = 6  # clinician positions in the new service
    months: int = 84  # 7 years
    full_visits_per_month: float = 110.0  # visits a fully proficient clinician completes
    start_capacity: float = 0.4  # share of full productivity in month one
    midpoint_months: float = 12.0  # tenure at which half the learning is done
    learning_width_months: float = 4.0  # steepness of the learning curve
    base_exit_per_year: float = 0.10  # voluntary exits with no productivity gap
    gap_elasticity: float = 3.0  # log hazard per unit of (target - capacity) / target
    vacancy_months: float = 4.5  # mean months to refill
    salary_per_year: float = 150_000.0
    replacement_cost: float = 100_000.0
    work_rvu_per_visit: float = 2.45  # 90834 work RVU (CMS PFS 2025)
    conversion_factor: float = 32.3465  # USD per RVU (CMS PFS 2025)


def capacity(a: Assumptions, tenure_months: np.ndarray) -> np.ndarray:
    """Share of full productivity reached at a tenure (logistic learning curve)."""
    rise = 1 / (1 + np.exp(-(tenure_months - a.midpoint_months) / a.learning_width_months))
    rise0 = 1 / (1 + np.exp(a.midpoint_months / a.learning_width_months))
    return a.start_capacity + (1 - a.start_capacity) * (rise - rise0) / (1 - rise0)


def target(a: Assumptions, tenure_months: np.ndarray, policy: str) -> np.ndarray:
    """Share of full productivity demanded: all of it from month one, or the curve."""
    if policy == "day_one":
        return np.ones_like(tenure_months, dtype=float)
    if policy == "learning_curve":
        return capacity(a, tenure_months)
    raise ValueError(f"unknown policy {policy!r}")


def simulate(a: Assumptions, policy: str) -> pd.DataFrame:
    """Month-by-month expected occupancy, exits, visits and costs of one policy."""
    tenure = np.arange(a.months + 1, dtype=float)
    cap = capacity(a, tenure)
    gap = np.clip(target(a, tenure, policy) - cap, 0, None)
    hazard = a.base_exit_per_year / 12 * np.exp(a.gap_elasticity * gap)
    leave = 1 - np.exp(-hazard)
    occ = np.zeros(a.months + 1)
    occ[0] = a.positions  # every position filled in month one
    vacant = 0.0
    fill = 1 / a.vacancy_months
    rows = []
    for m in range(a.months):
        exits = float((occ * leave).sum())
        visits = float((occ * cap).sum() * a.full_visits_per_month)
        staffed = float(occ.sum())
        rows.append(
            {
                "month": m + 1,
                "staffed": staffed,
                "vacant": vacant,
                "exits": exits,
                "visits": visits,
                "salary": staffed * a.salary_per_year / 12,
                "replacement": exits * a.replacement_cost,
                "revenue": visits * a.work_rvu_per_visit * a.conversion_factor,
            }
        )
        hires = vacant * fill
        occ = np.concatenate([[hires], (occ * (1 - leave))[:-1]]) + np.concatenate(
            [np.zeros(a.months), [(occ * (1 - leave))[-1]]]
        )
        vacant = vacant - hires + exits
    df = pd.DataFrame(rows)
    df["net_cost"] = df["salary"] + df["replacement"] - df["revenue"]
    df["policy"] = policy
    return df


def compare(a: Assumptions) -> dict[str, float]:
    """Seven-year totals of day-one minus learning-curve targets."""
    d1, lc = simulate(a, "day_one"), simulate(a, "learning_curve")
    return {
        "exits": d1["exits"].sum() - lc["exits"].sum(),
        "visits": d1["visits"].sum() - lc["visits"].sum(),
        "net_cost": d1["net_cost"].sum() - lc["net_cost"].sum(),
    }


def sensitivity(
    a: Assumptions,
    spread: float = 0.5,
    names: tuple[str, ...] = (
        "gap_elasticity",
        "midpoint_months",
        "vacancy_months",
        "replacement_cost",
        "base_exit_per_year",
        "start_capacity",
    ),
) -> pd.DataFrame:
    """Net-cost difference when each assumption is set to (1 ± spread) × its value."""
    base = compare(a)["net_cost"]
    rows = []
    for name in names:
        v = asdict(a)[name]
        lo = compare(replace(a, **{name: v * (1 - spread)}))["net_cost"]
        hi = compare(
            replace(
                a,
                **{
                    name: min(v * (1 + spread), 0.95)
                    if name == "start_capacity"
                    else v * (1 + spread)
                },
            )
        )["net_cost"]
        rows.append(
            {
                "assumption": name,
                "value": v,
                "low_value_result": lo,
                "high_value_result": hi,
                "base_result": base,
            }
        )
    return pd.DataFrame(rows)
