"""Property-based tests of reading and validating a data folder.

Hypothesis writes small data folders that keep the data contract, in every accepted spelling
and file format, and checks that they validate and load back to the values written. It then
breaks one thing in such a folder and checks that the answer is either the correct tables or
the contract's error message naming the file, never a traceback.

Expected values come from the generated values and from an oracle written here from the data
contract (``parse`` and ``rule_violations``), never from another call of the loader.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from unittest import mock

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from helpers.data import open_dataset
from helpers.data.contract import (
    ACTIVITIES,
    COMP_MODELS,
    EXIT_REASONS,
    OPTIONAL_TABLES,
    REQUIRED_TABLES,
    ROLES,
    SPECS,
    TABLES,
    Column,
)
from helpers.validate import DataError, main

TODAY = date.today()
FIRST_DAY = date(1950, 1, 1)
LAST_PLANNED_DAY = date(2262, 4, 11)  # management.effective_to may lie ahead
FUTURE_ALLOWED = {("management", "effective_to")}
NA_WORDS = ["NA", "N/A", "n/a", "None", "null", "NULL", "nan", "NaN", "#NA", "<NA>", "-nan"]
EXCEL_ERRORS = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"}
TRUE_WORDS = ("true", "yes", "y", "1")
FALSE_WORDS = ("false", "no", "n", "0")
# Also read as booleans, beyond the contract's list (a spreadsheet's 1.0, a database's t/f).
TRUE_EXTRA, FALSE_EXTRA = ("t", "1.0"), ("f", "0.0")
SETTINGS = ("primary_care", "psychiatry", "behavioral_health", "specialty")
UNIQUE_TABLES = [t for t in TABLES if SPECS[t].unique]
REFERRING_TABLES = [t for t in TABLES if "site_id" in SPECS[t].references]

PROPERTY_SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


# -- strategies: values --------------------------------------------------------------------
def _keep(s: str) -> bool:
    """Text a spreadsheet stores as text: not a formula, not an error value."""
    return bool(s) and not s.startswith("=") and s not in EXCEL_ERRORS


ID_CHARS = st.characters(categories=["L", "N", "P", "S", "Zs"])
TEXT_CHARS = st.characters(categories=["L", "N", "P", "S", "Zs"], include_characters="\n")


def idents() -> st.SearchStrategy[str]:
    """Identifiers as organizations write them (never with surrounding spaces: those are
    added by the spelling)."""
    return (
        st.one_of(
            st.from_regex(r"[A-Z]{1,2}[0-9]{1,3}", fullmatch=True),
            st.integers(0, 999).map(lambda i: f"{i:03d}"),  # leading zeros stay
            st.text(ID_CHARS, min_size=1, max_size=6),
            st.sampled_from([*NA_WORDS, "TRUE", "1.0", "1e3", "0", "-0", "S 1", "Ünïcødé 7"]),
        )
        .map(str.strip)
        .filter(_keep)
    )


def free_texts() -> st.SearchStrategy[str]:
    return (
        st.one_of(st.text(TEXT_CHARS, min_size=1, max_size=10), st.sampled_from(NA_WORDS))
        .map(str.strip)
        .filter(_keep)
    )


def numbers(lo: float, hi: float, exclude_min: bool = False) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, exclude_min=exclude_min, allow_nan=False, allow_infinity=False).filter(
        lambda x: not (x == 0 and math.copysign(1, x) < 0)
    )  # no -0.0: 0 is written


def dates(lo: date = FIRST_DAY, hi: date = TODAY) -> st.SearchStrategy[date]:
    return st.dates(lo, hi)


def months() -> st.SearchStrategy[date]:
    return dates().map(lambda d: d.replace(day=1))


def optional(s: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.none(), s)


# -- strategies: tables as values (one dict per row, contract column -> value) --------------
@st.composite
def site_rows(draw, ids: list[str]) -> list[dict]:
    return [
        {
            "site_id": i,
            "site_name": draw(optional(free_texts())),
            "region": draw(optional(free_texts())),
            "setting": draw(st.one_of(st.sampled_from(SETTINGS), free_texts())),
            "population_served": draw(optional(st.integers(0, 10**7))),
        }
        for i in ids
    ]


@st.composite
def management_rows(draw, ids: list[str]) -> list[dict]:
    rows = []
    for site in ids:
        k = draw(st.integers(0 if rows or site != ids[-1] else 1, 3))
        starts = sorted(draw(st.lists(dates(), min_size=k, max_size=k, unique=True)))
        for i, start in enumerate(starts):
            if i + 1 < len(starts):  # ends before the next period starts
                end = draw(dates(start, starts[i + 1] - timedelta(days=1)))
            else:
                end = draw(optional(dates(start, LAST_PLANNED_DAY)))
            rows.append(
                {
                    "site_id": site,
                    "effective_from": start,
                    "effective_to": end,
                    "comp_model": draw(st.sampled_from(COMP_MODELS)),
                    "rvu_target_annual": draw(optional(numbers(0, 10_000))),
                    "pct_comp_productivity": draw(numbers(0, 100)),
                    "team_based_care": draw(st.booleans()),
                    "support_staff_per_clinician": draw(numbers(0, 10)),
                    "clinician_in_governance": draw(st.booleans()),
                    "admin_shadowing": draw(st.booleans()),
                    "protected_time_pct": draw(numbers(0, 100)),
                }
            )
    return draw(st.permutations(rows))


@st.composite
def clinician_rows(draw, ids: list[str]) -> list[dict]:
    people = draw(st.lists(idents(), min_size=1, max_size=3, unique=True))

    @st.composite
    def spell(draw) -> dict:
        hired = draw(dates())
        left = draw(optional(dates(hired, TODAY)))
        return {
            "clinician_id": draw(st.sampled_from(people)),
            "site_id": draw(st.sampled_from(ids)),
            "role": draw(st.sampled_from(ROLES)),
            "specialty": draw(optional(free_texts())),
            "fte": draw(numbers(0, 1.5, exclude_min=True)),
            "hire_date": hired,
            "exit_date": left,
            "exit_reason": draw(st.sampled_from(EXIT_REASONS)) if left else None,
        }

    return draw(
        st.lists(
            spell(), min_size=1, max_size=4, unique_by=lambda r: (r["clinician_id"], r["hire_date"])
        )
    )


@st.composite
def access_rows(draw, ids: list[str]) -> list[dict]:
    keys = draw(
        st.lists(st.tuples(st.sampled_from(ids), months()), min_size=1, max_size=4, unique=True)
    )
    return [
        {
            "site_id": site,
            "month": month,
            "third_next_available_days": draw(numbers(0, 365)),
            "new_patient_wait_days": draw(optional(numbers(0, 365))),
            "visits": draw(st.integers(0, 100_000)),
            "no_show_rate": draw(optional(numbers(0, 1))),
            "panel_size": draw(optional(st.integers(0, 100_000))),
            "budgeted_clinician_fte": draw(numbers(0, 50)),
            "filled_clinician_fte": draw(numbers(0, 50)),
        }
        for site, month in keys
    ]


@st.composite
def survey_rows(draw, ids: list[str]) -> list[dict]:
    responses = draw(st.lists(idents(), min_size=1, max_size=3, unique=True))
    score = st.integers(1, 5)
    return [
        {
            "response_id": r,
            "site_id": draw(st.sampled_from(ids)),
            "survey_date": draw(dates()),
            "clinician_id": draw(optional(idents())),
            "role": draw(st.sampled_from(ROLES)),
            "burnout": draw(score),
            "intent_to_leave": draw(score),
            "ehr_time_at_home": draw(optional(score)),
            "trust_in_leadership": draw(optional(score)),
            "control_over_workload": draw(optional(score)),
            "teamwork": draw(optional(score)),
            "values_alignment": draw(optional(score)),
        }
        for r in responses
    ]


@st.composite
def time_allocation_rows(draw, ids: list[str]) -> list[dict]:
    n = draw(st.integers(1, 3))
    return [
        {
            "clinician_id": draw(idents()),
            "site_id": draw(st.sampled_from(ids)),
            "month": draw(months()),
            "activity": draw(st.sampled_from(ACTIVITIES)),
            "minutes": draw(numbers(0, 100_000)),
            "after_hours": draw(st.booleans()),
        }
        for _ in range(n)
    ]


@st.composite
def encounter_rows(draw, ids: list[str]) -> list[dict]:
    encounters = draw(st.lists(idents(), min_size=1, max_size=3, unique=True))
    code = st.from_regex(r"[0-9]{5}|[A-Z][0-9]{4}", fullmatch=True)
    rows = []
    for e in encounters:
        total = draw(numbers(0, 600, exclude_min=True))
        rows.append(
            {
                "encounter_id": e,
                "clinician_id": draw(idents()),
                "site_id": draw(st.sampled_from(ids)),
                "date": draw(dates()),
                "cpt_codes": ";".join(draw(st.lists(code, min_size=1, max_size=3))),
                "minutes_total": total,
                "minutes_uncredited": draw(numbers(0, total)),
                "work_rvu": draw(optional(numbers(0, 20))),
            }
        )
    return rows


ROWS = {
    "sites": site_rows,
    "management": management_rows,
    "clinicians": clinician_rows,
    "access": access_rows,
    "survey": survey_rows,
    "time_allocation": time_allocation_rows,
    "encounters": encounter_rows,
}


# -- the folder model ----------------------------------------------------------------------
@dataclass
class Tab:
    """One table as written: a file (or a sheet of the workbook) with raw cells."""

    name: str
    fmt: str  # csv | parquet | xlsx | workbook
    filename: str  # file name, or the sheet name for fmt == "workbook"
    headers: list[str]  # column names as written, in file order
    contract: dict[str, str]  # written name -> contract column ("" for extra columns)
    rows: list[dict[str, object] | None]  # written name -> raw cell; None is a blank row
    values: list[dict[str, object] | None]  # contract column -> value (None = missing)
    workbook: str = ""
    bom: bool = False
    newline: str = "\n"
    blank_lines: bool = False  # CSV blank rows as empty lines (else as bare commas)
    unreadable: set[tuple[int, str]] = field(default_factory=set)  # cells of the wrong type

    @property
    def label(self) -> str:
        return (
            f"{self.workbook} [sheet {self.filename}]" if self.fmt == "workbook" else self.filename
        )

    @property
    def file(self) -> str:
        return self.workbook if self.fmt == "workbook" else self.filename

    def header_of(self, column: str) -> str:
        return next(h for h, c in self.contract.items() if c == column)

    def data_rows(self) -> list[int]:
        return [i for i, r in enumerate(self.rows) if r is not None]

    @staticmethod
    def row_number(i: int) -> int:
        """As the analyst sees it: the header is row 1."""
        return i + 2


@dataclass
class Folder:
    tabs: dict[str, Tab]
    workbook: str = "data.xlsx"
    readme_sheet: bool = False

    def describe(self) -> str:
        out = []
        for tab in self.tabs.values():
            out.append(f"{tab.label} ({tab.fmt}): {tab.headers}")
            out.extend(f"  {r!r}" for r in tab.rows)
        return "\n".join(out)


def case_spelling(draw, s: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(s), max_size=len(s)))
    return "".join(c.upper() if f else c.lower() for c, f in zip(s, flips, strict=True))


def padded(draw, s: str) -> str:
    pad = st.sampled_from(["", "", " ", "  "])
    return draw(pad) + s + draw(pad)


def number_text(draw, x: float) -> str:
    choices = [repr(x)]
    if x.is_integer() and abs(x) < 1e15:
        choices.append(str(int(x)))
    return padded(draw, draw(st.sampled_from(choices)))


def spell(draw, col: Column, value: object, target: str) -> object:
    """A raw cell for ``value``. ``target``: "text" (CSV, or a Parquet text column),
    "date" / "datetime" (a typed Parquet column, dates as date or datetime), "excel"."""
    excel = target == "excel"
    if excel:
        target = draw(st.sampled_from(["text", "date", "datetime"]))
    native = target != "text"
    if value is None:
        return None if native else draw(st.sampled_from(["", "  ", None]))
    t = col.type
    if t == "string":
        return padded(draw, value)
    if t == "category":
        return padded(draw, case_spelling(draw, value))
    if t == "number":
        return float(value) if native else number_text(draw, value)
    if t == "integer":
        return int(value) if native else draw(st.sampled_from([str(value), f"{value}.0"]))
    if t == "boolean":
        if native:  # a spreadsheet may hold 1/0
            return draw(st.sampled_from([value, int(value)])) if excel else value
        word = draw(st.sampled_from(TRUE_WORDS if value else FALSE_WORDS))
        return padded(draw, case_spelling(draw, word))
    if t == "month":  # any day of the month
        last = (value.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        day = draw(dates(value, last))
        if native:
            return datetime.combine(day, time()) if target == "datetime" else day
        return draw(st.sampled_from([value.isoformat()[:7], day.isoformat()]))
    if t == "date":
        if native:
            return datetime.combine(value, time()) if target == "datetime" else value
        return value.isoformat() + draw(st.sampled_from(["", "", " 00:00:00", "T00:00"]))
    raise AssertionError(t)


@st.composite
def tabs(draw, name: str, values: list[dict], fmt: str) -> Tab:
    spec = SPECS[name]
    extra_names = draw(
        st.lists(
            st.from_regex(r"[A-Za-z][A-Za-z0-9 _]{0,8}", fullmatch=True).map(lambda s: "x " + s),
            max_size=2,
            unique_by=lambda s: s.strip().lower(),
        )
    )
    contract = {padded(draw, case_spelling(draw, c)): c for c in spec.column_names}
    contract.update({e: "" for e in extra_names})
    headers = draw(st.permutations(list(contract)))
    target = {}
    for h, c in contract.items():
        if fmt == "csv" or not c:
            target[h] = "text"
        elif fmt == "parquet":
            target[h] = draw(st.sampled_from(["text", "date", "datetime"]))
        else:
            target[h] = "excel"
    if fmt in ("xlsx", "workbook"):  # the values the workbook holds
        values = [{c: excel_number(x) for c, x in v.items()} for v in values]
    rows: list[dict[str, object] | None] = []
    for v in values:
        row = {}
        for h in headers:
            c = contract[h]
            if c:
                row[h] = spell(draw, spec.column(c), v[c], target[h])
            else:
                row[h] = draw(st.one_of(st.none(), free_texts(), st.integers(-100, 100)))
        rows.append(row)
    expected: list[dict | None] = list(values)
    blanks = draw(st.lists(st.integers(0, len(rows)), max_size=1))
    for at in sorted(blanks, reverse=True):  # formatted but empty rows
        rows.insert(at, None)
        expected.insert(at, None)
    suffix = {"csv": ".csv", "parquet": ".parquet", "xlsx": ".xlsx", "workbook": ""}[fmt]
    stem = case_spelling(draw, name)
    return Tab(
        name=name,
        fmt=fmt,
        filename=stem + (case_spelling(draw, suffix) if draw(st.booleans()) else suffix),
        headers=headers,
        contract=contract,
        rows=rows,
        values=expected,
        bom=fmt == "csv" and draw(st.booleans()),
        newline=draw(st.sampled_from(["\n", "\r\n"])),
        blank_lines=draw(st.booleans()),
    )


@st.composite
def folders(draw) -> Folder:
    ids = draw(st.lists(idents(), min_size=1, max_size=3, unique=True))
    names = [*REQUIRED_TABLES, *(t for t in OPTIONAL_TABLES if draw(st.booleans()))]
    # Excel is slow to write and read: in about a third of the folders only.
    excel = draw(st.sampled_from([False, False, True]))
    formats = ["csv", "csv", "parquet", "xlsx", "workbook"] if excel else ["csv", "parquet"]
    workbook = case_spelling(draw, "data") + case_spelling(draw, ".xlsx")
    out = {}
    for name in names:
        values = draw(ROWS[name](ids))
        tab = draw(tabs(name, values, draw(st.sampled_from(formats))))
        tab.workbook = workbook
        out[name] = tab
    return Folder(out, workbook, readme_sheet=draw(st.booleans()))


# -- writing -------------------------------------------------------------------------------
def as_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


INT64 = 2**63


def stored_column(tab: Tab, header: str) -> list[object]:
    """The cells of one column as the file stores them (None for blank rows)."""
    raw = [None if r is None else r[header] for r in tab.rows]
    if tab.fmt == "csv":
        return [as_text(v) for v in raw]
    if tab.fmt == "parquet":
        kinds = {type(v) for v in raw if v is not None}
        big = any(isinstance(v, int) and not -INT64 <= v < INT64 for v in raw)
        if len(kinds) > 1 or big:  # a Parquet column has one type: write it as text
            return [None if v is None else as_text(v) for v in raw]
        return raw
    out = []
    for v in raw:  # Excel: no NaN/inf cells, numbers are doubles
        bad_float = isinstance(v, float) and not math.isfinite(v)
        big_int = isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**53
        out.append(as_text(v) if bad_float or big_int else excel_number(v))
    return out


def excel_number(v: object) -> object:
    """openpyxl writes a float with 16 significant digits."""
    return float(f"{v:.16g}") if isinstance(v, float) else v


def write_csv(path: Path, tab: Tab) -> None:
    cols = [stored_column(tab, h) for h in tab.headers]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=tab.newline)
    w.writerow(tab.headers)
    for i, row in enumerate(tab.rows):
        if row is None and tab.blank_lines:
            buf.write(tab.newline)
        else:
            w.writerow([c[i] for c in cols])
    path.write_bytes((b"\xef\xbb\xbf" if tab.bom else b"") + buf.getvalue().encode("utf-8"))


def write_parquet(path: Path, tab: Tab) -> None:
    pq.write_table(pa.table({h: pa.array(stored_column(tab, h)) for h in tab.headers}), path)


def write_xlsx(path: Path, sheets: list[Tab], readme: bool = False) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    if readme:
        wb.create_sheet("README").append(["One sheet per table."])
    for tab in sheets:
        ws = wb.create_sheet(tab.filename if tab.fmt == "workbook" else "Sheet1")
        ws.append(tab.headers)
        cols = [stored_column(tab, h) for h in tab.headers]
        for i, row in enumerate(tab.rows):
            ws.append([] if row is None else [c[i] for c in cols])
    wb.save(path)


def write_folder(path: Path, folder: Folder) -> None:
    path.mkdir(parents=True, exist_ok=True)
    for tab in folder.tabs.values():
        if tab.fmt == "csv":
            write_csv(path / tab.filename, tab)
        elif tab.fmt == "parquet":
            write_parquet(path / tab.filename, tab)
        elif tab.fmt == "xlsx":
            write_xlsx(path / tab.filename, [tab])
    sheets = [t for t in folder.tabs.values() if t.fmt == "workbook"]
    if sheets:
        write_xlsx(path / folder.workbook, sheets, folder.readme_sheet)


@contextlib.contextmanager
def written(folder: Folder):
    """A temporary data folder holding ``folder``, with its own validation cache."""
    with tempfile.TemporaryDirectory() as tmp:
        with mock.patch.dict(os.environ, {"HELPERS_CACHE": str(Path(tmp) / "cache")}):
            path = Path(tmp) / "data"
            write_folder(path, folder)
            yield path


# -- the oracle: what the contract says a stored cell means ---------------------------------
NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
DATE_TEXT_RE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[ T]00:00(?::00(?:\.0+)?)?)?")
MONTH_TEXT_RE = re.compile(r"([0-9]{4})-([0-9]{2})")


@dataclass(frozen=True)
class Parsed:
    status: str  # ok | missing | bad | either (either: the contract does not say)
    value: object = None
    rule: str = ""  # for bad: type | range | future


MISSING = Parsed("missing")
EITHER = Parsed("either")


def bad(rule: str, value: object = None) -> Parsed:
    """A cell that breaks a rule; out of range or in the future, it still has its value for
    the rules across rows (a cell of the wrong type has none)."""
    return Parsed("bad", value, rule)


def _day(v: object) -> date | None | Parsed:
    if isinstance(v, datetime):
        return v.date() if v.time() == time() else EITHER
    if isinstance(v, date):
        return v
    if isinstance(v, str):
        m = DATE_TEXT_RE.fullmatch(v.strip())
        if not m:
            return None
        try:
            return date.fromisoformat(m.group(1))
        except ValueError:
            return None
    return None


def parse(col: Column, v: object, table: str) -> Parsed:
    """The meaning of one stored cell under the data contract."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return MISSING
    if isinstance(v, str) and not v.strip():
        return MISSING
    t = col.type
    if t in ("string", "category"):
        if isinstance(v, bool | date):
            return EITHER
        if isinstance(v, float):
            text = str(int(v)) if v.is_integer() else repr(v)
        else:
            text = str(v).strip()
        if t == "category":
            text = text.lower()
            return Parsed("ok", text) if text in col.categories else bad("range", text)
        return Parsed("ok", text)
    if t in ("number", "integer"):
        if isinstance(v, bool | date):
            return EITHER
        if isinstance(v, str):
            text = v.strip().replace(",", "")  # thousands separators
            if not NUMBER_RE.fullmatch(text):
                return bad("type")
            x = float(text)
        else:
            try:
                x = float(v)
            except OverflowError:
                return bad("type")
        if not math.isfinite(x):
            return bad("type")
        if t == "integer":
            if not x.is_integer():
                return bad("type")
            if abs(x) >= 2**53:
                return EITHER
            x = int(x)
        too_low = col.min is not None and (x <= col.min if col.min_exclusive else x < col.min)
        if too_low or (col.max is not None and x > col.max):
            return bad("range", x)
        return Parsed("ok", x)
    if t in ("date", "month"):
        d = _day(v)
        if isinstance(d, Parsed):
            return d
        if d is None and t == "month" and isinstance(v, str):
            m = MONTH_TEXT_RE.fullmatch(v.strip())
            if m and 1 <= int(m.group(2)) <= 12 and int(m.group(1)) >= 1:
                d = date(int(m.group(1)), int(m.group(2)), 1)
        if d is None:
            return bad("type")
        if not 1678 <= d.year <= 2261:  # beyond what pandas timestamps hold
            return EITHER
        if t == "month":
            d = d.replace(day=1)
        if (table, col.name) not in FUTURE_ALLOWED and d > TODAY:
            return bad("future", d)
        return Parsed("ok", d)
    if t == "boolean":
        if isinstance(v, bool):
            return Parsed("ok", v)
        if isinstance(v, int | float):
            return Parsed("ok", bool(v)) if v in (0, 1) else bad("type")
        if isinstance(v, str):
            word = v.strip().lower()
            if word in TRUE_WORDS + TRUE_EXTRA:
                return Parsed("ok", True)
            if word in FALSE_WORDS + FALSE_EXTRA:
                return Parsed("ok", False)
        return bad("type")
    raise AssertionError(t)


