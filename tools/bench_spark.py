"""Encounters where they live: validating and summing N encounters held by Spark in local
mode (a table of a Hive catalog over the Parquet file, read through ``sources.yaml``) against
the same folder with the Parquet file read by DuckDB. Both run ``python -m helpers.validate``,
which checks every table and writes the encounter sums the notebooks read; the peak memory is
given for the toolkit's own process and for its whole process tree (with Spark's JVM).

Needs Spark (``make env-spark``) and Java; ``tools/bench.py`` runs it when they are there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from bench import PY, ROOT, Measure, sampled
from bench_encounters import _demo_with, generate

SOURCES = """encounters:
  engine: ibis
  url: ${SPARK_URL}
  table: analytics.encounters
"""
# The table is the Parquet file where it lies (no copy), in a catalog kept on disk.
REGISTER = """
import sys
from helpers.data.sources import spark_session
spark = spark_session(sys.argv[1])
spark.sql("CREATE DATABASE IF NOT EXISTS analytics")
spark.sql("DROP TABLE IF EXISTS analytics.encounters")
spark.sql(f"CREATE TABLE analytics.encounters USING parquet LOCATION '{sys.argv[2]}'")
print(spark.table("analytics.encounters").count())
spark.stop()
"""


def spark_url(base: Path) -> str:
    """A local Spark on every core, its catalog a Hive metastore in ``base``."""
    conf = {
        "spark.master": f"local[{os.cpu_count()}]",
        "spark.driver.memory": "4g",
        "spark.ui.enabled": "false",
        "spark.sql.catalogImplementation": "hive",
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={base / 'metastore'};create=true"
        ),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={base}",
    }
    return f"pyspark://{base / 'warehouse'}?" + "&".join(f"{k}={v}" for k, v in conf.items())


def run(n: int, tmp: Path) -> list[Measure]:
    """Validation of a folder with N encounters: from the Parquet file (DuckDB) and from a
    Spark table over the same file."""
    path = tmp / f"encounters-{n}.parquet"
    generate(n, path)
    label = f"{n / 1e6:g}M"
    files = _demo_with(tmp, path, f"demo-{n}")
    base = tmp / f"spark-{n}"
    shutil.rmtree(base, ignore_errors=True)
    (base / "table").mkdir(parents=True)
    (base / "table" / path.name).symlink_to(path)
    url = spark_url(base)
    env = {"SPARK_URL": url, "PYTHONPATH": str(ROOT / "src")}
    subprocess.run(
        [PY, "-c", REGISTER, url, str(base / "table")],
        cwd=base,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    remote = tmp / f"demo-{n}-spark"
    shutil.rmtree(remote, ignore_errors=True)
    shutil.copytree(files, remote, symlinks=True)
    (remote / "encounters.parquet").unlink()
    (remote / "sources.yaml").write_text(SOURCES)
    duck = sampled([PY, "-m", "helpers.validate", str(files)])
    spark = sampled([PY, "-m", "helpers.validate", str(remote)], env)
    what = "validation and sums of the data folder, encounters"
    return [
        Measure(
            f"{what} in Spark (local mode)",
            label,
            [spark[0]],
            spark[2],
            "DuckDB on files",
            spark[0] / duck[0],
            note=f"the toolkit's own process {spark[1]:.0f} MiB; Spark's JVM the rest",
        ),
        Measure(
            f"  {what} on files (DuckDB, comparison)",
            label,
            [duck[0]],
            duck[2],
            note=f"the toolkit's own process {duck[1]:.0f} MiB",
        ),
    ]
