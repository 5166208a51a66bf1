"""An organisation too small to publish: every notebook runs, nothing about fewer than
min_cell_size people comes out."""

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from helpers import demo
from helpers.labels import label
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


TINY_SITE, TINY_ROLE, FEW = "TINY1", "advanced_practice", 5


def _append(data: Path, table: str, rows: list[dict]) -> None:
    path = data / f"{table}.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    pd.concat([df, pd.DataFrame(rows).astype(str)], ignore_index=True).to_csv(path, index=False)


def add_tiny_site(data: Path) -> None:
    """A site of FEW physicians and one nurse, in every table, among the demonstration's."""
    start = pd.read_csv(data / "management.csv", dtype=str)["effective_from"].min()
    site = {"site_id": TINY_SITE}
    _append(data, "sites", [{**site, "site_name": "Tiny Clinic", "region": "North",
                             "setting": "primary_care", "population_served": "900"}])  # fmt: skip
    _append(data, "management", [{**site, "effective_from": start, "effective_to": "",
        "comp_model": "rvu_production", "rvu_target_annual": "5000",
        "pct_comp_productivity": "70", "team_based_care": "false",
        "support_staff_per_clinician": "1.0", "clinician_in_governance": "false",
        "admin_shadowing": "false", "protected_time_pct": "0"}])  # fmt: skip
    people = [f"{TINY_SITE}-C{i}" for i in range(FEW)]
    _append(data, "clinicians", [{**site, "clinician_id": c, "role": "physician",
        "specialty": "", "fte": "1.0", "hire_date": "2016-01-04",
        "exit_date": "2021-06-30" if i == 0 else "", "exit_reason": "voluntary" if i == 0 else ""}
        for i, c in enumerate(people)] + [{**site, "clinician_id": f"{TINY_SITE}-N0",
        "role": "nurse", "specialty": "", "fte": "1.0", "hire_date": "2016-01-04",
        "exit_date": "", "exit_reason": ""}])  # fmt: skip
    access = pd.read_csv(data / "access.csv", dtype=str, keep_default_na=False)
    access = access[access["site_id"] == access["site_id"].iloc[0]].assign(**site, visits="300")
    _append(data, "access", access.to_dict("records"))
    survey = pd.read_csv(data / "survey.csv", dtype=str, keep_default_na=False)
    rows = []
    for day in sorted(set(survey["survey_date"])):
        for i, c in enumerate(people[:3]):
            row = survey.iloc[0].to_dict() | site
            rows.append(row | {"response_id": f"{TINY_SITE}-{day}-{i}", "survey_date": day,
                               "clinician_id": c, "role": "physician", "burnout": "5"})  # fmt: skip
    _append(data, "survey", rows)
    time = pd.read_csv(data / "time_allocation.csv", dtype=str, keep_default_na=False)
    _append(
        data,
        "time_allocation",
        time.iloc[:20].assign(**site, clinician_id=people[1]).to_dict("records"),
    )
    enc = pd.read_parquet(data / "encounters.parquet").iloc[:50]
    enc = enc.assign(
        **site, clinician_id=people[1], encounter_id=[f"{TINY_SITE}-E{i}" for i in range(50)]
    )
    full = pd.read_parquet(data / "encounters.parquet")
    pd.concat([full, enc], ignore_index=True).to_parquet(data / "encounters.parquet", index=False)


def shrink_role(data: Path) -> None:
    """Leave FEW clinicians, and FEW survey responses, in TINY_ROLE (the rest: physicians)."""
    c = pd.read_csv(data / "clinicians.csv", dtype=str, keep_default_na=False)
    keep = sorted(set(c.loc[c["role"] == TINY_ROLE, "clinician_id"]))[:FEW]
    c.loc[(c["role"] == TINY_ROLE) & ~c["clinician_id"].isin(keep), "role"] = "physician"
    c.to_csv(data / "clinicians.csv", index=False)
    s = pd.read_csv(data / "survey.csv", dtype=str, keep_default_na=False)
    s.loc[s.index[s["role"] == TINY_ROLE][FEW:], "role"] = "physician"
    s.to_csv(data / "survey.csv", index=False)


SHOWN_EMPTY = {"", "suppressed", "nan", "NaN", "<NA>", "None", "—"}
CELL = re.compile(r"<t[dh][^>]*>(.*?)</t[dh]>", re.S)


def _tiny(text: str) -> bool:
    """Whether text names a tiny group, by its code or by its label in the report."""
    return any(name in text for name in (TINY_SITE, TINY_ROLE, label(TINY_ROLE)))


def _row_leaks(cells: list[str]) -> list[str]:
    """The cells of a row about a tiny group that show something."""
    labels = [c for c in cells if _tiny(c)]
    return [c for c in cells if c not in labels and c.strip() not in SHOWN_EMPTY] if labels else []


def _html_leaks(html: str) -> list[list[str]]:
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)
    cells = ([re.sub(r"<[^>]+>", "", c).strip() for c in CELL.findall(r)] for r in rows)
    # An index cell (row number) is not about the group.
    return [
        leak for c in cells if (leak := [x for x in _row_leaks(c) if not x.isdigit() or x != c[0]])
    ]


def test_a_tiny_site_and_role_in_a_large_organisation_leak_nowhere(tmp_path):
    data = tmp_path / "org"
    demo.generate(data)
    add_tiny_site(data)
    shrink_role(data)
    out = tmp_path / "out"
    log = (tmp_path / "log.txt").open("w")
    assert Runner(data, out, cache_dir=tmp_path / "cache", log=log).run() == 0, (
        tmp_path / "log.txt"
    ).read_text()
    leaks = []
    for csv in sorted((out / "tables").glob("*.csv")):
        for row in pd.read_csv(csv, dtype=str, keep_default_na=False).itertuples(index=False):
            if bad := _row_leaks(list(row)):
                leaks.append((csv.name, list(row), bad))
    for svg in sorted((out / "figures").glob("*.svg")):
        if _tiny(svg.read_text()):
            leaks.append((svg.name, "names a tiny group"))
    if _tiny((out / "findings.json").read_text()):
        leaks.append(("findings.json", "names a tiny group"))
    leaks += [("report.html", bad) for bad in _html_leaks((out / "report.html").read_text())]
    for path in sorted((out / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            for output in cell.get("outputs", []):
                shown = output.get("data", {})
                if "text/html" in shown:
                    leaks += [(path.name, bad) for bad in _html_leaks("".join(shown["text/html"]))]
                elif _tiny("".join(shown.get("text/markdown", shown.get("text/plain", "")))):
                    leaks.append(
                        (
                            path.name,
                            "".join(shown.get("text/markdown", shown.get("text/plain", "")))[:300],
                        )
                    )
                if _tiny("".join(output.get("text", ""))):
                    leaks.append((path.name, "printed: " + "".join(output["text"])[:300]))
    assert not leaks, "\n".join(map(str, leaks))
