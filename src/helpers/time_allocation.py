"""Solution shop and production line: how clinician minutes are spent."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.contract import PRODUCTION_LINE, SOLUTION_SHOP
from helpers.rates import ratio_bootstrap


def with_management(ta: pd.DataFrame, management: pd.DataFrame) -> pd.DataFrame:
    """Time rows with team-based care in effect at the site in the middle of the month."""
    t = ta.copy()
    t["row"] = np.arange(len(t))
    t["mid"] = t["month"] + pd.Timedelta(days=14)
    m = management[["site_id", "effective_from", "effective_to", "team_based_care"]].copy()
    m["to"] = m["effective_to"].fillna(pd.Timestamp.max)
    j = t.merge(m, on="site_id")
    j = j[(j["mid"] >= j["effective_from"]) & (j["mid"] <= j["to"])]
    return (
        j.drop_duplicates("row")
        .sort_values("row")
        .drop(columns=["row", "mid", "effective_from", "effective_to", "to"])
        .reset_index(drop=True)
    )


def classify(
    ta: pd.DataFrame,
    production_line: tuple[str, ...] = PRODUCTION_LINE,
    solution_shop: tuple[str, ...] = SOLUTION_SHOP,
) -> pd.DataFrame:
    t = ta.copy()
    t["group"] = np.where(
        t["activity"].isin(production_line),
        "production_line",
        np.where(t["activity"].isin(solution_shop), "solution_shop", "neither"),
    )
    return t


@dataclass
class Share:
    estimate: float
    ci_low: float
    ci_high: float
    clinicians: int
    minutes: float


def bootstrap_share(
    t: pd.DataFrame, numerator: pd.Series, resamples: int = 2000, seed: int = 0
) -> Share:
    """Σ numerator minutes / Σ minutes, with a percentile CI from resampling clinicians."""
    per = (
        pd.DataFrame(
            {
                "clinician_id": t["clinician_id"],
                "num": t["minutes"] * numerator,
                "den": t["minutes"],
            }
        )
        .groupby("clinician_id")[["num", "den"]]
        .sum()
    )
    est, low, high = ratio_bootstrap(per["num"].to_numpy(), per["den"].to_numpy(), resamples, seed)
    return Share(est, low, high, len(per), float(per["den"].sum()))


def what_if(t: pd.DataFrame, delegated_fraction: float, minutes_per_slot: float) -> pd.DataFrame:
    """Per site, per month on average: clinician hours and appointment slots freed if the
    team took over ``delegated_fraction`` of production-line minutes."""
    pl = t[t["group"] == "production_line"]
    months = t.groupby("site_id")["month"].nunique()
    freed = pl.groupby("site_id")["minutes"].sum() * delegated_fraction / months
    people = t.groupby("site_id")["clinician_id"].nunique()
    out = pd.DataFrame(
        {
            "clinicians_observed": people,
            "hours_freed_per_month": freed / 60,
            "slots_freed_per_month": freed / minutes_per_slot,
        }
    ).fillna(0)
    return out.reset_index()
