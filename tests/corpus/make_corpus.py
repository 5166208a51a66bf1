"""Regenerate the corpus of defective data folders: ``python tests/corpus/make_corpus.py``.

The base is a small slice of the demonstration organization (fixed seed and scale: three
sites and a few rows of every table, written as CSV). ``_valid/`` is that base; every other
folder is the base with one defect and an ``expected.yaml`` (which the loader ignores: only
``*.csv``, ``*.parquet``, ``*.xlsx`` named after a table, ``data.xlsx`` and ``columns.yaml``
are read). Row numbers in the expectations are those of the rows the defect was written to,
as the analyst sees them (header = row 1). The same code gives byte-identical folders.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from helpers.data import demo
from helpers.data.contract import SPECS, TABLES, rule_names
from helpers.data.folder import validate_folder
from helpers.data.result import FIRST_ROWS

HERE = Path(__file__).resolve().parent
SEED = 20261123
SCALE = 0.05  # four sites; the first three are kept
N_SITES = 3
VALID = "_valid"
EXPECTED = "expected.yaml"
DATASET = "name: Corpus base (slice of the demonstration organization)\nsynthetic: true\n"
FUTURE = "2099-03-15"


# -- the base --------------------------------------------------------------------------------
def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _head_per(df: pd.DataFrame, by: str | list[str], n: int) -> pd.DataFrame:
    return df.groupby(by, sort=False).head(n)


def base_tables() -> dict[str, pd.DataFrame]:
    """The slice of the demonstration data, every cell as the text written to the CSV."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "demo"
        demo.generate(src, seed=SEED, scale=SCALE)

        def read(name: str) -> pd.DataFrame:
            return pd.read_csv(src / f"{name}.csv", dtype=str, keep_default_na=False)

        sites = read("sites").head(N_SITES)
        ids = set(sites["site_id"])
        management = read("management").loc[lambda d: d["site_id"].isin(ids)]
        clin = read("clinicians").loc[lambda d: d["site_id"].isin(ids)]
        clinical = clin[clin["role"].isin(("physician", "advanced_practice", "behavioral_health"))]
        support = clin[~clin.index.isin(clinical.index)]
        keep = (
            _head_per(clinical, "site_id", 2).index.union(
                clinical.groupby("site_id", sort=False).tail(3).index
            )
        ).union(_head_per(support, "site_id", 1).index)
        clinicians = clin.loc[sorted(keep)]
        access = read("access").loc[lambda d: d["site_id"].isin(ids) & (d["month"] >= "2024-11")]
        survey = _head_per(
            read("survey").loc[lambda d: d["site_id"].isin(ids) & (d["survey_date"] >= "2024")],
            "site_id",
            2,
        )
        time_allocation = _head_per(
            read("time_allocation").loc[
                lambda d: d["site_id"].isin(ids) & d["month"].isin(("2024-01", "2024-02"))
            ],
            ["site_id", "month"],
            1,
        )
        enc = pd.read_parquet(src / "encounters.parquet")
        enc = enc[enc["clinician_id"].isin(set(clinicians["clinician_id"]))]
        encounters = _head_per(enc, "site_id", 3).map(_text)
    tables = {
        "sites": sites,
        "management": management,
        "clinicians": clinicians,
        "access": access,
        "survey": survey,
        "time_allocation": time_allocation,
        "encounters": encounters,
    }
    for name, df in tables.items():
        assert list(df.columns) == list(SPECS[name].column_names), name
        assert len(df) > 0, name
    assert set(encounters["site_id"]) == ids, "every kept site needs encounters"
    return {name: df.reset_index(drop=True) for name, df in tables.items()}


def csv_text(df: pd.DataFrame) -> str:
    return df.to_csv(index=False, lineterminator="\n")


