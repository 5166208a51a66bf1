"""Access per departure: the vacancy ratio's definition, the within estimator, and a site
cluster bootstrap that recomputes both the slope and the vacancy ratio."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from helpers.analysis import access
from helpers.analysis.inference import site_resamples

MONTHS = pd.date_range("2020-01-01", periods=5, freq="MS")


def hand_panel() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Site A (2.0 budgeted FTE): a 1.0 FTE exit in February refilled in April and an
    overlapping 0.5 FTE exit in March refilled in May; a month over budget counts no vacancy.
    Site B (1.0 FTE): never vacant, one retirement. Exits that must not count: a nurse, one
    before the window, one at a site without access data."""
    filled_a = [2.0, 1.0, 0.5, 1.5, 2.2]
    rows = [
        {
            "site_id": s,
            "month": m,
            "budgeted_clinician_fte": b,
            "filled_clinician_fte": f,
            "visits": 100,
            "third_next_available_days": 10.0,
        }
        for s, b, filled in (("A", 2.0, filled_a), ("B", 1.0, [1.0] * 5))
        for m, f in zip(MONTHS, filled, strict=True)
    ]
    clinicians = pd.DataFrame(
        {
            "clinician_id": ["C1", "C2", "C3", "N1", "C4", "C5"],
            "site_id": ["A", "A", "B", "A", "A", "Z"],
            "role": [
                "physician",
                "advanced_practice",
                "physician",
                "nurse",
                "physician",
                "physician",
            ],
            "fte": [1.0, 0.5, 1.0, 1.0, 1.0, 1.0],
            "exit_date": pd.to_datetime(
                [
                    "2020-02-03",
                    "2020-03-10",
                    "2020-05-31",
                    "2020-02-01",
                    "2019-12-31",
                    "2020-03-01",
                ]
            ),
            "exit_reason": [
                "voluntary",
                "involuntary",
                "retirement",
                "voluntary",
                "voluntary",
                "voluntary",
            ],
        }
    )
    return access.panel(pd.DataFrame(rows)), clinicians


def test_vacant_fte_months_per_departed_fte_on_a_hand_made_panel():
    d, clinicians = hand_panel()
    deps = access.departures(clinicians, d["site_id"].unique(), access.access_window(d))
    assert sorted(deps["clinician_id"]) == ["C1", "C2", "C3"]  # every reason; clinicians only
    v = access.vacancy_per_departure(d, deps)
    # vacant FTE by month at A: 0, 1.0, 1.5, 0.5, 0 (over budget clipped to 0); B: never
    assert v.vacant_fte_months == pytest.approx(3.0)
    assert v.departed_fte == pytest.approx(2.5) and v.departures == 3
    assert v.ratio == pytest.approx(3.0 / 2.5)
    assert v.budget_weighted == pytest.approx(3.0 * 2.0)
    voluntary = access.departures(clinicians, ["A", "B"], access.access_window(d), ("voluntary",))
    assert voluntary["clinician_id"].tolist() == ["C1"]


def test_no_exits_is_an_error_not_a_division_by_zero():
    d, clinicians = hand_panel()
    with pytest.raises(ValueError, match="no clinician exits"):
        access.vacancy_per_departure(d, clinicians.iloc[:0])


def random_panel(seed: int, sites: int = 12, months: int = 10, drop: float = 0.0):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(
        {
            "site_id": np.repeat([f"S{i}" for i in range(sites)], months),
            "month": np.tile(pd.date_range("2021-01-01", periods=months, freq="MS"), sites),
        }
    )
    d["x"] = rng.gamma(1.0, 1.0, len(d))
    d["y"] = rng.normal(0, 1, sites).repeat(months) + 0.1 * np.tile(np.arange(months), sites)
    d["y"] += 2.0 * d["x"] + rng.normal(0, 1, len(d))
    return d[rng.random(len(d)) >= drop].reset_index(drop=True)


