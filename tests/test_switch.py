"""The switch study: the imputation estimator against simulated truth, a hand computation and
pyfixest; the pre-trend test; the stratified site bootstrap; refusal with few switching sites."""

import time

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from helpers.analysis import switch
from helpers.analysis.inference import TooFewSites


def simulate(
    n_switch=12,
    n_never=12,
    years=8,
    switch_years=None,
    effect=lambda k: 0.6,
    pre_trend=0.0,
    base=0.1,
    exposure=(10.0, 20.0),
    seed=0,
):
    """Site-year exits ~ Poisson(clinician-years x base x site effect x year effect x switch
    effect), switches staggered over the window.

    ``effect(k)`` is the rate ratio k years after the switch (the switch year, k = 0, is given
    half the first year's effect); ``pre_trend`` adds exp(pre_trend * (rel + 4)) to the last
    three years before a switch. Returns the panel and the aggregated truth: expected
    post-switch exits over their counterfactual, both from the true means.
    """
    rng = np.random.default_rng(seed)
    n = n_switch + n_never
    if switch_years is None:
        switch_years = np.linspace(1, years - 2, n_switch).round().astype(int)
    alpha = rng.normal(0, 0.3, n)
    gamma = rng.normal(0, 0.15, years)
    rows = []
    for i in range(n):
        s = switch_years[i] if i < n_switch else None
        for t in range(years):
            e = rng.uniform(*exposure)
            mu0 = e * base * np.exp(alpha[i] + gamma[t])
            rel = np.nan if s is None else t - s
            mult = 1.0
            if rel >= 1:
                mult = effect(rel)
            elif rel == 0:
                mult = 0.5 * (1 + effect(1))
            elif -3 <= rel <= -1:
                mult = np.exp(pre_trend * (rel + 4))
            rows.append((f"S{i:02d}", 2010 + t, e, mu0, mult, rel, np.nan if s is None else s))
    d = pd.DataFrame(
        rows, columns=["site_id", "year", "clinician_years", "mu0", "mult", "rel", "switch_year"]
    )
    d["switch_year"] = d["switch_year"] + 2010
    d["exits"] = rng.poisson(d["mu0"] * d["mult"])
    d["clinicians"] = np.ceil(d["clinician_years"]).astype(int)
    post = d["rel"] >= 1
    truth = float((d.loc[post, "mu0"] * d.loc[post, "mult"]).sum() / d.loc[post, "mu0"].sum())
    return d, truth


def ramp(k):
    """An effect that grows with time since the switch: 0.78, 0.61, 0.47, 0.37, ..."""
    return float(np.exp(-0.25 * k))


def test_twfe_is_biased_and_imputation_recovers_a_growing_effect():
    # most sites switch, early and late; the effect deepens with time since the switch; large
    # sites so that the bias of TWFE (about +0.2 on the log scale over 40 seeds) stands well
    # clear of the noise (SD of the log estimate about 0.04)
    panel, truth = simulate(
        n_switch=16,
        n_never=4,
        years=10,
        switch_years=np.linspace(2, 8, 16).round().astype(int),
        effect=ramp,
        exposure=(600, 900),
        seed=0,
    )
    res = switch.imputation(panel, lags=(-3, 6), reps=199, seed=1)
    conventional = switch.twfe(panel)
    assert res.ci_low <= truth <= res.ci_high
    assert abs(np.log(res.rr / truth)) < 0.1
    # TWFE compares later switchers with sites already switched: pulled towards no effect
    assert np.log(conventional.rr / truth) > 0.1
    assert not conventional.ci_low <= truth <= conventional.ci_high
    # the dynamic path follows the simulated ramp
    after = res.path[res.path["period"] == "after_switch"].set_index("year_rel")
    for k in (1, 2, 3):
        assert abs(np.log(after.loc[k, "rr"] / ramp(k))) < 0.1
    assert res.n_switch_sites == 16 and res.n_sites == 20


def ab_year_ratio(panel: pd.DataFrame) -> float:
    """The 2012/2010 exit-rate ratio of the two-way Poisson model (site and year effects,
    clinician-years as exposure) fitted by statsmodels to the never-switching sites A and B."""
    ab = panel[panel["site_id"] != "C"]
    x = pd.get_dummies(ab[["site_id"]].astype(str)).astype(float)
    x["y2011"], x["y2012"] = (ab["year"] == 2011) * 1.0, (ab["year"] == 2012) * 1.0
    glm = sm.GLM(
        ab["exits"], x, family=sm.families.Poisson(), offset=np.log(ab["clinician_years"])
    ).fit()
    return float(np.exp(glm.params["y2012"]))


def test_imputed_counterfactual_matches_a_hand_computation():
    # sites A and B never switch, C switches in 2011 (left out) and is treated in 2012
    panel = hand_panel()
    cells, rows = switch.cells_from_panel(panel)
    fit = switch.imputation_fit(cells, lags=(-1, 1))
    # untreated cells: A and B in all years, C in 2010 -> C's site effect from 2010 alone, so
    # C's imputed 2012 exits = C's 2010 rate x 2012/2010 year ratio x exposure, with the year
    # ratio from the A-B two-way model: A, B x 2010, 2011, 2012 with offsets
    ratio = ab_year_ratio(panel)  # 2012 vs 2010
    c = panel.set_index(["site_id", "year"])
    expected = c.loc[("C", 2010), "exits"] / c.loc[("C", 2010), "clinician_years"]
    expected *= ratio * c.loc[("C", 2012), "clinician_years"]
    assert fit.expected == pytest.approx(expected, rel=1e-8)
    assert fit.rr == pytest.approx(2 / expected, rel=1e-8)
    # the untreated cells are fitted, the switch year is not in the estimation cells
    assert len(rows) == 8 and not (rows["rel"] == 0).any()


def test_imputation_matches_statsmodels_on_a_random_panel():
    panel, _ = simulate(n_switch=6, n_never=5, years=6, seed=11)
    cells, rows = switch.cells_from_panel(panel)
    fit = switch.imputation_fit(cells)
    untreated = rows[~(rows["rel"] >= 1)]
    glm = sm.GLM.from_formula(
        "exits ~ C(site_id) + C(year)",
        data=untreated,
        family=sm.families.Poisson(),
        offset=np.log(untreated["clinician_years"]),
    ).fit(tol=1e-12)
    post = rows[rows["rel"] >= 1]
    mu0 = glm.predict(post, offset=np.log(post["clinician_years"]))
    assert fit.expected == pytest.approx(float(mu0.sum()), rel=1e-6)
    assert fit.rr == pytest.approx(post["exits"].sum() / float(mu0.sum()), rel=1e-6)
    # per row: the untreated rows' fitted means, the post-switch rows' counterfactual
    assert fit.imputed.dtype == float
    np.testing.assert_allclose(fit.imputed[untreated.index], glm.fittedvalues, rtol=1e-6)
    np.testing.assert_allclose(fit.imputed[post.index], mu0, rtol=1e-6)