RULE_KIND = [
    ("required column missing", "column"),
    ("required (empty cell)", "required"),
    ("must not be in the future", "future"),
    ("must be unique", "unique"),
    ("must exist in sites", "reference"),
    ("must be >= effective_from", "order"),
    ("must be >= hire_date", "order"),
    ("periods of one site must not overlap", "overlap"),
    ("missing exactly when", "exit"),
    ("must be <= minutes_total", "minutes"),
    ("must be one of", "range"),
    ("must be >", "range"),
    ("must be <", "range"),
    ("must be a", "type"),
    ("must be true/false", "type"),
]


def rule_kind(rule: str) -> str:
    return next((k for words, k in RULE_KIND if words in rule), rule)


Expected = dict[tuple[str, str, str], set[int]]  # (file label, column, rule kind) -> rows


def rule_violations(folder: Folder, loaded: set[str]) -> Expected:
    """Rules across rows and tables, from the values (cells of the wrong type count as
    missing, except where the contract says that rows whose cell cannot be read are not
    compared: the overlap of periods and exit_reason against exit_date)."""
    out: Expected = {}

    def add(tab: Tab, column: str, kind: str, i: int) -> None:
        out.setdefault((tab.label, column, kind), set()).add(tab.row_number(i))

    sites = folder.tabs["sites"]
    site_ids = (
        {v["site_id"] for v in sites.values if v and v["site_id"] is not None}
        if "sites" in loaded
        else None
    )
    for name, tab in folder.tabs.items():
        if name not in loaded:
            continue
        spec = SPECS[name]
        rows = [(i, v) for i, v in enumerate(tab.values) if v is not None]
        for key in spec.unique:
            groups: dict[tuple, list[int]] = {}
            for i, v in rows:
                k = tuple(v[c] for c in key)
                if None not in k:
                    groups.setdefault(k, []).append(i)
            for members in groups.values():
                if len(members) > 1:
                    for i in members:
                        add(tab, ", ".join(key), "unique", i)
        if site_ids is not None and "site_id" in spec.references:
            for i, v in rows:
                if v["site_id"] is not None and v["site_id"] not in site_ids:
                    add(tab, "site_id", "reference", i)
        if name == "management":
            for i, v in rows:
                if None not in (v["effective_to"], v["effective_from"]):
                    if v["effective_to"] < v["effective_from"]:
                        add(tab, "effective_to", "order", i)
            for i, a in rows:  # a period starting within an earlier-starting one
                for j, b in rows:
                    if (
                        i == j
                        or a["site_id"] != b["site_id"]
                        or None
                        in (
                            a["effective_from"],
                            b["effective_from"],
                        )
                        or {(k, c) for k in (i, j) for c in ("effective_from", "effective_to")}
                        & tab.unreadable
                    ):
                        continue
                    b_end = b["effective_to"] or date.max
                    if b["effective_from"] <= a["effective_from"] <= b_end:
                        add(tab, "effective_from", "overlap", i)
                        add(tab, "effective_from", "overlap", j)
        if name == "clinicians":
            for i, v in rows:
                if None not in (v["exit_date"], v["hire_date"]):
                    if v["exit_date"] < v["hire_date"]:
                        add(tab, "exit_date", "order", i)
                if (i, "exit_date") in tab.unreadable:
                    continue
                if (v["exit_date"] is None) != (v["exit_reason"] is None):
                    add(tab, "exit_reason", "exit", i)
        if name == "encounters":
            for i, v in rows:
                if None not in (v["minutes_uncredited"], v["minutes_total"]):
                    if v["minutes_uncredited"] > v["minutes_total"]:
                        add(tab, "minutes_uncredited", "minutes", i)
    return out


