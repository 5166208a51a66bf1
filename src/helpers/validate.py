"""Check a data folder against the data contract: every rule, every table, one pass.

``python -m helpers.validate DATA_DIR`` prints one summary (file, column, rule, how many rows,
the first row numbers as the analyst sees them: header = row 1) and exits 2 when anything
breaks the contract, 0 otherwise. Column-level rules (ranges, categories) are a pandera
schema built from :mod:`helpers.contract`; rules across rows and tables are checked here.
Large tables in CSV or Parquet are checked in DuckDB (:mod:`helpers.validate_large`).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa_arrow
import pyarrow.parquet as pq

from helpers.contract import OPTIONAL_TABLES, REQUIRED_TABLES, SPECS, Column, Table
from helpers.load import (
    ReadError,
    Source,
    Violation,
    chunks,
    file_problem,
    find_sources,
    header,
    read_column_map,
    rename_columns,
)

FIRST_ROWS = 5
HEADER_ONLY = "header only, no data rows (delete the file if you have no such data)"
TRUE = {"true", "yes", "y", "1", "1.0", "t"}
FALSE = {"false", "no", "n", "0", "0.0", "f"}
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]00:00(?::00(?:\.0+)?)?)?$")
MONTH_RE = re.compile(r"^\d{4}-\d{2}$")
# Dates that describe a plan may lie ahead; every other date must not be in the future.
FUTURE_ALLOWED = {("management", "effective_to")}
LARGE_TABLES = {"encounters"}
# (column, bound): the column must not exceed the bound column of the same row.
NOT_ABOVE = {"encounters": [("minutes_uncredited", "minutes_total")]}


class DataError(Exception):
    """The data folder breaks the contract; ``str()`` is the readable summary."""

    def __init__(self, result: ValidationResult) -> None:
        super().__init__(result.summary())
        self.result = result


@dataclass
class ValidationResult:
    folder: Path
    errors: list[Violation] = field(default_factory=list)
    extra_columns: dict[str, list[str]] = field(default_factory=dict)
    inputs: list[dict] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        lines = []
        if self.ok:
            lines.append(f"{self.folder}: valid ({', '.join(self.tables)}).")
        else:
            files = sorted({v.file for v in self.errors})
            lines.append(
                f"{self.folder}: {len(self.errors)} problem(s) in {len(files)} "
                f"file(s); nothing was run."
            )
            for f in files:
                lines.append("")
                lines.append(f)
                for v in (v for v in self.errors if v.file == f):
                    where = f"column {v.column}" if v.column else "file"
                    if v.rows:  # a problem of rows; otherwise of the file or its header
                        more = ", …" if v.count > len(v.rows) else ""
                        rows = f"; rows {', '.join(map(str, v.rows))}{more}"
                        rows = f" ({v.count} row{'s' if v.count != 1 else ''}{rows})"
                    else:
                        rows = ""
                    lines.append(f"  {where}: {v.rule}{rows}")
        for label, cols in self.extra_columns.items():
            lines.append(f"Ignored extra columns in {label}: {', '.join(cols)}")
        return "\n".join(lines)


# -- coercion ------------------------------------------------------------------------------
def _missing(raw: pd.Series) -> pd.Series:
    as_text = raw.map(lambda v: isinstance(v, str) and v.strip() == "")
    return raw.isna() | as_text.astype(bool)


def _text(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _dates(raw: pd.Series, miss: pd.Series, month: bool) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_datetime64_any_dtype(raw):
        out = (
            pd.to_datetime(raw).dt.tz_localize(None)
            if getattr(raw.dt, "tz", None)
            else pd.to_datetime(raw)
        )
        bad = pd.Series(False, index=raw.index)
    else:
        out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
        native = raw.map(lambda v: isinstance(v, datetime | date | pd.Timestamp))
        if native.any():
            out[native] = pd.to_datetime(raw[native].map(lambda v: pd.Timestamp(v)))
        text = raw[~native & ~miss].map(_text)
        full = text.str.match(DATE_RE)
        out[full[full].index] = pd.to_datetime(
            text[full].str[:10], format="%Y-%m-%d", errors="coerce"
        )
        if month:
            mon = text.str.match(MONTH_RE)
            out[mon[mon].index] = pd.to_datetime(
                text[mon] + "-01", format="%Y-%m-%d", errors="coerce"
            )
        bad = ~miss & out.isna()
    out = out.dt.normalize()
    if month:
        out = out.dt.to_period("M").dt.to_timestamp()
    return out.astype("datetime64[ns]"), bad


def _float(v: str) -> float:
    try:
        return float(v)
    except ValueError:
        return np.nan


def coerce(raw: pd.Series, col: Column) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Convert raw values to the contract type; returns (values, missing, bad type)."""
    miss = _missing(raw)
    none = pd.Series(False, index=raw.index)
    if col.type in ("string", "category"):
        out = (
            raw.map(
                lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else _text(v)
            )
            .where(~miss, None)
            .astype(object)
        )
        if col.type == "category":
            out = out.map(lambda v: v.lower() if isinstance(v, str) else v)
        return out, miss, none
    if col.type in ("number", "integer"):
        if pd.api.types.is_bool_dtype(raw):
            num = pd.Series(np.nan, index=raw.index)
        else:
            cleaned = raw.where(~miss).map(
                lambda v: v.strip().replace(",", "") if isinstance(v, str) else v
            )
            num = pd.to_numeric(cleaned, errors="coerce")
            if num.dtype.kind == "f":
                # to_numeric reads some 16-17 digit decimals as a neighbouring float: read
                # the text it accepted again, exactly.
                text = cleaned.map(lambda v: isinstance(v, str)).astype(bool) & num.notna()
                num[text] = cleaned[text].map(_float)
        bad = ~miss & num.isna()
        if col.type == "integer":
            frac = ~num.isna() & (num % 1 != 0)
            bad = bad | frac
            num = num.where(~frac)
            return num.round().astype("Int64"), miss, bad
        return num.astype(float), miss, bad
    if col.type in ("date", "month"):
        out, bad = _dates(raw, miss, col.type == "month")
        return out, miss, bad
    if col.type == "boolean":

        def to_bool(v: object) -> object:
            if isinstance(v, bool | np.bool_):
                return bool(v)
            t = _text(v).lower()
            return True if t in TRUE else False if t in FALSE else None

        out = raw.where(~miss).map(lambda v: None if pd.isna(v) else to_bool(v))
        bad = ~miss & out.isna()
        return out.astype("boolean"), miss, bad
    raise ValueError(f"unknown type {col.type}")


