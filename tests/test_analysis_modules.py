"""Unit tests of the analysis modules on small data with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers.analysis import access, cost, encounters, time_allocation, workforce
from helpers.analysis.rates import ratio_bootstrap
from helpers.data.reference import fee_schedule


def simulated_panel(beta: float, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sites, months = 30, pd.date_range("2020-01-01", periods=36, freq="MS")
    rows = []
    for s in range(sites):
        base = rng.uniform(5, 20)
        budget = rng.integers(5, 15)
        for m, month in enumerate(months):
            filled = budget - max(rng.normal(0.5, 1.0), 0)
            vacant = max(budget - filled, 0)
            rows.append(
                {
                    "site_id": f"S{s}",
                    "month": month,
                    "budgeted_clinician_fte": budget,
                    "filled_clinician_fte": filled,
                    "visits": 250 * budget,
                    "third_next_available_days": base + 0.1 * m + beta * vacant + rng.normal(0, 2),
                }
            )
    return access.panel(pd.DataFrame(rows))


def test_fixed_effects_slope_recovers_the_truth():
    s = access.fe_slope(simulated_panel(3.0), "third_next_available_days")
    assert s.ci_low <= 3.0 <= s.ci_high and abs(s.estimate - 3.0) < 0.3


def test_fixed_effects_interval_uses_t_with_sites_minus_one_and_needs_ten_sites():
    panel = simulated_panel(3.0)
    s = access.fe_slope(panel, "third_next_available_days")
    assert (s.ci_high - s.estimate) / s.se == pytest.approx(stats.t.ppf(0.975, 29))
    few = panel[panel["site_id"].isin([f"S{i}" for i in range(9)])]
    with pytest.raises(ValueError, match="9 site"):
        access.fe_slope(few, "third_next_available_days")


def test_bootstrap_share_is_the_ratio_of_sums():
    t = pd.DataFrame(
        {
            "clinician_id": ["a", "a", "b", "b", "c"],
            "minutes": [10.0, 30.0, 5.0, 5.0, 50.0],
            "group": [
                "production_line",
                "neither",
                "production_line",
                "solution_shop",
                "production_line",
            ],
        }
    )
    s = time_allocation.bootstrap_share(t, (t["group"] == "production_line").astype(float), 500)
    assert s.estimate == pytest.approx(65 / 100)
    assert s.ci_low <= s.estimate <= s.ci_high and s.clinicians == 3


def code_sums(path: Path) -> Path:
    """The encounters' sums as the data layer computes and keeps them (DuckDB, as for a file)."""
    import ibis
    import pyarrow.parquet as pq

    from helpers.data.sums import arrange

    con = ibis.duckdb.connect()
    got = arrange("encounters", con.to_pyarrow(encounters.code_sums(con.read_parquet(path))))
    out = path.with_suffix(".sums.parquet")
    pq.write_table(got, out)
    return out


def test_encounter_aggregates_fill_missing_rvus_from_the_schedule(tmp_path):
    df = pd.DataFrame(
        {
            "encounter_id": ["1", "2", "3", "4"],
            "clinician_id": ["a", "a", "b", "b"],
            "site_id": ["S", "S", "S", "S"],
            "date": pd.to_datetime(["2024-01-01"] * 4),
            "cpt_codes": ["99214", "99214;90833", "99213", "99999"],
            "minutes_total": [30.0, 50.0, 20.0, 10.0],
            "minutes_uncredited": [5.0, 10.0, 0.0, 1.0],
            "work_rvu": [1.92, None, None, None],
        }
    )
    path = tmp_path / "e.parquet"
    df.to_parquet(path)
    path = code_sums(path)
    pc = encounters.per_clinician(path, fee_schedule()).set_index("clinician_id")
    assert pc.loc["a", "work_rvu"] == pytest.approx(1.92 + 1.92 + 1.64)
    assert pc.loc["b", "work_rvu"] == pytest.approx(1.30)  # 99999 is unknown: 0 RVU
    assert pc.loc["b", "unknown_codes"] == 1
    assert pc["rvu_from_schedule"].sum() == 3
    vt = encounters.by_visit_type(path, fee_schedule()).set_index("visit_type")
    assert vt.loc["99214;90833", "minutes_per_work_rvu"] == pytest.approx(50 / 3.56)
    est, low, high = ratio_bootstrap(
        pc["minutes_uncredited"].to_numpy(), pc["minutes_total"].to_numpy(), 200
    )
    assert est == pytest.approx(16 / 110)


