"""Checking a data folder: every check of the contract as an Ibis expression, one engine.

For each table, :func:`typed` turns the staged cells (:func:`helpers.data.read.stage`) into
values of the contract's types, with a flag per cell that is empty where it must not be or
cannot be read as its type. That is the only pass over the file: the typed rows are kept in
the engine, and every check (:func:`conditions`, generated from
:meth:`helpers.data.contract.Table.checks`) is a boolean expression over them, counted in one
aggregate query. Only for checks that some row breaks are the first rows looked up.

``validate_folder(folder, dest)`` checks a whole folder and writes each readable table, typed,
to ``dest/<table>.parquet`` (the store of :mod:`helpers.data.store`).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import tempfile
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dtypes
import ibis.expr.types as ir

from helpers.data.contract import (
    FALSE,
    FOLDER_RULES,
    OPTIONAL_TABLES,
    REQUIRED_TABLES,
    SPECS,
    TRUE,
    BothOrNeither,
    Check,
    Column,
    InOtherTable,
    NoOverlap,
    NotAbove,
    NotBelow,
    Table,
    UniqueKey,
)
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
from helpers.data.result import FIRST_ROWS, Collector, ValidationResult

# What Python's str.strip() removes: a cell is read as the analyst sees it.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_WS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE) + "]"
STRIP = f"^{_WS}+|{_WS}+$"
WIDE_SPACE = tuple(ord(c) for c in WHITESPACE if ord(c) > 32)  # the others are <= 32
NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T]00:00(?::00(?:\.0+)?)?)?$"
MONTH = r"^[0-9]{4}-[0-9]{2}$"
# Days a pandas timestamp can hold: the notebooks read dates as datetime64[ns].
FIRST_DAY, LAST_DAY = dt.date(1677, 9, 22), dt.date(2262, 4, 11)
OPEN_END = dt.date(9999, 12, 31)
BIG = 2.0**63  # integers beyond this are not whole numbers of the store


# -- one cell: its value, whether it is missing, whether it cannot be read ------------------
def text(x: ir.Value) -> ir.StringValue:
    """The cell as trimmed text, NULL when empty; a whole float prints without ``.0``.

    Parameters
    ----------
    x
        A staged cell of any type.

    Returns
    -------
    ibis.expr.types.StringValue
        Trimmed as Python's ``str.strip()`` trims (every Unicode white space).

    Examples
    --------
    >>> import ibis
    >>> ibis.duckdb.connect().execute(text(ibis.literal("\\u3000 a ")))
    'a'
    """
    t = x.type()
    if t.is_string():
        # An empty cell starts with "no character" (code 0): it is cleaned too.
        return ibis.ifelse(_space_at_an_end(x), x.re_replace(STRIP, "").nullif(""), x)
    if t.is_floating():
        whole = (x == x.floor()) & (x.abs() < 1e38)
        return ibis.cases(
            (x.isnull() | x.isnan(), ibis.null(dtypes.string)),
            (whole, x.cast(dtypes.Decimal(38, 0)).cast(dtypes.string)),
            else_=x.cast(dtypes.string),
        )
    if t.is_boolean():
        return ibis.cases(
            (x.isnull(), ibis.null(dtypes.string)), (x, ibis.literal("True")), else_="False"
        )
    return x.cast(dtypes.string)


def _space_at_an_end(x: ir.StringValue) -> ir.BooleanValue:
    """Whether text starts or ends with white space (or is empty): a test of the first and
    last character's code, cheaper than a regular expression on every cell."""
    first, last = x.ascii_str(), x.right(1).ascii_str()
    return (first <= 32) | (last <= 32) | first.isin(WIDE_SPACE) | last.isin(WIDE_SPACE)


def _maybe_empty(x: ir.Value) -> ir.BooleanValue:
    """False for a cell that is certainly not empty (cheap: the code of its first
    character); see :func:`clean` for the exact test."""
    t = x.type()
    if t.is_string():
        first = x.ascii_str()
        return x.isnull() | (first <= 32) | first.isin(WIDE_SPACE)
    if t.is_floating():
        return x.isnull() | x.isnan()
    return x.isnull()


