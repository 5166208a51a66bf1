"""Encounter analysis at scale: generated Parquet of N rows, the Ibis aggregation of
helpers.analysis.encounters (run by DuckDB) against a plain pandas version (up to 10M rows: beyond,
pandas needs more memory than the machine has) and a bare DuckDB scan (the floor); the
validation of a data folder with N encounters (one pass over the file); and a whole run with
10M encounters."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import duckdb
from bench import PY, ROOT, Measure, compile_checks, empty_results, runner_cmd, timed

GENERATE = """
COPY (
  SELECT 'V' || lpad(i::VARCHAR, 9, '0') AS encounter_id,
         'C' || lpad((i % 900)::VARCHAR, 5, '0') AS clinician_id,
         {sites}[(i % 900) % {n_sites} + 1] AS site_id,
         DATE '2023-01-01' + (i % 730)::INTEGER AS date,
         CASE i % 4 WHEN 0 THEN '99214' WHEN 1 THEN '99213' WHEN 2 THEN '99214;90833'
              ELSE '90834' END AS cpt_codes,
         20.0 + (i % 40) AS minutes_total,
         (i % 7)::DOUBLE AS minutes_uncredited,
         CASE WHEN i % 10 = 0 THEN NULL ELSE 1.92 END AS work_rvu
  FROM range({n}) t(i)
) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 500000)
"""

PANDAS_MAX = 10_000_000  # rows: a plain pandas read of 30M rows took 14 GiB
# The analysis as the toolkit runs it: the code sums computed where the encounters are (here
# DuckDB on the file), then the per-clinician figures from the sums.
OURS = (
    "import sys, tempfile; from pathlib import Path; import ibis; "
    "from helpers.analysis.encounters import code_sums, per_clinician; "
    "from helpers.data.reference import fee_schedule; "
    "con = ibis.duckdb.connect(); sums = Path(tempfile.mkdtemp()) / 'sums.parquet'; "
    "con.to_parquet(code_sums(con.read_parquet(sys.argv[1])), sums); "
    "print(len(per_clinician(sums, fee_schedule())))"
)
PANDAS = (
    "import sys, pandas as pd; e = pd.read_parquet(sys.argv[1]); "
    "g = e.groupby(['clinician_id', 'site_id'])[['minutes_total', 'minutes_uncredited', "
    "'work_rvu']].sum(); print(len(g))"
)
SCAN = (
    'import sys, duckdb; print(duckdb.sql(f"SELECT count(*), sum(minutes_total) FROM '
    "read_parquet('{sys.argv[1]}')\").fetchall())"
)


def generate(n: int, path: Path) -> None:
    """N encounters at the demonstration organization's sites (so a whole run can use them)."""
    if not path.exists():
        with open(ROOT / "data" / "demo" / "sites.csv", encoding="utf-8") as fh:
            sites = sorted(line.split(",")[0] for line in fh.read().splitlines()[1:] if line)
        listed = "[" + ", ".join(f"'{s}'" for s in sites) + "]"
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        con.execute(GENERATE.format(n=n, path=path, sites=listed, n_sites=len(sites)))
        con.close()


def run(sizes: list[int], repeats: int, tmp: Path) -> list[Measure]:
    out = []
    for n in sizes:
        path = tmp / f"encounters-{n}.parquet"
        generate(n, path)
        label = f"{n / 1e6:g}M"
        results = {}
        codes = [("ours", OURS), ("pandas", PANDAS), ("scan", SCAN)]
        for name, code in codes if n <= PANDAS_MAX else [codes[0], codes[2]]:
            runs = [timed([PY, "-c", code, str(path)]) for _ in range(repeats)]
            results[name] = ([r[0] for r in runs], max(r[1] for r in runs))
        base = results["ours"]
        pandas = results.get("pandas")
        out.append(
            Measure(
                "encounter aggregation (Ibis on DuckDB, helpers.analysis.encounters)",
                label,
                base[0],
                base[1],
                "plain pandas" if pandas else "",
                _median(base[0]) / _median(pandas[0]) if pandas else None,
            )
        )
        if pandas:
            out.append(Measure("  plain pandas read + groupby (comparison)", label, *pandas))
        out.append(
            Measure(
                "  DuckDB scan only (floor)",
                label,
                *results["scan"],
                "our aggregation",
                _median(results["scan"][0]) / _median(base[0]),
            )
        )
    for n in sizes:
        if n >= 10_000_000:
            out.append(validation(tmp, n, repeats if n <= PANDAS_MAX else 1))
    if 10_000_000 in sizes:
        out.append(whole_run(tmp, tmp / "encounters-10000000.parquet"))
    return out


def _demo_with(tmp: Path, encounters: Path, name: str) -> Path:
    """The demonstration tables with another encounters file (linked, not copied)."""
    data = tmp / name
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(ROOT / "data" / "demo", data)
    (data / "encounters.parquet").unlink()
    (data / "encounters.parquet").symlink_to(encounters)
    return data


def validation(tmp: Path, n: int, repeats: int) -> Measure:
    """Validating the whole data folder with N encounters (``python -m helpers.validate``:
    every table checked by the one engine, each file read once)."""
    data = _demo_with(tmp, tmp / f"encounters-{n}.parquet", f"demo-{n}")
    runs = [timed([PY, "-m", "helpers.validate", str(data)]) for _ in range(repeats)]
    return Measure(
        "  validation of the data folder (one pass per file)",
        f"{n / 1e6:g}M",
        [r[0] for r in runs],
        max(r[1] for r in runs),
    )


def whole_run(tmp: Path, encounters: Path) -> Measure:
    """The whole report on the demonstration tables with 10M encounters."""
    data = _demo_with(tmp, encounters, "demo-10m")
    cache = tmp / "cache-10m"
    shutil.rmtree(cache, ignore_errors=True)
    compile_checks(data, cache)  # as the full run it is compared with: compiled SQL kept
    empty_results(cache)
    seconds, peak, _ = timed(runner_cmd(data, tmp / "out-10m"), {"HELPERS_CACHE": str(cache)})
    return Measure(
        "whole run with 10M encounters (validation + all notebooks + report)",
        "10M",
        [seconds],
        peak,
    )


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[len(xs) // 2]


if __name__ == "__main__":
    sys.exit(0)