def test_encounter_sums_do_not_depend_on_row_order(tmp_path):
    """The same encounters in another order (and so other thread splits) give the same bits."""
    rng = np.random.default_rng(3)
    n = 400_000
    df = pd.DataFrame(
        {
            "encounter_id": np.arange(n).astype(str),
            "clinician_id": rng.integers(0, 5, n).astype(str),
            "site_id": "S",
            "date": pd.Timestamp("2024-01-01"),
            "cpt_codes": rng.choice(["99213", "99214", "99214;90833"], n),
            "minutes_total": rng.uniform(5, 60, n),
            "minutes_uncredited": rng.uniform(0, 5, n),
            "work_rvu": np.where(rng.random(n) < 0.5, rng.uniform(0.5, 3, n), np.nan),
        }
    )
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    df.to_parquet(a, row_group_size=10_000)
    df.sample(frac=1, random_state=1).to_parquet(b, row_group_size=10_000)
    a, b = code_sums(a), code_sums(b)
    assert a.read_bytes() == b.read_bytes()  # the sums kept are the same, byte for byte
    fee = fee_schedule()
    pd.testing.assert_frame_equal(
        encounters.per_clinician(a, fee), encounters.per_clinician(b, fee), check_exact=True
    )
    pd.testing.assert_frame_equal(
        encounters.by_visit_type(a, fee), encounters.by_visit_type(b, fee), check_exact=True
    )
    exact = df.groupby("clinician_id")["minutes_total"].sum()
    got = encounters.per_clinician(a, fee).set_index("clinician_id")["minutes_total"]
    np.testing.assert_allclose(got.to_numpy(), exact.to_numpy(), rtol=1e-12)


def test_exits_per_year_and_attributable_fraction():
    c = pd.DataFrame(
        {
            "role": ["physician", "physician", "nurse", "behavioral_health"],
            "exit_reason": ["voluntary", "retirement", "voluntary", "voluntary"],
            "exit_date": pd.to_datetime(["2020-05-01", "2020-06-01", "2020-07-01", "2016-01-01"]),
        }
    )
    ex, years = cost.exits_per_year(c, (pd.Timestamp("2019-01-01"), pd.Timestamp("2020-12-31")))
    assert years == pytest.approx(731 / 365.25)
    assert ex.set_index("role")["exits"].to_dict() == {
        "physician": 1,
        "advanced_practice": 0,
        "behavioral_health": 0,
    }
    assert cost.attributable_fraction(0.5, 2.0) == pytest.approx(0.5 / 1.5)


def test_site_headcount_counts_each_group_and_survives_a_missing_one():
    spells = pd.DataFrame(
        {
            "clinician_id": ["A", "B", "B", "N1", "N2", "N3", "C"],
            "site_id": ["S1", "S1", "S1", "S1", "S1", "S1", "S2"],
            "role": ["physician"] * 3 + ["nurse"] * 3 + ["advanced_practice"],
            "fte": [1.0, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0],
            "hire_date": pd.to_datetime(["2020-01-01"] * 2 + ["2021-01-01"] + ["2020-01-01"] * 4),
            "exit_date": pd.to_datetime([None, "2020-06-30", None, None, None, "2020-03-01", None]),
        }
    )
    month = pd.Timestamp("2021-02-01")
    staff = workforce.active_by_month(spells, pd.DatetimeIndex([month]))
    got = workforce.site_headcount(staff, month).set_index("site_id")
    # S1: A and B (rehired) are clinicians, N1 and N2 support (N3 left); S2: C alone.
    assert got.loc["S1", ["clinicians", "support_staff"]].tolist() == [2, 2]
    assert got.loc["S2", ["clinicians", "support_staff"]].tolist() == [1, 0]
    assert got["support_per_clinician"].tolist() == [1.0, 0.0]
    only_clinicians = staff[staff["group"] == "clinician"]
    got = workforce.site_headcount(only_clinicians, month)
    assert got["support_staff"].tolist() == [0, 0] and got["clinicians"].tolist() == [2, 1]
