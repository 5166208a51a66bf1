"""The analyst's template: a filled copy passes validation."""

import csv
import io

from openpyxl import load_workbook

from helpers.data.contract import SPECS
from helpers.data.template import write
from helpers.pipeline.run import Runner
from helpers.validate import validate_folder
from tests.conftest import VALID
from tests.quick import QUICK_PARAMS


def test_template_has_dictionary_sheets_and_dropdowns(tmp_path):
    write(tmp_path)
    wb = load_workbook(tmp_path / "data.xlsx")
    assert wb.sheetnames == ["README", *SPECS]
    readme = [[c.value for c in row] for row in wb["README"].iter_rows()]
    assert ["table", "column", "meaning", "type", "rules", "example", "unit"] in readme
    assert [
        "clinicians",
        "fte",
        "Contracted FTE, above 0 and at most 1.5",
        "number",
        "required; > 0; <= 1.5",
        "1.0",
        "FTE",
    ] in readme
    assert [
        "clinicians",
        "fte",
        "Contracted FTE, above 0 and at most 1.5",
        "number",
        "required; > 0; <= 1.5",
        "1.0",
    ] in [row[:6] for row in readme]
    for name, spec in SPECS.items():
        assert [c.value for c in wb[name][1]] == list(spec.column_names)
        assert (tmp_path / "csv" / f"{name}.csv").read_text().strip() == ",".join(spec.column_names)
    lists = [dv.formula1 for dv in wb["clinicians"].data_validations.dataValidation]
    assert any("advanced_practice" in f for f in lists)
    hire = list(SPECS["clinicians"].column_names).index("hire_date") + 1
    assert wb["clinicians"].cell(row=2, column=hire).number_format == "yyyy-mm-dd"
    assert wb["clinicians"].column_dimensions["F"].number_format == "yyyy-mm-dd"
    assert wb["access"].cell(row=2, column=2).number_format == "yyyy-mm"


def test_filled_template_passes_validation(tmp_path):
    write(tmp_path)
    book = tmp_path / "data.xlsx"
    wb = load_workbook(book)
    for name, text in VALID.items():
        rows = list(csv.reader(io.StringIO(text)))[1:]
        for row in rows:
            wb[name].append([v if v != "" else None for v in row])
    wb.save(book)
    folder = tmp_path / "filled"
    folder.mkdir()
    book.rename(folder / "data.xlsx")
    result = validate_folder(folder)
    assert result.ok, result.summary()
    assert result.tables == list(SPECS)


def test_filled_template_to_report(tmp_path):
    """The analyst's path: template, fill, validate, report (a tiny organization, so every
    people-based number is suppressed, but the report is built)."""
    test_filled_template_passes_validation(tmp_path)
    out = tmp_path / "report"
    log = (tmp_path / "log.txt").open("w")
    assert (
        Runner(
            tmp_path / "filled", out, overrides=QUICK_PARAMS, cache_dir=tmp_path / "cache", log=log
        ).run()
        == 0
    ), (tmp_path / "log.txt").read_text()
    assert (out / "report.html").exists() and (out / "report.pdf").exists()
    assert "not shown (fewer than 11 people or events)" in (out / "report.html").read_text()
