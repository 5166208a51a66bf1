"""Survival estimators against independent implementations (lifelines, statsmodels) and
against known truth on simulated data."""

import numpy as np
import pandas as pd
import pytest
from lifelines import AalenJohansenFitter, CoxPHFitter
from lifelines.statistics import proportional_hazard_test
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg

from helpers.analysis import survival


def one_row_data(n=500, sites=25, seed=1):
    """One row per person, no entry, continuous times (no ties), right censoring."""
    rng = np.random.default_rng(seed)
    site = rng.integers(0, sites, n)
    x1 = (rng.random(n) < 0.4).astype(float)
    x2 = rng.normal(size=n)
    t = rng.exponential(1 / (0.2 * np.exp(0.5 * x1 - 0.3 * x2)))
    c = rng.uniform(0, 8, n)
    return pd.DataFrame(
        {"x1": x1, "x2": x2, "T": np.minimum(t, c), "E": (t < c).astype(int), "site": site}
    )


def split_rows(df, seed=2):
    """Each row cut in two at a random time: same person, same covariates, the second piece
    entering at the cut. Nothing a correct counting-process estimator reports may change."""
    rng = np.random.default_rng(seed)
    cut = df["T"] * rng.uniform(0.1, 0.9, len(df))
    a = df.assign(start=0.0, stop=cut, E=0)
    b = df.assign(start=cut, stop=df["T"])
    return pd.concat([a, b]).sort_index(kind="stable").reset_index(drop=True)


