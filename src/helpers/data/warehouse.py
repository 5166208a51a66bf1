"""Checking a table where it lives: a table of ``sources.yaml`` read through Ibis.

The checks are the contract's Ibis expressions (:mod:`helpers.data.checks`), run in the
database: one aggregate query counts the rows breaking each check, and only for a check some
row breaks are the first rows fetched, named by the table's key (a database table has no row
numbers). The tables with patient-level rows (:data:`helpers.data.sums.SUMS`) are then summed
there, and only the sums are fetched; the other tables (sites, clinicians, ...) are fetched
whole, as from a file. What the provenance records of the table is its engine, its name, its
rows and a fingerprint the engine computes (rows and the sum of a hash of each row).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.parquet as pq

from helpers.data import checks, sources
from helpers.data.contract import SPECS
from helpers.data.engine import lit
from helpers.data.read import rename_columns
from helpers.data.result import FIRST_ROWS
from helpers.data.sums import SUMS, arrange, sums_expr

BUCKETS = 64  # groups a table's rows are numbered in (see _check)


def write_sums(con: Any, table: str, typed: Any, path: Any) -> int:
    """Compute a table's sums in the engine that holds it and write them to ``path``
    (:func:`helpers.data.sums.arrange`).

    Parameters
    ----------
    con
        The Ibis backend holding ``typed``.
    table, typed
        As :func:`helpers.data.sums.sums_expr`.
    path
        The Parquet file to write.

    Returns
    -------
    int
        The rows fetched from the engine (the sums' rows).

    Examples
    --------
    >>> # write_sums(con, "encounters", typed, store / "encounters.sums.parquet")
    """
    got = arrange(table, con.to_pyarrow(sums_expr(table, typed)))
    pq.write_table(got, path)
    return got.num_rows


def key_columns(table: str) -> list[str]:
    """The columns that name a row of a table read from a database (which has no row
    numbers): its unique key, else every column that is not a measure.

    Parameters
    ----------
    table
        A table of the contract.

    Returns
    -------
    list of str

    Examples
    --------
    >>> key_columns("encounters")
    ['encounter_id']
    >>> key_columns("time_allocation")
    ['clinician_id', 'site_id', 'month', 'activity', 'after_hours']
    """
    spec = SPECS[table]
    if spec.unique:
        return list(spec.unique[0])
    return [c.name for c in spec.columns if c.type not in ("number", "integer")]


def _key_text(values: list[Any]) -> str:
    """A row's key as the analyst reads it: ``E17``, or ``(C1, S1, 2024-01-01, inbox)``."""
    shown = [v.date().isoformat() if isinstance(v, dt.datetime) else str(v) for v in values]
    return shown[0] if len(shown) == 1 else f"({', '.join(shown)})"


def check_table(state: Any, source: sources.WarehouseSource, mapping: dict[str, str]) -> None:
    """Check one table where it lives and keep its sums (or, for a table without patient
    rows, its typed rows); only aggregates and the first offending keys leave the engine.
    Every failure is one message naming the table and the source, never the URL.

    Parameters
    ----------
    state
        The validation under way (:class:`helpers.data.folder._Folder`).
    source
        The table's source.
    mapping
        Its ``columns.yaml`` mapping.

    Returns
    -------
    None
        Violations, inputs and stored files are recorded in ``state``.

    Examples
    --------
    >>> # check_table(state, read_sources(folder)[0]["encounters"], {})
    """
    url = ""
    try:
        url = source.resolve()
        _check(state, source, mapping, url)
    except sources.SourceError as exc:
        state.problem(source, str(exc))
    except Exception as exc:  # drivers and engines fail in many ways
        state.problem(source, sources._why(exc, url, "cannot be read"))


def _check(state: Any, source: sources.WarehouseSource, mapping: dict[str, str], url: str) -> None:
    spec = SPECS[source.table]
    if url not in state.backends:
        state.backends[url] = sources.connect(source)
    con = state.backends[url]
    t = sources.open_table(con, source)
    chosen, extra, problems = rename_columns(list(t.columns), spec.name, mapping, source.label)
    if extra:
        state.result.extra_columns[source.label] = extra
    if problems:
        state.out.extend(problems)
        return
    key = key_columns(spec.name)
    picked = t.select(**{target: t[orig] for orig, target in chosen.items()})
    picked = picked.select(*spec.column_names)
    # No row numbers in a database: each row gets a number that names it within the run, in
    # the order of its key inside one of BUCKETS groups by a hash of the key, so that the rows
    # sharing a key (if any) are numbered alike in every evaluation, and the engine numbers
    # the groups in parallel (one window over the whole table is sorted on one worker).
    text = [picked[k].cast("string").fill_null("") for k in key]
    bucket = (ibis.literal("|").join(text).hash() % BUCKETS + BUCKETS) % BUCKETS
    numbered = picked.mutate(_b=bucket)
    raw = numbered.select(
        (
            numbered["_b"].cast("int64") * 2**40
            + ibis.row_number().over(group_by=numbered["_b"], order_by=key)
        ).name("_r"),
        *spec.column_names,
    )
    typed = checks.typed(spec, raw)
    others = {}
    for o in state.typed:  # the tables read before, as the checks of references need them
        stored = state.dest / f"{o}.parquet"
        if stored.exists():
            columns = list(SPECS[o].column_names)
            others[o] = ibis.memtable(pq.read_table(stored, columns=columns))
    conds = checks.conditions(spec, typed, others, state.today)
    counts = {f"k{i}": cond.fill_null(False).sum() for i, (_, cond) in enumerate(conds)}
    got = con.to_pyarrow(typed.aggregate(_n=typed.count(), **counts)).to_pylist()[0]
    # the fingerprint: rows and the sum of a hash of each row's text (in any order)
    text = [picked[c].cast("string").fill_null("<null>") for c in spec.column_names]
    row_hash = ibis.literal("|").join(text).hash().cast("decimal(38, 0)")
    ident = con.to_pyarrow(picked.aggregate(_rows=picked.count(), _hash=row_hash.sum()))
    ident = ident.to_pylist()[0]
    names = ", ".join(key)
    broken = False
    for i, (chk, cond) in enumerate(conds):
        n = int(got[f"k{i}"] or 0)
        if n:
            # named as the table holds them (a month that cannot be read shows as written)
            broke = raw.filter(raw["_r"].isin(typed.filter(cond)["_r"]))
            first = broke.order_by(key).limit(FIRST_ROWS).select(*key)
            keys = [_key_text([r[k] for k in key]) for r in con.to_pyarrow(first).to_pylist()]
            state.out.add(source.label, spec.name, chk.column, chk.message, [], n, keys, names)
            broken = True
    rows = int(ident["_rows"])
    state.result.inputs.append(
        {
            "table": source.table,
            **source.identity,
            "source": source.name,
            "rows": rows,
            "fingerprint": hashlib.sha256(f"{rows}:{ident['_hash']}".encode()).hexdigest(),
        }
    )
    if rows == 0:
        state.problem(source, "no rows")
        return
    state.result.tables.append(spec.name)
    if broken:
        return
    if spec.name in SUMS:
        write_sums(con, spec.name, typed, state.dest / f"{spec.name}.sums.parquet")
        return
    # A table without patient rows (sites, clinicians, ...) is kept whole, as from a file.
    store = state.dest / f"{spec.name}.parquet"
    got = con.to_pyarrow(typed.order_by([*key, "_r"]))
    # numbered 1, 2, ... in the order of the key, as the typed store expects
    numbers = pa.array(range(1, got.num_rows + 1), pa.int64())
    pq.write_table(got.set_column(got.schema.get_field_index("_r"), "_r", numbers), store)
    state.con.execute(
        f"CREATE VIEW typed_{spec.name} AS FROM read_parquet({lit(str(store))})"
    ).fetchall()
    state.typed.append(spec.name)