@pytest.mark.parametrize("drop", [0.0, 0.2])
def test_within_slope_equals_least_squares_with_dummies(drop):
    d = random_panel(1, drop=drop)
    fit = smf.ols("y ~ x + C(site_id) + C(month)", data=d).fit()
    got = access.within_slope(
        d["y"].to_numpy(),
        d["x"].to_numpy(),
        pd.factorize(d["site_id"])[0],
        pd.factorize(d["month"])[0],
    )
    assert got == pytest.approx(fit.params["x"], rel=1e-9)


def test_integer_site_weights_equal_repeating_whole_sites():
    d = random_panel(2, drop=0.2)
    codes, site_names = pd.factorize(d["site_id"])
    counts = np.array([2, 0, 1, 3, 0, 1, 1, 0, 2, 1, 1, 0])
    repeated = pd.concat(
        [
            d[d["site_id"] == s].assign(site_id=f"{s}#{k}")
            for s, c in zip(site_names, counts, strict=True)
            for k in range(c)
        ]
    )
    fit = smf.ols("y ~ x + C(site_id) + C(month)", data=repeated).fit()
    got = access.within_slope(
        d["y"].to_numpy(), d["x"].to_numpy(), codes, pd.factorize(d["month"])[0], counts[codes]
    )
    assert got == pytest.approx(fit.params["x"], rel=1e-9)


def simulate(seed: int, sites: int = 24, slope: float = 2.5, visits_slope: float = -15.0):
    """Posts that empty (5% a month) and stay vacant a geometric number of months (mean 3,
    so the truth is 3 vacant FTE-months per departed FTE); outcomes rise with vacant FTE.
    The simulation starts two years before the access window, so vacancies spill in as well
    as out of it."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2018-01-01", periods=84, freq="MS")
    window = 24
    rows, exits = [], []
    for s in range(sites):
        fte = rng.choice([1.0, 0.8, 0.5], int(rng.integers(6, 14)))
        vacant_until = np.full(len(fte), -1)
        base, visit_base = rng.uniform(8, 20), rng.uniform(250, 300)
        for m, month in enumerate(months):
            stays = vacant_until < m
            leave = stays & (rng.random(len(fte)) < 0.05)
            for p in np.flatnonzero(leave):
                vacant_until[p] = m + rng.geometric(1 / 3) - 1
                exits.append((f"S{s}", f"S{s}P{p}M{m}", fte[p], month))
            vacant = float(fte[vacant_until >= m].sum())
            if m >= window:
                rows.append(
                    {
                        "site_id": f"S{s}",
                        "month": month,
                        "budgeted_clinician_fte": fte.sum(),
                        "filled_clinician_fte": fte.sum() - vacant,
                        "third_next_available_days": base + slope * vacant + rng.normal(0, 2),
                        "visits": fte.sum()
                        * (visit_base + visits_slope * vacant + rng.normal(0, 8)),
                    }
                )
    d = access.panel(pd.DataFrame(rows))
    clinicians = pd.DataFrame(exits, columns=["site_id", "clinician_id", "fte", "exit_date"])
    clinicians = clinicians.assign(role="physician", exit_reason="voluntary")
    deps = access.departures(clinicians, d["site_id"].unique(), access.access_window(d))
    budget = d.groupby("site_id")["budgeted_clinician_fte"].first()
    weighted_budget = (deps["fte"] * deps["site_id"].map(budget)).sum() / deps["fte"].sum()
    truth = {"ratio": 3.0, "days": slope * 3.0, "visits": -visits_slope * 3.0 * weighted_budget}
    return d, deps, truth


def test_departure_effects_recover_the_simulated_truth():
    d, deps, truth = simulate(5)
    e = access.departure_effects(d, deps, resamples=300, seed=1)
    assert e.ratio_ci[0] <= truth["ratio"] <= e.ratio_ci[1]
    assert e.days[1] <= truth["days"] <= e.days[2]
    assert e.visits[1] <= truth["visits"] <= e.visits[2]
    assert e.days[0] == pytest.approx(truth["days"], rel=0.15)
    assert e.visits[0] == pytest.approx(truth["visits"], rel=0.15)
    fe = access.fe_slope(d, "third_next_available_days")
    assert e.slopes["third_next_available_days"] == pytest.approx(fe.estimate, rel=1e-9)
    assert e.days[0] == pytest.approx(fe.estimate * e.vacancy.ratio, rel=1e-12)


def test_the_bootstrap_redraws_whole_sites_and_recomputes_both_parts():
    d, deps, _ = simulate(6, sites=12)
    seed, resamples = 3, 4
    e = access.departure_effects(d, deps, resamples=resamples, seed=seed)
    codes = pd.Index(pd.unique(d["site_id"]))
    picks = site_resamples(np.arange(len(codes)), resamples, np.random.default_rng(seed))
    for r, pick in enumerate(picks):
        # the same resample built by hand: each drawn site's rows and exits, relabelled
        panel = pd.concat(
            [
                d[d["site_id"] == codes[i]].assign(site_id=f"{codes[i]}#{k}")
                for k, i in enumerate(pick)
            ]
        )
        exits = pd.concat([deps[deps["site_id"] == codes[i]] for i in pick])
        slope = (
            smf.ols(
                "third_next_available_days ~ vacant_fte + C(site_id) + C(month_key)", data=panel
            )
            .fit()
            .params["vacant_fte"]
        )
        ratio = panel["vacant_fte"].sum() / exits["fte"].sum()
        row = e.draws.iloc[r]
        assert row["slope_days"] == pytest.approx(slope, rel=1e-8)
        assert row["ratio"] == pytest.approx(ratio, rel=1e-12)
        assert row["days"] == pytest.approx(slope * ratio, rel=1e-8)


def test_the_interval_carries_the_vacancy_ratios_uncertainty():
    """With outcomes exactly linear in vacancy the slope never varies across resamples, so all
    of the interval's width comes from the vacancy ratio: the interval is slope x its interval."""
    d, deps, _ = simulate(7)
    d["third_next_available_days"] = 10 + 2.0 * d["vacant_fte"]
    e = access.departure_effects(d, deps, resamples=200, seed=2)
    assert e.draws["slope_days"].std() < 1e-9
    assert e.days[1] == pytest.approx(2.0 * e.ratio_ci[0], rel=1e-9)
    assert e.days[2] == pytest.approx(2.0 * e.ratio_ci[1], rel=1e-9)
    assert e.ratio_ci[1] - e.ratio_ci[0] > 0.1


