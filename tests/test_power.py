"""Coverage and power helpers: the in-memory organization is the one the generator writes, the
primary findings are the notebooks' numbers, and the minimum detectable effect is what a
noncentral t says."""

import json

import pandas as pd
import pytest

from helpers.analysis import burnout, power, turnover
from helpers.analysis.inference import MIN_SITES
from helpers.data import demo, open_dataset


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("power") / "demo"
    demo.generate(out, seed=7, scale=0.3)
    return out


@pytest.fixture(scope="module")
def sim():
    return power.simulate(7, scale=0.3)


def test_simulated_tables_are_the_written_ones_as_a_notebook_reads_them(
    written, sim, tmp_path, monkeypatch
):
    monkeypatch.setenv("HELPERS_CACHE", str(tmp_path / "cache"))
    ds = open_dataset(written)
    for name, df in sim.tables.items():
        pd.testing.assert_frame_equal(df.reset_index(drop=True), ds.table(name), check_exact=True)
    assert sim.window == ds.window


def test_simulated_truth_is_truth_json(written, sim):
    truth = json.loads((written / "truth.json").read_text())
    for block in ("turnover", "burnout", "access"):
        for key, value in sim.truth[block].items():
            if isinstance(value, float):
                assert truth[block][key] == pytest.approx(value, rel=1e-12), key


def test_primary_estimates_are_the_package_functions(sim):
    est = power.primary_estimates(sim, reps=49)
    assert set(est) == set(power.PRIMARY_IDS)
    t = sim.tables
    # at this size (15 sites) the Cox model's pay and team-based care comparisons have fewer
    # than MIN_SITES sites on one side, and fewer than 5 sites left RVU production pay: the
    # notebooks publish them as unavailable, with the reason
    pt = turnover.person_time(t["clinicians"], t["management"], t["sites"], sim.window)
    cox = turnover.cox_model(pt)
    for fid, term in (("turnover.hr_rvu_production", "comp_rvu_production"),
                      ("turnover.hr_team_based_care", "team_based_care")):  # fmt: skip
        sites = int(cox.term(term).sites)
        assert sites < MIN_SITES and est[fid].estimate is None
        assert est[fid].error == f"{sites} site(s) on one side"
    assert "switching site(s)" in est["turnover.irr_after_switch"].error
    r = burnout.standardized(
        burnout.responses(t["survey"], t["management"], t["sites"]), burnout.PAY["rvu_production"]
    )
    b = est["burnout.rr_rvu_production"]
    assert (b.estimate, b.ci_low, b.ci_high, b.se) == (r.rr, r.rr_low, r.rr_high, r.se_log_rr)
    assert b.df == r.n_sites - 1
    linked = turnover.burnout_exit_model(
        turnover.linked_cohort(t["survey"], t["clinicians"], sim.window)
    )
    e = est["turnover.hr_burnout_linked"]
    assert (e.estimate, e.ci_low, e.ci_high, e.se) == (
        linked.hr,
        linked.ci_low,
        linked.ci_high,
        linked.se,
    )


def test_a_changed_parameter_changes_the_world_and_its_truth():
    null = power.simulate(3, scale=0.3, params={"access.tnaa_per_vacant_fte": 0.0})
    base = power.simulate(3, scale=0.3, truth=False)
    assert null.truth["access"]["tnaa_per_vacant_fte"] == 0.0
    est = power.primary_estimates(null, ["access.tnaa_per_vacant_fte"])
    e = est["access.tnaa_per_vacant_fte"]
    assert e.ci_low < 0 < e.ci_high or abs(e.estimate) < 3 * e.se
    for name in ("clinicians", "survey", "management"):  # nothing else moves
        pd.testing.assert_frame_equal(null.tables[name], base.tables[name])
    weak = power.simulate(3, scale=0.3, params={"turnover.hr_rvu_production": 1.0})
    assert weak.truth["turnover"]["hr_rvu_production"] == 1.0
    with pytest.raises(KeyError):
        power.simulate(3, scale=0.3, params={"turnover.no_such_thing": 1.0}, truth=False)