def test_cox_matches_lifelines_on_left_truncated_time_varying_rows():
    """Counting-process rows with left truncation and a covariate that changes within a
    person: lifelines' CoxPHFitter with entry_col (entry = start, duration = stop) maximizes
    the same partial likelihood; with continuous times there are no ties, so Breslow and
    Efron agree."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(700):
        entry = rng.uniform(0, 3) if rng.random() < 0.6 else 0.0
        z = float(rng.random() < 0.5)
        change = entry + rng.uniform(0.2, 3)
        pieces = [(entry, change, z), (change, entry + 10, 1 - z)]
        for s, e, x in pieces:
            draw = rng.exponential(1 / (0.15 * np.exp(0.6 * x)))
            if s + draw < e:
                rows.append((i, s, s + draw, 1, x, i % 30))
                break
            rows.append((i, s, min(e, 8.0), 0, x, i % 30))
            if e >= 8.0:
                break
    df = pd.DataFrame(rows, columns=["id", "start", "stop", "event", "x", "site"])
    df = df[df["start"] < df["stop"]]
    fit = survival.fit_cox(df[["x"]], df["start"], df["stop"], df["event"])
    cph = CoxPHFitter().fit(
        df[["start", "stop", "event", "x"]],
        duration_col="stop",
        event_col="event",
        entry_col="start",
    )
    assert fit.params[0] == pytest.approx(cph.params_["x"], rel=1e-6)
    assert fit.se[0] == pytest.approx(cph.standard_errors_["x"], rel=1e-5)
    assert fit.loglik == pytest.approx(cph.log_likelihood_, rel=1e-8)


def test_cluster_sandwich_matches_lifelines_up_to_cr1():
    """lifelines' cluster_col sandwich is V (sum_g U_g U_g') V with no small-sample factor:
    ours without CR1 equals it, ours with CR1 is G/(G-1) times it.

    lifelines 0.30 computes score residuals without entry times (it passes ``entries=None``),
    so the comparison is on data where entry plays no part; :func:`test_splitting_rows_changes_
    nothing` then shows that our residuals use entry correctly."""
    df = one_row_data()
    fit = survival.fit_cox(df[["x1", "x2"]], np.zeros(len(df)), df["T"], df["E"])
    cph = CoxPHFitter().fit(df, "T", "E", cluster_col="site")
    np.testing.assert_allclose(fit.params, cph.params_.to_numpy(), rtol=1e-6)
    raw, g = fit.cluster_cov(df["site"], small_sample=False)
    np.testing.assert_allclose(np.sqrt(np.diag(raw)), cph.standard_errors_.to_numpy(), rtol=1e-6)
    cr1, _ = fit.cluster_cov(df["site"])
    assert g == 25
    np.testing.assert_allclose(cr1, raw * 25 / 24, rtol=1e-12)


def test_splitting_rows_changes_nothing():
    """A person's record cut into two pieces (the second entering at the cut) gives the same
    estimate, the same site-clustered sandwich and the same proportional-hazards test: the
    risk sets use entry times, and the score residuals of a person's pieces add up to those
    of the whole record."""
    df = one_row_data()
    whole = survival.fit_cox(df[["x1", "x2"]], np.zeros(len(df)), df["T"], df["E"])
    cut = split_rows(df)
    split = survival.fit_cox(cut[["x1", "x2"]], cut["start"], cut["stop"], cut["E"])
    np.testing.assert_allclose(split.params, whole.params, rtol=1e-9)
    np.testing.assert_allclose(split.cov, whole.cov, rtol=1e-9)
    np.testing.assert_allclose(
        split.cluster_cov(cut["site"])[0], whole.cluster_cov(df["site"])[0], rtol=1e-8
    )
    pd.testing.assert_frame_equal(
        survival.grambsch_therneau(split), survival.grambsch_therneau(whole), rtol=1e-8
    )


def test_leave_one_site_out_is_the_refit_without_that_site():
    """One Newton step from the full-data estimate lands within 2% of the way to each site's
    leave-one-out estimate, refitted by lifelines on the other sites; with strata, the same."""
    df = one_row_data(n=600, sites=20, seed=4)
    x = df[["x1", "x2"]]
    start = np.zeros(len(df))
    for strata in (None, df["site"] % 4):
        fit = survival.fit_cox(x, start, df["T"], df["E"], strata=strata)
        loo = survival.leave_one_group_out(x, start, df["T"], df["E"], df["site"], fit.params,
                                           strata=strata)  # fmt: skip
        for k, site in enumerate(pd.unique(df["site"])):
            rest = df.loc[df["site"] != site, ["T", "E", "x1", "x2"]]
            if strata is None:
                cph = CoxPHFitter().fit(rest, "T", "E")
            else:
                cph = CoxPHFitter().fit(rest.assign(s=strata[rest.index]), "T", "E", strata=["s"])
            refit = cph.params_[["x1", "x2"]].to_numpy()
            np.testing.assert_allclose(loo[k], refit, atol=0.02 * np.abs(refit - fit.params).max())


def test_leave_one_group_out_marks_an_inestimable_refit():
    df = one_row_data(n=200, sites=10, seed=5)
    df["x3"] = (df["site"] == 3).astype(float)  # only site 3 has x3
    x = df[["x1", "x3"]]
    fit = survival.fit_cox(x, np.zeros(len(df)), df["T"], df["E"])
    loo = survival.leave_one_group_out(x, np.zeros(len(df)), df["T"], df["E"], df["site"],
                                       fit.params)  # fmt: skip
    codes = pd.factorize(df["site"])[1]
    assert np.isnan(loo[list(codes).index(3)]).all()
    assert np.isfinite(np.delete(loo, list(codes).index(3), axis=0)).all()


@pytest.mark.parametrize("transform", ["rank", "log"])
def test_grambsch_therneau_matches_lifelines(transform):
    """Per-covariate statistics equal lifelines' proportional_hazard_test on the same fit
    (model-based variance: lifelines scales by the fit's standard errors, so it is fitted
    without a cluster); the global statistic is checked against its definition."""
    rng = np.random.default_rng(4)
    df = one_row_data()
    # a hazard ratio that drifts with time: x1 matters early only
    early = rng.exponential(1 / (0.5 * np.exp(1.2 * df["x1"])))
    late = 1.0 + rng.exponential(1 / 0.2, len(df))
    t = np.where(early < 1.0, early, late)
    df["T"], df["E"] = np.minimum(t, 8.0), (t < 8.0).astype(int)
    fit = survival.fit_cox(df[["x1", "x2"]], np.zeros(len(df)), df["T"], df["E"])
    ours = survival.grambsch_therneau(fit, transform).set_index("term")
    cph = CoxPHFitter().fit(df[["x1", "x2", "T", "E"]], "T", "E")
    theirs = proportional_hazard_test(cph, df[["x1", "x2", "T", "E"]], time_transform=transform)
    np.testing.assert_allclose(
        ours.loc[["x1", "x2"], "chi2"], theirs.summary["test_statistic"], rtol=1e-6
    )
    assert ours.loc["x1", "p"] < 0.001  # the drifting hazard ratio is found
    times, r = fit.schoenfeld_residuals()
    g = np.log(times) if transform == "log" else pd.Series(times).rank().to_numpy()
    g = g - g.mean()
    u = g @ r
    glob = len(times) * u @ fit.cov @ u / (g @ g)
    assert ours.loc["global", "chi2"] == pytest.approx(glob, rel=1e-10)
    assert ours.loc["global", "df"] == 2


def test_breslow_ties_match_statsmodels():
    """Tied exit times (whole days): Breslow's approximation as statsmodels' PHReg computes it
    (no entry times, where PHReg's risk sets agree with ours)."""
    df = one_row_data(seed=7)
    df["T"] = np.ceil(df["T"] * 12) / 12  # monthly: many ties
    fit = survival.fit_cox(df[["x1", "x2"]], np.zeros(len(df)), df["T"], df["E"])
    ph = PHReg(df["T"], df[["x1", "x2"]], status=df["E"], ties="breslow").fit()
    np.testing.assert_allclose(fit.params, ph.params, rtol=1e-6)
    np.testing.assert_allclose(fit.se, ph.bse, rtol=1e-5)


def test_stratified_cox_matches_lifelines():
    df = one_row_data(seed=8)
    df["stratum"] = df["site"] % 5
    fit = survival.fit_cox(
        df[["x1", "x2"]], np.zeros(len(df)), df["T"], df["E"], strata=df["stratum"]
    )
    cph = CoxPHFitter().fit(df[["x1", "x2", "T", "E", "stratum"]], "T", "E", strata=["stratum"])
    np.testing.assert_allclose(fit.params, cph.params_.to_numpy(), rtol=1e-6)


def test_a_group_without_events_is_refused():
    df = one_row_data()
    df.loc[df["x1"] == 1, "E"] = 0
    with pytest.raises(ValueError):
        survival.fit_cox(df[["x1", "x2"]], np.zeros(len(df)), df["T"], df["E"])


# --- Aalen–Johansen -----------------------------------------------------------------------------
def competing_data(n=800, seed=11, entry=False):
    """Exponential cause-specific hazards 0.10 (cause a) and 0.05 (cause b), censoring at 10;
    with ``entry``, left truncation: only people still in post at a uniform entry time."""
    rng = np.random.default_rng(seed)
    t = rng.exponential(1 / 0.15, n * 3)
    cause = np.where(rng.random(n * 3) < 0.10 / 0.15, "a", "b")
    e = rng.uniform(0, 6, n * 3) if entry else np.zeros(n * 3)
    keep = t > e
    t, cause, e = t[keep][:n], cause[keep][:n], e[keep][:n]
    c = 10.0
    return pd.DataFrame(
        {"entry": e, "exit": np.minimum(t, c), "cause": np.where(t < c, cause, None)}
    )


def true_cif(t):
    return 0.10 / 0.15 * (1 - np.exp(-0.15 * t))


def test_aalen_johansen_equals_lifelines_without_truncation():
    df = competing_data()
    ours = survival.cumulative_incidence(df["entry"], df["exit"], df["cause"], "a")
    code = df["cause"].map({"a": 1, "b": 2}).fillna(0).astype(int)
    ajf = AalenJohansenFitter(calculate_variance=False).fit(df["exit"], code, event_of_interest=1)
    theirs = ajf.cumulative_density_.iloc[:, 0]
    np.testing.assert_allclose(
        survival.step_at(ours, theirs.index), theirs.to_numpy(), rtol=1e-10, atol=1e-12
    )


def test_aalen_johansen_handles_delayed_entry():
    """Left-truncated data: with entry times the estimate recovers the true cumulative
    incidence; treating everyone as observed from time 0 does not (the people who left before
    their entry are missing, so early incidence is understated)."""
    df = competing_data(n=4000, entry=True)
    grid = np.array([1.0, 3.0, 6.0, 9.0])
    right = survival.cumulative_incidence(df["entry"], df["exit"], df["cause"], "a")
    naive = survival.cumulative_incidence(np.zeros(len(df)), df["exit"], df["cause"], "a")
    np.testing.assert_allclose(survival.step_at(right, grid), true_cif(grid), atol=0.03)
    assert np.all(survival.step_at(naive, grid[:3]) < true_cif(grid[:3]) - 0.05)


def test_aalen_johansen_by_hand_with_entry_and_split_rows():
    """Five spells, one entering late; the same spells with one cut in two give the same
    curve. By hand: at t=2, 4 at risk (the late entrant is not yet in), one 'a': F = 1/4;
    S = 3/4. At t=4, 3 at risk (late entrant in, one censored at 3), one 'b': F unchanged,
    S = 3/4 * 2/3 = 1/2. At t=5, 2 at risk, one 'a': F = 1/4 + 1/2 * 1/2 = 1/2."""
    entry = [0, 0, 0, 0, 3.5]
    exit_ = [2, 3, 4, 5, 6]
    cause = ["a", None, "b", "a", None]
    cif = survival.cumulative_incidence(entry, exit_, cause, "a")
    assert cif["time"].tolist() == [2, 4, 5]
    assert cif["at_risk"].tolist() == [4, 3, 2]
    np.testing.assert_allclose(cif["cif"], [0.25, 0.25, 0.5])
    np.testing.assert_allclose(cif["surv"], [0.75, 0.5, 0.25])
    split = survival.cumulative_incidence(
        [0, 0, 1.5, 0, 0, 3.5], [2, 1.5, 3, 4, 5, 6], ["a", None, None, "b", "a", None], "a"
    )
    pd.testing.assert_frame_equal(split, cif, check_dtype=False)


def test_numbers_at_risk():
    entry, exit_ = [0, 0, 1, 2], [1, 3, 4, 5]
    assert survival.at_risk_at(entry, exit_, [0, 1, 2, 4], closed="left").tolist() == [2, 2, 3, 1]
    assert survival.at_risk_at(entry, exit_, [1, 2, 4], closed="right").tolist() == [2, 2, 2]


# --- edges the comparisons above do not reach --------------------------------------------------
def test_cox_refuses_empty_pieces_and_no_events_and_says_why():
    df = one_row_data(n=60)
    x, stop, event = df[["x1"]], df["T"].to_numpy(), df["E"].to_numpy()
    start = np.zeros(len(df))
    start[3] = stop[3]  # a piece of zero length
    with pytest.raises(ValueError, match="^every row needs start < stop$"):
        survival.fit_cox(x, start, stop, event)
    start[3] = stop[3] + 1
    with pytest.raises(ValueError, match="^every row needs start < stop$"):
        survival.fit_cox(x, start, stop, event)
    with pytest.raises(ValueError, match="^no events$"):
        survival.fit_cox(x, np.zeros(len(df)), stop, np.zeros(len(df)))
    with pytest.raises(ValueError, match="^Cox model did not converge in 1 iterations$"):
        survival.fit_cox(x, np.zeros(len(df)), stop, event, max_iter=1)


def test_a_group_without_events_does_not_converge_and_a_coefficient_beyond_15_is_refused():
    """The estimate of a group without events runs off to minus infinity: Newton steps never
    shrink, so the fit does not converge. A fit that converges beyond |beta| = 15 (here a
    covariate rescaled so that its coefficient is 15.5) is refused as well: the rule is on the
    coefficient's own scale, so covariates must be in units where 15 is implausible."""
    df = one_row_data()
    df.loc[df["x1"] == 1, "E"] = 0
    with pytest.raises(ValueError, match="^Cox model did not converge in 100 iterations$"):
        survival.fit_cox(df[["x1", "x2"]], np.zeros(len(df)), df["T"], df["E"])
    df = one_row_data()
    b = survival.fit_cox(df[["x1"]], np.zeros(len(df)), df["T"], df["E"]).params[0]
    ok = survival.fit_cox(df[["x1"]] * b / 14.5, np.zeros(len(df)), df["T"], df["E"])
    assert ok.params[0] == pytest.approx(14.5, rel=1e-6)
    with pytest.raises(ValueError, match=r"^Cox model: an estimate runs off to infinity \(a gr"):
        survival.fit_cox(df[["x1"]] * b / 15.5, np.zeros(len(df)), df["T"], df["E"])


def test_the_fit_is_converged_and_counts_its_events_and_iterations():
    """At the estimate the score (the sum of the score residuals) is zero; ``iterations`` is
    the number of Newton steps it took: one fewer does not converge."""
    df = one_row_data(seed=21)
    fit = survival.fit_cox(df[["x1", "x2"]], np.zeros(len(df)), df["T"], df["E"])
    assert np.abs(fit.score_residuals().sum(axis=0)).max() < 1e-9
    assert fit.n_events == int(df["E"].sum()) and isinstance(fit.n_events, int)
    assert 2 <= fit.iterations < 20
    again = survival.fit_cox(
        df[["x1", "x2"]], np.zeros(len(df)), df["T"], df["E"], max_iter=fit.iterations
    )
    np.testing.assert_array_equal(again.params, fit.params)
    with pytest.raises(ValueError, match="did not converge"):
        survival.fit_cox(
            df[["x1", "x2"]], np.zeros(len(df)), df["T"], df["E"], max_iter=fit.iterations - 1
        )


def test_newton_steps_that_overshoot_are_halved():
    """A strong effect on a wide covariate: the first full Newton step from zero overshoots
    (the partial likelihood falls); halving keeps the iteration uphill to lifelines' answer."""
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 6, 300)
    t = rng.exponential(1 / np.exp(1.2 * x))
    df = pd.DataFrame({"x": x, "T": t, "E": np.ones(300, int)})
    fit = survival.fit_cox(df[["x"]], np.zeros(300), df["T"], df["E"])
    cph = CoxPHFitter().fit(df, "T", "E")
    assert fit.params[0] == pytest.approx(cph.params_["x"], rel=1e-6)