def test_fixed_effects_poisson_agrees_with_pyfixest():
    pf = pytest.importorskip("pyfixest")
    panel, _ = simulate(n_switch=8, n_never=8, years=8, pre_trend=0.3, seed=5)
    cells, rows = switch.cells_from_panel(panel)
    untreated = rows[~(rows["rel"] >= 1)].copy()
    lead = np.where(untreated["rel"].between(-3, -1), -untreated["rel"], 0).astype(int)
    for k in (1, 2, 3):
        untreated[f"lead{k}"] = (lead == k).astype(float)
    untreated["log_cy"] = np.log(untreated["clinician_years"])
    ref = pf.fepois(
        "exits ~ lead1 + lead2 + lead3 | site_id + year",
        data=untreated,
        offset="log_cy",
        vcov={"CRV1": "site_id"},
        ssc=pf.ssc(k_adj=False, G_adj=True),  # G/(G-1) only, as helpers.analysis.inference.cr1
        fixef_rm="none",  # keep a site with one untreated year (it counts as a cluster)
        iwls_tol=1e-12,
    )
    rr, cov = switch.pretrend_fit(cells, 3)  # order -3, -2, -1
    names = ["lead3", "lead2", "lead1"]
    np.testing.assert_allclose(rr, np.exp(ref.coef()[names].to_numpy()), rtol=1e-6)
    np.testing.assert_allclose(cov, ref._vcov[np.ix_([2, 1, 0], [2, 1, 0])], rtol=1e-5)


def test_standard_error_is_the_derivative_in_site_weights():
    # the linearised SE of log rr = sqrt(G/(G-1) sum_g psi_g^2), psi_g the derivative of log rr
    # in the weight of site g (the infinitesimal jackknife), here by finite differences of a
    # weighted statsmodels fit
    panel, _ = simulate(n_switch=5, n_never=5, years=6, exposure=(30, 40), seed=8)
    cells, rows = switch.cells_from_panel(panel)
    fit = switch.imputation_fit(cells)
    untreated, post = rows[~(rows["rel"] >= 1)], rows[rows["rel"] >= 1]

    def log_rr(weights):
        w = untreated["site_id"].map(weights)
        glm = sm.GLM.from_formula(
            "exits ~ C(site_id) + C(year)",
            data=untreated,
            family=sm.families.Poisson(),
            offset=np.log(untreated["clinician_years"]),
            var_weights=w,
        ).fit(tol=1e-13)
        mu0 = glm.predict(post, offset=np.log(post["clinician_years"]))
        wp = post["site_id"].map(weights)
        return np.log((wp * post["exits"]).sum() / (wp * mu0).sum())

    sites = sorted(rows["site_id"].unique())
    base, h = log_rr(dict.fromkeys(sites, 1.0)), 1e-5
    psi = [(log_rr({**dict.fromkeys(sites, 1.0), s: 1 + h}) - base) / h for s in sites]
    g = len(sites)
    assert fit.se == pytest.approx(np.sqrt(g / (g - 1) * np.sum(np.square(psi))), rel=1e-3)
    assert base == pytest.approx(np.log(fit.rr), rel=1e-8)


def test_fe_poisson_gives_a_site_without_exits_a_zero_factor():
    y = np.array([0.0, 0.0, 3.0, 5.0, 2.0, 4.0])
    e = np.ones(6) * 10
    site, year = np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 0, 1, 0, 1])
    fit = switch.fe_poisson(y, e, [site, year], [3, 2])
    assert fit.factors[0][0] == 0 and fit.mu[0] == 0 and fit.mu[1] == 0
    assert fit.mu[2:].sum() == pytest.approx(y[2:].sum())  # Poisson fits the total


def test_pretrend_test_rejects_a_pretrend_and_not_its_absence():
    # five seeds, the same panels with and without exits rising in the 3 years before a switch
    kw = {"n_switch": 12, "n_never": 8, "years": 9, "exposure": (40, 60)}
    p_flat, p_trend = [], []
    for seed in range(1, 6):
        for pre_trend, out in ((0.0, p_flat), (0.5, p_trend)):
            cells, _ = switch.cells_from_panel(simulate(**kw, pre_trend=pre_trend, seed=seed)[0])
            test = switch.pretrend_test(cells, 3, reps=99, seed=seed)
            assert test.df == 3 and test.replicates + test.failures == 99
            out.append(test.p_value)
    assert max(p_trend) < 0.05  # every simulated pre-trend is found
    assert sum(p < 0.05 for p in p_flat) <= 1  # at most one false alarm in five


def test_bootstrap_draws_whole_sites_within_strata():
    panel, _ = simulate(n_switch=7, n_never=9, years=7, seed=2)
    cells, _ = switch.cells_from_panel(panel)
    switching, others = switch.strata(cells)
    assert len(switching) == 7 and len(others) == 9
    rng = np.random.default_rng(0)
    for idx, site in switch.bootstrap_rows(cells, 20, rng):
        drawn = []
        for new in np.unique(site):
            rows = idx[site == new]
            orig = np.unique(cells.site[rows])
            assert len(orig) == 1  # one drawn site is one original site ...
            assert set(rows) == set(np.flatnonzero(cells.site == orig[0]))  # ... all its rows
            drawn.append(orig[0])
        drawn = np.array(drawn)
        assert np.isin(drawn, switching).sum() == 7  # as many switching sites as the data
        assert np.isin(drawn, others).sum() == 9
    assert len(set(drawn)) < len(drawn)  # with replacement: some site drawn twice


def test_few_switching_sites_are_refused():
    # a ValueError, which Analysis.guarded registers as an unavailable finding with the reason
    assert issubclass(switch.TooFewSwitchSites, ValueError)
    panel, _ = simulate(n_switch=4, n_never=20, seed=1)
    with pytest.raises(switch.TooFewSwitchSites, match="4 switching site"):
        switch.imputation(panel, reps=9)
    # enough switching sites but too few sites in all
    panel, _ = simulate(n_switch=6, n_never=2, seed=1)
    with pytest.raises(TooFewSites, match="^switch study: 8 site"):
        switch.imputation(panel, reps=9)
    # five switching sites (MIN_SWITCH_SITES) and ten sites (MIN_SITES) are enough
    panel, _ = simulate(n_switch=5, n_never=5, seed=1)
    assert switch.imputation(panel, reps=9).n_switch_sites == 5


def test_switching_site_without_a_year_before_is_left_out():
    panel, _ = simulate(n_switch=7, n_never=8, seed=4)
    early = panel["site_id"] == "S00"
    panel.loc[early, "switch_year"] = 2010  # switched in the window's first year
    panel.loc[early, "rel"] = panel.loc[early, "year"] - 2010
    res = switch.imputation(panel, reps=19)
    assert res.n_switch_sites == 6 and res.n_sites == 14
    assert "cannot be imputed" in res.notes[0]


def test_pay_paths_censor_other_moves():
    m = pd.DataFrame(
        {
            "site_id": ["A", "A", "A", "B", "B", "C", "D"],
            "effective_from": pd.to_datetime(
                [
                    "2010-01-01",
                    "2019-03-01",
                    "2022-01-01",
                    "2010-01-01",
                    "2020-06-01",
                    "2010-01-01",
                    "2010-01-01",
                ]
            ),
            "effective_to": pd.to_datetime(
                ["2019-02-28", "2021-12-31", None, "2020-05-31", None, None, None]
            ),
            "comp_model": [
                "rvu_production",
                "salary",
                "hybrid",
                "rvu_production",
                "hybrid",
                "rvu_production",
                "salary",
            ],
        }
    )
    window = (pd.Timestamp("2017-01-01"), pd.Timestamp("2024-12-31"))
    p = switch.pay_paths(m, window)
    assert p.loc["A", "switch"] == pd.Timestamp("2019-03-01")
    assert p.loc["A", "censor"] == pd.Timestamp("2022-01-01")  # left salary later
    assert pd.isna(p.loc["B", "switch"]) and p.loc["B", "censor"] == pd.Timestamp("2020-06-01")
    assert pd.isna(p.loc["C", "switch"]) and pd.isna(p.loc["C", "censor"])
    assert p.loc["D", "pay_at_start"] == "salary"


