"""The data dictionary: what each column means, its rule in words, and an example value.

Used for the analyst's template (``make template``) and the data-quality report.
"""

from __future__ import annotations

from helpers.contract import SPECS, Column

TABLE_MEANING = {
    "sites": "One row per site (clinic, practice or service).",
    "management": "One row per site per period of a management regime; periods of one site "
    "must not overlap.",
    "clinicians": "One row per employment spell (a rehire is a new row with a new hire_date).",
    "access": "One row per site per month.",
    "survey": "One row per clinician survey response (optional).",
    "time_allocation": "Clinician minutes by activity per month (optional).",
    "encounters": "One row per encounter (optional; may be tens of millions of rows).",
}

# (meaning, example)
COLUMNS: dict[tuple[str, str], tuple[str, str]] = {
    ("sites", "site_id"): ("Your identifier of the site", "S01"),
    ("sites", "site_name"): ("Site name", "Riverside Family Medicine"),
    ("sites", "region"): ("Region or market", "North"),
    ("sites", "setting"): (
        "Kind of service, e.g. primary_care, psychiatry, behavioral_health, specialty",
        "primary_care",
    ),
    ("sites", "population_served"): ("Patients or residents served", "24000"),
    ("management", "site_id"): ("Site the regime applies to", "S01"),
    ("management", "effective_from"): ("First day of the regime", "2019-07-01"),
    ("management", "effective_to"): (
        "Last day of the regime; empty = still in effect",
        "2022-06-30",
    ),
    ("management", "comp_model"): ("How clinicians are paid", "rvu_production"),
    ("management", "rvu_target_annual"): (
        "Annual work-RVU target per 1.0 FTE; empty when no target",
        "5200",
    ),
    ("management", "pct_comp_productivity"): ("Share of pay tied to RVU productivity, 0-100", "60"),
    ("management", "team_based_care"): (
        "Routine production-line work (screening, refills, "
        "orders, inbox triage) delegated to the team",
        "yes",
    ),
    ("management", "support_staff_per_clinician"): ("MA/RN/scribe FTE per clinician FTE", "1.5"),
    ("management", "clinician_in_governance"): (
        "Clinicians hold seats in the site's leadership or decision body",
        "no",
    ),
    ("management", "admin_shadowing"): ("Administrators regularly shadow clinicians", "no"),
    ("management", "protected_time_pct"): ("Protected non-visit time, 0-100", "10"),
    ("clinicians", "clinician_id"): (
        "Your identifier of the person (same across rehires)",
        "E1043",
    ),
    ("clinicians", "site_id"): ("Site of the spell", "S01"),
    ("clinicians", "role"): (
        "Role; clinicians are physician, advanced_practice and behavioral_health",
        "physician",
    ),
    ("clinicians", "specialty"): ("Specialty", "family medicine"),
    ("clinicians", "fte"): ("Contracted FTE, above 0 and at most 1.5", "1.0"),
    ("clinicians", "hire_date"): ("First day of the spell", "2016-09-01"),
    ("clinicians", "exit_date"): ("Last day of the spell; empty = still employed", "2021-03-31"),
    ("clinicians", "exit_reason"): (
        "Why the spell ended; empty exactly when exit_date is empty",
        "voluntary",
    ),
    ("access", "site_id"): ("Site", "S01"),
    ("access", "month"): ("Month, YYYY-MM (or any date in the month)", "2023-04"),
    ("access", "third_next_available_days"): (
        "IHI third-next-available appointment, calendar days",
        "12",
    ),
    ("access", "new_patient_wait_days"): ("Days a new patient waits for a first visit", "21"),
    ("access", "visits"): ("Completed visits in the month", "1850"),
    ("access", "no_show_rate"): ("Share of booked visits not attended, 0-1", "0.08"),
    ("access", "panel_size"): ("Patients empanelled at the site", "9500"),
    ("access", "budgeted_clinician_fte"): ("Budgeted clinician FTE", "8.0"),
    ("access", "filled_clinician_fte"): ("Filled clinician FTE (may exceed budgeted)", "7.2"),
    ("survey", "response_id"): ("Identifier of the response", "R2023-0001"),
    ("survey", "site_id"): ("Site of the respondent", "S01"),
    ("survey", "survey_date"): ("Date of the response", "2023-10-15"),
    ("survey", "clinician_id"): ("Respondent; empty for an anonymous survey", ""),
    ("survey", "role"): ("Respondent's role", "physician"),
    ("survey", "burnout"): ("Mini-Z single burnout item, 1-5; burned out = 3 or more", "3"),
    ("survey", "intent_to_leave"): (
        "Likelihood of leaving within two years, 1-5; high = 4 or more",
        "2",
    ),
    ("survey", "ehr_time_at_home"): ("Mini-Z EHR time at home, 1 minimal to 5 excessive", "4"),
    ("survey", "trust_in_leadership"): ("Trust in leadership, 1-5", "3"),
    ("survey", "control_over_workload"): ("Control over workload, 1-5", "2"),
    ("survey", "teamwork"): ("Teamwork, 1-5", "4"),
    ("survey", "values_alignment"): ("Values aligned with leadership, 1-5", "3"),
    ("time_allocation", "clinician_id"): ("Clinician", "E1043"),
    ("time_allocation", "site_id"): ("Site", "S01"),
    ("time_allocation", "month"): ("Month, YYYY-MM", "2024-02"),
    ("time_allocation", "activity"): (
        "Activity (production line: documentation, inbox, "
        "orders, prescription_renewal, preventive_screening)",
        "inbox",
    ),
    ("time_allocation", "minutes"): ("Minutes in the month", "1260"),
    ("time_allocation", "after_hours"): ("Work outside scheduled hours", "no"),
    ("encounters", "encounter_id"): ("Identifier of the encounter", "V000001"),
    ("encounters", "clinician_id"): ("Clinician", "E1043"),
    ("encounters", "site_id"): ("Site", "S01"),
    ("encounters", "date"): ("Date of the encounter", "2024-03-12"),
    ("encounters", "cpt_codes"): ("Billed CPT/HCPCS codes separated by ';'", "99214;90833"),
    ("encounters", "minutes_total"): ("Clinician minutes on the encounter, above 0", "40"),
    ("encounters", "minutes_uncredited"): (
        "Minutes on work no billed code credits (0 to minutes_total)",
        "12",
    ),
    ("encounters", "work_rvu"): (
        "Work RVUs credited; empty = computed from the fee schedule",
        "3.56",
    ),
}

