"""An organisation too small to publish: every notebook runs, nothing about fewer than
min_cell_size people comes out."""

import json

import pandas as pd
import pytest

from helpers.runner import Runner
from tests.conftest import make_valid_folder

pytestmark = pytest.mark.slow
NOT_ABOUT_PEOPLE = ("validation.", "bh.")


def test_tiny_organisation_is_suppressed_everywhere(tmp_path):
    data = make_valid_folder(tmp_path / "tiny")
    out = tmp_path / "out"
    log = (tmp_path / "log.txt").open("w")
    assert Runner(data, out, cache_dir=tmp_path / "cache", log=log, report=False).run() == 0, (
        tmp_path / "log.txt"
    ).read_text()
    findings = json.loads((out / "findings.json").read_text())["findings"]
    for f in findings:
        if f["id"].startswith(NOT_ABOUT_PEOPLE):
            continue
        assert f["estimate"] is None and f["ci_low"] is None and f["n"] is None, f["id"]
        assert f["suppressed"] or not f["available"], f["id"]
    people_columns = ("clinicians", "responses", "exits", "clinicians_observed")
    for csv in (out / "tables").glob("*.csv"):
        df = pd.read_csv(csv, dtype=str)
        for col in people_columns:
            if col in df.columns:
                shown = pd.to_numeric(df[col], errors="coerce").dropna()
                assert (shown >= 11).all(), (csv.name, col, shown.tolist())