def test_a_constant_added_to_a_covariate_changes_nothing_even_when_large():
    """The baseline hazard absorbs a shift of a covariate, so nothing reported may change; a
    shift that makes the linear predictor about 400 must not overflow (risk weights are taken
    relative to the largest)."""
    df = one_row_data(seed=22)
    base = survival.fit_cox(df[["x1", "x2"]], np.zeros(len(df)), df["T"], df["E"])
    shifted = df.assign(x2=df["x2"] - 400 / base.params[1])  # beta2 < 0: eta up to ~400
    fit = survival.fit_cox(shifted[["x1", "x2"]], np.zeros(len(df)), df["T"], df["E"])
    np.testing.assert_allclose(fit.params, base.params, rtol=1e-7)
    np.testing.assert_allclose(fit.score_residuals(), base.score_residuals(), atol=1e-7)
    np.testing.assert_allclose(
        fit.schoenfeld_residuals()[1], base.schoenfeld_residuals()[1], atol=1e-7
    )
    pd.testing.assert_frame_equal(
        survival.grambsch_therneau(fit), survival.grambsch_therneau(base), rtol=1e-5
    )


def test_stratified_fit_adds_every_stratum_even_after_one_without_events():
    """Strata with their own baselines: lifelines' estimate and standard errors; a first
    stratum without events adds nothing but does not end the sum."""
    df = one_row_data(seed=8)
    df["stratum"] = df["site"] % 5
    df.loc[df["stratum"] == 0, "E"] = 0
    fit = survival.fit_cox(
        df[["x1", "x2"]], np.zeros(len(df)), df["T"], df["E"], strata=df["stratum"]
    )
    cph = CoxPHFitter().fit(df[["x1", "x2", "T", "E", "stratum"]], "T", "E", strata=["stratum"])
    np.testing.assert_allclose(fit.params, cph.params_.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(fit.se, cph.standard_errors_.to_numpy(), rtol=1e-5)


def test_a_piece_starting_at_an_event_time_is_not_at_risk_then():
    """Cut records exactly at other people's event times: the risk set at t is start < t,
    so the cut changes nothing."""
    df = one_row_data(n=200, seed=23)
    times = np.sort(df.loc[df["E"] == 1, "T"].to_numpy())
    cut = np.array([times[times < t][-1] if (times < t).any() else t / 2 for t in df["T"]])
    a = df.assign(start=0.0, stop=cut, E=0)
    b = df.assign(start=cut, stop=df["T"])
    both = pd.concat([a, b]).reset_index(drop=True)
    whole = survival.fit_cox(df[["x1", "x2"]], np.zeros(len(df)), df["T"], df["E"])
    split = survival.fit_cox(both[["x1", "x2"]], both["start"], both["stop"], both["E"])
    np.testing.assert_allclose(split.params, whole.params, rtol=1e-9)
    np.testing.assert_allclose(split.cov, whole.cov, rtol=1e-9)


def test_integer_covariates_and_times_give_the_float_answer():
    df = one_row_data(n=300, seed=24)
    days = np.ceil(df["T"] * 365).astype(int)
    xi = df[["x1"]].astype(int)
    a = survival.fit_cox(xi, np.zeros(len(df), int), days, df["E"])
    b = survival.fit_cox(xi.astype(float), np.zeros(len(df)), days.astype(float), df["E"])
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)
    pd.testing.assert_frame_equal(survival.grambsch_therneau(a), survival.grambsch_therneau(b))