def test_published_tables_and_figure_use_the_label_dictionary():
    import matplotlib.pyplot as plt

    from helpers.report import labels

    panel, _ = simulate(n_switch=8, n_never=8, seed=6)
    res = switch.imputation(panel, reps=29)
    res.twfe, res.twfe_path = switch.twfe(panel), switch.event_study(panel)
    tables = [
        switch.path_table(res),
        switch.pretrend_table(res),
        switch.estimator_table(res, res.twfe, 100),
    ]
    for table in tables:
        for col in table.columns:
            if any(col in pair for pair in labels.CI_PAIRS):
                continue
            labels.column(col)  # raises for a column without a label
            if labels.column(col)[1] == "text" and col != "leads":
                assert set(table[col]) <= set(labels.VALUES), col
    # intervals sit right after their estimate
    for table in tables:
        cols = list(table.columns)
        if "ci_low" in cols:
            assert cols[cols.index("ci_low") - 1 : cols.index("ci_low") + 2] == [
                "rr",
                "ci_low",
                "ci_high",
            ]
    fig, ax = plt.subplots()
    shown = res.path.astype(object)
    shown.loc[0, ["rr", "ci_low", "ci_high", "clinicians"]] = "suppressed"  # as run.table does
    switch.plot_path(ax, shown, res.twfe_path)
    drawn = sum(len(c.lines[0].get_xdata()) for c in ax.containers)
    assert drawn == len(res.path) - 1 + len(res.twfe_path)  # the suppressed row is not drawn
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "Imputation (this study)",
        "Two-way fixed effects (conventional)",
    ]
    plt.close(fig)


def test_event_study_equals_a_poisson_fit_with_binned_indicators_by_hand():
    """Indicators of years -3 (or earlier) .. 4 (or later) relative to the switch but -1, the
    reference; site and year effects; log clinician-years offset; site-clustered SEs with
    t(G-1) intervals."""
    import statsmodels.formula.api as smf
    from scipy import stats

    d, _ = simulate(n_switch=10, n_never=6, years=10, effect=ramp, seed=4)
    es = switch.event_study(d)
    assert list(es.columns) == ["year_rel", "rr", "ci_low", "ci_high"]
    assert es["year_rel"].tolist() == list(range(-3, 5)) and list(es.index) == list(range(8))
    ref = es.set_index("year_rel").loc[-1]
    assert (ref["rr"], ref["ci_low"], ref["ci_high"]) == (1.0, 1.0, 1.0)
    h = d.copy()
    rel = h["rel"].clip(-3, 4)
    names = {}
    for k in [-3, -2, 0, 1, 2, 3, 4]:
        names[k] = f"k{k + 3}"
        h[names[k]] = ((rel == k) & h["switch_year"].notna()).astype(float)
    fit = smf.glm(
        "exits ~ " + " + ".join(names.values()) + " + C(site_id) + C(year)", data=h,
        family=sm.families.Poisson(), offset=np.log(h["clinician_years"]),
    ).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(h["site_id"])[0]})  # fmt: skip
    q = stats.t.ppf(0.975, 15)
    for k, n in names.items():
        row = es.set_index("year_rel").loc[k]
        b, se = fit.params[n], fit.bse[n]
        assert row["rr"] == pytest.approx(np.exp(b), rel=1e-9)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(
            (np.exp(b - q * se), np.exp(b + q * se)), rel=1e-9
        )
    with pytest.raises(TooFewSites, match="^two-way fixed-effects event study: 9 site"):
        switch.event_study(d[d["site_id"].isin(d["site_id"].unique()[:9])])


def test_pay_paths_on_the_window_edges():
    window = (pd.Timestamp("2017-01-01"), pd.Timestamp("2024-12-31"))
    m = pd.DataFrame(
        {
            "site_id": ["E", "E", "F", "F", "G", "G", "G", "H", "H"],
            "effective_from": pd.to_datetime(
                ["2010-01-01", "2017-01-01", "2010-01-01", "2024-12-31", "2010-01-01",
                 "2018-01-01", "2019-01-01", "2017-01-01", "2025-01-01"]
            ),
            "effective_to": pd.to_datetime(
                ["2016-12-31", None, "2024-12-30", None, "2017-12-31", "2018-12-31", None,
                 "2024-12-31", None]
            ),
            "comp_model": ["salary", "rvu_production", "rvu_production", "salary",
                           "rvu_production", "rvu_production", "salary_plus_quality",
                           "rvu_production", "salary"],
        }
    )  # fmt: skip
    p = switch.pay_paths(m, window)
    assert list(p.columns) == ["pay_at_start", "switch", "to", "censor"]
    assert p.index.tolist() == ["E", "F", "G", "H"]
    # E: RVU from the window's first day (a change on that day is not a move in it)
    assert p.loc["E", "pay_at_start"] == "rvu_production" and pd.isna(p.loc["E", "switch"])
    assert p.loc["F", "switch"] == window[1] and p.loc["F", "to"] == "salary"  # last day
    # G: a new record with the same pay model is not a move; the switch is the later one
    assert p.loc["G", "switch"] == pd.Timestamp("2019-01-01") and pd.isna(p.loc["G", "censor"])
    assert p.loc["G", "to"] == "salary_plus_quality"
    assert pd.isna(p.loc["H", "switch"]) and p.loc["H", "to"] is None  # after the window


def test_twfe_interval_is_t_on_the_site_clustered_se_of_a_direct_fit():
    import statsmodels.formula.api as smf
    from scipy import stats

    d, _ = simulate(n_switch=10, n_never=6, years=10, effect=ramp, seed=5)
    res = switch.twfe(d)
    est = d[d["rel"].isna() | (d["rel"] != 0)].assign(after=lambda e: (e["rel"] >= 1) * 1.0)
    fit = smf.glm(
        "exits ~ after + C(site_id) + C(year)", data=est, family=sm.families.Poisson(),
        offset=np.log(est["clinician_years"]),
    ).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(est["site_id"])[0]})  # fmt: skip
    b, se, q = fit.params["after"], fit.bse["after"], stats.t.ppf(0.975, 15)
    assert res.rr == pytest.approx(np.exp(b), rel=1e-9)
    assert (res.ci_low, res.ci_high) == pytest.approx((np.exp(b - q * se), np.exp(b + q * se)))
    assert res.p_value == pytest.approx(2 * stats.t.sf(abs(b / se), 15))
    assert res.n_sites == 16 and res.n_switch_sites == 10 and res.n_site_years == len(est)
    assert res.events == est["exits"].sum()
    with pytest.raises(TooFewSites, match="^two-way fixed-effects switch model: 9 site"):
        switch.twfe(d[d["site_id"].isin(d["site_id"].unique()[:9])])


