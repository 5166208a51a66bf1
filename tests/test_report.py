"""The report's own logic: number formatting, shortcodes, visibility, cross-references."""

import json

import pytest

from helpers import report
from helpers.report import ReportError, crossrefs, format_finding, preprocess

BASE = {
    "id": "a.b",
    "label": "Hazard ratio",
    "estimate": 1.6792,
    "ci_low": 1.39,
    "ci_high": 2.03,
    "ci_level": 0.95,
    "unit": "hazard ratio",
    "n": 1359,
    "n_unit": "clinicians",
    "available": True,
    "suppressed": False,
    "note": None,
}


@pytest.mark.parametrize(
    ("unit", "estimate", "expected"),
    [
        ("hazard ratio", 1.6792, "1.68"),
        ("share", 0.4188, "41.9%"),
        ("USD per year", 30_118_038, "$30.12 million"),
        ("USD", 1_125_000, "$1.12 million"),
        ("days per vacant FTE", 2.4996, "2.5"),
        ("exits per 100 clinician-years", 9.457, "9.5"),
    ],
)
def test_formatting_by_unit(unit, estimate, expected):
    assert format_finding({**BASE, "unit": unit, "estimate": estimate})["estimate"] == expected


def test_summary_sentence_and_special_states():
    s = format_finding(BASE)
    assert s["ci"] == "1.39 to 2.03" and s["n"] == "1,359 clinicians"
    assert s["summary"] == (
        "Hazard ratio: 1.68 hazard ratio (95% CI 1.39 to 2.03; n = 1,359 clinicians)."
    )
    off = format_finding({**BASE, "available": False, "note": "survey table not provided"})
    assert off["summary"] == "not available: survey table not provided"
    small = format_finding({**BASE, "suppressed": True}, min_cell_size=11)
    assert small["summary"] == "suppressed: fewer than 11 people"


def test_crossrefs_number_and_link_and_refuse_unknown_ids():
    text = (
        "# Intro {#sec-a}\n\n![Cap](f.png){#fig-x}\n\n| a |\n|---|\n| 1 |\n\n"
        ": Tab {#tbl-y}\n\nSee @fig-x, @tbl-y and @sec-a.\n"
    )
    out = crossrefs(text)
    assert "[Figure 1](#fig-x)" in out and "[Table 1](#tbl-y)" in out
    assert "[Section 1](#sec-a)" in out and "![Figure 1: Cap]" in out
    with pytest.raises(ReportError, match="unknown id"):
        crossrefs("see @fig-missing\n")


def test_shortcodes_and_visibility(tmp_path):
    (tmp_path / "inc.qmd").write_text("included {{< var x.y >}}\n")
    (tmp_path / "r.qmd").write_text(
        '{{< include inc.qmd >}}\n::: {.content-visible when-meta="synthetic"}\n'
        "::: {.banner}\nDEMO\n:::\n:::\nend\n"
    )
    out = preprocess(tmp_path / "r.qmd", {"x": {"y": "42"}}, {"synthetic": False})
    assert "included 42" in out and "DEMO" not in out and "end" in out
    out = preprocess(tmp_path / "r.qmd", {"x": {"y": "42"}}, {"synthetic": True})
    assert "DEMO" in out
    (tmp_path / "bad.qmd").write_text("{{< var nope >}}\n")
    with pytest.raises(ReportError, match="unknown variable"):
        preprocess(tmp_path / "bad.qmd", {}, {})


def test_missing_required_finding_reads_not_available():
    var = report.variables({"synthetic_data": True, "findings": []}, {}, 11)
    assert var["find"]["turnover_voluntary_rate"]["summary"].startswith("not available")


def test_failing_engine_raises(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "findings.json").write_text(json.dumps({"synthetic_data": False, "findings": []}))
    (out / "manifest.json").write_text(json.dumps({"data": {"name": "x"}}))
    import pypandoc

    monkeypatch.setattr(pypandoc, "get_pandoc_path", lambda: "false")
    with pytest.raises(ReportError, match="pandoc failed"):
        report.build(out, engine="pandoc")
    with pytest.raises(ReportError, match="quarto"):
        if not report.shutil.which("quarto"):
            report.build(out, engine="quarto")
        else:
            raise ReportError("quarto present")


def test_renders_with_quarto_when_installed(tmp_path):
    if not report.shutil.which("quarto"):
        pytest.skip("quarto is not on PATH (its PyPI package cannot download the binary here)")
    out = tmp_path / "out"
    out.mkdir()
    (out / "findings.json").write_text(json.dumps({"synthetic_data": True, "findings": []}))
    (out / "manifest.json").write_text(json.dumps({"data": {"name": "x"}}))
    built = report.build(out, engine="quarto")
    assert built["html"].exists() and built["pdf"].exists()