def test_departure_effects_need_ten_sites():
    d, deps, _ = simulate(8, sites=9)
    with pytest.raises(ValueError, match="9 site"):
        access.departure_effects(d, deps, resamples=10)


def test_departure_effects_defaults_messages_a_site_without_exits_and_missing_outcomes():
    d, deps, _ = simulate(9, sites=10)
    with pytest.raises(ValueError, match="^access per departure: 9 site"):
        access.departure_effects(d[d["site_id"] != "S9"], deps, resamples=10)
    last = pd.unique(d["site_id"])[-1]
    deps = deps[deps["site_id"] != last]  # the last site (in code order) has no exits
    e = access.departure_effects(d, deps)
    assert e.resamples == 1000 and len(e.draws) == 1000
    again = access.departure_effects(d, deps, resamples=1000, seed=0)
    assert (e.days, e.visits, e.ratio_ci) == (again.days, again.visits, again.ratio_ci)
    assert e.vacancy.departed_fte == pytest.approx(deps["fte"].sum())
    # a site-month without an outcome is left out of that outcome's slope only
    holes = d.copy()
    holes.loc[holes.index[::7], "third_next_available_days"] = np.nan
    h = access.departure_effects(holes, deps, resamples=5)
    fe = access.fe_slope(holes, "third_next_available_days")
    assert h.slopes["third_next_available_days"] == pytest.approx(fe.estimate, rel=1e-9)
    assert h.slopes["visits_per_fte"] == pytest.approx(e.slopes["visits_per_fte"], rel=1e-12)


def test_fe_slope_result_and_residuals():
    d, _, _ = simulate(10, sites=10)
    s = access.fe_slope(d, "third_next_available_days")
    assert s.outcome == "third_next_available_days" and s.sites == 10 and s.n == len(d)
    assert list(s.residuals.columns) == ["site_id", "fitted", "resid"]
    assert s.residuals["site_id"].tolist() == d["site_id"].tolist()
    np.testing.assert_allclose(
        s.residuals["fitted"] + s.residuals["resid"], d["third_next_available_days"]
    )
    with pytest.raises(ValueError, match="^visits_per_fte: 9 site"):
        access.fe_slope(d[d["site_id"] != "S9"], "visits_per_fte")


