"""The demonstration organisation: deterministic, valid, and shaped like the real thing."""

import hashlib
import json

import pandas as pd
import pytest

from helpers import demo
from helpers.contract import SPECS
from helpers.validate import validate_folder


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo"
    demo.generate(out, seed=7, scale=0.2)
    return out


def test_same_seed_same_bytes_other_seed_other_bytes(small, tmp_path):
    demo.generate(tmp_path / "again", seed=7, scale=0.2)
    assert digest(tmp_path / "again") == digest(small)
    demo.generate(tmp_path / "other", seed=8, scale=0.2)
    assert digest(tmp_path / "other")["clinicians.csv"] != digest(small)["clinicians.csv"]


def test_all_tables_in_contract_order_and_valid(small):
    for name, spec in SPECS.items():
        path = small / (f"{name}.parquet" if name == "encounters" else f"{name}.csv")
        cols = (pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)).columns
        assert list(cols) == list(spec.column_names)
    result = validate_folder(small)
    assert result.ok, result.summary()


def test_shape_of_the_organisation(small):
    clin = pd.read_csv(small / "clinicians.csv", parse_dates=["hire_date", "exit_date"])
    assert clin["clinician_id"].duplicated().any()  # rehires
    assert (clin["hire_date"] < "2017-01-01").any()  # spells begun before the window
    assert {"nurse", "medical_assistant"} <= set(clin["role"])
    assert clin[["hire_date", "exit_date"]].max().max() <= pd.Timestamp("2024-12-31")
    m = pd.read_csv(small / "management.csv")
    prev = m.groupby("site_id")["comp_model"].shift()
    assert (
        (prev == "rvu_production") & m["comp_model"].isin(["salary", "salary_plus_quality"])
    ).any()
    assert "synthetic: true" in (small / "dataset.yaml").read_text()


def test_truth_file(small):
    truth = json.loads((small / "truth.json").read_text())
    assert truth["turnover"]["hr_rvu_production"] == 1.6
    assert truth["access"]["tnaa_per_vacant_fte"] == 2.5
    assert 0 < truth["burnout"]["share_mediated"] < 1
    assert truth["sizes"]["encounters"] == len(pd.read_parquet(small / "encounters.parquet"))