def test_grambsch_therneau_table_shape_and_refusal():
    df = one_row_data(seed=25)
    fit = survival.fit_cox(df[["x1", "x2"]], np.zeros(len(df)), df["T"], df["E"])
    gt = survival.grambsch_therneau(fit)
    assert list(gt.columns) == ["term", "chi2", "df", "p"]
    assert gt["term"].tolist() == ["x1", "x2", "global"] and gt["df"].tolist() == [1, 1, 2]
    for _, row in gt.iterrows():
        assert row["p"] == pytest.approx(stats.chi2.sf(row["chi2"], row["df"]), rel=1e-12)
    with pytest.raises(ValueError, match="^unknown time transform 'sqrt'$"):
        survival.grambsch_therneau(fit, "sqrt")


def test_cumulative_incidence_columns_censoring_and_refusal():
    cif = survival.cumulative_incidence([0, 0, 0, 0], [1, 2, 3, 4], ["a", "b", "", None], "a")
    assert list(cif.columns) == ["time", "at_risk", "events", "competing", "cif", "surv"]
    assert cif["time"].tolist() == [1, 2]  # "" and None are censored
    assert cif["events"].tolist() == [1, 0] and cif["competing"].tolist() == [0, 1]
    with pytest.raises(ValueError, match="^every row needs entry < exit$"):
        survival.cumulative_incidence([1], [1], ["a"], "a")
    with pytest.raises(ValueError, match="^every row needs entry < exit$"):
        survival.cumulative_incidence([2], [1], ["a"], "a")


