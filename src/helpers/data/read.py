"""Reading a data folder: find each table's file, read its header, and stage its rows.

Reading never raises on bad content: every problem becomes a :class:`Violation` naming the
file, the column and the rule. Staging puts a table's rows into the engine as they were
written, with ``_r``, the row number as the analyst sees it (header = row 1; blank rows and
empty lines counted): CSV files and Excel sheets as all-text columns, Parquet files with
their stored types. The checks (:mod:`helpers.data.checks`) then read each staged table once.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from helpers.data.contract import FOLDER_RULES, SPECS, TABLES
from helpers.data.engine import lit
from helpers.data.result import Violation

SUFFIXES = (".csv", ".parquet", ".xlsx")
WORKBOOK = "data.xlsx"
COLUMNS_FILE = "columns.yaml"
EXCEL_BATCH = 50_000  # rows of a sheet converted to text at a time
R = FOLDER_RULES


@dataclass
class Source:
    """Where one table lives: a file, or a sheet of ``data.xlsx``."""

    table: str
    path: Path
    sheet: str | None = None

    @property
    def label(self) -> str:
        """The name the analyst knows: ``sites.csv`` or ``data.xlsx [sheet sites]``."""
        return f"{self.path.name} [sheet {self.sheet}]" if self.sheet else self.path.name

    @property
    def kind(self) -> str:
        """``csv``, ``parquet`` or ``xlsx``."""
        return self.path.suffix.lower().lstrip(".")


def _norm(name: object) -> str:
    return str(name).strip().lower()


def _sheet_names(path: Path) -> list[str]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def find_sources(folder: Path) -> tuple[dict[str, Source], list[Violation]]:
    """Locate each table's file.

    Parameters
    ----------
    folder
        The data folder.

    Returns
    -------
    sources : dict
        Table name -> :class:`Source` (the first found when there are several).
    problems : list of Violation
        Two files for one table, or a ``data.xlsx`` that cannot be read.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "Sites.CSV").write_text("site_id\\n")
    >>> find_sources(d)[0]["sites"].label
    'Sites.CSV'
    """
    found: dict[str, list[Source]] = {}
    problems: list[Violation] = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() not in SUFFIXES:
            continue
        stem = _norm(path.stem)
        if path.name.lower() == WORKBOOK:
            if not zipfile.is_zipfile(path):
                problems.append(Violation(path.name, "", R["file.data_xlsx_workbook"]()))
                continue
            try:
                sheets = _sheet_names(path)
            except Exception as exc:  # openpyxl raises many kinds on damaged files
                problems.append(Violation(path.name, "", f"cannot be read as a workbook: {exc}"))
                continue
            for sheet in sheets:
                if _norm(sheet) in TABLES:
                    found.setdefault(_norm(sheet), []).append(Source(_norm(sheet), path, sheet))
        elif stem in TABLES:
            found.setdefault(stem, []).append(Source(stem, path))
    sources: dict[str, Source] = {}
    for table, items in found.items():
        if len(items) > 1:
            files = ", ".join(s.label for s in items)
            rule = R["folder.one_file_per_table"](table=table, files=files)
            problems.append(Violation(items[0].label, "", rule, count=len(items), table=table))
        sources[table] = items[0]
    return sources, problems


def read_yaml_mapping(
    path: Path, invalid: Callable[[Exception], str], not_mapping: str
) -> tuple[dict, list[Violation]]:
    """An optional YAML file of the data folder that must hold a mapping.

    Parameters
    ----------
    path
        The file (``columns.yaml``, ``sources.yaml``).
    invalid
        The rule broken by a file that is not YAML, given the parser's error (its first line
        is kept).
    not_mapping
        The rule broken by a file that holds something other than a mapping.

    Returns
    -------
    doc : dict
        The mapping (empty when the file is absent or broken).
    problems : list of Violation
        At most one.

    Examples
    --------
    >>> read_yaml_mapping(Path("no/such.yaml"), str, "must be a mapping")
    ({}, [])
    """
    if not path.exists():
        return {}, []
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return {}, [Violation(path.name, "", invalid(exc).splitlines()[0])]
    if not isinstance(doc, dict):
        return {}, [Violation(path.name, "", not_mapping)]
    return doc, []


def read_column_map(folder: Path) -> tuple[dict[str, dict[str, str]], list[Violation]]:
    """The optional ``columns.yaml``: per table, the organization's column name -> ours.

    Parameters
    ----------
    folder
        The data folder.

    Returns
    -------
    mapping : dict
        Table -> {their name (trimmed, lower case) -> contract column}.
    problems : list of Violation
        Invalid YAML, unknown tables or columns.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "columns.yaml").write_text("clinicians:\\n  Employee ID: clinician_id\\n")
    >>> read_column_map(d)
    ({'clinicians': {'employee id': 'clinician_id'}}, [])
    """
    doc, problems = read_yaml_mapping(
        folder / COLUMNS_FILE,
        lambda exc: R["columns_yaml.valid_yaml"](error=exc),
        R["columns_yaml.mapping_of_tables"](),
    )
    if problems:
        return {}, problems
    out: dict[str, dict[str, str]] = {}
    problems: list[Violation] = []
    for table, mapping in doc.items():
        t = _norm(table)
        if t not in SPECS:
            problems.append(Violation(COLUMNS_FILE, str(table), R["columns_yaml.known_table"]()))
            continue
        if not isinstance(mapping, dict):
            problems.append(
                Violation(COLUMNS_FILE, str(table), "must be a mapping of column names")
            )
            continue
        out[t] = {}
        for theirs, ours in mapping.items():
            if _norm(ours) not in SPECS[t].column_names:
                rule = R["columns_yaml.known_column"](column=ours, table=t)
                problems.append(Violation(COLUMNS_FILE, f"{table}.{theirs}", rule))
                continue
            out[t][_norm(theirs)] = _norm(ours)
    return out, problems


def rename_columns(
    columns: list[object], table: str, mapping: dict[str, str], label: str
) -> tuple[dict[str, str], list[str], list[Violation]]:
    """Map the file's column names to contract names.

    Parameters
    ----------
    columns
        The header as written.
    table, mapping, label
        The table, its ``columns.yaml`` mapping and the file's label.

    Returns
    -------
    chosen : dict
        File column -> contract column.
    extra : list of str
        Columns the contract does not know (ignored).
    problems : list of Violation
        Duplicate names (after mapping) and missing columns.

    Examples
    --------
    >>> rename_columns([" Site_ID", "region"], "sites", {}, "sites.csv")[0]
    {' Site_ID': 'site_id', 'region': 'region'}
    """
    spec = SPECS[table]
    chosen: dict[str, str] = {}
    extra: list[str] = []
    seen: dict[str, str] = {}
    problems: list[Violation] = []
    for col in columns:
        key = _norm(col)
        target = mapping.get(key, key)
        if target in spec.column_names:
            if target in seen:
                mapped = key in mapping or _norm(seen[target]) in mapping
                rule = R[
                    "header.no_duplicate_after_mapping" if mapped else "header.no_duplicate_names"
                ](first=seen[target], second=col)
                problems.append(Violation(label, target, rule, table=table))
                continue
            seen[target] = str(col)
            chosen[str(col)] = target
        else:
            extra.append(str(col))
    for c in spec.column_names:
        if c not in seen:
            problems.append(Violation(label, c, R["header.required_column"](), table=table))
    return chosen, extra, problems


def _decode_check(path: Path) -> Violation | None:
    """A CSV must be UTF-8: report the first line that is not (read in blocks: files may be
    gigabytes)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lineno = 1
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                at = max(exc.start - pending, 0)
                return _not_utf8(path, lineno + block[:at].count(b"\n"))
            lineno += block.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return _not_utf8(path, lineno)
    return None


