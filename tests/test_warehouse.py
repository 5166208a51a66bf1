"""Tables where they live, on a real PostgreSQL server started here: the same findings as from
files, byte for byte; only sums leave the database; no password in any output; bad sources
stop the run with one message. Skipped, with the reason, where PostgreSQL is not installed.

Only the notebooks that read ``encounters`` and ``time_allocation`` run (05 and 06), on a
small demonstration organization, once from files and once from the database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from helpers import paths
from helpers.data import demo, validate_folder, warehouse
from helpers.data.contract import SPECS
from helpers.data.sources import SOURCES_FILE
from helpers.data.store import read_table
from helpers.pipeline.run import Runner
from tests.engines import PASSWORD, postgres_load, postgres_server, postgres_unavailable
from tests.quick import QUICK_PARAMS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(postgres_unavailable()), reason=str(postgres_unavailable())),
]
NOTEBOOKS = ("05_time_allocation", "06_encounters")
SCALE = 0.1
SOURCES = """encounters:
  engine: ibis
  url: ${WAREHOUSE_URL}
  table: analytics.encounters_2024
time_allocation:
  engine: ibis
  url: ${WAREHOUSE_URL}
  table: analytics.time_allocation
"""


def warehouse_frames(files: Path) -> dict[str, pd.DataFrame]:
    """The demonstration's encounters and time allocation as a warehouse types them."""
    enc = pd.read_parquet(files / "encounters.parquet")
    enc["date"] = pd.to_datetime(enc["date"])
    ta = pd.read_csv(files / "time_allocation.csv", dtype={"after_hours": str})
    ta["month"] = pd.to_datetime(ta["month"] + "-01")
    ta["after_hours"] = ta["after_hours"].str.lower().map({"true": True, "false": False})
    return {"encounters_2024": enc, "time_allocation": ta}


@pytest.fixture(scope="module")
def pg():
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def world(tmp_path_factory, pg):
    """The small demonstration as files, and the same with encounters and time allocation in
    the database (named by sources.yaml)."""
    base = tmp_path_factory.mktemp("warehouse")
    files = base / "files"
    demo.generate(files, scale=SCALE)
    postgres_load(pg["url"], "analytics", warehouse_frames(files))
    remote = base / "remote"
    remote.mkdir()
    for path in files.iterdir():
        if path.stem not in ("encounters", "time_allocation", "truth"):
            shutil.copy2(path, remote / path.name)
    (remote / "sources.yaml").write_text(SOURCES)
    notebooks = base / "notebooks"
    notebooks.mkdir()
    for stem in NOTEBOOKS:
        shutil.copy2(paths.NOTEBOOKS / f"{stem}.ipynb", notebooks)
    return {"base": base, "files": files, "remote": remote, "notebooks": notebooks}


def run(world, data: Path, name: str, monkeypatch) -> tuple[int, Path, str]:
    out = world["base"] / f"out-{name}"
    cache = world["base"] / f"cache-{name}"
    monkeypatch.setenv("HELPERS_CACHE", str(cache))
    log_path = world["base"] / f"log-{name}.txt"
    with log_path.open("w") as log:
        code = Runner(
            data,
            out,
            overrides=QUICK_PARAMS,
            notebook_dir=world["notebooks"],
            cache_dir=cache,
            log=log,
            report=False,
            require_findings=False,
        ).run()
    return code, out, log_path.read_text()


@pytest.fixture(scope="module")
def runs(world, pg):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAREHOUSE_URL", pg["url"])
        got = {name: run(world, world[name], name, mp) for name in ("files", "remote")}
    for code, _, log in got.values():
        assert code == 0, log
    return got


def test_findings_are_byte_identical_from_files_and_from_postgres(runs):
    (_, files, _), (_, remote, _) = runs["files"], runs["remote"]
    a = (files / "findings.json").read_bytes()
    assert a == (remote / "findings.json").read_bytes()
    ids = {f["id"]: f for f in json.loads(a)["findings"]}
    for fid in ("encounters.uncredited_minutes_share", "time.production_line_share"):
        assert ids[fid]["estimate"] is not None, ids[fid]
    for table in ("tables/tbl-encounters-visit-types.csv", "tables/tbl-time-share-tbc.csv"):
        assert (files / table).read_bytes() == (remote / table).read_bytes()


