"""The true value of every estimand the analyses target, on the generated demonstration data.

:func:`helpers.data.demo.generate` calls :func:`estimands` with what it simulated (the world, the
burnout states and clinician-months of the history, the survey's hidden covariates and the
burnout state of everyone in post on the survey dates). Everything here is an exact
expectation given the generated person-time and covariates (no Monte Carlo), except where a
description says otherwise; ``demo.DESCRIPTIONS`` defines each entry.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

from helpers.data import demo_model

# Gauss-Hermite rule for expectations over a standard normal site effect
NODES, WEIGHTS = np.polynomial.hermite_e.hermegauss(40)
WEIGHTS = WEIGHTS / WEIGHTS.sum()
PRACTICES = ("team_based_care", "clinician_in_governance", "admin_shadowing")
DESCRIPTIONS = {
    "turnover.hr_*_total": "estimand of a Cox model of voluntary exit adjusted for role, "
    "setting, calendar year and the other practices, NOT for burnout: direct HR x (1 + p1 "
    "(hr_burnout - 1)) / (1 + p0 (hr_burnout - 1)), p1 = mean P(burned out) over the exposed "
    "clinician-months of the window as simulated, p0 = the same months with the exposure "
    "removed from the burnout model (pay set to salary, team-based care off; governance and "
    "shadowing do not affect burnout, so their total is the direct HR). An approximation: it "
    "averages the mixture of hazards over burnout and ignores non-collapsibility, selection of "
    "survivors by frailty and burnout, that burnout follows a regime change only from the next "
    "15 October, and that the salary reference holds post-switch months still on the ramp",
    "turnover.total_effect_burnout_probabilities": "p1 (p_exposed), p0 (p_reference) and the "
    "number of exposed clinician-months behind each hr_*_total",
    "turnover.excess_exits_rvu_per_year": "sum over the clinician-months of the window under "
    "rvu_production of [P(voluntary exit | rvu_production) - P(voluntary exit | salary)] / 8 "
    "years, each P the simulation's monthly probability (competing hazards) averaged over the "
    "burnout state with its probability under that pay (salary: burnout pay term set to "
    "salary too); same clinician-months in both (no knock-on person-time); exact",
    "turnover.expected_exits_rvu_*": "the two terms of that sum per year: expected voluntary "
    "exits per year of the rvu_production clinician-months as simulated (*_per_year) and had "
    "they been under salary (*_as_salary_per_year)",
    "turnover.irr_after_switch": "what the switch study targets: over the post-switch site-years "
    "of the window (calendar years after the switch year, which is left out) at sites that left "
    "rvu_production, sum of expected voluntary exits as simulated / sum had the site stayed on "
    "rvu_production (direct pay effect without the ramp, and burnout with rvu_production pay), "
    "same clinician-months; i.e. the average rate ratio weighted by expected exits had the site "
    "stayed; expected exits = monthly cumulative hazard averaged over burnout; exact",
    "turnover.irr_after_switch_direct": "full value of the direct part of a switch's effect: "
    "hr of the new pay (1.0 for salary and salary_plus_quality) / hr_rvu_production",
    "turnover.irr_by_years_since_switch": "the same ratio by calendar year minus switch year "
    "(0: the switch year, months before the switch included) over the window's site-years: the "
    "truth of an event study (reference: years before the switch, ratio 1)",
    "turnover.direct_rate_ratio_by_years_since_switch": "the direct pay part of the rate ratio "
    "(switched vs stayed) by years since the switch: exp(min(t / switch_ramp_years, 1) x "
    "log(1 / hr_rvu_production)); burnout follows from the next 15 October",
    "turnover.switch_ramp_years": "years over which a switch's direct effect grows to its full "
    "value (0: at once)",
    "turnover.hr_burnout_linked*": "estimand of a Poisson model of voluntary exits in the 12 "
    "months after a survey (offset log person-years) on burned out with calendar-year and site "
    "terms, over the respondents with a clinician_id: that model fitted to each respondent's "
    "expected exits and person-years over the 12 simulation months from October (exact "
    "expectations given burnout state, tenure, regime, frailty and shock; censored at "
    "2024-12-31). Differs from hr_burnout only through confounding by role and within-site "
    "regime changes; *_crude: the same without year and site terms",
    "turnover.burnout_link_respondents": "respondents with a clinician_id behind hr_burnout_linked",
    "turnover.hr_*_model_target": "what the Cox model of turnover.hr_rvu_production etc. "
    "(pay-model indicators, the three practices, role, setting and calendar-year indicators; "
    "no burnout, no site terms) estimates: its probability limit given this organization's "
    "sites, regimes and clinician-months, with the site frailty averaged out. Computed as the "
    "Poisson form of that model (log-linear hazard, baseline a step function of tenure with "
    "steps at cox_model_target_tenure_bins) fitted to the expected voluntary exits of every "
    "simulated clinician-month of the window (the simulation's monthly probability given "
    "tenure, regime, calendar shock and the clinician's burnout state), offset log "
    "clinician-years plus the log site frailty (so that a chance correlation between the drawn "
    "frailties and the exposures, which a site-clustered interval counts as sampling error, "
    "does not move the target); exact expectations, no Monte Carlo. Unlike hr_*_total it "
    "includes non-collapsibility, selection of survivors by burnout and the post-switch months "
    "still on the ramp in the salary reference",
    "turnover.cox_model_target_tenure_bins": "edges (years of tenure) of the steps of the "
    "baseline hazard in the Poisson form of the Cox model behind hr_*_model_target",
    "turnover.calendar_hazard_multiplier": "multiplier of the voluntary-exit hazard by calendar "
    "year of the month (1: no shock)",
    "turnover.site_frailty": "sd: parameter, SD of the log of the site multiplier of the "
    "voluntary-exit hazard; sd_drawn: SD (ddof 1) of the drawn log multipliers; by_site: each "
    "site's multiplier",
    "burnout.risk_*": "standardized (g-computation) risk of burned out with every respondent's "
    "pay set to rvu_production / salary, averaged over the survey respondents' role, setting, "
    "team-based care and survey year (calendar shock), marginal over the site effect (integrated "
    "over its normal distribution, 40-point Gauss-Hermite); exact",
    "burnout.rr_rvu_production": "risk_rvu_production / risk_salary",
    "burnout.rd_rvu_production": "risk_rvu_production - risk_salary",
    "burnout.or_rvu_production_model_target": "what the contract's logistic model (pay, "
    "team-based care, role, setting; no site or year terms) fitted to the respondents targets: "
    "that model fitted to each respondent's P(burned out | answered), marginal over the site "
    "effect; differs from or_rvu_production through the site effect (non-collapsibility) and "
    "the calendar shock; null if the pay term is not identified (too few sites)",
    "burnout.rr_rvu_production_model_target": "what the standardized risk ratio of "
    "burnout.rr_rvu_production estimates (logistic model on pay, the three practices, role, "
    "setting and survey year; predictions under RVU production pay and under salary averaged "
    "over the respondents): the same model and standardization fitted to each respondent's "
    "P(burned out | answered), marginal over the site effect (risk_*_model_target: the two "
    "averages). It differs from rr_rvu_production through non-response that depends on burnout "
    "(a survey measures the respondents' risks: the odds ratio survives such non-response, a "
    "ratio of risks does not) and through the omitted site effect; null if the pay term is "
    "not identified",
    "burnout.risk_*_model_target": "the two averages behind rr_rvu_production_model_target",
    "burnout.rd_rvu_production_model_target": "risk_rvu_production_model_target - "
    "risk_salary_model_target",
    "burnout.share_mediated": "natural indirect / total effect of rvu_production vs salary on "
    "P(high intent), risk differences: NIE = E[Y(rvu, M(rvu))] - E[Y(rvu, M(salary))], "
    "TE = E[Y(rvu, M(rvu))] - E[Y(salary, M(salary))], standardized like risk_* (respondents' "
    "covariates, survey year, marginal over the site effect); exact (closed form); null when "
    "TE is 0. Before non-response, frailty and shocks it was a Monte Carlo over the rows' "
    "role, setting and team-based care, to which this reduces",
    "burnout.prevalence_population": "share burned out among all clinicians in post on the "
    "survey dates (years pooled), from their simulated states: what a census would find",
    "burnout.prevalence_respondents_expected": "expected share burned out among respondents "
    "given those states and the response probabilities: what the survey estimates",
    "burnout.prevalence_by_year": "both, by survey year",
    "burnout.calendar_odds_multiplier": "multiplier of the odds of burned out by the year the "
    "burnout period starts (the survey year)",
    "burnout.site_effect": "sd: parameter, SD of the normal site effect on the logit of burned "
    "out; sd_drawn: SD (ddof 1) of the drawn effects; by_site: each site's effect",
}


def _expit(x):
    return 1 / (1 + np.exp(-x))


def marginal_probability(lp: np.ndarray, sd: float) -> np.ndarray:
    """E[expit(lp + sd Z)], Z standard normal (a site effect integrated out)."""
    lp = np.asarray(lp, dtype=float)
    if sd == 0:
        return _expit(lp)
    return _expit(lp[..., None] + sd * NODES) @ WEIGHTS


def _r(x: float, digits: int = 6) -> float:
    return round(float(x), digits)


def _p_burned(world: demo_model.World, post, period, pay=None, tbc=None) -> np.ndarray:
    """P(burned out) of the occupant of ``post`` in ``period``, with the pay model or team-based
    care at the period's start set to ``pay`` / ``tbc`` when given."""
    b = world.params["burnout"]
    lp = world.logit[post, period]
    if pay is not None:
        lp = lp - world.logit_pay[post, period] + np.log(demo_model._comp_effects("or", b)[pay])
    if tbc is not None:
        lp = lp - world.logit_tbc[post, period] + np.log(b["or_team_based_care"]) * tbc
    return _expit(lp)


