"""The data contract, declared once: tables, columns and the rules across them.

Every other description of the input data is generated from :data:`SPECS` and
:data:`FOLDER_RULES`: the data dictionary and the analyst's Excel template
(:mod:`helpers.data.template`), the column tables of ``data/README.md``
(:mod:`helpers.data.docs`), the checks run on every table (:mod:`helpers.data.checks`), the
pandera schemas of the typed store (:mod:`helpers.data.store`) and the list of rules the test
corpus must cover (:func:`rule_names`).

A column declares its type, unit, meaning, an example value and its own constraints
(required, categories, bounds). A table declares its cross-field rules as objects:
:class:`UniqueKey`, :class:`InOtherTable`, :class:`NotAbove`, :class:`NotBelow`,
:class:`NoOverlap`, :class:`BothOrNeither` and :class:`FutureAllowed`. Each rule knows its
name (``table.column.rule``, as the corpus names it) and the message the analyst reads.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

ROLES = (
    "physician",
    "advanced_practice",
    "behavioral_health",
    "nurse",
    "medical_assistant",
    "other",
)
CLINICIAN_ROLES = ("physician", "advanced_practice", "behavioral_health")
COMP_MODELS = ("rvu_production", "salary", "salary_plus_quality", "hybrid")
EXIT_REASONS = ("voluntary", "involuntary", "retirement", "other")
ACTIVITIES = (
    "direct_patient_care",
    "documentation",
    "inbox",
    "orders",
    "prescription_renewal",
    "preventive_screening",
    "care_coordination",
    "administrative",
    "other",
)
PRODUCTION_LINE = (
    "documentation",
    "inbox",
    "orders",
    "prescription_renewal",
    "preventive_screening",
)
SOLUTION_SHOP = ("direct_patient_care", "care_coordination")

TYPES = ("string", "integer", "number", "date", "month", "boolean", "category")
# Spellings of a boolean cell (after trimming, in any case).
TRUE = ("true", "yes", "y", "1", "1.0", "t")
FALSE = ("false", "no", "n", "0", "0.0", "f")

# The message of a cell that cannot be read as its column's type.
TYPE_MESSAGE = {
    "number": "must be a number",
    "integer": "must be a whole number",
    "date": "must be a date YYYY-MM-DD",
    "month": "must be a month YYYY-MM (or a date in that month)",
    "boolean": "must be true/false, yes/no, y/n or 1/0",
}
REQUIRED_MESSAGE = "required (empty cell)"
FUTURE_MESSAGE = "must not be in the future"


def _num(x: float) -> str:
    return f"{x:g}"


# -- what a column is ---------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """One column of a table.

    Parameters
    ----------
    name
        The contract's name (files may use another spelling, or ``columns.yaml``).
    type
        One of :data:`TYPES`.
    meaning
        What a value means, in words for the analyst.
    example
        An example value as the analyst would write it (empty: none).
    unit
        The unit of a number (minutes, days, FTE, ...); empty when it has none.
    required
        False when the cell may be empty.
    categories
        The allowed values of a ``category`` column (matched case-insensitively).
    min, max
        Bounds of a number; ``min_exclusive`` makes the lower bound strict.
    """

    name: str
    type: str
    meaning: str
    example: str = ""
    unit: str = ""
    required: bool = True
    categories: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type!r}")
        if bool(self.categories) != (self.type == "category"):
            raise ValueError(f"column {self.name}: categories go with type 'category'")

    @property
    def is_date(self) -> bool:
        """Whether the column holds a day or a month."""
        return self.type in ("date", "month")


# -- checks: one condition a row can break, with its rule's name and message ---------------
@dataclass(frozen=True)
class Check:
    """A condition one row can break.

    ``rule`` is the name the corpus uses (``table.column.kind``); ``column`` is where the
    summary reports it; ``message`` is what the analyst reads; ``kind`` tells the checker
    which condition to build (``type``, ``required``, ``category``, ``min``, ``max``,
    ``not_future``, or the class name of a table rule); ``rule_object`` is that table rule.
    """

    rule: str
    column: str
    message: str
    kind: str
    rule_object: Rule | None = None


# -- rules across fields of a table -------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """A rule across the fields (or rows, or tables) of one table."""

    @property
    def column(self) -> str:
        raise NotImplementedError

    def name(self, table: str) -> str:
        """The rule's name, ``table.column.kind``."""
        raise NotImplementedError

    @property
    def message(self) -> str:
        raise NotImplementedError

    @property
    def words(self) -> str:
        """The rule in words, for the documentation."""
        return self.message

    def checks(self, table: str) -> list[Check]:
        return [Check(self.name(table), self.column, self.message, type(self).__name__, self)]


