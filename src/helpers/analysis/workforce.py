"""Workforce: headcount, FTE, vacancy, support staff, and how management practices spread."""

from __future__ import annotations

import pandas as pd

from helpers.data.contract import CLINICIAN_ROLES

PRACTICES = ("team_based_care", "clinician_in_governance", "admin_shadowing")


def active_by_month(clinicians: pd.DataFrame, months: pd.DatetimeIndex) -> pd.DataFrame:
    """Headcount and FTE per site, month and staff group, counting spells active mid-month.

    Parameters
    ----------
    clinicians : pandas.DataFrame
        The ``clinicians`` table: one row per spell with ``clinician_id``, ``site_id``,
        ``role``, ``fte``, ``hire_date`` and ``exit_date`` (NaT while in post). Roles in
        ``CLINICIAN_ROLES`` are clinicians; every other role is support staff.
    months : pandas.DatetimeIndex
        First days of the months to count. A spell counts in a month when it began on or
        before the 15th (the first day plus 14 days) and had not ended before it.

    Returns
    -------
    pandas.DataFrame
        One row per site, staff group and month with anyone active: ``site_id``, ``group``
        (``"clinician"`` or ``"support"``), ``headcount`` (distinct ``clinician_id``),
        ``fte`` (sum of the spells' FTE) and ``month``.

    Examples
    --------
    >>> import pandas as pd
    >>> staff = pd.DataFrame({
    ...     "clinician_id": ["a", "b", "c"], "site_id": ["s1", "s1", "s2"],
    ...     "role": ["physician", "physician", "medical_assistant"], "fte": [1.0, 0.5, 1.0],
    ...     "hire_date": pd.to_datetime(["2019-01-01", "2020-06-01", "2019-01-01"]),
    ...     "exit_date": pd.to_datetime(["2022-03-31", None, None])})
    >>> active_by_month(staff, pd.DatetimeIndex(["2022-03-01", "2022-04-01"]))
      site_id      group  headcount  fte      month
    0      s1  clinician          2  1.5 2022-03-01
    1      s2    support          1  1.0 2022-03-01
    2      s1  clinician          1  0.5 2022-04-01
    3      s2    support          1  1.0 2022-04-01
    """
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
    its table.

    Parameters
    ----------
    staff : pandas.DataFrame
        The output of :func:`active_by_month` (``site_id``, ``group``, ``headcount``,
        ``month``).
    month : pandas.Timestamp
        The month to show (first day of the month, as in ``staff["month"]``).

    Returns
    -------
    pandas.DataFrame
        One row per site active in ``month``: ``site_id``, ``clinicians`` and
        ``support_staff`` (headcounts) and ``support_per_clinician`` (NaN where the site has
        no clinician).

    Examples
    --------
    >>> import pandas as pd
    >>> staff = pd.DataFrame({
    ...     "site_id": ["s1", "s1", "s2"], "group": ["clinician", "support", "support"],
    ...     "headcount": [4, 2, 1], "fte": [3.5, 2.0, 1.0],
    ...     "month": pd.Timestamp("2022-04-01")})
    >>> site_headcount(staff, pd.Timestamp("2022-04-01"))
      site_id  clinicians  support_staff  support_per_clinician
    0      s1           4              2                    0.5
    1      s2           0              1                    NaN
    """
    last = staff[staff["month"] == month].pivot_table(
        index="site_id", columns="group", values="headcount", aggfunc="sum", fill_value=0
    )
    last = last.reindex(columns=["clinician", "support"], fill_value=0).reset_index()
    last.columns.name = None
    last["support_per_clinician"] = last["support"] / last["clinician"].where(last["clinician"] > 0)
    return last.rename(columns={"clinician": "clinicians", "support": "support_staff"})


def practice_shares(management: pd.DataFrame, sites: pd.DataFrame, years: range) -> pd.DataFrame:
    """Share of sites under each pay model (``comp_<model>``) and with each practice
    (``share_<practice>``) on 1 July of each year, and their mean protected time (%).

    Parameters
    ----------
    management : pandas.DataFrame
        The ``management`` table: one row per site and period with ``effective_from``,
        ``effective_to`` (NaT: still in effect), ``comp_model``, the practices
        (``team_based_care``, ``clinician_in_governance``, ``admin_shadowing``; true/false or
        0/1) and ``protected_time_pct``.
    sites : pandas.DataFrame
        The ``sites`` table. Not read: the shares are of the sites with a management period
        in effect on the day.
    years : range
        Calendar years; each is measured on 1 July.

    Returns
    -------
    pandas.DataFrame
        One row per year: ``year``, ``sites`` (sites with a period in effect), one
        ``comp_<model>`` column per pay model seen in any year (share of sites; 0 in a year
        without it), ``share_team_based_care``, ``share_clinician_in_governance``,
        ``share_admin_shadowing`` and ``mean_protected_time_pct``.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({
    ...     "site_id": ["s1", "s2", "s3"],
    ...     "effective_from": pd.to_datetime(["2020-01-01"] * 3),
    ...     "effective_to": pd.to_datetime([None, "2022-12-31", None]),
    ...     "comp_model": ["salary", "rvu_production", "salary"],
    ...     "team_based_care": [True, False, True], "clinician_in_governance": [0, 0, 1],
    ...     "admin_shadowing": [0, 0, 0], "protected_time_pct": [10.0, 0.0, 20.0]})
    >>> shares = practice_shares(m, None, range(2022, 2024))
    >>> shares[["year", "sites", "comp_salary", "comp_rvu_production"]].round(3)
       year  sites  comp_salary  comp_rvu_production
    0  2022      3        0.667                0.333
    1  2023      2        1.000                0.000
    >>> shares["mean_protected_time_pct"].tolist()
    [10.0, 15.0]
    """
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
