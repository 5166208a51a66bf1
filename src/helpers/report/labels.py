"""One label dictionary for tables, figures and text: code names in the words a reader knows.

``VALUES`` names category values and model terms; ``COLUMNS`` names table columns and says how
their numbers are formatted (see :mod:`helpers.report.formatting`). Every column of a published
table and every category value shown must be here: a test checks the demonstration report.
"""

from __future__ import annotations

from typing import Any

VALUES: dict[str, str] = {
    # pay models
    "rvu_production": "RVU production pay",
    "salary": "Salary",
    "salary_plus_quality": "Salary plus quality pay",
    "hybrid": "Hybrid pay",
    # practices
    "team_based_care": "Team-based care",
    "clinician_in_governance": "Clinicians in governance",
    "admin_shadowing": "Administrator shadowing",
    "protected_time_pct": "Protected time (%)",
    "pct_comp_productivity": "Pay tied to productivity (%)",
    "rvu_target_annual": "Annual work-RVU target",
    "support_staff_per_clinician": "Support staff per clinician",
    # roles
    "physician": "Physician",
    "advanced_practice": "Advanced practice clinician",
    "behavioral_health": "Behavioral health clinician",
    "nurse": "Nurse",
    "medical_assistant": "Medical assistant",
    "other": "Other",
    "clinician": "Clinicians",
    "support": "Support staff",
    # settings (behavioral_health in a setting column: SETTING below)
    "primary_care": "Primary care",
    "psychiatry": "Psychiatry",
    "specialty": "Specialty care",
    # activities
    "direct_patient_care": "Direct patient care",
    "documentation": "Documentation",
    "inbox": "Inbox",
    "orders": "Orders",
    "prescription_renewal": "Prescription renewal",
    "preventive_screening": "Preventive screening",
    "care_coordination": "Care coordination",
    "administrative": "Administrative",
    "production_line": "Production-line work",
    "solution_shop": "Solution-shop work",
    "neither": "Neither",
    # exit reasons
    "voluntary": "Voluntary",
    "involuntary": "Involuntary",
    "retirement": "Retirement",
    # access outcomes
    "third_next_available_days": "Third-next-available appointment (days)",
    "new_patient_wait_days": "New-patient wait (days)",
    "visits_per_fte": "Monthly visits per budgeted FTE",
    "vacant_fte_months_per_departed_fte": "Vacant FTE-months per departed FTE",
    "tnaa_day_months_per_departed_fte": "Third-next-available day-months per departed FTE",
    "visits_lost_per_departed_fte": "Visits lost per departed FTE",
    # survey items
    "trust_in_leadership": "Trust in leadership",
    "teamwork": "Teamwork",
    "control_over_workload": "Control over workload",
    "values_alignment": "Values alignment",
    "ehr_time_at_home": "EHR time at home",
    # model terms (Cox design columns and formula terms)
    "comp_rvu_production": "RVU production pay (vs salary)",
    "comp_salary_plus_quality": "Salary plus quality pay (vs salary)",
    "comp_hybrid": "Hybrid pay (vs salary)",
    "role_advanced_practice": "Advanced practice clinician (vs physician)",
    "role_behavioral_health": "Behavioral health clinician (vs physician)",
    "setting_psychiatry": "Psychiatry (vs primary care)",
    "setting_behavioral_health": "Behavioral health setting (vs primary care)",
    "setting_specialty": "Specialty care (vs primary care)",
    # dose-response models and mediation effects (burnout notebook)
    "across_pay_models": "Across pay models (pay model not adjusted)",
    "within_pay_model": "Within pay model (pay model adjusted)",
    "sites_with_target": "Sites with a work-RVU target (pay model adjusted)",
    "adjusted_set": "Full adjustment set",
    "nie": "Indirect, through burnout (NIE)",
    "nde": "Direct (NDE)",
    "te": "Total (TE)",
    "protected_time_10pt": "Protected time, per 10 points",
    "pct_comp_productivity_10pt": "Pay tied to productivity, per 10 points",
    "rvu_target_1000": "Annual work-RVU target, per 1,000",
    "burned_out": "Burned out (vs not)",
    "global": "All terms (global test)",
    # models
    "main": "Main model",
    "within_site": "Within site (stratified by site)",
    # booleans and groups
    "True": "Yes",
    "False": "No",
    "with": "With team-based care",
    "without": "Without team-based care",
    "all": "All",
    "all sites": "All sites",
    # policy-model assumptions and outcomes
    "positions": "Clinician positions",
    "months": "Months modeled",
    "full_visits_per_month": "Visits a month at full productivity",
    # the switch study (helpers.analysis.switch)
    "before_switch": "Before the switch (pre-trend model)",
    "after_switch": "After the switch (imputation)",
    "imputation_poisson": "Imputation (Poisson), RVU sites",
    "twfe_rvu_sites": "Two-way fixed effects, RVU sites",
    "twfe_all_sites": "Two-way fixed effects, all sites (previous)",
    "site_bootstrap_t": "Site bootstrap SE, t(switching sites − 1)",
    "cluster_t": "Site-clustered, t(G − 1)",
    "start_capacity": "Productivity in month one",
    "midpoint_months": "Months to half proficiency",
    "learning_width_months": "Steepness of the learning curve (months)",
    "base_exit_per_year": "Exits per year with no gap",
    "month_one_hazard_ratio": "Month-one exit hazard ratio, full target vs no gap",
    "stretch": "Most output above capacity (share of capacity)",
    "rework_share": "Share of stretched visits that are rework",
    "learning_curve_gap": "Learning-curve target above capacity",
    "vacancy_months": "Months to refill a post",
    "salary_per_year": "Yearly cost of a clinician (USD)",
    "replacement_share_of_salary": "Replacement cost (share of salary)",
    "total_rvu_per_visit": "Total RVUs per visit",
    "conversion_factor": "Conversion factor (USD per RVU)",
    "payment_share": "Share of the fee schedule paid",
    "discount_rate": "Discount rate a year",
    "departures": "Departures",
    # assumptions of the cost sensitivity analysis
    "correlation_0": "Costs uncorrelated across roles",
    "base_case": "Base case (the stated assumptions)",
    "correlation_0_9": "Correlation 0.9 across roles",
    "interval_95": "Published ranges as 95% ranges (not 90%)",
    "visits": "Visits",
    "net_cost": "Net cost, discounted (USD)",
    "net_cost_undiscounted": "Net cost, undiscounted (USD)",
    "day_one": "Target from month one",
    "learning_curve": "Target follows the learning curve",
}

