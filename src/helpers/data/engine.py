"""The one engine: DuckDB with bounded memory, driven through Ibis.

Checks and aggregations are Ibis expressions (:mod:`helpers.data.checks`,
:mod:`helpers.analysis.encounters`), so that the same expressions can later run where the data live
(PostgreSQL, Spark, a warehouse); only the staging of files (:mod:`helpers.data.read`) speaks
DuckDB's own SQL.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    import ibis.backends.duckdb

MEMORY = "768MB"  # default cap of what DuckDB holds in memory (HELPERS_DUCKDB_MEMORY)


def lit(text: str) -> str:
    """A SQL string literal.

    Parameters
    ----------
    text
        Any text.

    Returns
    -------
    str
        The text quoted, with quotes doubled.

    Examples
    --------
    >>> lit("it's")
    "'it''s'"
    """
    return "'" + text.replace("'", "''") + "'"


def connect(
    work_dir: Path | None = None, database: Path | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with bounded memory that spills to ``work_dir``.

    Parameters
    ----------
    work_dir
        Where DuckDB may spill what does not fit in memory (default: its own choice).
    database
        A database file (default: in memory); tables written there leave memory.

    Returns
    -------
    duckdb.DuckDBPyConnection
        ``HELPERS_DUCKDB_MEMORY`` (default ``768MB``) caps what it holds in memory.

    Examples
    --------
    >>> connect().execute("SELECT 1").fetchone()
    (1,)
    """
    con = duckdb.connect(str(database) if database else ":memory:")
    con.execute(f"SET memory_limit = {lit(os.environ.get('HELPERS_DUCKDB_MEMORY', MEMORY))}")
    con.execute(f"SET threads = {min(os.cpu_count() or 1, 4)}")
    con.execute("SET TimeZone = 'UTC'")
    try:
        con.execute("SET enable_progress_bar = false")
    except duckdb.Error:  # inside Jupyter, DuckDB refuses this without ipywidgets
        pass
    # Parquet statistics leave NaN out, and the optimizer then folds isnan() to false. The
    # rewriting of IN lists takes longer to plan than the checks of a small table take to run
    # (every check of a text cell has a few short IN lists).
    con.execute("SET disabled_optimizers = 'statistics_propagation,in_clause'")
    if work_dir is not None:
        con.execute(f"SET temp_directory = {lit(str(work_dir))}")
    return con


def backend(
    work_dir: Path | None = None, database: Path | None = None
) -> ibis.backends.duckdb.Backend:
    """An Ibis backend on a bounded DuckDB connection (see :func:`connect`).

    Parameters
    ----------
    work_dir, database
        As :func:`connect`.

    Returns
    -------
    ibis.backends.duckdb.Backend
        Its ``.con`` is the DuckDB connection.

    Examples
    --------
    >>> import ibis
    >>> con = backend()
    >>> con.execute(ibis.literal(2) + 3)
    5
    """
    import ibis

    return ibis.duckdb.from_connection(connect(work_dir, database))
