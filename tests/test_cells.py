"""The small-cell rule at its boundary (min_cell_size - 1 and min_cell_size people) on the
paths not covered by their modules' tests: model terms (a level of a factor against a tiny
reference level) and groups drawn in a figure. Findings: tests/test_findings.py; tables and
figures' rows: tests/test_artifacts.py; displays and guarded models: tests/test_notebook.py."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from helpers.analysis import burnout, turnover
from helpers.artifacts import SUPPRESSED, suppress_small
from helpers.cells import factor_of, too_few
from tests.test_burnout import survey
from tests.test_turnover import WINDOW, simulate_org

M = 11


def hidden(v) -> bool:
    return isinstance(v, str) and v == SUPPRESSED


@pytest.mark.parametrize(
    ("people", "events", "small"),
    [
        (10, None, True),
        (11, None, False),
        (11, 10, True),
        (11, 11, False),
        (None, None, True),
        # counts read from a table arrive as floats: a float event count is still a count
        (20.0, 10.0, True),
        (20.0, 11.0, False),
        (10.0, 20.0, True),
    ],
)
def test_too_few_boundary(people, events, small):
    assert too_few(people, M, events) is small
    assert too_few(float("nan"), M) and not too_few(11.0, M, float("nan"))


def test_factor_of():
    assert factor_of("role_nurse") == "role_"
    assert factor_of("comp_hybrid") == "comp_"
    assert factor_of("year_2017-2018") == "year_"
    assert factor_of("team_based_care") is None
    assert factor_of("comp_hybrid:team_based_care") is None
    assert factor_of("protected_time_10pt") is None


def person_time_with_roles(ref: int, seed: int = 5) -> pd.DataFrame:
    """Person-time of a simulated organization where the reference role (physician) has
    ``ref`` clinicians, all of them in the window and most with a voluntary exit, and the
    others are advanced practice or behavioral health."""
    clinicians, management, sites = simulate_org(seed, n_sites=20, per_site=30)
    in_window = clinicians["hire_date"] <= WINDOW[1]
    leavers = clinicians.index[in_window & (clinicians["exit_reason"] == "voluntary")]
    stayers = clinicians.index[in_window & clinicians["exit_reason"].isna()]
    physicians = [*leavers[: ref - 2], *stayers[:2]]
    role = np.where(np.arange(len(clinicians)) % 2, "advanced_practice", "behavioral_health")
    role = pd.Series(role, index=clinicians.index)
    role[physicians] = "physician"
    return turnover.person_time(clinicians.assign(role=role), management, sites, WINDOW)


@pytest.mark.parametrize("ref", [M - 1, M])
def test_a_cox_term_counts_the_reference_level(ref):
    pt = person_time_with_roles(ref)
    assert pt.loc[pt["role"] == "physician", "clinician_id"].nunique() == ref
    x = turnover.design(pt)
    # by hand: each role term compares its clinicians with the physicians
    people = dict(zip(x.columns, turnover.people_per_term(x, pt["clinician_id"]), strict=True))
    sites = dict(zip(x.columns, turnover.sites_per_term(x, pt["site_id"]), strict=True))
    for term in ("role_advanced_practice", "role_behavioral_health"):
        assert people[term] == ref
        phys_sites = pt.loc[pt["role"] == "physician", "site_id"].nunique()
        level_sites = pt.loc[pt["role"] == term.removeprefix("role_"), "site_id"].nunique()
        assert sites[term] == min(phys_sites, level_sites)
    # a practice still compares those with it and those without
    with_tbc = pt.loc[pt["team_based_care"], "clinician_id"].nunique()
    without = pt.loc[~pt["team_based_care"], "clinician_id"].nunique()
    assert people["team_based_care"] == min(with_tbc, without)
    # the fitted model's table, as published
    res = turnover.cox_model(pt)
    table = res.table.set_index("term")
    assert table.loc["role_advanced_practice", "clinicians"] == ref
    pub = suppress_small(res.table, "clinicians", M).set_index("term")
    assert hidden(pub.loc["role_advanced_practice", "hr"]) is (ref < M)
    assert hidden(pub.loc["comp_rvu_production", "hr"]) is False


def test_a_pay_model_term_against_a_tiny_salary_group():
    x = pd.DataFrame(
        {
            "comp_rvu_production": [1.0] * 300 + [0.0] * 210,
            "comp_hybrid": [0.0] * 300 + [1.0] * 200 + [0.0] * 10,
        }
    )
    who = pd.Series([f"c{i}" for i in range(len(x))])
    # 10 on salary: both terms compare with them
    assert turnover.people_per_term(x, who) == [10, 10]


def responses_with_roles(ref: int, seed: int = 4) -> pd.DataFrame:
    """Survey responses whose reference role (physician) has ``ref`` responses of ``ref``
    people (one survey year), half of them burned out."""
    r = survey(n_sites=20, per_site=40, seed=seed)
    rng = np.random.default_rng(seed)
    r["role"] = np.where(np.arange(len(r)) % 2, "advanced_practice", "behavioral_health")
    r.loc[r.index[:ref], "role"] = "physician"
    r.loc[r.index[:ref], "year"] = 2020
    r["burned_out"] = (rng.random(len(r)) < expit(-0.3)).astype(int)
    r.loc[r.index[:ref], "burned_out"] = np.arange(ref) % 2
    return r


@pytest.mark.parametrize("ref", [M - 1, M])
def test_an_odds_ratio_counts_the_reference_level(ref):
    r = responses_with_roles(ref)
    fit = burnout.logistic(r, "burned_out")
    table = burnout.odds_ratio_table(r, fit).set_index("term")
    phys = r[r["role"] == "physician"]
    for term in ("role_advanced_practice", "role_behavioral_health"):
        assert table.loc[term, "people"] == burnout.people(phys) == ref
        assert table.loc[term, "events"] == int(phys["burned_out"].sum())
    pub = suppress_small(table.reset_index(), "people", M).set_index("term")
    assert hidden(pub.loc["role_advanced_practice", "or"]) is (ref < M)


@pytest.mark.parametrize("k", [M - 1, M])
def test_a_group_of_the_retention_figure_at_the_boundary(k):
    """A group is drawn as a curve only with at least min_cell_size clinicians."""
    rng = np.random.default_rng(k)
    n = k + 40
    spells = pd.DataFrame(
        {
            "spell": range(n),
            "clinician_id": [f"c{i}" for i in range(n)],
            "group": ["small"] * k + ["large"] * 40,
            "entry": 0.0,
            "exit": rng.uniform(1, 10, n),
            "cause": rng.choice(["voluntary", None], n),
        }
    )
    spells.loc[0, "cause"] = "voluntary"
    curves, at_risk = turnover.incidence_curves(spells, "group", M, at=(0,))
    assert ("small" in curves) is (k >= M)
    assert "large" in curves
    if k >= M:
        assert curves["small"]["clinicians_at_risk"].min() >= M