def clean(x: ir.Value) -> ir.Value:
    """A staged cell ready to be read.

    Parameters
    ----------
    x
        A staged cell (text for CSV and Excel, any stored type for Parquet).

    Returns
    -------
    ibis.expr.types.Value
        Text trimmed and NULL when empty, NaN as NULL; other stored types as they are.

    Examples
    --------
    >>> import ibis
    >>> ibis.duckdb.connect().execute(clean(ibis.literal(" \t")).isnull())
    True
    """
    t = x.type()
    if t.is_string():
        return text(x)
    if t.is_floating():
        return ibis.ifelse(x.isnan(), ibis.null(t), x)
    return x


def parse(col: Column, x: ir.Value) -> ir.Value:
    """The first reading of a clean cell (:func:`clean`) as the column's type.

    Parameters
    ----------
    col
        The contract's column.
    x
        A clean cell.

    Returns
    -------
    ibis.expr.types.Value
        Text that looks like a number (``1,200``, ``.5``, ``1e3``), a date (``YYYY-MM-DD``,
        with a midnight time or not), a month (``YYYY-MM``) or a boolean word, cast; stored
        numbers, dates and booleans as they are; NULL when the cell holds nothing of the
        type. :func:`finish` then checks the result.

    Examples
    --------
    >>> import ibis
    >>> from helpers.data.contract import SPECS
    >>> month = SPECS["access"].column("month")
    >>> str(ibis.duckdb.connect().execute(parse(month, ibis.literal("2024-05"))))[:10]
    '2024-05-01'
    """
    t = x.type()
    s = x if t.is_string() else text(x)
    if col.type == "string":
        return s
    if col.type == "category":
        return s.lower()
    if col.type in ("number", "integer"):
        if t.is_numeric():
            return x
        if t.is_boolean() or t.is_temporal():
            return ibis.null(dtypes.float64)
        s = s.replace(",", "")  # thousands separators
        return ibis.ifelse(s.re_search(NUMBER), s.try_cast("float64"), ibis.null(dtypes.float64))
    if col.is_date:
        if t.is_date():
            return x
        if t.is_timestamp():
            return x.date()
        day = ibis.ifelse(s.re_search(DATE), s.substr(0, 10).try_cast("date"), ibis.null("date"))
        if col.type == "month":
            first = ibis.ifelse(s.re_search(MONTH), (s + "-01").try_cast("date"), ibis.null("date"))
            day = day.fill_null(first)
        return day
    if col.type == "boolean":
        if t.is_boolean():
            return x
        word = s.lower()
        return ibis.cases(
            (word.isin(TRUE), ibis.literal(True)),
            (word.isin(FALSE), ibis.literal(False)),
            else_=ibis.null(dtypes.boolean),
        )
    raise ValueError(f"unknown type {col.type}")


def finish(col: Column, x: ir.Value) -> ir.Value:
    """The typed value from :func:`parse`.

    Parameters
    ----------
    col
        The contract's column.
    x
        What :func:`parse` read.

    Returns
    -------
    ibis.expr.types.Value
        A finite number, a whole number that fits in 64 bits, a day a pandas timestamp can
        hold (dates and months as timestamps; months on their first day); NULL otherwise.

    Examples
    --------
    >>> import ibis
    >>> from helpers.data.contract import SPECS
    >>> visits = SPECS["access"].column("visits")
    >>> ibis.duckdb.connect().execute(finish(visits, ibis.literal(2.5)).isnull())
    True
    """
    t = x.type()
    if col.type == "number":
        if t.is_floating():
            return ibis.ifelse(x.isnan() | x.isinf(), ibis.null(dtypes.float64), x)
        return x.cast("float64")
    if col.type == "integer":
        if t.is_integer():
            return x.cast("int64")
        whole = ~x.isnan() & (x == x.floor()) & (x.abs() < BIG)
        return ibis.ifelse(whole, x.cast("int64"), ibis.null(dtypes.int64))
    if col.is_date:
        inside = (x >= ibis.date(FIRST_DAY)) & (x <= ibis.date(LAST_DAY))
        day = x.truncate("M") if col.type == "month" else x
        return ibis.ifelse(inside, day.cast("timestamp"), ibis.null(dtypes.timestamp))
    return x


