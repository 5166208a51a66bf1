"""The cost of voluntary clinician turnover, and published worked examples reproduced."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.contract import CLINICIAN_ROLES


def exits_per_year(
    clinicians: pd.DataFrame, window: tuple[pd.Timestamp, pd.Timestamp]
) -> tuple[pd.DataFrame, float]:
    """Voluntary clinician exits in the window by role, and the window's length in years."""
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
    mean: float
    low: float
    high: float
    by_role: pd.DataFrame
    draws: np.ndarray


def turnover_cost(
    exits: pd.DataFrame,
    years: float,
    cost_ranges: dict[str, list[float]],
    draws: int = 20000,
    seed: int = 0,
) -> CostResult:
    """Yearly cost = Σ_role exit rate × replacement cost, by Monte Carlo: the exit rate from
    its Gamma(exits, years) posterior (Jeffreys-like, flat prior) and the replacement cost
    uniform over the role's range."""
    rng = np.random.default_rng(seed)
    total = np.zeros(draws)
    rows = []
    for r in exits.itertuples():
        low, high = cost_ranges[r.role]
        rate = rng.gamma(r.exits + 0.5, 1 / years, draws)
        cost = rng.uniform(low, high, draws)
        d = rate * cost
        total += d
        rows.append(
            {
                "role": r.role,
                "exits": r.exits,
                "exits_per_year": r.exits_per_year,
                "replacement_cost_low": low,
                "replacement_cost_high": high,
                "cost_per_year_mean": d.mean(),
                "cost_per_year_low": np.percentile(d, 2.5),
                "cost_per_year_high": np.percentile(d, 97.5),
            }
        )
    return CostResult(
        float(total.mean()),
        float(np.percentile(total, 2.5)),
        float(np.percentile(total, 97.5)),
        pd.DataFrame(rows),
        total,
    )


def attributable_fraction(
    prevalence: float | np.ndarray, relative_risk: float | np.ndarray
) -> float | np.ndarray:
    """Share of turnover attributable to burnout: p(RR-1) / (1 + p(RR-1))."""
    excess = prevalence * (relative_risk - 1)
    return excess / (1 + excess)


def hamidi2018(ref: dict) -> dict[str, float]:
    """Hamidi et al. 2018: physicians x burned-out share x excess two-year departure
    (21% - 10%), rounded to whole physicians as the paper does, x replacement cost."""
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
    replacement cost; and the attributable turnover their worksheet inputs imply."""
    ex = ref["worked_example"]
    savings = ex["physicians"] * ex["turnover_reduction_points"] * ex["replacement_cost_usd"]
    p, rr, turnover = (
        ex["burnout_before"],
        ref["relative_risk_leaving_burned_out"],
        ref["turnover_per_year"],
    )
    share = attributable_fraction(p, rr)
    return {"savings": savings, "attributable_turnover_points": 100 * turnover * share}
