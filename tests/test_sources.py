"""sources.yaml: a table named as a database table; every bad source is one clear message
naming the table and the source, never the URL or its password (no database needed here;
tests/test_warehouse.py runs on a real PostgreSQL server)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from helpers.data import validate_folder
from helpers.data.sources import read_sources, secret_variables
from helpers.runner import Runner
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


def problems(folder: Path) -> list[tuple[str, str, str]]:
    result = validate_folder(folder)
    assert not result.ok
    assert PASSWORD not in result.summary()
    return [(v.file, v.column, v.rule) for v in result.errors]


def test_a_missing_variable_is_named(folder, monkeypatch):
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    result = validate_folder(folder)
    assert [(v.file, v.rule) for v in result.errors] == [
        (LABEL, "environment variable WAREHOUSE_URL is not set")
    ]
    assert f"{LABEL}\n  file: environment variable WAREHOUSE_URL is not set" in result.summary()


@pytest.mark.parametrize(
    "url, expected",
    [
        (f"warehouse.example.org:5432 user=me password={PASSWORD}", "malformed URL"),
        (f"nosuchengine://me:{PASSWORD}@127.0.0.1/db", "malformed URL"),
        (
            f"mssql://me:{PASSWORD}@127.0.0.1:1433/db",
            "the Ibis backend for mssql is not installed: pip install 'ibis-framework[mssql]'",
        ),
        (f"postgres://me:{PASSWORD}@127.0.0.1:{_closed_port()}/db", "cannot be reached"),
    ],
    ids=["not-a-url", "unknown-engine", "extra-not-installed", "unreachable"],
)
def test_a_bad_url_is_one_message_without_the_password(folder, monkeypatch, url, expected):
    monkeypatch.setenv("WAREHOUSE_URL", url)
    found = problems(folder)
    assert len(found) == 1, found
    label, column, rule = found[0]
    assert (label, column) == (LABEL, "")
    assert expected in rule and "me:" not in rule


def test_a_server_that_does_not_answer_times_out(folder, monkeypatch):
    with socket.socket() as server:  # accepts connections, never answers
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        monkeypatch.setenv("WAREHOUSE_URL", f"postgres://me:{PASSWORD}@127.0.0.1:{port}/db")
        monkeypatch.setenv("HELPERS_SOURCE_TIMEOUT", "1")
        ((label, _, rule),) = problems(folder)
    assert label == LABEL and "timeout" in rule and PASSWORD not in rule


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
    rules = [rule for _, _, rule in problems(folder)]
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