def value(col: Column, x: ir.Value) -> ir.Value:
    """A staged cell read as the column's type.

    Parameters
    ----------
    col
        The contract's column.
    x
        A staged cell.

    Returns
    -------
    ibis.expr.types.Value
        string, int64, float64, timestamp (dates and months) or boolean; NULL when the cell
        is empty or cannot be read.

    Examples
    --------
    >>> import ibis
    >>> from helpers.data.contract import SPECS
    >>> v = value(SPECS["access"].column("visits"), ibis.literal("1,200"))
    >>> ibis.duckdb.connect().execute(v)
    1200
    """
    return finish(col, parse(col, clean(x)))


def typed(spec: Table, raw: ir.Table) -> ir.Table:
    """The staged rows of a table as typed values, with ``_r`` and flags: ``_bad_<column>``
    (not empty, but cannot be read as its type) and ``_miss_<column>`` (required but empty).
    Rows with every cell empty (a spreadsheet's formatted but empty rows) are left out; row
    numbers stay.

    Each step is a projection of the one before, so that each cell is cleaned, parsed and
    checked once: :func:`clean`, :func:`parse`, :func:`finish`, then the flags.

    Parameters
    ----------
    spec
        The table's contract.
    raw
        The staged rows: ``_r`` and one column per contract column.

    Returns
    -------
    ibis.expr.types.Table
        The columns of :func:`typed_schema`.

    Examples
    --------
    >>> import ibis
    >>> from helpers.data.contract import SPECS
    >>> raw = ibis.memtable({"_r": [2, 3], "site_id": ["S1", " "], "site_name": [None, None],
    ...     "region": [None, None], "setting": ["x", None], "population_served": ["5", ""]})
    >>> ibis.duckdb.connect().execute(typed(SPECS["sites"], raw))["_r"].tolist()
    [2]
    """
    names = spec.column_names
    maybe, empty = _maybe_empty(raw[names[0]]), clean(raw[names[0]]).isnull()
    for c in names[1:]:
        maybe, empty = maybe & _maybe_empty(raw[c]), empty & clean(raw[c]).isnull()
    # A cheap test first: cleaning every cell twice (filter and values) costs.
    kept = raw.filter(~maybe | ~empty)
    cleaned = kept.select("_r", **{c: clean(kept[c]) for c in names})
    parsed = cleaned.select(
        "_r",
        **{c.name: parse(c, cleaned[c.name]) for c in spec.columns},
        **{f"_m_{c}": cleaned[c].isnull() for c in names},
    )
    done = parsed.select(
        "_r",
        *(f"_m_{c}" for c in names),
        **{c.name: finish(c, parsed[c.name]) for c in spec.columns},
    )
    flags: dict[str, ir.Value] = {}
    for col in spec.columns:
        if col.type not in ("string", "category"):
            flags[f"_bad_{col.name}"] = ~done[f"_m_{col.name}"] & done[col.name].isnull()
        if col.required:
            flags[f"_miss_{col.name}"] = done[f"_m_{col.name}"]
    return done.select("_r", *names, **flags)


# -- rules: one boolean expression per check ----------------------------------------------
def _known(t: ir.Table, column: str) -> ir.BooleanValue:
    """The cell could be read (it may be empty)."""
    flag = f"_bad_{column}"
    return ~t[flag] if flag in t.columns else ibis.literal(True)


def _unique(t: ir.Table, rule: UniqueKey) -> ir.BooleanValue:
    """Rows whose key another row shares. Keys are first compared by a 64-bit hash (cheap
    to group even for tens of millions of rows); only rows whose hash repeats are compared
    by their values."""
    key = list(rule.columns)
    filled = t
    for k in key:
        filled = filled.filter(filled[k].notnull())
    h = filled[key[0]].hash()
    for k in key[1:]:
        h = h ^ filled[k].hash()
    hashed = filled.select("_r", *key, _h=h)
    repeated_hash = hashed.group_by("_h").aggregate(_n=ibis._.count()).filter(ibis._._n > 1)
    candidates = hashed.filter(hashed["_h"].isin(repeated_hash["_h"]))
    repeated = candidates.group_by(key).aggregate(_n=ibis._.count()).filter(ibis._._n > 1)
    rows = candidates.join(repeated, key).select("_r")
    return t["_r"].isin(rows["_r"])


