"""Time allocation: shares of minutes with intervals from resampling whole clinicians."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import time_allocation as ta


def rows(clinician: str, n: int, production_line: bool, minutes: float = 10.0, tbc=False):
    return pd.DataFrame(
        {
            "clinician_id": clinician,
            "minutes": minutes,
            "group": "production_line" if production_line else "solution_shop",
            "team_based_care": tbc,
        },
        index=range(n),
    )


def is_pl(t: pd.DataFrame) -> pd.Series:
    return (t["group"] == "production_line").astype(float)


def test_the_bootstrap_draws_whole_clinicians_however_many_rows_they_have():
    """One clinician's 400 rows are all production-line work, another's 400 rows none: a
    resample of whole clinicians can only give shares 0, 1/2 or 1; resampling rows would give
    shares near 1/2 with a narrow interval."""
    t = pd.concat([rows("a", 400, True), rows("b", 400, False)], ignore_index=True)
    s = ta.bootstrap_share(t, is_pl(t), resamples=400, seed=1)
    assert s.estimate == pytest.approx(0.5)
    assert set(np.round(s.draws, 12)) <= {0.0, 0.5, 1.0}
    assert s.ci_low == 0.0 and s.ci_high == 1.0


def test_one_clinician_with_many_rows_does_not_narrow_the_interval():
    """Splitting a clinician's minutes into many rows must not change the interval."""
    rng = np.random.default_rng(2)
    share = rng.uniform(0.2, 0.8, 40)
    few = pd.concat(
        [
            pd.concat([rows(f"c{i}", 1, True, 100 * p), rows(f"c{i}", 1, False, 100 * (1 - p))])
            for i, p in enumerate(share)
        ],
        ignore_index=True,
    )
    many = pd.concat(
        [few[few["clinician_id"] != "c0"]]
        + [
            rows("c0", 500, True, 100 * share[0] / 500),
            rows("c0", 500, False, 100 * (1 - share[0]) / 500),
        ],
        ignore_index=True,
    )
    a = ta.bootstrap_share(few, is_pl(few), resamples=500, seed=3)
    b = ta.bootstrap_share(many, is_pl(many), resamples=500, seed=3)
    assert a.clinicians == b.clinicians == 40
    assert b.estimate == pytest.approx(a.estimate)
    assert (b.ci_low, b.ci_high) == pytest.approx((a.ci_low, a.ci_high))


def simulated_log(seed: int, clinicians: int = 60, both: int = 6, sd: float = 0.05):
    """Six months of minutes per clinician; half work with team-based care (production-line
    share 0.36), half without (0.50); ``both`` clinicians switch to team-based care after
    three months. Each clinician has their own share (SD ``sd``) and their own monthly
    minutes, independent of the share, so the ratio of sums estimates the group's share."""
    rng = np.random.default_rng(seed)
    i = np.arange(clinicians)
    half = clinicians // 2
    tbc_from = np.where(i < half, 0, np.where(i < half + both, 3, 6))
    own = rng.normal(0, sd, clinicians)
    fte = rng.choice([1.0, 0.8, 0.5], clinicians)
    c, month = np.repeat(i, 6), np.tile(np.arange(6), clinicians)
    tbc = month >= tbc_from[c]
    p = np.where(tbc, 0.36, 0.50) + own[c] + rng.normal(0, 0.01, len(c))
    total = 9000 * fte[c] * rng.uniform(0.9, 1.1, len(c))
    ids = np.array([f"c{k}" for k in i])[c]
    return pd.DataFrame(
        {
            "clinician_id": np.concatenate([ids, ids]),
            "minutes": np.concatenate([p * total, (1 - p) * total]),
            "group": np.repeat(["production_line", "solution_shop"], len(c)),
            "team_based_care": np.concatenate([tbc, tbc]),
        }
    )


def test_difference_counts_clinicians_in_both_conditions_once():
    t = simulated_log(1)
    d = ta.share_difference(t, is_pl(t), t["team_based_care"], resamples=300, seed=1)
    assert (d.clinicians, d.clinicians_both) == (60, 6)
    assert (d.clinicians_with, d.clinicians_without) == (36, 30)
    w, wo = t[t["team_based_care"]], t[~t["team_based_care"]]
    share = {
        k: (g["minutes"] * is_pl(g)).sum() / g["minutes"].sum() for k, g in (("w", w), ("o", wo))
    }
    assert d.estimate == pytest.approx(share["w"] - share["o"], rel=1e-12)
    assert d.share_with == pytest.approx(share["w"]) and d.undefined_resamples == 0


