"""Find and read the tables of a data folder (CSV, Parquet, Excel) as the analyst wrote them.

Reading never raises on bad content: every problem becomes a :class:`Violation` that names
the file, the column, the rule and the rows (as the analyst sees them: header = row 1).
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import yaml

from helpers.contract import SPECS, TABLES

SUFFIXES = (".csv", ".parquet", ".xlsx")
WORKBOOK = "data.xlsx"
COLUMNS_FILE = "columns.yaml"
CHUNK_ROWS = 500_000


@dataclass
class Violation:
    file: str
    column: str
    rule: str
    count: int = 1
    rows: list[int] = field(default_factory=list)
    table: str = ""


@dataclass
class Source:
    """Where one table lives: a file, or a sheet of ``data.xlsx``."""

    table: str
    path: Path
    sheet: str | None = None

    @property
    def label(self) -> str:
        return f"{self.path.name} [sheet {self.sheet}]" if self.sheet else self.path.name

    @property
    def kind(self) -> str:
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
    """Locate each table's file; two files for one table or an unreadable workbook is a
    violation."""
    found: dict[str, list[Source]] = {}
    problems: list[Violation] = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() not in SUFFIXES:
            continue
        stem = _norm(path.stem)
        if path.name.lower() == WORKBOOK:
            if not zipfile.is_zipfile(path):
                problems.append(Violation(path.name, "", "not an Excel workbook (.xlsx)"))
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
            names = ", ".join(s.label for s in items)
            problems.append(
                Violation(
                    items[0].label,
                    "",
                    f"one file per table: {table} is in {names}",
                    count=len(items),
                    table=table,
                )
            )
        sources[table] = items[0]
    return sources, problems


def read_column_map(folder: Path) -> tuple[dict[str, dict[str, str]], list[Violation]]:
    """The optional ``columns.yaml``: per table, the organisation's column name -> ours."""
    path = folder / COLUMNS_FILE
    if not path.exists():
        return {}, []
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return {}, [Violation(COLUMNS_FILE, "", f"not valid YAML: {exc}".splitlines()[0])]
    if not isinstance(doc, dict):
        return {}, [Violation(COLUMNS_FILE, "", "must map table names to column mappings")]
    out: dict[str, dict[str, str]] = {}
    problems: list[Violation] = []
    for table, mapping in doc.items():
        t = _norm(table)
        if t not in SPECS:
            problems.append(Violation(COLUMNS_FILE, str(table), "unknown table"))
            continue
        if not isinstance(mapping, dict):
            problems.append(
                Violation(COLUMNS_FILE, str(table), "must be a mapping of column names")
            )
            continue
        out[t] = {}
        for theirs, ours in mapping.items():
            if _norm(ours) not in SPECS[t].column_names:
                problems.append(
                    Violation(
                        COLUMNS_FILE, f"{table}.{theirs}", f"maps to unknown column {ours!r} of {t}"
                    )
                )
                continue
            out[t][_norm(theirs)] = _norm(ours)
    return out, problems


def rename_columns(
    columns: list[object], table: str, mapping: dict[str, str], label: str
) -> tuple[dict[str, str], list[str], list[Violation]]:
    """Map the file's column names to contract names.

    Returns (file column -> contract column), the extra columns, and violations (duplicate
    names after mapping, missing required columns).
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
                how = (
                    "after mapping" if key in mapping or _norm(seen[target]) in mapping else "name"
                )
                problems.append(
                    Violation(
                        label,
                        target,
                        f"duplicate column {how}: {seen[target]!r} and {col!r}",
                        table=table,
                    )
                )
                continue
            seen[target] = str(col)
            chosen[str(col)] = target
        else:
            extra.append(str(col))
    missing = [c for c in spec.column_names if c not in seen]
    for c in missing:
        problems.append(Violation(label, c, "required column missing", table=table))
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


def empty_lines(path: Path) -> list[int]:
    """Row numbers (header = row 1) of the empty lines of a CSV file, which some readers skip
    but an analyst counts. Files without any are recognised from their bytes alone."""
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
    """The file's row number of ``row`` counted as if the rows ``skipped`` (ascending file row
    numbers) were not there."""
    for blank in skipped:
        if blank > row:
            break
        row += 1
    return row


def _not_utf8(path: Path, line: int) -> Violation:
    return Violation(path.name, "", "not UTF-8 text (save the file as UTF-8 CSV)", rows=[line])


def header(source: Source) -> list[object]:
    """The column names of a source, exactly as written (repeated names are kept, so that
    they can be reported rather than silently renamed)."""
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
    # pandas names an empty header cell "Unnamed: i"; use the same so the columns line up.
    return [f"Unnamed: {i}" if n is None else n for i, n in enumerate(names)]


class ReadError(Exception):
    """A file that cannot be read to the end (damaged, or not what its name says)."""


def chunks(source: Source, usecols: list[str], size: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Read a source in chunks of raw values (CSV as text; Parquet and Excel as stored).

    Any failure of the reader is a :class:`ReadError`: pyarrow, openpyxl and zipfile raise
    many kinds on damaged files.
    """
    try:
        yield from _chunks(source, usecols, size)
    except Exception as exc:
        raise ReadError(str(exc) or type(exc).__name__) from exc


def _chunks(source: Source, usecols: list[str], size: int) -> Iterator[pd.DataFrame]:
    if source.kind == "csv":
        yield from pd.read_csv(
            source.path,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
            usecols=usecols,
            chunksize=size,
            skip_blank_lines=False,  # an empty line is a row: keep the row numbers
        )
    elif source.kind == "parquet":
        pf = pq.ParquetFile(source.path)
        for batch in pf.iter_batches(batch_size=size, columns=usecols):
            yield batch.to_pandas()
    else:
        # Only an empty cell is missing: text such as "NA" or "None" is a value, as in CSV.
        yield pd.read_excel(
            source.path,
            sheet_name=source.sheet or 0,
            dtype=object,
            usecols=usecols,
            keep_default_na=False,
        )


def file_problem(source: Source) -> Violation | None:
    """File-level problems that stop a table from being read at all."""
    path = source.path
    if path.stat().st_size == 0:
        return Violation(source.label, "", "empty file", table=source.table)
    if source.kind == "csv":
        return _decode_check(path)
    if source.kind == "xlsx" and not zipfile.is_zipfile(path):
        return Violation(source.label, "", "not an Excel workbook (.xlsx)", table=source.table)
    if source.kind == "parquet":
        try:
            pq.ParquetFile(path)
        except Exception as exc:
            return Violation(source.label, "", f"not a Parquet file: {exc}", table=source.table)
    return None