def _overlap(t: ir.Table, rule: NoOverlap) -> ir.BooleanValue:
    dated = t.filter(_known(t, rule.start) & _known(t, rule.end) & t[rule.start].notnull()).select(
        "_r", g=rule.group, start=rule.start, end=rule.end
    )
    a, b = dated, dated.view()
    end = b["end"].fill_null(ibis.timestamp(OPEN_END.isoformat()))
    pairs = a.join(
        b,
        [a.g == b.g, a["_r"] != b["_r"], b.start <= a.start, a.start <= end],
    ).select(ra=a["_r"], rb=b["_r"])
    rows = pairs.select(_r=pairs.ra).union(pairs.select(_r=pairs.rb))
    return t["_r"].isin(rows["_r"])


def conditions(
    spec: Table, t: ir.Table, others: dict[str, ir.Table], today: dt.date
) -> list[tuple[Check, ir.BooleanValue]]:
    """Every check of the table as a condition a row breaks (true) or keeps.

    Parameters
    ----------
    spec
        The table's contract.
    t
        Its typed rows (:func:`typed`).
    others
        Typed rows of the other tables read so far; a reference to a table that could not
        be read is not checked.
    today
        Dates after this day are in the future.

    Returns
    -------
    list of (Check, BooleanValue)
        The check and its condition over ``t``.

    Examples
    --------
    >>> import datetime as dt, ibis
    >>> t = ibis.table(typed_schema(SPECS["sites"]), name="typed_sites")
    >>> [c.rule for c, _ in conditions(SPECS["sites"], t, {}, dt.date(2025, 1, 1))][:2]
    ['sites.site_id.non_empty', 'sites.setting.non_empty']
    """
    out = []
    for chk in spec.checks():
        rule = chk.rule_object
        c = chk.column
        if chk.kind == "type":
            cond = t[f"_bad_{c}"]
        elif chk.kind == "required":
            cond = t[f"_miss_{c}"]
        elif chk.kind == "category":
            cond = t[c].notnull() & ~t[c].isin(spec.column(c).categories)
        elif chk.kind == "min":
            col = spec.column(c)
            cond = t[c] <= col.min if col.min_exclusive else t[c] < col.min
        elif chk.kind == "max":
            cond = t[c] > spec.column(c).max
        elif chk.kind == "not_future":
            cond = t[c] > ibis.timestamp(today.isoformat())
        elif isinstance(rule, UniqueKey):
            cond = _unique(t, rule)
        elif isinstance(rule, InOtherTable):
            if rule.table not in others:
                continue
            other = others[rule.table]
            known = other.filter(other[rule.other].notnull())[rule.other]
            cond = t[rule.field].notnull() & ~t[rule.field].isin(known)
        elif isinstance(rule, NotAbove):
            cond = t[rule.field] > t[rule.bound]
        elif isinstance(rule, NotBelow):
            cond = t[rule.field] < t[rule.bound]
        elif isinstance(rule, BothOrNeither):
            cond = _known(t, rule.other) & (t[rule.field].isnull() != t[rule.other].isnull())
        elif isinstance(rule, NoOverlap):
            cond = _overlap(t, rule)
        else:
            raise ValueError(f"no condition for {chk.rule}")
        out.append((chk, cond))
    return out


