"""What work RVUs pay for: encounter aggregates computed where the data lie.

The encounters are summed where they are (:func:`code_sums`, an Ibis expression run by the
data layer: DuckDB for files, the warehouse for a table of ``sources.yaml``): per clinician,
site and billed code combination, exact sums. Only those sums leave the engine; the figures
(:func:`encounters`, :func:`per_clinician_expr`, :func:`by_visit_type_expr`) are computed from
them with DuckDB, so that they are the same, bit for bit, whatever engine held the rows.

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


DEC = dt.Decimal(38, 9)  # exact sums: the same in every engine, in any order


def code_sums(e: ir.Table) -> ir.Table:
    """What leaves the engine that holds the encounters: per clinician, site and billed code
    combination (and whether the data lack the work RVUs), the encounters and the exact sums
    of minutes and work RVUs. No encounter row leaves; every later figure is computed from
    these sums (:func:`encounters`).

    Parameters
    ----------
    e
        The typed encounters table (in any Ibis backend).

    Returns
    -------
    ibis.expr.types.Table
        ``clinician_id``, ``site_id``, ``cpt_codes``, ``rvu_missing``, ``encounters`` and
        DECIMAL(38, 9) sums ``minutes_total``, ``minutes_uncredited``, ``work_rvu``.

    Examples
    --------
    >>> e = ibis.memtable({"clinician_id": ["C1", "C1"], "site_id": ["S1", "S1"],
    ...     "cpt_codes": ["99213", "99213"], "minutes_total": [20.0, 30.0],
    ...     "minutes_uncredited": [2.0, 0.0], "work_rvu": [1.3, 1.3]})
    >>> ibis.duckdb.connect().execute(code_sums(e))["encounters"].tolist()
    [2]
    """
    return e.group_by(
        clinician_id=e.clinician_id,
        site_id=e.site_id,
        cpt_codes=e.cpt_codes,
        rvu_missing=e.work_rvu.isnull(),
    ).aggregate(
        encounters=e.count(),
        minutes_total=e.minutes_total.cast(DEC).sum().cast(DEC),
        minutes_uncredited=e.minutes_uncredited.cast(DEC).sum().cast(DEC),
        work_rvu=e.work_rvu.cast(DEC).sum().cast(DEC),
    )


def encounters(sums: ir.Table, fee: ir.Table) -> ir.Table:
    """Per clinician, site and visit type (the billed codes without spaces): encounters,
    minutes, work RVUs (from the data, else the fee-schedule sum of the codes), how many came
    from the schedule, and how many of their codes the schedule lacks; exact sums.

    Parameters
    ----------
    sums
        The encounters' sums (:func:`code_sums`).
    fee
        The fee schedule: ``code`` and ``work_rvu``.

    Returns
    -------
    ibis.expr.types.Table
        Sums as DECIMAL(38, 9); ``rvu_encounters`` counts the encounters with a work RVU.

    Examples
    --------
    >>> e = ibis.memtable({"clinician_id": ["C1"], "site_id": ["S1"], "cpt_codes": ["99213"],
    ...     "minutes_total": [20.0], "minutes_uncredited": [2.0], "work_rvu": [None]},
    ...     schema={"clinician_id": "string", "site_id": "string", "cpt_codes": "string",
    ...     "minutes_total": "float64", "minutes_uncredited": "float64", "work_rvu": "float64"})
    >>> fee = ibis.memtable({"code": ["99213"], "work_rvu": [1.3]})
    >>> float(ibis.duckdb.connect().execute(encounters(code_sums(e), fee))["work_rvu"][0])
    1.3
    """
    combos = sums.filter(sums.rvu_missing).select("cpt_codes").distinct()
    codes = combos.select("cpt_codes", code=combos.cpt_codes.split(";").unnest().strip())
    joined = codes.left_join(fee, codes.code == fee.code)
    filled = joined.group_by("cpt_codes").aggregate(
        schedule_rvu=exact_sum(joined.work_rvu),
        unknown_codes=joined.code_right.isnull().sum(),
    )
    j = sums.left_join(filled, [sums.rvu_missing, sums.cpt_codes == filled.cpt_codes])
    n = j.encounters
    # every encounter of a combination without work RVUs is credited the schedule's sum
    from_schedule = j.schedule_rvu.cast(DEC) * n
    return j.select(
        clinician_id=j.clinician_id,
        site_id=j.site_id,
        visit_type=j.cpt_codes.replace(" ", ""),
        encounters=n,
        minutes_total=j.minutes_total,
        minutes_uncredited=j.minutes_uncredited,
        work_rvu=ibis.ifelse(j.rvu_missing, from_schedule, j.work_rvu).cast(DEC),
        rvu_encounters=ibis.ifelse(j.rvu_missing & j.schedule_rvu.isnull(), 0, n),
        rvu_from_schedule=ibis.ifelse(j.rvu_missing, n, 0),
        unknown_codes=ibis.ifelse(j.rvu_missing, j.unknown_codes.fill_null(0) * n, 0),
    )


def _total(x: ir.NumericValue) -> ir.FloatingValue:
    return x.sum().cast("float64")


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
            encounters=enc.encounters.sum(),
            minutes_total=_total(enc.minutes_total),
            minutes_uncredited=_total(enc.minutes_uncredited),
            work_rvu=_total(enc.work_rvu),
            rvu_from_schedule=enc.rvu_from_schedule.sum(),
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
    rvu = _total(enc.work_rvu)
    return (
        enc.group_by("visit_type")
        .aggregate(
            encounters=enc.encounters.sum(),
            clinicians=enc.clinician_id.nunique(),
            minutes_per_work_rvu=_total(enc.minutes_total) / rvu.nullif(0),
            uncredited_share=_total(enc.minutes_uncredited) / _total(enc.minutes_total),
            mean_work_rvu=rvu / enc.rvu_encounters.sum().nullif(0),
        )
        .order_by([ibis.desc("encounters"), "visit_type"])
    )


def _run(path: Path, fee: pd.DataFrame, build) -> pd.DataFrame:
    con = backend()
    try:
        e = con.read_parquet(path, table_name="encounter_sums")
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
        The encounters' sums (:func:`code_sums`) as Parquet (``run.data.sums("encounters")``),
        computed where the encounters are.
    fee
        The fee schedule (``helpers.data.reference.fee_schedule()``): ``code``, ``work_rvu``.

    Returns
    -------
    pandas.DataFrame
        One row per (clinician_id, site_id), in that order.

    Examples
    --------
    >>> # pc = per_clinician(run.data.sums("encounters"), fee_schedule())
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
    >>> # vt = by_visit_type(run.data.sums("encounters"), fee_schedule())
    """
    return _run(path, fee, by_visit_type_expr)
