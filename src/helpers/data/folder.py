"""Checking a data folder: find its files, stage each table once, run the checks, keep
the typed rows.

``validate_folder(folder, dest)`` reads every table's file once (:func:`helpers.data.read.
stage`), writing its typed rows, with their row numbers and the flags of the checks, to
``dest/<table>.parquet`` (the store of :mod:`helpers.data.store`); then the checks of
:mod:`helpers.data.checks` (compiled SQL from :mod:`helpers.data.compiled`) read that file:
one aggregate query per table, and the first rows of each check some row breaks. Row numbers
are as the analyst sees them: header = row 1, blank rows and empty lines counted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from helpers.data.compiled import count_sql, first_rows_sql, sums_sql, typed_sql
from helpers.data.contract import FOLDER_RULES, OPTIONAL_TABLES, REQUIRED_TABLES, SPECS, Check
from helpers.data.engine import connect, lit
from helpers.data.read import (
    Source,
    empty_lines,
    file_problem,
    file_row,
    find_sources,
    header,
    is_parallel_csv_error,
    read_column_map,
    rename_columns,
    stage,
)
from helpers.data.result import Collector, ValidationResult
from helpers.data.sums import SUMS, arrange

if TYPE_CHECKING:
    from helpers.data.sources import WarehouseSource


def run_checks(
    con: Any, table: str, others: tuple[str, ...], today: dt.date
) -> tuple[int, list[tuple[Check, int, list[int]]]]:
    """Count the rows of ``typed_<table>`` and the rows breaking each check in one query;
    then find the first rows of each check some row breaks.

    Parameters
    ----------
    con
        The DuckDB connection holding ``typed_<table>`` (and ``typed_<other>``).
    table, others, today
        The table, the other tables read so far, and today.

    Returns
    -------
    rows : int
        Rows of the table.
    broken : list of (Check, count, first rows)

    Examples
    --------
    >>> # rows, broken = run_checks(con, "sites", (), dt.date.today())
    """
    listed = SPECS[table].checks_given(others)
    (got,) = con.execute(count_sql(table, others, today)).fetchall()
    broken = []
    for i, chk in enumerate(listed):
        n = int(got[1 + i] or 0)
        if n:
            sql = first_rows_sql(table, others, today, i)
            rows = [int(r) for (r,) in con.execute(sql).fetchall()]
            broken.append((chk, n, rows))
    return int(got[0]), broken


# -- the folder -----------------------------------------------------------------------------
def sha256(path: Path) -> str:
    """SHA-256 of a file, read in blocks.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    str
        64 hexadecimal digits.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x"; _ = p.write_bytes(b"")
    >>> sha256(p)[:12]
    'e3b0c44298fc'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class _Folder:
    """The state of one validation: the engine, what was found, what was read."""

    def __init__(self, folder: Path, dest: Path, work: Path, today: dt.date) -> None:
        self.result = ValidationResult(folder)
        self.out = Collector()
        self.dest = dest
        self.today = today
        self.con = connect(work)
        self.typed: list[str] = []  # tables read, in order (typed_<table> in self.con)
        self.backends: dict[str, Any] = {}  # resolved URL -> Ibis backend

    def problem(self, source: Source | WarehouseSource, rule: str) -> None:
        self.out.add(source.label, source.table, "", rule.splitlines()[0], [], 1)

    def close(self) -> None:
        self.con.close()
        for con in self.backends.values():
            if getattr(con, "name", "") == "pyspark":
                continue  # its disconnect stops the process's Spark session, which is shared
            try:
                con.disconnect()
            except Exception:  # a server that went away: nothing to close
                pass

    def table(self, source: Source, mapping: dict[str, str]) -> None:
        """Read, type, check and store one table."""
        spec = SPECS[source.table]
        found = file_problem(source)
        if found:
            self.out.extend([found])
            return
        try:
            names = header(source)
        except Exception as exc:
            self.problem(source, FOLDER_RULES["file.readable"](error=exc))
            return
        if not names:
            self.problem(source, "empty file (no header row)")
            return
        chosen, extra, problems = rename_columns(names, spec.name, mapping, source.label)
        if extra:
            self.result.extra_columns[source.label] = extra
        if problems:
            self.out.extend(problems)
            return
        store = self.dest / f"{spec.name}.parquet"
        if not self._typed(source, names, chosen, store):
            store.unlink(missing_ok=True)
            return
        rows, broken = run_checks(self.con, spec.name, tuple(self.typed), self.today)
        skipped = empty_lines(source.path) if source.kind == "csv" else []
        for chk, n, first in broken:
            first = [file_row(r, skipped) for r in first] if skipped else first
            self.out.add(source.label, spec.name, chk.column, chk.message, first, n)
        self.result.inputs.append(
            {
                "table": source.table,
                "path": str(source.path.resolve()),
                "sheet": source.sheet,
                "sha256": sha256(source.path),
                "rows": rows,
            }
        )
        if rows == 0:
            self.problem(source, FOLDER_RULES["file.header_only"]())
            store.unlink()
            return
        self.typed.append(spec.name)
        self.result.tables.append(spec.name)
        if spec.name in SUMS and not broken:
            got = self.con.sql(sums_sql(spec.name)).to_arrow_table()
            pq.write_table(arrange(spec.name, got), self.dest / f"{spec.name}.sums.parquet")

    def warehouse(self, source: WarehouseSource, mapping: dict[str, str]) -> None:
        """Check one table where it lives (:func:`helpers.data.warehouse.check_table`)."""
        from helpers.data.warehouse import check_table

        check_table(self, source, mapping)

    def _typed(
        self, source: Source, names: list[object], chosen: dict[str, str], store: Path
    ) -> bool:
        """Stage the source and write its typed rows to ``store`` (the one pass over the
        file); the checks then read them there as ``typed_<table>``."""
        spec = SPECS[source.table]
        raw_name = f"raw_{spec.name}"
        for parallel in (None, False):
            try:
                stage(self.con, source, names, chosen, raw_name, parallel)
                described = self.con.execute(f"DESCRIBE {raw_name}").fetchall()
                sql = typed_sql(spec.name, tuple((row[0], row[1]) for row in described))
                path = lit(str(store))
                # Row numbers of a CSV file are counted in the order it is read; elsewhere
                # they are read with the rows, which may then be written in any order (in
                # parallel): the store's readers put them back in order (``_r``).
                ordered = "true" if source.kind == "csv" else "false"
                self.con.execute(f"SET preserve_insertion_order = {ordered}").fetchall()
                self.con.execute(f"COPY ({sql}) TO {path} (FORMAT parquet)").fetchall()
                self.con.execute(
                    f"CREATE VIEW typed_{spec.name} AS FROM read_parquet({path})"
                ).fetchall()
                return True
            except Exception as exc:  # DuckDB, pyarrow and openpyxl fail in many ways
                if parallel is None and is_parallel_csv_error(exc):
                    continue
                self.problem(source, FOLDER_RULES["file.readable"](error=exc))
                return False
        return False


