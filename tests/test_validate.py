"""Every rule of the data contract, with a failing example each."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers.validate import main, validate_folder
from tests.conftest import VALID, make_valid_folder


def corrupt(folder, table, old, new, count=1):
    path = folder / f"{table}.csv"
    text = path.read_text()
    assert old in text, f"{old!r} not in {table}"
    path.write_text(text.replace(old, new, count))


# (table, old text, new text, column, rule words, row numbers as the analyst sees them)
CASES = [
    ("sites", "S2,South", ",South", "site_id", "required", [3]),
    ("sites", "S3,East", "S1,East", "site_id", "must be unique", [2, 4]),
    ("sites", "primary_care,12000", ",12000", "setting", "required", [2]),
    ("sites", "12000", "-5", "population_served", ">= 0", [2]),
    ("sites", "12000", "many", "population_served", "whole number", [2]),
    ("sites", "12000", "12000.5", "population_served", "whole number", [2]),
    ("management", "S3,2015", "S9,2015", "site_id", "must exist in sites", [5]),
    (
        "management",
        "2015-01-01,2019-12-31",
        "2015-01-01,2014-12-31",
        "effective_to",
        ">= effective_from",
        [2],
    ),
    ("management", "S1,2020-01-01", "S1,2019-06-01", "effective_from", "must not overlap", [2, 3]),
    ("management", "rvu_production,5200", "piecework,5200", "comp_model", "one of", [2]),
    ("management", "5200", "-1", "rvu_target_annual", ">= 0", [2]),
    ("management", "5200,70", "5200,170", "pct_comp_productivity", "<= 100", [2]),
    ("management", "1.2,no,no,5", "1.2,maybe,no,5", "clinician_in_governance", "true/false", [2]),
    ("management", "1.2,no,no,5", "-1.2,no,no,5", "support_staff_per_clinician", ">= 0", [2]),
    ("management", "1.2,no,no,5", "1.2,no,no,101", "protected_time_pct", "<= 100", [2]),
    ("management", "S1,2015-01-01", "S1,01/01/2015", "effective_from", "YYYY-MM-DD", [2]),
    (
        "clinicians",
        "C2,S1,advanced_practice",
        ",S1,advanced_practice",
        "clinician_id",
        "required",
        [4],
    ),
    (
        "clinicians",
        "C5,S3,physician,internal medicine,1.0,2014-01-01",
        "C1,S1,physician,internal medicine,1.0,2012-03-01",
        "clinician_id, hire_date",
        "must be unique",
        [2, 8],
    ),
    ("clinicians", "C4,S2", "C4,S7", "site_id", "must exist in sites", [6]),
    ("clinicians", "advanced_practice", "surgeon", "role", "one of", [4]),
    ("clinicians", "family medicine,1.0,2012", "family medicine,0,2012", "fte", "> 0", [2]),
    ("clinicians", "family medicine,1.0,2012", "family medicine,1.6,2012", "fte", "<= 1.5", [2]),
    ("clinicians", "2018-05-01", "2099-05-01", "hire_date", "future", [4]),
    ("clinicians", "2019-06-30,voluntary", "2099-06-30,voluntary", "exit_date", "future", [2]),
    (
        "clinicians",
        "2016-09-01,2020-02-29",
        "2016-09-01,2015-02-28",
        "exit_date",
        ">= hire_date",
        [5],
    ),
    ("clinicians", "2020-02-29,retirement", "2020-02-29,", "exit_reason", "missing exactly", [5]),
    ("clinicians", "2018-05-01,,", "2018-05-01,,voluntary", "exit_reason", "missing exactly", [4]),
    ("clinicians", "2019-06-30,voluntary", "2019-06-30,fired", "exit_reason", "one of", [2]),
    ("access", "S3,2019-02", "S3,2019-01", "site_id, month", "must be unique", [6, 7]),
    ("access", "S2,2019-01", "SX,2019-01", "site_id", "must exist in sites", [4]),
    ("access", "S1,2019-01,12", "S1,2019-01,-2", "third_next_available_days", ">= 0", [2]),
    ("access", "S1,2019-01,12", "S1,Jan 2019,12", "month", "YYYY-MM", [2]),
    ("access", "S1,2019-01,12", "S1,2099-01,12", "month", "future", [2]),
    ("access", "0.08,5000", "1.08,5000", "no_show_rate", "<= 1", [2]),
    ("access", "900,", "-900,", "visits", ">= 0", [2]),
    ("access", "3.0,2.0", "-3.0,2.0", "budgeted_clinician_fte", ">= 0", [2]),
    ("access", "3.0,2.0", "3.0,two", "filled_clinician_fte", "number", [2]),
    ("survey", "R2,S2", "R1,S2", "response_id", "must be unique", [2, 3]),
    ("survey", "R3,S3", "R3,S8", "site_id", "must exist in sites", [4]),
    ("survey", "physician,3,4", "physician,6,4", "burnout", "<= 5", [2]),
    ("survey", "physician,3,4", "physician,3,0", "intent_to_leave", ">= 1", [2]),
    ("survey", "C1,physician", "C1,doctor", "role", "one of", [2]),
    ("survey", "2019-10-15,C5", "2099-10-15,C5", "survey_date", "future", [4]),
    ("time_allocation", "inbox,900", "email,900", "activity", "one of", [3]),
    ("time_allocation", "inbox,900", "inbox,-900", "minutes", ">= 0", [3]),
    ("time_allocation", "900,true", "900,sometimes", "after_hours", "true/false", [3]),
    ("time_allocation", "C5,S3", "C5,S0", "site_id", "must exist in sites", [4]),
    ("encounters", "E3,C5", "E1,C5", "encounter_id", "must be unique", [2, 4]),
    ("encounters", "99213,20,0", "99213,0,0", "minutes_total", "> 0", [4]),
    ("encounters", "99213,20,0", "99213,20,25", "minutes_uncredited", "<= minutes_total", [4]),
    ("encounters", "99213,20,0", "99213,20,-1", "minutes_uncredited", ">= 0", [4]),
    ("encounters", "E3,C5,S3", "E3,C5,S4", "site_id", "must exist in sites", [4]),
    ("encounters", "2019-01-12", "2019-13-12", "date", "YYYY-MM-DD", [4]),
]


@pytest.mark.parametrize(("table", "old", "new", "column", "rule", "rows"), CASES)
def test_each_rule_names_file_column_rule_and_rows(
    valid_folder, table, old, new, column, rule, rows
):
    corrupt(valid_folder, table, old, new)
    result = validate_folder(valid_folder)
    assert not result.ok
    hits = [v for v in result.errors if v.column == column and rule in v.rule]
    assert hits, result.summary()
    v = hits[0]
    assert v.file == f"{table}.csv"
    assert v.rows == rows
    assert v.count == len(rows)
    text = result.summary()
    assert f"{table}.csv" in text and f"column {column}" in text


def test_valid_folder_is_valid(valid_folder):
    result = validate_folder(valid_folder)
    assert result.ok, result.summary()
    assert result.tables == [
        "sites",
        "management",
        "clinicians",
        "access",
        "survey",
        "time_allocation",
        "encounters",
    ]


def test_all_violations_in_all_tables_in_one_pass(valid_folder):
    corrupt(valid_folder, "sites", "12000", "-5")
    corrupt(valid_folder, "clinicians", "advanced_practice", "surgeon")
    corrupt(valid_folder, "encounters", "99213,20,0", "99213,0,0")
    files = {v.file for v in validate_folder(valid_folder).errors}
    assert files == {"sites.csv", "clinicians.csv", "encounters.csv"}


def test_missing_required_table_and_column(valid_folder):
    (valid_folder / "access.csv").unlink()
    path = valid_folder / "sites.csv"
    path.write_text(path.read_text().replace(",setting,", ",kind,"))
    result = validate_folder(valid_folder)
    rules = {(v.file, v.column, v.rule.split(" (")[0]) for v in result.errors}
    assert ("access.csv", "", "required table missing") in rules
    assert ("sites.csv", "setting", "required column missing") in rules
    assert result.extra_columns == {"sites.csv": ["kind"]}


def test_optional_tables_may_be_absent(tmp_path):
    folder = make_valid_folder(tmp_path / "d", ("sites", "management", "clinicians", "access"))
    assert validate_folder(folder).ok


def test_many_rows_report_the_first_five_and_the_count(valid_folder):
    rows = "".join(f"C{i},S1,nurse,,2.0,2015-01-01,,\n" for i in range(10, 20))
    path = valid_folder / "clinicians.csv"
    path.write_text(path.read_text() + rows)
    v = next(v for v in validate_folder(valid_folder).errors if v.column == "fte")
    assert v.count == 10 and v.rows == [9, 10, 11, 12, 13]
    assert "rows 9, 10, 11, 12, 13, …" in validate_folder(valid_folder).summary()


def test_cli_exit_codes_and_no_traceback(valid_folder, capsys):
    assert main([str(valid_folder)]) == 0
    corrupt(valid_folder, "sites", "12000", "-5")
    proc = subprocess.run(
        [sys.executable, "-m", "helpers.validate", str(valid_folder)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "population_served" in proc.stdout and "Traceback" not in proc.stdout + proc.stderr


def test_missing_folder(tmp_path):
    result = validate_folder(tmp_path / "nope")
    assert not result.ok and "not found" in result.summary()


def test_valid_fixture_is_the_documented_one():
    assert set(VALID) == {
        "sites",
        "management",
        "clinicians",
        "access",
        "survey",
        "time_allocation",
        "encounters",
    }


def test_duplicate_encounters_after_a_blank_row_keep_file_row_numbers(valid_folder):
    path = valid_folder / "encounters.csv"
    lines = path.read_text().splitlines()
    rows = [lines[0], ",,,,,,,", lines[1], lines[2], ",,,,,,,", lines[3].replace("E3", "E1")]
    path.write_text("\n".join(rows) + "\n")
    v = next(v for v in validate_folder(valid_folder).errors if v.column == "encounter_id")
    assert v.rows == [3, 6]  # blank rows 2 and 5 count


# -- the large table, and cells written in awkward ways -------------------------------------
TODAY = dt.date(2025, 6, 30)
ENCOUNTER_HEADER = (
    "encounter_id,clinician_id,site_id,date,cpt_codes,minutes_total,minutes_uncredited,work_rvu"
)


def _rules(result) -> dict[tuple[str, str], tuple[int, list[int]]]:
    return {(v.column, v.rule): (v.count, v.rows) for v in result.errors}


def test_valid_large_table_is_valid_and_typed(tmp_path, valid_folder):
    result = validate_folder(valid_folder, tmp_path / "out", TODAY)
    assert result.ok, result.summary()
    typed = pd.read_parquet(tmp_path / "out" / "encounters.parquet")
    written = pd.read_csv(valid_folder / "encounters.csv", dtype=str)
    assert typed["encounter_id"].tolist() == written["encounter_id"].tolist()
    assert typed["minutes_total"].tolist() == written["minutes_total"].astype(float).tolist()


def test_awkward_csv_cells_read_as_written(tmp_path, valid_folder):
    # Row numbers as the analyst sees them: a BOM, a blank spreadsheet row (4) and two
    # empty lines (6, 9) count; a quoted line break stays in its cell.
    rows = [
        ENCOUNTER_HEADER,
        'E1, C2 ,S1,2019-01-10 00:00,"99214;90833","1,200",5,1.92',  # row 2
        "\xa0E2\xa0,C3,S2,2019-01-11T00:00:00.000,99214,+7,5.,",  # row 3
        ",,,,,,,",  # row 4: blank
        "E3,C5,S3,2019-01-12,99213,1e2,0,x",  # row 5
        "",  # row 6: empty line
        "E4,C5,S3,2019-02-30,99213,inf,0,0",  # row 7
        'E5,C5,S3,05/01/2019,"99213\n",nan,-1,3',  # row 8 (two lines)
        "",  # row 9: empty line
        "E6,C5,S9,2099-01-01,99213,20,25,",  # row 10
    ]
    (valid_folder / "encounters.csv").write_text("\ufeff" + "\n".join(rows) + "\n")
    result = validate_folder(valid_folder, tmp_path / "out", TODAY)
    found = _rules(result)
    assert found[("date", "must be a date YYYY-MM-DD")] == (2, [7, 8])
    assert found[("minutes_total", "must be a number")] == (2, [7, 8])
    assert found[("minutes_uncredited", "must be >= 0")] == (1, [8])
    assert found[("site_id", "must exist in sites.site_id")] == (1, [10])
    assert found[("date", "must not be in the future")] == (1, [10])
    assert found[("minutes_uncredited", "must be <= minutes_total")] == (1, [10])
    assert found[("work_rvu", "must be a number")] == (1, [5])
    assert len(found) == 7, result.summary()
    assert result.inputs[-1]["rows"] == 6  # the blank row is not a row of data


def test_awkward_csv_values(tmp_path, valid_folder):
    rows = [
        ENCOUNTER_HEADER,
        'E1, C2 ,S1,2019-01-10 00:00,"99214;90833","1,200",5,1.92',
        "\xa0E2\u3000,C3,S2,2019-01-11T00:00:00.000,99214,+7,5.,",
        "E3,C5,S3,2019-01-12,99213,1e2,.5,-0.0",
    ]
    (valid_folder / "encounters.csv").write_text("\n".join(rows) + "\n")
    result = validate_folder(valid_folder, tmp_path / "out", TODAY)
    assert result.ok, result.summary()
    e = pd.read_parquet(tmp_path / "out" / "encounters.parquet")
    assert e["encounter_id"].tolist() == ["E1", "E2", "E3"]
    assert e["clinician_id"].tolist() == ["C2", "C3", "C5"]
    assert e["minutes_total"].tolist() == [1200.0, 7.0, 100.0]
    assert e["minutes_uncredited"].tolist() == [5.0, 5.0, 0.5]
    assert e["date"].dt.strftime("%Y-%m-%d").tolist() == ["2019-01-10", "2019-01-11", "2019-01-12"]
    assert e["work_rvu"].isna().tolist() == [False, True, False]


def test_parquet_of_native_types(tmp_path, valid_folder):
    (valid_folder / "encounters.csv").unlink()
    n = 6
    table = pa.table(
        {
            "Encounter_ID": pa.array([1.0, 2.0, 2.0, 4.5, 5.0, 6.0]),  # numeric ids
            "clinician_id": pa.array([f"C{i}" for i in range(n)]),
            "site_id": pa.array(["S1", "S2", "S9", None, "S1", "S1"]),
            "date": pa.array([dt.date(2023, 3, 1 + i) for i in range(n)], type=pa.date32()),
            "cpt_codes": pa.array(["99214"] * n),
            "minutes_total": pa.array([30.0, float("nan"), 20.0, float("inf"), 10.0, 12.0]),
            "minutes_uncredited": pa.array([1, 2, 3, 4, 50, -1], pa.int64()),
            "work_rvu": pa.array([None, 1.5, 1.5, 1.5, True and 1.0, 0.5], pa.float64()),
        }
    )
    pq.write_table(table, valid_folder / "encounters.parquet")
    result = validate_folder(valid_folder, tmp_path / "out", TODAY)
    found = _rules(result)
    assert found.pop(("encounter_id", "must be unique")) == (2, [3, 4])
    assert found.pop(("minutes_total", "required (empty cell)")) == (1, [3])
    assert found.pop(("minutes_total", "must be a number")) == (1, [5])
    assert found.pop(("site_id", "must exist in sites.site_id")) == (1, [4])
    assert found.pop(("site_id", "required (empty cell)")) == (1, [5])
    assert found.pop(("minutes_uncredited", "must be <= minutes_total")) == (1, [6])
    assert found.pop(("minutes_uncredited", "must be >= 0")) == (1, [7])
    assert found == {}
    e = pd.read_parquet(tmp_path / "out" / "encounters.parquet")
    assert e["encounter_id"].tolist() == ["1", "2", "2", "4.5", "5", "6"]
    assert e["minutes_uncredited"].tolist() == [1.0, 2.0, 3.0, 4.0, 50.0, -1.0]
    # Timestamps are days too.
    stamps = table.set_column(
        3, "date", pa.array([dt.datetime(2023, 3, 1, 0, 0)] * n, type=pa.timestamp("us"))
    )
    pq.write_table(stamps, valid_folder / "encounters.parquet")
    result = validate_folder(valid_folder, tmp_path / "out2", TODAY)
    assert ("date", "must be a date YYYY-MM-DD") not in _rules(result)
    e = pd.read_parquet(tmp_path / "out2" / "encounters.parquet")
    assert set(e["date"].dt.strftime("%Y-%m-%d")) == {"2023-03-01"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("encounter_id,clinician_id\n", "required column missing"),
        (ENCOUNTER_HEADER + '\n"E1,C1\n', "cannot be read"),
    ],
)
def test_unreadable_large_csv_is_a_clean_error(tmp_path, valid_folder, text, message):
    (valid_folder / "encounters.csv").write_text(text, encoding="utf-8")
    result = validate_folder(valid_folder, tmp_path / "out", TODAY)
    assert not result.ok
    assert message in result.summary()
    assert "encounters.csv" in result.summary()


def test_no_known_sites_makes_every_site_id_unknown(tmp_path, valid_folder):
    sites = valid_folder / "sites.csv"
    lines = sites.read_text().splitlines()
    sites.write_text("\n".join([lines[0]] + ["," + line.split(",", 1)[1] for line in lines[1:]]))
    found = _rules(validate_folder(valid_folder, tmp_path / "out", TODAY))
    assert found[("site_id", "required (empty cell)")] == (3, [2, 3, 4])
    # Every referring table: its rows with a site_id are unknown.
    result = validate_folder(valid_folder, tmp_path / "out2", TODAY)
    unknown = {v.file: v.count for v in result.errors if v.rule == "must exist in sites.site_id"}
    assert unknown == {
        "management.csv": 4,
        "clinicians.csv": 7,
        "access.csv": 6,
        "survey.csv": 3,
        "time_allocation.csv": 3,
        "encounters.csv": 3,
    }
