"""Turnover: person-time, the Cox model of voluntary exit and its inference, excess exits, the
linked survey cohort and retention curves, on small simulated organizations with known truth.

The simulator writes the contract's tables (sites, management, clinicians), so each test runs
the analysis from person-time splitting onwards, as the notebook does."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers.analysis import turnover
from helpers.analysis.inference import TooFewSites

WINDOW = (pd.Timestamp("2017-01-01"), pd.Timestamp("2024-12-31"))
SITES = pd.DataFrame({"site_id": ["A"], "setting": ["primary_care"]})
MGMT = pd.DataFrame(
    {
        "site_id": ["A", "A"],
        "effective_from": pd.to_datetime(["2015-01-01", "2021-01-01"]),
        "effective_to": pd.to_datetime(["2020-12-31", None]),
        "comp_model": ["rvu_production", "salary"],
        "team_based_care": [False, True],
        "clinician_in_governance": [False, False],
        "admin_shadowing": [False, False],
        "protected_time_pct": [0.0, 10.0],
        "pct_comp_productivity": [70.0, 0.0],
        "rvu_target_annual": [5000.0, np.nan],
    }
)
K, LAM = 0.8, 8.0  # Weibull baseline of voluntary exit on tenure (years)
OTHER_EXIT = 0.03  # competing exits per year


def simulate_org(
    seed: int,
    n_sites: int = 30,
    per_site: int = 20,
    hr_rvu: float = 1.6,
    hr_tbc: float = 0.7,
    shock: float = 1.0,
    adopt_2021: float = 0.0,
    frailty_sd: float = 0.0,
    hr_protected_10pt: float = 1.0,
):
    """Sites, management and clinicians of a simulated organization.

    Half the sites pay by RVU production (the rest salary) throughout. Team-based care is
    adopted on 2021-01-01 by a share ``adopt_2021`` of sites (chosen at random), and on a
    random date in 2012-2024 by a quarter of the others. Voluntary exits: Weibull hazard on
    tenure times ``hr_rvu``, ``hr_tbc``, ``shock`` in calendar 2021-2022, a log-normal site
    frailty (``frailty_sd`` on the log scale) and ``hr_protected_10pt`` per 10 points of the
    site's protected time (0-30%); other exits at a constant 0.03 a year compete. Clinicians
    are hired in 2008-2024 and followed from the later of hire and 1 January 2017.
    """
    rng = np.random.default_rng(seed)
    site_ids = [f"S{i:02d}" for i in range(n_sites)]
    rvu = rng.permutation(np.arange(n_sites) < n_sites // 2)
    frailty = np.exp(rng.normal(0, frailty_sd, n_sites)) if frailty_sd else np.ones(n_sites)
    protected = rng.choice([0.0, 10.0, 20.0, 30.0], n_sites)
    adopt = []
    for _ in range(n_sites):
        if rng.random() < adopt_2021:
            adopt.append(pd.Timestamp("2021-01-01"))
        elif rng.random() < 0.25:
            adopt.append(pd.Timestamp("2012-01-01") + pd.Timedelta(days=int(rng.integers(0, 4700))))
        else:
            adopt.append(None)
    mgmt = []
    for i, s in enumerate(site_ids):
        base = {
            "site_id": s,
            "comp_model": "rvu_production" if rvu[i] else "salary",
            "clinician_in_governance": bool(i % 3 == 0),
            "admin_shadowing": bool(i % 4 == 0),
            "protected_time_pct": protected[i],
            "pct_comp_productivity": 75.0 if rvu[i] else 0.0,
            "rvu_target_annual": 5000.0 if rvu[i] else np.nan,
        }
        start = pd.Timestamp("2000-01-01")
        if adopt[i] is not None:
            mgmt.append(
                base
                | {
                    "effective_from": start,
                    "effective_to": adopt[i] - pd.Timedelta(days=1),
                    "team_based_care": False,
                }
            )
            start = adopt[i]
        mgmt.append(
            base
            | {
                "effective_from": start,
                "effective_to": pd.NaT,
                "team_based_care": adopt[i] is not None,
            }
        )
    management = pd.DataFrame(mgmt)
    years = [pd.Timestamp(f"{y}-01-01") for y in range(2018, 2025)]
    rows = []
    for i, s in enumerate(site_ids):
        cuts = sorted({*years, *([adopt[i]] if adopt[i] is not None else [])})
        for j in range(per_site):
            hire = pd.Timestamp("2008-01-01") + pd.Timedelta(days=int(rng.integers(0, 6000)))
            entry = max(hire, WINDOW[0])
            bounds = [
                entry,
                *[c for c in cuts if entry < c <= WINDOW[1]],
                WINDOW[1] + pd.Timedelta(days=1),
            ]
            target = rng.exponential()
            exit_date, reason = pd.NaT, None
            for a, b in zip(bounds[:-1], bounds[1:], strict=True):
                m = frailty[i] * hr_protected_10pt ** (protected[i] / 10)
                m *= hr_rvu if rvu[i] else 1.0
                m *= hr_tbc if adopt[i] is not None and a >= adopt[i] else 1.0
                m *= shock if a.year in (2021, 2022) else 1.0
                t0, t1 = ((a - hire).days / 365.25, (b - hire).days / 365.25)
                dh = m * ((t1 / LAM) ** K - (t0 / LAM) ** K)
                if dh >= target:
                    tau = LAM * ((t0 / LAM) ** K + target / m) ** (1 / K)
                    exit_date, reason = hire + pd.Timedelta(days=int(tau * 365.25)), "voluntary"
                    break
                target -= dh
            other = entry + pd.Timedelta(
                days=int(min(rng.exponential(1 / OTHER_EXIT), 50) * 365.25)
            )
            if other <= WINDOW[1] and (pd.isna(exit_date) or other < exit_date):
                exit_date, reason = other, str(rng.choice(["involuntary", "retirement"]))
            rows.append(
                {
                    "clinician_id": f"{s}-{j}",
                    "site_id": s,
                    "role": "physician" if j % 3 else "advanced_practice",
                    "fte": 1.0,
                    "hire_date": hire,
                    "exit_date": exit_date,
                    "exit_reason": reason,
                }
            )
    clinicians = pd.DataFrame(rows)
    sites = pd.DataFrame({"site_id": site_ids, "setting": "primary_care"})
    return clinicians, management, sites


def org_person_time(**kw):
    return turnover.person_time(*simulate_org(**kw), WINDOW)


# --- person-time ----------------------------------------------------------------------------------
def test_spells_split_at_regime_change_and_calendar_year_with_left_truncation():
    c = pd.DataFrame(
        {
            "clinician_id": ["x", "y", "z"],
            "site_id": "A",
            "role": ["physician", "advanced_practice", "nurse"],
            "hire_date": pd.to_datetime(["2016-01-01", "2020-07-01", "2018-01-01"]),
            "exit_date": pd.to_datetime(["2021-06-30", None, None]),
            "exit_reason": ["voluntary", None, None],
            "fte": 1.0,
        }
    )
    pt = turnover.person_time(c, MGMT, SITES, WINDOW)
    x = pt[pt["clinician_id"] == "x"]
    assert x["year"].tolist() == [2017, 2018, 2019, 2020, 2021]
    assert x["comp_model"].tolist() == ["rvu_production"] * 4 + ["salary"]
    assert x["protected_time_pct"].tolist() == [0.0] * 4 + [10.0]
    assert x["rvu_target_annual"].iloc[0] == 5000.0 and np.isnan(x["rvu_target_annual"].iloc[-1])
    assert x["event"].tolist() == [False] * 4 + [True]
    assert x["cause"].tolist() == [None] * 4 + ["voluntary"]
    assert x["start"].iloc[0] == pytest.approx(366 / 365.25)  # entered at the window start
    np.testing.assert_allclose(x["stop"].iloc[:-1], x["start"].iloc[1:])  # contiguous
    assert x["years"].sum() == pytest.approx(
        ((pd.Timestamp("2021-06-30") - WINDOW[0]).days + 1) / 365.25
    )
    y = pt[pt["clinician_id"] == "y"]
    assert y["year"].tolist() == [2020, 2021, 2022, 2023, 2024]
    assert y["years"].sum() == pytest.approx(
        ((WINDOW[1] - pd.Timestamp("2020-07-01")).days + 1) / 365.25
    )
    assert not y["event"].any() and y["cause"].isna().all()
    assert set(pt["clinician_id"]) == {"x", "y"}  # nurses are not clinicians
    assert turnover.rate_table(pt).iloc[0]["exits"] == 1


def test_calendar_years_without_exits_are_pooled():
    year = pd.Series([2017, 2017, 2018, 2019, 2020, 2020])
    event = pd.Series([True, False, False, True, False, False])
    # 2018 (no exit) joins 2019; the trailing 2020 (no exit) joins the period before
    assert turnover.calendar_periods(year, event).tolist() == ["2017"] * 2 + ["2018-2020"] * 4


# --- the Cox model --------------------------------------------------------------------------------
def test_calendar_terms_remove_the_bias_of_a_shock_that_coincides_with_adoption():
    """Exits triple in 2021-2022, the years most sites adopt team-based care. Without calendar
    terms the shock is credited to team-based care; with them the true 0.7 is recovered."""
    pt = org_person_time(seed=21, shock=3.0, adopt_2021=0.7, per_site=25)
    naive = turnover.cox_model(pt, calendar=False).term("team_based_care")
    adjusted = turnover.cox_model(pt).term("team_based_care")
    assert naive["ci_low"] > 0.7  # biased: the interval excludes the truth
    assert naive["hr"] > 0.95
    assert adjusted["ci_low"] <= 0.7 <= adjusted["ci_high"]
    assert abs(np.log(adjusted["hr"] / 0.7)) < 0.2
    rvu = turnover.cox_model(pt).term("comp_rvu_production")
    assert rvu["ci_low"] <= 1.6 <= rvu["ci_high"]


def test_site_clustered_interval_is_wider_under_frailty_and_covers():
    """Site frailty (log-normal, sd 0.6) with pay model fixed by site: the model-based
    interval is too narrow; the CR1/t(G-1) site-clustered one is wider and covers the truth at
    about its nominal rate over replicates."""
    covered_cluster, covered_model, ratio = 0, 0, []
    reps = 24
    for seed in range(reps):
        pt = org_person_time(seed=100 + seed, frailty_sd=0.6, per_site=15)
        r = turnover.cox_model(pt).term("comp_rvu_production")
        b, se_model = np.log(r["hr"]), r["se_model"]
        ratio.append(r["se"] / se_model)
        covered_cluster += r["ci_low"] <= 1.6 <= r["ci_high"]
        z = stats.norm.ppf(0.975)
        covered_model += b - z * se_model <= np.log(1.6) <= b + z * se_model
    assert np.mean(ratio) > 1.4 and min(ratio) > 1.0
    assert covered_cluster >= 20  # nominal 95%: about 23 of 24
    assert covered_model <= covered_cluster - 3


def test_interval_is_symmetric_on_the_log_scale_with_the_jackknife_se_and_t():
    pt = org_person_time(seed=5)
    res = turnover.cox_model(pt)
    cr1 = turnover.cox_model(pt, inference="cr1")
    g = res.n_sites
    assert g == 30 and res.dof == 29
    for term in ("comp_rvu_production", "team_based_care"):
        r, c = res.term(term), cr1.term(term)
        lo, hr, hi = np.log([r["ci_low"], r["hr"], r["ci_high"]])
        assert hr - lo == pytest.approx(hi - hr, rel=1e-9)
        assert (hi - lo) / 2 == pytest.approx(stats.t.ppf(0.975, g - 1) * r["se"], rel=1e-9)
        assert r["p"] == pytest.approx(2 * stats.t.sf(abs(r["log_hr"] / r["se"]), g - 1))
        assert r["se_cr1"] / r["se_sandwich"] == pytest.approx(np.sqrt(g / (g - 1)), rel=1e-9)
        assert c["se"] == c["se_cr1"] == r["se_cr1"] and c["hr"] == r["hr"]
    with pytest.raises(ValueError):
        turnover.cox_model(pt, inference="bootstrap")


def test_jackknife_se_is_that_of_the_model_refitted_without_each_site():
    """The published standard error is the site jackknife: sqrt((G-1)/G sum (b_(g) - b)^2)
    over the model refitted to convergence without each site (here by lifelines)."""
    from lifelines import CoxPHFitter

    pt = org_person_time(seed=7, per_site=12)
    res = turnover.cox_model(pt, calendar=False)
    x = turnover.design(pt, calendar=False)
    terms = ["comp_rvu_production", "team_based_care"]
    data = pd.concat([x, pt[["start", "stop", "event"]]], axis=1)
    sites = pt["site_id"].unique()
    refits = []
    for site in sites:
        rest = data[(pt["site_id"] != site).to_numpy()]
        cph = CoxPHFitter().fit(rest, "stop", "event", entry_col="start")
        refits.append(cph.params_[terms].to_numpy())
    b = res.coef.set_index("term").loc[terms, "log_hr"].to_numpy()
    g = len(sites)
    by_hand = np.sqrt((g - 1) / g * ((np.array(refits) - b) ** 2).sum(axis=0))
    se = res.coef.set_index("term").loc[terms, "se"].to_numpy()
    np.testing.assert_allclose(se, by_hand, rtol=0.02)


def test_no_site_clustered_model_on_few_sites():
    pt = org_person_time(seed=6)
    three = pt[pt["site_id"].isin(["S00", "S01", "S02"])]
    with pytest.raises(TooFewSites):
        turnover.cox_model(three)
    with pytest.raises(TooFewSites):
        turnover.dose_model(three, "protected_time_10pt")


def test_dose_term_recovers_a_protected_time_gradient():
    pt = org_person_time(seed=8, hr_protected_10pt=0.8, per_site=25)
    res = turnover.dose_model(pt, "protected_time_10pt")
    r = res.term("protected_time_10pt")
    assert r["ci_low"] <= 0.8 <= r["ci_high"]
    assert r["ci_high"] < 1.0
    assert r["clinicians"] == pt["clinician_id"].nunique()  # a slope describes everyone
    target = turnover.dose_model(pt, "rvu_target_1000")
    assert target.n_sites == 15  # only the sites with a target
    assert "comp_rvu_production" not in target.table["term"].tolist()  # no contrast left


def test_site_stratified_model_keeps_only_terms_that_change_within_sites():
    pt = org_person_time(seed=9)
    res = turnover.cox_model(pt, stratified=True)
    terms = res.table.set_index("term")
    assert "comp_rvu_production" not in terms.index  # constant within every site
    assert "team_based_care" in terms.index
    adopters = pt.groupby("site_id")["team_based_care"].nunique().gt(1).sum()
    assert terms.loc["team_based_care", "sites"] == adopters
    assert res.ph is not None


def test_people_and_sites_per_term_are_the_smaller_side():
    x = pd.DataFrame({"a": [1.0, 1.0, 0.0, 0.0, 0.0], "b": [0.0, 0.0, 0.0, 0.0, 1.0]})
    who = pd.Series(["p", "p", "q", "r", "s"])  # p has two segments, both with a
    assert turnover.people_per_term(x, who) == [1, 1]
    x["a"] = [1.0, 0.0, 1.0, 1.0, 0.0]  # p is on both sides of a
    assert turnover.people_per_term(x, who) == [2, 1]  # with a: p, q, r; without: p, s
    site = pd.Series(["A", "A", "B", "C", "C"])
    assert turnover.sites_per_term(x, site) == [2, 1]  # a: A, B, C vs A, C; b: C vs A, B, C
    assert turnover.sites_per_term(x, site, within_site=True) == [2, 1]


# --- excess exits ---------------------------------------------------------------------------------
def test_excess_exits_equal_a_hand_computation():
    """Exits under RVU production pay counted from the raw tables (the pay model on the exit
    date), independently of person-time, times (HR - 1)/HR, per year of the window."""
    clinicians, management, sites = simulate_org(seed=12)
    pt = turnover.person_time(clinicians, management, sites, WINDOW)
    res = turnover.cox_model(pt)
    r = res.term("comp_rvu_production")
    rvu_sites = set(management.loc[management["comp_model"] == "rvu_production", "site_id"])
    left = clinicians[
        (clinicians["exit_reason"] == "voluntary")
        & clinicians["exit_date"].between(*WINDOW)
        & clinicians["site_id"].isin(rvu_sites)
    ]
    years = ((WINDOW[1] - WINDOW[0]).days + 1) / 365.25
    by_hand = len(left) / years * (r["hr"] - 1) / r["hr"]
    exits = int(pt.loc[pt["comp_model"] == "rvu_production", "event"].sum())
    assert exits == len(left)
    ex = turnover.excess_exits(
        exits, turnover.window_years(WINDOW), r["log_hr"], r["se"], res.n_sites
    )
    assert ex.estimate == pytest.approx(by_hand, rel=1e-12)
    assert ex.draws.shape == (100_000,)


def test_excess_exit_interval_propagates_both_uncertainties():
    """With no uncertainty in the hazard ratio the interval is the Poisson one of the count;
    with a count so large its noise vanishes it is the t(G-1) interval of log HR mapped
    through 1 - 1/HR."""
    only_count = turnover.excess_exits(200, 8.0, np.log(1.5), 0.0, 30, seed=1)
    lo, hi = stats.poisson.ppf([0.025, 0.975], 200) / 8.0 / 3
    assert only_count.ci_low == pytest.approx(lo, abs=1 / 8 / 3 + 1e-9)
    assert only_count.ci_high == pytest.approx(hi, abs=1 / 8 / 3 + 1e-9)
    only_hr = turnover.excess_exits(10**9, 1.0, np.log(1.5), 0.2, 30, seed=2)
    q = stats.t.ppf(0.975, 29)
    expect = 10**9 * (1 - np.exp(-(np.log(1.5) + np.array([-q, q]) * 0.2)))
    np.testing.assert_allclose([only_hr.ci_low, only_hr.ci_high], expect, atol=2e-3 * 10**9)
    both = turnover.excess_exits(200, 8.0, np.log(1.5), 0.2, 30, seed=3)
    assert both.ci_high - both.ci_low > only_count.ci_high - only_count.ci_low
    assert np.median(both.draws) == pytest.approx(both.estimate, rel=0.05)


# --- the linked survey cohort ---------------------------------------------------------------
def simulate_linked(seed: int, n_sites: int = 30, per_site: int = 15, hr: float = 2.0):
    """Clinicians surveyed each 15 October 2018-2023 while in post (80% give their id);
    burnout is more common at sites with a higher baseline exit hazard (confounding by
    site); after each survey, voluntary exit within the year at hazard base_site * hr if
    burned out, other exits at 0.03 a year."""
    rng = np.random.default_rng(seed)
    clinicians, survey = [], []
    for s in range(n_sites):
        base = rng.uniform(0.05, 0.3)
        p_burn = 0.2 + base  # confounded with the site's exit hazard
        for j in range(per_site):
            cid, hire = f"S{s}-{j}", pd.Timestamp("2015-03-01")
            exit_date, reason = pd.NaT, None
            for year in range(2018, 2024):
                day = pd.Timestamp(f"{year}-10-15")
                burned = rng.random() < p_burn
                survey.append(
                    {
                        "response_id": f"{cid}-{year}",
                        "site_id": f"S{s}",
                        "survey_date": day,
                        "clinician_id": cid if rng.random() < 0.8 else None,
                        "role": "physician",
                        "burnout": int(rng.choice([3, 4, 5]) if burned else rng.choice([1, 2])),
                    }
                )
                t_vol = rng.exponential(1 / (base * (hr if burned else 1.0)))
                t_oth = rng.exponential(1 / 0.03)
                if min(t_vol, t_oth) < 1.0:
                    t = min(t_vol, t_oth)
                    exit_date = day + pd.Timedelta(days=int(t * 365.25))
                    reason = "voluntary" if t_vol < t_oth else "involuntary"
                    break
            clinicians.append(
                {
                    "clinician_id": cid,
                    "site_id": f"S{s}",
                    "role": "physician",
                    "hire_date": hire,
                    "exit_date": exit_date,
                    "exit_reason": reason,
                }
            )
    return pd.DataFrame(survey), pd.DataFrame(clinicians)


def test_linked_cohort_recovers_a_simulated_burnout_hazard_ratio():
    survey, clinicians = simulate_linked(seed=31)
    cohort = turnover.linked_cohort(survey, clinicians, WINDOW)
    assert len(cohort) == survey["clinician_id"].notna().sum()  # everyone in post was linked
    res = turnover.burnout_exit_model(cohort)
    assert res.ci_low <= 2.0 <= res.ci_high
    assert abs(np.log(res.hr / 2.0)) < 0.2
    assert res.n_events == int(cohort["event"].sum())
    assert res.n_sites == 30


def test_linked_cohort_follow_up_rules():
    clinicians = pd.DataFrame(
        {
            "clinician_id": ["a", "b", "c", "d", "e"],
            "site_id": "A",
            "role": ["physician", "physician", "physician", "physician", "nurse"],
            "hire_date": pd.to_datetime(
                ["2015-01-01", "2015-01-01", "2019-01-01", "2015-01-01", "2015-01-01"]
            ),
            "exit_date": pd.to_datetime(["2019-03-01", "2020-01-15", None, "2019-05-01", None]),
            "exit_reason": ["voluntary", "voluntary", None, "involuntary", None],
        }
    )
    survey = pd.DataFrame(
        {
            "response_id": ["r1", "r2", "r3", "r4", "r5", "r6", "r7"],
            "site_id": "A",
            "survey_date": pd.to_datetime(
                ["2018-10-15", "2018-10-15", "2018-10-15", "2018-10-15", "2018-10-15",
                 "2018-10-15", "2024-10-15"]
            ),
            "clinician_id": ["a", "b", "c", "d", "e", None, "c"],
            "role": "physician",
            "burnout": [4, 1, 2, 5, 3, 4, 1],
        }
    )  # fmt: skip
    cohort = turnover.linked_cohort(survey, clinicians, WINDOW).set_index("response_id")
    # c not yet hired, e a nurse, r6 anonymous: not linked
    assert sorted(cohort.index) == ["r1", "r2", "r4", "r7"]
    assert bool(cohort.loc["r1", "event"]) and cohort.loc["r1", "burned_out"]
    assert cohort.loc["r1", "time"] == pytest.approx(
        ((pd.Timestamp("2019-03-01") - pd.Timestamp("2018-10-15")).days + 1) / 365.25
    )
    assert not cohort.loc["r2", "event"]  # left after 15 months: censored at 12
    assert cohort.loc["r2", "time"] == pytest.approx(365 / 365.25)
    assert not cohort.loc["r4", "event"]  # an involuntary exit censors
    assert cohort.loc["r7", "time"] == pytest.approx(78 / 365.25)  # the window ends


# --- retention curves -----------------------------------------------------------------------
def test_incidence_curves_stop_where_few_remain_at_risk():
    pt = org_person_time(seed=14)
    spells = turnover.spells_at_entry(pt)
    assert len(spells) == pt["spell"].nunique()
    curves, at_risk = turnover.incidence_curves(spells, "comp_model", min_at_risk=25)
    assert set(curves) == {"rvu_production", "salary"}
    for c in curves.values():
        assert c["clinicians_at_risk"].min() >= 25
        assert c["cif"].is_monotonic_increasing
    full = turnover.incidence_curves(spells, "comp_model", min_at_risk=1)[0]
    assert any(len(full[k]) > len(curves[k]) for k in curves)  # something was cut
    g = spells[spells["comp_model"] == "salary"]
    n5 = g.loc[(g["entry"] <= 5) & (g["exit"] > 5), "clinician_id"].nunique()
    row = at_risk[(at_risk["group"] == "salary") & (at_risk["tenure_years"] == 5)]
    assert row["at_risk"].item() == n5


def test_a_level_without_exits_is_left_out_so_the_model_still_converges():
    from helpers.analysis import turnover

    rng = np.random.default_rng(5)
    n = 400
    pt = pd.DataFrame(
        {
            "comp_model": rng.choice(["salary", "rvu_production"], n),
            "team_based_care": rng.integers(0, 2, n).astype(bool),
            "clinician_in_governance": rng.integers(0, 2, n).astype(bool),
            "admin_shadowing": rng.integers(0, 2, n).astype(bool),
            "role": np.where(np.arange(n) < 6, "behavioral_health", "physician"),
            "setting": "primary_care",
            "year": 2020,
            "event": rng.random(n) < 0.3,
        }
    )
    pt.loc[pt["role"] == "behavioral_health", "event"] = False
    x = turnover.design(pt, calendar=False)
    assert "role_behavioral_health" not in x.columns
    assert {"comp_rvu_production", "team_based_care"} <= set(x.columns)
    pt.loc[0, "event"] = True  # one exit: the level stays
    assert "role_behavioral_health" in turnover.design(pt, calendar=False).columns


# --- exact tables and edges ---------------------------------------------------------------------
def test_rate_table_counts_and_exact_intervals_overall_and_by_group():
    from helpers.analysis.rates import poisson_rate_ci

    pt = pd.DataFrame(
        {
            "clinician_id": ["a", "a", "b", "c", "d"],
            "comp_model": ["salary", "salary", "salary", "hybrid", "hybrid"],
            "event": [False, True, False, True, True],
            "years": [1.0, 0.5, 2.0, 3.0, 1.5],
        }
    )
    overall = turnover.rate_table(pt)
    assert overall.to_dict("records") == [
        {
            "group": "all",
            "clinicians": 4,
            "exits": 3,
            "clinician_years": 8.0,
            **dict(
                zip(["rate_per_100", "ci_low", "ci_high"], poisson_rate_ci(3, 8.0), strict=True)
            ),
        }
    ]
    by = turnover.rate_table(pt, "comp_model")
    assert by["group"].tolist() == ["hybrid", "salary"]  # sorted
    assert by["clinicians"].tolist() == [2, 2] and by["exits"].tolist() == [2, 1]
    assert by["clinician_years"].tolist() == [4.5, 3.5]
    assert by.loc[1, "rate_per_100"] == pytest.approx(100 / 3.5)
    assert (by.loc[1, "ci_low"], by.loc[1, "ci_high"]) == poisson_rate_ci(1, 3.5)[1:]


def test_linked_cohort_boundaries_and_a_rehired_clinician():
    """A survey on the hire date counts; an exit on the last day of follow-up is an event; a
    follow-up reaching the window's last day ends there; a clinician with two spells answers
    from the later one (in post on the survey date)."""
    clinicians = pd.DataFrame(
        {
            "clinician_id": ["a", "b", "r", "r"],
            "site_id": ["A", "A", "A", "B"],
            "role": "physician",
            "hire_date": pd.to_datetime(["2018-10-15", "2015-01-01", "2010-01-01", "2016-01-01"]),
            "exit_date": pd.to_datetime(["2019-10-14", None, "2015-06-30", None]),
            "exit_reason": ["voluntary", None, "voluntary", None],
        }
    )
    survey = pd.DataFrame(
        {
            "response_id": ["ra", "rb", "rr"],
            "site_id": "A",
            "survey_date": pd.to_datetime(["2018-10-15", "2024-01-01", "2018-10-15"]),
            "clinician_id": ["a", "b", "r"],
            "role": "physician",
            "burnout": [3, 2, 1],
        }
    )
    cohort = turnover.linked_cohort(survey, clinicians, WINDOW).set_index("response_id")
    assert sorted(cohort.index) == ["ra", "rb", "rr"]
    assert bool(cohort.loc["ra", "event"]) and cohort.loc["ra", "time"] == pytest.approx(
        1.0 * 365 / 365.25
    )
    assert cohort.loc["rb", "time"] == pytest.approx(366 / 365.25)  # 2024 to 31 Dec 2024
    assert cohort.loc["rr", "site_id"] == "B" and not cohort.loc["rr", "event"]
    assert list(cohort.reset_index().columns) == [
        "response_id", "clinician_id", "site_id", "role", "survey_date", "year", "burned_out",
        "time", "event", "cause",
    ]  # fmt: skip


def test_burnout_exit_model_is_stratified_by_site_with_year_terms():
    """The linked model against a direct fit: burned out plus survey-year indicators (years
    pooled by calendar_periods), each site its own baseline (lifelines' strata), CR1/t(G-1)
    interval; the people are the smaller side of burned out vs not."""
    from statsmodels.duration.hazard_regression import PHReg

    survey, clinicians = simulate_linked(seed=33, n_sites=12, per_site=12)
    cohort = turnover.linked_cohort(survey, clinicians, WINDOW)
    res = turnover.burnout_exit_model(cohort)
    period = turnover.calendar_periods(cohort["year"], cohort["event"])
    d = pd.DataFrame({"burned_out": cohort["burned_out"].astype(float)})
    for level in sorted(period.unique())[1:]:
        d[f"year_{level}"] = (period == level).astype(float)
    assert list(res.table["term"]) == list(d.columns) and len(d.columns) > 2
    ph = PHReg(
        cohort["time"], d, status=cohort["event"].astype(int), strata=cohort["site_id"],
        ties="breslow",
    ).fit()  # fmt: skip
    assert res.log_hr == pytest.approx(ph.params[0], rel=1e-6)
    assert res.hr == pytest.approx(np.exp(res.log_hr))
    q = stats.t.ppf(0.975, res.n_sites - 1)
    assert (res.ci_low, res.ci_high) == pytest.approx(
        np.exp(res.log_hr + np.array([-q, q]) * res.se)
    )
    assert res.p == pytest.approx(2 * stats.t.sf(abs(res.log_hr / res.se), res.n_sites - 1))
    burned = cohort.loc[cohort["burned_out"], "clinician_id"].nunique()
    not_burned = cohort.loc[~cohort["burned_out"], "clinician_id"].nunique()
    assert res.people == min(burned, not_burned)
    assert res.n_responses == len(cohort) and res.n_sites == 12
    assert res.n_clinicians == cohort["clinician_id"].nunique()
    both = cohort.groupby("site_id")["burned_out"].nunique().eq(2).sum()  # learnt within sites
    assert res.table.set_index("term").loc["burned_out", "sites"] == both


def test_burnout_exit_model_refuses_few_sites_and_no_variation():
    survey, clinicians = simulate_linked(seed=34, n_sites=12, per_site=8)
    cohort = turnover.linked_cohort(survey, clinicians, WINDOW)
    few = cohort[cohort["site_id"].isin([f"S{i}" for i in range(9)])]
    with pytest.raises(TooFewSites, match="^Cox model of exit after a survey: 9 site"):
        turnover.burnout_exit_model(few)
    with pytest.raises(ValueError, match="^no variation in burnout among linked responses$"):
        turnover.burnout_exit_model(cohort.assign(burned_out=True))


def test_rvu_excess_exits_use_the_main_models_rvu_term_and_the_rvu_exits():
    pt = org_person_time(seed=12)
    cox = turnover.cox_model(pt)
    r = cox.term("comp_rvu_production")
    ex = turnover.rvu_excess_exits(pt, cox, WINDOW, draws=2000, seed=5)
    exits = int(pt.loc[pt["comp_model"] == "rvu_production", "event"].sum())
    direct = turnover.excess_exits(
        exits, turnover.window_years(WINDOW), r["log_hr"], r["se"], cox.n_sites, 2000, 5
    )
    assert (ex.estimate, ex.ci_low, ex.ci_high, ex.exits) == (
        direct.estimate, direct.ci_low, direct.ci_high, exits
    )  # fmt: skip
    assert ex.draws.shape == (2000,) and ex.hr == pytest.approx(r["hr"])
    assert turnover.rvu_excess_exits(pt, cox, WINDOW).draws.shape == (100_000,)
    few = cox.table.assign(sites=np.where(cox.table["term"] == "comp_rvu_production", 9, 30))
    with pytest.raises(ValueError, match="^the hazard ratio compares fewer than 10 sites"):
        turnover.rvu_excess_exits(pt, dataclasses.replace(cox, table=few), WINDOW)
    ten = cox.table.assign(sites=np.where(cox.table["term"] == "comp_rvu_production", 10, 30))
    turnover.rvu_excess_exits(pt, dataclasses.replace(cox, table=ten), WINDOW, draws=10)
    salary = pt[pt["comp_model"] != "rvu_production"]
    with pytest.raises(ValueError, match="^no person-time under RVU production pay$"):
        turnover.rvu_excess_exits(salary, turnover.cox_model(salary), WINDOW)


# --- edges of the helpers, exactly ----------------------------------------------------------------
def test_indicators_take_the_preferred_reference_else_the_most_common_level():
    values = pd.Series(["b", "a", "a", "c", "a", "b"], index=[10, 11, 12, 13, 14, 15])
    x = pd.DataFrame(index=values.index)
    turnover._indicators(x, values, "role", "b")
    assert list(x.columns) == ["role_a", "role_c"]
    assert x["role_a"].tolist() == [0.0, 1.0, 1.0, 0.0, 1.0, 0.0]
    assert x["role_c"].tolist() == [0.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    y = pd.DataFrame(index=values.index)
    turnover._indicators(y, values, "role", "physician")  # absent: "a", the most common
    assert list(y.columns) == ["role_b", "role_c"]
    assert y["role_b"].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0, 1.0]


def test_design_adjusts_for_calendar_period_by_default():
    pt = org_person_time(seed=6, n_sites=12, per_site=10)
    x = turnover.design(pt)
    periods = sorted(turnover.calendar_periods(pt["year"], pt["event"]).unique())
    assert len(periods) > 2
    assert [c for c in x.columns if c.startswith("year_")] == [f"year_{p}" for p in periods[1:]]
    assert not any(c.startswith("year_") for c in turnover.design(pt, calendar=False).columns)


def test_calendar_periods_pool_trailing_years_with_the_last_period_and_all_without_exits():
    year = pd.Series([2017, 2018, 2019, 2020, 2021], index=[5, 6, 7, 8, 9])
    event = pd.Series([True, True, True, False, False], index=year.index)
    periods = turnover.calendar_periods(year, event)
    assert periods.tolist() == ["2017", "2018", "2019-2021", "2019-2021", "2019-2021"]
    assert list(periods.index) == [5, 6, 7, 8, 9]
    none = turnover.calendar_periods(year, pd.Series(False, index=year.index))
    assert none.tolist() == ["2017-2021"] * 5


def test_within_site_variation_ignores_a_site_with_one_row():
    x = pd.DataFrame({"a": [1.0, 1.0, 0.0, 0.0, 1.0], "b": [0.0, 1.0, 0.0, 0.0, 0.0]})
    site = pd.Series(["A", "A", "B", "B", "C"])  # C has a single row: no variation to see
    assert turnover.within_site_variation(x, site).to_dict() == {"a": False, "b": True}


def test_clinicians_at_risk_at_the_boundaries_and_counting_people_once():
    spells = pd.DataFrame(
        {
            "clinician_id": ["p", "p", "q", "r"],  # p rehired: two spells
            "entry": [0.0, 3.0, 1.0, 0.0],
            "exit": [2.0, 5.0, 3.0, 1.0],
        }
    )
    times = [0, 1, 2, 3, 5]
    # left: entry <= t < exit (just after t); right: entry < t <= exit (the risk set at t)
    left = turnover.clinicians_at_risk(spells, times, closed="left")
    right = turnover.clinicians_at_risk(spells, times, closed="right")
    assert left.tolist() == [2, 2, 1, 1, 0]  # t=1: p and q (r left at 1)
    assert right.tolist() == [0, 2, 2, 1, 1]  # t=1: p and r; t=3: q (p's second spell not yet)
    assert turnover.clinicians_at_risk(spells, times).tolist() == left.tolist()
    assert turnover.clinicians_at_risk(spells, [0.5, 4.0]).tolist() == [2, 1]
    assert left.dtype.kind == "i"
    with pytest.raises(ValueError, match="closed"):
        turnover.clinicians_at_risk(spells, times, closed="both")


def _spells(group: str, n: int, exits: list[tuple[float, str | None]]) -> pd.DataFrame:
    """n spells entering at tenure 0 in ``group``; the first ones end as ``exits`` says, the
    rest are censored at 10 years."""
    rows = [(t, c) for t, c in exits] + [(10.0, None)] * (n - len(exits))
    return pd.DataFrame(
        {
            "clinician_id": [f"{group}{i}" for i in range(n)],
            "group": group,
            "entry": 0.0,
            "exit": [t for t, _ in rows],
            "cause": [c for _, c in rows],
        }
    )


def test_incidence_curves_equal_a_hand_aalen_johansen_with_exact_at_risk_counts():
    ex = [(1.0, "voluntary"), (2.0, "retirement"), (3.0, "voluntary")]
    spells = pd.concat([_spells("b", 4, ex), _spells("a", 2, [])], ignore_index=True)
    spells.loc[3, "exit"] = 4.0  # the fourth spell of b censored at 4
    curves, at_risk = turnover.incidence_curves(spells, "group", min_at_risk=1, at=(0, 2, 3))
    assert list(curves) == ["a", "b"] and len(curves["a"]) == 0  # a: no exit
    c = curves["b"]
    assert list(c.columns) == [
        "time", "at_risk", "events", "competing", "cif", "surv", "clinicians_at_risk"
    ]  # fmt: skip
    assert c["time"].tolist() == [1.0, 2.0, 3.0]
    # by hand: 4 at risk at 1 (one voluntary): F = 1/4, S = 3/4; 3 at 2 (retirement):
    # S = 1/2; 2 at 3 (voluntary): F = 1/4 + 1/2 * 1/2
    np.testing.assert_allclose(c["cif"], [0.25, 0.25, 0.5])
    np.testing.assert_allclose(c["surv"], [0.75, 0.5, 0.25])
    assert c["clinicians_at_risk"].tolist() == [4, 3, 2]  # the risk set at each exit time
    assert at_risk.to_dict("list") == {
        "group": ["a", "a", "a", "b", "b", "b"],
        "tenure_years": [0.0, 2.0, 3.0, 0.0, 2.0, 3.0],
        "at_risk": [2, 2, 2, 4, 2, 1],  # those entering at 0 count at 0
    }


def test_incidence_curves_rule_of_fewest_at_risk_at_its_boundary():
    ex = [(1.0, "voluntary"), (2.0, "voluntary"), (3.0, "voluntary")]
    # "a" sorts first and is too small: the groups after it still get their curves
    spells = pd.concat(
        [_spells("b", 12, ex), _spells("a", 9, ex), _spells("c", 10, ex)], ignore_index=True
    )
    curves, at_risk = turnover.incidence_curves(spells, "group", min_at_risk=10)
    assert list(curves) == ["b", "c"]  # a (9 clinicians) has none; c (10) has one
    assert sorted(set(at_risk["group"])) == ["a", "b", "c"]
    # c: 10 at risk at the first exit (kept), 9 at the second (the curve stops there)
    assert curves["c"]["time"].tolist() == [1.0]
    assert curves["b"]["clinicians_at_risk"].tolist() == [12, 11, 10]
    assert list(curves["c"].index) == [0]


def test_spells_at_entry_columns():
    pt = org_person_time(seed=14, n_sites=10, per_site=5)
    s = turnover.spells_at_entry(pt)
    assert list(s.columns) == [
        "spell", "entry", "exit", "cause", "comp_model", "team_based_care", "clinician_id",
        "site_id",
    ]  # fmt: skip
    first = pt.groupby("spell").first()
    assert s.set_index("spell")["site_id"].equals(first["site_id"])


def test_excess_exit_draws_are_the_t_and_poisson_draws_of_the_seed():
    """Each draw: log HR = log_hr + se * T with T ~ t(G-1), exits ~ Poisson(observed), in that
    order from one generator seeded with ``seed`` (0 by default)."""
    exits, years, log_hr, se, g = 40, 8.0, np.log(1.5), 0.2, 30
    res = turnover.excess_exits(exits, years, log_hr, se, g, draws=5000)
    rng = np.random.default_rng(0)
    b = log_hr + se * rng.standard_t(g - 1, 5000)
    d = rng.poisson(exits, 5000) / years * (1 - np.exp(-b))
    np.testing.assert_array_equal(res.draws, d)
    assert (res.ci_low, res.ci_high) == pytest.approx(np.quantile(d, [0.025, 0.975]), rel=1e-12)
    assert res.years == years and res.exits == exits and res.hr == pytest.approx(1.5)
    assert res.estimate == pytest.approx(40 / 8 * (1 - 1 / 1.5))


def test_rvu_excess_exits_seed_defaults_to_zero():
    pt = org_person_time(seed=12, per_site=8)
    cox = turnover.cox_model(pt, inference="cr1")
    a = turnover.rvu_excess_exits(pt, cox, WINDOW, draws=500)
    b = turnover.rvu_excess_exits(pt, cox, WINDOW, draws=500, seed=0)
    np.testing.assert_array_equal(a.draws, b.draws)


def test_linked_cohort_window_edges_burnout_threshold_and_overlapping_spells():
    clinicians = pd.DataFrame(
        {
            "clinician_id": ["a", "b", "c", "d", "o", "o"],
            "site_id": ["A", "A", "A", "A", "A", "B"],
            "role": "physician",
            "hire_date": pd.to_datetime(
                ["2010-01-01", "2010-01-01", "2010-01-01", "2010-01-01", "2010-01-01",
                 "2017-03-01"]
            ),
            "exit_date": pd.to_datetime([None, None, "2017-06-01", None, None, None]),
            "exit_reason": [None, None, "involuntary", None, None, None],
        }
    )  # fmt: skip
    survey = pd.DataFrame(
        {
            "response_id": ["first", "last", "before", "after", "noanswer", "c", "o"],
            "survey_date": pd.to_datetime(
                ["2017-01-01", "2024-12-31", "2016-12-31", "2025-01-01", "2018-01-01",
                 "2017-01-01", "2018-01-01"]
            ),
            "clinician_id": ["a", "a", "a", "a", "b", "c", "o"],
            "burnout": [3, 2, 5, 5, np.nan, 4, 1],
        }
    )  # fmt: skip
    cohort = turnover.linked_cohort(survey, clinicians, WINDOW).set_index("response_id")
    assert sorted(cohort.index) == ["c", "first", "last", "o"]  # window days both included
    assert cohort.loc["first", "burned_out"] and not cohort.loc["last", "burned_out"]  # 3, 2
    assert cohort.loc["last", "time"] == pytest.approx(1 / 365.25)
    # o holds two spells on the survey date (a second post at B): the later hire answers
    assert cohort.loc["o", "site_id"] == "B"
    assert cohort.loc["c", "cause"] == "involuntary" and not cohort.loc["c", "event"]
    assert cohort.loc["first", "cause"] is None  # censored: no cause, not NaN


def test_burnout_exit_model_year_terms_match_a_direct_fit_on_any_index():
    from statsmodels.duration.hazard_regression import PHReg

    survey, clinicians = simulate_linked(seed=33, n_sites=12, per_site=12)
    cohort = turnover.linked_cohort(survey, clinicians, WINDOW)
    res = turnover.burnout_exit_model(cohort)
    shuffled = cohort.sample(frac=1.0, random_state=1)
    shuffled.index = shuffled.index + 1000
    again = turnover.burnout_exit_model(shuffled)
    pd.testing.assert_frame_equal(
        res.table.set_index("term"), again.table.set_index("term"), check_exact=False, rtol=1e-6
    )
    period = turnover.calendar_periods(cohort["year"], cohort["event"])
    d = pd.DataFrame({"burned_out": cohort["burned_out"].astype(float)})
    for level in sorted(period.unique())[1:]:
        d[f"year_{level}"] = (period == level).astype(float)
    ph = PHReg(
        cohort["time"], d, status=cohort["event"].astype(int), strata=cohort["site_id"],
        ties="breslow",
    ).fit()  # fmt: skip
    np.testing.assert_allclose(np.log(res.table["hr"]), ph.params, rtol=1e-5)


def test_burnout_exit_model_counts_sites_where_burnout_varies_within_them():
    survey, clinicians = simulate_linked(seed=33, n_sites=12, per_site=12)
    cohort = turnover.linked_cohort(survey, clinicians, WINDOW)
    cohort.loc[cohort["site_id"] == "S0", "burned_out"] = True
    cohort.loc[cohort["site_id"] == "S1", "burned_out"] = False
    res = turnover.burnout_exit_model(cohort)
    both = cohort.groupby("site_id")["burned_out"].nunique().eq(2).sum()
    assert both == 10  # the smaller side between sites would be 11
    assert res.table.set_index("term").loc["burned_out", "sites"] == both


def test_design_without_salary_takes_the_most_common_pay_model_as_reference():
    pt = org_person_time(seed=6, n_sites=12, per_site=10)
    rvu = pt["comp_model"] == "rvu_production"
    pt.loc[~rvu, "comp_model"] = np.where(
        pt.loc[~rvu, "site_id"] < "S04", "hybrid", "rvu_production"
    )
    assert pt["comp_model"].value_counts().index[0] == "rvu_production"
    x = turnover.design(pt, calendar=False)
    assert [c for c in x.columns if c.startswith("comp_")] == ["comp_hybrid"]
    assert x["comp_hybrid"].tolist() == (pt["comp_model"] == "hybrid").astype(float).tolist()


def _design_rows(n: int = 12, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "comp_model": rng.choice(["salary", "rvu_production"], n),
            "team_based_care": np.arange(n) % 2 == 0,
            "clinician_in_governance": np.arange(n) % 3 == 0,
            "admin_shadowing": False,
            "role": ["advanced_practice"] * 7 + ["physician"] * 5,
            "setting": ["specialty"] * 7 + ["primary_care"] * 5,
            "year": 2020,
            "event": [True, False] * 6,
            "protected_time_pct": 0.0,
        }
    )


def test_design_references_physicians_and_primary_care_even_when_fewer():
    x = turnover.design(_design_rows(), calendar=False)
    assert "role_advanced_practice" in x.columns and "role_physician" not in x.columns
    assert "setting_specialty" in x.columns and "setting_primary_care" not in x.columns
    assert x["setting_specialty"].tolist() == [1.0] * 7 + [0.0] * 5


def test_design_year_indicators_mark_their_own_period():
    pt = _design_rows()
    pt["year"] = [2018, 2019, 2020] * 4
    pt["event"] = True
    x = turnover.design(pt)
    assert x["year_2019"].tolist() == [0.0, 1.0, 0.0] * 4
    assert x["year_2020"].tolist() == [0.0, 0.0, 1.0] * 4


def test_design_drops_an_indicator_with_no_exit_on_its_reference_side_but_keeps_a_dose():
    pt = _design_rows()
    pt["event"] = pt["team_based_care"]  # every exit with team-based care: none without it
    pt["protected_time_pct"] = np.where(pt["team_based_care"], 0.0, 10.0)  # 0/1 per 10 points
    x = turnover.design(pt, extra="protected_time_10pt", calendar=False)
    assert "team_based_care" not in x.columns
    assert x["protected_time_10pt"].tolist() == [0.0, 1.0] * 6  # a dose is never dropped


def test_cox_model_errors_name_what_failed():
    pt = org_person_time(seed=6, n_sites=12, per_site=6)
    with pytest.raises(ValueError, match="^unknown inference 'bootstrap'$"):
        turnover.cox_model(pt, inference="bootstrap")
    few = pt[pt["site_id"].isin(["S00", "S01", "S02"])]
    with pytest.raises(TooFewSites, match="^Cox model of voluntary exit: 3 site"):
        turnover.cox_model(few)


def test_stratified_model_and_its_jackknife_match_a_direct_stratified_fit():
    """Site-stratified: the coefficients are lifelines' with a stratum per site (left
    truncation as entry times), and the jackknife refits keep the strata."""
    from lifelines import CoxPHFitter

    from helpers.analysis import survival

    pt = org_person_time(seed=9, n_sites=12, per_site=25, adopt_2021=0.6)
    res = turnover.cox_model(pt, stratified=True, calendar=False)
    assert res.stratified is True
    terms = res.coef["term"].tolist()
    assert "team_based_care" in terms and "comp_rvu_production" not in terms
    data = pd.concat(
        [turnover.design(pt, calendar=False)[terms], pt[["start", "stop", "event", "site_id"]]],
        axis=1,
    )

    cph = CoxPHFitter().fit(data, "stop", "event", entry_col="start", strata=["site_id"])
    b = cph.params_[terms].to_numpy()
    np.testing.assert_allclose(res.coef["log_hr"], b, rtol=1e-3)
    refits = []  # each site left out, refitted to convergence with the strata kept
    for site in pt["site_id"].unique():
        rest = data[data["site_id"] != site]
        refits.append(
            survival.fit_cox(
                rest[terms], rest["start"], rest["stop"], rest["event"], strata=rest["site_id"]
            ).params
        )
    g = len(refits)
    by_hand = np.sqrt((g - 1) / g * ((np.array(refits) - b) ** 2).sum(axis=0))
    # one Newton step per refit, on 12 sites: within 8% (unstratified refits give twice it)
    np.testing.assert_allclose(res.coef["se"], by_hand, rtol=0.08)


def test_cox_result_counts_and_the_ph_tests_people():
    pt = org_person_time(seed=6, n_sites=12, per_site=10)
    res = turnover.cox_model(pt, inference="cr1", ph_transform="log")
    assert res.n_spells == pt["spell"].nunique() and res.n_spells < len(pt)
    assert res.n_clinicians == pt["clinician_id"].nunique()
    assert res.n_events == int(pt["event"].sum()) and res.n_sites == 12
    assert res.stratified is False and res.fit.terms == res.coef["term"].tolist()
    from helpers.analysis import survival

    expected = survival.grambsch_therneau(res.fit, "log")
    pd.testing.assert_frame_equal(res.ph.drop(columns="clinicians"), expected)
    assert not np.allclose(survival.grambsch_therneau(res.fit, "rank")["chi2"], expected["chi2"])
    people = dict(zip(res.table["term"], res.table["clinicians"], strict=True))
    assert res.ph["clinicians"].tolist() == [
        people.get(t, res.n_clinicians) for t in res.ph["term"]
    ]
    assert res.ph.set_index("term").loc["global", "clinicians"] == res.n_clinicians
    assert res.ph["clinicians"].iloc[0] == people[res.ph["term"].iloc[0]] < res.n_clinicians


def test_clinician_spells_at_the_window_edges():
    first, last = WINDOW
    day = pd.Timedelta(days=1)
    c = pd.DataFrame(
        {
            "clinician_id": ["late_exit", "last_day_exit", "hired_last_day", "left_first_day",
                             "no_reason", "censored"],
            "site_id": "A",
            "role": "physician",
            "hire_date": pd.to_datetime(["2015-01-01", "2015-01-01", last, "2010-01-01",
                                         "2015-01-01", "2015-01-01"]),
            "exit_date": pd.to_datetime([last + day, last, None, first, "2020-05-01", None]),
            "exit_reason": ["voluntary", "voluntary", None, "voluntary", None, None],
        }
    )  # fmt: skip
    s = turnover.clinician_spells(c, WINDOW).set_index("clinician_id")
    assert s.loc["late_exit", "end"] == last  # followed to the window's end, not beyond
    assert not s.loc["late_exit", "event"] and s.loc["late_exit", "cause"] is None
    assert s.loc["last_day_exit", "event"] and s.loc["last_day_exit", "cause"] == "voluntary"
    assert s.loc["hired_last_day", "entry"] == s.loc["hired_last_day", "end"] == last
    assert s.loc["left_first_day", "event"]  # one day in the window, and an exit
    assert s.loc["no_reason", "cause"] == "other" and not s.loc["no_reason", "event"]
    assert s.loc["censored", "cause"] is None
    assert s["spell"].tolist() == list(range(6))
    assert list(s.reset_index().columns) == [*c.columns, "entry", "end", "event", "cause", "spell"]
    pt = turnover.person_time(c, MGMT, SITES, WINDOW)
    assert pt.loc[pt["clinician_id"] == "hired_last_day", "years"].tolist() == [1 / 365.25]
    assert pt.groupby("clinician_id")["years"].sum()["late_exit"] == pytest.approx(
        ((last - first).days + 1) / 365.25
    )


def test_person_time_columns_types_and_the_sites_setting():
    clinicians, management, _ = simulate_org(seed=6, n_sites=4, per_site=5)
    settings = ["primary_care", "specialty", "urgent_care", "specialty"]
    sites = pd.DataFrame({"site_id": ["S00", "S01", "S02", "S03"], "setting": settings})
    pt = turnover.person_time(clinicians, management, sites, WINDOW)
    assert list(pt.columns) == [
        "spell", "clinician_id", "site_id", "role", "setting", "hire_date", "p_start", "p_end",
        "year", "start", "stop", "years", "event", "cause", "comp_model", *turnover.PRACTICES,
        *turnover.DOSE_COLUMNS,
    ]  # fmt: skip
    assert (
        pt["setting"].tolist() == pt["site_id"].map(sites.set_index("site_id")["setting"]).tolist()
    )
    assert all(pt[c].dtype == bool for c in turnover.PRACTICES)
    assert all(pt[c].dtype == float for c in turnover.DOSE_COLUMNS)
    assert pt.index.equals(pd.RangeIndex(len(pt)))


def test_split_calendar_years_of_nothing_is_nothing_with_integer_years():
    empty = pd.DataFrame({"p_start": pd.to_datetime([]), "p_end": pd.to_datetime([])})
    out = turnover.split_calendar_years(empty)
    assert len(out) == 0 and out["year"].dtype.kind == "i"
    one = pd.DataFrame({"p_start": pd.to_datetime(["2019-01-01"]),
                        "p_end": pd.to_datetime(["2020-12-31"])})  # fmt: skip
    two = turnover.split_calendar_years(one)
    assert two["year"].tolist() == [2019, 2020] and two["year"].dtype.kind == "i"
    assert list(two.columns) == ["p_start", "p_end", "year"] and list(two.index) == [0, 1]
    assert two["p_start"].tolist() == list(pd.to_datetime(["2019-01-01", "2020-01-01"]))
    assert two["p_end"].tolist() == list(pd.to_datetime(["2019-12-31", "2020-12-31"]))


def test_summarize_counts_sites_on_the_smaller_side_unless_asked_within_sites():
    from helpers.analysis import survival

    pt = org_person_time(seed=6, n_sites=12, per_site=10)
    x = turnover.design(pt, calendar=False)
    fit = survival.fit_cox(x, pt["start"], pt["stop"], pt["event"])
    sites = pt["site_id"].to_numpy()
    table, _ = turnover.summarize(fit, x, sites, pt["clinician_id"])
    between = turnover.sites_per_term(x, pd.Series(sites))
    assert table["sites"].tolist() == between
    assert table.set_index("term").loc["comp_rvu_production", "sites"] == 6  # 6 sites a side
    within, _ = turnover.summarize(fit, x, sites, pt["clinician_id"], within_site=True)
    assert within.set_index("term").loc["comp_rvu_production", "sites"] == 0


def test_a_factor_level_is_compared_with_the_reference_level_not_with_the_rest():
    x = pd.DataFrame(
        {
            "comp_hybrid": [0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0],
            "comp_rvu_production": [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            "team_based_care": [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0],
            "protected_time_10pt": [0.0, 1.0, 2.0, 3.0, 0.0, 1.0, 2.0],
        }
    )
    level, reference = turnover.comparison_sides(x, "comp_rvu_production")
    assert level.tolist() == [True, True, False, False, False, False, False]
    assert reference.tolist() == [False, False, False, False, False, True, True]  # salary only
    practice = turnover.comparison_sides(x, "team_based_care")
    assert practice[1].tolist() == [True, False, True, False, True, False, False]
    assert turnover.comparison_sides(x, "protected_time_10pt") is None
    site = pd.Series(["A", "B", "C", "D", "E", "F", "F"])
    # rvu: A, B vs F; hybrid: C, D, E vs F; practice: B, D, F vs A, C, E; dose: every site
    assert turnover.sites_per_term(x, site) == [1, 1, 3, 6]
    who = pd.Series(["p", "q", "r", "s", "t", "u", "v"])
    assert turnover.people_per_term(x, who) == [2, 2, 3, 7]
