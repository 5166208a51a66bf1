"""Burnout module: small simulated surveys with known truth, and exact quantities against
independent computations (statsmodels, hand formulas)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import patsy
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats
from scipy.special import expit

from helpers.analysis import burnout, inference
from helpers.artifacts import SUPPRESSED, suppress_small

ROLES = ("physician", "advanced_practice", "behavioral_health")
SETTINGS = ("primary_care", "psychiatry")
COMP = ("salary", "rvu_production", "hybrid")


def survey(
    n_sites: int = 30,
    per_site: int = 60,
    seed: int = 1,
    frailty_sd: float = 0.0,
    comp: tuple[str, ...] = COMP,
) -> pd.DataFrame:
    """Responses shaped like ``burnout.responses``: management fixed per site (pay model,
    practices, setting), role and year per response, no outcome yet (``lp`` holds a site
    frailty on the logit scale)."""
    rng = np.random.default_rng(seed)
    site = np.repeat(np.arange(n_sites), per_site)
    n = len(site)
    per = {
        "comp_model": rng.choice(comp, n_sites),
        "team_based_care": rng.integers(0, 2, n_sites),
        "clinician_in_governance": rng.integers(0, 2, n_sites),
        "admin_shadowing": rng.integers(0, 2, n_sites),
        "setting": rng.choice(SETTINGS, n_sites),
        "protected_time_pct": rng.choice([0.0, 5.0, 10.0, 15.0], n_sites),
        "frailty": rng.normal(0, frailty_sd, n_sites) if frailty_sd else np.zeros(n_sites),
    }
    df = pd.DataFrame({k: v[site] for k, v in per.items()})
    df["site_id"] = [f"S{s:02d}" for s in site]
    df["role"] = rng.choice(ROLES, n, p=[0.5, 0.3, 0.2])
    df["year"] = rng.choice([2019, 2020, 2021], n)
    df["clinician_id"] = [f"C{i}" for i in range(n)]
    return df


def with_outcome(df: pd.DataFrame, lp: np.ndarray, seed: int, col: str = "burned_out"):
    rng = np.random.default_rng(seed)
    return df.assign(**{col: (rng.random(len(df)) < expit(lp + df["frailty"])).astype(int)})


# -- people and small cells -------------------------------------------------------------------
def test_people_is_the_larger_of_distinct_ids_and_the_busiest_year():
    r = pd.DataFrame(
        {
            "clinician_id": ["a", "a", "b", None, None, None],
            "year": [2020, 2021, 2020, 2020, 2020, 2021],
        }
    )
    # 2 identified people; 2020 has 4 responses, so at least 4 people
    assert burnout.people(r) == 4
    r2 = pd.DataFrame({"clinician_id": ["a", "b", "c", "d", None], "year": [2020] * 2 + [2021] * 3})
    assert burnout.people(r2) == 4  # four distinct ids beat three responses in 2021
    assert burnout.people(r2.iloc[:0]) == 0


def test_prevalence_rows_count_people_and_rows_with_few_events_are_blanked():
    r = pd.DataFrame(
        {
            "clinician_id": [f"c{i % 7}" for i in range(40)],
            "year": [2019 + i // 20 for i in range(40)],
            "role": ["physician"] * 40,
            "burned_out": [1] * 5 + [0] * 35,
        }
    )
    t = burnout.prevalence_table(r, "role")
    assert t.loc[0, "responses"] == 40 and t.loc[0, "people"] == 20 and t.loc[0, "burned_out"] == 5
    # the table writer suppresses a row with fewer than min_cell_size burned-out responses
    assert suppress_small(t, "people", 11, events="burned_out").loc[0, "share"] == SUPPRESSED
    assert suppress_small(t, "people", 5, events="burned_out").loc[0, "people"] == 20


def test_responses_take_the_management_in_effect_on_the_survey_date():
    survey_rows = pd.DataFrame(
        {
            "response_id": ["R1", "R2", "R3"],
            "site_id": ["A", "A", "A"],
            "survey_date": pd.to_datetime(["2019-10-15", "2021-10-15", "2021-10-15"]),
            "clinician_id": ["c1", None, "c2"],
            "role": ["physician", "advanced_practice", "nurse"],
            "burnout": pd.array([3, 2, 5], dtype="Int64"),
            "intent_to_leave": pd.array([4, None, 1], dtype="Int64"),
            "trust_in_leadership": pd.array([2, 3, 4], dtype="Int64"),
        }
    )
    mgmt = _mgmt_two_periods()
    sites = pd.DataFrame({"site_id": ["A"], "setting": ["psychiatry"]})
    r = burnout.responses(survey_rows, mgmt, sites)
    assert r["response_id"].tolist() == ["R1", "R2"]  # the nurse is not a clinician role
    assert r["comp_model"].tolist() == ["rvu_production", "salary"]
    assert r["rvu_target_annual"].iloc[0] == 5200 and np.isnan(r["rvu_target_annual"].iloc[1])
    assert r["pct_comp_productivity"].tolist() == [65, 0]
    assert r["protected_time_pct"].tolist() == [0, 10]
    assert r["admin_shadowing"].tolist() == [1, 0] and r["team_based_care"].tolist() == [0, 1]
    assert r["burned_out"].tolist() == [1, 0] and r["year"].tolist() == [2019, 2021]
    assert r["high_intent"].iloc[0] == 1 and np.isnan(r["high_intent"].iloc[1])
    assert r["setting"].tolist() == ["psychiatry"] * 2


# -- fits ------------------------------------------------------------------------------------------
def test_batched_weighted_fits_equal_statsmodels_fits_one_by_one():
    df = survey(n_sites=12, per_site=40, seed=2)
    df = with_outcome(df, -0.3 + 0.6 * (df["comp_model"] == "rvu_production"), 3)
    x = burnout.design(df).to_numpy()
    y = df["burned_out"].to_numpy(float)
    codes = pd.factorize(df["site_id"])[0]
    w = burnout.site_weights(df["site_id"], 3, seed=4)[:, codes]
    beta, ok = burnout.fit_logistic(x, y, w)
    for b in range(3):
        keep = w[b] > 0
        ref = sm.GLM(y[keep], x[keep], family=sm.families.Binomial(), freq_weights=w[b][keep])
        if np.linalg.matrix_rank(x[keep]) == x.shape[1]:
            assert ok[b]
            np.testing.assert_allclose(beta[b], ref.fit().params, rtol=1e-6, atol=1e-8)
    c = burnout.cells(x, y, codes)
    assert len(c.x) < len(x) and c.trials.sum() == len(x)
    pooled, ok1 = burnout.fit_logistic(c.x, c.successes, trials=c.trials)
    full, ok2 = burnout.fit_logistic(x, y)
    assert ok1[0] and ok2[0]
    np.testing.assert_allclose(pooled[0], full[0], rtol=1e-8, atol=1e-10)


def test_a_separated_fit_does_not_converge():
    x = np.column_stack([np.ones(20), np.r_[np.zeros(10), np.ones(10)]])
    y = np.r_[np.zeros(10), np.ones(10)]
    assert not burnout.fit_logistic(x, y)[1][0]


def test_odds_ratio_interval_is_t_with_sites_minus_one_and_recovers_the_truth():
    df = survey(n_sites=40, per_site=150, seed=3)
    lp = (
        -0.3
        + np.log(2.0) * (df["comp_model"] == "rvu_production")
        + np.log(0.6) * df["team_based_care"]
    )
    df = with_outcome(df, lp, 4)
    fit = burnout.logistic(df, "burned_out")
    tab = burnout.odds_ratio_table(df, fit).set_index("term")
    row = tab.loc["comp_rvu_production"]
    assert row["ci_low"] <= 2.0 <= row["ci_high"] and abs(row["or"] - 2.0) < 0.4
    j = fit.columns.index("comp_rvu_production")
    se = np.sqrt(fit.cov[j, j])
    assert np.log(row["ci_high"] / row["or"]) / se == pytest.approx(stats.t.ppf(0.975, 39))
    # the sandwich is statsmodels' cluster covariance without its (N-1)/(N-K) factor
    ref = sm.GLM(fit.y, fit.x, family=sm.families.Binomial()).fit(
        cov_type="cluster", cov_kwds={"groups": fit.codes}
    )
    n, k = fit.x.shape
    np.testing.assert_allclose(fit.cov * (n - 1) / (n - k), ref.cov_params(), rtol=1e-6)
    # people of a term: the smaller side (rvu_production vs salary responses)
    sides = [df[df["comp_model"] == c] for c in ("rvu_production", "salary")]
    assert row["people"] == min(burnout.people(s) for s in sides)
    assert "year_2020" not in tab.index


# -- standardization --------------------------------------------------------------------------
FORMULA = (
    "burned_out ~ C(comp_model, Treatment('salary')) + team_based_care + clinician_in_governance"
    " + admin_shadowing + C(role, Treatment('physician')) + C(setting, Treatment('primary_care'))"
    " + C(year)"
)


def unidentified_by_rank(d, rhs, row_weights, counterfactuals) -> np.ndarray:
    """Resamples (rows of ``row_weights``, one weight per response) in which a counterfactual
    copy of the responses drawn (``d.assign(**cf)``) leaves the span of their design rows,
    by the ranks of the stacked patsy designs (no cells, no cross-products)."""
    x = patsy.dmatrix(rhs, d)
    built = [np.asarray(patsy.build_design_matrices([x.design_info], d.assign(**cf))[0])
             for cf in counterfactuals]  # fmt: skip
    x = np.asarray(x)
    out = []
    for w in row_weights:
        keep = w > 0
        rank = np.linalg.matrix_rank(x[keep])
        out.append(np.linalg.matrix_rank(np.vstack([x[keep]] + [c[keep] for c in built])) > rank)
    return np.array(out)


def test_standardized_risks_equal_statsmodels_predictions_averaged_by_hand():
    df = survey(n_sites=12, per_site=25, seed=5)
    df = with_outcome(df, -0.2 + 0.7 * (df["comp_model"] == "rvu_production"), 6)
    s = burnout.standardized(df, burnout.PAY["rvu_production"])
    ref = smf.glm(FORMULA, df, family=sm.families.Binomial()).fit()
    r1 = ref.predict(df.assign(comp_model="rvu_production")).mean()
    r0 = ref.predict(df.assign(comp_model="salary")).mean()
    assert s.risk_exposed == pytest.approx(r1, rel=1e-7)
    assert s.risk_reference == pytest.approx(r0, rel=1e-7)
    assert s.rr == pytest.approx(r1 / r0, rel=1e-7) and s.rd == pytest.approx(r1 - r0, rel=1e-6)
    # a shift of a dose: everyone's protected time 10 points higher
    shift = burnout.Exposure("protected_time_pct", "protected_time_pct", shift=10.0)
    s2 = burnout.standardized(df, shift, doses={"protected_time_pct": 10.0})
    ref2 = smf.glm(f"{FORMULA} + protected_time_pct", df, family=sm.families.Binomial()).fit()
    up = ref2.predict(df.assign(protected_time_pct=df["protected_time_pct"] + 10)).mean()
    assert s2.rr == pytest.approx(up / ref2.predict(df).mean(), rel=1e-7)


def test_saturated_standardized_ratio_and_its_variance_equal_the_textbook_formulas():
    # one binary exposure and nothing else varying: the standardized RR is the crude RR, and
    # with every response its own site the sandwich is the delta-method variance of the
    # crude log RR (and RD) times G/(G-1)
    rng = np.random.default_rng(7)
    n = 400
    df = survey(n_sites=1, per_site=n, seed=7)
    df = df.assign(
        role="physician",
        year=2020,
        comp_model="salary",
        clinician_in_governance=0,
        admin_shadowing=0,
        team_based_care=rng.integers(0, 2, n),
        site_id=[f"R{i}" for i in range(n)],
    )
    df["burned_out"] = (rng.random(n) < np.where(df["team_based_care"] == 1, 0.3, 0.5)).astype(int)
    s = burnout.standardized(df, burnout.PRACTICE["team_based_care"])
    on, off = df[df["team_based_care"] == 1], df[df["team_based_care"] == 0]
    p1, p0, n1, n0 = on["burned_out"].mean(), off["burned_out"].mean(), len(on), len(off)
    assert s.rr == pytest.approx(p1 / p0, rel=1e-9)
    var_log = (1 - p1) / (n1 * p1) + (1 - p0) / (n0 * p0)
    assert s.se_log_rr**2 == pytest.approx(inference.cr1(n) * var_log, rel=1e-6)
    var_rd = p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0
    assert s.se_rd**2 == pytest.approx(inference.cr1(n) * var_rd, rel=1e-6)


def test_interval_equals_the_stacked_estimating_equations_sandwich():
    # an independent computation of the same variance: the estimating equations of the
    # coefficients and of both standardized risks stacked, their Jacobian by finite
    # differences, the meat summed by site
    df = survey(n_sites=15, per_site=30, seed=30)
    df = with_outcome(
        df, -0.2 + 0.5 * df["team_based_care"] + 0.3 * (df["role"] == "advanced_practice"), 31
    )
    e = burnout.PRACTICE["team_based_care"]
    s = burnout.standardized(df, e)
    cols = s.fit.columns
    x = burnout.design(df).to_numpy()
    x1 = burnout.design(e.set(df, True), columns=cols).to_numpy()
    x0 = burnout.design(e.set(df, False), columns=cols).to_numpy()
    y = df["burned_out"].to_numpy(float)

    def psi(theta):
        beta, r1, r0 = theta[:-2], theta[-2], theta[-1]
        return np.column_stack(
            [x * (y - expit(x @ beta))[:, None], expit(x1 @ beta) - r1, expit(x0 @ beta) - r0]
        )

    theta = np.r_[s.fit.beta, s.risk_exposed, s.risk_reference]
    assert np.abs(psi(theta).sum(axis=0)).max() < 1e-6
    h = 1e-6
    jac = np.column_stack(
        [
            (
                psi(theta + h * np.eye(len(theta))[k]).sum(axis=0)
                - psi(theta - h * np.eye(len(theta))[k]).sum(axis=0)
            )
            / (2 * h)
            for k in range(len(theta))
        ]
    )
    codes = pd.factorize(df["site_id"])[0]
    sums = np.vstack([psi(theta)[codes == g].sum(axis=0) for g in range(codes.max() + 1)])
    inv = np.linalg.inv(jac)
    cov = inference.cr1(codes.max() + 1) * inv @ sums.T @ sums @ inv.T
    grad = np.r_[np.zeros(len(cols)), 1 / s.risk_exposed, -1 / s.risk_reference]
    assert s.se_log_rr**2 == pytest.approx(grad @ cov @ grad, rel=1e-4)
    grad_rd = np.r_[np.zeros(len(cols)), 1.0, -1.0]
    assert s.se_rd**2 == pytest.approx(grad_rd @ cov @ grad_rd, rel=1e-4)


def true_standardized(df: pd.DataFrame, lp_of) -> tuple[float, float]:
    p1 = expit(lp_of(df.assign(comp_model="rvu_production")) + df["frailty"]).mean()
    p0 = expit(lp_of(df.assign(comp_model="salary")) + df["frailty"]).mean()
    return p1 / p0, p1 - p0


def test_standardized_ratio_recovers_a_marginal_rr_where_the_or_differs():
    df = survey(n_sites=40, per_site=120, seed=8)

    def lp(d):
        return (
            -0.2
            + np.log(3.0) * (d["comp_model"] == "rvu_production")
            + 0.8 * (d["role"] == "advanced_practice")
            - 0.5 * d["team_based_care"]
        )

    df = with_outcome(df, lp(df), 9)
    true_rr, true_rd = true_standardized(df, lp)
    assert 1.3 < true_rr < 1.8  # a common outcome: the OR of 3 is far from the RR
    s = burnout.standardized(df, burnout.PAY["rvu_production"])
    assert s.rr_low <= true_rr <= s.rr_high and abs(s.rr - true_rr) < 0.12
    assert s.rd_low <= true_rd <= s.rd_high
    or_row = burnout.odds_ratio_table(df, s.fit).set_index("term").loc["comp_rvu_production"]
    assert or_row["or"] - s.rr > 0.8


def test_site_bootstrap_draws_whole_sites():
    sites = pd.Series(np.repeat(["A", "B", "C", "D", "E"], [3, 1, 4, 2, 5]))
    w = burnout.site_weights(sites, 200, seed=11)
    assert w.shape == (200, 5) and (w.sum(axis=1) == 5).all()
    assert np.array_equal(w, np.round(w)) and len({tuple(row) for row in w}) > 50
    rng = np.random.default_rng(11)
    codes = pd.factorize(sites)[0]
    for row, idx in zip(w, inference.site_resamples(sites, 200, rng), strict=True):
        # each drawn site brings all of its rows: row weights are site multiplicities
        assert np.array_equal(np.bincount(idx, minlength=len(sites)), row[codes])


def test_bootstrap_interval_agrees_with_the_delta_method():
    df = survey(n_sites=30, per_site=80, seed=12, frailty_sd=0.4)
    df = with_outcome(df, -0.3 + 0.6 * (df["comp_model"] == "rvu_production"), 13)
    s = burnout.standardized(df, burnout.PAY["rvu_production"])
    draws, failures = burnout.bootstrap_rr(df, burnout.PAY["rvu_production"], 400, seed=14)
    assert failures == 0 and len(draws) == 400
    assert np.std(np.log(draws)) == pytest.approx(s.se_log_rr, rel=0.3)


def test_clustered_interval_is_wider_than_model_based_with_site_frailty():
    df = survey(n_sites=30, per_site=80, seed=15, frailty_sd=0.8)
    df = with_outcome(df, -0.3 + 0.5 * (df["comp_model"] == "rvu_production"), 16)
    clustered = burnout.standardized(df, burnout.PAY["rvu_production"])
    # every response its own cluster: the model-based (independent responses) interval
    rows = df.assign(site_id=[f"R{i}" for i in range(len(df))])
    independent = burnout.standardized(rows, burnout.PAY["rvu_production"])
    assert clustered.rr == pytest.approx(independent.rr)
    assert clustered.se_log_rr > 1.5 * independent.se_log_rr


def test_every_site_clustered_model_needs_ten_sites():
    df = survey(n_sites=9, per_site=40, seed=17)
    df = with_outcome(df, np.zeros(len(df)), 18).assign(
        high_intent=lambda d: d["burned_out"], trust_in_leadership=3.0
    )
    with pytest.raises(inference.TooFewSites, match="9 site"):
        burnout.standardized(df, burnout.PAY["rvu_production"])
    with pytest.raises(inference.TooFewSites):
        burnout.mean_difference(df)
    with pytest.raises(inference.TooFewSites):
        burnout.mediation(df, resamples=10)


def test_design_drops_redundant_columns_but_never_a_dose():
    df = survey(n_sites=12, per_site=20, seed=19, comp=("rvu_production", "hybrid"))
    df["rvu_target_annual"] = np.where(df["comp_model"] == "hybrid", 5000.0, 5600.0)
    cols = burnout.design(df).columns
    # with no salary, one pay-model indicator is redundant beside the intercept
    assert sum(c.startswith("comp_") for c in cols) == 1
    with pytest.raises(ValueError, match="rvu_target_annual"):
        burnout.design(df, doses={"rvu_target_annual": 1000})


# -- trust -----------------------------------------------------------------------------------------
def test_trust_difference_recovers_a_simulated_difference():
    df = survey(n_sites=40, per_site=60, seed=20, frailty_sd=0.3)
    rng = np.random.default_rng(21)
    df["trust_in_leadership"] = (
        3.0
        + 0.5 * df["admin_shadowing"]
        + 0.3 * df["clinician_in_governance"]
        + 0.4 * df["frailty"] / 0.3
        + rng.normal(0, 0.8, len(df))
    )
    d = burnout.mean_difference(df)
    assert d.ci_low <= 0.5 <= d.ci_high and abs(d.estimate - 0.5) < 0.15
    ref = smf.ols(FORMULA.replace("burned_out", "trust_in_leadership"), df).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(df["site_id"])[0]}
    )
    assert d.estimate == pytest.approx(ref.params["admin_shadowing"], rel=1e-9)
    n, k = len(df), len(ref.params)
    assert d.se**2 * (n - 1) / (n - k) == pytest.approx(ref.bse["admin_shadowing"] ** 2, rel=1e-6)
    assert (d.ci_high - d.estimate) / d.se == pytest.approx(stats.t.ppf(0.975, 39))


# -- mediation -------------------------------------------------------------------------------------
# a strong exposure-mediator interaction: a model without it misses the indirect effect
A_M, A_Y, M_Y, AM_Y = np.log(2.0), np.log(0.6), np.log(3.0), np.log(3.0)


def mediated(seed: int, n_sites: int = 40, per_site: int = 100) -> pd.DataFrame:
    df = survey(n_sites=n_sites, per_site=per_site, seed=seed, comp=("salary", "rvu_production"))
    rng = np.random.default_rng(seed + 1)
    a = (df["comp_model"] == "rvu_production").to_numpy(float)
    cov = 0.4 * (df["role"] == "advanced_practice").to_numpy(float)
    df["burned_out"] = (rng.random(len(df)) < expit(-0.4 + A_M * a + cov)).astype(int)
    m = df["burned_out"].to_numpy(float)
    lp_y = -1.8 + A_Y * a + M_Y * m + AM_Y * a * m + cov
    df["high_intent"] = (rng.random(len(df)) < expit(lp_y)).astype(float)
    return df


def true_natural_effects(df: pd.DataFrame) -> dict[str, float]:
    cov = 0.4 * (df["role"] == "advanced_practice").to_numpy(float)

    def pm(a):
        return expit(-0.4 + A_M * a + cov)

    def q(a, m):
        return expit(-1.8 + A_Y * a + M_Y * m + AM_Y * a * m + cov)

    def ey(a, a_star):
        return np.mean(pm(a_star) * q(a, 1) + (1 - pm(a_star)) * q(a, 0))

    nie, te = ey(1, 1) - ey(1, 0), ey(1, 1) - ey(0, 0)
    return {"nie": nie, "te": te, "share": nie / te}


def test_mediation_with_interaction_recovers_the_natural_effects():
    df = mediated(22)
    truth = true_natural_effects(df)
    med = burnout.mediation(df, resamples=300, seed=23)
    assert med.failures == 0 and med.resamples == 300
    for key in ("nie", "te", "share"):
        low, high = med.ci[key]
        assert low <= truth[key] <= high, (key, truth[key], med.ci[key])
    assert abs(med.nie - truth["nie"]) < 0.012 and abs(med.te - truth["te"]) < 0.03
    assert med.nie + med.nde == pytest.approx(med.te)
    assert med.te_excludes_zero
    assert med.e_value_nie[0] > med.e_value_nie[1] > 1


def mediation_unidentified(df, w) -> np.ndarray:
    """Resamples in which the mediator model's or the outcome model's counterfactual rows are
    not identified (:func:`unidentified_by_rank`)."""
    rows = w[:, pd.factorize(df["site_id"])[0]]
    rhs = FORMULA.split("~")[1]
    pay = "C(comp_model, Treatment('salary'))"
    mediator = [{"comp_model": a} for a in ("rvu_production", "salary")]
    outcome = [{"comp_model": a, "burned_out": m} for a in ("rvu_production", "salary")
               for m in (0, 1)]  # fmt: skip
    return unidentified_by_rank(df, rhs, rows, mediator) | unidentified_by_rank(
        df, f"{rhs} + burned_out + {pay}:burned_out", rows, outcome
    )


def test_mediation_counts_failed_resamples():
    # 2 of 12 sites under RVU production pay: a resample without either has no comparison
    df = mediated(24, n_sites=12, per_site=60)
    rvu_sites = ["S00", "S01"]
    df["comp_model"] = np.where(df["site_id"].isin(rvu_sites), "rvu_production", "salary")
    med = burnout.mediation(df, resamples=200, seed=25)
    w = burnout.site_weights(df["site_id"], 200, seed=25)
    codes = pd.Series(pd.factorize(df["site_id"])[0], index=df["site_id"]).groupby(level=0).first()
    without = w[:, codes[rvu_sites].to_numpy()].sum(axis=1) == 0
    unid = mediation_unidentified(df, w)
    assert without.sum() > 0 and (unid & ~without).sum() > 0
    assert med.failures == (without | unid).sum()


# -- dose-response ---------------------------------------------------------------------------------
def test_dose_response_recovers_a_simulated_shift_and_states_its_sample():
    df = survey(n_sites=30, per_site=80, seed=26)
    site_no = df["site_id"].str[1:].astype(float)
    df["pct_comp_productivity"] = np.where(df["comp_model"] == "salary", 0.0, 40.0) + site_no
    df["rvu_target_annual"] = np.where(df["comp_model"] == "salary", np.nan, 4000 + 100 * site_no)

    def lp(d):
        return -0.8 + 0.03 * d["pct_comp_productivity"]

    df = with_outcome(df, lp(df), 27)
    shifted = df.assign(pct_comp_productivity=df["pct_comp_productivity"] + 10)
    truth = expit(lp(shifted)).mean() / expit(lp(df)).mean()
    t = burnout.dose_response(df).set_index("model")
    row = t.loc["across_pay_models"]
    assert row["ci_low"] <= truth <= row["ci_high"] and abs(row["risk_ratio"] - truth) < 0.05
    assert row["per"] == 10 and row["responses"] == len(df)
    assert t.loc["sites_with_target", "responses"] == df["rvu_target_annual"].notna().sum()


# -- the tables of several comparisons, survey items and mediation ---------------------------------
def test_comparisons_tabulate_each_standardized_comparison_with_its_rows():
    df = survey(n_sites=12, per_site=25, seed=5)
    df = with_outcome(df, -0.2 + 0.7 * (df["comp_model"] == "rvu_production"), 6)
    exposures = [burnout.PAY["rvu_production"], burnout.PRACTICE["team_based_care"]]
    table, res = burnout.comparisons(df, exposures)
    assert list(res) == ["rvu_production", "team_based_care"]
    for e, (_, row) in zip(exposures, table.iterrows(), strict=True):
        alone = burnout.standardized(df, e).row()
        assert list(row.index) == list(alone)
        assert row["exposure"] == e.code and row["risk_ratio"] == pytest.approx(alone["risk_ratio"])
        assert row["people"] == alone["people"] and row["events"] == alone["events"]
    df["intent"] = with_outcome(df, 0.5 * (df["team_based_care"] == 1), 8)["burned_out"]
    _, intent = burnout.comparisons(df, exposures[1:], outcome="intent")
    assert (
        intent["team_based_care"].events == burnout.standardized(df, exposures[1], "intent").events
    )


def test_correlates_are_standardized_risk_ratios_per_point_of_each_item():
    df = survey(n_sites=12, per_site=25, seed=9)
    rng = np.random.default_rng(10)
    df["teamwork"] = rng.integers(1, 6, len(df)).astype(float)
    df["trust_in_leadership"] = rng.integers(1, 6, len(df)).astype(float)
    df.loc[:20, "teamwork"] = np.nan  # left out of the teamwork model only
    df = with_outcome(df, 0.8 - 0.3 * df["trust_in_leadership"], 11)
    out = burnout.correlates(df, ["trust_in_leadership", "teamwork"])
    assert list(out.columns) == [
        "item", "risk_ratio", "ci_low", "ci_high", "p", "responses", "people", "events"
    ]  # fmt: skip
    assert out["item"].tolist() == ["trust_in_leadership", "teamwork"]
    assert out["responses"].tolist() == [len(df), len(df) - 21]
    for item, row in out.set_index("item").iterrows():
        d = df.dropna(subset=[item])
        ref = smf.glm(f"{FORMULA} + {item}", d, family=sm.families.Binomial()).fit()
        up = ref.predict(d.assign(**{item: d[item] + 1})).mean() / ref.predict(d).mean()
        assert row["risk_ratio"] == pytest.approx(up, rel=1e-6)
        s = burnout.standardized(d, burnout.Exposure(item, item, shift=1.0), doses={item: 1.0})
        assert (row["ci_low"], row["ci_high"], row["p"]) == pytest.approx(
            (s.rr_low, s.rr_high, s.p)
        )
        assert row["people"] == s.people and row["events"] == int(d["burned_out"].sum())
    assert out.set_index("item").loc["trust_in_leadership", "ci_high"] < 1


def test_mediation_table_rows():
    m = burnout.Mediation(
        nie=0.02, nde=0.05, te=0.07, share=0.3, nie_rr=1.1,
        ci={"nie": (0.01, 0.03), "nde": (0.0, 0.1), "te": (0.03, 0.11), "nie_rr": (1.05, 1.2)},
        resamples=200, failures=0, n=500, people=140, events=37, n_sites=20,
    )  # fmt: skip
    assert m.table().to_dict("records") == [
        {"effect": "nie", "risk_difference": 0.02, "rd_ci_low": 0.01, "rd_ci_high": 0.03,
         "people": 140, "events": 37},
        {"effect": "nde", "risk_difference": 0.05, "rd_ci_low": 0.0, "rd_ci_high": 0.1,
         "people": 140, "events": 37},
        {"effect": "te", "risk_difference": 0.07, "rd_ci_low": 0.03, "rd_ci_high": 0.11,
         "people": 140, "events": 37},
    ]  # fmt: skip


def _mgmt_two_periods() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": ["A", "A"],
            "effective_from": pd.to_datetime(["2015-01-01", "2020-07-01"]),
            "effective_to": pd.to_datetime(["2020-06-30", None]),
            "comp_model": ["rvu_production", "salary"],
            "rvu_target_annual": [5200.0, np.nan],
            "pct_comp_productivity": [65.0, 0.0],
            "team_based_care": pd.array([False, True], dtype="boolean"),
            "support_staff_per_clinician": [1.2, 2.0],
            "clinician_in_governance": pd.array([False, True], dtype="boolean"),
            "admin_shadowing": pd.array([True, False], dtype="boolean"),
            "protected_time_pct": [0.0, 10.0],
        }
    )


def test_responses_on_the_first_and_last_day_of_a_management_period_types_and_columns():
    survey_rows = pd.DataFrame(
        {
            "response_id": ["last_day", "first_day"],
            "site_id": "A",
            "survey_date": pd.to_datetime(["2020-06-30", "2020-07-01"]),
            "clinician_id": ["c1", "c2"],
            "role": "physician",
            "burnout": pd.array([3, 2], dtype="Int64"),
            "intent_to_leave": pd.array([4, 3], dtype="Int64"),
            "trust_in_leadership": pd.array([2, 5], dtype="Int64"),
            "teamwork": [1.0, 4.0],
        }
    )
    sites = pd.DataFrame({"site_id": ["A"], "setting": ["psychiatry"]})
    r = burnout.responses(survey_rows, _mgmt_two_periods(), sites)
    assert r["response_id"].tolist() == ["last_day", "first_day"]
    assert r["comp_model"].tolist() == ["rvu_production", "salary"]  # both days included
    assert r["year"].dtype.kind == "i" and r["burned_out"].dtype.kind == "i"
    assert r["burned_out"].tolist() == [1, 0]
    assert all(r[p].dtype.kind == "i" for p in burnout.PRACTICES)
    assert r["trust_in_leadership"].tolist() == [2.0, 5.0] and r["teamwork"].tolist() == [1, 4]
    assert r["trust_in_leadership"].dtype == float and r["high_intent"].tolist() == [1.0, 0.0]
    assert not {"row", "to", "effective_from", "effective_to", "index"} & set(r.columns)
    assert list(r.index) == [0, 1]
    # two management rows in effect on one day (overlapping records): still one row each
    overlap = pd.concat([_mgmt_two_periods(), _mgmt_two_periods().iloc[[1]]], ignore_index=True)
    overlap.loc[2, "effective_from"] = pd.Timestamp("2020-01-01")
    twice = burnout.responses(survey_rows, overlap, sites)
    assert twice["response_id"].tolist() == ["last_day", "first_day"]


def test_standardized_row_and_prevalence_table_columns():
    df = survey(n_sites=12, per_site=25, seed=5)
    df = with_outcome(df, -0.2 + 0.7 * (df["comp_model"] == "rvu_production"), 6)
    s = burnout.standardized(df, burnout.PAY["rvu_production"])
    row = s.row()
    assert row == {
        "exposure": "rvu_production", "risk_exposed": s.risk_exposed,
        "risk_reference": s.risk_reference, "risk_ratio": s.rr, "ci_low": s.rr_low,
        "ci_high": s.rr_high, "risk_difference": s.rd, "rd_ci_low": s.rd_low,
        "rd_ci_high": s.rd_high, "p": s.p, "responses": s.n, "people": s.people,
        "events": s.events, "sites": s.n_sites,
    }  # fmt: skip
    assert s.rd_low < s.rd < s.rd_high and s.risk_exposed - s.risk_reference == s.rd
    t = burnout.prevalence_table(df, "role")
    assert list(t.columns) == [
        "role", "responses", "people", "burned_out", "share", "ci_low", "ci_high"
    ]  # fmt: skip
    assert (t["ci_low"] < t["share"]).all() and (t["share"] < t["ci_high"]).all()


def test_dose_response_applies_a_models_own_subset():
    df = survey(n_sites=24, per_site=30, seed=26)
    df = with_outcome(df, -0.5 + 0.05 * df["protected_time_pct"], 27)
    first_half = burnout.Dose(
        "protected_time_pct", "protected_time_pct", 10, "adjusted_set",
        subset=lambda r: r[r["site_id"] < "S12"],
    )  # fmt: skip
    t = burnout.dose_response(df, [first_half])
    part = df[df["site_id"] < "S12"]
    assert t["responses"].tolist() == [len(part)] and t["sites"].tolist() == [12]
    alone = burnout.dose_response(part, [burnout.DOSE_MODELS[-1]])
    assert t["risk_ratio"].tolist() == pytest.approx(alone["risk_ratio"].tolist())


def test_bootstrap_rr_draws_are_weighted_refits_by_hand():
    """Each draw: the model refitted with every response weighted by how often its site was
    drawn (statsmodels, frequency weights), standardized over the weighted responses. Rows
    missing something other than the outcome stay in."""
    df = survey(n_sites=12, per_site=25, seed=5)
    df = with_outcome(df, -0.2 + 0.7 * (df["comp_model"] == "rvu_production"), 6)
    df["intent_to_leave"] = np.where(np.arange(len(df)) % 3 == 0, np.nan, 2.0)
    df.loc[[0, 1], "burned_out"] = np.nan  # left out
    e = burnout.PAY["rvu_production"]
    draws, failures = burnout.bootstrap_rr(df, e, 4, seed=14)
    assert failures == 0 and len(draws) == 4
    d = df.dropna(subset=["burned_out"])
    w = burnout.site_weights(d["site_id"], 4, 14)
    codes = pd.factorize(d["site_id"])[0]
    for b in range(4):
        fw = w[b][codes]
        keep = fw > 0
        dk = d[keep]
        ref = smf.glm(FORMULA, dk, family=sm.families.Binomial(), freq_weights=fw[keep]).fit()
        r1 = np.average(ref.predict(dk.assign(comp_model="rvu_production")), weights=fw[keep])
        r0 = np.average(ref.predict(dk.assign(comp_model="salary")), weights=fw[keep])
        assert draws[b] == pytest.approx(r1 / r0, rel=1e-6)


def test_bootstrap_rr_fails_a_resample_without_one_side_of_the_comparison():
    df = survey(n_sites=14, per_site=20, seed=3, comp=("salary", "hybrid"))
    df.loc[df["site_id"].isin(["S00", "S01"]), "comp_model"] = "rvu_production"
    df = with_outcome(df, -0.2 + 0.5 * (df["comp_model"] == "rvu_production"), 4)
    draws, failures = burnout.bootstrap_rr(df, burnout.PAY["rvu_production"], 60, seed=5)
    w = burnout.site_weights(df["site_id"], 60, 5)
    codes = pd.Series(pd.factorize(df["site_id"])[0], index=df["site_id"]).groupby(level=0).first()
    rvu = codes[["S00", "S01"]].to_numpy()
    salary = codes[df.loc[df["comp_model"] == "salary", "site_id"].unique()].to_numpy()
    missing = (w[:, rvu].sum(axis=1) == 0) | (w[:, salary].sum(axis=1) == 0)
    # with one RVU site drawn, its pay may coincide with its practices, setting or role mix:
    # the comparison is then not identified (the draw would depend on where the fit started)
    rows = w[:, pd.factorize(df["site_id"])[0]]
    cfs = [{"comp_model": "rvu_production"}, {"comp_model": "salary"}]
    unidentified = unidentified_by_rank(df, FORMULA.split("~")[1], rows, cfs)
    assert missing.sum() > 0 and (unidentified & ~missing).sum() > 0
    failed = missing | unidentified
    assert failures == failed.sum() and len(draws) == 60 - failures
    again, _ = burnout.bootstrap_rr(df, burnout.PAY["rvu_production"], 60, seed=5)
    np.testing.assert_array_equal(draws, again)


def test_mean_difference_edges_sites_missing_rows_and_messages():
    df = survey(n_sites=10, per_site=20, seed=20)
    rng = np.random.default_rng(21)
    df["trust_in_leadership"] = 3.0 + 0.5 * df["admin_shadowing"] + rng.normal(0, 0.8, len(df))
    df["intent_to_leave"] = np.where(np.arange(len(df)) % 2 == 0, np.nan, 3.0)  # stays in
    df.loc[:4, "trust_in_leadership"] = np.nan  # left out
    d = burnout.mean_difference(df)  # exactly 10 sites: enough
    assert d.n == len(df) - 5 and d.n_sites == 10
    nine = df[df["site_id"] != "S09"]
    with pytest.raises(inference.TooFewSites, match="^model of trust_in_leadership: 9 site"):
        burnout.mean_difference(nine)
    with pytest.raises(inference.TooFewSites, match="^model of trust_in_leadership: 0 site"):
        burnout.mean_difference(df.assign(trust_in_leadership=np.nan))
    with pytest.raises(ValueError, match="^admin_shadowing does not vary apart from the adj"):
        burnout.mean_difference(df.assign(admin_shadowing=0))


def test_comparison_sides_take_the_factors_reference_level():
    x = pd.DataFrame(
        {
            "comp_hybrid": [0.0, 0.0, 1.0, 1.0, 0.0],
            "comp_rvu_production": [1.0, 0.0, 0.0, 0.0, 0.0],
            "team_based_care": [1.0, 1.0, 0.0, 1.0, 0.0],
        }
    )
    level, reference = burnout.comparison_sides(x, "comp_rvu_production")
    assert level.tolist() == [True, False, False, False, False]
    assert reference.tolist() == [False, True, False, False, True]  # salary, not hybrid
    with_, without = burnout.comparison_sides(x, "team_based_care")
    assert with_.tolist() == [True, True, False, True, False]
    assert without.tolist() == [False, False, True, False, True]


def test_odds_ratio_table_does_not_depend_on_the_responses_index():
    df = survey(n_sites=12, per_site=25, seed=5)
    df = with_outcome(df, -0.2 + 0.7 * (df["comp_model"] == "rvu_production"), 6)
    table = burnout.odds_ratio_table(df, burnout.logistic(df, "burned_out"))
    moved = df.sample(frac=1.0, random_state=2)
    moved.index = moved.index * 3 + 1000
    again = burnout.odds_ratio_table(moved, burnout.logistic(moved, "burned_out"))
    pd.testing.assert_frame_equal(table, again, check_exact=False, rtol=1e-7)
    rvu = table.set_index("term").loc["comp_rvu_production"]
    on = df[df["comp_model"] == "rvu_production"]
    off = df[df["comp_model"] == "salary"]
    assert rvu["events"] == min(on["burned_out"].sum(), off["burned_out"].sum())
    assert rvu["people"] == min(burnout.people(on), burnout.people(off))


def test_standardized_people_and_events_and_a_missing_side():
    df = survey(n_sites=12, per_site=25, seed=5)
    df = with_outcome(df, -0.2 + 0.7 * (df["comp_model"] == "rvu_production"), 6)
    e = burnout.PAY["rvu_production"]
    on, off = e.sides(df)
    assert (on["comp_model"] == "rvu_production").all() and len(on) > 0
    assert (off["comp_model"] == "salary").all() and len(off) > 0
    assert len(on) + len(off) == (df["comp_model"] != "hybrid").sum()
    s = burnout.standardized(df, e)
    assert s.exposure == "rvu_production"
    assert s.people == min(burnout.people(on), burnout.people(off))
    assert s.events == min(on["burned_out"].sum(), off["burned_out"].sum())
    shift = burnout.Exposure("protected_time_pct", "protected_time_pct", shift=10.0)
    s2 = burnout.standardized(df, shift, doses={"protected_time_pct": 10.0})
    assert s2.people == burnout.people(df) and s2.events == df["burned_out"].sum()
    for absent in ("rvu_production", "salary"):
        without = df[df["comp_model"] != absent]
        with pytest.raises(ValueError, match="^no responses on one side of rvu_production$"):
            burnout.standardized(without, e)


def _natural_effects_by_hand(d: pd.DataFrame, fw: np.ndarray | None = None) -> dict[str, float]:
    """Mediator and outcome models fitted by statsmodels (frequency weights ``fw``), the
    g-computation of E[Y(a, M(a*))] averaged over the (weighted) responses."""
    fw = np.ones(len(d)) if fw is None else fw
    d = d.assign(rvu_x_m=(d["comp_model"] == "rvu_production") * d["burned_out"])
    glm = {"family": sm.families.Binomial(), "freq_weights": fw}
    med = smf.glm(FORMULA, d, **glm).fit()
    out = smf.glm(
        FORMULA.replace("burned_out ~", "high_intent ~") + " + burned_out + rvu_x_m", d, **glm
    ).fit()

    def pm(a):
        return med.predict(d.assign(comp_model="rvu_production" if a else "salary")).to_numpy()

    def q(a, m):
        comp = "rvu_production" if a else "salary"
        return out.predict(d.assign(comp_model=comp, burned_out=m, rvu_x_m=a * m)).to_numpy()

    def ey(a, a_star):
        return np.average(pm(a_star) * q(a, 1) + (1 - pm(a_star)) * q(a, 0), weights=fw)

    y11, y10, y00 = ey(1, 1), ey(1, 0), ey(0, 0)
    return {
        "nie": y11 - y10, "nde": y10 - y00, "te": y11 - y00,
        "share": (y11 - y10) / (y11 - y00), "nie_rr": y11 / y10,
    }  # fmt: skip


def test_mediation_point_and_bootstrap_draws_equal_weighted_refits_by_hand():
    """(Where a resample's design is rank-deficient the refit is not identified and the two
    computations may differ: the resamples here are all of full rank.)"""
    df = mediated(40, n_sites=20, per_site=25)
    df["intent_to_leave"] = np.where(np.arange(len(df)) % 4 == 0, np.nan, 3.0)  # stays in
    df.loc[[0, 1], "high_intent"] = np.nan  # left out
    med = burnout.mediation(df, resamples=5, seed=3)
    d = df.dropna(subset=["burned_out", "high_intent"])
    point = _natural_effects_by_hand(d)
    for key, value in point.items():
        assert getattr(med, key) == pytest.approx(value, rel=1e-6), key
    w = burnout.site_weights(d["site_id"], 5, 3)
    codes = pd.factorize(d["site_id"])[0]
    x = burnout.design(d, interact="burned_out").to_numpy()
    assert all(np.linalg.matrix_rank(x[w[b][codes] > 0]) == x.shape[1] for b in range(5))
    draws = [_natural_effects_by_hand(d, w[b][codes]) for b in range(5)]
    assert med.failures == 0 and med.resamples == 5
    for key in point:
        expected = np.percentile([dr[key] for dr in draws], [2.5, 97.5])
        assert med.ci[key] == pytest.approx(tuple(expected), rel=1e-6), key
    on = d[d["comp_model"] == "rvu_production"]
    off = d[d["comp_model"] == "salary"]
    assert med.n == len(d) and med.n_sites == 20
    assert med.people == min(burnout.people(on), burnout.people(off))
    assert med.events == min(on["high_intent"].sum(), off["high_intent"].sum())


def test_mediation_defaults_edges_and_refusals():
    df = mediated(41, n_sites=10, per_site=30)
    default = burnout.mediation(df)  # 10 sites: enough
    assert default.resamples == 1000 and default.n_sites == 10
    assert default.ci == burnout.mediation(df, resamples=1000, seed=0).ci
    with pytest.raises(inference.TooFewSites, match="^mediation: 9 site"):
        burnout.mediation(df[df["site_id"] != "S09"], resamples=5)
    with pytest.raises(inference.TooFewSites, match="^mediation: 0 site"):
        burnout.mediation(df.assign(high_intent=np.nan), resamples=5)
    for only in ("rvu_production", "salary"):
        with pytest.raises(ValueError, match="^no responses under rvu_production or under sal"):
            burnout.mediation(df.assign(comp_model=only), resamples=5)
    separated = df.assign(high_intent=df["burned_out"].astype(float))  # the outcome model only
    with pytest.raises(ValueError, match="^the mediator or outcome model did not converge$"):
        burnout.mediation(separated, resamples=5)


def test_mediation_fails_resamples_without_salary_and_gives_no_interval_without_any():
    df = mediated(42, n_sites=12, per_site=40)
    salary = ["S00", "S01"]
    df["comp_model"] = np.where(df["site_id"].isin(salary), "salary", "rvu_production")
    w = burnout.site_weights(df["site_id"], 100, 7)
    codes = pd.Series(pd.factorize(df["site_id"])[0], index=df["site_id"]).groupby(level=0).first()
    without = w[:, codes[salary].to_numpy()].sum(axis=1) == 0
    med = burnout.mediation(df, resamples=100, seed=7)
    assert without.sum() > 0 and med.failures == (without | mediation_unidentified(df, w)).sum()
    seed = next(s for s in range(100) if burnout.site_weights(df["site_id"], 1, s)[
        0, codes[salary].to_numpy()].sum() == 0)  # fmt: skip
    none = burnout.mediation(df, resamples=1, seed=seed)
    assert none.failures == 1
    assert all(len(v) == 2 and np.isnan(v).all() for v in none.ci.values())


def test_design_indicator_values_index_and_counterfactual_columns():
    df = survey(n_sites=12, per_site=20, seed=5)
    df.index = df.index + 500
    x = burnout.design(df)
    assert x.index.equals(df.index)
    assert x["role_advanced_practice"].tolist() == (df["role"] == "advanced_practice").tolist()
    assert x["year_2021"].tolist() == (df["year"] == 2021).tolist()
    sub = df[df["role"] == "physician"]  # no advanced practice or behavioral health here
    cf = burnout.design(sub, columns=list(x.columns))
    assert list(cf.columns) == list(x.columns) and cf.index.equals(sub.index)
    assert (cf["role_advanced_practice"] == 0).all() and (cf["const"] == 1).all()


def test_design_drops_a_column_dependent_on_the_others_up_to_rounding():
    df = survey(n_sites=12, per_site=20, seed=5)
    noise = np.random.default_rng(1).normal(0, 1e-9, len(df))
    df["protected_time_pct"] = 10.0 * df["team_based_care"] + 5.0 + noise  # no variation of its own
    with pytest.raises(ValueError, match="^protected_time_pct does not vary apart"):
        burnout.design(df, doses={"protected_time_pct": 10.0})
    df["protected_time_pct"] += np.random.default_rng(2).normal(0, 1.0, len(df))
    assert "protected_time_pct_per" in burnout.design(df, doses={"protected_time_pct": 10.0})


def test_logistic_refusals_and_interactions():
    df = survey(n_sites=10, per_site=20, seed=5)
    df = with_outcome(df, -0.2 + 0.7 * (df["comp_model"] == "rvu_production"), 6)
    df["late"] = np.random.default_rng(7).integers(0, 2, len(df))
    fit = burnout.logistic(df, "burned_out", interact="late")  # exactly 10 sites
    assert "comp_rvu_production:late" in fit.columns and fit.n_sites == 10
    with pytest.raises(inference.TooFewSites, match="^model of burned_out: 9 site"):
        burnout.logistic(df[df["site_id"] != "S09"], "burned_out")
    with pytest.raises(inference.TooFewSites, match="^model of burned_out: 0 site"):
        burnout.logistic(df.iloc[:0], "burned_out")
    separated = df.assign(burned_out=(df["comp_model"] == "rvu_production").astype(int))
    with pytest.raises(
        ValueError, match=r"^the logistic model did not converge \(separation or too few events\)$"
    ):
        burnout.logistic(separated, "burned_out")


def test_people_of_no_response_and_of_one():
    r = pd.DataFrame({"clinician_id": ["a"], "year": [2022]})
    assert burnout.people(r.iloc[:0]) == 0 and burnout.people(r) == 1
    assert burnout.people(r.assign(clinician_id=None)) == 1


def test_batched_fits_with_one_start_and_one_separated_resample():
    rng = np.random.default_rng(3)
    n = 200
    x = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = (rng.random(n) < expit(0.3 + 0.8 * x[:, 1])).astype(float)
    good = np.ones(n)
    sep = np.where((x[:, 1] > 0) == (y == 1), 1.0, 0.0)  # only rows that separate
    beta, ok = burnout.fit_logistic(x, y, np.vstack([good, sep, good]), start=[0, 0])
    assert ok.tolist() == [True, False, True]
    one = sm.GLM(y, x, family=sm.families.Binomial()).fit().params
    np.testing.assert_allclose(beta[0], one, rtol=1e-7)
    np.testing.assert_allclose(beta[2], one, rtol=1e-7)


def test_odds_ratio_table_reports_every_term_but_intercept_years_and_doses():
    df = survey(n_sites=12, per_site=25, seed=5)
    df = with_outcome(df, -0.2 + 0.7 * (df["comp_model"] == "rvu_production"), 6)
    fit = burnout.logistic(df, "burned_out", doses={"protected_time_pct": 10.0})
    table = burnout.odds_ratio_table(df, fit)
    assert list(table.columns) == ["term", "or", "ci_low", "ci_high", "p", "people", "events"]
    reported = [c for c in fit.columns if c != "const" and not c.startswith("year_")]
    assert table["term"].tolist() == [c for c in reported if not c.endswith("_per")]
    se = np.sqrt(np.diag(fit.cov))
    for _, row in table.iterrows():
        j = fit.columns.index(row["term"])
        assert row["p"] == inference.t_p_value(fit.beta[j], se[j], 12)
    tbc = table.set_index("term").loc["team_based_care"]
    on, off = df[df["team_based_care"] == 1], df[df["team_based_care"] == 0]
    assert tbc["events"] == min(on["burned_out"].sum(), off["burned_out"].sum())


def test_a_comparison_lost_to_collinearity_is_unidentified_other_collinearity_is_not():
    # exposure and covariate differ only on rows 0-99; a resample without them cannot tell
    # the two apart, and its counterfactual risks would depend on where the fit started
    rng = np.random.default_rng(5)
    n = 400
    expo = rng.integers(0, 2, n).astype(float)
    cov = expo.copy()
    cov[:100] = rng.integers(0, 2, 100)
    other = rng.integers(0, 2, n).astype(float)
    twin = other.copy()
    twin[100:200] = 1 - twin[100:200]  # coincides with `other` outside rows 100-199
    x = np.column_stack([np.ones(n), expo, cov, other, twin])
    y = rng.binomial(1, expit(-0.5 + 0.6 * expo + 0.3 * cov + 0.2 * other)).astype(float)
    weights = np.ones((4, n))
    weights[1, :100] = 0  # exposure = covariate: the comparison is lost
    weights[2, 100:200] = 0  # other = twin: collinear, but the comparison does not see it
    weights[3, :50] = 0  # full rank
    x1, x0 = x.copy(), x.copy()
    x1[:, 1], x0[:, 1] = 1.0, 0.0
    got = burnout.unidentified(x, weights, [(x1, weights), (x0, weights)])
    assert got.tolist() == [False, True, False, False]
    # the fits themselves converge: fitted values are identified either way
    beta, ok = burnout.fit_logistic(x, y, weights)
    assert ok.all()
    # where the comparison is identified, the risks do not depend on the starting point
    other_start = burnout.fit_logistic(x, y, weights, start=np.array([0, 1.0, -1.0, 0.5, -0.5]))[0]
    for b, same in ((1, False), (2, True), (3, True)):
        wb = weights[b]
        r = [
            np.average(expit(bb[b] @ x1.T), weights=wb)
            / np.average(expit(bb[b] @ x0.T), weights=wb)
            for bb in (beta, other_start)
        ]
        assert (abs(r[0] - r[1]) < 1e-6) == same, (b, r)
    # a column no row uses is left out, not counted against the comparison
    lone = np.column_stack([x, np.r_[np.ones(10), np.zeros(n - 10)]])
    w = np.ones((1, n))
    w[0, :10] = 0
    x1l, x0l = lone.copy(), lone.copy()
    x1l[:, 1], x0l[:, 1] = 1.0, 0.0
    assert burnout.unidentified(lone, w, [(x1l, w), (x0l, w)]).tolist() == [False]


def test_identification_does_not_depend_on_the_scale_of_a_column():
    # a dose in tiny units and a count in large ones: full rank whatever the units
    rng = np.random.default_rng(9)
    n = 300
    expo = rng.integers(0, 2, n).astype(float)
    x = np.column_stack([np.ones(n), expo, 1e-4 * rng.normal(size=n), 1e5 * rng.normal(size=n)])
    w = np.ones((1, n))
    x1, x0 = x.copy(), x.copy()
    x1[:, 1], x0[:, 1] = 1.0, 0.0
    assert burnout.unidentified(x, w, [(x1, w), (x0, w)]).tolist() == [False]
    # and a comparison lost to collinearity is found in those units too
    tied = x.copy()
    tied[:, 2] = 1e-4 * expo  # a column that moves with the exposure, in tiny units
    t1, t0 = tied.copy(), tied.copy()
    t1[:, 1], t0[:, 1] = 1.0, 0.0
    assert burnout.unidentified(tied, w, [(t1, w), (t0, w)]).tolist() == [True]
