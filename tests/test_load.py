"""Formats, column mapping and file-level problems."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.data import open_dataset
from helpers.data import read as load
from helpers.validate import validate_folder
from tests.conftest import VALID


def frame(table: str) -> pd.DataFrame:
    return pd.read_csv(pd.io.common.StringIO(VALID[table]), dtype=str, keep_default_na=False)


def rules(folder) -> set[tuple[str, str]]:
    return {(v.file, v.rule) for v in validate_folder(folder).errors}


def expected_clinicians(folder) -> pd.DataFrame:
    return open_dataset(folder).table("clinicians")


def test_csv_with_bom(valid_folder):
    path = valid_folder / "sites.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert validate_folder(valid_folder).ok
    assert list(open_dataset(valid_folder).table("sites")["site_id"]) == ["S1", "S2", "S3"]


def test_parquet_and_xlsx_give_the_same_tables(valid_folder, tmp_path):
    reference = expected_clinicians(valid_folder)
    # Parquet with native types
    clin = frame("clinicians")
    typed = clin.assign(
        fte=clin["fte"].astype(float),
        hire_date=pd.to_datetime(clin["hire_date"]),
        exit_date=pd.to_datetime(clin["exit_date"].replace("", None)),
    )
    (valid_folder / "clinicians.csv").unlink()
    typed.to_parquet(valid_folder / "clinicians.parquet", index=False)
    pd.testing.assert_frame_equal(expected_clinicians(valid_folder), reference)
    # NAME.xlsx (first sheet) with native dates
    (valid_folder / "clinicians.parquet").unlink()
    typed.to_excel(valid_folder / "clinicians.xlsx", index=False)
    pd.testing.assert_frame_equal(expected_clinicians(valid_folder), reference)


def test_one_workbook_with_a_sheet_per_table(valid_folder):
    reference = open_dataset(valid_folder).table("access")
    with pd.ExcelWriter(valid_folder / "data.xlsx") as xl:
        pd.DataFrame({"note": ["ignored"]}).to_excel(xl, sheet_name="README", index=False)
        for table in ("Sites", "management", "clinicians", "access"):
            frame(table.lower()).to_excel(xl, sheet_name=table, index=False)
            (valid_folder / f"{table.lower()}.csv").unlink()
    assert validate_folder(valid_folder).ok, validate_folder(valid_folder).summary()
    pd.testing.assert_frame_equal(open_dataset(valid_folder).table("access"), reference)


def test_columns_yaml_and_case_insensitive_names(valid_folder):
    path = valid_folder / "clinicians.csv"
    path.write_text(
        path.read_text().replace("clinician_id,site_id,ROLE".lower(), "Employee ID, Site_ID ,ROLE")
    )
    (valid_folder / "columns.yaml").write_text("clinicians:\n  Employee ID: clinician_id\n")
    result = validate_folder(valid_folder)
    assert result.ok, result.summary()
    assert list(open_dataset(valid_folder).table("clinicians").columns[:3]) == [
        "clinician_id",
        "site_id",
        "role",
    ]


def test_boolean_and_month_spellings(valid_folder):
    mgmt = open_dataset(valid_folder).table("management")
    assert mgmt["team_based_care"].tolist() == [False, True, True, True]
    assert mgmt["admin_shadowing"].tolist() == [False, False, True, False]
    path = valid_folder / "access.csv"
    path.write_text(path.read_text().replace("S1,2019-02,", "S1,2019-02-17,"))
    months = open_dataset(valid_folder).table("access")["month"]
    assert months.iloc[1] == pd.Timestamp("2019-02-01")


@pytest.mark.parametrize(
    ("setup", "file", "rule"),
    [
        (lambda d: (d / "sites.csv").write_bytes(b""), "sites.csv", "empty file"),
        (
            lambda d: (d / "survey.csv").write_text(VALID["survey"].splitlines()[0] + "\n"),
            "survey.csv",
            "header only",
        ),
        (
            lambda d: (d / "sites.csv").write_bytes(
                VALID["sites"].replace("North Clinic", "Nörth").encode("latin-1")
            ),
            "sites.csv",
            "not UTF-8",
        ),
        (lambda d: (d / "data.xlsx").write_text("not a zip"), "data.xlsx", "not an Excel workbook"),
        (lambda d: (d / "survey.xlsx").write_text("not a zip"), "survey.csv", "one file per table"),
        (
            lambda d: (d / "columns.yaml").write_text("clinicians: [unclosed\n"),
            "columns.yaml",
            "not valid YAML",
        ),
        (
            lambda d: (d / "columns.yaml").write_text("clinicians:\n  Emp: employee\n"),
            "columns.yaml",
            "maps to unknown column",
        ),
        (
            lambda d: (d / "columns.yaml").write_text("staff:\n  a: b\n"),
            "columns.yaml",
            "unknown table",
        ),
        (
            lambda d: (d / "columns.yaml").write_text("sites:\n  region: setting\n"),
            "sites.csv",
            "duplicate column after mapping",
        ),
        (
            lambda d: (d / "encounters.parquet").write_bytes(b"PAR1 broken"),
            "encounters.csv",
            "one file per table",
        ),
    ],
)
def test_file_level_problems(valid_folder, setup, file, rule):
    setup(valid_folder)
    found = rules(valid_folder)
    assert any(f == file and rule in r for f, r in found), found


def test_text_in_a_number_column_is_a_row_error(valid_folder):
    path = valid_folder / "access.csv"
    path.write_text(path.read_text().replace(",900,", ",nine hundred,"))
    v = next(v for v in validate_folder(valid_folder).errors if v.column == "visits")
    assert v.rows == [2] and "whole number" in v.rule


@pytest.mark.parametrize("blank", [",,,,", ""], ids=["blank row", "empty line"])
def test_blank_rows_are_skipped_and_row_numbers_kept(valid_folder, blank):
    path = valid_folder / "sites.csv"
    lines = path.read_text().splitlines()
    path.write_text(
        "\n".join([lines[0], blank, lines[1], lines[2].replace("S2", "S1"), lines[3]]) + "\n"
    )
    v = next(v for v in validate_folder(valid_folder).errors if v.column == "site_id")
    assert v.rows == [3, 4]  # the blank line is row 2


@pytest.mark.parametrize("bad_line", [3, 40_000, None])
def test_utf8_check_names_the_line_across_blocks(tmp_path, bad_line):
    block = 1 << 20
    head = b"id,name\n"
    # Line 2 ends with an "é" whose two bytes straddle the first 1 MiB block boundary.
    line2 = b"S0," + b"x" * (block - len(head) - 4) + "é".encode() + b"\n"
    assert len(head) + line2.index(b"\xc3") == block - 1
    lines = [f"S{i:06d},café {i:012d}".encode() for i in range(3, 60_000)]
    if bad_line:
        lines[bad_line - 3] = b"S,Caf\xe9"  # latin-1, not UTF-8
    path = tmp_path / "sites.csv"
    path.write_bytes(head + line2 + b"\n".join(lines) + b"\n")
    found = load._decode_check(path)
    assert (found.rows if found else None) == ([bad_line] if bad_line else None)


def test_excel_text_that_pandas_would_call_missing_is_text(valid_folder):
    sites = frame("sites")
    sites.loc[0, "region"] = "NA"  # North America
    sites.loc[1, "site_name"] = "None"
    sites.loc[2, "setting"] = "#NA"
    (valid_folder / "sites.csv").unlink()
    sites.to_excel(valid_folder / "sites.xlsx", index=False)
    result = validate_folder(valid_folder)
    assert result.ok, result.summary()
    table = open_dataset(valid_folder).table("sites")
    assert table["region"].tolist() == ["NA", "South", "East"]
    assert table["site_name"].tolist() == ["North Clinic", "None", "East Clinic"]
    assert table["setting"].tolist() == ["primary_care", "psychiatry", "#NA"]
    assert table["population_served"].isna().tolist() == [False, True, False]


def test_numbers_are_read_exactly(valid_folder):
    path = valid_folder / "clinicians.csv"
    path.write_text(path.read_text().replace(",0.8,", ",0.30000000000000004,"))
    path = valid_folder / "management.csv"
    path.write_text(path.read_text().replace(",1.2,", ",9.279551157396337,"))
    ds = open_dataset(valid_folder)
    assert ds.table("clinicians")["fte"].iloc[1] == 0.30000000000000004
    assert ds.table("management")["support_staff_per_clinician"].iloc[0] == 9.279551157396337


def test_a_damaged_parquet_page_is_reported_not_raised(valid_folder):
    (valid_folder / "clinicians.csv").unlink()
    path = valid_folder / "clinicians.parquet"
    frame("clinicians").to_parquet(path, index=False)
    data = bytearray(path.read_bytes())
    data[10:40] = b"\xff" * 30  # inside the first data page; the footer is intact
    path.write_bytes(bytes(data))
    found = rules(valid_folder)
    assert any(f == "clinicians.parquet" and "cannot be read" in r for f, r in found), found


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a,b\n1,2\n3,4\n", []),
        ("a,b\n1,2\n\n3,4\n\r\n5,6\n", [3, 5]),
        ('a,b\n"x\n\ny",2\n\n3,4\n', [3]),  # the one inside quotes is part of a cell
    ],
)
def test_empty_lines_are_found_as_rows(tmp_path, text, expected):
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode())
    assert load.empty_lines(path) == expected


def test_file_row_counts_the_skipped_rows():
    # File rows 1..7, rows 3 and 5 skipped: the remaining rows 1,2,4,6,7 read as 1..5.
    assert [load.file_row(r, [3, 5]) for r in range(1, 6)] == [1, 2, 4, 6, 7]