TYPE_RULE = {
    "number": "must be a number",
    "integer": "must be a whole number",
    "date": "must be a date YYYY-MM-DD",
    "month": "must be a month YYYY-MM (or a date in that month)",
    "boolean": "must be true/false, yes/no, y/n or 1/0",
}


def _schema(spec: Table) -> Any:
    import pandera.pandas as pa  # imported here: slow to import, needed only to validate

    columns = {}
    for col in spec.columns:
        checks = []
        if col.min is not None:
            checks.append(pa.Check.gt(col.min) if col.min_exclusive else pa.Check.ge(col.min))
        if col.max is not None:
            checks.append(pa.Check.le(col.max))
        if col.categories:
            checks.append(pa.Check.isin(list(col.categories)))
        columns[col.name] = pa.Column(checks=checks, nullable=True, coerce=False)
    return pa.DataFrameSchema(columns, strict=False)


def _rule_words(col: Column, check: str) -> str:
    if check.startswith("isin"):
        return "must be one of " + ", ".join(col.categories)
    if check.startswith("greater_than_or_equal"):
        return f"must be >= {col.min:g}"
    if check.startswith("greater_than"):
        return f"must be > {col.min:g}"
    if check.startswith("less_than_or_equal"):
        return f"must be <= {col.max:g}"
    return check