@dataclass(frozen=True)
class UniqueKey(Rule):
    """No two rows share the values of ``columns`` (rows with an empty key cell are not
    compared)."""

    columns: tuple[str, ...]

    @property
    def column(self) -> str:
        return ", ".join(self.columns)

    def name(self, table: str) -> str:
        return f"{table}.{'_'.join(self.columns)}.unique"

    @property
    def message(self) -> str:
        if len(self.columns) == 1:
            return "must be unique"
        return f"({', '.join(self.columns)}) must be unique"

    @property
    def words(self) -> str:
        return f"({', '.join(self.columns)}) is unique"


@dataclass(frozen=True)
class InOtherTable(Rule):
    """Every value of ``field`` exists in ``table.other`` (of the same folder)."""

    field: str
    table: str
    other: str

    @property
    def column(self) -> str:
        return self.field

    def name(self, table: str) -> str:
        return f"{table}.{self.field}.in_{self.table}"

    @property
    def message(self) -> str:
        return f"must exist in {self.table}.{self.other}"

    @property
    def words(self) -> str:
        return f"every {self.field} exists in {self.table}.{self.other}"


@dataclass(frozen=True)
class NotAbove(Rule):
    """``field`` is at most ``bound`` (another column of the same row)."""

    field: str
    bound: str

    @property
    def column(self) -> str:
        return self.field

    def name(self, table: str) -> str:
        return f"{table}.{self.field}.lte_{self.bound}"

    @property
    def message(self) -> str:
        return f"must be <= {self.bound}"

    @property
    def words(self) -> str:
        return f"{self.field} <= {self.bound}"


@dataclass(frozen=True)
class NotBelow(Rule):
    """``field`` is at least ``bound`` (another column of the same row)."""

    field: str
    bound: str

    @property
    def column(self) -> str:
        return self.field

    def name(self, table: str) -> str:
        return f"{table}.{self.field}.gte_{self.bound}"

    @property
    def message(self) -> str:
        return f"must be >= {self.bound}"

    @property
    def words(self) -> str:
        return f"{self.field} >= {self.bound}"


@dataclass(frozen=True)
class NoOverlap(Rule):
    """Periods ``start``..``end`` (an empty end: still open) of one ``group`` do not overlap.
    Rows whose start or end cannot be read are not compared."""

    group: str
    start: str
    end: str
    what: str = "periods"

    @property
    def column(self) -> str:
        return self.start

    def name(self, table: str) -> str:
        return f"{table}.{self.what}.no_overlap"

    @property
    def message(self) -> str:
        return f"{self.what} of one {self.group.removesuffix('_id')} must not overlap"


@dataclass(frozen=True)
class BothOrNeither(Rule):
    """``field`` is empty exactly when ``other`` is (rows whose ``other`` cannot be read are
    not compared)."""

    field: str
    other: str

    @property
    def column(self) -> str:
        return self.field

    def name(self, table: str) -> str:
        return f"{table}.{self.field}.missing_iff_{self.other}_missing"

    @property
    def message(self) -> str:
        return f"missing exactly when {self.other} is missing"

    @property
    def words(self) -> str:
        return f"{self.field} is empty exactly when {self.other} is empty"


