"""The validated, cached dataset the notebooks read."""

import ast
import datetime as dt
import doctest
import importlib
import importlib.util
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import ibis
import pandas as pd
import pytest
from openpyxl import load_workbook
from pandera.errors import SchemaErrors

from helpers import data
from helpers.data import checks, compiled, docs, open_dataset, template
from helpers.data.contract import SPECS, Column, rule_names
from helpers.data.store import pandera_schema
from helpers.validate import DataError


def test_dtypes_window_identity(valid_folder):
    ds = open_dataset(valid_folder)
    assert ds.window == (pd.Timestamp("2019-01-01"), pd.Timestamp("2019-02-28"))
    assert ds.synthetic is False and ds.name == "data"
    clin = ds.table("clinicians")
    assert clin["fte"].dtype == float
    assert str(clin["hire_date"].dtype) == "datetime64[ns]"
    assert clin["exit_reason"].dtype == object
    assert str(ds.table("access")["visits"].dtype) == "Int64"
    assert str(ds.table("management")["team_based_care"].dtype) == "boolean"
    assert {i["table"] for i in ds.inputs} == {
        "sites",
        "management",
        "clinicians",
        "access",
        "survey",
        "time_allocation",
        "encounters",
    }
    con = ds.connect()
    assert con.execute("select sum(minutes_total) from encounters").fetchone()[0] == 90


def test_dataset_yaml_marks_synthetic(valid_folder):
    (valid_folder / "dataset.yaml").write_text("name: Demo org\nsynthetic: true\n")
    ds = open_dataset(valid_folder)
    assert ds.synthetic is True and ds.name == "Demo org"


def test_second_open_reuses_the_store(valid_folder, monkeypatch):
    first = open_dataset(valid_folder)
    calls = []
    monkeypatch.setattr(data, "validate_folder", lambda *a, **k: calls.append(a))
    second = open_dataset(valid_folder)
    assert second.store == first.store and calls == []


def test_changed_file_revalidates(valid_folder):
    first = open_dataset(valid_folder)
    path = valid_folder / "sites.csv"
    path.write_text(path.read_text().replace("North Clinic", "North Health"))
    second = open_dataset(valid_folder)
    assert second.store != first.store
    assert "North Health" in set(second.table("sites")["site_name"])


def test_bad_data_raises_with_summary(valid_folder):
    path = valid_folder / "sites.csv"
    path.write_text(path.read_text().replace("12000", "-1"))
    with pytest.raises(DataError, match="population_served"):
        open_dataset(valid_folder)


def test_absent_optional_table(tmp_path):
    from tests.conftest import make_valid_folder

    ds = open_dataset(
        make_valid_folder(tmp_path / "d", ("sites", "management", "clinicians", "access"))
    )
    assert not ds.has("survey")
    with pytest.raises(KeyError):
        ds.parquet("survey")


def test_a_copy_of_a_folder_records_its_own_name_and_paths(valid_folder, tmp_path):
    first = open_dataset(valid_folder)
    copy = tmp_path / "other-name"
    shutil.copytree(valid_folder, copy)
    second = open_dataset(copy)
    assert second.store == first.store  # same files: validated once
    assert second.name == "other-name" and first.name == valid_folder.name
    assert {Path(i["path"]).parent for i in second.inputs} == {copy.resolve()}
    assert [i["sha256"] for i in second.inputs] == [i["sha256"] for i in first.inputs]


# -- the contract, declared once, and what is generated from it ------------------------------
def test_generated_readme_tables_are_current():
    """data/README.md's column tables are what the contract says (python -m
    helpers.data.docs rewrites them)."""
    text = docs.README.read_text(encoding="utf-8")
    assert docs.BEGIN in text and docs.END in text
    assert docs.update_readme(text) == text, "run: python -m helpers.data.docs"
    assert docs.main(["--check"]) == 0


def test_every_column_is_documented():
    for spec in SPECS.values():
        assert spec.meaning and spec.row
        for col in spec.columns:
            assert col.meaning, f"{spec.name}.{col.name}"
            assert col.example or not col.required, f"{spec.name}.{col.name}"
            if col.type in ("number", "integer"):
                assert col.unit, f"{spec.name}.{col.name} has no unit"


def test_rule_names_are_unique_and_complete():
    names = rule_names()
    assert len(names) == len(set(names))
    assert "management.periods.no_overlap" in names
    assert "clinicians.exit_reason.missing_iff_exit_date_missing" in names
    assert "encounters.minutes_uncredited.lte_minutes_total" in names
    assert "management.effective_to.not_future" not in names  # a plan may lie ahead
    assert "access.no_show_rate.range_0_1" in names and "clinicians.fte.gt_0" in names


def test_the_store_meets_the_pandera_schemas(valid_folder):
    ds = open_dataset(valid_folder)
    for name, spec in SPECS.items():
        schema = pandera_schema(spec)
        schema.validate(ds.table(name), lazy=True)
        assert list(schema.columns) == list(spec.column_names)
    broken = ds.table("clinicians").assign(fte=-1.0)
    with pytest.raises(SchemaErrors):
        pandera_schema(SPECS["clinicians"]).validate(broken, lazy=True)


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _imports(module: str) -> set[str]:
    path = Path(importlib.util.find_spec(module).origin)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "helpers":  # outside the graph; may be optional
                found.add(node.module)  # (pyspark is imported only where Spark is used)
                continue
            subs = {f"{node.module}.{a.name}" for a in node.names}
            modules = {s for s in subs if importlib.util.find_spec(s.rsplit(".", 1)[0])}
            is_module = {s for s in modules if _is_module(s)}
            found.update(is_module or {node.module})
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


