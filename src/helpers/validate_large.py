"""Check a large table (CSV or Parquet) in DuckDB, where it lies.

The same coercions and rules as the pandas path of :mod:`helpers.validate` (a test checks
they agree value by value), written as SQL so that memory stays flat however many rows the
file has. Row numbers are as the analyst sees them: header = row 1, empty lines counted.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import pandas as pd

from helpers.contract import Column, Table
from helpers.duck import connect, lit
from helpers.load import empty_lines, file_row

# Python's str.strip() removes these (and rarer Unicode spaces) in the pandas path.
WHITESPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0"
DATE_PATTERN = r"\d{4}-\d{2}-\d{2}(?:[ T]00:00(?::00(?:\.0+)?)?)?"
MONTH_PATTERN = r"\d{4}-\d{2}"
FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}
NUMERIC_TYPES = FLOAT_TYPES | {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
}
DATE_TYPES = {"DATE", "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"}


# -- one column: SQL that mirrors helpers.validate.coerce ---------------------------------
def _base(type_: str) -> str:
    return type_.split("(")[0].upper()


_WS_CLASS = "[" + "".join(f"\\x{{{ord(c):02x}}}" for c in WHITESPACE) + "]"


def _trimmed(x: str) -> str:
    # trim() with a character list is slow: only call it when an end is whitespace.
    edge = lit(f"^{_WS_CLASS}|{_WS_CLASS}$")
    return f"CASE WHEN regexp_matches({x}, {edge}) THEN trim({x}, {lit(WHITESPACE)}) ELSE {x} END"


def text_sql(x: str, src: str) -> str:
    """The cell as trimmed text (a whole float prints without its ``.0``), NULL if missing."""
    base = _base(src)
    if base == "VARCHAR":
        return f"nullif({_trimmed(x)}, '')"
    if base in FLOAT_TYPES:
        t = (
            f"CASE WHEN {x} = trunc({x}) AND abs({x}) < 1e18 "
            f"THEN CAST(CAST({x} AS BIGINT) AS VARCHAR) ELSE CAST({x} AS VARCHAR) END"
        )
        return f"CASE WHEN {x} IS NULL OR isnan({x}) THEN NULL ELSE {t} END"
    if base == "BOOLEAN":
        return f"CASE WHEN {x} THEN 'True' WHEN NOT {x} THEN 'False' END"
    return f"CAST({x} AS VARCHAR)"


def _native(col: Column, base: str) -> bool:
    """Whether the column's value is taken from the stored type rather than from text."""
    if col.type in ("number", "integer"):
        return base in NUMERIC_TYPES or base == "BOOLEAN"
    if col.type in ("date", "month"):
        return base in DATE_TYPES or base.startswith("TIMESTAMP")
    return col.type == "boolean" and base == "BOOLEAN"


def column_sql(col: Column, i: int, src: str) -> tuple[str, str, str, str]:
    """SQL mirroring :func:`helpers.validate.coerce` for raw column ``c{i}`` of DuckDB type
    ``src``: (first-level expression, value, missing, bad type). The first level computes
    the text (or passes the stored value) once; the others read it as ``t{i}``."""
    base = _base(src)
    t = f"t{i}"
    if _native(col, base):
        first = f"c{i} AS {t}"
        miss = f"({t} IS NULL OR isnan({t}))" if base in FLOAT_TYPES else f"({t} IS NULL)"
    else:
        first = f"{text_sql(f'c{i}', src)} AS {t}"
        miss = f"({t} IS NULL)"
    native = _native(col, base)
    if col.type == "string":
        return first, t, miss, "false"
    if col.type == "category":
        return first, f"lower({t})", miss, "false"
    if col.type in ("number", "integer"):
        if base == "BOOLEAN":
            num = "CAST(NULL AS DOUBLE)"
        elif native:
            num = f"CASE WHEN {miss} THEN NULL ELSE CAST({t} AS DOUBLE) END"
        else:
            raw = f"TRY_CAST(replace({t}, ',', '') AS DOUBLE)"
            num = f"CASE WHEN isnan({raw}) THEN NULL ELSE {raw} END"
        num = f"({num})"
        if col.type == "number":
            return first, num, miss, f"(NOT {miss} AND {num} IS NULL)"
        frac = f"({num} IS NOT NULL AND {num} <> trunc({num}))"
        value = f"CASE WHEN {frac} OR isinf({num}) THEN NULL ELSE CAST(round({num}) AS BIGINT) END"
        return first, value, miss, f"(NOT {miss} AND ({num} IS NULL OR {frac} OR isinf({num})))"
    if col.type in ("date", "month"):
        if native:
            day = f"CAST(CAST({t} AS DATE) AS TIMESTAMP)"
        else:
            day = (
                f"CASE WHEN regexp_full_match({t}, {lit(DATE_PATTERN)}) "
                f"THEN TRY_CAST(left({t}, 10) AS DATE) END"
            )
            if col.type == "month":
                day = (
                    f"coalesce({day}, CASE WHEN regexp_full_match({t}, {lit(MONTH_PATTERN)}) "
                    f"THEN TRY_CAST({t} || '-01' AS DATE) END)"
                )
            day = f"CAST({day} AS TIMESTAMP)"
        day = f"({day})"
        value = f"date_trunc('month', {day})" if col.type == "month" else day
        return first, f"CAST({value} AS TIMESTAMP)", miss, f"(NOT {miss} AND {day} IS NULL)"
    if col.type == "boolean":
        from helpers.validate import FALSE, TRUE

        if native:
            value = t
        else:
            low = f"lower({t})"
            yes = ", ".join(lit(v) for v in sorted(TRUE))
            no = ", ".join(lit(v) for v in sorted(FALSE))
            value = f"CASE WHEN {low} IN ({yes}) THEN true WHEN {low} IN ({no}) THEN false END"
        return first, value, miss, f"(NOT {miss} AND ({value}) IS NULL)"
    raise ValueError(f"unknown type {col.type}")