def actual_violations(error: DataError | None) -> Expected:
    if error is None:
        return {}
    out: Expected = {}
    for v in error.result.errors:
        out.setdefault((v.file, v.column, rule_kind(v.rule)), set()).update(v.rows)
    return out


# -- checking loaded tables ----------------------------------------------------------------
def _is_missing(x: object) -> bool:
    return x is None or x is pd.NA or x is pd.NaT or (isinstance(x, float) and math.isnan(x))


def same(col: Column, got: object, want: object) -> bool:
    if want is None:
        return _is_missing(got)
    if _is_missing(got):
        return False
    if col.type in ("date", "month"):
        return isinstance(got, pd.Timestamp) and got == pd.Timestamp(want)
    if col.type in ("string", "category"):
        return isinstance(got, str) and got == want
    if col.type == "boolean":
        return bool(got) is want
    if col.type == "integer":
        return int(got) == want and float(got).is_integer()
    return float(got) == want  # numbers: exactly the value written


def check_tables(ds, folder: Folder, only: set[str] | None = None) -> None:
    """Every loaded value equals the value the folder model says was written."""
    assert ds.meta["tables"] == [t for t in TABLES if t in folder.tabs]
    for name, tab in folder.tabs.items():
        if only is not None and name not in only:
            continue
        spec = SPECS[name]
        df = ds.table(name)
        assert list(df.columns) == list(spec.column_names)
        written_rows = tab.data_rows()
        assert len(df) == len(written_rows), f"{tab.label}: {len(df)} rows loaded"
        for col in spec.columns:
            got = df[col.name].tolist()
            raw = [tab.rows[i][tab.header_of(col.name)] for i in written_rows]
            for k, i in enumerate(written_rows):
                want = tab.values[i][col.name]
                assert same(col, got[k], want), (
                    f"{tab.label} row {tab.row_number(i)} column {col.name}: "
                    f"wrote {raw[k]!r}, expected {want!r}, loaded {got[k]!r}"
                )