def test_difference_resamples_clinicians_with_both_of_their_conditions():
    """Two clinicians, each observed with and without team-based care: every resample's
    difference is one of the three a draw of whole clinicians can give."""
    t = pd.concat(
        [rows("a", 50, True, tbc=True), rows("a", 50, False, tbc=False),
         rows("b", 50, False, tbc=True), rows("b", 50, True, tbc=False),
         rows("b", 50, True, tbc=True)],
        ignore_index=True,
    )  # fmt: skip
    d = ta.share_difference(t, is_pl(t), t["team_based_care"], resamples=300, seed=2)
    # a alone: 1 - 0 = 1; b alone: 1/2 - 1 = -1/2; both: 2/3 - 1/2 = 1/6
    assert set(np.round(d.draws, 12)) <= {1.0, -0.5, round(1 / 6, 12)}
    assert d.estimate == pytest.approx(1 / 6)


def test_difference_interval_covers_the_truth_about_95_percent_of_the_time():
    """200 simulated logs with known shares: the clinician bootstrap's 95% interval covers
    the true difference (-0.14) in 88-99% of them, and the estimate is unbiased."""
    covered, estimates = [], []
    for seed in range(200):
        t = simulated_log(seed, clinicians=40, both=4)
        d = ta.share_difference(t, is_pl(t), t["team_based_care"], resamples=300, seed=seed)
        covered.append(d.ci_low <= -0.14 <= d.ci_high)
        estimates.append(d.estimate)
    assert 0.88 <= np.mean(covered) <= 0.99
    assert np.mean(estimates) == pytest.approx(-0.14, abs=0.005)


def test_spread_between_clinicians_predicts_the_interval_width():
    t = simulated_log(3, clinicians=200, both=0)
    sd, n = ta.between_clinician_spread(t, is_pl(t))
    s = ta.bootstrap_share(t, is_pl(t), resamples=2000, seed=3)
    assert s.ci_high - s.ci_low == pytest.approx(2 * 1.96 * sd / np.sqrt(n), rel=0.2)