def range_rules(col: Column, v: str) -> list[tuple[str, str]]:
    """(rule words, SQL true when broken) for ranges and categories, as pandera words them."""
    rules = []
    if col.min is not None:
        if col.min_exclusive:
            rules.append((f"must be > {col.min:g}", f"{v} <= {col.min!r}"))
        else:
            rules.append((f"must be >= {col.min:g}", f"{v} < {col.min!r}"))
    if col.max is not None:
        rules.append((f"must be <= {col.max:g}", f"{v} > {col.max!r}"))
    if col.categories:
        allowed = ", ".join(lit(c) for c in col.categories)
        rules.append(("must be one of " + ", ".join(col.categories), f"{v} NOT IN ({allowed})"))
    return [(words, f"coalesce({cond}, false)") for words, cond in rules]


# -- the table ---------------------------------------------------------------------------
def raw_relation(
    con: duckdb.DuckDBPyConnection, path: Path, kind: str, names: list[object]
) -> tuple[str, list[str]]:
    """SQL for the file's rows with ``_r`` (row number as the analyst sees it) and the raw
    columns as ``c0, c1, …``; and the DuckDB type of each column."""
    cols = [f"c{i}" for i in range(len(names))]
    if kind == "csv":
        spec = ", ".join(f"{lit(c)}: 'VARCHAR'" for c in cols)
        src = (
            f"read_csv({lit(str(path))}, header = true, auto_detect = false, delim = ',', "
            f"quote = '\"', escape = '\"', null_padding = true, columns = {{{spec}}})"
        )
        sql = f"SELECT row_number() OVER () + 1 AS _r, {', '.join(cols)} FROM {src}"
        return sql, ["VARCHAR"] * len(cols)
    described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({lit(str(path))})").fetchall()
    types = {row[0]: row[1] for row in described}
    select = ", ".join(
        f'"{str(n).replace(chr(34), chr(34) * 2)}" AS c{i}' for i, n in enumerate(names)
    )
    sql = (
        f"SELECT file_row_number + 2 AS _r, {select} "
        f"FROM read_parquet({lit(str(path))}, file_row_number = true)"
    )
    return sql, [types[str(n)] for n in names]


