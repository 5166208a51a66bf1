"""The report's sections come from the notebooks on disk: a notebook added to the folder, with
nothing else changed, gets its own section (its title and question) in the report."""

from __future__ import annotations

import re

import nbformat
import pytest

from helpers.pipeline.run import Runner
from tests.conftest import make_valid_folder
from tests.test_runner import BODY, KERNEL, PARAMS

pytestmark = pytest.mark.slow


def notebook(folder, stem: str, title: str) -> None:
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": KERNEL, "language_info": {"name": "python"}}
    )
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {title}\n\n**Question.** How many rows has {stem}?"),
        nbformat.v4.new_code_cell(PARAMS, metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(BODY.format(name=stem.split("_", 1)[1])),
    ]
    nbformat.write(nb, folder / f"{stem}.ipynb")


def test_a_new_notebook_gets_its_section(tmp_path):
    data = make_valid_folder(tmp_path / "data")
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    notebook(nbs, "01_alpha", "Alpha analysis")
    notebook(nbs, "03_gamma", "Gamma, a throwaway analysis")
    out = tmp_path / "out"
    log = (tmp_path / "log.txt").open("w")
    runner = Runner(data, out, notebook_dir=nbs, cache_dir=tmp_path / "cache", log=log,
                    require_findings=False)  # fmt: skip
    assert runner.run() == 0, (tmp_path / "log.txt").read_text()
    html = re.sub(r"\s+", " ", (out / "report.html").read_text())
    titles = re.findall(r"<h1[^>]*>(?:<span[^>]*>[\d.]+</span>)?\s*([^<]+)</h1>", html)
    assert "Alpha analysis" in titles and "Gamma, a throwaway analysis" in titles, titles
    assert titles.index("Alpha analysis") < titles.index("Gamma, a throwaway analysis")
    assert "How many rows has 03_gamma?" in html
    gamma = html.split("Gamma, a throwaway analysis</h1>")[1].split("<h1")[0]
    assert re.search(r"rows: \d", gamma), gamma[:500]  # its finding, in its own section
