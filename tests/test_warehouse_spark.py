"""Tables where they live, in Spark (local mode, started here): the same findings as from the
equivalent files, byte for byte, with only sums leaving Spark.

Spark in local mode takes minutes to start, load and query even a small organization, so this
runs only when asked, with ``pyspark`` installed (``pip install 'ibis-framework[pyspark]'``)
and a Java runtime::

    HELPERS_TEST_SPARK=1 .venv/bin/python -m pytest tests/test_warehouse_spark.py
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from helpers import demo, paths
from helpers.data import validate_folder
from tests.engines import spark_unavailable
from tests.test_warehouse import NOTEBOOKS, SCALE, SOURCES, run, warehouse_frames

REASON = spark_unavailable() or (
    None
    if os.environ.get("HELPERS_TEST_SPARK")
    else "Spark in local mode takes minutes: set HELPERS_TEST_SPARK=1 to run it"
)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.spark,
    pytest.mark.skipif(bool(REASON), reason=str(REASON)),
]


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    from pyspark.sql import SparkSession

    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("helpers-tests")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory, spark):
    base = tmp_path_factory.mktemp("warehouse-spark")
    files = base / "files"
    demo.generate(files, scale=SCALE)
    spark.sql("CREATE DATABASE IF NOT EXISTS analytics")
    for name, df in warehouse_frames(files).items():
        spark.createDataFrame(df).write.saveAsTable(f"analytics.{name}")
    remote = base / "remote"
    remote.mkdir()
    for path in files.iterdir():
        if path.stem not in ("encounters", "time_allocation", "truth"):
            shutil.copy2(path, remote / path.name)
    # ibis.connect("pyspark://…") joins the session started above (getOrCreate)
    (remote / "sources.yaml").write_text(SOURCES.replace("WAREHOUSE_URL", "SPARK_URL"))
    notebooks = base / "notebooks"
    notebooks.mkdir()
    for stem in NOTEBOOKS:
        shutil.copy2(paths.NOTEBOOKS / f"{stem}.ipynb", notebooks)
    return {"base": base, "files": files, "remote": remote, "notebooks": notebooks}


def test_findings_are_byte_identical_from_files_and_from_spark(world):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPARK_URL", "pyspark://localhost")
        got = {name: run(world, world[name], name, mp) for name in ("files", "remote")}
    for code, _, log in got.values():
        assert code == 0, log
    (_, files, _), (_, remote, _) = got["files"], got["remote"]
    a = (files / "findings.json").read_bytes()
    assert a == (remote / "findings.json").read_bytes()
    ids = {f["id"]: f for f in json.loads(a)["findings"]}
    assert ids["encounters.uncredited_minutes_share"]["estimate"] is not None
    inputs = {
        i["table"]: i for i in json.loads((remote / "manifest.json").read_text())["data"]["inputs"]
    }
    assert inputs["encounters"]["engine"] == "ibis/pyspark"


def test_only_sums_leave_spark(world, monkeypatch, tmp_path):
    import ibis.backends.pyspark as backend

    fetched = []
    execute = backend.Backend.execute  # what to_pyarrow fetches through, here

    def counted(self, expr, *args, **kwargs):
        got = execute(self, expr, *args, **kwargs)
        fetched.append(len(got) if hasattr(got, "__len__") else 1)
        return got

    monkeypatch.setattr(backend.Backend, "execute", counted)
    monkeypatch.setenv("SPARK_URL", "pyspark://localhost")
    result = validate_folder(world["remote"], tmp_path / "store")
    assert result.ok, result.summary()
    import pyarrow.parquet as pq

    sums = sum(pq.read_metadata(tmp_path / "store" / f"{t}.sums.parquet").num_rows
               for t in ("encounters", "time_allocation"))  # fmt: skip
    assert sum(fetched) == 2 * 2 + sums, fetched
