"""The analyst's data template: one Excel workbook (a README sheet with the data dictionary,
then one sheet per table) and the same tables as header-only CSV files.

``python -m helpers.template --out data/template``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from helpers.contract import SPECS
from helpers.dictionary import TABLE_MEANING, rows

BOOLEAN_CHOICES = ("yes", "no")
FORMATS = {"date": "yyyy-mm-dd", "month": "yyyy-mm"}
MAX_ROW = 5000  # rows that carry drop-downs and formats
HEADER = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="2F5597")


def _readme(wb: Workbook) -> None:
    ws = wb.active
    ws.title = "README"
    ws.append(["Data template: fill one sheet per table (or save each sheet as NAME.csv)."])
    ws.append(
        [
            "Required tables: sites, management, clinicians, access. Optional: survey, "
            "time_allocation, encounters (delete an optional sheet you do not have)."
        ]
    )
    ws.append(["Check the filled workbook with: make validate DATA=<folder with data.xlsx>"])
    ws.append([])
    for table, meaning in TABLE_MEANING.items():
        ws.append([table, meaning])
    ws.append([])
    head = ["table", "column", "meaning", "type", "rules", "example"]
    ws.append(head)
    for cell in ws[ws.max_row]:
        cell.font, cell.fill = HEADER, HEADER_FILL
    for row in rows():
        ws.append([row[k] for k in head])
    for col, width in zip("ABCDEF", (16, 28, 70, 22, 50, 22), strict=True):
        ws.column_dimensions[col].width = width
    ws["A1"].font = Font(bold=True, size=13)


def _table_sheet(wb: Workbook, table: str) -> None:
    ws = wb.create_sheet(table)
    spec = SPECS[table]
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


def write(out: Path) -> list[Path]:
    """Write ``data.xlsx`` and one header-only CSV per table into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    _readme(wb)
    for table in SPECS:
        _table_sheet(wb, table)
    book = out / "data.xlsx"
    wb.save(book)
    written = [book]
    csv_dir = out / "csv"
    csv_dir.mkdir(exist_ok=True)
    for table, spec in SPECS.items():
        path = csv_dir / f"{table}.csv"
        path.write_text(",".join(spec.column_names) + "\n", encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m helpers.template", description=__doc__)
    ap.add_argument("--out", default="data/template")
    args = ap.parse_args(argv)
    for path in write(Path(args.out)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