def test_resamples_without_exits_have_no_ratio_and_small_exits_count():
    """Exits at one site only (0.8 FTE in all): a resample without that site has no vacancy
    ratio (NaN, not an error); one with it divides by its 0.8 FTE per draw of the site."""
    d, _, _ = simulate(11, sites=10)
    one = pd.unique(d["site_id"])[3]
    deps = pd.DataFrame({"site_id": [one, one], "clinician_id": ["a", "b"], "fte": [0.5, 0.3]})
    v = access.vacancy_per_departure(d, deps)
    assert v.departed_fte == pytest.approx(0.8) and v.sites == 10
    assert v.ratio == pytest.approx(d["vacant_fte"].sum() / 0.8)
    e = access.departure_effects(d, deps, resamples=40, seed=4)
    assert list(e.draws.columns) == ["slope_days", "slope_visits", "ratio", "days", "visits"]
    codes = pd.Index(pd.unique(d["site_id"]))
    picks = site_resamples(np.arange(len(codes)), 40, np.random.default_rng(4))
    vacant = d.groupby("site_id")["vacant_fte"].sum().reindex(codes).to_numpy()
    drawn = 0
    for row, pick in zip(e.draws.itertuples(), picks, strict=True):
        k = int((pick == 3).sum())
        if k == 0:
            assert np.isnan(row.ratio)
        else:
            drawn += 1
            assert row.ratio == pytest.approx(vacant[pick].sum() / (0.8 * k))
    assert 0 < drawn < 40
    fe = access.fe_slope(d, "visits_per_fte")
    assert e.slopes["visits_per_fte"] == pytest.approx(fe.estimate, rel=1e-9)
    with pytest.raises(ValueError, match="^no clinician exits in the access window: vacancy per"):
        access.vacancy_per_departure(d, deps.iloc[:0])


def test_panel_and_departures_edges():
    a = pd.DataFrame(
        {
            "site_id": ["s1", "s2"],
            "month": pd.to_datetime(["2022-01-01", "2022-01-01"]),
            "budgeted_clinician_fte": [4.0, 0.0],
            "filled_clinician_fte": [3.0, 0.0],
            "visits": [800, 10],
        }
    )
    p = access.panel(a)
    assert p["visits_per_fte"].dtype == float and np.isnan(p["visits_per_fte"].iloc[1])
    window = (pd.Timestamp("2022-01-01"), pd.Timestamp("2022-01-31"))
    c = pd.DataFrame(
        {
            "clinician_id": ["first", "last", "before"],
            "site_id": "s1",
            "role": "physician",
            "fte": 1.0,
            "exit_date": pd.to_datetime(["2022-01-01", "2022-01-31", "2021-12-31"]),
            "exit_reason": "voluntary",
        },
        index=[10, 11, 12],
    )
    deps = access.departures(c, ["s1"], window)
    assert deps["clinician_id"].tolist() == ["first", "last"]  # both ends of the window
    assert list(deps.columns) == ["site_id", "clinician_id", "fte", "exit_date", "exit_reason"]
    assert list(deps.index) == [0, 1]


def test_month_key_and_window_of_a_panel():
    a = pd.DataFrame(
        {
            "site_id": ["s1", "s1"],
            "month": pd.to_datetime(["2022-01-01", "2024-02-01"]),
            "budgeted_clinician_fte": [1.0, 0.5],
            "filled_clinician_fte": [1.0, 0.5],
            "visits": [100, 40],
        }
    )
    p = access.panel(a)
    assert p["month_key"].tolist() == ["2022-01", "2024-02"]
    assert p["visits_per_fte"].tolist() == [100.0, 80.0]  # half an FTE budgeted still counts
    assert access.access_window(p) == (pd.Timestamp("2022-01-01"), pd.Timestamp("2024-02-29"))