# The demonstration generator lives beside the data layer but is not part of it: it writes a
# data folder, and its truths (demo_truth) import the generator that calls them. Nothing in the
# layer may import either (checked below); the graph of the layer is checked without them.
DEMONSTRATION = ("helpers.data.demo", "helpers.data.demo_truth")


def test_the_data_layer_imports_without_cycles():
    package = importlib.import_module("helpers.data")
    inside = sorted(f"helpers.data.{m.name}" for m in pkgutil.iter_modules(package.__path__))
    assert set(DEMONSTRATION) <= set(inside)
    layer = [m for m in inside if m not in DEMONSTRATION]
    modules = layer + ["helpers.data", "helpers.analysis.encounters", "helpers.validate"]
    for name in modules:
        importlib.import_module(name)
    for m in modules:
        assert not _imports(m) & set(DEMONSTRATION), m
    graph = {m: {i for i in _imports(m) if i in modules and i != m} for m in modules}
    # The package's own __init__ is the public face: modules inside never import it.
    for m in modules:
        if m.startswith("helpers.data."):
            assert "helpers.data" not in graph[m], m
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        if state.get(m) == 1:
            raise AssertionError("import cycle: " + " -> ".join([*path, m]))
        if state.get(m) == 2:
            return
        state[m] = 1
        for dep in sorted(graph[m]):
            visit(dep, [*path, m])
        state[m] = 2
        order.append(m)

    for m in modules:
        visit(m, [])
    assert set(order) == set(modules)
    # Reading, checking and the store stay apart: the store never imports the checker.
    assert "helpers.data.checks" not in graph["helpers.data.store"]
    assert "helpers.data.checks" not in graph["helpers.data.read"]
    assert "helpers.data.checks" not in graph["helpers.data.folder"]  # only compiled SQL


def test_a_second_validation_needs_neither_ibis_nor_compiling(valid_folder):
    for kept in (
        compiled.typed_sql,
        compiled.count_sql,
        compiled.first_rows_sql,
        compiled.sums_sql,
    ):
        kept.cache_clear()  # so that this process writes the SQL to this test's cache
    assert data.validate_folder(valid_folder).ok
    code = (
        "import sys; from helpers.data import validate_folder; "
        f"print(validate_folder({str(valid_folder)!r}).ok, 'ibis' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


def test_opening_a_validated_store_does_not_load_the_engine(valid_folder, tmp_path, monkeypatch):
    # a store of this test's own: the suite's other workers validate identical folders
    monkeypatch.setenv("HELPERS_CACHE", str(tmp_path / "cache"))
    open_dataset(valid_folder)
    code = (
        "import sys; from helpers.data import open_dataset; "
        f"ds = open_dataset({str(valid_folder)!r}); ds.table('sites'); "
        "print('ibis' in sys.modules, 'helpers.data.checks' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, (done.returncode, done.stderr[-3000:])
    assert done.stdout.split() == ["False", "False"]


def test_adding_a_column_is_one_declaration(tmp_path):
    """One optional column declared on a copy of the contract reaches the dictionary, the
    template, the README block, the pandera schema and the checks."""
    opened = Column(
        "opened", "date", "First day the site saw patients", "2011-04-01", required=False
    )
    specs = {**SPECS, "sites": SPECS["sites"].with_column(opened)}
    row = next(r for r in docs.rows(specs) if r["column"] == "opened")
    assert row["table"] == "sites" and row["type"] == "date YYYY-MM-DD"
    assert row["rules"] == "may be empty; not in the future" and row["example"] == "2011-04-01"
    assert "| `opened` | date YYYY-MM-DD |" in docs.readme_block(specs)
    written = template.write(tmp_path / "template", specs)
    assert (tmp_path / "template" / "csv" / "sites.csv").read_text().strip().endswith(",opened")
    book = load_workbook(written[0])
    assert [c.value for c in book["sites"][1]][-1] == "opened"
    assert ["sites", "opened"] in [[c.value for c in r][:2] for r in book["README"].iter_rows()]
    schema = pandera_schema(specs["sites"])
    assert schema.columns["opened"].nullable and "opened" in schema.columns
    rules = {c.rule for c in specs["sites"].checks()}
    assert {"sites.opened.date", "sites.opened.not_future"} <= rules
    assert "sites.opened.date" in rule_names(specs)
    # The checks built from the copy read and check the new column.
    raw = ibis.memtable(
        {
            "_r": [2, 3, 4],
            "site_id": ["S1", "S2", "S3"],
            "site_name": [None, None, None],
            "region": [None, None, None],
            "setting": ["x", "x", "x"],
            "population_served": [None, None, None],
            "opened": ["2011-04-01", "01/04/2011", "2099-01-01"],
        }
    )
    con = ibis.duckdb.connect()
    t = con.create_table("typed_sites", checks.typed(specs["sites"], raw))
    found = {
        chk.rule: con.execute(t.filter(cond)._r)
        for chk, cond in checks.conditions(specs["sites"], t, {}, dt.date(2025, 1, 1))
    }
    assert found["sites.opened.date"].tolist() == [3]
    assert found["sites.opened.not_future"].tolist() == [4]
    assert con.execute(t.opened).dt.strftime("%Y-%m-%d").tolist()[0] == "2011-04-01"


@pytest.mark.parametrize(
    "module",
    [
        "helpers.data",
        "helpers.data.contract",
        "helpers.data.result",
        "helpers.data.engine",
        "helpers.data.read",
        "helpers.data.checks",
        "helpers.data.compiled",
        "helpers.data.folder",
        "helpers.data.store",
        "helpers.data.docs",
        "helpers.data.template",
        "helpers.data.quality",
        "helpers.data.cli",
        "helpers.analysis.encounters",
        "helpers.validate",
    ],
)
def test_the_examples_in_the_docstrings_run(module, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    found = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert found.failed == 0