def _varied(seed: int = 2, n: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = pd.DataFrame(
        {
            "clinician_id": [f"c{i % n}" for i in range(4 * n)],
            "minutes": rng.uniform(5, 30, 4 * n),
            "group": rng.choice(["production_line", "solution_shop"], 4 * n),
            "team_based_care": [i % n < n // 2 for i in range(4 * n)],
        }
    )
    t.loc[t.index % 7 == 0, "team_based_care"] = ~t.loc[t.index % 7 == 0, "team_based_care"]
    return t


def test_share_and_difference_draws_percentiles_and_defaults_by_hand():
    t = _varied()
    s = ta.bootstrap_share(t, is_pl(t))  # 2000 resamples, seed 0
    per = t.assign(num=t["minutes"] * is_pl(t)).groupby("clinician_id")[["num", "minutes"]].sum()
    w = np.random.default_rng(0).multinomial(len(per), np.full(len(per), 1 / len(per)), 2000)
    draws = (w @ per["num"].to_numpy()) / (w @ per["minutes"].to_numpy())
    np.testing.assert_allclose(s.draws, draws)
    assert (s.ci_low, s.ci_high) == pytest.approx(tuple(np.percentile(draws, [2.5, 97.5])))
    assert s.minutes == pytest.approx(t["minutes"].sum()) and s.clinicians == 30
    d = ta.share_difference(t, is_pl(t), t["team_based_care"])
    cond = t["team_based_care"].to_numpy()
    g = t.assign(num=t["minutes"] * is_pl(t), on=cond)
    on = (
        g[g["on"]]
        .groupby("clinician_id")[["num", "minutes"]]
        .sum()
        .reindex(per.index, fill_value=0)
    )
    off = (
        g[~g["on"]]
        .groupby("clinician_id")[["num", "minutes"]]
        .sum()
        .reindex(per.index, fill_value=0)
    )
    diff = (w @ on["num"].to_numpy()) / (w @ on["minutes"].to_numpy()) - (
        w @ off["num"].to_numpy()
    ) / (w @ off["minutes"].to_numpy())
    np.testing.assert_allclose(d.draws, diff)
    assert (d.ci_low, d.ci_high) == pytest.approx(tuple(np.percentile(diff, [2.5, 97.5])))
    assert d.share_without == pytest.approx(off["num"].sum() / off["minutes"].sum())
    assert d.clinicians_with == (on["minutes"] > 0).sum()
    assert d.clinicians_without == (off["minutes"] > 0).sum()


def test_a_difference_needs_both_conditions_and_counts_clinicians_on_each_side():
    t = pd.concat(
        [rows("a", 2, True, minutes=0.5, tbc=True), rows("b", 2, False, minutes=0.5, tbc=False)],
        ignore_index=True,
    )
    d = ta.share_difference(t, is_pl(t), t["team_based_care"], resamples=50)
    assert (d.clinicians_with, d.clinicians_without, d.clinicians_both) == (1, 1, 0)
    with pytest.raises(ValueError, match="^both conditions need observed minutes for a diff"):
        ta.share_difference(t, is_pl(t), pd.Series(True, index=t.index), resamples=5)


def test_unit_sums_by_clinician_by_default_and_spread_with_one_degree_of_freedom():
    t = pd.concat(
        [rows("a", 2, True), rows("b", 1, False), rows("c", 1, True, minutes=20.0)],
        ignore_index=True,
    )
    t.loc[3, "group"] = "solution_shop"
    u = ta.unit_sums(t, is_pl(t))
    assert u.index.tolist() == ["a", "b", "c"]
    assert u["num"].tolist() == [20.0, 0.0, 0.0] and u["den"].tolist() == [20.0, 10.0, 20.0]
    sd, n = ta.between_clinician_spread(t, is_pl(t))
    assert n == 3 and sd == pytest.approx(np.std([1.0, 0.0, 0.0], ddof=1))


def test_with_management_takes_the_record_in_effect_mid_month():
    ta_rows = pd.DataFrame(
        {
            "site_id": ["A", "A", "A", "B"],
            "month": pd.to_datetime(["2021-01-01", "2021-02-01", "2021-03-01", "2021-01-01"]),
            "clinician_id": ["a", "a", "a", "b"],
            "minutes": [10.0, 20.0, 30.0, 5.0],
        }
    )
    m = pd.DataFrame(
        {
            "site_id": ["A", "A", "B"],
            # the 15th of February is the last day of A's first record, its first day of March
            "effective_from": pd.to_datetime(["2015-01-01", "2021-02-16", "2021-01-15"]),
            "effective_to": pd.to_datetime(["2021-02-15", None, None]),
            "team_based_care": [False, True, True],
        }
    )
    out = ta.with_management(ta_rows, m)
    assert out["minutes"].tolist() == [10.0, 20.0, 30.0, 5.0]  # every row once, in order
    assert out["team_based_care"].tolist() == [False, False, True, True]  # B: from the 15th
    assert list(out.columns) == ["site_id", "month", "clinician_id", "minutes", "team_based_care"]
    assert list(out.index) == [0, 1, 2, 3]
    overlap = pd.concat([m, m.iloc[[1]].assign(effective_from=pd.Timestamp("2021-01-01"))])
    assert len(ta.with_management(ta_rows, overlap)) == 4  # overlapping records: one row each


def test_classify_and_what_if_by_hand():
    t = pd.DataFrame(
        {
            "site_id": ["A", "A", "A", "B"],
            "month": pd.to_datetime(["2021-01-01", "2021-02-01", "2021-02-01", "2021-01-01"]),
            "clinician_id": ["a", "a", "c", "b"],
            "activity": ["pl", "ss", "pl", "other"],
            "minutes": [60.0, 30.0, 120.0, 50.0],
        }
    )
    g = ta.classify(t, production_line=("pl",), solution_shop=("ss",))
    assert g["group"].tolist() == ["production_line", "solution_shop", "production_line", "neither"]
    w = ta.what_if(g, 0.5, 15.0).set_index("site_id")
    assert list(w.columns) == [
        "clinicians_observed",
        "hours_freed_per_month",
        "slots_freed_per_month",
    ]
    # A: 180 production-line minutes over 2 months, half delegated: 45 minutes a month
    assert w.loc["A"].tolist() == [2, 45 / 60, 3.0]
    assert w.loc["B"].tolist() == [1, 0.0, 0.0]  # no production-line minutes


def test_share_and_spread_resample_the_unit_asked_for():
    t = pd.concat(
        [rows("a", 2, True), rows("b", 1, False), rows("c", 1, True, minutes=20.0)],
        ignore_index=True,
    )
    t["site_id"] = ["S1", "S1", "S1", "S2"]
    s = ta.bootstrap_share(t, is_pl(t), resamples=50, by="site_id")
    assert s.clinicians == 2  # two sites
    assert set(np.round(s.draws, 12)) <= {round(2 / 3, 12), 1.0, 0.8}  # S1, S2 or both
    sd, n = ta.between_clinician_spread(t, is_pl(t), by="site_id")
    assert n == 2 and sd == pytest.approx(np.std([2 / 3, 1.0], ddof=1))
