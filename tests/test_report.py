"""What the report says and how the fallback engine imitates Quarto: the verdict rule, quoting
findings, the key points, tables, substitution and the Lua filter."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from helpers import catalog, paths
from helpers.report import content, tables
from helpers.report.content import ReportError, quote, substitute

HR = {
    "id": "turnover.hr_rvu_production",
    "label": "Hazard ratio",
    "estimate": 1.6226,
    "ci_low": 1.3011,
    "ci_high": 2.0236,
    "ci_level": 0.95,
    "unit": "hazard ratio",
    "n": 1405,
    "n_unit": "clinicians",
    "n_sites": 50,
    "available": True,
    "suppressed": False,
    "note": None,
}


@pytest.mark.parametrize(
    ("low", "high", "expect", "verdict"),
    [
        (1.3, 2.0, "above", "consistent with the claim"),
        (1.3, 2.0, "below", "not consistent with the claim"),
        (0.5, 0.9, "below", "consistent with the claim"),
        (0.5, 0.9, "above", "not consistent with the claim"),
        (0.8, 1.2, "above", "inconclusive"),
        (1.0, 1.2, "above", "inconclusive"),  # an interval touching 1 includes it
    ],
)
def test_verdict_rule_on_ratios(low, high, expect, verdict):
    assert catalog.verdict({**HR, "ci_low": low, "ci_high": high}, expect)[0] == verdict


def test_verdict_rule_on_differences_and_untestable_findings():
    diff = {**HR, "unit": "share", "estimate": -0.14, "ci_low": -0.16, "ci_high": -0.12}
    assert catalog.verdict(diff, "below")[0] == "consistent with the claim"
    assert catalog.verdict({**diff, "ci_high": 0.01}, "below")[0] == "inconclusive"
    off = {**HR, "available": False, "note": "survey table not provided"}
    assert catalog.verdict(off, "above") == ("not testable", "survey table not provided")
    assert catalog.verdict(None, "above")[0] == "not testable"
    assert catalog.verdict({**HR, "suppressed": True}, "above")[0] == "not testable"


def test_every_claim_tests_declared_findings_in_a_stated_direction():
    claims = catalog.claims()
    assert [c.number for c in claims] == [1, 2, 3, 4, 5]
    for c in claims:
        assert c.tests and all(t.finding in catalog.findings() for t in c.tests)


def test_quote_states_interval_people_and_sites_or_why_not():
    assert quote(HR) == "1.62 (95% CI 1.30\u20132.02)"
    assert quote(HR, n=True) == "1.62 (95% CI 1.30\u20132.02; 1,405 clinicians at 50 sites)"
    assert quote(HR, inside=True) == "1.62; 95% CI 1.30\u20132.02"
    assert quote({**HR, "suppressed": True}, 11) == "not shown (fewer than 11 people or events)"
    assert quote({**HR, "suppressed": True}, 11, inside=True).startswith("not shown: fewer")
    assert quote({**HR, "available": False, "note": "no survey"}) == "not available (no survey)"
    money = {**HR, "unit": "USD per year", "estimate": 27.6e6, "ci_low": 20.0e6,
             "ci_high": 35.9e6, "n_sites": None}  # fmt: skip
    assert quote(money).startswith("$27.6 million (95% CI $20.0 million to $35.9 million")


class _View:
    """A RunView stand-in: findings only."""

    def __init__(self, findings: dict) -> None:
        self.findings = findings
        self.min_cell_size = 11
        self.data_name = "Riverside Health"
        self.period = "January 1, 2017, to December 31, 2024"


@pytest.mark.parametrize(
    ("estimate", "low", "high", "phrase"),
    [
        (1.62, 1.30, 2.02, "left voluntarily 62% more often than salaried clinicians"),
        (0.71, 0.61, 0.83, "left voluntarily 29% less often than salaried clinicians"),
        (1.05, 0.80, 1.38, "did not differ clearly from those under salary"),
    ],
)
def test_key_points_translate_the_ratio_in_plain_words(estimate, low, high, phrase):
    f = {**HR, "estimate": estimate, "ci_low": low, "ci_high": high}
    text = content.keypoints(_View({"turnover.hr_rvu_production": f}))
    assert "**Question**" in text and "**Findings**" in text and "**Meaning**" in text
    assert phrase in text
    assert "))" not in text


def test_meaning_follows_the_verdict():
    inconclusive = {**HR, "estimate": 1.05, "ci_low": 0.8, "ci_high": 1.38}
    assert "do not show a clear association" in content.meaning(
        _View({"turnover.hr_rvu_production": inconclusive})
    )
    assert "was associated with more voluntary departures" in content.meaning(
        _View({"turnover.hr_rvu_production": HR})
    )


def test_mde_table_lists_published_primary_findings_with_both_directions():
    slope = {
        **HR,
        "id": "access.tnaa_per_vacant_fte",
        "estimate": 2.55,
        "ci_low": 2.46,
        "ci_high": 2.64,
        "unit": "days per vacant FTE",
        "mde": 0.128,
        "mde_power": 0.8,
    }
    hidden = {**HR, "id": "turnover.hr_team_based_care", "suppressed": True, "mde": None}
    view = _View(
        {
            "turnover.hr_rvu_production": {**HR, "mde": 1.8, "mde_power": 0.8},
            "turnover.hr_team_based_care": hidden,
            "access.tnaa_per_vacant_fte": slope,
            "burnout.rr_rvu_production": {**HR, "id": "burnout.rr_rvu_production"},  # no mde
        }
    )
    text = content.mde_table(view)
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 3  # header, RVU pay, access
    assert "| 1.62 (1.30\u20132.02) | 1.80 or 0.56 |" in text
    assert "\u00b10.13 days per vacant FTE" in text
    assert ": Smallest effects these data could detect {#tbl-mde}" in text
    assert (
        "80% power" in text and catalog.findings()["turnover.hr_team_based_care"].short not in text
    )
    assert content.mde_table(_View({"turnover.hr_rvu_production": HR})) == ""


def test_substitute_resolves_refuses_unknowns_and_escapes_dollars():
    text = "{{< var a.b >}} and {{< include _generated/x.qmd >}}"
    out = substitute(text, {"a": {"b": "$5 million"}}, {"x.qmd": "cost $3 and {{< var a.b >}}"})
    assert out == r"\$5 million and cost \$3 and \$5 million"
    with pytest.raises(ReportError, match="unknown variable"):
        substitute("{{< var a.c >}}", {"a": {"b": 1}}, {})
    with pytest.raises(ReportError, match="include not found"):
        substitute("{{< include _generated/y.qmd >}}", {}, {})


def test_tables_use_words_house_formats_and_one_interval_column():
    df = pd.DataFrame(
        {
            "comp_model": ["rvu_production", "salary", "hybrid"],
            "clinicians": [602, 1234, "suppressed"],
            "exits": [120, 98, "suppressed"],
            "clinician_years": [1543.2, 4021.7, "suppressed"],
            "rate_per_100": [7.777, 2.437, "suppressed"],
            "ci_low": [6.45, 1.98, "suppressed"],
            "ci_high": [9.3, 2.97, "suppressed"],
        }
    )
    shown = tables.prepare(df, 11)
    assert shown.header == [
        "Pay model",
        "Clinicians",
        "Voluntary exits",
        "Clinician-years",
        "Exits per 100 clinician-years",
        "95% CI",
    ]
    assert shown.rows[0] == ["RVU production pay", "602", "120", "1,543", "7.8", "6.5\u20139.3"]
    assert shown.rows[2][1:] == ["\u2014"] * 5
    assert shown.align == ["l", "r", "r", "r", "r", "r"]
    assert (
        shown.suppressed_rows == 1
        and "(1 of 3 rows): fewer than 11 people or events" in shown.notes[0]
    )
    assert not tables.mostly_suppressed(shown)
    md = tables.markdown(shown, "Rates", "tbl-x")
    assert md.splitlines()[1].startswith("|:") and md.rstrip().endswith(": Rates {#tbl-x}")


def test_mostly_suppressed_tables_and_unlabelled_columns():
    df = pd.DataFrame({"site_id": ["S1", "S2", "S3"], "clinicians": ["suppressed"] * 2 + [40]})
    assert tables.mostly_suppressed(tables.prepare(df, 11))
    with pytest.raises(KeyError, match="add it to helpers.report.labels.COLUMNS"):
        tables.prepare(pd.DataFrame({"mystery_column": [1]}), 11)


def _pandoc(markdown: str, to: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    import pypandoc

    (tmp_path / "r.md").write_text(markdown, encoding="utf-8")
    lua = str(paths.REPORTS / "quarto-lite.lua")
    cmd = [pypandoc.get_pandoc_path(), "r.md", "--lua-filter", lua, "--number-sections"]
    cmd += ["-t", to, *extra]
    return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)


LUA_SOURCE = """---
date: 2026-11-23
date-format: long
---