def expected_extras(folder: Folder) -> dict[str, list[str]]:
    return {
        t.label: [h for h in t.headers if not t.contract[h]]
        for t in folder.tabs.values()
        if any(not t.contract[h] for h in t.headers)
    }


# -- property: valid folders ---------------------------------------------------------------
@settings(max_examples=30, **PROPERTY_SETTINGS)
@given(folder=folders())
def test_valid_folders_validate_and_load_the_values_written(folder):
    note(folder.describe())
    with written(folder) as path:
        try:
            ds = open_dataset(path)
        except DataError as exc:
            raise AssertionError(f"a valid folder was rejected:\n{exc}") from None
        check_tables(ds, folder)
        assert ds.meta["extra_columns"] == expected_extras(folder)


# -- property: one corruption --------------------------------------------------------------
@dataclass
class Corruption:
    kind: str  # cell | duplicate | unknown_site | drop_column | truncate | bytes
    table: str
    cells: list[tuple[int, str, object]] = field(default_factory=list)  # row, column, raw
    column: str = ""  # drop_column: the written name
    cut: float = 0.0  # truncate: fraction of the file kept
    noise: bytes = b""  # bytes: written over the file at ``cut``

    def describe(self) -> str:
        return f"{self.kind} in {self.table}: {self.cells or self.column or (self.cut, self.noise)}"


