"""Turnover cost: cited lognormal replacement costs, correlated across roles, and Monte Carlo
results whose point is the median of their own draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers.analysis import cost
from helpers.data.reference import replacement_cost_reference


def lognorm(mu: float, sigma: float):
    return stats.lognorm(s=sigma, scale=np.exp(mu))


@pytest.mark.parametrize("interval", [0.90, 0.95])
def test_each_roles_lognormal_reproduces_its_published_range(interval):
    costs = cost.ReplacementCosts.from_reference(interval=interval)
    tail = (1 - interval) / 2
    for role, (mu, sigma) in costs.params().items():
        low, high = costs.ranges[role]
        assert lognorm(mu, sigma).ppf([tail, 1 - tail]) == pytest.approx([low, high], rel=1e-9)
        assert costs.median(role) == pytest.approx(np.sqrt(low * high), rel=1e-12)


def test_shipped_ranges_and_their_sources():
    ref = replacement_cost_reference()
    costs = cost.ReplacementCosts.from_reference()
    assert costs.ranges["physician"] == (500_000, 1_000_000)
    assert costs.ranges["advanced_practice"] == (250_000, 300_000)
    salary = ref["roles"]["behavioral_health"]["salary_usd"]
    assert costs.ranges["behavioral_health"] == pytest.approx((0.2 * salary, 2.0 * salary))
    assert costs.interval == 0.90 and costs.correlation == 0.5
    for role, keys in costs.sources.items():
        assert keys, role  # the keys resolve in the bibliography: tests/test_reference.py
    mine = cost.ReplacementCosts.from_reference(
        {"advanced_practice": [100_000, 400_000]}, behavioral_health_salary=80_000
    )
    assert mine.ranges["advanced_practice"] == (100_000, 400_000)
    assert mine.ranges["behavioral_health"] == pytest.approx((16_000, 160_000))


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9])
def test_draws_have_the_stated_correlation_across_roles(rho):
    costs = cost.ReplacementCosts.from_reference(correlation=rho)
    logs = np.log(costs.draws(100_000, np.random.default_rng(1)))
    corr = np.corrcoef(logs.to_numpy().T)
    off = corr[~np.eye(3, dtype=bool)]
    assert off == pytest.approx(np.full(6, rho), abs=0.01)
    # the marginals keep their ranges whatever the correlation
    q = logs.quantile([0.05, 0.95])
    for role in costs.roles:
        assert np.exp(q[role]).to_numpy() == pytest.approx(costs.ranges[role], rel=0.02)


def test_a_correlation_of_one_gives_comonotone_costs():
    costs = cost.ReplacementCosts.from_reference(correlation=1.0)
    d = costs.draws(1000, np.random.default_rng(2))
    assert stats.spearmanr(d["physician"], d["behavioral_health"]).statistic == pytest.approx(1)


def exits(physician=20, advanced=10, behavioral=6, years=2.0):
    n = [physician, advanced, behavioral]
    roles = ["physician", "advanced_practice", "behavioral_health"]
    return pd.DataFrame({"role": roles, "exits": n, "exits_per_year": np.array(n) / years})


def test_turnover_cost_point_is_the_median_of_its_own_draws():
    res = cost.turnover_cost(exits(), 2.0, cost.ReplacementCosts.from_reference(), 20_000, 1)
    assert res.point == np.median(res.draws)
    assert (res.low, res.high) == tuple(np.percentile(res.draws, [2.5, 97.5]))
    assert res.low < res.point < res.high
    assert list(res.by_role["role"]) == ["physician", "advanced_practice", "behavioral_health"]


def test_turnover_cost_equals_an_independent_computation():
    """With fixed costs (low = high) and many exits the total is Σ (exits + 0.5) / years x cost;
    with one role and a known cost range the median matches an independent simulation."""
    fixed = cost.ReplacementCosts(
        {
            "physician": (600_000, 600_000),
            "advanced_practice": (200_000, 200_000),
            "behavioral_health": (50_000, 50_000),
        }  # fmt: skip
    )
    ex = exits(20_000, 10_000, 6_000)
    res = cost.turnover_cost(ex, 2.0, fixed, 4000, 1)
    expected = (20_000.5 * 600_000 + 10_000.5 * 200_000 + 6_000.5 * 50_000) / 2.0
    assert res.point == pytest.approx(expected, rel=0.002)
    one = cost.ReplacementCosts({"physician": (500_000, 1_000_000)})
    ex1 = pd.DataFrame({"role": ["physician"], "exits": [30], "exits_per_year": [15.0]})
    res1 = cost.turnover_cost(ex1, 2.0, one, 200_000, 2)
    rng = np.random.default_rng(99)
    mu, sigma = np.log(np.sqrt(5e5 * 1e6)), np.log(2) / (2 * stats.norm.ppf(0.95))
    independent = rng.gamma(30.5, 0.5, 200_000) * rng.lognormal(mu, sigma, 200_000)
    assert res1.point == pytest.approx(np.median(independent), rel=0.01)
    assert res1.high == pytest.approx(np.percentile(independent, 97.5), rel=0.02)


def test_excess_cost_with_a_role_mix_and_by_role():
    fixed = cost.ReplacementCosts(
        {
            "physician": (600_000, 600_000),
            "advanced_practice": (200_000, 200_000),
            "behavioral_health": (50_000, 50_000),
        }  # fmt: skip
    )
    draws = np.random.default_rng(3).normal(4.0, 1.0, 5000)
    mix = {"physician": 0.5, "advanced_practice": 0.3, "behavioral_health": 0.2}
    res = cost.excess_turnover_cost(draws, fixed, mix, seed=1)
    per_exit = 0.5 * 600_000 + 0.3 * 200_000 + 0.2 * 50_000
    assert res.draws == pytest.approx(draws * per_exit)
    assert res.point == pytest.approx(np.median(draws) * per_exit)
    by_role = {r: draws * s for r, s in mix.items()}
    same = cost.excess_turnover_cost(by_role, fixed, seed=1)
    assert same.point == pytest.approx(res.point) and same.role_mix is None
    with pytest.raises(ValueError, match="role_mix"):
        cost.excess_turnover_cost(draws, fixed)
    with pytest.raises(ValueError, match="sum to"):
        cost.excess_turnover_cost(draws, fixed, {"physician": 0.5})


def test_excess_cost_interval_carries_both_uncertainties():
    costs = cost.ReplacementCosts.from_reference()
    mix = {"physician": 0.6, "advanced_practice": 0.3, "behavioral_health": 0.1}
    exact = cost.excess_turnover_cost(np.full(20_000, 5.0), costs, mix, seed=4)
    uncertain = cost.excess_turnover_cost(
        np.random.default_rng(5).normal(5.0, 2.0, 20_000), costs, mix, seed=4
    )
    assert exact.high - exact.low > 0  # replacement costs alone
    assert uncertain.high - uncertain.low > 1.5 * (exact.high - exact.low)
    assert uncertain.point == np.median(uncertain.draws)


def test_relative_risk_draws_reproduce_the_published_estimate_and_interval():
    rr = cost.relative_risk_draws(400_000, np.random.default_rng(6))
    assert np.median(rr) == pytest.approx(2.1, rel=0.005)
    low, high = np.percentile(rr, [2.5, 97.5])
    # a lognormal is symmetric on the log scale; the published 1.3-3.3 almost is (rounding)
    assert low == pytest.approx(1.3, rel=0.03) and high == pytest.approx(3.3, rel=0.03)
    local = cost.relative_risk_draws(400_000, np.random.default_rng(7), 1.6, (1.2, 2.1))
    assert np.median(local) == pytest.approx(1.6, rel=0.005)


def test_attributable_cost_point_is_the_median_and_matches_a_hand_computation():
    """Prevalence known almost exactly (10 million responses) and a fixed cost: the
    attributable fraction rises with RR, so its median is p(RR-1)/(1+p(RR-1)) at RR = 2.1."""
    cost_draws = np.full(100_001, 1e6)
    amount, af = cost.burnout_attributable_cost(3_000_000, 10_000_000, cost_draws, seed=8)
    expected = cost.attributable_fraction(0.3, 2.1)
    assert af.point == pytest.approx(expected, rel=1e-3)
    assert amount.point == pytest.approx(expected * 1e6, rel=1e-3)
    assert amount.point == np.median(amount.draws)
    hi = cost.attributable_fraction(0.3, 3.3)
    assert af.high == pytest.approx(hi, rel=0.03)


def test_exits_per_year_count_voluntary_clinician_exits_on_both_window_ends():
    window = (pd.Timestamp("2022-01-01"), pd.Timestamp("2023-12-31"))
    c = pd.DataFrame(
        {
            "role": ["physician", "physician", "advanced_practice", "nurse", "physician",
                     "behavioral_health", "physician"],
            "exit_date": pd.to_datetime(["2022-01-01", "2023-12-31", "2022-06-01", "2022-06-01",
                                         "2021-12-31", "2024-01-01", "2022-07-01"]),
            "exit_reason": ["voluntary", "voluntary", "voluntary", "voluntary", "voluntary",
                            "voluntary", "retirement"],
        }
    )  # fmt: skip
    exits, years = cost.exits_per_year(c, window)
    assert years == pytest.approx(730 / 365.25)
    assert list(exits.columns) == ["role", "exits", "exits_per_year"]
    assert exits["role"].tolist() == ["physician", "advanced_practice", "behavioral_health"]
    assert exits["exits"].tolist() == [2, 1, 0]
    np.testing.assert_allclose(exits["exits_per_year"], np.array([2, 1, 0]) / years)


def test_published_worked_examples_by_hand():
    ref = {
        "physicians": 2023,
        "burnout_share": 0.26,
        "departure_2yr_burned_out": 0.21,
        "departure_2yr_not_burned_out": 0.10,
        "replacement_cost_usd": [268000, 957000],
    }
    h = cost.hamidi2018(ref)
    departures = 2023 * 0.26 * (0.21 - 0.10)
    assert h == pytest.approx(
        {
            "departures": departures,
            "departures_rounded": 58,
            "cost_low": 58 * 268000,
            "cost_high": 58 * 957000,
            "cost_low_unrounded": departures * 268000,
            "cost_high_unrounded": departures * 957000,
        }
    )
    assert isinstance(h["departures_rounded"], int)
    s = cost.shanafelt2017(
        {
            "turnover_per_year": 0.07,
            "relative_risk_leaving_burned_out": 2.0,
            "worked_example": {"physicians": 450, "turnover_reduction_points": 0.005,
                               "replacement_cost_usd": 500000, "burnout_before": 0.4},
        }
    )  # fmt: skip
    af = 0.4 * (2.0 - 1) / (1 + 0.4 * (2.0 - 1))  # Levin's attributable fraction
    assert s == pytest.approx({"savings": 450 * 0.005 * 500000,
                               "attributable_turnover_points": 100 * 0.07 * af})  # fmt: skip


def test_replacement_costs_with_changes_one_field_only():
    base = cost.ReplacementCosts.from_reference()
    changed = base.with_(correlation=0.1)
    assert changed.correlation == 0.1 and changed.roles == base.roles
    assert changed.ranges == base.ranges and base.correlation != 0.1


def test_lognormal_parameters_by_hand_their_defaults_and_boundaries():
    mu, sigma = cost.lognormal_from_range(100.0, 400.0)  # central 90% by default
    assert mu == pytest.approx(np.log(200.0))
    assert sigma == pytest.approx(np.log(4.0) / (2 * stats.norm.ppf(0.95)))
    assert cost.lognormal_from_range(5.0, 5.0) == (np.log(5.0), 0.0)  # low == high allowed
    with pytest.raises(ValueError, match=r"^a lognormal range needs 0 < low <= high, got 0"):
        cost.lognormal_from_range(0.0, 1.0)
    mu, sigma = cost.lognormal_from_estimate(2.0, (1.0, 4.0))  # 95% by default
    assert mu == pytest.approx(np.log(2.0))
    assert sigma == pytest.approx(np.log(4.0) / (2 * stats.norm.ppf(0.975))) and sigma > 0
    cost.lognormal_from_estimate(1.0, (1.0, 4.0))  # the estimate on either end: allowed
    cost.lognormal_from_estimate(4.0, (1.0, 4.0))
    with pytest.raises(ValueError, match=r"^need 0 < low <= estimate <= high, got 2.0 \(0"):
        cost.lognormal_from_estimate(2.0, (0.0, 4.0))


def test_correlated_normals_accept_exactly_the_valid_correlations():
    rng = np.random.default_rng(0)
    for ok in (-0.49, 0.0, 1.0):
        assert cost.correlated_normals(3, ok, 10, rng).shape == (10, 3)
    for bad in (-0.5, 1.01):  # -1/(k-1) is singular; above 1 is no correlation
        with pytest.raises(ValueError, match=f"^correlation {bad} is not valid for 3 roles$"):
            cost.correlated_normals(3, bad, 10, rng)


def test_attributable_fraction_and_risk_draws_by_hand():
    assert cost.attributable_fraction(0.4, 2.0) == pytest.approx(0.4 / 1.4)
    assert cost.attributable_fraction(0.5, 3.0) == pytest.approx(1.0 / 2.0)
    draws = cost.relative_risk_draws(1000, np.random.default_rng(3), 2.0, (1.0, 4.0), 0.9)
    mu, sigma = np.log(2.0), np.log(4.0) / (2 * stats.norm.ppf(0.95))
    np.testing.assert_allclose(
        draws, np.exp(mu + sigma * np.random.default_rng(3).standard_normal(1000))
    )


def test_burnout_attributable_cost_draws_by_hand():
    cost_draws = np.linspace(1e6, 2e6, 500)
    c, af = cost.burnout_attributable_cost(30, 100, cost_draws)  # seed 0 by default
    rng = np.random.default_rng(0)
    p = rng.beta(30.5, 70.5, 500)
    mu, sigma = cost.lognormal_from_estimate(*cost.PUBLISHED_RELATIVE_RISK)
    rr = np.exp(mu + sigma * rng.standard_normal(500))
    frac = p * (rr - 1) / (1 + p * (rr - 1))
    np.testing.assert_allclose(af.draws, frac)
    np.testing.assert_allclose(c.draws, frac * cost_draws)
    assert c.point == pytest.approx(np.median(frac * cost_draws))


def test_cost_tables_columns_defaults_and_draws_by_hand():
    costs = cost.ReplacementCosts.from_reference()
    exits = pd.DataFrame({"role": ["physician"], "exits": [4], "exits_per_year": [2.0]})
    res = cost.turnover_cost(exits, 2.0, costs)
    assert len(res.draws) == 20000
    again = cost.turnover_cost(exits, 2.0, costs, draws=20000, seed=0)
    np.testing.assert_array_equal(res.draws, again.draws)
    assert list(res.by_role.columns) == [
        "role", "exits", "exits_per_year", "replacement_cost_median", "replacement_cost_low",
        "replacement_cost_high", "cost_per_year_median", "cost_per_year_low",
        "cost_per_year_high",
    ]  # fmt: skip
    row = res.by_role.iloc[0]
    assert (row["exits"], row["exits_per_year"]) == (4, 2.0)
    assert row["replacement_cost_median"] == pytest.approx(np.sqrt(500000.0 * 1000000.0))
    z = cost.correlated_normals(len(costs.roles), costs.correlation, 50, np.random.default_rng(1))
    p = costs.params()
    mu = np.array([p[r][0] for r in costs.roles])
    sigma = np.array([p[r][1] for r in costs.roles])
    pd.testing.assert_frame_equal(
        costs.draws(50, np.random.default_rng(1)),
        pd.DataFrame(np.exp(mu + sigma * z), columns=list(costs.roles)),
    )


def test_excess_cost_table_defaults_and_refusals():
    costs = cost.ReplacementCosts.from_reference()
    e = {"physician": np.full(100, 2.0), "advanced_practice": np.full(100, 1.0)}
    res = cost.excess_turnover_cost(e, costs)
    again = cost.excess_turnover_cost(e, costs, seed=0)
    np.testing.assert_array_equal(res.draws, again.draws)
    assert list(res.by_role.columns) == [
        "role", "excess_exits_per_year", "cost_per_year_median", "cost_per_year_low",
        "cost_per_year_high",
    ]  # fmt: skip
    assert res.by_role["excess_exits_per_year"].tolist() == [2.0, 1.0] and res.role_mix is None
    mixed = cost.excess_turnover_cost(np.full(100, 3.0), costs, role_mix={"physician": 1.0})
    assert mixed.role_mix == {"physician": 1.0}
    with pytest.raises(ValueError, match="^excess exits for all clinicians need a role_mix"):
        cost.excess_turnover_cost(np.full(10, 1.0), costs)
    with pytest.raises(ValueError, match="^every role needs the same number of draws$"):
        cost.excess_turnover_cost({"physician": np.ones(3), "advanced_practice": np.ones(4)}, costs)
    with pytest.raises(ValueError, match=r"^no replacement cost for role\(s\) \['nurse'\]$"):
        cost.excess_turnover_cost({"nurse": np.ones(3)}, costs)


def test_replacement_cost_sources_from_the_reference_and_overrides():
    ref = replacement_cost_reference()
    costs = cost.ReplacementCosts.from_reference({"physician": (1.0, 2.0)})
    assert costs.sources["physician"] == ("analyst's parameter",)
    for role, r in ref["roles"].items():
        if role != "physician":
            expected = tuple(r.get("sources", ())) + tuple(r.get("salary_sources", ()))
            assert costs.sources[role] == expected and len(expected) > 0
    assert any("salary_sources" in r for r in ref["roles"].values())
