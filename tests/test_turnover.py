"""Turnover: person-time splitting, and the Cox model against an independent implementation."""

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxTimeVaryingFitter

from helpers import turnover

WINDOW = (pd.Timestamp("2020-01-01"), pd.Timestamp("2021-12-31"))
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
    }
)


def test_spells_split_at_regime_change_with_left_truncation():
    c = pd.DataFrame(
        {
            "clinician_id": ["x", "y", "z"],
            "site_id": "A",
            "role": ["physician", "advanced_practice", "nurse"],
            "hire_date": pd.to_datetime(["2019-01-01", "2020-07-01", "2018-01-01"]),
            "exit_date": pd.to_datetime(["2021-06-30", None, None]),
            "exit_reason": ["voluntary", None, None],
            "fte": 1.0,
        }
    )
    pt = turnover.person_time(c, MGMT, SITES, WINDOW)
    x = pt[pt["clinician_id"] == "x"]
    assert x["comp_model"].tolist() == ["rvu_production", "salary"]
    assert x["event"].tolist() == [False, True]
    assert x["start"].iloc[0] == pytest.approx(365 / 365.25)  # entered at the window start
    assert x["stop"].iloc[0] == pytest.approx(x["start"].iloc[1])  # contiguous pieces
    assert x["years"].sum() == pytest.approx(
        ((pd.Timestamp("2021-06-30") - WINDOW[0]).days + 1) / 365.25
    )
    assert set(pt["clinician_id"]) == {"x", "y"}  # nurses are not clinicians
    rate = turnover.rate_table(pt).iloc[0]
    assert rate["exits"] == 1


def simulate(n=1500, seed=5):
    """Exponential exits with a time-varying pay model at 40 sites, entry at window start."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        site = f"S{i % 40}"
        switch = 1.0 if (i % 40) < 20 else np.inf  # half the sites switch after a year
        entry = rng.uniform(0, 5)
        rvu_site = (i % 40) % 2 == 0
        # pieces: (start, end, rvu in effect); rvu sites that switch leave rvu after a year
        if rvu_site and switch < np.inf:
            pieces = [(entry, entry + 1, True), (entry + 1, entry + 6, False)]
        else:
            pieces = [(entry, entry + 6, rvu_site)]
        for start, end, rvu in pieces:
            draw = rng.exponential(1 / (0.15 * (1.6 if rvu else 1.0)))
            if start + draw < end:
                rows.append((i, site, start, start + draw, 1, rvu))
                break
            rows.append((i, site, start, end, 0, rvu))
    df = pd.DataFrame(rows, columns=["spell", "site_id", "start", "stop", "event", "rvu"])
    df["clinician_id"] = df["spell"].astype(str)
    df["comp_model"] = np.where(df["rvu"], "rvu_production", "salary")
    for col in turnover.PRACTICES:
        df[col] = False
    df["role"], df["setting"] = "physician", "primary_care"
    df["event"] = df["event"].astype(bool)
    return df


def test_cox_recovers_the_hazard_ratio_and_matches_lifelines():
    pt = simulate()
    res = turnover.cox_model(pt)
    row = res.table.set_index("term").loc["comp_rvu_production"]
    assert row["ci_low"] <= 1.6 <= row["ci_high"]
    ctv = CoxTimeVaryingFitter()
    ctv.fit(
        pt.assign(x=(pt["comp_model"] == "rvu_production").astype(float))[
            ["spell", "start", "stop", "event", "x"]
        ],
        id_col="spell",
        start_col="start",
        stop_col="stop",
        event_col="event",
    )
    assert row["hr"] == pytest.approx(float(np.exp(ctv.params_["x"])), rel=1e-3)


def test_people_per_term_is_the_smaller_side():
    x = pd.DataFrame({"a": [1.0, 1.0, 0.0, 0.0, 0.0], "b": [0.0, 0.0, 0.0, 0.0, 1.0]})
    who = pd.Series(["p", "p", "q", "r", "s"])  # p has two segments, both with a
    assert turnover.people_per_term(x, who) == [1, 1]
    x["a"] = [1.0, 0.0, 1.0, 1.0, 0.0]  # p is on both sides of a
    assert turnover.people_per_term(x, who) == [2, 1]  # with a: p, q, r; without: p, s