@dataclass
class Folder:
    """A data folder being written: tables as text frames plus files written as given."""

    tables: dict[str, pd.DataFrame]
    files: dict[str, bytes] = field(default_factory=dict)

    def write(self, dest: Path) -> None:
        dest.mkdir(parents=True)
        for name, df in self.tables.items():
            (dest / f"{name}.csv").write_text(csv_text(df), encoding="utf-8")
        for name, data in self.files.items():
            (dest / name).write_bytes(data)

    # -- editing helpers: each returns the row numbers as the analyst sees them ------------
    def first(self, table: str, where: Callable[[pd.DataFrame], pd.Series] | None = None) -> int:
        """Index of the first row (matching ``where``) from the middle of the table on,
        wrapping round: defects land on rows other than the first."""
        df = self.tables[table]
        hits = set(df.index[where(df)] if where is not None else df.index)
        n = len(df)
        order = [*range(n // 2, n), *range(n // 2)]
        found = [i for i in order if i in hits]
        assert found, f"no row of {table} matches"
        return found[0]

    def set(self, table: str, index: int, column: str, value: str) -> list[int]:
        self.tables[table].loc[index, column] = value
        return [index + 2]

    def append(self, table: str, row: dict[str, str]) -> list[int]:
        df = self.tables[table]
        self.tables[table] = pd.concat([df, pd.DataFrame([row])], ignore_index=True)
        return [len(df) + 2]

    def copy_row(self, table: str, index: int, **changes: str) -> list[int]:
        """Append a copy of a row (a duplicate key); returns both row numbers."""
        row = {**self.tables[table].loc[index].to_dict(), **changes}
        return [index + 2, *self.append(table, row)]


# -- expectations ----------------------------------------------------------------------------
def rows_text(rows: list[int]) -> str:
    """The count and first rows exactly as the validator prints them."""
    n = len(rows)
    shown = sorted(rows)[:FIRST_ROWS]
    more = ", …" if n > len(shown) else ""
    return f"({n} row{'s' if n != 1 else ''}; rows {', '.join(map(str, shown))}{more})"


def row_problem(file: str, column: str, rule: str, rows: list[int]) -> list[str]:
    """Message parts of a row-level violation: file, column, rule, rows, and the whole line."""
    counted = rows_text(rows)
    return [file, f"column {column}", rule, counted, f"column {column}: {rule} {counted}"]


def file_problem(file: str, rule: str, column: str = "") -> list[str]:
    """Message parts of a problem with a whole file (or with one column of its header)."""
    where = f"column {column}" if column else "file"
    return [file, *([where] if column else []), rule, f"{where}: {rule}"]


def expect(
    description: str,
    rule: str,
    covers: list[str],
    parts: list[str],
    problems: int | None = 1,
    also: str = "",
) -> dict:
    """The expectations of a case. ``problems`` is the exact number the summary must report
    (None where one defect is also reported under a second rule: ``also`` says why)."""
    doc = {
        "description": description,
        "rule": rule,
        "covers": covers,
        "exit_code": 2,
        "problems": problems,
        "message_parts": parts,
    }
    if problems is None:
        del doc["problems"]
    if also:
        doc["also_reported"] = also
    return doc


CASES: dict[str, Callable[[Folder], dict]] = {}


def case(fn: Callable[[Folder], dict]) -> Callable[[Folder], dict]:
    CASES[fn.__name__] = fn
    return fn


def has(column: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda d: d[column] != ""


def lacks(column: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda d: d[column] == ""


GE0, GT0 = "must be >= 0", "must be > 0"
NUMBER, WHOLE = "must be a number", "must be a whole number"
DATE = "must be a date YYYY-MM-DD"
MONTH = "must be a month YYYY-MM (or a date in that month)"
BOOLEAN = "must be true/false, yes/no, y/n or 1/0"
REQUIRED = "required (empty cell)"
FUTURE_RULE = "must not be in the future"
IN_SITES = "must exist in sites.site_id"


def one_of(table: str, column: str) -> str:
    return "must be one of " + ", ".join(SPECS[table].column(column).categories)


# -- one cell set to a bad value -------------------------------------------------------------
# The rule in words, by the last part of the rule name (``covers``).
KIND_WORDS = {
    "non_empty": "is required (not empty)",
    "in_sites": "must exist in sites.site_id",
    "category": "is one of the values the contract lists",
    "boolean": "is a boolean (true/false, yes/no, y/n, 1/0)",
    "number": "is a number",
    "integer": "is a whole number",
    "date": "is a date YYYY-MM-DD",
    "month": "is a month YYYY-MM (or a date in that month)",
    "not_future": "is not in the future",
    "min_0": "is >= 0",
    "gt_0": "is > 0",
    "lte_1_5": "is <= 1.5",
    "range_0_1": "is within 0-1",
    "range_0_100": "is within 0-100",
    "range_1_5": "is within 1-5",
}
# Which rows may take the defect: any, rows where the cell is filled, or rows whose period
# or spell is open (no effective_to / exit_date) or ended.
END = {"management": "effective_to", "clinicians": "exit_date"}
ROWS = {
    "filled": lambda table, column: has(column),
    "open": lambda table, column: lacks(END[table]),
    "ended": lambda table, column: has(END[table]),
}
R100, R1, R15, R5 = "must be <= 100", "must be <= 1", "must be <= 1.5", "must be <= 5"
GE1 = "must be >= 1"

# (case, table.column, bad value, rule as the validator prints it, rule kind[, rows])
CELL_CASES: list[tuple] = [
    ("sites_setting_empty", "sites.setting", "", REQUIRED, "non_empty"),
    ("sites_population_negative", "sites.population_served", "-100", GE0, "min_0", "filled"),
    ("sites_population_fractional", "sites.population_served", "1200.5", WHOLE, "integer",
     "filled"),
    ("management_site_unknown", "management.site_id", "S999", IN_SITES, "in_sites"),
    ("management_effective_from_empty", "management.effective_from", "", REQUIRED, "non_empty",
     "open"),
    ("management_effective_from_unparsable", "management.effective_from", "01/07/2015", DATE,
     "date", "open"),
    ("management_comp_model_unknown", "management.comp_model", "piece_rate",
     one_of("management", "comp_model"), "category"),
    ("management_rvu_target_negative", "management.rvu_target_annual", "-4800", GE0, "min_0",
     "filled"),
    ("management_pct_comp_above_100", "management.pct_comp_productivity", "120", R100,
     "range_0_100"),
    ("management_pct_comp_negative", "management.pct_comp_productivity", "-5", GE0,
     "range_0_100"),
    ("management_team_based_care_not_boolean", "management.team_based_care", "maybe", BOOLEAN,
     "boolean"),
    ("management_support_staff_negative", "management.support_staff_per_clinician", "-1.5", GE0,
     "min_0"),
    ("management_governance_not_boolean", "management.clinician_in_governance", "sometimes",
     BOOLEAN, "boolean"),
    ("management_shadowing_not_boolean", "management.admin_shadowing", "2", BOOLEAN, "boolean"),
    ("management_protected_time_above_100", "management.protected_time_pct", "150", R100,
     "range_0_100"),
    ("clinicians_clinician_id_empty", "clinicians.clinician_id", "", REQUIRED, "non_empty",
     "open"),
    ("clinicians_site_unknown", "clinicians.site_id", "S404", IN_SITES, "in_sites"),
    ("clinicians_role_unknown", "clinicians.role", "surgeon", one_of("clinicians", "role"),
     "category"),
    ("clinicians_fte_zero", "clinicians.fte", "0", GT0, "gt_0"),
    ("clinicians_fte_negative", "clinicians.fte", "-0.5", GT0, "gt_0"),
    ("clinicians_fte_above_1_5", "clinicians.fte", "1.6", R15, "lte_1_5"),
    ("clinicians_hire_date_unparsable", "clinicians.hire_date", "March 2019", DATE, "date",
     "open"),
    ("clinicians_hire_date_future", "clinicians.hire_date", FUTURE, FUTURE_RULE, "not_future",
     "open"),
    ("clinicians_exit_date_future", "clinicians.exit_date", FUTURE, FUTURE_RULE, "not_future",
     "ended"),
    ("clinicians_exit_reason_unknown", "clinicians.exit_reason", "fired",
     one_of("clinicians", "exit_reason"), "category", "ended"),
    ("access_site_unknown", "access.site_id", "S0O1", IN_SITES, "in_sites"),
    ("access_month_unparsable", "access.month", "Sept 2024", MONTH, "month"),
    ("access_month_future", "access.month", "2099-01", FUTURE_RULE, "not_future"),
    ("access_tnaa_negative", "access.third_next_available_days", "-3", GE0, "min_0"),
    ("access_new_patient_wait_negative", "access.new_patient_wait_days", "-1", GE0, "min_0",
     "filled"),
    ("access_visits_fractional", "access.visits", "3120.5", WHOLE, "integer"),
    ("access_visits_negative", "access.visits", "-20", GE0, "min_0"),
    ("access_visits_empty", "access.visits", "", REQUIRED, "non_empty"),
    ("access_no_show_above_1", "access.no_show_rate", "8", R1, "range_0_1", "filled"),
    ("access_no_show_negative", "access.no_show_rate", "-0.05", GE0, "range_0_1", "filled"),
    ("access_panel_size_negative", "access.panel_size", "-1", GE0, "min_0", "filled"),
    ("access_budgeted_fte_negative", "access.budgeted_clinician_fte", "-2.0", GE0, "min_0"),
    ("access_filled_fte_negative", "access.filled_clinician_fte", "-1.0", GE0, "min_0"),
    ("survey_site_unknown", "survey.site_id", "S9", IN_SITES, "in_sites"),
    ("survey_date_unparsable", "survey.survey_date", "2024-10-32", DATE, "date"),
    ("survey_date_future", "survey.survey_date", FUTURE, FUTURE_RULE, "not_future"),
    ("survey_role_unknown", "survey.role", "doctor", one_of("survey", "role"), "category"),
    ("survey_burnout_fractional", "survey.burnout", "2.5", WHOLE, "integer"),
    ("survey_burnout_empty", "survey.burnout", "", REQUIRED, "non_empty"),
    ("survey_burnout_out_of_range", "survey.burnout", "6", R5, "range_1_5"),
    ("survey_intent_to_leave_out_of_range", "survey.intent_to_leave", "0", GE1, "range_1_5"),
    ("survey_ehr_time_at_home_out_of_range", "survey.ehr_time_at_home", "7", R5, "range_1_5",
     "filled"),
    ("survey_trust_in_leadership_out_of_range", "survey.trust_in_leadership", "0", GE1,
     "range_1_5", "filled"),
    ("survey_control_over_workload_out_of_range", "survey.control_over_workload", "10", R5,
     "range_1_5", "filled"),
    ("survey_teamwork_out_of_range", "survey.teamwork", "-1", GE1, "range_1_5", "filled"),
    ("survey_values_alignment_out_of_range", "survey.values_alignment", "9", R5, "range_1_5",
     "filled"),
    ("time_allocation_site_unknown", "time_allocation.site_id", "S-1", IN_SITES, "in_sites"),
    ("time_allocation_month_unparsable", "time_allocation.month", "2024-13", MONTH, "month"),
    ("time_allocation_activity_unknown", "time_allocation.activity", "email",
     one_of("time_allocation", "activity"), "category"),
    ("time_allocation_minutes_negative", "time_allocation.minutes", "-30", GE0, "min_0"),
    ("time_allocation_after_hours_not_boolean", "time_allocation.after_hours", "evenings",
     BOOLEAN, "boolean"),
    ("encounters_site_unknown", "encounters.site_id", "S00", IN_SITES, "in_sites"),
    ("encounters_date_unparsable", "encounters.date", "2023-02-29", DATE, "date"),
    ("encounters_date_future", "encounters.date", FUTURE, FUTURE_RULE, "not_future"),
    ("encounters_cpt_codes_empty", "encounters.cpt_codes", "", REQUIRED, "non_empty"),
    ("encounters_minutes_uncredited_negative", "encounters.minutes_uncredited", "-2.0", GE0,
     "min_0"),
]  # fmt: skip


def cell_case(target: str, value: str, printed: str, kind: str, rows: str | None = None):
    """A case that sets one cell of ``table.column`` to ``value``."""
    table, column = target.split(".")

    def make(f: Folder) -> dict:
        i = f.first(table, ROWS[rows](table, column) if rows else None)
        old = f.tables[table].loc[i, column]
        at = f.set(table, i, column, value)
        words = KIND_WORDS.get(kind, f"meets: {printed}")
        return expect(
            f"{target} is {value!r} (was {old!r}) in row {at[0]}",
            f"{target} {words}",
            [f"{target}.{kind}"],
            row_problem(f"{table}.csv", column, printed, at),
        )

    return make


for _name, *_spec in CELL_CASES:
    CASES[_name] = cell_case(*_spec)


# -- every other check of a column, from the contract ---------------------------------------
# A bad value per kind of check, and where the rows must be chosen so that the defect breaks
# that one rule only.
BAD_VALUE = {
    "non_empty": "",
    "number": "twelve",
    "integer": "2.5",
    "date": "31/12/2020",
    "month": "2024/05",
    "boolean": "perhaps",
    "not_future": FUTURE,
}
AUTO_ROWS = {"management.effective_from.not_future": "open"}


def _bad_value(check) -> str:
    kind = check.rule.rsplit(".", 1)[1]
    if kind in BAD_VALUE:
        return BAD_VALUE[kind]
    col = SPECS[check.rule.split(".")[0]].column(check.column)
    return f"{col.min - 1:g}" if check.kind == "min" else f"{col.max + 1:g}"


def auto_cases(covered: set[str]) -> dict[str, Callable[[Folder], dict]]:
    """A one-cell case for every check of a column that no case in ``covered`` covers: the
    corpus covers every rule the contract declares."""
    covered = set(covered)
    out = {}
    for spec in SPECS.values():
        for chk in spec.checks():
            if chk.rule_object is not None or chk.rule in covered:
                continue
            covered.add(chk.rule)
            target = f"{spec.name}.{chk.column}"
            kind = chk.rule.rsplit(".", 1)[1]
            rows = AUTO_ROWS.get(chk.rule, "filled" if kind != "non_empty" else None)
            name = f"auto_{chk.rule.replace('.', '_')}"
            out[name] = cell_case(target, _bad_value(chk), chk.message, kind, rows)
    return out


# -- sites -----------------------------------------------------------------------------------
@case
def sites_site_id_duplicate(f: Folder) -> dict:
    rows = f.copy_row("sites", 0, site_name="Demo site 1 (second entry)")
    return expect(
        "a second row for the first site_id",
        "sites.site_id is unique",
        ["sites.site_id.unique"],
        row_problem("sites.csv", "site_id", "must be unique", rows),
    )


@case
def sites_site_id_empty(f: Folder) -> dict:
    rows = f.append(
        "sites",
        {"site_id": "", "site_name": "Unnamed site", "region": "West", "setting": "primary_care",
         "population_served": "1200"},
    )  # fmt: skip
    return expect(
        "a site row without a site_id",
        "sites.site_id is non-empty",
        ["sites.site_id.non_empty"],
        row_problem("sites.csv", "site_id", REQUIRED, rows),
    )


# -- management ------------------------------------------------------------------------------


def day_first_date(f: Folder, table: str, column: str, what: str) -> dict:
    """The first filled ``table.column`` date rewritten day first (DD/MM/YYYY)."""
    i = f.first(table, has(column))
    iso = f.tables[table].loc[i, column]
    day = pd.Timestamp(iso).strftime("%d/%m/%Y")
    rows = f.set(table, i, column, day)
    return expect(
        f"{what} {iso!r} written as {day!r}",
        f"{table}.{column} is a date",
        [f"{table}.{column}.date"],
        row_problem(f"{table}.csv", column, DATE, rows),
    )


@case
def management_effective_to_unparsable(f: Folder) -> dict:
    # The end of a period followed by another: unreadable, so not compared for overlap.
    return day_first_date(f, "management", "effective_to", "the end of a closed period")


@case
def management_effective_to_before_from(f: Folder) -> dict:
    i = f.first("management", has("effective_to"))
    start = pd.Timestamp(f.tables["management"].loc[i, "effective_from"])
    rows = f.set("management", i, "effective_to", str((start - pd.Timedelta(days=1)).date()))
    return expect(
        "a period that ends the day before it starts",
        "management.effective_to >= effective_from",
        ["management.effective_to.gte_effective_from"],
        row_problem("management.csv", "effective_to", "must be >= effective_from", rows),
    )


@case
def management_periods_overlap(f: Folder) -> dict:
    m = f.tables["management"]
    i = f.first("management", lambda d: d["site_id"].duplicated())  # a site's second period
    prev_end = pd.Timestamp(m.loc[i - 1, "effective_to"])
    f.set("management", i, "effective_from", str((prev_end - pd.DateOffset(months=6)).date()))
    rows = [i - 1 + 2, i + 2]
    return expect(
        f"the second period of {m.loc[i, 'site_id']} starts six months before the first ends",
        "periods of one site must not overlap",
        ["management.periods.no_overlap"],
        row_problem(
            "management.csv", "effective_from", "periods of one site must not overlap", rows
        ),
    )


# -- clinicians ------------------------------------------------------------------------------


@case
def clinicians_duplicate_spell(f: Folder) -> dict:
    i = f.first("clinicians", lacks("exit_date"))
    rows = f.copy_row("clinicians", i, fte="0.5")
    return expect(
        "the same (clinician_id, hire_date) on two rows",
        "(clinician_id, hire_date) is unique",
        ["clinicians.clinician_id_hire_date.unique"],
        row_problem(
            "clinicians.csv",
            "clinician_id, hire_date",
            "(clinician_id, hire_date) must be unique",
            rows,
        ),
    )


@case
def clinicians_exit_date_unparsable(f: Folder) -> dict:
    return day_first_date(f, "clinicians", "exit_date", "exit_date")


@case
def clinicians_exit_before_hire(f: Folder) -> dict:
    i = f.first("clinicians", has("exit_date"))
    hire = pd.Timestamp(f.tables["clinicians"].loc[i, "hire_date"])
    rows = f.set("clinicians", i, "exit_date", str((hire - pd.DateOffset(years=1)).date()))
    return expect(
        "an exit a year before the hire",
        "clinicians.exit_date >= hire_date",
        ["clinicians.exit_date.gte_hire_date"],
        row_problem("clinicians.csv", "exit_date", "must be >= hire_date", rows),
    )


MISSING_EXACTLY = "missing exactly when exit_date is missing"


@case
def clinicians_exit_reason_without_exit_date(f: Folder) -> dict:
    i = f.first("clinicians", lacks("exit_date"))
    rows = f.set("clinicians", i, "exit_reason", "voluntary")
    return expect(
        "an exit_reason on a spell that has not ended",
        "exit_reason is missing exactly when exit_date is missing",
        ["clinicians.exit_reason.missing_iff_exit_date_missing"],
        row_problem("clinicians.csv", "exit_reason", MISSING_EXACTLY, rows),
    )


@case
def clinicians_exit_date_without_reason(f: Folder) -> dict:
    i = f.first("clinicians", has("exit_date"))
    rows = f.set("clinicians", i, "exit_reason", "")
    return expect(
        "an ended spell without an exit_reason",
        "exit_reason is missing exactly when exit_date is missing",
        ["clinicians.exit_reason.missing_iff_exit_date_missing"],
        row_problem("clinicians.csv", "exit_reason", MISSING_EXACTLY, rows),
    )


@case
def clinicians_fte_text_column(f: Folder) -> dict:
    df = f.tables["clinicians"]
    words = {"1.0": "full time", "0.5": "half time"}
    df["fte"] = [words.get(v, f"{v} FTE") for v in df["fte"]]
    rows = [i + 2 for i in range(len(df))]
    return expect(
        "the fte column holds text ('full time', '0.8 FTE') instead of numbers",
        "clinicians.fte is a number",
        ["clinicians.fte.number", "type.text_in_number_column"],
        row_problem("clinicians.csv", "fte", NUMBER, rows),
    )


# -- access ----------------------------------------------------------------------------------


@case
def access_duplicate_month(f: Folder) -> dict:
    rows = f.copy_row("access", 0, visits="100")
    return expect(
        "a second row for the same site and month",
        "(site_id, month) is unique",
        ["access.site_id_month.unique"],
        row_problem("access.csv", "site_id, month", "(site_id, month) must be unique", rows),
    )


# -- survey ----------------------------------------------------------------------------------
@case
def survey_response_id_duplicate(f: Folder) -> dict:
    rows = f.copy_row("survey", 0, burnout="1")
    return expect(
        "two responses with the same response_id",
        "survey.response_id is unique",
        ["survey.response_id.unique"],
        row_problem("survey.csv", "response_id", "must be unique", rows),
    )


# -- time_allocation -------------------------------------------------------------------------

# -- encounters ------------------------------------------------------------------------------


@case
def encounters_encounter_id_duplicate(f: Folder) -> dict:
    e = f.tables["encounters"]
    rows = f.copy_row("encounters", 0, date=e.loc[1, "date"], cpt_codes="99213")
    return expect(
        "the first encounter_id used twice",
        "encounters.encounter_id is unique",
        ["encounters.encounter_id.unique"],
        row_problem("encounters.csv", "encounter_id", "must be unique", rows),
    )


@case
def encounters_minutes_total_zero(f: Folder) -> dict:
    i = f.first("encounters")
    rows = f.set("encounters", i, "minutes_total", "0")
    f.set("encounters", i, "minutes_uncredited", "0")
    return expect(
        "an encounter of zero minutes (none of them uncredited)",
        "encounters.minutes_total is > 0",
        ["encounters.minutes_total.gt_0"],
        row_problem("encounters.csv", "minutes_total", GT0, rows),
    )


@case
def encounters_uncredited_above_total(f: Folder) -> dict:
    e = f.tables["encounters"]
    i = f.first("encounters")
    total = float(e.loc[i, "minutes_total"])
    rows = f.set("encounters", i, "minutes_uncredited", str(total + 10))
    return expect(
        "more uncredited minutes than minutes in total",
        "minutes_uncredited <= minutes_total",
        ["encounters.minutes_uncredited.lte_minutes_total"],
        row_problem("encounters.csv", "minutes_uncredited", "must be <= minutes_total", rows),
    )


# -- files and headers -----------------------------------------------------------------------
@case
def file_required_table_missing(f: Folder) -> dict:
    del f.tables["management"]
    rule = (
        "required table missing (no management.csv, management.parquet, management.xlsx "
        "or sheet in data.xlsx)"
    )
    return expect(
        "no management table in the folder",
        "required tables: sites, management, clinicians, access",
        ["folder.required_table"],
        file_problem("management.csv", rule),
    )


@case
def file_two_files_one_table(f: Folder) -> dict:
    table = pa.Table.from_pandas(f.tables["clinicians"], preserve_index=False)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    f.files["clinicians.parquet"] = sink.getvalue().to_pybytes()
    rule = "one file per table: clinicians is in clinicians.csv, clinicians.parquet"
    return expect(
        "clinicians.csv and clinicians.parquet side by side",
        "exactly one file per table",
        ["folder.one_file_per_table"],
        file_problem("clinicians.csv", rule) + ["clinicians.parquet"],
    )


@case
def file_empty(f: Folder) -> dict:
    del f.tables["access"]
    f.files["access.csv"] = b""
    return expect(
        "access.csv has zero bytes",
        "each table file has a header row and data",
        ["file.empty"],
        file_problem("access.csv", "empty file"),
    )


@case
def file_header_only(f: Folder) -> dict:
    f.tables["survey"] = f.tables["survey"].head(0)
    rule = "header only, no data rows (delete the file if you have no such data)"
    return expect(
        "survey.csv has its header row and nothing else",
        "a table file that has a header but no rows is an error (data README)",
        ["file.header_only"],
        file_problem("survey.csv", rule),
    )


@case
def file_not_utf8(f: Folder) -> dict:
    i = 1
    sites = f.tables.pop("sites")
    sites.loc[i, "site_name"] = "Clínica Sur"
    f.files["sites.csv"] = csv_text(sites).encode("latin-1")
    rule = "not UTF-8 text (save the file as UTF-8 CSV)"
    return expect(
        "sites.csv saved as Latin-1 (site_name 'Clínica Sur')",
        "CSV files are UTF-8",
        ["file.csv_utf8"],
        ["sites.csv", rule, rows_text([i + 2]), f"file: {rule} {rows_text([i + 2])}"],
    )


@case
def file_xlsx_not_workbook(f: Folder) -> dict:
    del f.tables["access"]
    f.files["access.xlsx"] = b"site_id,month\nS001,2024-09\n"
    return expect(
        "access.xlsx is a CSV file renamed to .xlsx",
        "NAME.xlsx is an Excel workbook (first sheet)",
        ["file.xlsx_workbook"],
        file_problem("access.xlsx", "not an Excel workbook (.xlsx)"),
    )


@case
def file_data_xlsx_not_workbook(f: Folder) -> dict:
    f.files["data.xlsx"] = b"this is not a workbook\n"
    return expect(
        "a data.xlsx that is not a workbook next to the CSV tables",
        "data.xlsx is a workbook with one sheet per table",
        ["file.data_xlsx_workbook"],
        file_problem("data.xlsx", "not an Excel workbook (.xlsx)"),
    )


@case
def file_parquet_not_parquet(f: Folder) -> dict:
    del f.tables["encounters"]
    f.files["encounters.parquet"] = b"PAR1 this is not a Parquet file"
    return expect(
        "encounters.parquet is not a Parquet file",
        "NAME.parquet is a Parquet file",
        ["file.parquet_readable"],
        file_problem("encounters.parquet", "not a Parquet file"),
    )


def _rename_header(f: Folder, table: str, old: str, new: str) -> None:
    f.tables[table] = f.tables[table].rename(columns={old: new})


@case
def columns_yaml_invalid(f: Folder) -> dict:
    _rename_header(f, "clinicians", "clinician_id", "Employee ID")
    f.files["columns.yaml"] = b"clinicians:\n  Employee ID: [clinician_id\n"
    return expect(
        "columns.yaml with an unclosed bracket",
        "columns.yaml is valid YAML",
        ["columns_yaml.valid_yaml"],
        file_problem("columns.yaml", "not valid YAML")
        + file_problem("clinicians.csv", "required column missing", "clinician_id"),
        problems=2,  # without the mapping, clinicians.csv lacks clinician_id
    )


@case
def columns_yaml_not_a_mapping(f: Folder) -> dict:
    f.files["columns.yaml"] = b"- clinicians\n- Employee ID: clinician_id\n"
    return expect(
        "columns.yaml is a list, not a mapping of tables",
        "columns.yaml maps table names to column mappings",
        ["columns_yaml.mapping_of_tables"],
        file_problem("columns.yaml", "must map table names to column mappings"),
    )


@case
def columns_yaml_unknown_table(f: Folder) -> dict:
    f.files["columns.yaml"] = b"staff:\n  Employee ID: clinician_id\n"
    return expect(
        "columns.yaml names a table 'staff' the contract does not have",
        "columns.yaml maps column names per table of the contract",
        ["columns_yaml.known_table"],
        file_problem("columns.yaml", "unknown table", column="staff"),
    )


@case
def columns_yaml_unknown_column(f: Folder) -> dict:
    _rename_header(f, "clinicians", "clinician_id", "Employee ID")
    f.files["columns.yaml"] = b"clinicians:\n  Employee ID: clinician_id\n  Grade: pay_grade\n"
    return expect(
        "columns.yaml maps 'Grade' to pay_grade, which is not a column of clinicians",
        "columns.yaml maps to the contract's column names",
        ["columns_yaml.known_column"],
        file_problem(
            "columns.yaml", "maps to unknown column 'pay_grade' of clinicians", "clinicians.Grade"
        ),
    )


@case
def columns_yaml_duplicate_after_mapping(f: Folder) -> dict:
    c = f.tables["clinicians"]
    c.insert(c.columns.get_loc("hire_date") + 1, "Hire Dt", c["hire_date"])
    f.files["columns.yaml"] = b"clinicians:\n  Hire Dt: hire_date\n"
    return expect(
        "columns.yaml maps 'Hire Dt' to hire_date, and hire_date is there too",
        "one column per contract column after mapping",
        ["header.no_duplicate_after_mapping"],
        file_problem(
            "clinicians.csv",
            "duplicate column after mapping: 'hire_date' and 'Hire Dt'",
            "hire_date",
        ),
    )


@case
def header_duplicate_names(f: Folder) -> dict:
    c = f.tables["clinicians"]
    c.insert(c.columns.get_loc("fte") + 1, " FTE ", c["fte"])
    return expect(
        "clinicians.csv has columns 'fte' and ' FTE ' (the same name after trimming and case)",
        "column names are matched case-insensitively after trimming spaces; one each",
        ["header.no_duplicate_names"],
        file_problem("clinicians.csv", "duplicate column name: 'fte' and ' FTE '", "fte"),
    )


@case
def header_duplicate_exact(f: Folder) -> dict:
    c = f.tables.pop("clinicians")
    lines = csv_text(c.assign(fte_again="0.5")).splitlines()
    lines[0] = lines[0].replace("fte_again", "fte")
    f.files["clinicians.csv"] = ("\n".join(lines) + "\n").encode("utf-8")
    return expect(
        "clinicians.csv has a second column named exactly 'fte' (last, every value 0.5)",
        "one column per contract column: which 'fte' is meant is ambiguous",
        ["header.no_duplicate_names"],
        ["clinicians.csv", "column fte", "duplicate column"],
    )


@case
def header_required_column_missing(f: Folder) -> dict:
    f.tables["clinicians"] = f.tables["clinicians"].drop(columns=["exit_reason"])
    return expect(
        "clinicians.csv has no exit_reason column",
        "every column of the contract is present",
        ["header.required_column"],
        file_problem("clinicians.csv", "required column missing", "exit_reason"),
    )


# -- several at once -------------------------------------------------------------------------
@case
def multi_several_tables(f: Folder) -> dict:
    parts: list[str] = []
    i = f.first("sites", has("population_served"))
    rows = f.set("sites", i, "population_served", "-1")
    parts += row_problem("sites.csv", "population_served", GE0, rows)
    i = f.first("clinicians", lambda d: d["role"] == "physician")
    rows = f.set("clinicians", i, "role", "doctor")
    parts += row_problem("clinicians.csv", "role", one_of("clinicians", "role"), rows)
    i = f.first("access", has("no_show_rate"))
    rows = f.set("access", i, "no_show_rate", "12")
    parts += row_problem("access.csv", "no_show_rate", "must be <= 1", rows)
    rows = []
    for i in f.tables["time_allocation"].index[1::3][:2]:
        rows += f.set("time_allocation", int(i), "after_hours", "unknown")
    parts += row_problem("time_allocation.csv", "after_hours", BOOLEAN, rows)
    i = f.first("encounters")
    rows = f.set("encounters", i, "minutes_total", "0")
    f.set("encounters", i, "minutes_uncredited", "0")
    parts += row_problem("encounters.csv", "minutes_total", GT0, rows)
    return expect(
        "five violations in five tables",
        "all violations in all tables are reported in one pass",
        ["report.all_violations_one_pass"],
        parts + ["5 problem(s) in 5 file(s)"],
        problems=5,
    )


@case
def file_unreadable_csv(f: Folder) -> dict:
    clin = f.tables.pop("clinicians")
    text = csv_text(clin)
    last = text.rstrip("\n").rsplit("\n", 1)[1]
    f.files["clinicians.csv"] = (text + '"' + last + "\n").encode("utf-8")
    return expect(
        "clinicians.csv ends with a row whose quoted cell is never closed",
        "a table file can be read to its end",
        ["file.readable"],
        file_problem("clinicians.csv", "cannot be read"),
    )


# -- writing ---------------------------------------------------------------------------------
def base_folder(tables: dict[str, pd.DataFrame]) -> Folder:
    return Folder(
        {k: v.copy() for k, v in tables.items()}, {"dataset.yaml": DATASET.encode("utf-8")}
    )


def build(dest: Path) -> list[str]:
    """Write ``_valid/`` and every case folder into ``dest``; returns the case names."""
    tables = base_tables()
    valid = dest / VALID
    base_folder(tables).write(valid)
    result = validate_folder(valid)
    if not result.ok or result.extra_columns or len(result.tables) != len(TABLES):
        raise SystemExit(f"the base slice does not validate cleanly:\n{result.summary()}")
    written: list[str] = []
    covered: set[str] = set()

    def write(cases: dict[str, Callable[[Folder], dict]]) -> None:
        for name, make in cases.items():
            folder = base_folder(tables)
            doc = make(folder)
            covered.update(doc["covers"])
            folder.write(dest / name)
            (dest / name / EXPECTED).write_text(
                yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1000),
                encoding="utf-8",
            )
            written.append(name)

    write(CASES)
    write(auto_cases(covered))
    missing = sorted(set(rule_names()) - covered)
    if missing:
        raise SystemExit(f"rules of the contract without a case: {missing}")
    return written


def case_dirs(root: Path) -> list[Path]:
    """The generated folders under ``root`` (``_valid`` and every case)."""
    return sorted(
        p for p in root.iterdir() if p.is_dir() and (p.name == VALID or (p / EXPECTED).exists())
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(HERE), help="corpus folder (default: this folder)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for old in case_dirs(out):
        shutil.rmtree(old)
    names = build(out)
    print(f"Wrote {out}: {VALID}/ and {len(names)} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