# calendar-year terms of the Cox models ("year_2021": calendar year 2021 vs the first year;
# pooled years without exits are named "year_2018-2019" and fall back to plain text)
VALUES.update({f"year_{y}": f"Calendar year {y}" for y in range(2000, 2041)})

# column -> (header, format kind); kinds are those of helpers.report.formatting.fmt
COLUMNS: dict[str, tuple[str, str]] = {
    "outcome": ("Outcome", "text"),
    "term": ("Term", "text"),
    "item": ("Survey item", "text"),
    "measure": ("Measure", "text"),
    "group": ("Group", "text"),
    "role": ("Role", "text"),
    "setting": ("Setting", "text"),
    "comp_model": ("Pay model", "text"),
    "team_based_care": ("Team-based care", "text"),
    "site_id": ("Site", "text"),
    "visit_type": ("Billed codes", "text"),
    "assumption": ("Assumption", "text"),
    "finding": ("Finding", "finding"),
    "source": ("Source", "cite"),
    "year": ("Year", "year"),
    "sites": ("Sites", "count"),
    "site_months": ("Site-months", "count"),
    "clinicians": ("Clinicians", "count"),
    "clinicians_observed": ("Clinicians observed", "count"),
    "support_staff": ("Support staff", "count"),
    "responses": ("Responses", "count"),
    "burned_out": ("Burned out", "count"),
    "exits": ("Voluntary exits", "count"),
    "departures": ("Clinician exits (all reasons)", "count"),
    "encounters": ("Encounters", "count"),
    "clinician_years": ("Clinician-years", "count"),
    "exits_per_year": ("Voluntary exits per year", "rate"),
    "rate_per_100": ("Exits per 100 clinician-years", "rate"),
    "share": ("Share", "share"),
    "uncredited_share": ("Uncredited share", "share"),
    "this_organization": ("This organization", "share"),
    "sinsky_2016": ("Sinsky et al. 2016", "share"),
    "relative_difference": ("Relative difference", "share"),
    "sd_between_clinicians": ("SD of clinicians' own shares", "share"),
    "ci_width": ("Width of the 95% interval", "share"),
    "hr": ("Hazard ratio", "ratio"),
    "or": ("Odds ratio", "ratio"),
    "rr": ("Rate ratio", "ratio"),
    "or_per_point": ("Odds ratio per point", "ratio"),
    "exposure": ("Compared with reference", "text"),
    "effect": ("Effect", "text"),
    "per": ("Per increase of", "count"),
    "model": ("Model", "text"),
    "people": ("People (at least)", "count"),
    "events": ("Responses with the outcome", "count"),
    "risk_exposed": ("Standardized risk, exposed", "share"),
    "risk_reference": ("Standardized risk, reference", "share"),
    "risk_ratio": ("Risk ratio", "ratio"),
    "risk_difference": ("Risk difference (percentage points)", "points"),
    "difference": ("Difference (points of 5)", "number"),
    "slope": ("Change per vacant FTE", "number"),
    "rho": ("Correlation", "number"),
    "chi2": ("Chi-square", "number"),
    "df": ("Degrees of freedom", "count"),
    "at_risk": ("Clinicians at risk", "count"),
    "tenure_years": ("Tenure (years)", "number"),
    "excess_exits_per_year": ("Excess voluntary exits per year", "rate"),
    "p": ("P value", "p"),
    "support_per_clinician": ("Support staff per clinician", "number"),
    "minutes_total": ("Minutes", "count"),
    "minutes_uncredited": ("Uncredited minutes", "count"),
    "minutes_per_work_rvu": ("Minutes per work RVU", "rate"),
    "mean_work_rvu": ("Work RVUs per encounter", "number"),
    "hours_freed_per_month": ("Clinician hours freed per month", "count"),
    "slots_freed_per_month": ("Appointment slots freed per month", "count"),
    "replacement_cost_low": ("Replacement cost, low", "usd"),
    "replacement_cost_high": ("Replacement cost, high", "usd"),
    "replacement_cost_median": ("Replacement cost, median", "usd"),
    "cost_per_year_median": ("Cost per year (median)", "usd"),
    "published": ("Published", "usd"),
    "reproduced": ("Reproduced", "usd"),
    "value": ("Value", "number"),
    "low_value": ("Assumption at its 2.5th percentile", "number"),
    "high_value": ("Assumption at its 97.5th percentile", "number"),
    "low_value_result": ("Assumption lower", "usd"),
    "high_value_result": ("Assumption higher", "usd"),
    "base_result": ("Base case", "usd"),
    "distribution": ("Distribution in the sensitivity analysis", "text"),
    "base_case": ("Base case", "number"),
    "psa_median": ("Median of the simulations", "number"),
    "share_above_zero": ("Simulations above zero", "share"),
    "target_level": ("Target from month one (share of full productivity)", "share"),
    "departures_difference": ("Departures, difference", "number"),
    "visits_difference": ("Visits, difference", "number"),
    "net_cost_difference": ("Net cost, difference", "usd"),
    "comp_rvu_production": ("RVU production pay", "share"),
    "comp_hybrid": ("Hybrid pay", "share"),
    "comp_salary_plus_quality": ("Salary plus quality pay", "share"),
    "comp_salary": ("Salary", "share"),
    "share_team_based_care": ("Team-based care", "share"),
    "share_clinician_in_governance": ("Clinicians in governance", "share"),
    "share_admin_shadowing": ("Administrator shadowing", "share"),
    "mean_protected_time_pct": ("Mean protected time (%)", "rate"),
    # the switch study (helpers.analysis.switch)
    "year_rel": ("Years since the switch", "count"),
    "period": ("Estimate from", "text"),
    "switch_sites": ("Switching sites", "count"),
    "site_years": ("Site-years", "count"),
    "expected_exits": ("Imputed exits on RVU production pay", "rate"),
    "leads": ("Years before the switch tested", "text"),
    "wald": ("Wald statistic", "number"),
    "replicates": ("Bootstrap replicates", "count"),
    "failed": ("Failed replicates", "count"),
    "estimator": ("Estimator", "text"),
    "interval": ("Interval", "text"),
}
# An interval's two columns are shown as one "95% CI" column in the format of the estimate
# column before them; these name the pairs.
CI_PAIRS: tuple[tuple[str, str], ...] = (
    ("ci_low", "ci_high"),
    ("cost_per_year_low", "cost_per_year_high"),
    ("rd_ci_low", "rd_ci_high"),
)


# Codes that mean something else in a particular column.
IN_COLUMN: dict[str, dict[str, str]] = {
    "setting": {"behavioral_health": "Behavioral health"},
    # in the event-study table, whose first column already says before or after
    "period": {"before_switch": "Pre-trend model", "after_switch": "Imputation"},
}


def label(value: Any, column: str | None = None) -> str:
    """The reader's words for a code value or model term (unknown values are returned as text,
    with underscores as spaces); ``column`` names the column a code sits in, where that
    changes its meaning (``behavioral_health`` is a role, or a setting).

    Examples
    --------
    >>> label("behavioral_health"), label("behavioral_health", "setting")
    ('Behavioral health clinician', 'Behavioral health')
    """
    text = str(value)
    if column in IN_COLUMN and text in IN_COLUMN[column]:
        return IN_COLUMN[column][text]
    return VALUES.get(text, text.replace("_", " "))


def column(name: str) -> tuple[str, str]:
    """The header and format kind of a table column."""
    if name in COLUMNS:
        return COLUMNS[name]
    raise KeyError(f"no label for table column {name!r}: add it to helpers.report.labels.COLUMNS")
