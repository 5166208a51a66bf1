"""The DuckDB check of large tables agrees with the pandas check, value by value."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers.validate import validate_folder

TODAY = dt.date(2025, 6, 30)

# Awkward cells per column; rows cycle through them (lengths chosen to mix combinations).
CELLS = {
    "encounter_id": ["E1", " E2 ", "007", "", "E1", "\xa0E3\xa0", "E4", "E5", "E6", "E7", "E8"],
    "clinician_id": ["C1", "C2 ", "", "c3"],
    "site_id": ["S1", "S2", "S9", "", " S1"],
    "date": [
        "2023-01-05",
        "2023-01-05 00:00",
        "2023-01-05T00:00:00.000",
        "2023-02-30",
        "05/01/2023",
        "2023-01-05 10:30",
        "2099-01-01",
        "",
        "2023-1-5",
        "2024-12-31",
    ],
    "cpt_codes": ["99214;90833", "", "99213", " 90834 "],
    "minutes_total": [
        "30",
        "1,200",
        " 15 ",
        "abc",
        "0",
        "-3",
        "nan",
        "inf",
        "1e2",
        "",
        "5.",
        "+7",
    ],
    "minutes_uncredited": ["5", "40", "-1", "", "0", "2.5", "x"],
    "work_rvu": ["", "1.92", "x", "-0.5", "0", "3"],
}
N_ROWS = 4 * 3 * 5 * 7  # every column wraps several times


def _rows() -> pd.DataFrame:
    return pd.DataFrame(
        {c: list(itertools.islice(itertools.cycle(v), N_ROWS)) for c, v in CELLS.items()}
    )


def _folder(root: Path, valid_folder: Path) -> Path:
    """The valid fixture folder without its encounters table."""
    for p in valid_folder.glob("encounters.*"):
        p.unlink()
    return valid_folder


def _compare(folder: Path, tmp_path: Path) -> None:
    sql_dest, pd_dest = tmp_path / "sql", tmp_path / "pandas"
    by_sql = validate_folder(folder, sql_dest, TODAY, sql=True)
    by_pandas = validate_folder(folder, pd_dest, TODAY, sql=False)

    def key(r):
        return sorted(
            (v.file, v.column, v.rule, v.count, tuple(v.rows))
            for v in r.errors
            if v.table == "encounters"
        )

    assert key(by_sql) == key(by_pandas)
    assert key(by_sql), "the awkward cells must break some rules"
    assert [i["rows"] for i in by_sql.inputs] == [i["rows"] for i in by_pandas.inputs]
    a = pd.read_parquet(sql_dest / "encounters.parquet")
    b = pd.read_parquet(pd_dest / "encounters.parquet")
    assert list(a.columns) == list(b.columns)
    for col in a.columns:
        x, y = a[col], b[col]
        if pd.api.types.is_datetime64_any_dtype(y):
            x, y = x.astype("datetime64[ns]"), y.astype("datetime64[ns]")
            assert (x.isna() == y.isna()).all(), col
            assert (x[x.notna()] == y[y.notna()]).all(), col
        elif pd.api.types.is_numeric_dtype(y):
            np.testing.assert_array_equal(x.astype(float).to_numpy(), y.astype(float).to_numpy())
        else:
            assert x.where(x.notna(), None).tolist() == y.where(y.notna(), None).tolist(), col


def test_csv_of_awkward_cells(tmp_path, valid_folder):
    folder = _folder(tmp_path, valid_folder)
    rows = _rows()
    text = rows.to_csv(index=False, lineterminator="\n")
    lines = text.splitlines()
    lines.insert(7, ",,,,,,,")  # a blank spreadsheet row: skipped, numbering kept
    lines.insert(12, "")  # an empty line is a row too
    lines.insert(20, "")
    (folder / "encounters.csv").write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    _compare(folder, tmp_path)


def test_parquet_of_text_cells(tmp_path, valid_folder):
    folder = _folder(tmp_path, valid_folder)
    pq.write_table(
        pa.Table.from_pandas(_rows(), preserve_index=False), folder / "encounters.parquet"
    )
    _compare(folder, tmp_path)


def test_parquet_of_native_types(tmp_path, valid_folder):
    folder = _folder(tmp_path, valid_folder)
    n = 60
    rng = np.random.default_rng(1)
    minutes = rng.uniform(-5, 60, n)
    minutes[::9] = np.nan
    day = pd.Timestamp("2023-03-01") + pd.to_timedelta(rng.integers(0, 1200, n), unit="D")
    table = pa.table(
        {
            "Encounter_ID": pa.array(np.arange(n) % 50 + 0.0),  # numeric ids, some repeated
            "clinician_id": pa.array([f"C{i % 7}" for i in range(n)]),
            "site_id": pa.array([["S1", "S2", "S9", None][i % 4] for i in range(n)]),
            "date": pa.array(day.date, type=pa.date32()),
            "cpt_codes": pa.array(["99214"] * n),
            "minutes_total": pa.array(minutes),
            "minutes_uncredited": pa.array(rng.integers(-1, 40, n).astype("int64")),
            "work_rvu": pa.array([None if i % 5 == 0 else 1.5 for i in range(n)], pa.float64()),
        }
    )
    pq.write_table(table, folder / "encounters.parquet")
    _compare(folder, tmp_path)
    timestamps = table.set_column(3, "date", pa.array(day, type=pa.timestamp("us")))
    pq.write_table(timestamps, folder / "encounters.parquet")
    _compare(folder, tmp_path)


def test_valid_large_table_is_valid_and_typed(tmp_path, valid_folder):
    result = validate_folder(valid_folder, tmp_path / "out", TODAY)
    assert result.ok, result.summary()
    typed = pd.read_parquet(tmp_path / "out" / "encounters.parquet")
    written = pd.read_csv(valid_folder / "encounters.csv", dtype=str)
    assert typed["encounter_id"].tolist() == written["encounter_id"].tolist()
    assert typed["minutes_total"].tolist() == written["minutes_total"].astype(float).tolist()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("encounter_id,clinician_id\n", "required column missing"),
        (
            "encounter_id,clinician_id,site_id,date,cpt_codes,minutes_total,minutes_uncredited,"
            'work_rvu\n"E1,C1\n',
            "cannot be read",
        ),
    ],
)
def test_unreadable_large_csv_is_a_clean_error(tmp_path, valid_folder, text, message):
    folder = _folder(tmp_path, valid_folder)
    (folder / "encounters.csv").write_text(text, encoding="utf-8")
    result = validate_folder(folder, tmp_path / "out", TODAY)
    assert not result.ok
    assert message in result.summary()
    assert "encounters.csv" in result.summary()


def test_no_known_sites_makes_every_site_id_unknown(tmp_path, valid_folder):
    folder = _folder(tmp_path, valid_folder)
    _rows().to_csv(folder / "encounters.csv", index=False)
    sites = folder / "sites.csv"
    lines = sites.read_text().splitlines()
    sites.write_text("\n".join([lines[0]] + ["," + line.split(",", 1)[1] for line in lines[1:]]))
    _compare(folder, tmp_path)
