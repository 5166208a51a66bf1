"""The validated, cached dataset the notebooks read."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from helpers import data
from helpers.data import open_dataset
from helpers.validate import DataError


def test_dtypes_window_identity(valid_folder):
    ds = open_dataset(valid_folder)
    assert ds.window == (pd.Timestamp("2019-01-01"), pd.Timestamp("2019-02-28"))
    assert ds.synthetic is False and ds.name == "data"
    clin = ds.table("clinicians")
    assert clin["fte"].dtype == float
    assert str(clin["hire_date"].dtype) == "datetime64[ns]"
    assert clin["exit_reason"].dtype == object
    assert str(ds.table("access")["visits"].dtype) == "Int64"
    assert str(ds.table("management")["team_based_care"].dtype) == "boolean"
    assert {i["table"] for i in ds.inputs} == {
        "sites",
        "management",
        "clinicians",
        "access",
        "survey",
        "time_allocation",
        "encounters",
    }
    con = ds.connect()
    assert con.execute("select sum(minutes_total) from encounters").fetchone()[0] == 90


def test_dataset_yaml_marks_synthetic(valid_folder):
    (valid_folder / "dataset.yaml").write_text("name: Demo org\nsynthetic: true\n")
    ds = open_dataset(valid_folder)
    assert ds.synthetic is True and ds.name == "Demo org"


def test_second_open_reuses_the_store(valid_folder, monkeypatch):
    first = open_dataset(valid_folder)
    calls = []
    monkeypatch.setattr(data, "validate_folder", lambda *a, **k: calls.append(a))
    second = open_dataset(valid_folder)
    assert second.store == first.store and calls == []


def test_changed_file_revalidates(valid_folder):
    first = open_dataset(valid_folder)
    path = valid_folder / "sites.csv"
    path.write_text(path.read_text().replace("North Clinic", "North Health"))
    second = open_dataset(valid_folder)
    assert second.store != first.store
    assert "North Health" in set(second.table("sites")["site_name"])


def test_bad_data_raises_with_summary(valid_folder):
    path = valid_folder / "sites.csv"
    path.write_text(path.read_text().replace("12000", "-1"))
    with pytest.raises(DataError, match="population_served"):
        open_dataset(valid_folder)


def test_absent_optional_table(tmp_path):
    from tests.conftest import make_valid_folder

    ds = open_dataset(
        make_valid_folder(tmp_path / "d", ("sites", "management", "clinicians", "access"))
    )
    assert not ds.has("survey")
    with pytest.raises(KeyError):
        ds.parquet("survey")


def test_a_copy_of_a_folder_records_its_own_name_and_paths(valid_folder, tmp_path):
    first = open_dataset(valid_folder)
    copy = tmp_path / "other-name"
    shutil.copytree(valid_folder, copy)
    second = open_dataset(copy)
    assert second.store == first.store  # same files: validated once
    assert second.name == "other-name" and first.name == valid_folder.name
    assert {Path(i["path"]).parent for i in second.inputs} == {copy.resolve()}
    assert [i["sha256"] for i in second.inputs] == [i["sha256"] for i in first.inputs]