def test_the_manifest_records_each_source_without_the_url(runs, pg):
    manifest = json.loads((runs["remote"][1] / "manifest.json").read_text())
    inputs = {i["table"]: i for i in manifest["data"]["inputs"]}
    enc = inputs["encounters"]
    assert enc["engine"] == "ibis/postgres"
    assert enc["source"] == "analytics.encounters_2024"
    assert enc["rows"] > 1000 and len(enc["fingerprint"]) == 64
    assert "path" not in enc and "url" not in json.dumps(inputs).lower()


def test_no_password_in_any_output_log_notebook_or_cache(runs, world, pg):
    secrets = (pg["password"].encode(), pg["url"].encode())
    places = [world["base"] / "out-remote", world["base"] / "cache-remote"]
    seen = 0
    for place in places:
        for path in place.rglob("*"):
            if path.is_file():
                seen += 1
                data = path.read_bytes()
                assert not any(s in data for s in secrets), path
    assert seen > 10
    executed = list((world["base"] / "out-remote" / "notebooks").glob("*.ipynb"))
    assert len(executed) == 2
    assert not any(s.decode() in runs["remote"][2] for s in secrets)


def test_a_changed_table_changes_its_fingerprint_and_the_cache_key(runs, world, pg):
    import psycopg

    with psycopg.connect(pg["url"], autocommit=True) as con:
        con.execute("CREATE TABLE analytics.enc_changed AS TABLE analytics.encounters_2024")
        con.execute(
            "UPDATE analytics.enc_changed SET minutes_total = minutes_total + 1 WHERE "
            "encounter_id = (SELECT min(encounter_id) FROM analytics.enc_changed)"
        )
    changed = world["base"] / "changed"
    shutil.copytree(world["remote"], changed)
    (changed / "sources.yaml").write_text(SOURCES.replace("encounters_2024", "enc_changed"))
    manifest = json.loads((runs["remote"][1] / "manifest.json").read_text())
    before = {i["table"]: i for i in manifest["data"]["inputs"]}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAREHOUSE_URL", pg["url"])
        after = {i["table"]: i for i in validate_folder(changed).inputs}
    a, b = before["encounters"], after["encounters"]
    assert a["rows"] == b["rows"] and a["fingerprint"] != b["fingerprint"]
    assert before["time_allocation"] == after["time_allocation"]
    # the result cache keys on the fingerprints: the notebooks' keys change with the table
    from helpers.pipeline import cache

    assert cache.data_hash(list(before.values())) != cache.data_hash(list(after.values()))


def test_only_sums_leave_the_database(world, pg, monkeypatch, tmp_path):
    """Every row fetched from PostgreSQL, counted where Ibis fetches query results (Arrow
    batches, and the rows of ``execute``): the two summary rows of each table (checks,
    fingerprint) and the sums, never the table's rows."""
    import ibis.backends.postgres as backend
    import pyarrow as pa

    fetched = []
    batches, execute = backend.Backend.to_pyarrow_batches, backend.Backend.execute

    def counted_batches(self, expr, *args, **kwargs):
        reader = batches(self, expr, *args, **kwargs)

        def each():
            for batch in reader:
                fetched.append(batch.num_rows)
                yield batch

        return pa.RecordBatchReader.from_batches(reader.schema, each())

    def counted_execute(self, expr, *args, **kwargs):
        got = execute(self, expr, *args, **kwargs)
        fetched.append(len(got) if hasattr(got, "__len__") else 1)
        return got

    monkeypatch.setattr(backend.Backend, "to_pyarrow_batches", counted_batches)
    monkeypatch.setattr(backend.Backend, "execute", counted_execute)
    monkeypatch.setenv("WAREHOUSE_URL", pg["url"])
    result = validate_folder(world["remote"], tmp_path / "store")
    assert result.ok, result.summary()
    sums = {t: len(pd.read_parquet(tmp_path / "store" / f"{t}.sums.parquet")) for t in
            ("encounters", "time_allocation")}  # fmt: skip
    total = sum(fetched)
    assert total == 2 * 2 + sums["encounters"] + sums["time_allocation"], fetched
    rows = {i["table"]: i["rows"] for i in result.inputs}
    assert sums["encounters"] < rows["encounters"] / 5
    assert not (tmp_path / "store" / "encounters.parquet").exists()
    assert not (tmp_path / "store" / "time_allocation.parquet").exists()