@dataclass(frozen=True)
class FutureAllowed(Rule):
    """Dates of ``field`` may lie ahead (a plan); every other date must not be in the
    future. It lifts a check rather than adding one."""

    field: str

    @property
    def column(self) -> str:
        return self.field

    def name(self, table: str) -> str:
        return f"{table}.{self.field}.future_allowed"

    @property
    def message(self) -> str:
        return "may lie in the future"

    @property
    def words(self) -> str:
        return f"{self.field} may lie in the future (a plan)"

    def checks(self, table: str) -> list[Check]:
        return []


# -- what a table is ----------------------------------------------------------------------
@dataclass(frozen=True)
class Table:
    """One table of the data folder.

    Parameters
    ----------
    name
        The table's name, which is also its file's name (``NAME.csv`` ...).
    row
        What one row is, in a few words ("site", "site × month").
    meaning
        One sentence about the table for the data dictionary.
    columns
        The columns in the order of the template.
    rules
        Rules across fields, rows and tables.
    required
        False for an optional table: when it is absent the analyses that need it report
        "not available".
    large
        True for a table that may have tens of millions of rows.
    """

    name: str
    row: str
    meaning: str
    columns: tuple[Column, ...]
    rules: tuple[Rule, ...] = ()
    required: bool = True
    large: bool = False

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name}: duplicate column names")
        for rule in self.rules:
            for col in _fields(rule):
                if col not in names:
                    raise ValueError(f"table {self.name}: {type(rule).__name__} names {col!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        """The columns' names, in order."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        return next(c for c in self.columns if c.name == name)

    @property
    def unique(self) -> tuple[tuple[str, ...], ...]:
        """The unique keys."""
        return tuple(r.columns for r in self.rules if isinstance(r, UniqueKey))

    @property
    def references(self) -> dict[str, str]:
        """Column -> ``table.column`` it must exist in."""
        return {r.field: f"{r.table}.{r.other}" for r in self.rules if isinstance(r, InOtherTable)}

    def future_allowed(self, column: str) -> bool:
        """Whether dates of ``column`` may lie ahead."""
        return any(isinstance(r, FutureAllowed) and r.field == column for r in self.rules)

    def with_column(self, column: Column) -> Table:
        """A copy of the table with one more column (last)."""
        return replace(self, columns=(*self.columns, column))

    def column_checks(self, col: Column) -> list[Check]:
        """The checks of one column on its own: type, required, categories, bounds, not
        in the future."""
        t, c = self.name, col.name
        out = []
        if col.type in TYPE_MESSAGE:
            out.append(Check(f"{t}.{c}.{col.type}", c, TYPE_MESSAGE[col.type], "type"))
        if col.required:
            out.append(Check(f"{t}.{c}.non_empty", c, REQUIRED_MESSAGE, "required"))
        if col.categories:
            words = "must be one of " + ", ".join(col.categories)
            out.append(Check(f"{t}.{c}.category", c, words, "category"))
        if col.min is not None or col.max is not None:
            low = f"must be {'>' if col.min_exclusive else '>='} {_num(col.min or 0)}"
            high = f"must be <= {_num(col.max or 0)}"
            both = col.min is not None and col.max is not None and not col.min_exclusive
            if both:
                kind = f"range_{_num(col.min)}_{_num(col.max)}".replace(".", "_")
                out.append(Check(f"{t}.{c}.{kind}", c, low, "min"))
                out.append(Check(f"{t}.{c}.{kind}", c, high, "max"))
            else:
                if col.min is not None:
                    kind = ("gt_" if col.min_exclusive else "min_") + _num(col.min)
                    out.append(Check(f"{t}.{c}.{kind.replace('.', '_')}", c, low, "min"))
                if col.max is not None:
                    kind = "lte_" + _num(col.max).replace(".", "_")
                    out.append(Check(f"{t}.{c}.{kind}", c, high, "max"))
        if col.is_date and not self.future_allowed(c):
            out.append(Check(f"{t}.{c}.not_future", c, FUTURE_MESSAGE, "not_future"))
        return out

    def checks(self) -> list[Check]:
        """Every check of the table: each column's own, then the rules across fields."""
        out = [chk for col in self.columns for chk in self.column_checks(col)]
        for rule in self.rules:
            out += rule.checks(self.name)
        return out

    def checks_given(self, tables_read: tuple[str, ...]) -> list[Check]:
        """The checks that apply when ``tables_read`` could be read: a reference to a
        table that could not be read is not checked.

        Parameters
        ----------
        tables_read
            The other tables read so far.

        Returns
        -------
        list of Check

        Examples
        --------
        >>> len(SPECS["access"].checks_given(())) < len(SPECS["access"].checks())
        True
        """
        return [
            chk
            for chk in self.checks()
            if not (
                isinstance(chk.rule_object, InOtherTable)
                and chk.rule_object.table not in tables_read
            )
        ]


def _fields(rule: Rule) -> list[str]:
    if isinstance(rule, UniqueKey):
        return list(rule.columns)
    if isinstance(rule, NoOverlap):
        return [rule.group, rule.start, rule.end]
    if isinstance(rule, NotAbove | NotBelow):
        return [rule.field, rule.bound]
    if isinstance(rule, BothOrNeither):
        return [rule.field, rule.other]
    if isinstance(rule, InOtherTable | FutureAllowed):
        return [rule.field]
    return []


# -- rules of the folder, its files and headers -------------------------------------------
@dataclass(frozen=True)
class FolderRule:
    """A rule about the folder, a file, a header or ``columns.yaml``; ``message`` is a
    template filled with :meth:`str.format`."""

    name: str
    words: str
    message: str

    def __call__(self, **values: object) -> str:
        return self.message.format(**values)


FOLDER_RULES: dict[str, FolderRule] = {
    r.name: r
    for r in (
        FolderRule(
            "folder.required_table",
            "every required table is there",
            "required table missing (no {table}.csv, {table}.parquet, {table}.xlsx or sheet "
            "in data.xlsx)",
        ),
        FolderRule(
            "folder.one_file_per_table",
            "exactly one file per table",
            "one file per table: {table} is in {files}",
        ),
        FolderRule("file.empty", "a table file is not empty", "empty file"),
        FolderRule(
            "file.header_only",
            "a table file that has a header has data rows",
            "header only, no data rows (delete the file if you have no such data)",
        ),
        FolderRule(
            "file.csv_utf8", "CSV files are UTF-8", "not UTF-8 text (save the file as UTF-8 CSV)"
        ),
        FolderRule(
            "file.xlsx_workbook",
            "NAME.xlsx is an Excel workbook",
            "not an Excel workbook (.xlsx)",
        ),
        FolderRule(
            "file.data_xlsx_workbook",
            "data.xlsx is an Excel workbook with a sheet per table",
            "not an Excel workbook (.xlsx)",
        ),
        FolderRule(
            "file.parquet_readable", "NAME.parquet is a Parquet file", "not a Parquet file: {error}"
        ),
        FolderRule(
            "file.readable", "a table file can be read to its end", "cannot be read: {error}"
        ),
        FolderRule(
            "columns_yaml.valid_yaml", "columns.yaml is valid YAML", "not valid YAML: {error}"
        ),
        FolderRule(
            "columns_yaml.mapping_of_tables",
            "columns.yaml maps table names to column mappings",
            "must map table names to column mappings",
        ),
        FolderRule(
            "columns_yaml.known_table",
            "columns.yaml names tables of the contract",
            "unknown table",
        ),
        FolderRule(
            "columns_yaml.known_column",
            "columns.yaml maps to the contract's column names",
            "maps to unknown column {column!r} of {table}",
        ),
        FolderRule(
            "header.required_column",
            "every column of the contract is present",
            "required column missing",
        ),
        FolderRule(
            "header.no_duplicate_after_mapping",
            "one column per contract column after mapping",
            "duplicate column after mapping: {first!r} and {second!r}",
        ),
        FolderRule(
            "header.no_duplicate_names",
            "column names are matched case-insensitively after trimming spaces; one each",
            "duplicate column name: {first!r} and {second!r}",
        ),
        FolderRule(
            "type.text_in_number_column",
            "text where a number is expected is reported cell by cell, not as a file error",
            TYPE_MESSAGE["number"],
        ),
        FolderRule(
            "report.all_violations_one_pass",
            "every violation in every table is reported in one pass",
            "{problems} problem(s) in {files} file(s); nothing was run.",
        ),
    )
}


# -- the declaration ------------------------------------------------------------------------
def _site(meaning: str = "Site", example: str = "S01") -> Column:
    return Column("site_id", "string", meaning, example)


def _score(name: str, meaning: str, example: str, required: bool = False) -> Column:
    return Column(name, "integer", meaning, example, "points", required, min=1, max=5)


IN_SITES = InOtherTable("site_id", "sites", "site_id")

SPECS: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "sites",
            "site",
            "One row per site (clinic, practice or service).",
            (
                Column("site_id", "string", "Your identifier of the site", "S01"),
                Column(
                    "site_name", "string", "Site name", "Riverside Family Medicine", required=False
                ),
                Column("region", "string", "Region or market", "North", required=False),
                Column(
                    "setting",
                    "string",
                    "Kind of service, e.g. primary_care, psychiatry, behavioral_health, specialty",
                    "primary_care",
                ),
                Column(
                    "population_served",
                    "integer",
                    "Patients or residents served",
                    "24000",
                    "people",
                    required=False,
                    min=0,
                ),
            ),
            (UniqueKey(("site_id",)),),
        ),
        Table(
            "management",
            "site × regime period",
            "One row per site per period of a management regime; periods of one site must not "
            "overlap.",
            (
                _site("Site the regime applies to"),
                Column("effective_from", "date", "First day of the regime", "2019-07-01"),
                Column(
                    "effective_to",
                    "date",
                    "Last day of the regime; empty = still in effect",
                    "2022-06-30",
                    required=False,
                ),
                Column(
                    "comp_model",
                    "category",
                    "How clinicians are paid",
                    "rvu_production",
                    categories=COMP_MODELS,
                ),
                Column(
                    "rvu_target_annual",
                    "number",
                    "Annual work-RVU target per 1.0 FTE; empty when no target",
                    "5200",
                    "work RVUs per year",
                    required=False,
                    min=0,
                ),
                Column(
                    "pct_comp_productivity",
                    "number",
                    "Share of pay tied to RVU productivity, 0-100",
                    "60",
                    "percent",
                    min=0,
                    max=100,
                ),
                Column(
                    "team_based_care",
                    "boolean",
                    "Routine production-line work (screening, refills, orders, inbox triage) "
                    "delegated to the team",
                    "yes",
                ),
                Column(
                    "support_staff_per_clinician",
                    "number",
                    "MA/RN/scribe FTE per clinician FTE",
                    "1.5",
                    "FTE per FTE",
                    min=0,
                ),
                Column(
                    "clinician_in_governance",
                    "boolean",
                    "Clinicians hold seats in the site's leadership or decision body",
                    "no",
                ),
                Column(
                    "admin_shadowing", "boolean", "Administrators regularly shadow clinicians", "no"
                ),
                Column(
                    "protected_time_pct",
                    "number",
                    "Protected non-visit time, 0-100",
                    "10",
                    "percent",
                    min=0,
                    max=100,
                ),
            ),
            (
                IN_SITES,
                NotBelow("effective_to", "effective_from"),
                NoOverlap("site_id", "effective_from", "effective_to"),
                FutureAllowed("effective_to"),
            ),
        ),
        Table(
            "clinicians",
            "employment spell",
            "One row per employment spell (a rehire is a new row with a new hire_date).",
            (
                Column(
                    "clinician_id",
                    "string",
                    "Your identifier of the person (same across rehires)",
                    "E1043",
                ),
                _site("Site of the spell"),
                Column(
                    "role",
                    "category",
                    "Role; clinicians are physician, advanced_practice and behavioral_health",
                    "physician",
                    categories=ROLES,
                ),
                Column("specialty", "string", "Specialty", "family medicine", required=False),
                Column(
                    "fte",
                    "number",
                    "Contracted FTE, above 0 and at most 1.5",
                    "1.0",
                    "FTE",
                    min=0,
                    max=1.5,
                    min_exclusive=True,
                ),
                Column("hire_date", "date", "First day of the spell", "2016-09-01"),
                Column(
                    "exit_date",
                    "date",
                    "Last day of the spell; empty = still employed",
                    "2021-03-31",
                    required=False,
                ),
                Column(
                    "exit_reason",
                    "category",
                    "Why the spell ended; empty exactly when exit_date is empty",
                    "voluntary",
                    required=False,
                    categories=EXIT_REASONS,
                ),
            ),
            (
                UniqueKey(("clinician_id", "hire_date")),
                IN_SITES,
                NotBelow("exit_date", "hire_date"),
                BothOrNeither("exit_reason", "exit_date"),
            ),
        ),
        Table(
            "access",
            "site × month",
            "One row per site per month.",
            (
                _site(),
                Column("month", "month", "Month, YYYY-MM (or any date in the month)", "2023-04"),
                Column(
                    "third_next_available_days",
                    "number",
                    "IHI third-next-available appointment, calendar days",
                    "12",
                    "days",
                    min=0,
                ),
                Column(
                    "new_patient_wait_days",
                    "number",
                    "Days a new patient waits for a first visit",
                    "21",
                    "days",
                    required=False,
                    min=0,
                ),
                Column(
                    "visits", "integer", "Completed visits in the month", "1850", "visits", min=0
                ),
                Column(
                    "no_show_rate",
                    "number",
                    "Share of booked visits not attended, 0-1",
                    "0.08",
                    "share",
                    required=False,
                    min=0,
                    max=1,
                ),
                Column(
                    "panel_size",
                    "integer",
                    "Patients empanelled at the site",
                    "9500",
                    "patients",
                    required=False,
                    min=0,
                ),
                Column(
                    "budgeted_clinician_fte",
                    "number",
                    "Budgeted clinician FTE",
                    "8.0",
                    "FTE",
                    min=0,
                ),
                Column(
                    "filled_clinician_fte",
                    "number",
                    "Filled clinician FTE (may exceed budgeted)",
                    "7.2",
                    "FTE",
                    min=0,
                ),
            ),
            (UniqueKey(("site_id", "month")), IN_SITES),
        ),
        Table(
            "survey",
            "response",
            "One row per clinician survey response (optional).",
            (
                Column("response_id", "string", "Identifier of the response", "R2023-0001"),
                _site("Site of the respondent"),
                Column("survey_date", "date", "Date of the response", "2023-10-15"),
                Column(
                    "clinician_id",
                    "string",
                    "Respondent; empty for an anonymous survey",
                    "",
                    required=False,
                ),
                Column("role", "category", "Respondent's role", "physician", categories=ROLES),
                _score(
                    "burnout", "Mini-Z single burnout item, 1-5; burned out = 3 or more", "3", True
                ),
                _score(
                    "intent_to_leave",
                    "Likelihood of leaving within two years, 1-5; high = 4 or more",
                    "2",
                    True,
                ),
                _score(
                    "ehr_time_at_home", "Mini-Z EHR time at home, 1 minimal to 5 excessive", "4"
                ),
                _score("trust_in_leadership", "Trust in leadership, 1-5", "3"),
                _score("control_over_workload", "Control over workload, 1-5", "2"),
                _score("teamwork", "Teamwork, 1-5", "4"),
                _score("values_alignment", "Values aligned with leadership, 1-5", "3"),
            ),
            (UniqueKey(("response_id",)), IN_SITES),
            required=False,
        ),
        Table(
            "time_allocation",
            "clinician × month × activity (× after hours)",
            "Clinician minutes by activity per month (optional).",
            (
                Column("clinician_id", "string", "Clinician", "E1043"),
                _site(),
                Column("month", "month", "Month, YYYY-MM", "2024-02"),
                Column(
                    "activity",
                    "category",
                    "Activity (production line: documentation, inbox, orders, "
                    "prescription_renewal, preventive_screening)",
                    "inbox",
                    categories=ACTIVITIES,
                ),
                Column("minutes", "number", "Minutes in the month", "1260", "minutes", min=0),
                Column("after_hours", "boolean", "Work outside scheduled hours", "no"),
            ),
            (IN_SITES,),
            required=False,
        ),
        Table(
            "encounters",
            "encounter",
            "One row per encounter (optional; may be tens of millions of rows).",
            (
                Column("encounter_id", "string", "Identifier of the encounter", "V000001"),
                Column("clinician_id", "string", "Clinician", "E1043"),
                _site(),
                Column("date", "date", "Date of the encounter", "2024-03-12"),
                Column(
                    "cpt_codes",
                    "string",
                    "Billed CPT/HCPCS codes separated by ';'",
                    "99214;90833",
                ),
                Column(
                    "minutes_total",
                    "number",
                    "Clinician minutes on the encounter, above 0",
                    "40",
                    "minutes",
                    min=0,
                    min_exclusive=True,
                ),
                Column(
                    "minutes_uncredited",
                    "number",
                    "Minutes on work no billed code credits (0 to minutes_total)",
                    "12",
                    "minutes",
                    min=0,
                ),
                Column(
                    "work_rvu",
                    "number",
                    "Work RVUs credited; empty = computed from the fee schedule",
                    "3.56",
                    "work RVUs",
                    required=False,
                    min=0,
                ),
            ),
            (
                UniqueKey(("encounter_id",)),
                IN_SITES,
                NotAbove("minutes_uncredited", "minutes_total"),
            ),
            required=False,
            large=True,
        ),
    )
}

