"""The sums of the tables with patient-level rows: what the analyses read of them, and, for a
table read from a database, all that leaves it.

``encounters`` are summed per clinician, site and billed code combination
(:func:`helpers.analysis.encounters.code_sums`), ``time_allocation`` per clinician, site, month,
activity and after-hours flag (:func:`helpers.analysis.time_allocation.minute_sums`). The same Ibis
expressions run on DuckDB for files (compiled once, :mod:`helpers.data.compiled`) and in the
database for a table of ``sources.yaml`` (:mod:`helpers.data.warehouse`); :func:`arrange`
gives both results one schema and one order, so that what the notebooks read does not depend
on where the rows were.
"""

from __future__ import annotations

import importlib
from typing import Any

import pyarrow as pa

_DEC = pa.decimal128(38, 9)
SUMS = {
    "encounters": ("helpers.analysis.encounters", "code_sums"),
    "time_allocation": ("helpers.analysis.time_allocation", "minute_sums"),
}
SCHEMAS = {
    "encounters": pa.schema(
        [
            ("clinician_id", pa.string()),
            ("site_id", pa.string()),
            ("cpt_codes", pa.string()),
            ("rvu_missing", pa.bool_()),
            ("encounters", pa.int64()),
            ("minutes_total", _DEC),
            ("minutes_uncredited", _DEC),
            ("work_rvu", _DEC),
        ]
    ),
    "time_allocation": pa.schema(
        [
            ("clinician_id", pa.string()),
            ("site_id", pa.string()),
            ("month", pa.timestamp("us")),
            ("activity", pa.string()),
            ("after_hours", pa.bool_()),
            ("minutes", pa.float64()),
        ]
    ),
}
KEYS = {
    "encounters": ("clinician_id", "site_id", "cpt_codes", "rvu_missing"),
    "time_allocation": ("clinician_id", "site_id", "month", "activity", "after_hours"),
}


def sums_expr(table: str, typed: Any) -> Any:
    """A table's sums as an Ibis expression over its typed rows, for any backend.

    Parameters
    ----------
    table
        ``encounters`` or ``time_allocation``.
    typed
        Its typed rows (an Ibis table with the columns of
        :func:`helpers.data.checks.typed_schema`).

    Returns
    -------
    ibis.expr.types.Table
        The columns of :data:`SCHEMAS`.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.table({"clinician_id": "string", "site_id": "string", "month": "timestamp",
    ...     "activity": "string", "minutes": "float64", "after_hours": "boolean"}, name="t")
    >>> sums_expr("time_allocation", t).columns[-1]
    'minutes'
    """
    module, name = SUMS[table]
    return getattr(importlib.import_module(module), name)(typed)


def arrange(table: str, got: pa.Table) -> pa.Table:
    """Sums as fetched from an engine, in the schema of :data:`SCHEMAS` and ordered by their
    keys (text by its bytes, whatever the engine's collation).

    Parameters
    ----------
    table
        ``encounters`` or ``time_allocation``.
    got
        The sums as the engine returned them.

    Returns
    -------
    pyarrow.Table

    Examples
    --------
    >>> got = pa.table({"clinician_id": ["b", "a"], "site_id": ["S", "S"],
    ...     "month": pa.array([0, 0], pa.timestamp("us")), "activity": ["x", "x"],
    ...     "after_hours": [False, False], "minutes": [1.0, 2.0]})
    >>> arrange("time_allocation", got)["clinician_id"].to_pylist()
    ['a', 'b']
    """
    schema = SCHEMAS[table]
    got = got.select(schema.names).cast(schema)
    return got.sort_by([(k, "ascending") for k in KEYS[table]])
