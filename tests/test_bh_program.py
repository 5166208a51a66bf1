"""The behavioral-health program policy model: mechanisms checked by hand."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from helpers.analysis import bh_program as bh


def test_learning_curve_target_has_its_stated_gap_so_the_comparison_is_not_zero():
    a = bh.Assumptions()
    tenure = np.arange(84, dtype=float)
    cap = bh.capacity(a, tenure)
    lc = bh.target(a, tenure, "learning_curve")
    assert np.allclose(lc - cap, np.minimum(a.learning_curve_gap, 1 - cap))
    assert np.all(lc <= bh.target(a, tenure, "day_one") + 1e-12)
    # the learning-curve policy loses more clinicians than following the curve exactly
    exact = bh.simulate(bh.Assumptions(learning_curve_gap=0.0), "learning_curve")
    assert bh.simulate(a, "learning_curve")["exits"].sum() > exact["exits"].sum() + 0.01
    # and the comparison is zero only when targets do nothing (no exit effect, no stretch)
    inert = bh.Assumptions(month_one_hazard_ratio=1.0, stretch=0.0)
    assert bh.compare(inert) == pytest.approx(
        {"exits": 0, "visits": 0, "net_cost": 0, "net_cost_undiscounted": 0}, abs=1e-6
    )
    assert bh.compare(a)["exits"] > 0


def test_month_one_hazard_ratio_of_a_full_day_one_target_is_the_anchor():
    a = bh.Assumptions(month_one_hazard_ratio=1.6, start_capacity=0.4)
    assert a.gap_elasticity == pytest.approx(np.log(1.6) / 0.6)

    # the month-one hazard, read back from the simulated month-one exits of each policy
    def hazard(level: float) -> float:
        m1 = bh.simulate(a, "day_one", level).iloc[0]
        return -np.log(1 - m1["exits"] / a.positions)

    assert hazard(1.0) / hazard(0.0) == pytest.approx(1.6, rel=1e-9)
    assert hazard(0.0) == pytest.approx(0.10 / 12, rel=1e-9)


def test_targets_change_visits_for_those_who_stay():
    """Month one, every post filled: visits = positions x (capacity + (1 - rework) x
    min(gap, stretch x capacity)) x full visits; revenue = visits x total RVUs x CF."""
    a = bh.Assumptions()
    m1 = bh.simulate(a, "day_one").iloc[0]
    c0 = a.start_capacity
    extra = min(1 - c0, a.stretch * c0)
    expected = a.positions * (c0 + (1 - a.rework_share) * extra) * a.full_visits_per_month
    assert m1["visits"] == pytest.approx(expected)
    assert m1["revenue"] == pytest.approx(expected * 3.995 * 32.3465)
    no_target = bh.simulate(a, "day_one", level=0.0).iloc[0]
    assert no_target["visits"] == pytest.approx(a.positions * c0 * a.full_visits_per_month)
    lazy = bh.simulate(bh.Assumptions(stretch=0.0), "day_one").iloc[0]
    assert lazy["visits"] == pytest.approx(no_target["visits"])


def test_revenue_uses_total_rvus_of_the_visit_mix():
    assert bh.total_rvu_per_visit() == pytest.approx(0.5 * 3.22 + 0.5 * 4.77)
    assert bh.total_rvu_per_visit({"90837": 1.0}, "facility") == pytest.approx(4.16)
    assert bh.Assumptions().total_rvu_per_visit == pytest.approx(bh.total_rvu_per_visit())
    with pytest.raises(ValueError, match="sum to 1"):
        bh.total_rvu_per_visit({"90834": 0.5})


def test_discounting_equals_a_hand_computation():
    f = bh.discount_factors(84, 0.03)[0]
    assert f[0] == 1.0 and f[12] == pytest.approx(1 / 1.03) and f[24] == pytest.approx(1.03**-2)
    # nobody leaves and everybody is (almost exactly) fully productive: a constant monthly net
    # cost C, whose discounted sum is the geometric series C (1 - v^84) / (1 - v)
    a = bh.Assumptions(base_exit_per_year=0.0, start_capacity=1 - 1e-9)
    df = bh.simulate(a, "learning_curve")
    c = df["net_cost"].iloc[0]
    v = 1.03 ** (-1 / 12)
    assert df["net_cost"].to_numpy() == pytest.approx(np.full(84, c), rel=1e-6)
    assert df["discounted_net_cost"].sum() == pytest.approx(c * (1 - v**84) / (1 - v), rel=1e-6)
    undiscounted = bh.compare(replace(bh.Assumptions(), discount_rate=0.0))
    assert undiscounted["net_cost"] == pytest.approx(undiscounted["net_cost_undiscounted"])


def test_posts_are_always_filled_or_vacant():
    a = bh.Assumptions()
    for policy in ("day_one", "learning_curve"):
        sim = bh.simulate(a, policy)
        assert np.allclose(sim["staffed"] + sim["vacant"], a.positions)
    with pytest.raises(ValueError):
        bh.simulate(a, "other")


def test_psa_draws_follow_their_stated_distributions():
    a = bh.Assumptions()
    p = bh.psa_draws(a, 50_000, seed=1)
    for name, dist in bh.psa_distributions(a).items():
        x = p[name]
        if dist.kind == "lognormal":
            assert np.median(x) == pytest.approx(dist.a, rel=0.01)
            low, high = np.percentile(x, [2.5, 97.5])
            assert (low, high) == pytest.approx((dist.a / dist.b, dist.a * dist.b), rel=0.02)
        elif dist.kind == "lognormal90":
            assert np.percentile(x, [5, 95]) == pytest.approx([dist.a, dist.b], rel=0.02)
        else:
            assert np.mean(x) == pytest.approx(getattr(a, name), rel=0.01)


def test_psa_interval_contains_the_deterministic_result():
    a = bh.Assumptions()
    r = bh.psa(a, n=1000, seed=2, with_break_even=False)
    assert len(r.draws) == 1000
    for row in r.summary.itertuples():
        assert row.ci_low <= row.base <= row.ci_high, row.outcome
        assert row.ci_low < row.ci_high
    assert r.base == bh.compare(a)


def test_break_even_is_where_the_difference_crosses_zero():
    a = bh.Assumptions(stretch=0.2, rework_share=0.1, month_one_hazard_ratio=1.3)
    be = float(bh.break_even(bh._as_draw(a))[0])
    assert 0.4 < be < 1
    around = bh.net_cost_by_level(a, np.array([be - 0.01, be, be + 0.01]))["net_cost"]
    assert around.iloc[0] > 0 > around.iloc[2]
    assert abs(around.iloc[1]) < 0.01 * abs(around.iloc[0] - around.iloc[2])
    # no crossing on [0, 1]: no break-even
    assert np.isnan(bh.break_even(bh._as_draw(bh.Assumptions()))[0])


def test_distributions_are_described_without_exponent_notation():
    assert bh.Distribution("lognormal", 150_000, 1.25).describe() == (
        "lognormal, median 150,000, 95% of draws 120,000 to 187,500"
    )
    assert bh.Distribution("uniform", 0.05882, 0.17).describe() == "uniform, 0.05882 to 0.17"
    described = [d.describe() for d in bh.psa_distributions(bh.Assumptions()).values()]
    assert not [t for t in described if "e+" in t or "e-" in t], described