def test_imputation_result_fields_path_and_people_by_hand():
    d, _ = simulate(n_switch=12, n_never=8, years=9, effect=ramp, seed=6)
    people = pd.DataFrame(
        [(r.site_id, r.year, f"{r.site_id}-{j}") for r in d.itertuples() for j in range(3)]
        + [(r.site_id, r.year, f"{r.site_id}-x{r.year % 2}") for r in d.itertuples()],
        columns=["site_id", "year", "clinician_id"],
    )
    started = time.perf_counter()
    res = switch.imputation(d, reps=40, seed=3, people=people)
    elapsed = time.perf_counter() - started
    cells, rows = switch.cells_from_panel(d)
    fit = switch.imputation_fit(cells, switch.LAGS)
    assert res.se_linear == pytest.approx(fit.se) and 0 < res.seconds <= elapsed
    assert res.rr == pytest.approx(fit.rr) and res.observed == pytest.approx(fit.observed)
    assert res.expected == pytest.approx(fit.expected)
    assert res.rr == pytest.approx(res.observed / res.expected)
    assert res.reps == 40 and res.failures == 0 and res.draws.shape == (40,)
    assert np.isfinite(res.draws).all() and res.seconds > 0
    low, high, p, se = switch.bootstrap_interval(np.log(fit.rr), res.draws, 12)
    assert (res.ci_low, res.ci_high, res.p_value, res.se) == pytest.approx((low, high, p, se))
    assert res.n_switch_sites == 12 and res.n_sites == 20
    assert res.n_site_years == len(rows) and res.events == rows["exits"].sum()
    used = people.merge(rows[["site_id", "year"]].drop_duplicates(), on=["site_id", "year"])
    assert res.clinicians == used["clinician_id"].nunique()
    path = res.path.set_index("year_rel")
    assert path.index.tolist() == [-3, -2, -1, 1, 2, 3, 4]  # the switch year left out
    assert (path.loc[[-3, -2, -1], "period"] == "before_switch").all()
    assert (path.loc[[1, 2, 3, 4], "period"] == "after_switch").all()
    post = rows.assign(imputed=fit.imputed)
    post = post[(post["rel"] >= 1) & post["imputed"].notna()]
    for k in (1, 2, 3, 4):
        cell = post[np.minimum(post["rel"], 4) == k]
        row = path.loc[k]
        assert row["rr"] == pytest.approx(fit.path_rr[k - 1])
        assert row["exits"] == cell["exits"].sum() == pytest.approx(fit.path_observed[k - 1])
        assert row["expected_exits"] == pytest.approx(fit.path_expected[k - 1])
        assert row["site_years"] == len(cell) and row["switch_sites"] == cell["site_id"].nunique()
        hit = people.merge(cell[["site_id", "year"]], on=["site_id", "year"])
        assert row["clinicians"] == hit["clinician_id"].nunique()
        assert row["ci_low"] < row["rr"] < row["ci_high"]
    pre = res.pretrend
    assert pre.leads == [-3, -2, -1] and pre.df == 3 and pre.failures == 0
    assert pre.replicates == 40 and np.isfinite(pre.wald) and 0 < pre.p_value <= 1
    assert np.isfinite(pre.ci_low).all() and np.isfinite(pre.ci_high).all()
    np.testing.assert_allclose(path.loc[[-3, -2, -1], "rr"], pre.rr)
    np.testing.assert_allclose(path.loc[[-3, -2, -1], "ci_low"], pre.ci_low)
    np.testing.assert_allclose(path.loc[[-3, -2, -1], "ci_high"], pre.ci_high)
    for k in (-3, -2, -1):
        cell = rows[rows["rel"] == k]
        hit = people.merge(cell[["site_id", "year"]], on=["site_id", "year"])
        assert path.loc[k, "clinicians"] == hit["clinician_id"].nunique() > 0
        assert path.loc[k, "exits"] == cell["exits"].sum()
        assert path.loc[k, "site_years"] == len(cell)
    without = switch.imputation(d, reps=40, seed=3)
    assert without.clinicians == 0 and (without.path["clinicians"] == 0).all()


def test_event_study_counts_the_clinicians_of_each_years_site_years():
    d, _ = simulate(n_switch=10, n_never=6, years=10, effect=ramp, seed=4)
    people = pd.DataFrame(
        [(r.site_id, r.year, f"{r.site_id}-{r.year % 3}") for r in d.itertuples()],
        columns=["site_id", "year", "clinician_id"],
    )
    es = switch.event_study(d, people=people).set_index("year_rel")
    rel = d["rel"].clip(-3, 4)
    for k in range(-3, 5):
        cell = d[(rel == k) & d["switch_year"].notna()]
        hit = people.merge(cell[["site_id", "year"]], on=["site_id", "year"])
        assert es.loc[k, "clinicians"] == hit["clinician_id"].nunique() > 0


def test_bootstrap_interval_and_wald_p_value_by_hand():
    from scipy import stats

    low, high, p, se = switch.bootstrap_interval(0.2, np.array([0.1, 0.3, np.nan]), 2)
    q = stats.t.ppf(0.975, 1)  # two finite replicates and two switching sites: enough
    assert se == pytest.approx(np.std([0.1, 0.3], ddof=1))
    assert (low, high) == pytest.approx((np.exp(0.2 - q * se), np.exp(0.2 + q * se)))
    assert p == pytest.approx(2 * stats.t.sf(0.2 / se, 1))
    q90 = stats.t.ppf(0.95, 1)
    low90, high90, *_ = switch.bootstrap_interval(0.2, np.array([0.1, 0.3]), 2, level=0.9)
    assert (low90, high90) == pytest.approx((np.exp(0.2 - q90 * se), np.exp(0.2 + q90 * se)))
    assert np.isnan(switch.bootstrap_interval(0.2, np.array([0.1, np.nan]), 5)).all()
    assert np.isnan(switch.bootstrap_interval(0.2, np.array([0.1, 0.3]), 1)).all()
    log_rr, cov = np.array([0.2, -0.1]), np.diag([0.01, 0.04])
    wald = 0.2**2 / 0.01 + 0.1**2 / 0.04  # 4.25
    draws = log_rr + np.array([[0.3, 0.0], [0.1, 0.0], [0.0, 0.2], [0.2, 0.2], [np.nan, 0]])
    w, pw = switch.wald_bootstrap(log_rr, cov, draws, np.repeat(cov[None], 5, axis=0))
    # replicate statistics 9, 1, 1, 5 and NaN (left out); 9 and 5 are at least 4.25
    assert w == pytest.approx(wald) and pw == pytest.approx((1 + 2) / (4 + 1))


# --- from person-time to the site-year panels -------------------------------------------------
WINDOW = (pd.Timestamp("2020-01-01"), pd.Timestamp("2022-12-31"))
MGMT = pd.DataFrame(
    {
        "site_id": ["A", "A", "B", "B", "B", "C", "D"],
        "effective_from": pd.to_datetime(["2010-01-01", "2021-07-01", "2010-01-01", "2021-01-01",
                                          "2022-01-01", "2010-01-01", "2010-01-01"]),
        "effective_to": pd.to_datetime(["2021-06-30", None, "2020-12-31", "2021-12-31", None,
                                        None, None]),
        "comp_model": ["rvu_production", "salary", "rvu_production", "salary_plus_quality",
                       "hybrid", "rvu_production", "salary"],
    }
)  # fmt: skip
PT = pd.DataFrame(
    {
        "site_id": ["A", "A", "B", "C", "D"],
        "clinician_id": ["a1", "a2", "b1", "c1", "d1"],
        "p_start": pd.to_datetime(["2020-01-01", "2020-07-01", "2020-01-01", "2021-12-31",
                                   "2020-01-01"]),
        "p_end": pd.to_datetime(["2022-12-31", "2021-03-31", "2022-12-31", "2022-01-01",
                                 "2020-12-31"]),
        "event": [False, True, False, True, False],
    }
)  # fmt: skip