def _not_utf8(path: Path, line: int) -> Violation:
    return Violation(path.name, "", R["file.csv_utf8"](), rows=[line])


def empty_lines(path: Path) -> list[int]:
    """Row numbers (header = row 1) of the empty lines of a CSV file, which DuckDB's reader
    skips but an analyst counts. Files without any are recognized from their bytes alone.

    Parameters
    ----------
    path
        A UTF-8 CSV file.

    Returns
    -------
    list of int
        Ascending; a line break inside a quoted cell is not an empty line.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "t.csv"; _ = p.write_text("a\\n1\\n\\n2\\n")
    >>> empty_lines(p)
    [3]
    """
    tail = b""
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            joined = tail + block
            if b"\n\n" in joined or b"\n\r\n" in joined:
                break
            tail = block[-2:]
        else:
            return []
    # A line break inside a quoted cell is not a new row: let the csv module decide.
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [i for i, row in enumerate(csv.reader(fh), start=1) if not row]


def file_row(row: int, skipped: list[int]) -> int:
    """The file's row number of a row counted without some rows.

    Parameters
    ----------
    row
        A row number counted as if the rows ``skipped`` were not there.
    skipped
        Ascending row numbers of the file (empty lines).

    Returns
    -------
    int
        The row number in the file.

    Examples
    --------
    >>> [file_row(r, [3, 5]) for r in range(1, 6)]
    [1, 2, 4, 6, 7]
    """
    for blank in skipped:
        if blank > row:
            break
        row += 1
    return row


