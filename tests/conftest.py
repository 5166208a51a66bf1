"""Shared fixtures: a small valid data folder every test can corrupt."""
# ruff: noqa: E501  (CSV fixtures keep their real header lines)

from __future__ import annotations

import os
from pathlib import Path

import pytest

VALID = {
    "sites": """site_id,site_name,region,setting,population_served
S1,North Clinic,North,primary_care,12000
S2,South Psychiatry,South,psychiatry,
S3,East Clinic,East,primary_care,8000
""",
    "management": """site_id,effective_from,effective_to,comp_model,rvu_target_annual,pct_comp_productivity,team_based_care,support_staff_per_clinician,clinician_in_governance,admin_shadowing,protected_time_pct
S1,2015-01-01,2019-12-31,rvu_production,5200,70,false,1.2,no,no,5
S1,2020-01-01,,salary,,0,true,2.0,yes,no,10
S2,2015-01-01,,hybrid,4800,30,Y,1.5,n,y,15
S3,2015-01-01,,salary_plus_quality,,5,1,1.8,0,0,10
""",
    "clinicians": """clinician_id,site_id,role,specialty,fte,hire_date,exit_date,exit_reason
C1,S1,physician,family medicine,1.0,2012-03-01,2019-06-30,voluntary
C1,S1,physician,family medicine,0.8,2021-01-04,,
C2,S1,advanced_practice,,1.0,2018-05-01,,
C3,S2,physician,psychiatry,1.0,2016-09-01,2020-02-29,retirement
C4,S2,behavioral_health,,0.5,2019-01-01,2021-08-15,voluntary
N1,S1,nurse,,1.0,2017-01-01,,
C5,S3,physician,internal medicine,1.0,2014-01-01,,
""",
    "access": """site_id,month,third_next_available_days,new_patient_wait_days,visits,no_show_rate,panel_size,budgeted_clinician_fte,filled_clinician_fte
S1,2019-01,12,20,900,0.08,5000,3.0,2.0
S1,2019-02,10,,950,,5000,3.0,3.0
S2,2019-01,20,30,400,0.12,,2.0,1.5
S2,2019-02,22,31,420,0.1,,2.0,1.5
S3,2019-01,8,12,700,0.05,4000,1.0,1.0
S3,2019-02,9,12,710,0.05,4000,1.0,1.0
""",
    "survey": """response_id,site_id,survey_date,clinician_id,role,burnout,intent_to_leave,ehr_time_at_home,trust_in_leadership,control_over_workload,teamwork,values_alignment
R1,S1,2019-10-15,C1,physician,3,4,4,2,2,3,3
R2,S2,2019-10-15,,behavioral_health,2,1,,4,4,4,4
R3,S3,2019-10-15,C5,physician,1,2,2,4,3,5,4
""",
    "time_allocation": """clinician_id,site_id,month,activity,minutes,after_hours
C2,S1,2019-01,direct_patient_care,2400,false
C2,S1,2019-01,inbox,900,true
C5,S3,2019-01,documentation,1500,no
""",
    "encounters": """encounter_id,clinician_id,site_id,date,cpt_codes,minutes_total,minutes_uncredited,work_rvu
E1,C2,S1,2019-01-10,99214,25,5,1.92
E2,C3,S2,2019-01-11,99214;90833,45,12,
E3,C5,S3,2019-01-12,99213,20,0,1.3
""",
}


def make_valid_folder(path: Path, tables: tuple[str, ...] | None = None) -> Path:
    """Write a small valid data folder (all seven tables as CSV, or the ones named)."""
    path.mkdir(parents=True, exist_ok=True)
    for name, text in VALID.items():
        if tables is None or name in tables:
            (path / f"{name}.csv").write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def valid_folder(tmp_path: Path) -> Path:
    return make_valid_folder(tmp_path / "data")


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory: pytest.TempPathFactory):
    """Module-scoped fixtures validate into a cache of the session, never the project's."""
    old = os.environ.get("HELPERS_CACHE")
    os.environ["HELPERS_CACHE"] = str(tmp_path_factory.mktemp("session-cache"))
    yield
    if old is None:
        os.environ.pop("HELPERS_CACHE", None)
    else:
        os.environ["HELPERS_CACHE"] = old


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test validates into its own cache."""
    monkeypatch.setenv("HELPERS_CACHE", str(tmp_path / "cache"))