def test_switches_site_years_and_people_by_hand():
    assert switch.switches(MGMT).to_dict() == {
        "A": pd.Timestamp("2021-07-01"), "B": pd.Timestamp("2021-01-01")
    }  # fmt: skip
    sy = switch.site_years(PT, WINDOW)
    assert list(sy.index) == list(range(len(sy)))  # one row label per site-year
    sy = sy.set_index(["site_id", "year"])
    assert list(sy.columns) == ["exits", "clinician_years", "clinicians"]
    assert sy.loc[("A", 2020), "clinician_years"] == pytest.approx((366 + 184) / 365.25)
    assert sy.loc[("A", 2021), "clinicians"] == 2 and sy.loc[("A", 2022), "clinicians"] == 1
    assert sy.loc[("A", 2021), "exits"] == 1 and sy.loc[("A", 2020), "exits"] == 0
    assert sy.loc[("C", 2021), "clinician_years"] == pytest.approx(1 / 365.25)  # one day
    assert sy.loc[("C", 2022), "exits"] == 1  # the exit in the year of its last day
    assert ("D", 2021) not in sy.index  # no person-time, no row
    # only the window's calendar years, though person-time goes on after it
    short = switch.site_years(PT, (WINDOW[0], pd.Timestamp("2021-12-31")))
    assert sorted(short["year"].unique()) == [2020, 2021]
    people = switch.site_year_people(PT)
    assert list(people.columns) == ["site_id", "year", "clinician_id"]
    assert sorted(map(tuple, people[people["site_id"] == "A"].to_numpy())) == [
        ("A", 2020, "a1"), ("A", 2020, "a2"), ("A", 2021, "a1"), ("A", 2021, "a2"),
        ("A", 2022, "a1"),
    ]  # fmt: skip
    assert len(people) == len(people.drop_duplicates())


def test_switch_and_conventional_panels_by_hand():
    panel = switch.switch_panel(PT, MGMT, WINDOW)
    # A and B on RVU pay at the start, C never switches, D (salary) is not in it; B moves on
    # to hybrid in 2022 and is censored from then
    assert list(panel.columns) == [
        "site_id", "exits", "clinician_years", "clinicians", "year", "switch_year", "rel"
    ]  # fmt: skip
    assert list(zip(panel["site_id"], panel["year"], strict=True)) == [
        ("A", 2020), ("A", 2021), ("A", 2022), ("B", 2020), ("B", 2021), ("C", 2021), ("C", 2022)
    ]  # fmt: skip
    assert panel["switch_year"].tolist()[:5] == [2021.0] * 5
    assert panel["rel"].tolist()[:5] == [-1.0, 0.0, 1.0, -1.0, 0.0]
    assert panel["rel"].iloc[5:].isna().all() and list(panel.index) == list(range(7))
    conv = switch.conventional_panel(PT, MGMT, WINDOW)
    assert set(conv["site_id"]) == {"A", "B", "C", "D"}
    assert conv.loc[conv["site_id"] == "B", "year"].tolist() == [2020, 2021, 2022]  # uncensored
    assert conv.loc[conv["site_id"] == "D", "rel"].isna().all()
    b = conv[conv["site_id"] == "B"]  # switched in 2021 (to salary plus quality)
    assert b["switch_year"].tolist() == [2021.0] * 3 and b["rel"].tolist() == [-1.0, 0.0, 1.0]
    assert list(conv.columns) == list(panel.columns) and list(conv.index) == list(range(len(conv)))


def test_estimator_and_pretrend_tables_row_by_row():
    d, _ = simulate(n_switch=12, n_never=8, years=9, effect=ramp, seed=6)
    res = switch.imputation(d, reps=30, seed=3)
    t = switch.estimator_table(res)
    assert t["estimator"].tolist() == ["imputation_poisson"]  # no comparison attached
    assert t.iloc[0].tolist() == [
        "imputation_poisson", res.rr, res.ci_low, res.ci_high, res.p_value, "site_bootstrap_t",
        20, 12, res.n_site_years, 0,
    ]  # fmt: skip
    res.twfe = switch.twfe(d)
    previous = switch.twfe(d.assign(rel=d["rel"].where(d["rel"] != 0, 1)))
    t = switch.estimator_table(res, previous)  # without clinicians for the previous: 0
    assert t["estimator"].tolist() == ["imputation_poisson", "twfe_rvu_sites", "twfe_all_sites"]
    assert t.loc[1, "rr"] == res.twfe.rr and t.loc[2, "rr"] == previous.rr
    assert t.loc[2, "clinicians"] == 0 and (t["interval"].iloc[1:] == "cluster_t").all()
    p = switch.pretrend_table(res)
    assert p.iloc[0].to_dict() == {
        "leads": "\u22123, \u22122, \u22121", "wald": res.pretrend.wald, "df": 3,
        "p": res.pretrend.p_value, "replicates": 30, "failed": 0, "switch_sites": 12,
        "sites": 20, "clinicians": 0,
    }  # fmt: skip


def test_the_path_figure_draws_no_row_about_too_few_clinicians_or_suppressed():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = pd.DataFrame(
        {
            "year_rel": [-2, -1, 1, 2, 3],
            "period": ["before_switch"] * 2 + ["after_switch"] * 3,
            "rr": [1.0, 1.1, 0.8, "suppressed", 0.7],
            "ci_low": [0.8, 0.9, 0.6, "suppressed", 0.5],
            "ci_high": [1.2, 1.3, 1.0, "suppressed", 0.9],
            "clinicians": [40, 10, 11, "suppressed", 200],
        }
    )
    fig, ax = plt.subplots()
    try:
        switch.plot_path(ax, path, min_people=11)
        drawn = sorted(
            float(x) for c in ax.containers for x in c.lines[0].get_xdata()
        )  # the points' positions
    finally:
        plt.close(fig)
    assert drawn == [-2.0, 1.0, 3.0]  # 10 clinicians at -1: not drawn; 2: suppressed


def test_switch_analysis_runs_the_study_on_the_site_years_of_person_time():
    """From person-time and pay periods to the study: the panel built by hand from the same
    people (a move to hybrid pay censors a site, a site on salary at the start is not in it)
    gives the same imputation, bootstrap, path, pre-trend test and conventional estimates."""
    d, _ = simulate(n_switch=8, n_never=8, years=7, seed=9)
    d = d[["site_id", "year", "exits", "clinicians", "switch_year"]].copy()
    d["exits"] = np.minimum(d["exits"], d["clinicians"])
    extra = [("H", y, 1, 12, np.nan) for y in range(2010, 2017)]  # hybrid from 2014
    extra += [("Z", y, 2, 12, np.nan) for y in range(2010, 2017)]  # salary throughout
    d = pd.concat([d, pd.DataFrame(extra, columns=d.columns)], ignore_index=True)
    pt = pd.DataFrame(
        [
            (r.site_id, f"{r.site_id}-{r.year}-{j}", r.year, j < r.exits)
            for r in d.itertuples()
            for j in range(r.clinicians)
        ],
        columns=["site_id", "clinician_id", "year", "event"],
    )
    pt["p_start"] = pd.to_datetime(pt["year"].astype(str) + "-01-01")
    pt["p_end"] = pd.to_datetime(pt["year"].astype(str) + "-12-31")
    periods = []
    for site, g in d.groupby("site_id"):
        s = g["switch_year"].iloc[0]
        if site == "Z":
            periods.append((site, "2000-01-01", None, "salary"))
        elif site == "H":
            periods += [(site, "2000-01-01", "2013-12-31", "rvu_production")]
            periods += [(site, "2014-01-01", None, "hybrid")]
        elif np.isnan(s):
            periods.append((site, "2000-01-01", None, "rvu_production"))
        else:
            periods += [(site, "2000-01-01", f"{int(s)}-06-30", "rvu_production")]
            periods += [(site, f"{int(s)}-07-01", None, "salary")]
    m = pd.DataFrame(periods, columns=["site_id", "effective_from", "effective_to", "comp_model"])
    m[["effective_from", "effective_to"]] = m[["effective_from", "effective_to"]].apply(
        pd.to_datetime
    )
    window = (pd.Timestamp("2010-01-01"), pd.Timestamp("2016-12-31"))
    res = switch.switch_analysis(pt, m, window, lags=(-2, 3), reps=19, seed=5)
    # the panel by hand: whole years of each clinician, H up to 2013, no Z
    panel = d[(d["site_id"] != "Z") & ((d["site_id"] != "H") | (d["year"] < 2014))].copy()
    days = np.where(panel["year"] % 4 == 0, 366, 365)
    panel["clinician_years"] = panel["clinicians"] * days / 365.25
    panel["rel"] = panel["year"] - panel["switch_year"]
    people = pt[["site_id", "year", "clinician_id"]]
    ref = switch.imputation(panel, lags=(-2, 3), reps=19, seed=5, people=people)
    assert res.rr == pytest.approx(ref.rr, rel=1e-9)
    assert (res.ci_low, res.ci_high, res.p_value) == pytest.approx(
        (ref.ci_low, ref.ci_high, ref.p_value), rel=1e-9
    )
    assert res.n_sites == 17 and res.n_switch_sites == 8 and res.n_site_years == ref.n_site_years
    # every clinician of the site-years used (the switch years left out) counted once
    assert res.clinicians == panel.loc[panel["rel"] != 0, "clinicians"].sum()
    pd.testing.assert_frame_equal(res.path, ref.path)
    assert res.pretrend.leads == [-2, -1]
    assert res.pretrend.p_value == pytest.approx(ref.pretrend.p_value)
    conventional = switch.twfe(panel)
    assert res.twfe.rr == pytest.approx(conventional.rr, rel=1e-9)
    assert res.twfe.n_site_years == conventional.n_site_years
    pd.testing.assert_frame_equal(
        res.twfe_path, switch.event_study(panel, (-2, 3), people), check_dtype=False
    )
    assert res.twfe_path["year_rel"].tolist() == [-2, -1, 0, 1, 2, 3]