class Collector:
    """Accumulates violations as (file, column, rule) -> count and first rows."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str, str, str], Violation] = {}

    def add(
        self,
        label: str,
        table: str,
        column: str,
        rule: str,
        rows: list[int] | np.ndarray,
        count: int | None = None,
    ) -> None:
        rows = [int(r) for r in rows]
        n = len(rows) if count is None else count
        if n == 0:
            return
        key = (label, table, column, rule)
        v = self.items.setdefault(key, Violation(label, column, rule, 0, [], table))
        v.count += n
        v.rows = sorted(set(v.rows) | set(rows))[:FIRST_ROWS]

    def extend(self, vs: list[Violation]) -> None:
        for v in vs:
            self.add(v.file, v.table, v.column, v.rule, v.rows, v.count)

    def list(self) -> list[Violation]:
        return list(self.items.values())


def check_chunk(
    frame: pd.DataFrame,
    spec: Table,
    rows: np.ndarray,
    label: str,
    out: Collector,
    today: pd.Timestamp,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Coerce one chunk (columns already renamed) and record its column-level violations.

    Returns the typed values and, per column, which cells could not be read as their type.
    """
    typed, unreadable = {}, {}
    for col in spec.columns:
        values, miss, bad = coerce(frame[col.name], col)
        typed[col.name] = values
        unreadable[col.name] = bad.to_numpy()
        if bad.any():
            out.add(label, spec.name, col.name, TYPE_RULE[col.type], rows[bad.to_numpy()])
        if col.required and miss.any():
            out.add(label, spec.name, col.name, "required (empty cell)", rows[miss.to_numpy()])
        if col.type in ("date", "month") and (spec.name, col.name) not in FUTURE_ALLOWED:
            future = (values > today).fillna(False).to_numpy()
            if future.any():
                out.add(label, spec.name, col.name, "must not be in the future", rows[future])
    df = pd.DataFrame(typed)
    from pandera.errors import SchemaErrors

    try:
        _schema(spec).validate(df, lazy=True)
    except SchemaErrors as exc:
        fc = exc.failure_cases
        fc = fc[fc["index"].notna()]
        for (column, check), grp in fc.groupby(["column", "check"], sort=False):
            idx = grp["index"].astype(int).to_numpy()
            out.add(label, spec.name, column, _rule_words(spec.column(column), check), rows[idx])
    for low, high in NOT_ABOVE.get(spec.name, []):
        over = (df[low] > df[high]).fillna(False).to_numpy()
        out.add(label, spec.name, low, f"must be <= {high}", rows[over])
    return df, pd.DataFrame(unreadable)


def check_table_rules(
    name: str,
    df: pd.DataFrame,
    rows: np.ndarray,
    label: str,
    site_ids: set[str] | None,
    out: Collector,
    unreadable: pd.DataFrame | None = None,
) -> None:
    """Rules across rows of one table, and its references to ``sites``. Cells that could not
    be read (``unreadable``) are already reported: rules comparing them are not applied."""
    if unreadable is None:
        unreadable = pd.DataFrame(False, index=df.index, columns=df.columns)
    known = ~unreadable
    spec = SPECS[name]
    for key in spec.unique:
        sub = df[list(key)]
        dup = (sub.duplicated(keep=False) & sub.notna().all(axis=1)).to_numpy()
        out.add(
            label,
            name,
            ", ".join(key),
            "must be unique" if len(key) == 1 else f"({', '.join(key)}) must be unique",
            rows[dup],
        )
    if site_ids is not None and "site_id" in spec.references:
        unknown = (df["site_id"].notna() & ~df["site_id"].isin(site_ids)).to_numpy()
        out.add(label, name, "site_id", "must exist in sites.site_id", rows[unknown])
    if name == "management":
        order = (df["effective_to"] < df["effective_from"]).fillna(False).to_numpy()
        out.add(label, name, "effective_to", "must be >= effective_from", rows[order])
        dated = (known["effective_from"] & known["effective_to"]).to_numpy()
        overlap = np.zeros(len(df), dtype=bool)
        overlap[dated] = management_overlaps(df[dated])
        out.add(
            label, name, "effective_from", "periods of one site must not overlap", rows[overlap]
        )
    if name == "clinicians":
        order = (df["exit_date"] < df["hire_date"]).fillna(False).to_numpy()
        out.add(label, name, "exit_date", "must be >= hire_date", rows[order])
        mismatch = (
            known["exit_date"] & (df["exit_date"].isna() != df["exit_reason"].isna())
        ).to_numpy()
        out.add(
            label, name, "exit_reason", "missing exactly when exit_date is missing", rows[mismatch]
        )


