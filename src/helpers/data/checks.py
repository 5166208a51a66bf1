"""The checks of the contract as Ibis expressions, one engine for every table.

For each table, :func:`typed` turns the staged cells (:func:`helpers.data.read.stage`) into
values of the contract's types, with a flag per cell that is empty where it must not be or
cannot be read as its type. Every check (:func:`conditions`, generated from
:meth:`helpers.data.contract.Table.checks`) is a boolean expression over those typed rows,
counted in one aggregate query (:func:`count_sql`); only for checks that some row breaks are
the first rows looked up (:func:`first_rows_sql`).

The expressions are written against Ibis, not one engine's SQL: here they are compiled for
DuckDB (:mod:`helpers.data.compiled` keeps the compiled SQL), and the same expressions can be
compiled for another backend. :mod:`helpers.data.folder` runs them on a data folder.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.datatypes as dtypes
import ibis.expr.types as ir

from helpers.data.contract import (
    FALSE,
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
from helpers.data.result import FIRST_ROWS

# What Python's str.strip() removes: a cell is read as the analyst sees it.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# The characters themselves, not escapes: engines spell escapes differently (DuckDB and Spark
# accept \x{3000}, PostgreSQL does not), and none of these is special in a class.
_WS = "[" + WHITESPACE + "]"
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
    # Ordered so that the engine stops early for the usual cell, plain ASCII.
    wide = ((first >= WIDE_SPACE[0]) | (last >= WIDE_SPACE[0])) & (
        first.isin(WIDE_SPACE) | last.isin(WIDE_SPACE)
    )
    return (first <= 32) | (last <= 32) | wide


def _maybe_empty(x: ir.Value) -> ir.BooleanValue:
    """False for a cell that is certainly not empty (cheap: the code of its first
    character); see :func:`clean` for the exact test."""
    t = x.type()
    if t.is_string():
        first = x.ascii_str()
        return x.isnull() | (first <= 32) | ((first >= WIDE_SPACE[0]) & first.isin(WIDE_SPACE))
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


def _calendar_date(shaped: ir.BooleanValue, ymd: ir.StringValue) -> ir.DateValue:
    """``YYYY-MM-DD`` text (``shaped``: it has that form) as a date, NULL when it names no
    day of the calendar (``2024-02-30``). The day is checked before the text is cast, as some
    engines (PostgreSQL) have no cast that returns NULL on a bad date and would stop."""
    y = ymd.substr(0, 4).cast("int64")
    m = ymd.substr(5, 2).cast("int64")
    d = ymd.substr(8, 2).cast("int64")
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    last = ibis.cases(
        (m.isin([4, 6, 9, 11]), 30),
        (m == 2, ibis.ifelse(leap, 29, 28)),
        else_=31,
    )
    real = ibis.ifelse(shaped, (m >= 1) & (m <= 12) & (d >= 1) & (d <= last), False)
    return ibis.ifelse(real, ymd.try_cast("date"), ibis.null("date"))


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
        day = _calendar_date(s.re_search(DATE), s.substr(0, 10))
        if col.type == "month":
            day = day.fill_null(_calendar_date(s.re_search(MONTH), s.substr(0, 7) + "-01"))
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
    """The staged rows of a table as typed values, with ``_r`` and a flag ``_bad_<column>``
    per column that is not text (the cell is not empty but cannot be read as its type: a
    typed value that is NULL without it was empty). Rows with every cell empty (a
    spreadsheet's formatted but empty rows) are left out; row numbers stay.

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
    # The cheap test first: the engine stops there for a row that is certainly not empty,
    # and cleans a cell twice (for this test and for its value) only in the others.
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
    flags = {
        f"_bad_{c.name}": ~done[f"_m_{c.name}"] & done[c.name].isnull()
        for c in spec.columns
        if c.type not in ("string", "category")
    }
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
    # (dates hashed as text: not every engine hashes a date, e.g. PostgreSQL through Ibis)
    parts = [filled[k].cast("string") if filled[k].type().is_temporal() else filled[k] for k in key]
    h = parts[0].hash()
    for part in parts[1:]:
        h = h ^ part.hash()
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
    for chk in spec.checks_given(tuple(others)):
        rule = chk.rule_object
        c = chk.column
        if chk.kind == "type":
            cond = t[f"_bad_{c}"]
        elif chk.kind == "required":
            cond = t[c].isnull() & _known(t, c)
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
    ['population_served', '_bad_population_served']
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
    return out


def _sql(expr: ir.Expr) -> str:
    return ibis.to_sql(expr, dialect="duckdb")


def typed_sql(table: str, raw: tuple[tuple[str, str], ...]) -> str:
    """SQL of :func:`typed` for the staged view ``raw_<table>``.

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


def count_sql(table: str, others: tuple[str, ...], today: dt.date) -> str:
    """SQL of the one aggregate query over ``typed_<table>``: its rows, then the rows
    breaking each check.

    Parameters
    ----------
    table
        The table.
    others
        The other tables read so far (a reference to a table not read is not checked).
    today
        Dates after this day are in the future.

    Returns
    -------
    str
        Its columns: ``_n`` (rows), then ``k0``, ``k1``, ... in the order of
        :meth:`helpers.data.contract.Table.checks_given`.

    Examples
    --------
    >>> "typed_sites" in count_sql("sites", (), dt.date(2025, 1, 1))
    True
    """
    t = _unbound(table)
    conds = conditions(SPECS[table], t, {o: _unbound(o) for o in others}, today)
    counts = {f"k{i}": cond.fill_null(False).sum() for i, (_, cond) in enumerate(conds)}
    return _sql(t.aggregate(_n=t.count(), **counts))


def first_rows_sql(table: str, others: tuple[str, ...], today: dt.date, index: int) -> str:
    """SQL of the first rows (``_r``) of ``typed_<table>`` that break its ``index``-th check
    (in the order of :func:`count_sql`); compiled only for checks some row breaks.

    Parameters
    ----------
    table, others, today
        As :func:`count_sql`.
    index
        The check's position.

    Returns
    -------
    str
        A SELECT statement of at most :data:`FIRST_ROWS` rows.

    Examples
    --------
    >>> "LIMIT 5" in first_rows_sql("sites", (), dt.date(2025, 1, 1), 0)
    True
    """
    t = _unbound(table)
    conds = conditions(SPECS[table], t, {o: _unbound(o) for o in others}, today)
    cond = conds[index][1]
    return _sql(t.filter(cond).order_by("_r").limit(FIRST_ROWS).select("_r"))


def sums_sql(table: str) -> str:
    """SQL of the sums of ``typed_<table>`` (:func:`helpers.data.sums.sums_expr`).

    Parameters
    ----------
    table
        ``encounters`` or ``time_allocation``.

    Returns
    -------
    str
        A SELECT statement.

    Examples
    --------
    >>> "typed_encounters" in sums_sql("encounters")
    True
    """
    from helpers.data.sums import sums_expr

    return _sql(sums_expr(table, _unbound(table)))