TRICKY = [
    *("inf", "-inf", "Infinity", "nan", "NaN", "1e309", "-1e309", "1,5", "1,000", "1_000"),
    *("0x10", "1e5", "+3", ".5", "5.", "−1", "١٢", "12 %", "$5", "1 000", "-0.0"),
    *("2020-02-30", "2019-13", "2019-02-29", "2020-02-29", "0000-01-01", "9999-12-31"),
    *("2019-1-5", "2019/01/05", "05/01/2019", "2019-01-01T00:00:00Z", "2019-01-01 13:45"),
    *("TRUE", "False", "Yes", "oui", "t", "F", "1.0", "0.0", "2", "-1", " ", *NA_WORDS),
]


def out_of_range(col: Column, table: str) -> st.SearchStrategy:
    if col.type in ("number", "integer") and (col.min is not None or col.max is not None):
        options = []
        if col.min is not None:
            edge = col.min if col.min_exclusive else col.min - 1
            options.append(st.just(edge))
            options.append(st.floats(-1e6, col.min, exclude_max=not col.min_exclusive))
        if col.max is not None:
            options.append(st.floats(col.max, 1e6, exclude_min=True))
        return st.one_of(options)
    if col.type == "category":
        return st.text(ID_CHARS, min_size=1, max_size=8).filter(_keep)
    if col.type in ("date", "month"):
        return dates(TODAY + timedelta(days=32), date(2100, 1, 1)).map(date.isoformat)
    if col.type == "boolean":
        return st.sampled_from(["maybe", "2", "-1", "yes please"])
    return st.just("")