def test_at_risk_defaults_to_just_after_t_and_curves_start_at_zero_and_one():
    entry, exit_ = [0, 0, 1, 2], [1, 3, 4, 5]
    assert survival.at_risk_at(entry, exit_, [0, 1, 2, 4]).tolist() == [2, 2, 3, 1]
    cif = survival.cumulative_incidence(entry, exit_, ["a", None, "b", None], "a")
    assert survival.step_at(cif, [0.5, 1, 4], "cif").tolist() == [0.0, 0.5, 0.5]
    assert survival.step_at(cif, [0.5, 1], "surv").tolist() == [1.0, 0.5]
    assert survival.step_at(cif, [0.5]).tolist() == [0.0]


def test_cumulative_incidence_reads_nan_none_and_empty_causes_as_censored_in_a_list():
    entry = [0.0, 0.0, 0.0, 0.0, 0.0]
    exit_ = [1.0, 2.0, 3.0, 4.0, 5.0]
    causes = ["voluntary", np.nan, "other", None, ""]  # a plain list: NaN is not a cause
    c = survival.cumulative_incidence(entry, exit_, causes, "voluntary")
    assert c["time"].tolist() == [1.0, 3.0]
    assert c["at_risk"].tolist() == [5, 3] and c["events"].tolist() == [1, 0]
    assert c["competing"].tolist() == [0, 1]
    np.testing.assert_allclose(c["cif"], [0.2, 0.2])
    np.testing.assert_allclose(c["surv"], [0.8, 0.8 * 2 / 3])
    # without a None in it, numpy would read the list as text ("nan"): still censored
    no_none = survival.cumulative_incidence(entry[:3], exit_[:3], causes[:3], "voluntary")
    assert no_none["time"].tolist() == [1.0, 3.0] and no_none["at_risk"].tolist() == [3, 1]


