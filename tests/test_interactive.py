"""Notebooks as an analyst runs them in JupyterLab (`make lab`): top to bottom in the project
kernel, from the notebooks folder, with the parameters cell as committed or with ``data_dir``
edited to point at the analyst's own folder. No Papermill, no injected parameters."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

from helpers import paths
from helpers.findings import FINDINGS_DIR

pytestmark = pytest.mark.slow
NOTEBOOKS = sorted(paths.NOTEBOOKS.glob("*.ipynb"))
ANALYST_FOLDER = Path(__file__).parent / "corpus" / "_valid"  # three demonstration sites


def _execute(path: Path, edits: dict[str, str]) -> None:
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    for name, value in edits.items():  # as an analyst edits the cell
        line = f"{name} = {value!r}"
        cell.source, n = re.subn(rf"^{name} = .*$", line, cell.source, flags=re.M)
        assert n == 1, f"{path.name}: no {name} in the parameters cell"
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name=paths.KERNEL_NAME,
        resources={"metadata": {"path": str(paths.NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error


def _name(path: Path) -> str:
    """The analysis name a notebook writes under: ``02_turnover.ipynb`` -> ``turnover``."""
    return path.stem.split("_", 1)[1]


def _findings(out: Path, path: Path) -> list[dict]:
    """The notebook's findings ([] for a notebook that registers none, as 01_workforce)."""
    written = out / FINDINGS_DIR / f"{_name(path)}.json"
    return json.loads(written.read_text()) if written.exists() else []


def _written(out: Path, path: Path) -> dict[Path, dict]:
    """This notebook's figure and table metadata (each says where its data came from)."""
    metas = {p: json.loads(p.read_text()) for p in out.glob("*/*.json")}
    return {
        p: m for p, m in metas.items() if isinstance(m, dict) and m.get("notebook") == _name(path)
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_defaults_mean_the_demonstration_data_and_reports_interactive(path):
    """What makes a notebook run on the demonstration data as committed: empty ``data_dir``
    and ``out_dir`` in its parameters cell, both passed to ``Analysis``. Two notebooks run
    with an analyst's folder below; one runs on its defaults in the next test."""
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert re.search(r'^data_dir = ""', cell.source, re.M), path.name
    assert re.search(r'^out_dir = ""', cell.source, re.M), path.name
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert f'Analysis("{_name(path)}", data_dir, out_dir, min_cell_size)' in code, path.name


# One notebook end to end on its defaults (the mechanism is the same for every notebook).
@pytest.mark.parametrize("path", NOTEBOOKS[:1], ids=lambda p: p.stem)
def test_runs_with_its_defaults_on_the_demonstration_data(path):
    assert (paths.DEMO_DATA / "truth.json").exists(), "no demonstration data: run `make data`"
    out = paths.INTERACTIVE_OUT
    if out.exists():  # what an earlier interactive run left
        (out / FINDINGS_DIR / f"{_name(path)}.json").unlink(missing_ok=True)
        for old in _written(out, path):
            old.unlink()
    _execute(path, {})
    findings = _findings(out, path)
    assert not findings or any(f["estimate"] is not None for f in findings)
    sources = list(_written(out, path).values())
    assert sources and all(m["synthetic"] for m in sources)
    demo_name = yaml.safe_load((paths.DEMO_DATA / "dataset.yaml").read_text())["name"]
    assert all(m["source"].startswith(f"Source: {demo_name}") for m in sources)


# Two notebooks, one with a required and one with an optional table: how every notebook fares on
# a folder too small for its analyses is tested through the runner (test_small_cells).
@pytest.mark.parametrize(
    "path",
    [p for p in NOTEBOOKS if p.stem in ("02_turnover", "05_time_allocation")],
    ids=lambda p: p.stem,
)
def test_runs_with_data_dir_changed_to_an_analysts_folder(path, tmp_path):
    data = shutil.copytree(ANALYST_FOLDER, tmp_path / "our data")  # a space, as on laptops
    (data / "dataset.yaml").unlink()  # an analyst's folder is not marked synthetic
    out = tmp_path / "out"
    _execute(path, {"data_dir": str(data), "out_dir": str(out)})
    # Three sites: some analyses decline (03_access needs ten sites) but say so in findings.
    sources = list(_written(out, path).values())
    assert sources or _findings(out, path)
    assert not any(m["synthetic"] for m in sources)
    assert all(m["source"].startswith("Source: our data") for m in sources), sources