def junk_texts() -> st.SearchStrategy[str]:
    chars = st.characters(exclude_categories=["Cs", "Cc"], include_characters="\n\t")
    return st.text(chars, max_size=12).filter(lambda s: not s.startswith("="))


@st.composite
def corruptions(draw, folder: Folder) -> Corruption:
    kind = draw(
        st.sampled_from(
            [
                "cell",
                "cell",
                "cell",
                "duplicate",
                "unknown_site",
                "drop_column",
                "truncate",
                "bytes",
            ]
        )
    )
    names = list(folder.tabs)
    if kind == "duplicate":
        names = [
            t for t in UNIQUE_TABLES if t in folder.tabs and len(folder.tabs[t].data_rows()) > 1
        ]
    if kind == "unknown_site":
        names = [t for t in REFERRING_TABLES if t in folder.tabs]
    if not names:
        kind, names = "cell", list(folder.tabs)
    name = draw(st.sampled_from(names))
    tab = folder.tabs[name]
    spec = SPECS[name]
    c = Corruption(kind, name)
    if kind == "cell":
        i = draw(st.sampled_from(tab.data_rows()))
        col = spec.column(draw(st.sampled_from(spec.column_names)))
        raw = draw(
            st.one_of(
                junk_texts(),
                st.floats(),
                st.integers(),
                st.sampled_from(["", "   ", None]),
                out_of_range(col, name),
                st.sampled_from(TRICKY),
            )
        )
        c.cells = [(i, col.name, raw)]
    elif kind == "duplicate":
        i, j = draw(st.lists(st.sampled_from(tab.data_rows()), min_size=2, max_size=2, unique=True))
        key = draw(st.sampled_from(spec.unique))
        c.cells = [(i, k, tab.rows[j][tab.header_of(k)]) for k in key]
    elif kind == "unknown_site":
        i = draw(st.sampled_from(tab.data_rows()))
        known = {v["site_id"] for v in folder.tabs["sites"].values if v}
        c.cells = [(i, "site_id", draw(idents().filter(lambda s: s not in known)))]
    elif kind == "drop_column":
        c.column = draw(st.sampled_from(tab.headers))
    else:
        c.cut = draw(st.floats(0, 1, exclude_max=True))
        if kind == "bytes":
            c.noise = draw(st.binary(min_size=1, max_size=64))
    return c


