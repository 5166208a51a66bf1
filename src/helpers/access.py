"""Access: how vacant clinician FTE moves waits and visits (two-way fixed effects)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from helpers.inference import require_sites, t_interval


def panel(access: pd.DataFrame) -> pd.DataFrame:
    """Site-months with vacant FTE = max(budgeted - filled, 0) and visits per budgeted FTE."""
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


def vacancy_spells(d: pd.DataFrame, threshold: float = 0.5) -> pd.DataFrame:
    """Runs of consecutive months in which a site has at least ``threshold`` vacant FTE.

    Returns one row per run: site_id, start month, months (length), mean vacant FTE. Runs
    still open at the end of the data are kept (their length is a lower bound).
    """
    rows = []
    for site, g in d.sort_values("month").groupby("site_id"):
        on = (g["vacant_fte"] >= threshold).to_numpy()
        vac = g["vacant_fte"].to_numpy()
        months = g["month"].to_numpy()
        i = 0
        while i < len(on):
            if on[i]:
                j = i
                while j + 1 < len(on) and on[j + 1]:
                    j += 1
                rows.append(
                    {
                        "site_id": site,
                        "start": months[i],
                        "months": j - i + 1,
                        "mean_vacant_fte": float(vac[i : j + 1].mean()),
                    }
                )
                i = j + 1
            else:
                i += 1
    return pd.DataFrame(rows, columns=["site_id", "start", "months", "mean_vacant_fte"])


def departure_cost(slope: Slope, months: float, per_fte: float = 1.0) -> tuple[float, float, float]:
    """Effect summed over a vacancy of ``months`` months of ``per_fte`` FTE: estimate and
    95% CI (the vacancy length is taken as known)."""
    k = months * per_fte
    return slope.estimate * k, slope.ci_low * k, slope.ci_high * k
