"""Workforce: headcount, FTE, vacancy, support staff, and how management practices spread."""

from __future__ import annotations

import pandas as pd

from helpers.contract import CLINICIAN_ROLES

PRACTICES = ("team_based_care", "clinician_in_governance", "admin_shadowing")


def active_by_month(clinicians: pd.DataFrame, months: pd.DatetimeIndex) -> pd.DataFrame:
    """Headcount and FTE per site, month and staff group, counting spells active mid-month."""
    rows = []
    group = clinicians["role"].isin(CLINICIAN_ROLES).map({True: "clinician", False: "support"})
    for month in months:
        mid = month + pd.Timedelta(days=14)
        act = (clinicians["hire_date"] <= mid) & (
            clinicians["exit_date"].isna() | (clinicians["exit_date"] >= mid)
        )
        c = clinicians[act].assign(group=group[act])
        g = (
            c.groupby(["site_id", "group"])
            .agg(headcount=("clinician_id", "nunique"), fte=("fte", "sum"))
            .reset_index()
        )
        g["month"] = month
        rows.append(g)
    return pd.concat(rows, ignore_index=True)


def site_headcount(staff: pd.DataFrame, month: pd.Timestamp) -> pd.DataFrame:
    """Clinicians and support staff per site in ``month`` (from :func:`active_by_month`), with
    support staff per clinician (missing where a site has no clinician). A group nobody
    belongs to counts zero, so an organization without support staff in its data still gets
    its table."""
    last = staff[staff["month"] == month].pivot_table(
        index="site_id", columns="group", values="headcount", aggfunc="sum", fill_value=0
    )
    last = last.reindex(columns=["clinician", "support"], fill_value=0).reset_index()
    last.columns.name = None
    last["support_per_clinician"] = last["support"] / last["clinician"].where(last["clinician"] > 0)
    return last.rename(columns={"clinician": "clinicians", "support": "support_staff"})


def practice_shares(management: pd.DataFrame, sites: pd.DataFrame, years: range) -> pd.DataFrame:
    """Share of sites under each pay model (``comp_<model>``) and with each practice
    (``share_<practice>``) on 1 July of each year, and their mean protected time (%)."""
    rows = []
    for year in years:
        day = pd.Timestamp(f"{year}-07-01")
        m = management[
            (management["effective_from"] <= day)
            & (management["effective_to"].isna() | (management["effective_to"] >= day))
        ]
        n = len(m)
        row = {"year": year, "sites": n}
        for comp, k in m["comp_model"].value_counts().items():
            row[f"comp_{comp}"] = k / n
        for p in PRACTICES:
            row[f"share_{p}"] = m[p].astype(bool).mean()
        row["mean_protected_time_pct"] = m["protected_time_pct"].mean()
        rows.append(row)
    return pd.DataFrame(rows).fillna(0.0)