def _p_voluntary(dhv: np.ndarray, dho: np.ndarray) -> np.ndarray:
    """P(voluntary exit in the month) with competing hazards, as the simulation draws it."""
    total = dhv + dho
    return dhv / total * (1 - np.exp(-total))


def _weibull(params: dict, t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
    k, lam = params["turnover"]["baseline"]["k"], params["turnover"]["baseline"]["lam"]
    return (t1 / lam) ** k - (t0 / lam) ** k


def clinician_months(world: demo_model.World, occupancy: pd.DataFrame) -> pd.DataFrame:
    """The simulated clinician-months of the analysis window with their exposures, voluntary
    cumulative hazard if not burned out (``dhv``), other-exit hazard (``dho``) and P(burned
    out) (``p``)."""
    t = world.params["turnover"]
    post, m = occupancy["post"].to_numpy(), occupancy["month"].to_numpy()
    s = world.site[post]
    t0, t1 = occupancy["t0"].to_numpy(), occupancy["t1"].to_numpy()
    cal = world.cal
    return pd.DataFrame(
        {
            "post": post,
            "month": m,
            "period": demo_model.PERIOD_OF_MONTH[m],
            "site": s,
            "year": demo_model.MONTHS.year.to_numpy()[m],
            "comp": cal.comp[s, m],
            "team_based_care": cal.tbc[s, m],
            "clinician_in_governance": cal.gov[s, m],
            "admin_shadowing": cal.shadow[s, m],
            "dhv": _weibull(world.params, t0, t1) * np.exp(world.log_hr[post, m]),
            "dho": sum(t["other_exit_hazards_per_year"].values()) * (t1 - t0),
            "pay": world.log_hr_pay[post, m],
            "p": _expit(world.logit[post, demo_model.PERIOD_OF_MONTH[m]]),
        }
    )


def total_hazard_ratios(world: demo_model.World, cm: pd.DataFrame) -> tuple[dict, dict]:
    """Hazard ratios of voluntary exit not adjusted for burnout: direct HR x (1 + p1 (hr_burnout
    - 1)) / (1 + p0 (hr_burnout - 1)), p1 and p0 the mean P(burned out) over the exposed
    clinician-months as they were and with the exposure removed from the burnout model."""
    t = world.params["turnover"]
    hb = t["hr_burnout"]
    exposures = {
        "rvu_production": (cm["comp"] == "rvu_production", {"pay": "salary"}),
        "team_based_care": (cm["team_based_care"] == 1, {"tbc": 0.0}),
        "clinician_in_governance": (cm["clinician_in_governance"] == 1, {}),
        "admin_shadowing": (cm["admin_shadowing"] == 1, {}),
    }
    totals, probabilities = {}, {}
    for name, (exposed, reference) in exposures.items():
        e = cm[exposed.to_numpy()]
        p1 = e["p"].mean()
        p0 = _p_burned(world, e["post"], e["period"], **reference).mean()
        direct = t[f"hr_{name}"]
        totals[f"hr_{name}_total"] = _r(direct * (1 + p1 * (hb - 1)) / (1 + p0 * (hb - 1)))
        probabilities[name] = {
            "p_exposed": _r(p1),
            "p_reference": _r(p0),
            "clinician_months": len(e),
        }
    return totals, probabilities


def excess_exits_rvu(world: demo_model.World, cm: pd.DataFrame) -> dict:
    """Expected voluntary exits per year in the window among clinician-months under RVU
    production pay, as they were and had the same months been under salary (burnout too)."""
    hb = world.params["turnover"]["hr_burnout"]
    e = cm[(cm["comp"] == "rvu_production").to_numpy()]
    dhv, dho = e["dhv"].to_numpy(), e["dho"].to_numpy()
    dhv_salary = dhv * np.exp(-e["pay"].to_numpy())  # salary is the reference: log HR 0
    p1 = e["p"].to_numpy()
    p0 = _p_burned(world, e["post"], e["period"], pay="salary")

    def exits(dh: np.ndarray, p: np.ndarray) -> float:
        return float(np.sum(p * _p_voluntary(dh * hb, dho) + (1 - p) * _p_voluntary(dh, dho)))

    rvu, salary = exits(dhv, p1), exits(dhv_salary, p0)
    return {
        "excess_exits_rvu_per_year": _r((rvu - salary) / demo_model.WINDOW_YEARS, 4),
        "expected_exits_rvu_per_year": _r(rvu / demo_model.WINDOW_YEARS, 4),
        "expected_exits_rvu_as_salary_per_year": _r(salary / demo_model.WINDOW_YEARS, 4),
    }


def switch_effect(world: demo_model.World, cm: pd.DataFrame) -> dict:
    """Rate ratio of voluntary exits at sites that left RVU production pay, vs had they stayed
    on it (burnout too), over the same clinician-months, by calendar year relative to the
    switch year and over the years after it."""
    t = world.params["turnover"]
    hb = t["hr_burnout"]
    rel = cm["year"] - world.cal.switch_year[cm["site"]]
    e = cm[(rel >= 0).to_numpy()].assign(rel=rel[rel >= 0].astype(int))
    actual = e["dhv"] * (1 + e["p"] * (hb - 1))
    stayed_dhv = e["dhv"] * np.exp(np.log(t["hr_rvu_production"]) - e["pay"])
    stayed_p = _p_burned(world, e["post"], e["period"], pay="rvu_production")
    stayed = stayed_dhv * (1 + stayed_p * (hb - 1))
    sums = pd.DataFrame({"rel": e["rel"], "actual": actual, "stayed": stayed})
    by_rel = sums.groupby("rel")[["actual", "stayed"]].sum()
    after = by_rel.loc[by_rel.index >= 1].sum()
    ramp = world.realism.switch_ramp_years
    full = np.log(1 / t["hr_rvu_production"])  # salary and salary plus quality: HR 1
    path = {
        f"{y:g}": _r(np.exp(full * (min(y / ramp, 1.0) if ramp > 0 else 1.0)), 4)
        for y in (0, 0.5, 1, 1.5, 2, 3, 4)
    }
    return {
        "irr_after_switch": _r(after["actual"] / after["stayed"]) if len(by_rel) else None,
        "irr_after_switch_direct": _r(1 / t["hr_rvu_production"]),
        "irr_by_years_since_switch": {
            str(k): _r(r["actual"] / r["stayed"], 4) for k, r in by_rel.iterrows()
        },
        "direct_rate_ratio_by_years_since_switch": path,
        "switch_ramp_years": ramp,
    }


def burnout_exit_link(world: demo_model.World, hidden: pd.DataFrame) -> dict:
    """Hazard ratio of voluntary exit in the 12 months after a survey, burned out vs not,
    targeted by a Poisson model of exits with a person-time offset and calendar-year and site
    terms, over the identified respondents: the model fitted to each respondent's expected
    exits and person-time (exact expectations over the exits given the respondent's burnout
    state, tenure and site regime)."""
    t = world.params["turnover"]
    hb = t["hr_burnout"]
    r = hidden[hidden["clinician_id"].notna()].reset_index(drop=True)
    post = r["_post"].to_numpy()
    burned = r["_burned"].to_numpy(dtype=bool)
    months = demo_model.PERIOD_START_MONTH[r["_period"].to_numpy()][:, None] + np.arange(12)
    inside = months < len(demo_model.MONTHS)
    months = np.minimum(months, len(demo_model.MONTHS) - 1)
    starts = demo_model.MONTHS.to_numpy().astype("datetime64[D]")
    ends = (demo_model.MONTHS + pd.offsets.MonthBegin(1)).to_numpy().astype("datetime64[D]")
    hire = r["_hire"].to_numpy().astype("datetime64[D]")[:, None]
    t0 = np.maximum((starts[months] - hire).astype(float), 0) / 365.25
    t1 = (ends[months] - hire).astype(float) / 365.25
    dhv = _weibull(world.params, t0, t1) * np.exp(world.log_hr[post[:, None], months])
    dhv = dhv * np.where(burned, hb, 1.0)[:, None]
    dho = sum(t["other_exit_hazards_per_year"].values()) * (t1 - t0)
    leave = (1 - np.exp(-(dhv + dho))) * inside
    voluntary = _p_voluntary(dhv, dho) * inside
    alive = np.cumprod(np.column_stack([np.ones(len(r)), 1 - leave[:, :-1]]), axis=1)
    exits = (alive * voluntary).sum(axis=1)
    years = (alive * (t1 - t0) * (1 - leave / 2) * inside).sum(axis=1)
    design = pd.get_dummies(
        pd.DataFrame(
            {"year": r["_period"] + demo_model.FIRST_PERIOD, "site": r["site_id"].to_numpy()}
        ).astype(str),
        drop_first=True,
        dtype=float,
    )
    x = np.column_stack([np.ones(len(r)), burned.astype(float), design.to_numpy()])
    fit = sm.GLM(exits, x, family=sm.families.Poisson(), offset=np.log(years)).fit()
    crude = (exits[burned].sum() / years[burned].sum()) / (
        exits[~burned].sum() / years[~burned].sum()
    )
    return {
        "hr_burnout_linked": _r(np.exp(fit.params[1]), 4),
        "hr_burnout_linked_crude": _r(crude, 4),
        "burnout_link_respondents": len(r),
    }


# Steps (years of tenure) of the baseline hazard in the Poisson form of a Cox model: narrow where
# the Weibull hazard (shape 0.8) changes fast, so that the steps stand in for the Cox model's
# unrestricted baseline.
TENURE_BINS = (0, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 30)
PAY_LEVELS = ("salary", "rvu_production", "salary_plus_quality", "hybrid")  # salary: reference
ROLES = ("physician", "advanced_practice", "behavioral_health")  # physician: reference
SETTINGS = ("primary_care", "psychiatry", "behavioral_health", "specialty")


def _independent(columns: dict[str, np.ndarray]) -> list[str]:
    """Names of the columns, in order, that are not constant (an intercept is kept) and not
    linear combinations of the ones kept before them."""
    keep: list[str] = []
    basis = np.empty((len(next(iter(columns.values()))), 0))
    for name, col in columns.items():
        if name != "const" and np.ptp(col) == 0:
            continue
        resid = col - basis @ (basis.T @ col)
        resid = resid - basis @ (basis.T @ resid)
        norm = np.linalg.norm(resid)
        if norm > 1e-8 * max(np.linalg.norm(col), 1.0):
            keep.append(name)
            basis = np.column_stack([basis, resid / norm])
    return keep


def poisson_fit(
    x: np.ndarray, events: np.ndarray, exposure: np.ndarray, max_iter: int = 100
) -> np.ndarray:
    """Coefficients of a Poisson model of (possibly fractional) ``events`` on ``x`` (no
    intercept added) with offset log ``exposure``: Newton's method with step halving."""
    b = np.zeros(x.shape[1])

    def loglik(beta):
        mu = exposure * np.exp(x @ beta)
        return float(events @ np.log(mu) - mu.sum()), mu

    ll, mu = loglik(b)
    for _ in range(max_iter):
        score = x.T @ (events - mu)
        step = np.linalg.solve((x * mu[:, None]).T @ x, score)
        t = 1.0
        while True:
            new_ll, new_mu = loglik(b + t * step)
            if new_ll >= ll - 1e-12 * abs(ll) or t < 1e-10:
                break
            t /= 2
        b, ll, mu = b + t * step, new_ll, new_mu
        if np.max(np.abs(t * step)) < 1e-10:
            return b
    raise ArithmeticError("the Poisson model did not converge")


def cox_model_targets(world: demo_model.World, occupancy: pd.DataFrame, cm: pd.DataFrame) -> dict:
    """What the Cox model of voluntary exit (pay model, practices, role, setting, calendar
    year; not burnout) estimates on this organization: the Poisson form of the model (baseline
    a step function of tenure, :data:`TENURE_BINS`) fitted to the expected voluntary exits of
    the simulated clinician-months (each clinician's burnout state as simulated), with log
    clinician-years plus the log site frailty as offset (the frailty averaged out: see
    DESCRIPTIONS). Identical rows are pooled before the fit."""
    t = world.params["turnover"]
    burned = occupancy["burned"].to_numpy(bool)
    dhv = cm["dhv"].to_numpy() * np.where(burned, t["hr_burnout"], 1.0)
    dho = cm["dho"].to_numpy()
    leave = 1 - np.exp(-(dhv + dho))
    exits = _p_voluntary(dhv, dho)
    site = cm["site"].to_numpy()
    years = (occupancy["t1"] - occupancy["t0"]).to_numpy() * (1 - leave / 2)
    exposure = years * np.exp(world.exit_frailty[site])
    post = cm["post"].to_numpy()
    mid = (occupancy["t0"].to_numpy() + occupancy["t1"].to_numpy()) / 2
    year = cm["year"].to_numpy()
    codes = {
        "comp": pd.Categorical(cm["comp"].to_numpy(), PAY_LEVELS).codes,
        "team_based_care": cm["team_based_care"].to_numpy().astype(int),
        "clinician_in_governance": cm["clinician_in_governance"].to_numpy().astype(int),
        "admin_shadowing": cm["admin_shadowing"].to_numpy().astype(int),
        "role": pd.Categorical(world.posts["role"].to_numpy()[post], ROLES).codes,
        "setting": pd.Categorical(world.setting[post], SETTINGS).codes,
        "year": year - year.min(),
        "bin": np.searchsorted(TENURE_BINS, mid, side="right") - 1,
    }
    sizes = {k: int(v.max()) + 1 for k, v in codes.items()}
    key = np.zeros(len(year), dtype=np.int64)
    for k, v in codes.items():
        key = key * sizes[k] + v
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    cell = {k: v[first] for k, v in codes.items()}
    events = np.bincount(inverse, exits)
    time_at_risk = np.bincount(inverse, exposure)
    columns: dict[str, np.ndarray] = {}
    for level in range(sizes["bin"]):
        columns[f"bin_{level}"] = (cell["bin"] == level).astype(float)
    for j, level in enumerate(PAY_LEVELS[1:], start=1):
        columns[level] = (cell["comp"] == j).astype(float)
    for name in PRACTICES:
        columns[name] = cell[name].astype(float)
    for var, levels in (("role", ROLES), ("setting", SETTINGS)):
        for j in range(1, len(levels)):
            columns[f"{var}_{levels[j]}"] = (cell[var] == j).astype(float)
    for y in range(1, sizes["year"]):
        columns[f"year_{y}"] = (cell["year"] == y).astype(float)
    keep = _independent(columns)
    x = np.column_stack([columns[c] for c in keep])
    beta = dict(zip(keep, poisson_fit(x, events, time_at_risk), strict=True))
    out: dict = {}
    for name in ("rvu_production", *PRACTICES):
        out[f"hr_{name}_model_target"] = _r(np.exp(beta[name])) if name in beta else None
    out["cox_model_target_tenure_bins"] = list(TENURE_BINS)
    return out


def _frailty(values: np.ndarray, sd: float, sites: pd.DataFrame, exp: bool) -> dict:
    shown = np.exp(values) if exp else values
    return {
        "sd": sd,
        "sd_drawn": _r(np.std(values, ddof=1), 4) if len(values) > 1 else 0.0,
        "by_site": {s: _r(v) for s, v in zip(sites["site_id"], shown, strict=True)},
    }


def turnover_estimands(world: demo_model.World, occupancy: pd.DataFrame, hidden: pd.DataFrame):
    cm = clinician_months(world, occupancy)
    totals, probabilities = total_hazard_ratios(world, cm)
    realism = world.realism
    years = range(demo_model.WINDOW[0].year, demo_model.WINDOW[1].year + 1)
    return {
        **totals,
        **cox_model_targets(world, occupancy, cm),
        "total_effect_burnout_probabilities": probabilities,
        **excess_exits_rvu(world, cm),
        **switch_effect(world, cm),
        **burnout_exit_link(world, hidden),
        "calendar_hazard_multiplier": {
            str(y): _r(m, 4)
            for y, m in zip(years, np.exp(realism.shock("exit", years)), strict=True)
        },
        "site_frailty": _frailty(
            world.exit_frailty, realism.site_frailty_sd, world.sites, exp=True
        ),
    }


def _analysis_design(hidden: pd.DataFrame) -> np.ndarray | None:
    """The contract's burnout model: pay (reference salary), team-based care, role, setting;
    columns that add nothing (constant, or collinear on few sites) are left out. None when the
    rvu_production term is not identified."""
    cols = [np.ones(len(hidden))]
    for level in ("rvu_production", "salary_plus_quality", "hybrid"):
        cols.append((hidden["_comp"] == level).to_numpy(float))
    cols.append(hidden["_tbc"].to_numpy(float))
    for role in ("advanced_practice", "behavioral_health"):
        cols.append((hidden["role"] == role).to_numpy(float))
    for setting in ("psychiatry", "behavioral_health", "specialty"):
        cols.append((hidden["_setting"] == setting).to_numpy(float))
    keep: list[np.ndarray] = []
    for j, col in enumerate(cols):
        if np.linalg.matrix_rank(np.column_stack([*keep, col])) > len(keep):
            keep.append(col)
        elif j == 1:
            return None
    return np.column_stack(keep)


def standardized_model_target(world: demo_model.World, hidden: pd.DataFrame, p: np.ndarray) -> dict:
    """The standardized risks of burned out under RVU production pay and under salary that the
    analysis computes (logistic model on pay, the three practices, role, setting and survey
    year; every respondent predicted under each pay model, averaged), with the model fitted to
    each respondent's probability ``p`` instead of the 0/1 answers. Nulls when the pay term is
    not identified."""
    post, period = hidden["_post"].to_numpy(), hidden["_period"].to_numpy()
    site, month = world.site[post], demo_model.PERIOD_START_MONTH[period]
    comp = hidden["_comp"].to_numpy()
    columns = {"const": np.ones(len(hidden))}
    for level in PAY_LEVELS[1:]:
        columns[level] = (comp == level).astype(float)
    columns["team_based_care"] = hidden["_tbc"].to_numpy(float)
    columns["clinician_in_governance"] = world.cal.gov[site, month].astype(float)
    columns["admin_shadowing"] = world.cal.shadow[site, month].astype(float)
    for role in ROLES[1:]:
        columns[f"role_{role}"] = (hidden["role"] == role).to_numpy(float)
    for setting in SETTINGS[1:]:
        columns[f"setting_{setting}"] = (hidden["_setting"] == setting).to_numpy(float)
    for k in np.unique(period)[1:]:
        columns[f"year_{k}"] = (period == k).astype(float)
    keep = _independent(columns)
    if "rvu_production" not in keep:
        names = ("risk_rvu_production", "risk_salary", "rr_rvu_production", "rd_rvu_production")
        return {f"{name}_model_target": None for name in names}
    x = np.column_stack([columns[c] for c in keep])
    with warnings.catch_warnings():  # a correctly specified model fits the risks exactly
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        beta = sm.GLM(p, x, family=sm.families.Binomial()).fit().params
    pay = [keep.index(level) for level in PAY_LEVELS[1:] if level in keep]
    x0 = x.copy()
    x0[:, pay] = 0.0
    x1 = x0.copy()
    x1[:, keep.index("rvu_production")] = 1.0
    r1, r0 = float(_expit(x1 @ beta).mean()), float(_expit(x0 @ beta).mean())
    return {
        "risk_rvu_production_model_target": _r(r1),
        "risk_salary_model_target": _r(r0),
        "rr_rvu_production_model_target": _r(r1 / r0),
        "rd_rvu_production_model_target": _r(r1 - r0),
    }


def burnout_estimands(world: demo_model.World, hidden: pd.DataFrame, population: pd.DataFrame):
    params, realism = world.params, world.realism
    b = params["burnout"]
    sd = realism.site_burnout_sd
    post, period = hidden["_post"].to_numpy(), hidden["_period"].to_numpy()
    site = world.site[post]
    # each respondent's linear predictor at its own survey (calendar shock included), without
    # the site effect, which is integrated over its distribution
    lp = world.logit[post, period] - world.burnout_frailty[site]
    base = lp - world.logit_pay[post, period]  # as if on salary
    p_rvu = marginal_probability(base + np.log(b["or_rvu_production"]), sd)
    p_salary = marginal_probability(base, sd)

    def intent(burned: int, rvu: int) -> np.ndarray:
        return demo_model.intent_probability(params, np.full(len(hidden), burned), rvu)

    def outcome(p: np.ndarray, rvu: int) -> float:
        return float(np.mean(p * intent(1, rvu) + (1 - p) * intent(0, rvu)))

    y11, y10, y00 = outcome(p_rvu, 1), outcome(p_salary, 1), outcome(p_salary, 0)
    share = (y11 - y10) / (y11 - y00) if y11 != y00 else None

    r = b["response_probability"]
    r1, r0 = r["burned_out"], r["not_burned_out"]
    # P(burned out | answered) at each respondent, over the distribution of the site effect
    p_site = _expit(lp[:, None] + sd * NODES) if sd > 0 else _expit(lp)[:, None]
    w = WEIGHTS if sd > 0 else np.ones(1)
    p_answered = (p_site * r1) @ w / ((p_site * r1 + (1 - p_site) * r0) @ w)
    design = _analysis_design(hidden)
    model_target = None
    if design is not None:
        with warnings.catch_warnings():  # a correctly specified model fits the risks exactly
            warnings.simplefilter("ignore", PerfectSeparationWarning)
            fit = sm.GLM(p_answered, design, family=sm.families.Binomial()).fit()
        model_target = _r(np.exp(fit.params[1]))

    by_year = {}
    for year, g in population.groupby("year"):
        state = g["burned"].to_numpy()
        by_year[str(year)] = {
            "population": _r(state.mean(), 4),
            "respondents_expected": _r((state * r1).sum() / (state * r1 + (~state) * r0).sum(), 4),
        }
    state = population["burned"].to_numpy()
    odds_shock = np.exp(realism.shock("burnout", demo_model.SURVEY_YEARS))
    return {
        "risk_rvu_production": _r(p_rvu.mean()),
        "risk_salary": _r(p_salary.mean()),
        "rr_rvu_production": _r(p_rvu.mean() / p_salary.mean()),
        "rd_rvu_production": _r(p_rvu.mean() - p_salary.mean()),
        "or_rvu_production_model_target": model_target,
        **standardized_model_target(world, hidden, p_answered),
        "share_mediated": None if share is None else _r(share, 4),
        "prevalence_population": _r(state.mean(), 4),
        "prevalence_respondents_expected": _r(
            (state * r1).sum() / (state * r1 + (~state) * r0).sum(), 4
        ),
        "prevalence_by_year": by_year,
        "calendar_odds_multiplier": {
            str(y): _r(m, 4) for y, m in zip(demo_model.SURVEY_YEARS, odds_shock, strict=True)
        },
        "site_effect": _frailty(world.burnout_frailty, sd, world.sites, exp=False),
    }


def estimands(
    world: demo_model.World,
    history: demo_model.History,
    hidden: pd.DataFrame,
    population: pd.DataFrame,
) -> dict:
    """The computed entries of ``truth.json``, by block."""
    return {
        "turnover": turnover_estimands(world, history.occupancy, hidden),
        "burnout": burnout_estimands(world, hidden, population),
    }
