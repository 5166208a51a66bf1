"""Preparing a published table for print, where privacy and numbers are decided: suppressed
cells stay hidden (never folded into a constant, never half an interval), intervals sit in
one column after their estimate, and the notes say how many rows were withheld."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import catalog
from helpers.report import tables

DASH = "\u2014"


def test_a_suppressed_count_is_never_stated_as_constant_and_constants_are_noted():
    df = pd.DataFrame(
        {
            "comp_model": ["salary", "hybrid", "rvu_production"],
            "sites": [12, 12, 12],  # constant: stated once
            "clinicians": ["suppressed", "suppressed", "suppressed"],  # never "in every row"
            "rate_per_100": [2.0, 3.0, 4.0],
        }
    )
    shown = tables.prepare(df, 11)
    assert "Sites" not in shown.header and "Clinicians" in shown.header
    assert shown.notes[0] == "Sites: 12 in every row."
    assert [r[1] for r in shown.rows] == [DASH] * 3
    assert shown.suppressed_rows == 3 and shown.total_rows == 3
    assert shown.notes[1].startswith(f"{DASH} Not shown (3 of 3 rows): fewer than 11 people")


def test_one_row_keeps_its_constant_columns_and_intervals_are_never_folded():
    one = pd.DataFrame({"term": ["team_based_care"], "hr": [0.8], "ci_low": [0.6]})
    one["ci_high"] = 1.1
    one["clinicians"] = 40
    shown = tables.prepare(one, 11)
    assert shown.header == ["Term", "Hazard ratio", "95% CI", "Clinicians"]
    assert shown.rows == [["Team-based care", "0.80", "0.60\u20131.10", "40"]]
    two = pd.concat([one, one.assign(term="admin_shadowing")], ignore_index=True)
    shown = tables.prepare(two, 11, ci_level=0.9)
    assert shown.header == ["Term", "Hazard ratio", "90% CI"]  # ci_low/ci_high kept
    assert shown.notes == ["Clinicians: 40 in every row."]
    assert shown.align == ["l", "r", "r"]


def test_an_interval_with_one_suppressed_limit_is_hidden_whole():
    df = pd.DataFrame(
        {"term": ["a", "b"], "hr": [1.2, 1.3], "ci_low": ["suppressed", 1.1], "ci_high": [2, 2]}
    )
    shown = tables.prepare(df, 11)
    assert shown.rows[0][2] == DASH and shown.rows[1][2] == "1.10\u20132.00"
    df["ci_high"] = [2, " suppressed "]  # padded
    assert tables.prepare(df, 11).rows[1][2] == DASH and tables.prepare(df, 11).rows[0][2] == DASH


def test_show_keeps_an_estimates_interval_and_refuses_an_orphan_interval():
    df = pd.DataFrame(
        {"term": ["a"], "hr": [1.2], "ci_low": [1.0], "ci_high": [1.5], "clinicians": [30]}
    )
    assert tables.prepare(df, 11, show=["hr"]).header == ["Hazard ratio", "95% CI"]
    assert tables.prepare(df, 11, show=["term", "clinicians"]).header == ["Term", "Clinicians"]
    with pytest.raises(ValueError, match="interval column ci_low has no estimate column"):
        tables.prepare(df[["ci_low", "ci_high"]], 11)


@pytest.mark.parametrize(("hidden", "mostly"), [(0, False), (2, False), (3, True), (4, True)])
def test_mostly_suppressed_is_more_than_half(hidden, mostly):
    df = pd.DataFrame(
        {"site_id": list("ABCD"), "clinicians": ["suppressed"] * hidden + [20] * (4 - hidden)}
    )
    assert tables.mostly_suppressed(tables.prepare(df, 11)) is mostly
    assert not tables.mostly_suppressed(tables.prepare(df.iloc[:0], 11))


def test_read_keeps_suppressed_text_numbers_and_blanks(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("site_id,clinicians,rate_per_100\nNA,suppressed,\nS2,12,3.5\nS3,14,2.5\n")
    df = tables.read(csv)
    assert df["site_id"].tolist() == ["NA", "S2", "S3"]  # a site called NA stays a site
    assert df["clinicians"].tolist() == ["suppressed", "12", "14"]
    assert pd.isna(df.loc[0, "rate_per_100"]) and df.loc[1, "rate_per_100"] == 3.5
    shown = tables.prepare(df, 11)
    assert shown.rows == [["NA", DASH, ""], ["S2", "12", "3.5"], ["S3", "14", "2.5"]]


def test_text_cells_numbers_as_text_and_missing_values():
    df = pd.DataFrame(
        {
            "comp_model": ["salary", None, "hybrid"],
            "clinicians": ["1405", 12, 13],
            "rate_per_100": [1.0, None, 2.0],
        }
    )
    shown = tables.prepare(df, 11)
    assert shown.rows == [["Salary", "1,405", "1.0"], ["", "12", ""], ["Hybrid pay", "13", "2.0"]]
    assert shown.suppressed_rows == 0 and shown.notes == []


def test_a_column_with_one_value_and_a_missing_one_is_not_stated_as_constant():
    df = pd.DataFrame(
        {"comp_model": ["salary", "hybrid"], "clinicians": [40, 50], "rate_per_100": [3.5, None]}
    )
    shown = tables.prepare(df, 11)
    assert shown.header == ["Pay model", "Clinicians", "Exits per 100 clinician-years"]
    assert shown.rows[1] == ["Hybrid pay", "50", ""] and shown.notes == []


def test_a_header_word_is_never_squeezed_below_its_width_by_long_cells_elsewhere():
    header = ["Role", "Voluntary exits", "Replacement cost, median", "Replacement cost, low",
              "Cost per year (median)", "95% CI"]  # fmt: skip
    rows = [["Advanced practice clinician", "186", "$273,861", "$250,000", "$6.4 million",
             "$13.7 million to $32.7 million"]] * 3  # fmt: skip
    kinds = ["text", "count", "usd", "usd", "usd", "ci"]
    weights = tables._weights(header, rows, kinds)
    line = tables.LINE_CHARACTERS - tables.PADDING_CHARACTERS * len(header)
    assert sum(weights) == pytest.approx(line)  # long cells: the whole line is used
    for h, w in zip(header, weights, strict=True):
        assert w >= max(len(word) for word in h.split()) * 1.2 + 1, h
    assert weights[-1] >= len(rows[0][-1]) / 2  # an interval on two lines at most
    short = tables._weights(["Role", "Exits"], [["Physician", "12"]], ["text", "count"])
    assert short == [9, 7.0]  # a narrow table keeps its natural widths


def test_a_table_that_fits_the_line_prints_every_cell_on_one_line():
    header = ["Term", "Hazard ratio", "95% CI", "P value", "Clinicians", "Sites", "Voluntary exits"]
    rows = [["Pay tied to productivity, per 10 points", "0.80", "0.61\u20131.06", ".12", "1,249",
             "50", "522"]] * 3  # fmt: skip
    kinds = ["text", "ratio", "ci", "p", "count", "count", "count"]
    weights = tables._weights(header, rows, kinds)
    shown = tables.Shown(header, rows, ["l"] + ["r"] * 6, weights, 0, 3, [])
    seps = tables.markdown(shown, "Dose", "tbl-dose").splitlines()[1].strip("|").split("|")
    dashes = [len(sep.strip(":")) for sep in seps]
    for j, cell in enumerate(rows[0]):
        # the column's share of the line, less its cell padding, holds the cell
        width = tables.LINE_CHARACTERS * dashes[j] / sum(dashes) - tables.PADDING_CHARACTERS
        assert width >= len(cell), (header[j], width)


def test_a_crowded_table_is_set_in_smaller_type_in_the_pdf_only():
    wide = pd.DataFrame(
        {
            "exposure": ["salary_plus_quality", "team_based_care"],
            "risk_exposed": [0.168, 0.161], "risk_reference": [0.168, 0.2],
            "risk_ratio": [1.0, 0.81], "ci_low": [0.83, 0.68], "ci_high": [1.19, 0.96],
            "risk_difference": [-0.0003, -0.039], "rd_ci_low": [-0.03, -0.069],
            "rd_ci_high": [0.03, -0.009], "p": [0.99, 0.01], "responses": [2640, 2640],
            "people": [221, 363], "events": [99, 159], "sites": [50, 49],
        }
    )  # fmt: skip
    shown = tables.prepare(wide, 11)
    assert shown.small and len(shown.header) >= 9
    text = tables.markdown(shown, "Standardized risks", "tbl-wide")
    rule = "#show <tbl-wide>: it => { show table: set text(size: 7pt); it }"
    assert text.startswith(f"```{{=typst}}\n{rule}\n```\n\n| ")
    # at 7 points the line holds more characters, which the widths use
    line = tables.LINE_CHARACTERS * tables.TABLE_TEXT_PT / tables.SMALL_TEXT_PT
    assert sum(shown.weights) > tables.LINE_CHARACTERS - tables.PADDING_CHARACTERS * 13
    assert sum(shown.weights) <= line - tables.PADDING_CHARACTERS * len(shown.header) + 1e-9
    narrow = tables.prepare(wide[["exposure", "risk_ratio", "ci_low", "ci_high"]], 11)
    assert not narrow.small
    assert "typst" not in tables.markdown(narrow, "Risk ratios", "tbl-narrow")


def test_a_setting_code_is_named_as_a_setting_and_a_role_code_as_a_role():
    df = pd.DataFrame({"setting": ["behavioral_health"], "role": ["behavioral_health"]})
    assert tables.prepare(df, 11).rows == [["Behavioral health", "Behavioral health clinician"]]


def test_citations_findings_and_verbatim_codes_are_printed_as_such():
    df = pd.DataFrame(
        {
            "site_id": ["S_01", "S_02"],  # an identifier, never relabelled
            "finding": ["turnover.hr_rvu_production", "not.declared_here"],
            "source": [" shanafelt2017business ; han2019attributable", ""],
        }
    )
    shown = tables.prepare(df, 11)
    spec = catalog.findings()["turnover.hr_rvu_production"]
    assert shown.rows == [
        ["S_01", spec.short, "[@shanafelt2017business; @han2019attributable]"],
        ["S_02", "not.declared here", ""],
    ]
    assert shown.header == ["Site", "Finding", "Source"]


def test_a_constant_text_column_stays_in_the_table_and_the_note_names_the_totals():
    df = pd.DataFrame(
        {"role": ["physician", "physician"], "sites": [12, 12], "clinicians": [40, "suppressed"]}
    )
    shown = tables.prepare(df, 11)
    assert "Role" in shown.header and "Sites" not in shown.header  # text stays, counts go
    assert shown.notes[-1].endswith("cannot be worked out from the totals.")


def test_constant_numbers_and_rates_are_noted_and_citations_align_left():
    df = pd.DataFrame(
        {
            "finding": ["turnover.hr_rvu_production", "x.y"],
            "source": ["han2019attributable", ""],
            "tenure_years": [5.0, 5.0],  # a number
            "rate_per_100": [2.5, 2.5],  # a rate
            "sites": [3, 4],
        }
    )
    shown = tables.prepare(df, 11)
    assert shown.header == ["Finding", "Source", "Sites"]
    assert len(shown.notes) == 2 and all(n.endswith(" in every row.") for n in shown.notes)
    assert shown.align == ["l", "l", "r"]


def test_a_text_column_read_as_missing_and_a_lone_interval_limit():
    df = pd.DataFrame({"comp_model": [float("nan"), "salary"], "hr": [1.2, 1.3]})
    shown = tables.prepare(df, 11)
    assert shown.rows[0][0] == "" and shown.rows[1][0] == "Salary"
    df["ci_low"] = [1.0, 1.1]  # no ci_high: not an interval, and a column without a label
    with pytest.raises(KeyError, match="no label for table column 'ci_low'"):
        tables.prepare(df, 11)


def test_a_one_row_table_wholly_suppressed_is_mostly_suppressed():
    df = pd.DataFrame({"site_id": ["A"], "clinicians": ["suppressed"]})
    assert tables.mostly_suppressed(tables.prepare(df, 11))