def test_at_risk_at_refuses_an_unknown_side():
    with pytest.raises(ValueError, match="^closed must be 'left' or 'right', not 'both'$"):
        survival.at_risk_at([0.0], [1.0], [0.5], closed="both")


def test_a_fit_started_at_its_own_estimate_stops_after_one_iteration():
    df = one_row_data(n=300, sites=10, seed=8)
    x, start = df[["x1", "x2"]], np.zeros(len(df))
    fit = survival.fit_cox(x, start, df["T"], df["E"])
    again = survival.fit_cox(x, start, df["T"], df["E"], init=fit.params)
    assert fit.iterations > 2 and again.iterations == 1
    np.testing.assert_allclose(again.params, fit.params, rtol=1e-8)


def test_leave_one_group_out_has_one_row_per_group_and_skips_a_group_holding_every_event():
    df = one_row_data(n=300, sites=10, seed=9)
    first = pd.unique(df["site"])[0]
    df.loc[df["site"] != first, "E"] = 0  # every event in the first site
    x, start = df[["x1", "x2"]], np.zeros(len(df))
    fit = survival.fit_cox(x, start, df["T"], df["E"])
    loo = survival.leave_one_group_out(x, start, df["T"], df["E"], df["site"], fit.params)
    assert loo.shape == (10, 2)
    assert np.isnan(loo[0]).all() and np.isfinite(loo[1:]).all()
