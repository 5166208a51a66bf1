"""The demonstration organisation: deterministic, valid, and shaped like the real thing."""

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from helpers import demo, paths
from helpers.contract import SPECS
from helpers.data import open_dataset
from helpers.validate import validate_folder

CLINICIAN_ROLES = ["physician", "advanced_practice", "behavioral_health"]
PAY = ["comp_model", "rvu_target_annual", "pct_comp_productivity"]


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def read(folder, name):
    if name == "encounters":
        return pd.read_parquet(folder / "encounters.parquet")
    return pd.read_csv(folder / f"{name}.csv", keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo"
    demo.generate(out, seed=7, scale=0.2)
    return out


def test_same_seed_same_bytes_other_seed_other_bytes(small, tmp_path):
    demo.generate(tmp_path / "again", seed=7, scale=0.2)
    assert digest(tmp_path / "again") == digest(small)
    demo.generate(tmp_path / "other", seed=8, scale=0.2)
    other = digest(tmp_path / "other")
    assert all(other[name] != digest(small)[name] for name in other)


def test_regenerating_replaces_the_folder_and_leaves_no_temporary_files(small, tmp_path):
    out = tmp_path / "demo"
    out.mkdir()
    (out / "stale.csv").write_text("x\n1\n")
    demo.generate(out, seed=7, scale=0.2)
    assert digest(out) == digest(small)
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]


def test_all_tables_in_contract_order_and_valid(small):
    for name, spec in SPECS.items():
        assert list(read(small, name).columns) == list(spec.column_names), name
    result = validate_folder(small)
    assert result.ok, result.summary()
    data = open_dataset(small)
    assert data.synthetic and data.name == "Demonstration organisation (simulated)"
    assert all(data.has(name) for name in SPECS)