def test_broken_rows_are_named_by_their_key(world, pg, monkeypatch):
    import psycopg

    with psycopg.connect(pg["url"], autocommit=True) as con:
        con.execute("CREATE TABLE analytics.enc_bad AS TABLE analytics.encounters_2024")
        con.execute("UPDATE analytics.enc_bad SET minutes_uncredited = -1 "
                    "WHERE encounter_id IN (SELECT encounter_id FROM analytics.enc_bad "
                    "ORDER BY encounter_id LIMIT 7)")  # fmt: skip
        sql = "SELECT encounter_id FROM analytics.enc_bad ORDER BY encounter_id LIMIT 5"
        first = [r[0] for r in con.execute(sql)]
    bad = world["base"] / "bad"
    shutil.copytree(world["remote"], bad)
    (bad / "sources.yaml").write_text(SOURCES.replace("encounters_2024", "enc_bad"))
    monkeypatch.setenv("WAREHOUSE_URL", pg["url"])
    result = validate_folder(bad)
    (v,) = result.errors
    assert (v.file, v.column, v.count, v.keys) == (
        "sources.yaml [encounters: analytics.enc_bad]",
        "minutes_uncredited",
        7,
        first,
    )
    line = f"  column minutes_uncredited: {v.rule} (7 rows; encounter_id {', '.join(first)}, …)"
    assert line in result.summary()


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda u: u.replace(PASSWORD, "wrong-password"), "wrong credentials"),
        (lambda u: u, "table analytics.no_such_table not found"),
    ],
    ids=["wrong-credentials", "missing-table"],
)
def test_a_bad_source_is_one_message_and_out_is_untouched(world, pg, tmp_path, change, expected):
    bad = tmp_path / "data"
    shutil.copytree(world["remote"], bad)
    if "table" in expected:
        (bad / "sources.yaml").write_text(SOURCES.replace("encounters_2024", "no_such_table"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("before")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAREHOUSE_URL", change(pg["url"]))
        mp.setenv("HELPERS_CACHE", str(tmp_path / "cache"))
        log_path = tmp_path / "log.txt"
        with log_path.open("w") as log:
            code = Runner(bad, out, notebook_dir=world["notebooks"], log=log).run()
    text = log_path.read_text()
    assert code == 2 and expected in text and "Nothing was run" in text, text
    assert PASSWORD not in text and "wrong-password" not in text
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_a_missing_column_is_named_as_for_a_file(world, pg, monkeypatch):
    import psycopg

    with psycopg.connect(pg["url"], autocommit=True) as con:
        con.execute("CREATE TABLE analytics.enc_short AS TABLE analytics.encounters_2024")
        con.execute("ALTER TABLE analytics.enc_short DROP COLUMN minutes_uncredited")
    bad = world["base"] / "short"
    shutil.copytree(world["remote"], bad)
    (bad / "sources.yaml").write_text(SOURCES.replace("encounters_2024", "enc_short"))
    monkeypatch.setenv("WAREHOUSE_URL", pg["url"])
    (v,) = validate_folder(bad).errors
    assert (v.file, v.column) == (
        "sources.yaml [encounters: analytics.enc_short]",
        "minutes_uncredited",
    )
    assert "required column" in v.rule or "missing" in v.rule


def test_a_table_without_patient_rows_is_kept_as_from_its_file(world, pg, monkeypatch, tmp_path):
    """Clinicians read from the database: the typed rows stored are the file's, numbered in
    the order of the table's key; a repeated key is counted and named as for a file."""
    clin = pd.read_csv(world["files"] / "clinicians.csv", dtype=str)
    clin["fte"] = clin["fte"].astype(float)
    for col in ("hire_date", "exit_date"):
        clin[col] = pd.to_datetime(clin[col])
    twice = pd.concat([clin, clin.iloc[[3]]], ignore_index=True)  # one spell written twice
    postgres_load(pg["url"], "analytics", {"clinicians": clin, "clinicians_twice": twice})
    data = tmp_path / "data"
    shutil.copytree(world["remote"], data)
    (data / "clinicians.csv").unlink()
    entry = "clinicians:\n  engine: ibis\n  url: ${WAREHOUSE_URL}\n  table: analytics.{}\n"
    (data / "sources.yaml").write_text(SOURCES + entry.replace("{}", "clinicians"))
    monkeypatch.setenv("WAREHOUSE_URL", pg["url"])
    result = validate_folder(data, tmp_path / "store")
    assert result.ok, result.summary()
    spec = SPECS["clinicians"]
    key = warehouse.key_columns("clinicians")
    got = read_table(tmp_path / "store" / "clinicians.parquet", spec)
    ref = validate_folder(world["files"], tmp_path / "ref")
    assert ref.ok
    want = read_table(tmp_path / "ref" / "clinicians.parquet", spec)
    want = want.sort_values(key, kind="stable", ignore_index=True)
    pd.testing.assert_frame_equal(got, want)
    (data / "sources.yaml").write_text(SOURCES + entry.replace("{}", "clinicians_twice"))
    result = validate_folder(data, tmp_path / "store2")
    (v,) = result.errors
    dup = clin.iloc[3]
    assert v.count == 2 and v.keys == [f"({dup.clinician_id}, {dup.hire_date.date()})"] * 2, v


def test_a_text_date_that_names_no_day_is_a_violation_not_a_crash(world, pg, monkeypatch):
    """A warehouse may keep months and dates as text; one that names no calendar day
    (2024-02-30, 2024-13) is reported as for a file (PostgreSQL has no cast that returns
    NULL, so the day is checked before the cast)."""
    ta = warehouse_frames(world["files"])["time_allocation"]
    ta["month"] = ta["month"].dt.strftime("%Y-%m")
    ta = ta.sort_values(["clinician_id", "site_id", "month", "activity", "after_hours"])
    ta = ta.reset_index(drop=True)
    ta.loc[0, "month"] = "2024-02-30"
    ta.loc[1, "month"] = "2024-13"
    postgres_load(pg["url"], "analytics", {"ta_text": ta})
    bad = world["base"] / "text-months"
    shutil.copytree(world["remote"], bad)
    sources = SOURCES.replace("analytics.time_allocation", "analytics.ta_text")
    (bad / "sources.yaml").write_text(sources)
    monkeypatch.setenv("WAREHOUSE_URL", pg["url"])
    result = validate_folder(bad)
    (v,) = result.errors
    assert v.file == f"{SOURCES_FILE} [time_allocation: analytics.ta_text]"
    assert (v.column, v.count) == ("month", 2)
    # named by their key as the table holds it
    want = sorted(
        f"({r.clinician_id}, {r.site_id}, {r.month}, {r.activity}, {r.after_hours})"
        for r in ta.loc[[0, 1]].itertuples()
    )
    assert sorted(v.keys) == want


def test_white_space_is_trimmed_in_the_database_as_python_trims_it(pg):
    """Padded text (CHAR columns, pasted values) is read as Python's str.strip() reads it,
    every white space character included, in PostgreSQL as in DuckDB."""
    import ibis

    from helpers.data import checks

    cells = [f"{c}C{i}{c}" for i, c in enumerate(checks.WHITESPACE)] + ["\u3000", "", "a b"]
    import psycopg

    with psycopg.connect(pg["url"], autocommit=True) as db:
        db.execute("CREATE SCHEMA IF NOT EXISTS analytics")
        db.execute("CREATE TABLE analytics.padded (d text)")
        with db.cursor() as cur:
            cur.executemany("INSERT INTO analytics.padded VALUES (%s)", [(c,) for c in cells])
    con = ibis.connect(pg["url"])
    t = con.table("padded", database="analytics")
    got = con.execute(t.select(t.d, v=checks.text(t.d))).set_index("d")["v"]
    assert [got[c] if isinstance(got[c], str) else None for c in cells] == [
        c.strip() or None for c in cells
    ]