def typed_schema(spec: Table) -> dict[str, str]:
    """The columns of :func:`typed` for a table.

    Parameters
    ----------
    spec
        The table's contract.

    Returns
    -------
    dict
        Column -> Ibis type: ``_r``, the contract's columns, then the flags.

    Examples
    --------
    >>> list(typed_schema(SPECS["sites"]))[-2:]
    ['_miss_setting', '_bad_population_served']
    """
    kinds = {
        "string": "string",
        "category": "string",
        "integer": "int64",
        "number": "float64",
        "date": "timestamp",
        "month": "timestamp",
        "boolean": "boolean",
    }
    out = {"_r": "int64", **{c.name: kinds[c.type] for c in spec.columns}}
    for col in spec.columns:
        if col.type not in ("string", "category"):
            out[f"_bad_{col.name}"] = "boolean"
        if col.required:
            out[f"_miss_{col.name}"] = "boolean"
    return out


def _sql(expr: ir.Expr) -> str:
    return ibis.to_sql(expr, dialect="duckdb")


@functools.lru_cache(maxsize=256)
def typed_sql(table: str, raw: tuple[tuple[str, str], ...]) -> str:
    """SQL of :func:`typed`, compiled once per process and kind of file.

    Parameters
    ----------
    table
        The table.
    raw
        The staged view ``raw_<table>``'s columns: (name, DuckDB type).

    Returns
    -------
    str
        A SELECT statement.

    Examples
    --------
    >>> raw = (("_r", "BIGINT"),) + tuple((c, "VARCHAR") for c in SPECS["sites"].column_names)
    >>> typed_sql("sites", raw).startswith("SELECT")
    True
    """
    from ibis.backends.sql.datatypes import DuckDBType

    schema = {name: DuckDBType.from_string(kind) for name, kind in raw}
    return _sql(typed(SPECS[table], ibis.table(schema, name=f"raw_{table}")))


def _unbound(table: str) -> ir.Table:
    return ibis.table(typed_schema(SPECS[table]), name=f"typed_{table}")


@functools.lru_cache(maxsize=256)
def checks_sql(
    table: str, others: tuple[str, ...], today: dt.date
) -> tuple[str, tuple[tuple[Check, str], ...]]:
    """SQL of the checks of ``typed_<table>``, compiled once per process.

    Parameters
    ----------
    table
        The table.
    others
        The other tables read so far (references to a table not read are not checked).
    today
        Dates after this day are in the future.

    Returns
    -------
    count : str
        One aggregate query: rows, then the rows breaking each check.
    firsts : tuple of (Check, str)
        Per check, the query of its first rows.

    Examples
    --------
    >>> count, firsts = checks_sql("sites", (), dt.date(2025, 1, 1))
    >>> firsts[0][0].message
    'required (empty cell)'
    """
    t = _unbound(table)
    conds = conditions(SPECS[table], t, {o: _unbound(o) for o in others}, today)
    counts = {f"k{i}": cond.fill_null(False).sum() for i, (_, cond) in enumerate(conds)}
    count = _sql(t.aggregate(_n=t.count(), **counts))
    first = [
        _sql(t.filter(cond).order_by("_r").limit(FIRST_ROWS).select("_r")) for _, cond in conds
    ]
    return count, tuple((chk, sql) for (chk, _), sql in zip(conds, first, strict=True))


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
    count, firsts = checks_sql(table, others, today)
    (got,) = con.execute(count).fetchall()
    broken = []
    for i, (chk, sql) in enumerate(firsts):
        n = int(got[1 + i] or 0)
        if n:
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
        self.typed: list[str] = []  # tables read, in order

    def problem(self, source: Source, rule: str) -> None:
        self.out.add(source.label, source.table, "", rule.splitlines()[0], [], 1)

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
            state.con.close()
    state.result.errors = state.out.list()
    return state.result


def _check_folder(state: _Folder) -> None:
    folder, out = state.result.folder, state.out
    sources, problems = find_sources(folder)
    out.extend(problems)
    mapping, problems = read_column_map(folder)
    out.extend(problems)
    for table in REQUIRED_TABLES:
        if table not in sources:
            rule = FOLDER_RULES["folder.required_table"](table=table)
            out.add(f"{table}.csv", table, "", rule, [], 1)
    for table in (*REQUIRED_TABLES, *OPTIONAL_TABLES):
        if table in sources:
            state.table(sources[table], mapping.get(table, {}))