def test_value_conventions_in_the_csv_files(small):
    m = pd.read_csv(small / "management.csv", dtype=str)
    flags = m[["team_based_care", "clinician_in_governance", "admin_shadowing"]]
    assert set(flags.stack()) == {"true", "false"}
    access = read(small, "access")
    assert access["month"].str.fullmatch(r"\d{4}-\d{2}").all()
    assert access["month"].min() == "2017-01" and access["month"].max() == "2024-12"
    assert access.groupby("site_id").size().eq(96).all()
    clin = read(small, "clinicians")
    assert clin["hire_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert access["new_patient_wait_days"].isna().any()


def test_no_date_after_2024(small):
    last = pd.Timestamp("2024-12-31")
    dates = {
        "management": ["effective_from", "effective_to"],
        "clinicians": ["hire_date", "exit_date"],
        "survey": ["survey_date"],
        "time_allocation": ["month"],
        "access": ["month"],
        "encounters": ["date"],
    }
    for name, cols in dates.items():
        df = read(small, name)
        for col in cols:
            assert pd.to_datetime(df[col]).max() <= last, (name, col)


def test_shape_of_the_organisation(small):
    clin = read(small, "clinicians")
    assert clin.groupby("clinician_id")["hire_date"].nunique().gt(1).any()  # rehires
    assert (clin["hire_date"] < "2017-01-01").any()  # spells begun before the window
    assert clin["hire_date"].min() >= "2008-01-01"
    assert {"nurse", "medical_assistant"} <= set(clin["role"])
    assert clin["fte"].between(0, 1.5, inclusive="right").all()
    assert (clin["exit_date"].isna() == clin["exit_reason"].isna()).all()
    sites = read(small, "sites").set_index("site_id")
    role_by_setting = clin[clin["role"].isin(CLINICIAN_ROLES)].join(sites["setting"], "site_id")
    assert set(role_by_setting.query("setting == 'primary_care'")["role"]) <= {
        "physician",
        "advanced_practice",
    }
    assert "dataset.yaml" in digest(small)
    assert "synthetic: true" in (small / "dataset.yaml").read_text()


def test_management_periods_and_pay_switches(small):
    m = read(small, "management")
    for _, site in m.groupby("site_id"):
        start = pd.to_datetime(site["effective_from"]).reset_index(drop=True)
        end = pd.to_datetime(site["effective_to"]).reset_index(drop=True)
        assert start.iloc[0] == pd.Timestamp("2008-01-01") and pd.isna(end.iloc[-1])
        assert (end.iloc[:-1] + pd.Timedelta(days=1) == start.iloc[1:].to_numpy()).all()
    prev = m.groupby("site_id").shift()
    switch = (prev["comp_model"] == "rvu_production") & m["comp_model"].isin(
        ["salary", "salary_plus_quality"]
    )
    assert switch.any()
    others = [c for c in SPECS["management"].column_names[3:] if c not in PAY]
    assert (m.loc[switch, others] == prev.loc[switch, others]).all().all()
    has_target = m["rvu_target_annual"].notna()
    assert (has_target == m["comp_model"].isin(["rvu_production", "hybrid"])).all()
    pct = m.groupby("comp_model")["pct_comp_productivity"].agg(["min", "max"])
    assert pct.loc["salary", "max"] == 0 and pct.loc["rvu_production", "min"] >= 60


def test_filled_fte_is_the_fte_of_clinicians_in_post_on_the_15th(small):
    clin = read(small, "clinicians")
    clin = clin[clin["role"].isin(CLINICIAN_ROLES)]
    access = read(small, "access")
    for row in access.sample(40, random_state=1).itertuples():
        day = f"{row.month}-15"
        total = 0.0
        for c in clin[clin["site_id"] == row.site_id].itertuples():
            if c.hire_date <= day and (pd.isna(c.exit_date) or c.exit_date >= day):
                total += c.fte
        assert row.filled_clinician_fte == pytest.approx(total, abs=0.006)
    assert (access["budgeted_clinician_fte"] >= access["filled_clinician_fte"] - 1e-9).all()


def test_share_mediated_agrees_with_the_exact_expectation(small):
    """Closed form over the written survey rows (covariates joined back from the tables)."""
    truth = json.loads((small / "truth.json").read_text())["burnout"]
    survey = read(small, "survey")
    survey = survey[survey["role"].isin(CLINICIAN_ROLES)]
    setting = read(small, "sites").set_index("site_id")["setting"]
    m = read(small, "management")
    tbc = []
    for row in survey.itertuples():
        site = m[m["site_id"] == row.site_id]
        on = site[
            (site["effective_from"] <= row.survey_date)
            & (site["effective_to"].isna() | (site["effective_to"] >= row.survey_date))
        ]
        tbc.append(float(on["team_based_care"].iloc[0]))
    lp = (
        truth["intercept"]
        + np.log(truth["or_team_based_care"]) * np.array(tbc)
        + np.log([truth["or_role"][r] for r in survey["role"]])
        + np.log([truth["or_setting"][setting[s]] for s in survey["site_id"]])
    )
    p_rvu = 1 / (1 + np.exp(-(lp + np.log(truth["or_rvu_production"]))))
    p_sal = 1 / (1 + np.exp(-lp))

    def q(burned, rvu):
        x = truth["intent_intercept"] + np.log(truth["intent_or_burnout"]) * burned
        return 1 / (1 + np.exp(-(x + np.log(truth["intent_or_rvu_direct"]) * rvu)))

    y11 = np.mean(p_rvu * q(1, 1) + (1 - p_rvu) * q(0, 1))
    y10 = np.mean(p_sal * q(1, 1) + (1 - p_sal) * q(0, 1))
    y00 = np.mean(p_sal * q(1, 0) + (1 - p_sal) * q(0, 0))
    assert truth["share_mediated"] == pytest.approx((y11 - y10) / (y11 - y00), abs=0.01)


def test_survey_time_and_encounters(small):
    survey = read(small, "survey")
    assert pd.Series(survey["survey_date"].unique()).str.endswith("-10-15").all()
    assert 0.1 < survey["clinician_id"].isna().mean() < 0.3
    assert survey["ehr_time_at_home"].isna().any()
    ta = read(small, "time_allocation")
    assert set(ta.loc[ta["after_hours"], "activity"]) == {"documentation", "inbox"}
    enc = read(small, "encounters")
    assert enc["encounter_id"].is_unique
    assert (enc["minutes_uncredited"] <= enc["minutes_total"]).all()
    assert 0.05 < enc["work_rvu"].isna().mean() < 0.15
    rvu = pd.read_csv(paths.REFERENCE / "cms_pfs_2025_work_rvu.csv", dtype={"code": str})
    rvu = rvu.set_index("code")["work_rvu"]
    some = enc.dropna(subset=["work_rvu"]).head(200)
    for codes, work in zip(some["cpt_codes"], some["work_rvu"], strict=True):
        assert work == pytest.approx(sum(rvu[c] for c in codes.split(";")))


def test_truth_file(small):
    truth = json.loads((small / "truth.json").read_text())
    assert truth["seed"] == 7 and truth["window"] == {"start": "2017-01-01", "end": "2024-12-31"}
    t = truth["turnover"]
    assert t["hr_rvu_production"] == 1.6 and t["irr_after_switch"] == 1 / t["hr_rvu_production"]
    assert set(t["hr_role"]) == set(CLINICIAN_ROLES) and t["baseline"]["k"] == 0.8
    assert truth["access"]["tnaa_per_vacant_fte"] == 2.5
    assert truth["access"]["visits_per_budgeted_fte_per_vacant_fte"] == -15.0
    assert set(truth["access"]["clipped_at_zero"]) >= {"third_next_available_days"}
    assert truth["burnout"]["or_rvu_production"] == 1.8
    assert 0 < truth["burnout"]["share_mediated"] < 1
    assert truth["time"]["production_line_share_with_tbc"] == 0.36
    assert truth["time"]["after_hours_minutes_per_clinician_month"] > 0
    assert truth["encounters"]["uncredited_share"]["psychiatry"] == 0.22
    for name in SPECS:
        assert truth["sizes"][name] == len(read(small, name)), name
