"""The analyst's data template, generated from the contract: one Excel workbook (a README
sheet with the data dictionary, then one sheet per table with drop-down lists and date
formats) and the same tables as header-only CSV files.

``python -m helpers.data.template --out data/template`` (``make template``)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from helpers.data.contract import OPTIONAL_TABLES, REQUIRED_TABLES, SPECS, Table
from helpers.data.docs import DICTIONARY_COLUMNS, rows

BOOLEAN_CHOICES = ("yes", "no")
FORMATS = {"date": "yyyy-mm-dd", "month": "yyyy-mm"}
MAX_ROW = 5000  # rows that carry drop-downs and formats
HEADER = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="2F5597")


def _readme(wb: Workbook, specs: dict[str, Table]) -> None:
    ws = wb.active
    ws.title = "README"
    ws.append(["Data template: fill one sheet per table (or save each sheet as NAME.csv)."])
    ws.append(
        [
            f"Required tables: {', '.join(REQUIRED_TABLES)}. Optional: "
            f"{', '.join(OPTIONAL_TABLES)} (delete an optional sheet you do not have)."
        ]
    )
    ws.append(["Check the filled workbook with: make validate DATA=<folder with data.xlsx>"])
    ws.append([])
    for table, spec in specs.items():
        ws.append([table, spec.meaning])
    ws.append([])
    head = list(DICTIONARY_COLUMNS)
    ws.append(head)
    for cell in ws[ws.max_row]:
        cell.font, cell.fill = HEADER, HEADER_FILL
    for row in rows(specs):
        ws.append([row[k] for k in head])
    for col, width in zip("ABCDEFG", (16, 28, 70, 22, 50, 22, 18), strict=True):
        ws.column_dimensions[col].width = width
    ws["A1"].font = Font(bold=True, size=13)


def _table_sheet(wb: Workbook, spec: Table) -> None:
    ws = wb.create_sheet(spec.name)
    ws.append(list(spec.column_names))
    ws.freeze_panes = "A2"
    for i, col in enumerate(spec.columns, start=1):
        letter = get_column_letter(i)
        head = ws.cell(row=1, column=i)
        head.font, head.fill = HEADER, HEADER_FILL
        head.alignment = Alignment(horizontal="center")
        ws.column_dimensions[letter].width = max(14, len(col.name) + 4)
        area = f"{letter}2:{letter}{MAX_ROW}"
        choices = col.categories or (BOOLEAN_CHOICES if col.type == "boolean" else ())
        if choices:
            dv = DataValidation(
                type="list",
                formula1='"' + ",".join(choices) + '"',
                allow_blank=not col.required,
                showErrorMessage=True,
                errorTitle=col.name,
                error="Choose a value from the list.",
            )
            dv.add(area)
            ws.add_data_validation(dv)
        if col.type in FORMATS:
            # The column's style reaches rows typed later; cells pasted into keep theirs.
            ws.column_dimensions[letter].number_format = FORMATS[col.type]
            for r in range(2, 202):
                ws.cell(row=r, column=i).number_format = FORMATS[col.type]


def write(out: Path, specs: dict[str, Table] | None = None) -> list[Path]:
    """Write the template: ``data.xlsx`` and one header-only CSV per table.

    Parameters
    ----------
    out
        The folder to write into (created if needed).
    specs
        The tables (default: the contract's).

    Returns
    -------
    list of Path
        The files written: the workbook first, then ``csv/<table>.csv``.

    Examples
    --------
    >>> import tempfile
    >>> [p.name for p in write(Path(tempfile.mkdtemp()))][:2]
    ['data.xlsx', 'sites.csv']
    """
    specs = specs or SPECS
    out.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    _readme(wb, specs)
    for spec in specs.values():
        _table_sheet(wb, spec)
    book = out / "data.xlsx"
    wb.save(book)
    written = [book]
    csv_dir = out / "csv"
    csv_dir.mkdir(exist_ok=True)
    for table, spec in specs.items():
        path = csv_dir / f"{table}.csv"
        path.write_text(",".join(spec.column_names) + "\n", encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.data.template --out FOLDER`` (``make template``).

    Parameters
    ----------
    argv
        ``--out FOLDER`` (default: the command line; ``data/template``).

    Returns
    -------
    int
        0; the files written are printed.

    Examples
    --------
    >>> # main(["--out", "data/template"])
    """
    ap = argparse.ArgumentParser(prog="python -m helpers.data.template", description=__doc__)
    ap.add_argument("--out", default="data/template")
    args = ap.parse_args(argv)
    for path in write(Path(args.out)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
