"""Tables where they live, in Spark (local mode, started here): the same findings as from the
equivalent files, byte for byte, with only sums leaving Spark.

The session is started from a ``pyspark://`` URL (:func:`helpers.data.sources.spark_session`)
and the tables written into its catalog; the toolkit, given the same URL, joins that session.
Runs whenever ``pyspark`` and a Java runtime are installed (``make env-spark``; ``.ci/run``
does it): about a minute. Reading a catalog kept by another process (a Hive metastore) from
the command line is checked by hand (README, "Tables in a warehouse").
"""

from __future__ import annotations

import json
import shutil

import pyarrow.parquet as pq
import pytest

from helpers import paths
from helpers.data import demo, validate_folder
from helpers.data.sources import spark_session
from tests.engines import spark_unavailable
from tests.test_warehouse import NOTEBOOKS, SCALE, SOURCES, run, warehouse_frames

REASON = spark_unavailable()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.spark,
    pytest.mark.skipif(bool(REASON), reason=str(REASON)),
]

URL = (
    "pyspark://{warehouse}?spark.master=local[2]&spark.ui.enabled=false"
    "&spark.sql.shuffle.partitions=4"
)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("warehouse-spark")
    files = base / "files"
    demo.generate(files, scale=SCALE)
    url = URL.format(warehouse=base / "spark-warehouse")
    spark = spark_session(url)
    spark.sql("CREATE DATABASE IF NOT EXISTS analytics")
    for name, df in warehouse_frames(files).items():
        spark.createDataFrame(df).write.saveAsTable(f"analytics.{name}")
    remote = base / "remote"
    remote.mkdir()
    for path in files.iterdir():
        if path.stem not in ("encounters", "time_allocation", "truth"):
            shutil.copy2(path, remote / path.name)
    (remote / "sources.yaml").write_text(SOURCES.replace("WAREHOUSE_URL", "SPARK_URL"))
    notebooks = base / "notebooks"
    notebooks.mkdir()
    for stem in NOTEBOOKS:
        shutil.copy2(paths.NOTEBOOKS / f"{stem}.ipynb", notebooks)
    yield {
        "base": base,
        "files": files,
        "remote": remote,
        "notebooks": notebooks,
        "url": url,
    }
    spark.stop()


def test_findings_are_byte_identical_from_files_and_from_spark(world, monkeypatch):
    monkeypatch.setenv("SPARK_URL", world["url"])
    got = {name: run(world, world[name], name, monkeypatch) for name in ("files", "remote")}
    for code, _, log in got.values():
        assert code == 0, log
    (_, files, _), (_, remote, _) = got["files"], got["remote"]
    a = (files / "findings.json").read_bytes()
    assert a == (remote / "findings.json").read_bytes()
    for table in ("tables/tbl-encounters-visit-types.csv", "tables/tbl-time-share-tbc.csv"):
        assert (files / table).read_bytes() == (remote / table).read_bytes()
    ids = {f["id"]: f for f in json.loads(a)["findings"]}
    assert ids["encounters.uncredited_minutes_share"]["estimate"] is not None
    manifest = json.loads((remote / "manifest.json").read_text())
    enc = {i["table"]: i for i in manifest["data"]["inputs"]}["encounters"]
    assert enc["engine"] == "ibis/pyspark"
    assert enc["source"] == "analytics.encounters_2024"
    assert enc["rows"] == pq.read_metadata(world["files"] / "encounters.parquet").num_rows


def test_only_sums_leave_spark(world, monkeypatch, tmp_path):
    import ibis.backends.pyspark as backend

    fetched = []
    execute = backend.Backend.execute  # what to_pyarrow fetches through, here

    def counted(self, expr, *args, **kwargs):
        got = execute(self, expr, *args, **kwargs)
        fetched.append(len(got) if hasattr(got, "__len__") else 1)
        return got

    monkeypatch.setattr(backend.Backend, "execute", counted)
    monkeypatch.setenv("SPARK_URL", world["url"])
    result = validate_folder(world["remote"], tmp_path / "store")
    assert result.ok, result.summary()
    sums = sum(pq.read_metadata(tmp_path / "store" / f"{t}.sums.parquet").num_rows
               for t in ("encounters", "time_allocation"))  # fmt: skip
    assert sum(fetched) == 2 * 2 + sums, fetched


def test_the_url_configures_the_session_as_it_starts(world):
    # static settings (warehouse folder, master) that Spark refuses once a session runs
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession()
    assert spark is not None
    assert spark.conf.get("spark.sql.warehouse.dir").endswith(
        str(world["base"] / "spark-warehouse")
    )
    assert spark.sparkContext.master == "local[2]"
    assert spark.conf.get("spark.sql.shuffle.partitions") == "4"