TYPE_WORDS = {
    "string": "text",
    "integer": "whole number",
    "number": "number",
    "date": "date YYYY-MM-DD",
    "month": "month YYYY-MM",
    "boolean": "yes/no (true/false, y/n, 1/0)",
    "category": "one of a list",
}


def rule_text(table: str, col: Column) -> str:
    """The column's rules in words."""
    spec = SPECS[table]
    parts = ["required" if col.required else "may be empty"]
    if col.categories:
        parts.append("one of " + ", ".join(col.categories))
    if col.min is not None:
        parts.append(("> " if col.min_exclusive else ">= ") + f"{col.min:g}")
    if col.max is not None:
        parts.append(f"<= {col.max:g}")
    for key in spec.unique:
        if col.name in key:
            parts.append(
                "unique"
                if len(key) == 1
                else "unique with " + ", ".join(k for k in key if k != col.name)
            )
    if col.name in spec.references:
        parts.append("must exist in " + spec.references[col.name])
    return "; ".join(parts)


def rows() -> list[dict[str, str]]:
    """One row per table column: table, column, meaning, type, rules, example."""
    out = []
    for table, spec in SPECS.items():
        for col in spec.columns:
            meaning, example = COLUMNS[(table, col.name)]
            out.append(
                {
                    "table": table,
                    "column": col.name,
                    "meaning": meaning,
                    "type": TYPE_WORDS[col.type],
                    "rules": rule_text(table, col),
                    "example": example,
                }
            )
    return out