# Intro {#sec-a}

See @fig-x, @tbl-y and @sec-b.

![A caption](f.png){#fig-x fig-alt="What the figure shows"}

| a |
|---|
| 1 |

: A table {#tbl-y}

# Methods {#sec-b}

::: {.callout-note title="Key points"}
Body text.
:::
"""


def test_lua_filter_numbers_links_and_draws_callouts_in_html(tmp_path):
    proc = _pandoc(LUA_SOURCE, "html5", tmp_path)
    assert proc.returncode == 0, proc.stderr
    html = proc.stdout
    assert '<a href="#fig-x">Figure 1</a>' in html and '<a href="#tbl-y">Table 1</a>' in html
    assert '<a href="#sec-b">Section 2</a>' in html
    assert "Figure 1: A caption" in html and "Table 1: A table" in html
    assert 'alt="What the figure shows"' in html
    assert 'class="callout callout-note"' in html and "Key points" in html


def test_lua_filter_leaves_typst_to_number_figures_and_formats_the_date(tmp_path):
    proc = _pandoc(LUA_SOURCE, "typst", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "#link(<fig-x>)[Figure 1]" in proc.stdout
    assert "Figure 1: A caption" not in proc.stdout
    assert "#block(" in proc.stdout  # the callout box
    proc = _pandoc(LUA_SOURCE, "html5", tmp_path, "-s", "--metadata", "title=T")
    assert "November 23, 2026" in proc.stdout


def test_lua_filter_refuses_unknown_cross_references(tmp_path):
    proc = _pandoc("See @fig-missing.\n", "html5", tmp_path)
    assert proc.returncode != 0 and "unknown id: @fig-missing" in proc.stderr


def test_figure_and_table_order_follow_the_notebook(tmp_path):
    (tmp_path / "figures").mkdir()
    for i, fid in enumerate(("fig-b", "fig-a")):
        (tmp_path / "figures" / f"{fid}.json").write_text(json.dumps({"id": fid, "seq": i}))
    rv = content.RunView.__new__(content.RunView)
    rv.out = tmp_path
    assert [m["id"] for m in rv._metas("figures")] == ["fig-b", "fig-a"]


def test_multiplicity_table_gives_raw_and_holm_p_of_published_secondary_findings():
    gov = {**HR, "id": "turnover.hr_clinician_in_governance", "estimate": 0.59, "ci_low": 0.41,
           "ci_high": 0.87, "p_value": 0.00807, "p_adjusted": 0.0565}  # fmt: skip
    tiny = {**HR, "id": "burnout.rr_team_based_care", "p_value": 3.5e-6, "p_adjusted": 3.2e-5}
    top = {**HR, "id": "turnover.hr_admin_shadowing", "p_value": 0.80, "p_adjusted": 1.0}
    hidden = {**gov, "id": "burnout.rr_admin_shadowing", "suppressed": True}
    primary = {**HR, "p_value": 0.001}  # primary findings are not adjusted: no p_adjusted
    view = _View({f["id"]: f for f in (gov, tiny, top, hidden, primary)})
    text = content.multiplicity_paragraph(view)
    rows = [r for r in text.splitlines() if r.startswith("| ") and "---" not in r][1:]
    short = catalog.findings()
    assert rows == [
        f"| {short['turnover.hr_clinician_in_governance'].short} | 0.59 (0.41\u20130.87) "
        "| .008 | .06 |",
        f"| {short['burnout.rr_team_based_care'].short} | 1.62 (1.30\u20132.02) "
        "| <\u00a0.001 | <\u00a0.001 |",
        f"| {short['turnover.hr_admin_shadowing'].short} | 1.62 (1.30\u20132.02) "
        "| .80 | >\u00a0.99 |",
    ]
    assert "(@tbl-multiplicity)" in text and "{#tbl-multiplicity}" in text
    assert content.multiplicity_paragraph(_View({HR["id"]: primary})) == (
        "The P values of all other ratio findings are adjusted together by Holm's method.\n"
    )


def test_power_paragraph_refers_to_its_table_only_when_there_is_one():
    assert content.power_paragraph(_View({"turnover.hr_rvu_production": HR})) == ""
    view = _View({"turnover.hr_rvu_production": {**HR, "mde": 1.8, "mde_power": 0.9}})
    text = content.power_paragraph(view)
    assert text.startswith("**Power.**") and "@tbl-mde" in text and "90% power" in text
    assert text.endswith(content.mde_table(view))
