"""Turnover: person-time with time-varying management, exit rates and the Cox model (the
sites that left RVU production pay: :mod:`helpers.switch`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg

from helpers.contract import CLINICIAN_ROLES
from helpers.rates import poisson_rate_ci

DAYS_PER_YEAR = 365.25
PRACTICES = ("team_based_care", "clinician_in_governance", "admin_shadowing")
COMP_LEVELS = ("rvu_production", "salary_plus_quality", "hybrid")  # reference: salary


def clinician_spells(
    clinicians: pd.DataFrame, window: tuple[pd.Timestamp, pd.Timestamp]
) -> pd.DataFrame:
    """Clinician spells seen in the window: entry (window start or hire), end, event."""
    start, end = window
    c = clinicians[clinicians["role"].isin(CLINICIAN_ROLES)].copy()
    c["entry"] = c["hire_date"].clip(lower=start)
    c["end"] = c["exit_date"].fillna(end).clip(upper=end)
    c = c[c["end"] >= c["entry"]]
    c["event"] = (
        (c["exit_reason"] == "voluntary") & c["exit_date"].notna() & (c["exit_date"] <= end)
    )
    c["spell"] = np.arange(len(c))
    return c.reset_index(drop=True)


def person_time(
    clinicians: pd.DataFrame,
    management: pd.DataFrame,
    sites: pd.DataFrame,
    window: tuple[pd.Timestamp, pd.Timestamp],
) -> pd.DataFrame:
    """Counting-process data: each clinician spell in the window split at the site's
    management changes.

    One row per piece with the management row in effect, the site setting, tenure at the
    start and end of the piece in years (days counted inclusive of the last day), and
    ``event`` (voluntary exit) on the spell's last piece only. Spells begun before the window
    enter at its start (left truncation); other exits are censored.
    """
    spells = clinician_spells(clinicians, window)
    m = management.copy()
    m["to"] = m["effective_to"].fillna(window[1])
    pieces = spells.merge(m, on="site_id", how="inner")
    pieces["p_start"] = pieces[["entry", "effective_from"]].max(axis=1)
    pieces["p_end"] = pieces[["end", "to"]].min(axis=1)
    pieces = pieces[pieces["p_end"] >= pieces["p_start"]].copy()
    pieces["start"] = (pieces["p_start"] - pieces["hire_date"]).dt.days / DAYS_PER_YEAR
    pieces["stop"] = ((pieces["p_end"] - pieces["hire_date"]).dt.days + 1) / DAYS_PER_YEAR
    pieces["years"] = pieces["stop"] - pieces["start"]
    last = pieces["p_end"] == pieces["end"]
    pieces["event"] = pieces["event"] & last
    setting = sites.set_index("site_id")["setting"]
    pieces["setting"] = setting.reindex(pieces["site_id"]).to_numpy()
    keep = [
        "spell",
        "clinician_id",
        "site_id",
        "role",
        "setting",
        "hire_date",
        "p_start",
        "p_end",
        "start",
        "stop",
        "years",
        "event",
        "comp_model",
        *PRACTICES,
    ]
    out = pieces[keep].sort_values(["spell", "p_start"]).reset_index(drop=True)
    for col in PRACTICES:
        out[col] = out[col].astype(bool)
    return out


def rate_table(pt: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Voluntary exits per 100 clinician-years with exact Poisson CIs, overall or by group."""
    groups = [("all", pt)] if by is None else list(pt.groupby(by, sort=True))
    rows = []
    for key, g in groups:
        events, years = int(g["event"].sum()), float(g["years"].sum())
        rate, low, high = poisson_rate_ci(events, years)
        rows.append(
            {
                "group": key,
                "clinicians": g["clinician_id"].nunique(),
                "exits": events,
                "clinician_years": years,
                "rate_per_100": rate,
                "ci_low": low,
                "ci_high": high,
            }
        )
    return pd.DataFrame(rows)


def design(pt: pd.DataFrame) -> pd.DataFrame:
    """Covariates of the contract's Cox model (references: salary, physician, primary_care)."""
    x = pd.DataFrame(index=pt.index)
    for level in COMP_LEVELS:
        x[f"comp_{level}"] = (pt["comp_model"] == level).astype(float)
    for col in PRACTICES:
        x[col] = pt[col].astype(float)
    for role in ("advanced_practice", "behavioral_health"):
        x[f"role_{role}"] = (pt["role"] == role).astype(float)
    for setting in sorted(set(pt["setting"]) - {"primary_care"}):
        x[f"setting_{setting}"] = (pt["setting"] == setting).astype(float)
    return x.loc[:, x.std() > 0]