def test_switch_panel_of_a_window_before_any_switch():
    # A and B switch in 2021: in a window of 2020 alone every site is a control, uncensored
    panel = switch.switch_panel(PT, MGMT, (WINDOW[0], pd.Timestamp("2020-12-31")))
    assert list(zip(panel["site_id"], panel["year"], strict=True)) == [
        ("A", 2020), ("B", 2020)
    ]  # fmt: skip
    assert panel["switch_year"].isna().all() and panel["rel"].isna().all()
    p = switch.pay_paths(MGMT, (WINDOW[0], pd.Timestamp("2020-12-31")))
    assert pd.api.types.is_datetime64_any_dtype(p["switch"])
    assert pd.api.types.is_datetime64_any_dtype(p["censor"])


def test_pay_paths_with_a_period_ending_on_the_first_day_and_a_site_opened_later():
    window = (pd.Timestamp("2017-01-01"), pd.Timestamp("2024-12-31"))
    m = pd.DataFrame(
        {
            "site_id": ["J", "J", "K", "L"],
            "effective_from": pd.to_datetime(
                ["2010-01-01", "2017-01-02", "2018-01-01", "2010-01-01"]
            ),
            "effective_to": pd.to_datetime(["2017-01-01", None, None, None]),
            "comp_model": ["rvu_production", "salary", "rvu_production", "rvu_production"],
        }
    )
    p = switch.pay_paths(m, window)
    # J: on RVU pay on the first day (its last), salary from the second
    assert p.loc["J", "pay_at_start"] == "rvu_production"
    assert p.loc["J", "switch"] == pd.Timestamp("2017-01-02") and p.loc["J", "to"] == "salary"
    # K opened after the window start: not in the study; L, after it, is
    assert p.index.tolist() == ["J", "L"]


def test_an_exit_on_the_last_day_of_a_year_counts_in_that_year():
    pt = pd.DataFrame(
        {
            "site_id": ["A", "A"],
            "clinician_id": ["a1", "a2"],
            "p_start": pd.to_datetime(["2020-01-01", "2020-01-01"]),
            "p_end": pd.to_datetime(["2020-12-31", "2021-06-30"]),
            "event": [True, False],
        }
    )
    sy = switch.site_years(pt, WINDOW).set_index("year")
    assert sy["exits"].to_dict() == {2020: 1, 2021: 0}
    assert sy.loc[2020, "clinician_years"] == pytest.approx(2 * 366 / 365.25)


def test_a_switching_site_with_only_its_switch_year_and_the_next_is_left_out():
    panel, _ = simulate(n_switch=7, n_never=8, seed=4)
    early = panel["site_id"] == "S00"
    panel.loc[early, "switch_year"] = 2010  # switched in the first year; one year after it
    panel.loc[early, "rel"] = panel.loc[early, "year"] - 2010
    panel = panel[~early | (panel["year"] <= 2011)]
    res = switch.imputation(panel, reps=9)
    assert res.n_switch_sites == 6 and res.n_sites == 14
    assert res.n_site_years == len(panel[panel["site_id"] != "S00"].query("rel != 0"))
    assert res.notes == [
        "1 switching site(s) with no year before the switch in the window cannot be imputed "
        "and are left out"
    ]


def test_without_years_before_the_switch_there_is_no_pretrend_test():
    # lags=(0, k): the path after the switch only (as the power simulation asks)
    panel, _ = simulate(n_switch=6, n_never=6, seed=2)
    res = switch.imputation(panel, lags=(0, 3), reps=9)
    assert res.pretrend is None and res.notes == []
    assert res.path["year_rel"].tolist() == [1, 2, 3]
    assert (res.path["period"] == "after_switch").all()


def test_a_pretrend_test_that_cannot_be_computed_is_noted_with_its_reason():
    panel, _ = simulate(n_switch=6, n_never=6, seed=2)
    panel.loc[panel["rel"] == -2, "exits"] = 0  # no exits two years before any switch
    res = switch.imputation(panel, reps=9)
    assert res.pretrend is None
    assert res.notes == [
        "the pre-trend test could not be computed (a year before the switch has no exits at "
        "switching sites)"
    ]
    assert res.path["year_rel"].tolist() == [1, 2, 3, 4]


def test_the_bootstrap_is_reproducible_from_its_seeds():
    panel, _ = simulate(n_switch=6, n_never=6, seed=3)
    a = switch.imputation(panel, reps=19, seed=7)
    b = switch.imputation(panel, reps=19, seed=7)
    np.testing.assert_array_equal(a.draws, b.draws)
    assert (a.ci_low, a.pretrend.p_value) == (b.ci_low, b.pretrend.p_value)
    assert not np.array_equal(a.draws, switch.imputation(panel, reps=19, seed=8).draws)
    # the pre-trend test draws from seed + 1 (switch_analysis's documented seeds)
    cells, _ = switch.cells_from_panel(panel)
    t = switch.pretrend_test(cells, 3, reps=19, seed=8)
    assert a.pretrend.p_value == t.p_value and a.pretrend.wald == t.wald
    np.testing.assert_array_equal(a.pretrend.ci_low, t.ci_low)