def check_large(
    path: Path,
    kind: str,
    spec: Table,
    names: list[object],
    chosen: dict[object, str],
    today: pd.Timestamp,
    site_ids: set[str] | None,
    dest: Path,
    first_rows: int = 5,
) -> tuple[int, list[tuple[str, str, list[int], int]]]:
    """Check one large table and write it typed to ``dest/<table>.parquet``.

    Returns the number of data rows and the violations as (column, rule, first rows, count).
    """
    from helpers.validate import FUTURE_ALLOWED, NOT_ABOVE, TYPE_RULE

    position = {name: names.index(orig) for orig, name in chosen.items()}
    with tempfile.TemporaryDirectory(dir=dest) as work:
        work_dir = Path(work)
        con = connect(work_dir)
        try:
            raw, types = raw_relation(con, path, kind, names)
            firsts, values, blank, checks = [], [], [], []
            for col in spec.columns:
                i = position[col.name]
                first, value, miss, bad = column_sql(col, i, types[i])
                firsts.append(first)
                values.append(f"{value} AS {col.name}")
                blank.append(miss)
                if col.type in TYPE_RULE:
                    checks.append((col.name, TYPE_RULE[col.type], bad))
                if col.required:
                    checks.append((col.name, "required (empty cell)", miss))
            # Rules on raw cells become flag columns of the typed rows; the rest read them.
            flags = [f"{cond} AS _k{j}" for j, (_, _, cond) in enumerate(checks)]
            checks = [(c, w, f"_k{j}") for j, (c, w, _) in enumerate(checks)]
            typed = (
                f"(SELECT _r, {', '.join(values + flags)} "
                f"FROM (SELECT _r, {', '.join(firsts)} FROM ({raw})) "
                f"WHERE NOT ({' AND '.join(blank)}))"
            )
            for col in spec.columns:
                if col.type in ("date", "month") and (spec.name, col.name) not in FUTURE_ALLOWED:
                    checks.append(
                        (col.name, "must not be in the future", f"{col.name} > {lit(str(today))}")
                    )
                checks += [(col.name, w, c) for w, c in range_rules(col, col.name)]
            for low, high in NOT_ABOVE.get(spec.name, []):
                checks.append((low, f"must be <= {high}", f"coalesce({low} > {high}, false)"))
            if site_ids is not None and "site_id" in spec.references:
                con.execute("CREATE TEMP TABLE known_sites (site_id VARCHAR)")
                if site_ids:  # none when every site_id in sites is empty
                    con.executemany("INSERT INTO known_sites VALUES (?)", [[s] for s in site_ids])
                checks.append(
                    (
                        "site_id",
                        "must exist in sites.site_id",
                        "site_id IS NOT NULL AND site_id NOT IN (SELECT site_id FROM known_sites)",
                    )
                )
            # Two streaming passes over the file: write the typed table, then count what
            # breaks each rule. Writing a staged copy first costs more than parsing twice.
            out = Path(dest) / f"{spec.name}.parquet"
            names_sql = ", ".join(c.name for c in spec.columns)
            con.execute(
                f"COPY (SELECT {names_sql} FROM {typed}) TO {lit(str(out))} (FORMAT parquet)"
            )
            rows, found = _flagged(con, typed, checks, first_rows)
            for key in spec.unique:
                found += _duplicates(con, f"read_parquet({lit(str(out))})", typed, key, first_rows)
        finally:
            con.close()
    skipped = empty_lines(path) if kind == "csv" else []
    if skipped:  # DuckDB's CSV reader skips empty lines: number rows as in the file
        found = [(c, w, [file_row(r, skipped) for r in first], n) for c, w, first, n in found]
    return rows, found


def _flagged(
    con: duckdb.DuckDBPyConnection, source: str, checks: list, first: int
) -> tuple[int, list[tuple[str, str, list[int], int]]]:
    """Rows in ``source``, and for each (column, rule, SQL condition) that some row breaks:
    (column, rule, first rows, count)."""
    parts = ["count(*)"]
    for _, _, cond in checks:
        parts.append(f"count(*) FILTER (WHERE {cond})")
        parts.append(f"min(_r, {first}) FILTER (WHERE {cond})")
    row = con.execute(f"SELECT {', '.join(parts)} FROM {source}").fetchone()
    out = []
    for i, (column, words, _) in enumerate(checks):
        count, rows = row[1 + 2 * i], row[2 + 2 * i]
        if count:
            out.append((column, words, sorted(int(r) for r in rows), int(count)))
    return int(row[0]), out


def _duplicates(
    con: duckdb.DuckDBPyConnection, written: str, typed: str, key: tuple[str, ...], first: int
) -> list[tuple[str, str, list[int], int]]:
    """Rows whose ``key`` is not unique: counted on the written table, and only when there
    are any, located in the typed rows (which carry the row numbers)."""
    cols = ", ".join(key)
    not_null = " AND ".join(f"{k} IS NOT NULL" for k in key)
    repeated = f"SELECT {cols}, count(*) AS n FROM {written} WHERE {not_null} GROUP BY {cols}"
    (count,) = con.execute(f"SELECT coalesce(sum(n), 0) FROM ({repeated}) WHERE n > 1").fetchone()
    if not count:
        return []
    (rows,) = con.execute(
        f"SELECT min(_r, {first}) FROM {typed} JOIN ({repeated} HAVING count(*) > 1) USING ({cols})"
    ).fetchone()
    rule = "must be unique" if len(key) == 1 else f"({cols}) must be unique"
    return [(cols, rule, sorted(int(r) for r in rows), int(count))]