def validate_folder(
    folder: Path | str, dest: Path | str | None = None, today: dt.date | None = None
) -> ValidationResult:
    """Check every table of a data folder against the contract, in one pass per file.

    Parameters
    ----------
    folder
        The data folder.
    dest
        Where to write the typed tables as ``<table>.parquet`` (only meaningful when the
        result is ok); default: a temporary folder, removed afterwards.
    today
        Dates after this day are in the future (default: today).

    Returns
    -------
    ValidationResult
        Violations, extra columns, the input files read and the tables read.

    Examples
    --------
    >>> validate_folder("no/such/folder").summary().splitlines()[-1]
    '  file: data folder not found'
    """
    folder = Path(folder)
    result = ValidationResult(folder)
    if not folder.is_dir():
        out = Collector()
        out.add(str(folder), "", "", "data folder not found", [], 1)
        result.errors = out.list()
        return result
    if dest is None:
        with tempfile.TemporaryDirectory() as tmp:
            return validate_folder(folder, tmp, today)
    dest_path = Path(dest)
    dest_path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest_path, prefix=".work-") as work:
        state = _Folder(folder, dest_path, Path(work), today or dt.date.today())
        try:
            _check_folder(state)
        finally:
            state.close()
    state.result.errors = state.out.list()
    return state.result


def _check_folder(state: _Folder) -> None:
    from helpers.data.sources import read_sources

    folder, out = state.result.folder, state.out
    sources, problems = find_sources(folder)
    out.extend(problems)
    mapping, problems = read_column_map(folder)
    out.extend(problems)
    remote, problems = read_sources(folder)
    out.extend(problems)
    for table, src in remote.items():
        if table in sources:
            files = f"{sources[table].label}, {src.label}"
            rule = FOLDER_RULES["folder.one_file_per_table"](table=table, files=files)
            out.add(sources[table].label, table, "", rule, [], 2)
    for table in REQUIRED_TABLES:
        if table not in sources and table not in remote:
            rule = FOLDER_RULES["folder.required_table"](table=table)
            out.add(f"{table}.csv", table, "", rule, [], 1)
    for table in (*REQUIRED_TABLES, *OPTIONAL_TABLES):
        if table in remote and table not in sources:
            state.warehouse(remote[table], mapping.get(table, {}))
        elif table in sources:
            state.table(sources[table], mapping.get(table, {}))