def test_replicates_without_post_switch_exits_fail_and_are_counted():
    # exits after the switch only at S00: a replicate that does not draw S00 has nothing to
    # compare and fails; every other replicate gives a ratio
    panel, _ = simulate(n_switch=6, n_never=6, seed=3)
    s00 = panel["site_id"] == "S00"
    panel.loc[(panel["rel"] >= 1) & ~s00, "exits"] = 0
    panel.loc[(panel["rel"] >= 1) & s00, "exits"] += 1
    panel.loc[(panel["rel"] < 0) & s00, "exits"] += 1
    res = switch.imputation(panel, lags=(0, 3), reps=40, seed=11)
    cells, _ = switch.cells_from_panel(panel)
    rng = np.random.default_rng(11)
    without = [not (cells.site[idx] == 0).any() for idx, _ in switch.bootstrap_rows(cells, 40, rng)]
    assert 5 <= sum(without) <= 35  # both kinds occur
    assert res.failures == sum(without) and res.reps == 40
    np.testing.assert_array_equal(np.isnan(res.draws), without)
    low, high, p, se = switch.bootstrap_interval(np.log(res.rr), res.draws, 6)
    assert se == pytest.approx(np.nanstd(res.draws, ddof=1)) and res.se == pytest.approx(se)


def hand_panel(changes=None):
    """The panel of the hand computation (A and B never switch, C switches in 2011 and is
    treated in 2012), with the given (site, year) -> (exits, clinician-years) changes."""
    panel = pd.DataFrame(
        {
            "site_id": list("AAABBBCCC"),
            "year": [2010, 2011, 2012] * 3,
            "exits": [4, 6, 5, 3, 2, 7, 5, 9, 2],
            "clinician_years": [10.0, 12, 11, 8, 9, 10, 10, 11, 12],
            "switch_year": [np.nan] * 6 + [2011] * 3,
        }
    )
    for (site, year), (exits, cy) in (changes or {}).items():
        at = (panel["site_id"] == site) & (panel["year"] == year)
        panel.loc[at, ["exits", "clinician_years"]] = exits, cy
    panel["rel"] = panel["year"] - panel["switch_year"]
    return panel


def test_imputation_fit_refuses_a_panel_with_nothing_to_compare():
    # no exits after the switch, or none imputed (C without exits before its switch: its
    # site effect is zero, so is its counterfactual)
    for changes in ({("C", 2012): (0, 12.0)}, {("C", 2010): (0, 10.0)}):
        cells, _ = switch.cells_from_panel(hand_panel(changes))
        with pytest.raises(switch.FitFailure, match="^no post-switch exits to compare"):
            switch.imputation_fit(cells, lags=(-1, 1))


def test_imputation_fit_with_one_exit_after_the_switch_and_less_than_one_imputed():
    # C in 2012: one exit in half a clinician-year; its counterfactual, C's 2010 rate x the
    # 2012/2010 year ratio of A and B x 0.5, is under one exit
    panel = hand_panel({("C", 2012): (1, 0.5)})
    cells, _ = switch.cells_from_panel(panel)
    fit = switch.imputation_fit(cells, lags=(-1, 1))
    # the 2012/2010 year ratio from the A-B two-way model, as in the hand computation
    ratio = ab_year_ratio(panel)
    expected = 5 / 10 * ratio * 0.5
    assert 0 < expected < 1
    assert fit.expected == pytest.approx(expected, rel=1e-8)
    assert fit.observed == 1 and fit.rr == pytest.approx(1 / expected, rel=1e-8)


def with_post_switch_site(panel: pd.DataFrame, switch_year: int) -> pd.DataFrame:
    """``panel`` with a site D that has only 2011 and 2012, both after its switch."""
    d = pd.DataFrame(
        {"site_id": "D", "year": [2011, 2012], "exits": [3, 4], "clinician_years": 10.0}
    )
    rel = d["year"] - float(switch_year)
    return pd.concat([panel, d.assign(switch_year=float(switch_year), rel=rel)])


def test_a_post_switch_row_of_a_site_without_untreated_rows_is_not_imputed():
    # D: switched before the window, only post-switch rows (imputation() drops such sites)
    panel = with_post_switch_site(hand_panel(), 2009)
    cells, rows = switch.cells_from_panel(panel)
    fit = switch.imputation_fit(cells, lags=(-1, 1))
    assert np.isnan(fit.imputed).tolist() == (rows["site_id"] == "D").tolist()
    assert fit.observed == 2  # C's 2012 exits only


def test_the_path_by_year_is_the_estimate_on_that_years_post_switch_rows():
    # the untreated model does not see post-switch rows, so the path's ratio and standard
    # error for a year are those of the estimate with the other post-switch rows left out
    panel, _ = simulate(n_switch=6, n_never=6, years=7, exposure=(30, 40), seed=12)
    cells, _ = switch.cells_from_panel(panel)
    fit = switch.imputation_fit(cells, lags=(-3, 2))
    assert fit.path_rr.shape == fit.path_se.shape == (2,)
    for k, keep in ((1, panel["rel"] == 1), (2, panel["rel"] >= 2)):
        alone, _ = switch.cells_from_panel(panel[keep | ~(panel["rel"] >= 1)])
        ref = switch.imputation_fit(alone, lags=(-3, 2))
        assert fit.path_rr[k - 1] == pytest.approx(ref.rr, rel=1e-8)
        assert fit.path_se[k - 1] == pytest.approx(ref.se, rel=1e-8)
        assert fit.path_observed[k - 1] == ref.observed
        assert fit.path_expected[k - 1] == pytest.approx(ref.expected, rel=1e-8)


def test_take_gives_the_drawn_rows_under_their_new_site_codes():
    cells, _ = switch.cells_from_panel(hand_panel())
    rows, site = np.array([6, 7, 0, 6, 7]), np.array([0, 0, 1, 2, 2])
    t = cells.take(rows, site)
    assert t.n_site == 3 and t.n_year == cells.n_year
    np.testing.assert_array_equal(t.site, site)
    np.testing.assert_array_equal(t.y, cells.y[rows])
    np.testing.assert_array_equal(t.exposure, cells.exposure[rows])
    np.testing.assert_array_equal(t.year, cells.year[rows])
    np.testing.assert_array_equal(t.rel, cells.rel[rows])


def test_wald_p_value_counts_a_replicate_equal_to_the_statistic():
    # "at least the observed one": a tie counts (values exact in binary floating point)
    log_rr, cov = np.array([0.5]), np.array([[0.25]])  # Wald 1
    draws = log_rr + np.array([[0.5], [0.25], [1.0]])  # replicate statistics 1, 0.25, 4
    w, p = switch.wald_bootstrap(log_rr, cov, draws, np.repeat(cov[None], 3, axis=0))
    assert w == 1.0 and p == pytest.approx((1 + 2) / (3 + 1))


def test_pretrend_test_needs_more_replicates_than_leads_and_counts_failures():
    panel, _ = simulate(n_switch=8, n_never=6, years=9, exposure=(40, 60), seed=2)
    cells, _ = switch.cells_from_panel(panel)
    with pytest.raises(switch.FitFailure, match="^too few bootstrap replicates of the years"):
        switch.pretrend_test(cells, 3, reps=3, seed=1)
    assert switch.pretrend_test(cells, 3, reps=4, seed=1).replicates == 4
    # exits in the year before the switch only at S00: a replicate without S00 fails
    s00 = panel["site_id"] == "S00"
    panel.loc[(panel["rel"] == -1) & ~s00, "exits"] = 0
    panel.loc[(panel["rel"] == -1) & s00, "exits"] += 1
    cells, _ = switch.cells_from_panel(panel)
    test = switch.pretrend_test(cells, 3, reps=40, seed=4)
    rng = np.random.default_rng(4)
    without = sum(
        not (cells.site[idx] == 0).any() for idx, _ in switch.bootstrap_rows(cells, 40, rng)
    )
    assert 5 <= without <= 35
    assert test.failures == without and test.replicates == 40 - without


