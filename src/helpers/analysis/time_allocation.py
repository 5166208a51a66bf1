"""Solution shop and production line: how clinician minutes are spent.

The time-allocation rows are summed where they are (:func:`minute_sums`, an Ibis expression
run by the data layer: DuckDB for files, the warehouse for a table of ``sources.yaml``): per
clinician, site, month, activity and after-hours flag. Everything here works on those sums,
since every estimate is a ratio of sums of minutes over whole clinicians.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from helpers.data.contract import PRODUCTION_LINE, SOLUTION_SHOP

SUM_KEYS = ("clinician_id", "site_id", "month", "activity", "after_hours")


def minute_sums(t: Any) -> Any:
    """What leaves the engine that holds the time-allocation rows: the exact sum of minutes
    per clinician, site, month, activity and after-hours flag.

    Parameters
    ----------
    t
        The typed ``time_allocation`` table (an Ibis table, in any backend).

    Returns
    -------
    ibis.expr.types.Table
        The keys of :data:`SUM_KEYS` and ``minutes`` (float64 of an exact DECIMAL sum, the
        same in every engine).

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"clinician_id": ["C1", "C1"], "site_id": ["S1", "S1"],
    ...     "month": ["2024-01-01"] * 2, "activity": ["inbox"] * 2, "minutes": [0.1, 0.2],
    ...     "after_hours": [False, False]})
    >>> ibis.duckdb.connect().execute(minute_sums(t))["minutes"].tolist()
    [0.3]
    """
    import ibis.expr.datatypes as dt

    return t.group_by(list(SUM_KEYS)).aggregate(
        minutes=t.minutes.cast(dt.Decimal(38, 9)).sum().cast("float64")
    )


def read_sums(path: Any) -> pd.DataFrame:
    """The minute sums (:func:`minute_sums`) as pandas, with the contract's dtypes.

    Parameters
    ----------
    path
        ``run.data.sums("time_allocation")``.

    Returns
    -------
    pandas.DataFrame
        One row per clinician, site, month, activity and after-hours flag, in that order.

    Examples
    --------
    >>> # t = read_sums(run.data.sums("time_allocation"))
    """
    from helpers.data.contract import SPECS
    from helpers.data.store import with_dtypes

    df = pd.read_parquet(path, columns=[*SUM_KEYS, "minutes"])
    return with_dtypes(df, SPECS["time_allocation"])


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


def resample_counts(n: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """How often each of ``n`` units is drawn in each of ``resamples`` bootstrap samples of
    ``n`` units drawn with replacement: a (resamples, n) matrix of counts."""
    return rng.multinomial(n, np.full(n, 1 / n), size=resamples)


def unit_sums(
    t: pd.DataFrame, numerator: pd.Series, by: str = "clinician_id", condition=None
) -> pd.DataFrame:
    """Numerator and total minutes per unit (a clinician by default): columns ``num`` and
    ``den``, or ``num_<value>`` and ``den_<value>`` for each value of ``condition`` (a Series
    aligned with ``t``), zero where a unit has no rows in that condition."""
    df = pd.DataFrame(
        {"unit": t[by].to_numpy(), "num": (t["minutes"] * numerator).to_numpy(float),
         "den": t["minutes"].to_numpy(float)}
    )  # fmt: skip
    if condition is None:
        return df.groupby("unit")[["num", "den"]].sum()
    df["cond"] = np.asarray(condition)
    wide = df.groupby(["unit", "cond"])[["num", "den"]].sum().unstack("cond", fill_value=0.0)
    wide.columns = [f"{a}_{b}" for a, b in wide.columns]
    return wide


@dataclass
class Share:
    estimate: float
    ci_low: float
    ci_high: float
    clinicians: int
    minutes: float
    draws: np.ndarray | None = None


def bootstrap_share(
    t: pd.DataFrame,
    numerator: pd.Series,
    resamples: int = 2000,
    seed: int = 0,
    by: str = "clinician_id",
) -> Share:
    """Σ numerator minutes / Σ minutes, with a percentile 95% CI from resampling whole
    clinicians (``by``): each drawn clinician brings all of their rows, however many."""
    per = unit_sums(t, numerator, by)
    w = resample_counts(len(per), resamples, np.random.default_rng(seed))
    draws = (w @ per["num"].to_numpy()) / (w @ per["den"].to_numpy())
    low, high = np.percentile(draws, [2.5, 97.5])
    est = float(per["num"].sum() / per["den"].sum())
    return Share(est, float(low), float(high), len(per), float(per["den"].sum()), draws)


@dataclass
class Difference:
    """Share with minus share without a condition (e.g. team-based care)."""

    estimate: float
    ci_low: float
    ci_high: float
    share_with: float
    share_without: float
    clinicians: int  # distinct clinicians in either condition
    clinicians_with: int
    clinicians_without: int
    clinicians_both: int  # observed in both conditions
    undefined_resamples: int  # resamples that drew nobody in one of the conditions
    draws: np.ndarray


def share_difference(
    t: pd.DataFrame,
    numerator: pd.Series,
    condition: pd.Series,
    resamples: int = 2000,
    seed: int = 0,
    by: str = "clinician_id",
) -> Difference:
    """Σ numerator / Σ minutes over rows where ``condition`` is true, minus the same over the
    rows where it is false, with a percentile 95% CI from resampling whole clinicians.

    A clinician observed in both conditions (their site adopted team-based care during the
    log) is one unit: drawn once, they bring their rows of both conditions, so both shares of
    a resample are recomputed from the same clinicians and the correlation between them is
    kept. Resamples that draw nobody in one condition are dropped and counted.
    """
    cond = np.asarray(condition).astype(bool)
    per = unit_sums(t, numerator, by, cond)
    for col in ("num_True", "den_True", "num_False", "den_False"):
        if col not in per:
            raise ValueError("both conditions need observed minutes for a difference")
    nw, dw = per["num_True"].to_numpy(), per["den_True"].to_numpy()
    nwo, dwo = per["num_False"].to_numpy(), per["den_False"].to_numpy()
    w = resample_counts(len(per), resamples, np.random.default_rng(seed))
    with np.errstate(invalid="ignore", divide="ignore"):
        draws = (w @ nw) / (w @ dw) - (w @ nwo) / (w @ dwo)
    bad = int(np.isnan(draws).sum())
    draws = draws[~np.isnan(draws)]
    low, high = np.percentile(draws, [2.5, 97.5])
    a, b = nw.sum() / dw.sum(), nwo.sum() / dwo.sum()
    has_w, has_wo = dw > 0, dwo > 0
    return Difference(
        float(a - b), float(low), float(high), float(a), float(b), len(per),
        int(has_w.sum()), int(has_wo.sum()), int((has_w & has_wo).sum()), bad, draws,
    )  # fmt: skip


def between_clinician_spread(t: pd.DataFrame, numerator: pd.Series, by: str = "clinician_id"):
    """Standard deviation of the clinicians' own shares (numerator / minutes per clinician)
    and the number of clinicians: what a bootstrap over clinicians turns into an interval,
    whose width is about 4 x SD / sqrt(clinicians) when minutes are similar."""
    per = unit_sums(t, numerator, by)
    shares = per["num"] / per["den"]
    return float(shares.std(ddof=1)), len(per)


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
