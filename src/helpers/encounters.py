"""What work RVUs pay for: encounter aggregates computed where the data lie.

The aggregations are Ibis expressions (:func:`encounters`, :func:`per_clinician_expr`,
:func:`by_visit_type_expr`) run by the data layer's engine (DuckDB, bounded memory) on the
validated Parquet file; the same expressions can run on another Ibis backend.

Work RVUs missing from the data come from the fee schedule, looked up once per distinct code
combination (a few thousand) rather than per encounter (tens of millions).
"""

from __future__ import annotations

from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd

from helpers.data.engine import backend


def exact_sum(x: ir.NumericValue) -> ir.FloatingValue:
    """The sum of a float column that does not depend on row order, as a float.

    Engines add floats in whatever order their threads meet the rows, so a plain sum can
    differ in the last bits from one run to the next; a sum of DECIMAL(38, 9) is exact.

    Parameters
    ----------
    x
        A numeric column.

    Returns
    -------
    ibis.expr.types.FloatingValue
        The sum, as float64.

    Examples
    --------
    >>> t = ibis.memtable({"x": [0.1, 0.2]})
    >>> ibis.duckdb.connect().execute(exact_sum(t.x))
    0.3
    """
    return x.cast(dt.Decimal(38, 9)).sum().cast("float64")


def encounters(e: ir.Table, fee: ir.Table) -> ir.Table:
    """One row per encounter: clinician, site, visit type (the billed codes without
    spaces), minutes, work RVUs (from the data, else the fee-schedule sum of the codes),
    whether they came from the schedule, and how many of its codes the schedule lacks.

    Parameters
    ----------
    e
        The validated encounters table.
    fee
        The fee schedule: ``code`` and ``work_rvu``.

    Returns
    -------
    ibis.expr.types.Table

    Examples
    --------
    >>> e = ibis.memtable({"clinician_id": ["C1"], "site_id": ["S1"], "cpt_codes": ["99213"],
    ...     "minutes_total": [20.0], "minutes_uncredited": [2.0], "work_rvu": [None]},
    ...     schema={"clinician_id": "string", "site_id": "string", "cpt_codes": "string",
    ...     "minutes_total": "float64", "minutes_uncredited": "float64", "work_rvu": "float64"})
    >>> fee = ibis.memtable({"code": ["99213"], "work_rvu": [1.3]})
    >>> ibis.duckdb.connect().execute(encounters(e, fee))["work_rvu"].tolist()
    [1.3]
    """
    combos = e.filter(e.work_rvu.isnull()).select("cpt_codes").distinct()
    codes = combos.select("cpt_codes", code=combos.cpt_codes.split(";").unnest().strip())
    joined = codes.left_join(fee, codes.code == fee.code)
    filled = joined.group_by("cpt_codes").aggregate(
        schedule_rvu=exact_sum(joined.work_rvu),
        unknown_codes=joined.code_right.isnull().sum(),
    )
    j = e.left_join(filled, [e.work_rvu.isnull(), e.cpt_codes == filled.cpt_codes])
    from_schedule = j.work_rvu.isnull()
    return j.select(
        clinician_id=j.clinician_id,
        site_id=j.site_id,
        visit_type=j.cpt_codes.replace(" ", ""),
        minutes_total=j.minutes_total,
        minutes_uncredited=j.minutes_uncredited,
        work_rvu=j.work_rvu.fill_null(j.schedule_rvu),
        rvu_from_schedule=from_schedule,
        unknown_codes=ibis.ifelse(from_schedule, j.unknown_codes.fill_null(0), 0),
    )


def per_clinician_expr(enc: ir.Table) -> ir.Table:
    """Per clinician and site: encounters, minutes, uncredited minutes, work RVUs, and how
    many RVUs came from the schedule or had unknown codes.

    Parameters
    ----------
    enc
        Encounters as :func:`encounters` returns them.

    Returns
    -------
    ibis.expr.types.Table
        One row per (clinician_id, site_id), in that order.

    Examples
    --------
    >>> # con.execute(per_clinician_expr(encounters(e, fee)))
    """
    return (
        enc.group_by(["clinician_id", "site_id"])
        .aggregate(
            encounters=enc.count(),
            minutes_total=exact_sum(enc.minutes_total),
            minutes_uncredited=exact_sum(enc.minutes_uncredited),
            work_rvu=exact_sum(enc.work_rvu),
            rvu_from_schedule=enc.rvu_from_schedule.cast("int64").sum(),
            unknown_codes=enc.unknown_codes.sum(),
        )
        .order_by(["clinician_id", "site_id"])
    )


def by_visit_type_expr(enc: ir.Table) -> ir.Table:
    """Per visit type: encounters, clinicians, minutes per work RVU, uncredited share and
    mean work RVUs.

    Parameters
    ----------
    enc
        Encounters as :func:`encounters` returns them.

    Returns
    -------
    ibis.expr.types.Table
        One row per visit type, the most frequent first.

    Examples
    --------
    >>> # con.execute(by_visit_type_expr(encounters(e, fee)))
    """
    rvu = exact_sum(enc.work_rvu)
    return (
        enc.group_by("visit_type")
        .aggregate(
            encounters=enc.count(),
            clinicians=enc.clinician_id.nunique(),
            minutes_per_work_rvu=exact_sum(enc.minutes_total) / rvu.nullif(0),
            uncredited_share=exact_sum(enc.minutes_uncredited) / exact_sum(enc.minutes_total),
            mean_work_rvu=rvu / enc.work_rvu.count().nullif(0),
        )
        .order_by([ibis.desc("encounters"), "visit_type"])
    )


def _run(path: Path, fee: pd.DataFrame, build) -> pd.DataFrame:
    con = backend()
    try:
        e = con.read_parquet(path, table_name="encounters")
        schedule = fee[["code", "work_rvu"]].astype({"code": str, "work_rvu": float})
        f = con.create_table("fee", ibis.memtable(schedule), temp=True)
        return con.execute(build(encounters(e, f)))
    finally:
        con.disconnect()


def per_clinician(path: Path, fee: pd.DataFrame) -> pd.DataFrame:
    """Per clinician and site: encounters, minutes, uncredited minutes, work RVUs (data or
    fee schedule), and how many RVUs came from the schedule or had unknown codes.

    Parameters
    ----------
    path
        The validated encounters Parquet file (``run.data.parquet("encounters")``).
    fee
        The fee schedule (``helpers.reference.fee_schedule()``): ``code``, ``work_rvu``.

    Returns
    -------
    pandas.DataFrame
        One row per (clinician_id, site_id), in that order.

    Examples
    --------
    >>> # pc = per_clinician(run.data.parquet("encounters"), fee_schedule())
    """
    return _run(path, fee, per_clinician_expr)


def by_visit_type(path: Path, fee: pd.DataFrame) -> pd.DataFrame:
    """Per visit type (the billed code combination, e.g. ``99214;90833``): encounters,
    clinicians, minutes per work RVU and uncredited share.

    Parameters
    ----------
    path, fee
        As :func:`per_clinician`.

    Returns
    -------
    pandas.DataFrame
        One row per visit type, the most frequent first.

    Examples
    --------
    >>> # vt = by_visit_type(run.data.parquet("encounters"), fee_schedule())
    """
    return _run(path, fee, by_visit_type_expr)