def test_strata_leave_out_a_site_without_untreated_rows():
    # D: switched in 2010, only its years 1 and 2 after the switch in the panel
    panel = with_post_switch_site(hand_panel(), 2010)
    cells, _ = switch.cells_from_panel(panel)
    switching, others = switch.strata(cells)  # codes: A 0, B 1, C 2, D 3
    assert switching.tolist() == [2] and others.tolist() == [0, 1]


def test_pretrend_fit_refuses_leads_that_are_not_identified():
    # every site switches in the same year: the lead years are the calendar years before it,
    # which the year effects already fit
    panel, _ = simulate(n_switch=10, n_never=0, switch_years=np.full(10, 4), seed=3)
    cells, _ = switch.cells_from_panel(panel)
    with pytest.raises(switch.FitFailure, match="^the years before the switch are not identified"):
        switch.pretrend_fit(cells, 3)


def test_fe_poisson_against_statsmodels_with_its_normalization():
    """Sites 0-3 and years 0-2 (site 1 without exits, site 4 without rows): the effects of a
    direct Poisson fit on the rows of levels with exits, the first year the reference."""
    rng = np.random.default_rng(7)
    site = np.repeat([0, 1, 2, 3], 3)
    year = np.tile([0, 1, 2], 4)
    e = rng.uniform(5, 15, 12)
    y = rng.poisson(e * 0.3 * np.array([1.0, 1.5, 0.7])[year]).astype(float)
    y[site == 1] = 0
    y[(site != 1) & (y == 0)] = 1
    fit = switch.fe_poisson(y, e, [site, year], [5, 3])
    live = site != 1
    np.testing.assert_array_equal(fit.live, live)
    x = pd.get_dummies(pd.Series(site[live]).astype(str)).astype(float)
    x["y1"], x["y2"] = (year[live] == 1) * 1.0, (year[live] == 2) * 1.0
    glm = sm.GLM(y[live], x, family=sm.families.Poisson(), offset=np.log(e[live])).fit(tol=1e-13)
    coef = glm.params.to_numpy()  # sites 0, 2, 3, then years 1, 2
    np.testing.assert_allclose(fit.coef, coef, rtol=1e-7)
    a, c = fit.factors
    np.testing.assert_allclose(a[[0, 2, 3]], np.exp(coef[:3]), rtol=1e-7)
    assert a[1] == 0 and np.isnan(a[4])  # no exits; no rows
    np.testing.assert_allclose(c, [1.0, *np.exp(coef[3:])], rtol=1e-7)
    np.testing.assert_allclose(fit.mu[live], glm.fittedvalues, rtol=1e-7)
    assert (fit.mu[~live] == 0).all()
    assert [lv.tolist() for lv in fit.levels] == [[0, 2, 3], [1, 2]]
    np.testing.assert_array_equal(fit.x, x.to_numpy())
    mu = glm.fittedvalues.to_numpy()
    np.testing.assert_allclose(fit.hessian, x.T.to_numpy() @ (x.to_numpy() * mu[:, None]))
    with pytest.raises(switch.FitFailure, match="^the Poisson model did not converge$"):
        switch.fe_poisson(y, e, [site, year], [5, 3], max_iter=1)
    # a reference year with a single exit is still the reference (factor 1)
    y1 = np.where(year == 0, 0.0, y)
    y1[0] = 1.0
    assert switch.fe_poisson(y1, e, [site, year], [5, 3]).factors[1][0] == 1.0


def test_the_study_does_not_depend_on_the_order_of_the_panel_rows():
    # site codes follow the sorted site ids, so the bootstrap draws the same sites
    panel, _ = simulate(n_switch=6, n_never=6, years=6, seed=13)
    shuffled = panel.sample(frac=1.0, random_state=1)
    a = switch.imputation(panel, reps=19, seed=2)
    b = switch.imputation(shuffled, reps=19, seed=2)
    assert b.rr == pytest.approx(a.rr, rel=1e-9)
    np.testing.assert_allclose(b.draws, a.draws, rtol=1e-9)
    assert b.pretrend.p_value == a.pretrend.p_value


def test_cells_from_panel_keeps_the_rows_and_columns_it_uses():
    panel = hand_panel()
    cells, rows = switch.cells_from_panel(panel)
    assert list(rows.columns) == list(panel.columns) and list(rows.index) == list(range(8))
    assert rows["rel"].ne(0).all() and cells.n_site == 3 and cells.n_year == 3
    empty, rows = switch.cells_from_panel(panel.iloc[:0])
    assert empty.n_site == 0 and empty.n_year == 0 and len(empty.y) == 0 and rows.empty


def test_an_isolated_site_year_changes_only_the_number_of_clusters():
    # E: a never-switched site with one site-year, in a year no other site has. Its site and
    # year effects are one parameter (the information matrix is singular); it carries nothing
    # on the counterfactuals, so the estimate is unchanged and its standard error changes
    # only by the CR1 factor of one more site
    panel = hand_panel()
    cells, _ = switch.cells_from_panel(panel)
    base = switch.imputation_fit(cells, lags=(-1, 1))
    e = pd.DataFrame(
        {"site_id": ["E"], "year": [2013], "exits": [4], "clinician_years": [9.0]}
    ).assign(switch_year=np.nan, rel=np.nan)
    cells, _ = switch.cells_from_panel(pd.concat([panel, e], ignore_index=True))
    fit = switch.imputation_fit(cells, lags=(-1, 1))
    assert fit.rr == pytest.approx(base.rr, rel=1e-8)
    assert fit.expected == pytest.approx(base.expected, rel=1e-8)
    assert fit.se == pytest.approx(base.se * np.sqrt((4 / 3) / (3 / 2)), rel=1e-6)


def test_pretrend_fit_needs_an_exit_in_every_lead_year_and_one_is_enough():
    # every site switches in the window's third year: no switching site has a year -3
    panel, _ = simulate(n_switch=8, n_never=6, years=8, switch_years=np.full(8, 2), seed=4)
    cells, _ = switch.cells_from_panel(panel)
    with pytest.raises(switch.FitFailure, match="^a year before the switch has no exits"):
        switch.pretrend_fit(cells, 3)
    # one exit three years before any switch: that lead is estimated
    panel, _ = simulate(n_switch=8, n_never=6, years=8, seed=4)
    lead3 = panel.index[panel["rel"] == -3]
    panel.loc[lead3, "exits"] = 0
    panel.loc[lead3[0], "exits"] = 1
    rr, cov = switch.pretrend_fit(switch.cells_from_panel(panel)[0], 3)
    assert np.isfinite(rr).all() and np.isfinite(np.diag(cov)).all() and rr[0] > 0


def test_fe_poisson_halves_a_newton_step_that_overshoots():
    # 3 sites x 40 years, nearly all exits in the last year: from the start (site crude rates,
    # no year effects) the full Newton step for that year overshoots far past the maximum and
    # must be shortened; the fit still reaches the maximum of a direct fit
    site, year = np.repeat([0, 1, 2], 40), np.tile(np.arange(40), 3)
    y = np.where(year == 39, 1e4, 1.0) + (site == 1)
    e = np.ones(120)
    fit = switch.fe_poisson(y, e, [site, year], [3, 40])
    x = np.hstack([(site[:, None] == [0, 1, 2]), (year[:, None] == np.arange(1, 40))])
    glm = sm.GLM(y, x.astype(float), family=sm.families.Poisson()).fit(tol=1e-13)
    np.testing.assert_allclose(fit.coef, glm.params, rtol=1e-7, atol=1e-9)