def apply(folder: Folder, c: Corruption) -> tuple[Folder, Expected, bool]:
    """The corrupted folder model, the violations the contract predicts, and whether the
    prediction is exact (False: the contract leaves the outcome open)."""
    folder = copy.deepcopy(folder)
    tab = folder.tabs[c.table]
    spec = SPECS[c.table]
    expected: Expected = {}
    exact = True
    loaded = set(folder.tabs)
    if c.kind == "drop_column":
        ours = tab.contract.pop(c.column)
        tab.headers.remove(c.column)
        for row in tab.rows:
            if row is not None:
                del row[c.column]
        if ours:
            expected[(tab.label, ours, "column")] = set()
            loaded.discard(c.table)
    for i, column, raw in c.cells:
        tab.rows[i][tab.header_of(column)] = raw
    for i, column, _ in c.cells:
        col = spec.column(column)
        stored = stored_column(tab, tab.header_of(column))[i]
        p = parse(col, stored, c.table)
        exact = exact and p.status != "either"
        tab.values[i] = {**tab.values[i], column: p.value}
        if p.status == "bad" and p.rule == "type":
            tab.unreadable.add((i, column))
        if p.status == "bad":
            expected.setdefault((tab.label, column, p.rule), set()).add(tab.row_number(i))
        if p.status == "missing" and col.required:
            expected.setdefault((tab.label, column, "required"), set()).add(tab.row_number(i))
    for key, rows in rule_violations(folder, loaded).items():
        expected.setdefault(key, set()).update(rows)
    return folder, expected, exact