@dataclass
class CoxResult:
    table: pd.DataFrame  # term, hr, ci_low, ci_high, p, clinicians
    ph_check: pd.DataFrame  # term, rho, p, clinicians
    n_spells: int
    n_clinicians: int
    n_events: int


def cox_model(pt: pd.DataFrame) -> CoxResult:
    """Cox model on tenure with left truncation and time-varying covariates; robust SEs
    clustered by site (statsmodels PHReg with ``entry`` and ``groups``)."""
    x = design(pt)
    model = PHReg(
        pt["stop"].to_numpy(),
        x.to_numpy(),
        status=pt["event"].astype(int).to_numpy(),
        entry=pt["start"].to_numpy(),
        ties="breslow",
    )
    fit = model.fit()
    b = np.asarray(fit.params)
    se = np.sqrt(np.diag(cluster_cov(model, fit, pt["site_id"].to_numpy())))
    z = stats.norm.ppf(0.975)
    table = pd.DataFrame(
        {
            "term": x.columns,
            "hr": np.exp(b),
            "ci_low": np.exp(b - z * se),
            "ci_high": np.exp(b + z * se),
            "p": 2 * stats.norm.sf(np.abs(b / se)),
            "clinicians": people_per_term(x, pt["clinician_id"]),
        }
    )
    check = ph_check(fit, pt, x.columns).assign(clinicians=table["clinicians"].to_numpy())
    return CoxResult(
        table,
        check,
        len(pt["spell"].unique()),
        pt["clinician_id"].nunique(),
        int(pt["event"].sum()),
    )


def people_per_term(x: pd.DataFrame, clinician: pd.Series) -> list[int]:
    """For each indicator of the design, the clinicians on its smaller side: a hazard ratio
    compares those with the indicator and those without, so it describes no more people than
    the smaller of the two groups (what the small-cell rule must count)."""
    return [
        int(min(clinician[x[t] > 0].nunique(), clinician[x[t] == 0].nunique())) for t in x.columns
    ]


def cluster_cov(model: PHReg, fit, groups: np.ndarray) -> np.ndarray:
    """Cluster-robust (sandwich) covariance: H^-1 (sum over clusters of U_g U_g') H^-1.

    PHReg's own ``groups`` option gives NaN with entry times, because a row that is in no
    risk set at any event time has an undefined score residual; such a row contributes
    nothing to the score, so it counts as zero here.
    """
    scores = np.nan_to_num(model.score_residuals(fit.params))
    by_group = pd.DataFrame(scores).groupby(groups).sum().to_numpy()
    bread = np.asarray(fit.cov_params())
    return bread @ (by_group.T @ by_group) @ bread


def ph_check(fit, pt: pd.DataFrame, terms) -> pd.DataFrame:
    """Proportional hazards: correlation of scaled-free Schoenfeld residuals with log tenure
    at the event (a non-zero correlation means the hazard ratio drifts with tenure)."""
    res = np.asarray(fit.schoenfeld_residuals)
    ev = pt["event"].to_numpy(dtype=bool)
    t = np.log(pt["stop"].to_numpy()[ev])
    rows = []
    for j, term in enumerate(terms):
        r = res[ev, j]
        ok = ~np.isnan(r)
        rho, p = stats.pearsonr(t[ok], r[ok]) if ok.sum() > 2 else (np.nan, np.nan)
        rows.append({"term": term, "rho": rho, "p": p})
    return pd.DataFrame(rows)


def exposure_at_entry(pt: pd.DataFrame) -> pd.DataFrame:
    """One row per spell for Kaplan–Meier: tenure at entry and at exit or censoring, the
    management in effect when the spell entered the window."""
    first = pt.groupby("spell").first()
    last = pt.groupby("spell").last()
    return pd.DataFrame(
        {
            "entry": first["start"],
            "duration": last["stop"],
            "event": last["event"],
            "comp_model": first["comp_model"],
            "team_based_care": first["team_based_care"],
            "clinician_id": first["clinician_id"],
        }
    ).reset_index()
