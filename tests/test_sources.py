"""sources.yaml: a table named as a database table; every bad source is one clear message
naming the table and the source, never the URL or its password (no database needed here;
tests/test_warehouse.py runs on a real PostgreSQL server)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from helpers.data import validate_folder
from helpers.data.sources import read_sources, secret_variables
from helpers.pipeline.run import Runner
from tests.conftest import make_valid_folder

PASSWORD = "Hunter2-not-to-be-seen"
LABEL = "sources.yaml [encounters: analytics.encounters_2024]"
SOURCES = """encounters:
  engine: ibis
  url: ${WAREHOUSE_URL}
  table: analytics.encounters_2024
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    data = make_valid_folder(tmp_path / "data")
    (data / "encounters.csv").unlink()
    (data / "sources.yaml").write_text(SOURCES)
    return data


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BAD = {  # table -> (its URL, what the analyst reads)
    "sites": (None, "environment variable URL_SITES is not set"),
    "management": (f"warehouse.example.org:5432 password={PASSWORD}", "malformed URL"),
    "clinicians": (f"nosuchengine://me:{PASSWORD}@127.0.0.1/db", "malformed URL"),
    "access": (
        f"mssql://me:{PASSWORD}@127.0.0.1:1433/db",
        "the Ibis backend for mssql is not installed: pip install 'ibis-framework[mssql]'",
    ),
    "survey": (
        f"postgres://me:{PASSWORD}@127.0.0.1:{_closed_port()}/db",
        "the server cannot be reached",
    ),
    "time_allocation": ("silent", "the server did not answer in time (timeout)"),
}


def test_every_bad_source_is_one_message_naming_it_without_the_password(tmp_path, monkeypatch):
    data = make_valid_folder(tmp_path / "data", tables=("encounters",))
    (data / "sources.yaml").write_text(
        "".join(
            f"{t}:\n  engine: ibis\n  url: ${{URL_{t.upper()}}}\n  table: analytics.{t}\n"
            for t in BAD
        )
    )
    monkeypatch.setenv("HELPERS_SOURCE_TIMEOUT", "1")
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        for table, (url, _) in BAD.items():
            monkeypatch.delenv(f"URL_{table.upper()}", raising=False)
            if url == "silent":
                url = f"postgres://me:{PASSWORD}@127.0.0.1:{port}/db"
            if url:
                monkeypatch.setenv(f"URL_{table.upper()}", url)
        result = validate_folder(data)
    found = {v.file: (v.column, v.rule) for v in result.errors}
    assert len(found) == len(result.errors) == len(BAD), result.summary()
    for table, (_, expected) in BAD.items():
        column, rule = found[f"sources.yaml [{table}: analytics.{table}]"]
        assert column == "" and rule.startswith(expected), (table, rule)
    summary = result.summary()
    assert "sources.yaml [sites: analytics.sites]\n  file: environment variable" in summary
    assert PASSWORD not in summary and "me:" not in summary


def test_sources_yaml_problems(tmp_path):
    data = make_valid_folder(tmp_path / "data")
    (data / "sources.yaml").write_text(
        "nosuchtable:\n  engine: ibis\n  url: ${X}\n  table: t\n"
        "access:\n  engine: spark\n  url: ${X}\n  table: t\n"
        f"survey:\n  engine: ibis\n  url: postgres://me:{PASSWORD}@db/x\n  table: s\n"
        "sites:\n  engine: ibis\n  url: ${X}\n"
        "clinicians:\n  engine: duckdb\n"
    )
    sources, found = read_sources(data)
    assert sources == {}
    rules = {v.column: v.rule for v in found}
    assert set(rules) == {"nosuchtable", "access", "survey", "sites"}
    assert "not a table of the data contract" in rules["nosuchtable"]
    assert "engine must be one of ibis, duckdb" in rules["access"]
    assert "must name an environment variable" in rules["survey"]
    assert PASSWORD not in str(found)
    assert "needs table" in rules["sites"]


def test_a_table_both_in_a_file_and_in_sources_yaml(folder, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_URL", "postgres://me:pw@127.0.0.1:1/db")
    (folder / "encounters.csv").write_text("encounter_id\n")
    rules = [v.rule for v in validate_folder(folder).errors]
    assert any("one file per table: encounters is in encounters.csv, " + LABEL in r for r in rules)


def test_the_variables_are_known_to_keep_them_from_notebooks(folder):
    assert secret_variables(folder) == ["WAREHOUSE_URL"]


def test_the_runner_stops_on_a_bad_source_and_leaves_out_untouched(folder, tmp_path, monkeypatch):
    monkeypatch.setenv("HELPERS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("WAREHOUSE_URL", f"postgres://me:{PASSWORD}@127.0.0.1:{_closed_port()}/x")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("before")
    log_path = tmp_path / "log.txt"
    with log_path.open("w") as log:
        code = Runner(folder, out, cache_dir=tmp_path / "cache", log=log).run()
    text = log_path.read_text()
    assert code == 2
    assert LABEL in text and "cannot be reached" in text and "Nothing was run" in text
    assert PASSWORD not in text
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_the_report_lists_a_database_table_by_its_name_and_fingerprint():
    from types import SimpleNamespace

    from helpers.report.content import provenance

    inputs = [
        {"table": "sites", "path": "/d/sites.csv", "sheet": None, "sha256": "a" * 64, "rows": 3},
        {
            "table": "encounters",
            "engine": "ibis/postgres",
            "source": "analytics.encounters_2024",
            "rows": 1200,
            "fingerprint": "b" * 64,
        },
    ]
    text = provenance(SimpleNamespace(run_date="today", manifest={"data": {"inputs": inputs}}))
    assert "| Encounters | `analytics.encounters_2024 (ibis/postgres)` | 1,200 | `bbbb" in text
    assert "| Sites | `sites.csv` | 3 | `aaaa" in text
