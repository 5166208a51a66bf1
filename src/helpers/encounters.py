"""What work RVUs pay for: encounter aggregates computed in DuckDB where the data lie."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from helpers import duck
from helpers.duck import exact_sum

# Work RVUs missing from the data come from the fee schedule, looked up once per distinct
# code combination (a few thousand) rather than per encounter (tens of millions).
ENCOUNTERS_SQL = """
WITH e AS (SELECT * FROM read_parquet({path})),
combos AS (SELECT DISTINCT cpt_codes FROM e WHERE work_rvu IS NULL),
filled AS (
    SELECT combos.cpt_codes, {rvu_sum} AS schedule_rvu,
           count(*) FILTER (WHERE f.code IS NULL) AS unknown_codes
    FROM combos, unnest(string_split(combos.cpt_codes, ';')) AS c(code_raw)
    LEFT JOIN fee f ON f.code = trim(c.code_raw)
    GROUP BY combos.cpt_codes
)
SELECT e.clinician_id, e.site_id,
       replace(e.cpt_codes, ' ', '') AS visit_type,
       e.minutes_total, e.minutes_uncredited,
       coalesce(e.work_rvu, filled.schedule_rvu) AS work_rvu,
       e.work_rvu IS NULL AS rvu_from_schedule,
       CASE WHEN e.work_rvu IS NULL THEN coalesce(filled.unknown_codes, 0) ELSE 0 END
           AS unknown_codes
FROM e LEFT JOIN filled ON e.work_rvu IS NULL AND e.cpt_codes = filled.cpt_codes
"""


def _sql(path: Path) -> str:
    return ENCOUNTERS_SQL.format(path=duck.lit(str(path)), rvu_sum=exact_sum("f.work_rvu"))


def connect(fee: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    con = duck.connect()
    con.register("fee_df", fee[["code", "work_rvu"]])
    con.execute("CREATE TABLE fee AS SELECT CAST(code AS VARCHAR) AS code, work_rvu FROM fee_df")
    return con


def per_clinician(path: Path, fee: pd.DataFrame) -> pd.DataFrame:
    """Per clinician and site: encounters, minutes, uncredited minutes, work RVUs (data or fee
    schedule), and how many RVUs came from the schedule or had unknown codes."""
    con = connect(fee)
    q = f"""
    SELECT clinician_id, site_id, count(*) AS encounters,
           {exact_sum("minutes_total")} AS minutes_total,
           {exact_sum("minutes_uncredited")} AS minutes_uncredited,
           {exact_sum("work_rvu")} AS work_rvu, sum(rvu_from_schedule::INT) AS rvu_from_schedule,
           sum(unknown_codes) AS unknown_codes
    FROM ({_sql(path)}) GROUP BY clinician_id, site_id
    ORDER BY clinician_id, site_id"""
    return con.execute(q).df()


def by_visit_type(path: Path, fee: pd.DataFrame) -> pd.DataFrame:
    """Per visit type (the billed code combination, e.g. ``99214;90833``): encounters,
    clinicians, minutes per work RVU and uncredited share."""
    con = connect(fee)
    q = f"""
    SELECT visit_type, count(*) AS encounters, count(DISTINCT clinician_id) AS clinicians,
           {exact_sum("minutes_total")} / nullif({exact_sum("work_rvu")}, 0)
               AS minutes_per_work_rvu,
           {exact_sum("minutes_uncredited")} / {exact_sum("minutes_total")} AS uncredited_share,
           {exact_sum("work_rvu")} / nullif(count(work_rvu), 0) AS mean_work_rvu
    FROM ({_sql(path)}) GROUP BY visit_type ORDER BY encounters DESC, visit_type"""
    return con.execute(q).df()
