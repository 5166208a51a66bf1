"""DuckDB connections with bounded memory, for tables too large for pandas."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def exact_sum(column: str) -> str:
    """SQL for the sum of a float column that does not depend on row order, as DOUBLE.

    DuckDB adds floats in whatever order its threads meet the rows, so a plain ``sum`` can
    differ in the last bits from one run to the next; a sum of DECIMAL(38, 9) is exact.
    """
    return f"CAST(sum(CAST({column} AS DECIMAL(38, 9))) AS DOUBLE)"


def connect(work_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with bounded memory that spills to ``work_dir``.

    ``HELPERS_DUCKDB_MEMORY`` (default ``768MB``) caps what DuckDB holds in memory.
    """
    con = duckdb.connect()
    con.execute(f"SET memory_limit = {lit(os.environ.get('HELPERS_DUCKDB_MEMORY', '768MB'))}")
    con.execute(f"SET threads = {min(os.cpu_count() or 1, 4)}")
    con.execute("SET TimeZone = 'UTC'")
    try:
        con.execute("SET enable_progress_bar = false")
    except duckdb.Error:  # inside Jupyter, DuckDB refuses this without ipywidgets
        pass
    # Parquet statistics leave NaN out, and the optimiser then folds isnan() to false.
    con.execute("SET disabled_optimizers = 'statistics_propagation'")
    if work_dir is not None:
        con.execute(f"SET temp_directory = {lit(str(work_dir))}")
    return con