def damage(path: Path, folder: Folder, c: Corruption) -> str:
    """Truncate the table's file or write random bytes into it; returns the file name."""
    name = folder.tabs[c.table].file
    target = path / name
    data = target.read_bytes()
    at = int(len(data) * c.cut)
    if c.kind == "truncate":
        data = data[:at]
    else:
        data = data[:at] + c.noise + data[at + len(c.noise) :]
    target.write_bytes(data)
    return name


def check_message(error: DataError, names: set[str], may_orphan: bool) -> None:
    text = str(error)
    assert "Traceback" not in text
    for v in error.result.errors:
        assert v.file and v.rule, v
    named = any(n in text for n in names)
    orphans = any(rule_kind(v.rule) == "reference" for v in error.result.errors)
    assert named or (may_orphan and orphans), f"the message does not name {names}:\n{text}"


@st.composite
def corrupted_folders(draw) -> tuple[Folder, Corruption, bool]:
    folder = draw(folders())
    return folder, draw(corruptions(folder)), draw(st.sampled_from([False, False, False, True]))


@settings(max_examples=30, **PROPERTY_SETTINGS)
@given(case=corrupted_folders())
def test_one_corruption_gives_the_values_or_a_clean_error(case):
    folder, corruption, run_cli = case
    note(corruption.describe())
    damaged = corruption.kind in ("truncate", "bytes")
    changed, expected, exact = (folder, {}, False) if damaged else apply(folder, corruption)
    note(changed.describe())
    note(f"expected violations: {expected}")
    with written(changed) as path:
        names = {changed.tabs[corruption.table].file}
        if damaged:
            names = {damage(path, changed, corruption)}
        try:
            ds, error = open_dataset(path), None
        except DataError as exc:
            ds, error = None, exc
        if run_cli:
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main([str(path)])
            assert code == (0 if error is None else 2)
            assert "Traceback" not in out.getvalue() + err.getvalue()
            assert err.getvalue() == ""
        if error is not None:
            check_message(error, names, may_orphan=corruption.table == "sites")
        if damaged:
            if ds is not None:  # the other tables are untouched
                check_tables(
                    ds, changed, only={t for t, x in changed.tabs.items() if x.file not in names}
                )
            return
        if not exact:
            return
        actual = actual_violations(error)
        assert {k: sorted(v)[:5] for k, v in actual.items()} == {
            k: sorted(v)[:5] for k, v in expected.items()
        }, str(error)
        if error is None:
            check_tables(ds, changed)
            assert ds.meta["extra_columns"] == expected_extras(changed)
