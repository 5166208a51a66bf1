"""The data-quality report written by `make validate`."""

import shutil
import subprocess

from helpers.validate import main


def test_report_shows_warnings_and_violations(valid_folder, tmp_path):
    sites = valid_folder / "sites.csv"
    sites.write_text(sites.read_text() + "S4,West Clinic,West,specialty,100\n")
    access = valid_folder / "access.csv"
    access.write_text(access.read_text().replace("S3,2019-02,9,12,710", "S3,2019-02,9,12,0"))
    clin = valid_folder / "clinicians.csv"
    clin.write_text(
        clin.read_text() + "C2,S1,advanced_practice,,1.0,2019-01-01,2019-02-01,voluntary\n"
    )
    page = tmp_path / "q.html"
    assert main([str(valid_folder), "--html", str(page)]) == 0
    text = page.read_text()
    for expected in (
        "1 site(s) have no access rows: S4",
        "1 site-month(s) with zero visits",
        "overlapping spells, e.g. C2",
        "shorter than 90 days",
        "fewer than 11 clinician responses: 2019",
        "Valid",
    ):
        assert expected in text, expected
    sites.write_text(sites.read_text().replace("100\n", "-100\n"))
    assert main([str(valid_folder), "--html", str(page)]) == 2
    text = page.read_text()
    assert "population_served" in text and "must be &gt;= 0" in text

    chromium = shutil.which("chromium")
    if chromium:
        dom = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
                f"--user-data-dir={tmp_path / 'p'}",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        assert "no access rows: S4" in dom


def test_report_names_where_each_table_was_read_from(valid_folder, tmp_path):
    from helpers.data.quality import _where

    page = tmp_path / "q.html"
    assert main([str(valid_folder), "--html", str(page)]) == 0
    text = page.read_text()
    inputs = text.split("<h2>Inputs</h2>", 1)[1].split("<h2>", 1)[0]
    for table in ("sites", "clinicians", "access"):
        assert f"<td>{table}</td><td>{table}.csv</td>" in inputs, table
    # a table in a database is named by its table and engine, never by its URL
    remote = {"table": "encounters", "engine": "ibis/postgres", "source": "analytics.enc"}
    assert _where(remote) == "analytics.enc (ibis/postgres)"
    assert _where({"path": "/d/x.xlsx", "sheet": "Sites"}) == "x.xlsx [Sites]"