def management_overlaps(df: pd.DataFrame) -> np.ndarray:
    """Rows whose period overlaps another period of the same site."""
    flag = np.zeros(len(df), dtype=bool)
    d = df[["site_id", "effective_from", "effective_to"]].reset_index(drop=True)
    d = d[d["effective_from"].notna()]
    end = d["effective_to"].fillna(pd.Timestamp.max)
    for _, grp in (
        d.assign(end=end).sort_values(["site_id", "effective_from"]).groupby("site_id", sort=False)
    ):
        idx = grp.index.to_numpy()
        starts, ends = grp["effective_from"].to_numpy(), grp["end"].to_numpy()
        for i in range(1, len(grp)):
            running_end = ends[:i].max()
            if starts[i] <= running_end:
                flag[idx[i]] = True
                flag[idx[:i][ends[:i] >= starts[i]]] = True
    return flag


# -- the whole folder -----------------------------------------------------------------------
def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _to_arrow(df: pd.DataFrame) -> pa_arrow.Table:
    return pa_arrow.Table.from_pandas(df, preserve_index=False)


def _read_table(
    source: Source,
    spec: Table,
    mapping: dict[str, str],
    out: Collector,
    result: ValidationResult,
    today: pd.Timestamp,
    site_ids: set[str] | None,
    dest: Path,
    sql: bool = True,
) -> pd.DataFrame | None:
    """Read, coerce and check one table and write it typed to ``dest`` as Parquet. With
    ``sql``, a large table in CSV or Parquet is checked by DuckDB instead of pandas."""
    label = source.label
    problem = file_problem(source)
    if problem:
        out.extend([problem])
        return None
    try:
        names = header(source)
    except Exception as exc:
        out.add(label, spec.name, "", f"cannot be read: {exc}".splitlines()[0], [], 1)
        return None
    if not names:
        out.add(label, spec.name, "", "empty file (no header row)", [], 1)
        return None
    chosen, extra, problems = rename_columns(names, spec.name, mapping, label)
    if extra:
        result.extra_columns[label] = extra
    if problems:
        out.extend(problems)
        return None
    if sql and spec.name in LARGE_TABLES and source.kind in ("csv", "parquet"):
        return _read_large(source, spec, names, chosen, out, result, today, site_ids, dest)
    parts: list[pd.DataFrame] = []
    row_parts: list[np.ndarray] = []
    bad_parts: list[pd.DataFrame] = []
    offset = 0
    try:
        for raw in chunks(source, list(chosen)):
            raw = raw.rename(columns=chosen)[list(spec.column_names)].reset_index(drop=True)
            rows = np.arange(offset + 2, offset + 2 + len(raw))
            offset += len(raw)
            # Spreadsheets carry formatted but empty rows: skip them, keep row numbers.
            blank = raw.apply(_missing).all(axis=1).to_numpy()
            if blank.any():
                raw, rows = raw[~blank].reset_index(drop=True), rows[~blank]
            typed, bad = check_chunk(raw, spec, rows, label, out, today)
            parts.append(typed)
            bad_parts.append(bad)
            row_parts.append(rows)
    except (ReadError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        out.add(label, spec.name, "", f"cannot be read: {exc}".splitlines()[0], [], 1)
        return None
    df = pd.concat(parts, ignore_index=True)
    _record_input(result, source, len(df))
    if df.empty:
        out.add(label, spec.name, "", HEADER_ONLY, [], 1)
        return None
    unreadable = pd.concat(bad_parts, ignore_index=True)
    check_table_rules(spec.name, df, np.concatenate(row_parts), label, site_ids, out, unreadable)
    pq.write_table(_to_arrow(df), dest / f"{spec.name}.parquet")
    return df


def _record_input(result: ValidationResult, source: Source, rows: int) -> None:
    """What the manifest says about one input file."""
    result.inputs.append(
        {
            "table": source.table,
            "path": str(source.path.resolve()),
            "sheet": source.sheet,
            "sha256": sha256(source.path),
            "rows": rows,
        }
    )


def _read_large(
    source: Source,
    spec: Table,
    names: list[object],
    chosen: dict[object, str],
    out: Collector,
    result: ValidationResult,
    today: pd.Timestamp,
    site_ids: set[str] | None,
    dest: Path,
) -> pd.DataFrame | None:
    """A large CSV or Parquet table, checked and written by DuckDB."""
    from helpers.validate_large import check_large

    label = source.label
    try:
        rows, found = check_large(
            source.path, source.kind, spec, names, chosen, today, site_ids, dest, FIRST_ROWS
        )
    except duckdb.Error as exc:
        out.add(label, spec.name, "", f"cannot be read: {exc}".splitlines()[0], [], 1)
        return None
    for column, rule, first, count in found:
        out.add(label, spec.name, column, rule, first, count)
    _record_input(result, source, rows)
    if rows == 0:
        out.add(label, spec.name, "", HEADER_ONLY, [], 1)
        return None
    return pd.DataFrame()


def validate_folder(
    folder: Path | str,
    dest: Path | str | None = None,
    today: date | None = None,
    sql: bool = True,
) -> ValidationResult:
    """Check every table of ``folder``; with ``dest``, write the typed tables there as Parquet
    (only meaningful when the result is ok)."""
    folder = Path(folder)
    result = ValidationResult(folder)
    out = Collector()
    if not folder.is_dir():
        out.add(str(folder), "", "", "data folder not found", [], 1)
        result.errors = out.list()
        return result
    if dest is None:  # large tables are checked where they are written
        with tempfile.TemporaryDirectory() as tmp:
            return validate_folder(folder, tmp, today, sql)
    dest_path = Path(dest)
    dest_path.mkdir(parents=True, exist_ok=True)
    now = pd.Timestamp(today or date.today())
    sources, problems = find_sources(folder)
    out.extend(problems)
    mapping, problems = read_column_map(folder)
    out.extend(problems)
    for table in REQUIRED_TABLES:
        if table not in sources:
            out.add(
                f"{table}.csv",
                table,
                "",
                "required table missing (no sites.csv, "
                "sites.parquet, sites.xlsx or sheet in data.xlsx)".replace("sites", table),
                [],
                1,
            )
    site_ids: set[str] | None = None
    for table in (*REQUIRED_TABLES, *OPTIONAL_TABLES):
        if table not in sources:
            continue
        df = _read_table(
            sources[table],
            SPECS[table],
            mapping.get(table, {}),
            out,
            result,
            now,
            site_ids,
            dest_path,
            sql,
        )
        if df is not None:
            result.tables.append(table)
        if table == "sites":
            site_ids = set(df["site_id"].dropna()) if df is not None else None
    result.errors = out.list()
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m helpers.validate",
        description="Check a data folder against the data contract.",
    )
    ap.add_argument("data_dir")
    ap.add_argument("--html", default=None, help="also write a data-quality report here")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = validate_folder(args.data_dir, tmp)
        print(result.summary())
        if args.html:
            from helpers.quality import load_typed, report_html

            out = Path(args.html)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(report_html(result, load_typed(Path(tmp))), encoding="utf-8")
            print(f"Data-quality report: {out}")
    return 0 if result.ok else 2


if __name__ == "__main__":
    sys.exit(main())