REQUIRED_TABLES = tuple(t for t, s in SPECS.items() if s.required)
OPTIONAL_TABLES = tuple(t for t, s in SPECS.items() if not s.required)
TABLES = REQUIRED_TABLES + OPTIONAL_TABLES


def rule_names(specs: dict[str, Table] | None = None) -> list[str]:
    """Every rule a data folder can break, by name: the checks of every table (in the
    order declared) and the rules of the folder, its files and headers.

    Parameters
    ----------
    specs
        The tables (default: the contract's).

    Returns
    -------
    list of str
        Names such as ``clinicians.fte.gt_0`` or ``folder.required_table``, each once.

    Examples
    --------
    >>> "management.periods.no_overlap" in rule_names()
    True
    """
    names: list[str] = []
    for spec in (specs or SPECS).values():
        for chk in spec.checks():
            if chk.rule not in names:
                names.append(chk.rule)
    return names + list(FOLDER_RULES)


__all__ = [
    "ACTIVITIES",
    "CLINICIAN_ROLES",
    "COMP_MODELS",
    "EXIT_REASONS",
    "FALSE",
    "FOLDER_RULES",
    "OPTIONAL_TABLES",
    "PRODUCTION_LINE",
    "REQUIRED_TABLES",
    "ROLES",
    "SOLUTION_SHOP",
    "SPECS",
    "TABLES",
    "TRUE",
    "TYPES",
    "BothOrNeither",
    "Check",
    "Column",
    "FolderRule",
    "FutureAllowed",
    "InOtherTable",
    "NoOverlap",
    "NotAbove",
    "NotBelow",
    "Rule",
    "Table",
    "UniqueKey",
    "rule_names",
]