def header(source: Source) -> list[object]:
    """The column names of a source, exactly as written (repeated names are kept, so that
    they can be reported rather than silently renamed).

    Parameters
    ----------
    source
        A CSV, Parquet or Excel source.

    Returns
    -------
    list
        The names; empty when the file has no header. An empty name in a sheet's header is
        ``Unnamed: i``.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "sites.csv"; _ = p.write_text("site_id,Region\\n")
    >>> header(Source("sites", p))
    ['site_id', 'Region']
    """
    if source.kind == "csv":
        with open(source.path, encoding="utf-8-sig", newline="") as fh:
            first = next(csv.reader(fh), [])
        return [] if not any(c.strip() for c in first) else list(first)
    if source.kind == "parquet":
        return list(pq.ParquetFile(source.path).schema_arrow.names)
    from openpyxl import load_workbook

    book = load_workbook(source.path, read_only=True, data_only=True)
    try:
        sheet = book[source.sheet] if source.sheet else book.worksheets[0]
        row = next(sheet.iter_rows(max_row=1, values_only=True), ())
    finally:
        book.close()
    names = list(row)
    while names and (names[-1] is None or str(names[-1]).strip() == ""):
        names.pop()
    return [f"Unnamed: {i}" if n is None else n for i, n in enumerate(names)]


def file_problem(source: Source) -> Violation | None:
    """File-level problems that stop a table from being read at all.

    Parameters
    ----------
    source
        The table's source.

    Returns
    -------
    Violation or None
        An empty file, a CSV that is not UTF-8, a workbook or Parquet file that is not one;
        None when the file can be opened.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "sites.csv"; _ = p.write_bytes(b"")
    >>> file_problem(Source("sites", p)).rule
    'empty file'
    """
    path = source.path
    if path.stat().st_size == 0:
        return Violation(source.label, "", R["file.empty"](), table=source.table)
    if source.kind == "csv":
        return _decode_check(path)
    if source.kind == "xlsx" and not zipfile.is_zipfile(path):
        return Violation(source.label, "", R["file.xlsx_workbook"](), table=source.table)
    if source.kind == "parquet":
        try:
            pq.ParquetFile(path)
        except Exception as exc:
            rule = R["file.parquet_readable"](error=exc)
            return Violation(source.label, "", rule, table=source.table)
    return None


# -- staging ------------------------------------------------------------------------------
def cell_text(v: Any) -> str | None:
    """A spreadsheet cell as text, for staging a sheet as all-text columns.

    Parameters
    ----------
    v
        A cell's value as openpyxl reads it.

    Returns
    -------
    str or None
        A whole number without ``.0``, other numbers exactly (``repr``), a date as
        ``YYYY-MM-DD`` (a date and time with its time), ``None`` for an empty cell.

    Examples
    --------
    >>> [cell_text(v) for v in (3.0, 0.1, True, dt.datetime(2020, 1, 2), None)]
    ['3', '0.1', 'True', '2020-01-02 00:00:00', None]
    """
    if v is None:
        return None
    if isinstance(v, float):
        if math.isfinite(v) and v.is_integer():
            return str(int(v))
        return repr(v)
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    return str(v)


