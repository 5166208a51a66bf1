"""The SQL of the checks, compiled from the Ibis expressions of :mod:`helpers.data.checks`
once and kept: in memory for the process, and on disk under ``<cache>/compiled/`` so that a
later validation neither compiles nor loads Ibis.

A compiled statement is keyed by what it is compiled from: the source of the contract and of
the checks, the versions of Ibis and sqlglot, and the arguments (the table, the kinds of its
staged columns, the tables read before it, and today's date).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
from importlib import metadata
from pathlib import Path

from helpers.data.store import cache_root

HERE = Path(__file__).resolve().parent


@functools.cache
def _version() -> str:
    parts = [(HERE / name).read_bytes() for name in ("contract.py", "checks.py", "sums.py")]
    # the sums' expressions are the analyses' own
    analysis = HERE.parent / "analysis"
    parts += [(analysis / name).read_bytes() for name in ("encounters.py", "time_allocation.py")]
    parts += [metadata.version(p).encode() for p in ("ibis-framework", "sqlglot")]
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


def _cached(kind: str, *args: object) -> str:
    key = hashlib.sha256(json.dumps([_version(), kind, args], default=str).encode()).hexdigest()
    path = cache_root() / "compiled" / f"{key[:32]}.sql"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        pass
    from helpers.data import checks  # Ibis is loaded only to compile

    sql = getattr(checks, kind)(*args)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(sql, encoding="utf-8")
        tmp.replace(path)
    except OSError:  # a read-only cache: compile again next time
        pass
    return sql


@functools.lru_cache(maxsize=256)
def typed_sql(table: str, raw: tuple[tuple[str, str], ...]) -> str:
    """SQL of :func:`helpers.data.checks.typed` for ``raw_<table>``.

    Parameters
    ----------
    table
        The table.
    raw
        The staged view's columns: (name, DuckDB type).

    Returns
    -------
    str
        A SELECT statement.

    Examples
    --------
    >>> from helpers.data.contract import SPECS
    >>> raw = (("_r", "BIGINT"),) + tuple((c, "VARCHAR") for c in SPECS["sites"].column_names)
    >>> "raw_sites" in typed_sql("sites", raw)
    True
    """
    return _cached("typed_sql", table, raw)


@functools.lru_cache(maxsize=256)
def count_sql(table: str, others: tuple[str, ...], today: dt.date) -> str:
    """SQL of the one aggregate query over ``typed_<table>``: its rows, then the rows breaking
    each check of :meth:`helpers.data.contract.Table.checks_given` (``others``).

    Parameters
    ----------
    table, others, today
        The table, the other tables read so far, and today.

    Returns
    -------
    str

    Examples
    --------
    >>> "typed_sites" in count_sql("sites", (), dt.date(2025, 1, 1))
    True
    """
    return _cached("count_sql", table, others, today)


@functools.lru_cache(maxsize=1024)
def first_rows_sql(table: str, others: tuple[str, ...], today: dt.date, index: int) -> str:
    """SQL of the first rows breaking one check (see
    :func:`helpers.data.checks.first_rows_sql`).

    Parameters
    ----------
    table, others, today
        As :func:`count_sql`.
    index
        The check's position in :meth:`helpers.data.contract.Table.checks_given`.

    Returns
    -------
    str

    Examples
    --------
    >>> "LIMIT" in first_rows_sql("sites", (), dt.date(2025, 1, 1), 0)
    True
    """
    return _cached("first_rows_sql", table, others, today, index)


@functools.lru_cache(maxsize=16)
def sums_sql(table: str) -> str:
    """SQL of the sums of ``typed_<table>`` (see :func:`helpers.data.checks.sums_sql`).

    Parameters
    ----------
    table
        ``encounters`` or ``time_allocation``.

    Returns
    -------
    str

    Examples
    --------
    >>> "typed_encounters" in sums_sql("encounters")
    True
    """
    return _cached("sums_sql", table)
