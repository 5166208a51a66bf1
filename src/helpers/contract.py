"""The data contract as data: tables, columns, types, categories.

The rules themselves are applied in :mod:`helpers.validate`; everything that needs to know
what a table looks like reads it from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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

REQUIRED_TABLES = ("sites", "management", "clinicians", "access")
OPTIONAL_TABLES = ("survey", "time_allocation", "encounters")
TABLES = REQUIRED_TABLES + OPTIONAL_TABLES

# Types: "string", "integer", "number", "date", "month", "boolean", "category".


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = True  # False: the cell may be empty
    categories: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    unique: tuple[tuple[str, ...], ...] = ()
    references: dict[str, str] = field(default_factory=dict)  # column -> "table.column"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


_SITE_REF = {"site_id": "sites.site_id"}

SPECS: dict[str, Table] = {
    "sites": Table(
        "sites",
        (
            Column("site_id", "string"),
            Column("site_name", "string", required=False),
            Column("region", "string", required=False),
            Column("setting", "string"),
            Column("population_served", "integer", required=False, min=0),
        ),
        unique=(("site_id",),),
    ),
    "management": Table(
        "management",
        (
            Column("site_id", "string"),
            Column("effective_from", "date"),
            Column("effective_to", "date", required=False),
            Column("comp_model", "category", categories=COMP_MODELS),
            Column("rvu_target_annual", "number", required=False, min=0),
            Column("pct_comp_productivity", "number", min=0, max=100),
            Column("team_based_care", "boolean"),
            Column("support_staff_per_clinician", "number", min=0),
            Column("clinician_in_governance", "boolean"),
            Column("admin_shadowing", "boolean"),
            Column("protected_time_pct", "number", min=0, max=100),
        ),
        references=_SITE_REF,
    ),
    "clinicians": Table(
        "clinicians",
        (
            Column("clinician_id", "string"),
            Column("site_id", "string"),
            Column("role", "category", categories=ROLES),
            Column("specialty", "string", required=False),
            Column("fte", "number", min=0, max=1.5, min_exclusive=True),
            Column("hire_date", "date"),
            Column("exit_date", "date", required=False),
            Column("exit_reason", "category", required=False, categories=EXIT_REASONS),
        ),
        unique=(("clinician_id", "hire_date"),),
        references=_SITE_REF,
    ),
    "access": Table(
        "access",
        (
            Column("site_id", "string"),
            Column("month", "month"),
            Column("third_next_available_days", "number", min=0),
            Column("new_patient_wait_days", "number", required=False, min=0),
            Column("visits", "integer", min=0),
            Column("no_show_rate", "number", required=False, min=0, max=1),
            Column("panel_size", "integer", required=False, min=0),
            Column("budgeted_clinician_fte", "number", min=0),
            Column("filled_clinician_fte", "number", min=0),
        ),
        unique=(("site_id", "month"),),
        references=_SITE_REF,
    ),
    "survey": Table(
        "survey",
        (
            Column("response_id", "string"),
            Column("site_id", "string"),
            Column("survey_date", "date"),
            Column("clinician_id", "string", required=False),
            Column("role", "category", categories=ROLES),
            Column("burnout", "integer", min=1, max=5),
            Column("intent_to_leave", "integer", min=1, max=5),
            Column("ehr_time_at_home", "integer", required=False, min=1, max=5),
            Column("trust_in_leadership", "integer", required=False, min=1, max=5),
            Column("control_over_workload", "integer", required=False, min=1, max=5),
            Column("teamwork", "integer", required=False, min=1, max=5),
            Column("values_alignment", "integer", required=False, min=1, max=5),
        ),
        unique=(("response_id",),),
        references=_SITE_REF,
    ),
    "time_allocation": Table(
        "time_allocation",
        (
            Column("clinician_id", "string"),
            Column("site_id", "string"),
            Column("month", "month"),
            Column("activity", "category", categories=ACTIVITIES),
            Column("minutes", "number", min=0),
            Column("after_hours", "boolean"),
        ),
        references=_SITE_REF,
    ),
    "encounters": Table(
        "encounters",
        (
            Column("encounter_id", "string"),
            Column("clinician_id", "string"),
            Column("site_id", "string"),
            Column("date", "date"),
            Column("cpt_codes", "string"),
            Column("minutes_total", "number", min=0, min_exclusive=True),
            Column("minutes_uncredited", "number", min=0),
            Column("work_rvu", "number", required=False, min=0),
        ),
        unique=(("encounter_id",),),
        references=_SITE_REF,
    ),
}