def _excel_batches(source: Source, positions: list[int]) -> Any:
    """Record batches of a sheet as text: ``_r`` and one column per position."""
    from openpyxl import load_workbook

    book = load_workbook(source.path, read_only=True, data_only=True)
    try:
        sheet = book[source.sheet] if source.sheet else book.worksheets[0]
        rows: list[int] = []
        cols: list[list[str | None]] = [[] for _ in positions]

        def batch() -> pa.RecordBatch:
            arrays = [pa.array(rows, pa.int64())] + [pa.array(c, pa.string()) for c in cols]
            names = ["_r"] + [f"c{i}" for i in range(len(positions))]
            return pa.RecordBatch.from_arrays(arrays, names=names)

        for n, row in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2):
            rows.append(n)
            for col, i in zip(cols, positions, strict=True):
                col.append(cell_text(row[i]) if i < len(row) else None)
            if len(rows) >= EXCEL_BATCH:
                yield batch()
                rows, cols = [], [[] for _ in positions]
        yield batch()
    finally:
        book.close()


def _quote(name: object) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def stage(
    con: Any,
    source: Source,
    names: list[object],
    chosen: dict[str, str],
    view: str,
    parallel: bool | None = None,
) -> None:
    """Make ``view`` in the DuckDB connection ``con``: the source's rows as written, with
    ``_r`` (row as the analyst sees it, before empty lines of a CSV are counted: see
    :func:`empty_lines`) and one column per contract column, named after it.

    CSV files and Excel sheets are staged as text; Parquet keeps its stored types. Nothing
    is read until the view is queried (except an Excel sheet, which is converted to text).

    Parameters
    ----------
    con
        A ``duckdb.DuckDBPyConnection``.
    source, names, chosen
        The table's source, its header as written, and file column -> contract column.
    view
        The name of the view to create.
    parallel
        Whether DuckDB may read a CSV file with several threads (default: yes; it cannot
        when a quoted cell holds a line break: see :func:`is_parallel_csv_error`). Read by
        one thread, DuckDB drops a last row whose quote is never closed: the file is then
        first read through by Python's strict CSV reader.

    Returns
    -------
    None
        The view is created in ``con``.

    Examples
    --------
    >>> # stage(con, source, header(source), chosen, "raw_sites"); con.sql("FROM raw_sites")
    """
    position = {target: names.index(orig) for orig, target in chosen.items()}
    spec = SPECS[source.table]
    order = [position[c] for c in spec.column_names]
    cols = ", ".join(f"c{i} AS {c}" for i, c in zip(order, spec.column_names, strict=True))
    path = lit(str(source.path))
    if source.kind == "csv":
        if not parallel:
            _strict_csv(source.path)
        types = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(names)))
        if parallel is None:
            parallel = True
        src = (
            f"read_csv({path}, header = true, auto_detect = false, delim = ',', quote = '\"', "
            f"escape = '\"', null_padding = true, parallel = {str(parallel).lower()}, "
            f"columns = {{{types}}})"
        )
        sql = f"SELECT row_number() OVER () + 1 AS _r, {cols} FROM {src}"
    elif source.kind == "parquet":
        picked = ", ".join(
            f"{_quote(names[i])} AS {c}" for i, c in zip(order, spec.column_names, strict=True)
        )
        src = f"read_parquet({path}, file_row_number = true)"
        sql = f"SELECT file_row_number + 2 AS _r, {picked} FROM {src}"
    else:
        reader = pa.RecordBatchReader.from_batches(
            pa.schema([("_r", pa.int64())] + [(f"c{i}", pa.string()) for i in range(len(order))]),
            _excel_batches(source, order),
        )
        con.register(f"{view}_arrow", reader)
        try:
            con.execute(f"CREATE OR REPLACE TABLE {view}_xl AS FROM {view}_arrow").fetchall()
        finally:
            con.unregister(f"{view}_arrow")
        cols = ", ".join(f"c{k} AS {c}" for k, c in enumerate(spec.column_names))
        sql = f"SELECT _r, {cols} FROM {view}_xl"
    con.execute(f"CREATE OR REPLACE VIEW {view} AS {sql}").fetchall()


def _strict_csv(path: Path) -> None:
    """Read a CSV file through with Python's strict reader: raises :class:`csv.Error` where
    a quoted cell is never closed."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for _ in csv.reader(fh, strict=True):
            pass


def is_parallel_csv_error(exc: Exception) -> bool:
    """Whether DuckDB refused to read a CSV file in parallel (quoted line breaks).

    Parameters
    ----------
    exc
        What staging raised.

    Returns
    -------
    bool
        True when the file should be read again by one thread.

    Examples
    --------
    >>> is_parallel_csv_error(ValueError("no"))
    False
    """
    return "parallel" in str(exc) and "quoted new lines" in str(exc)
