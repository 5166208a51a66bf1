"""Burnout and intent to leave: prevalence, the logistic model, mediation, correlates."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.tools.sm_exceptions import PerfectSeparationError, SingularMatrixWarning

from helpers.contract import CLINICIAN_ROLES
from helpers.rates import wilson_ci

COVARIATES = "C(comp_model, Treatment('salary')) + team_based_care + C(role) + C(setting)"


def responses(survey: pd.DataFrame, management: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """Clinician responses with the management in effect at the site on the survey date."""
    s = survey[survey["role"].isin(CLINICIAN_ROLES)].copy()
    s["row"] = np.arange(len(s))
    m = management.copy()
    m["to"] = m["effective_to"].fillna(pd.Timestamp.max)
    j = s.merge(m, on="site_id")
    j = j[(j["survey_date"] >= j["effective_from"]) & (j["survey_date"] <= j["to"])]
    j = j.drop_duplicates("row").sort_values("row")
    j["setting"] = j["site_id"].map(sites.set_index("site_id")["setting"])
    j["burned_out"] = (j["burnout"] >= 3).astype(int)
    j["high_intent"] = (j["intent_to_leave"] >= 4).astype(int)
    j["team_based_care"] = j["team_based_care"].astype(int)
    j["year"] = j["survey_date"].dt.year
    return j.reset_index(drop=True)


def prevalence_table(r: pd.DataFrame, by: str) -> pd.DataFrame:
    rows = []
    for key, g in r.groupby(by):
        est, low, high = wilson_ci(int(g["burned_out"].sum()), len(g))
        rows.append(
            {
                by: key,
                "responses": len(g),
                "burned_out": int(g["burned_out"].sum()),
                "share": est,
                "ci_low": low,
                "ci_high": high,
            }
        )
    return pd.DataFrame(rows)


def _cluster(fit_kw: pd.Series) -> dict:
    return {"cov_type": "cluster", "cov_kwds": {"groups": pd.factorize(fit_kw)[0]}}


@dataclass
class OddsRatio:
    estimate: float
    ci_low: float
    ci_high: float
    n: int
    table: pd.DataFrame


RVU_TERM = "C(comp_model, Treatment('salary'))[T.rvu_production]"


def burnout_model(r: pd.DataFrame) -> OddsRatio:
    """Logistic regression of burned out on pay model, team-based care, role and setting;
    SEs clustered by site. Returns the rvu_production vs salary odds ratio and all terms."""
    fit = smf.glm(f"burned_out ~ {COVARIATES}", data=r, family=sm.families.Binomial()).fit(
        **_cluster(r["site_id"])
    )
    table = _or_table(fit)
    x = pd.DataFrame(fit.model.exog, columns=fit.model.exog_names)
    # An odds ratio compares responses with and without its indicator: it describes no more
    # people than the smaller side (the intercept: everyone).
    table["responses"] = [
        len(x) if t == "Intercept" else int(min((x[t] != 0).sum(), (x[t] == 0).sum()))
        for t in table["term"]
    ]
    row = table.set_index("term").loc[RVU_TERM]
    return OddsRatio(row["or"], row["ci_low"], row["ci_high"], len(r), table)


def _or_table(fit) -> pd.DataFrame:
    z = stats.norm.ppf(0.975)
    b, se = fit.params, fit.bse
    return pd.DataFrame(
        {
            "term": b.index,
            "or": np.exp(b),
            "ci_low": np.exp(b - z * se),
            "ci_high": np.exp(b + z * se),
            "p": fit.pvalues,
        }
    ).reset_index(drop=True)


def _logit_fit(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.asarray(sm.GLM(y, x, family=sm.families.Binomial()).fit().params)


def _expit(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


class _MediationDesign:
    """Design matrices built once, so that bootstrap refits are cheap."""

    def __init__(self, r: pd.DataFrame) -> None:
        x = patsy.dmatrix(COVARIATES, r, return_type="dataframe")
        info = x.design_info
        self.x = x.to_numpy()
        self.x_rvu = np.asarray(
            patsy.build_design_matrices([info], r.assign(comp_model="rvu_production"))[0]
        )
        self.x_sal = np.asarray(
            patsy.build_design_matrices([info], r.assign(comp_model="salary"))[0]
        )
        self.m = r["burned_out"].to_numpy(dtype=float)
        self.y = r["high_intent"].to_numpy(dtype=float)

    def share(self, idx: np.ndarray) -> float:
        """Natural indirect / total effect of rvu_production vs salary on high intent
        (risk differences, g-computation) in the rows ``idx``."""
        x, m, y = self.x[idx], self.m[idx], self.y[idx]
        a = _logit_fit(m, x)
        c = _logit_fit(y, np.column_stack([x, m]))
        x1, x0 = self.x_rvu[idx], self.x_sal[idx]
        p1, p0 = _expit(x1 @ a), _expit(x0 @ a)

        def q(xa: np.ndarray, burned: float) -> np.ndarray:
            return _expit(xa @ c[:-1] + c[-1] * burned)

        def mean_outcome(p: np.ndarray, xa: np.ndarray) -> float:
            return float(np.mean(p * q(xa, 1) + (1 - p) * q(xa, 0)))

        total = mean_outcome(p1, x1) - mean_outcome(p0, x0)
        indirect = mean_outcome(p1, x1) - mean_outcome(p0, x1)
        return indirect / total


@dataclass
class Mediation:
    share: float
    ci_low: float
    ci_high: float
    n: int
    resamples: int


def mediation(r: pd.DataFrame, resamples: int = 200, seed: int = 0) -> Mediation:
    """Share mediated with a percentile CI from a cluster bootstrap over sites."""
    design = _MediationDesign(r.reset_index(drop=True))
    share = design.share(np.arange(len(r)))
    rng = np.random.default_rng(seed)
    codes = pd.factorize(r["site_id"])[0]
    members = [np.flatnonzero(codes == k) for k in range(codes.max() + 1)]
    draws = []
    warnings.simplefilter("ignore", SingularMatrixWarning)  # a resample may lack a setting
    for _ in range(resamples):
        pick = rng.integers(0, len(members), size=len(members))
        idx = np.concatenate([members[i] for i in pick])
        try:
            draws.append(design.share(idx))
        except (ValueError, np.linalg.LinAlgError, PerfectSeparationError):
            continue
    low, high = np.percentile(draws, [2.5, 97.5])
    return Mediation(share, float(low), float(high), len(r), len(draws))


def correlates(
    r: pd.DataFrame,
    items: tuple[str, ...] = ("trust_in_leadership", "teamwork", "control_over_workload"),
) -> pd.DataFrame:
    """Adjusted odds ratio of burned out per point of each item (one model per item)."""
    rows = []
    for item in items:
        d = r.dropna(subset=[item])
        fit = smf.glm(
            f"burned_out ~ {item} + {COVARIATES}", data=d, family=sm.families.Binomial()
        ).fit(**_cluster(d["site_id"]))
        t = _or_table(fit).set_index("term").loc[item]
        rows.append(
            {
                "item": item,
                "or_per_point": t["or"],
                "ci_low": t["ci_low"],
                "ci_high": t["ci_high"],
                "responses": len(d),
            }
        )
    return pd.DataFrame(rows)
