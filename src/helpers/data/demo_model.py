"""The simulated world of the demonstration organization: its sites, management regimes,
posts, clinicians' careers, burnout, access, survey, time allocation and encounters.

:mod:`helpers.data.demo` draws an organization from this model and writes it;
:mod:`helpers.data.demo_truth` computes what the analyses should find in it. ``TRUTH`` holds
the simulation parameters and ``DESCRIPTIONS`` what each one means; ``data/README.md``
describes every effect.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from helpers.data.contract import CLINICIAN_ROLES, PRODUCTION_LINE, SPECS
from helpers.data.reference import fee_schedule

SIM_START = pd.Timestamp("2008-01-01")
WINDOW = (pd.Timestamp("2017-01-01"), pd.Timestamp("2024-12-31"))
MONTHS = pd.date_range(SIM_START, "2024-12-01", freq="MS")  # simulation months
ACCESS_MONTHS = pd.date_range(WINDOW[0], "2024-12-01", freq="MS")
ENCOUNTER_SPAN = (pd.Timestamp("2023-01-01"), WINDOW[1])
TIME_MONTHS = pd.date_range("2024-01-01", "2024-06-01", freq="MS")
SURVEY_YEARS = range(2017, 2025)
# Burnout periods run from 15 October to 14 October; a simulation month belongs to the period
# that holds its 15th. Period k starts in year FIRST_PERIOD + k (period 0: January-September
# 2008, which starts with the simulation).
PERIOD_OF_MONTH = np.where(MONTHS.month >= 10, MONTHS.year, MONTHS.year - 1)
FIRST_PERIOD = int(PERIOD_OF_MONTH[0])
PERIOD_OF_MONTH = PERIOD_OF_MONTH - FIRST_PERIOD
PERIOD_START_MONTH = np.array(
    [int(np.argmax(PERIOD_OF_MONTH == k)) for k in range(PERIOD_OF_MONTH[-1] + 1)]
)
FIRST_WINDOW_MONTH = int(np.argmax(MONTHS >= WINDOW[0]))
WINDOW_YEARS = ((WINDOW[1] - WINDOW[0]).days + 1) / 365.25
SWITCH_SPAN = ("2018-01-01", "2023-12-01")
ADOPTION_SPAN = {
    "concentrated": ("2019-01-01", "2023-12-01"),
    "uniform": ("2010-01-01", "2024-06-01"),
}
CLINICIAN_POSTS = {"small": (4, 9), "large": (10, 20), "any": (8, 20)}  # inclusive ranges
# The Weibull baseline is divided by 1 + 0.4 (hr_burnout - 1), so that with about 40% of
# clinicians burned out voluntary exits stay near 8-10 per 100 clinician-years.
BURNOUT_REFERENCE_PREVALENCE = 0.4

SITES_PER_SETTING = {"primary_care": 24, "psychiatry": 8, "behavioral_health": 8, "specialty": 10}
REGIONS = ("North", "South", "East", "West")
ROLE_MIX = {  # clinician roles of a setting's posts, with probabilities
    "primary_care": {"physician": 0.6, "advanced_practice": 0.4},
    "specialty": {"physician": 0.75, "advanced_practice": 0.25},
    "psychiatry": {"physician": 0.45, "advanced_practice": 0.25, "behavioral_health": 0.3},
    "behavioral_health": {"behavioral_health": 0.7, "advanced_practice": 0.15, "physician": 0.15},
}
SPECIALTY = {
    "primary_care": "family medicine",
    "specialty": "cardiology",
    "psychiatry": "psychiatry",
    "behavioral_health": "behavioral health",
}
POST_FTE = (1.0, 1.0, 1.0, 0.9, 0.8, 0.6, 0.5)
# codes billed together at one encounter, by setting, with probabilities
CODE_MIX = {
    "primary_care": {"99213": 0.3, "99214": 0.3, "99214;G2211": 0.15, "99213;G2211": 0.07,
                     "99215": 0.1, "99212": 0.08},
    "specialty": {"99213": 0.2, "99214": 0.3, "99215": 0.15, "99203": 0.1, "99204": 0.15,
                  "99205": 0.05, "99212": 0.05},
    "psychiatry": {"99214;90833": 0.33, "99213;90833": 0.15, "99214;90836": 0.07,
                   "99214": 0.2, "99213": 0.1, "90792": 0.08, "90791": 0.07},
    "behavioral_health": {"90834": 0.3, "90837": 0.25, "90832": 0.15, "90791": 0.08,
                          "99492": 0.07, "99493": 0.1, "99494": 0.05},
}  # fmt: skip
CODE_MINUTES = {
    "99212": 15, "99213": 20, "99214": 30, "99215": 40, "99203": 30, "99204": 45,
    "99205": 60, "90833": 20, "90836": 35, "90791": 55, "90792": 60, "90832": 30,
    "90834": 45, "90837": 60, "99492": 70, "99493": 60, "99494": 30, "G2211": 5,
}  # fmt: skip
# expected activity shares of clinician minutes without team-based care (sum 1); production
# line 0.50. Team-based care delegates 28% of each production-line activity (share 0.36) and
# the freed minutes go to direct patient care (+0.10) and care coordination (+0.04).
SHARES_WITHOUT_TBC = {
    "direct_patient_care": 0.27, "care_coordination": 0.09, "administrative": 0.09,
    "other": 0.05, "documentation": 0.20, "inbox": 0.14, "orders": 0.07,
    "prescription_renewal": 0.05, "preventive_screening": 0.04,
}  # fmt: skip

TRUTH: dict = {
    "turnover": {
        "hr_rvu_production": 1.6, "hr_salary_plus_quality": 1.0, "hr_hybrid": 1.25,
        "hr_team_based_care": 0.7, "hr_clinician_in_governance": 0.8, "hr_admin_shadowing": 0.85,
        "hr_role": {"physician": 1.0, "advanced_practice": 1.2, "behavioral_health": 1.3},
        "hr_setting": {"primary_care": 1.0, "psychiatry": 1.1, "behavioral_health": 1.2,
                       "specialty": 0.9},
        "baseline": {"form": "voluntary hazard per year h0(t) = (k/lam) (t/lam)^(k-1), "
                             "t = tenure in years", "k": 0.8, "lam": 14.0},
        "other_exit_hazards_per_year": {"involuntary": 0.015, "retirement": 0.01, "other": 0.005},
        "support_staff_exit_hazards_per_year": {"voluntary": 0.10, "involuntary": 0.015,
                                                "retirement": 0.01, "other": 0.005},
        "vacancy_months_mean": 4.5,
        "rehire_probability": 0.08,
    },
    "access": {
        "tnaa_per_vacant_fte": 2.5,
        "new_patient_wait_per_vacant_fte": 4.0,
        "visits_per_budgeted_fte_per_vacant_fte": -15.0,
        "noise_sd": {"tnaa": 2.0, "new_patient_wait": 3.0, "visits_per_budgeted_fte": 8.0},
        "site_intercept_range": {"tnaa": [10, 20], "new_patient_wait": [18, 32],
                                 "visits_per_budgeted_fte": [250, 310]},
        "month_effect": "1.5 sin(2 pi (calendar month - 1) / 12) + 0.03 x months since 2017-01; "
                        "x 1 for tnaa, x 1.5 for new-patient wait, x -2 for visits per FTE",
        "missing_share": {"new_patient_wait_days": 0.05, "no_show_rate": 0.02, "panel_size": 0.02},
    },
    "burnout": {
        "or_rvu_production": 1.8, "or_hybrid": 1.3, "or_salary_plus_quality": 0.9,
        "or_team_based_care": 0.6,
        "or_role": {"physician": 1.0, "advanced_practice": 1.1, "behavioral_health": 1.2},
        "or_setting": {"primary_care": 1.0, "psychiatry": 1.15, "behavioral_health": 1.1,
                       "specialty": 0.85},
        "intercept": -0.45,
        "intent_intercept": -2.0, "intent_or_burnout": 3.0, "intent_or_rvu_direct": 1.2,
        "anonymous_share": 0.2, "item_missing_share": 0.03,
    },
    "time": {
        "production_line_share_without_tbc": 0.50, "production_line_share_with_tbc": 0.36,
        "direct_patient_care_share_without_tbc": 0.27, "direct_patient_care_share_with_tbc": 0.37,
        "after_hours_share_of_documentation_and_inbox": 0.30,
        "minutes_per_fte_month": 9000, "sampled_share_of_clinicians": 0.4,
    },
    "encounters": {
        "uncredited_share": {"psychiatry": 0.22, "behavioral_health": 0.18, "primary_care": 0.12,
                             "specialty": 0.08},
        "uncredited_beta_concentration": 20,
        "work_rvu_missing_share": 0.10,
        "encounters_per_fte_weekday": 0.8,
    },
}  # fmt: skip
DESCRIPTIONS = {  # the simulation parameters; helpers.data.demo_truth.DESCRIPTIONS: the estimands
    "realism": "the options the world was generated with (helpers.data.demo.Realism; "
    "data/README.md)",
    "turnover.hr_*": "simulation parameters: direct voluntary-exit hazard ratios (not through "
    "burnout), given the site frailty and calendar shock; reference salary, physician, primary "
    "care, practice absent; regime in effect in the month (time-varying). What a Cox model "
    "without burnout targets is turnover.hr_*_total",
    "turnover.hr_burnout": "simulation parameter: voluntary-exit hazard ratio, burned out vs not, "
    "in each burnout period (15 October to 14 October; a month belongs to the period holding its "
    "15th); 1 when exits do not depend on burnout",
    "turnover.baseline": "Weibull baseline hazard on tenure of a clinician not burned out, times "
    "burnout_scale = 1 / (1 + 0.4 (hr_burnout - 1)), so voluntary exits stay about 8-12 per 100 "
    "clinician-years whatever hr_burnout",
    "turnover.other_exit_hazards_per_year": "competing constant hazards of the other exit reasons",
    "turnover.support_staff_exit_hazards_per_year": "nurses and medical assistants: constant "
    "hazards, no covariates, no frailty, no calendar shock",
    "turnover.vacancy_months_mean": "a departure leaves the post empty for a geometric number of "
    "months (>= 1) with this mean",
    "turnover.rehire_probability": "chance that a post is filled by a former voluntary/other "
    "leaver of the same role (same clinician_id, later hire_date)",
    "access.*_per_vacant_fte": "slope of the site-month outcome on vacant clinician FTE; outcome = "
    "site intercept + month effect + slope x vacant FTE + normal noise",
    "access.visits_per_budgeted_fte_per_vacant_fte": "visits = round(budgeted FTE x (site + "
    "month effect - 15 x vacant FTE + noise)); so visits/budgeted FTE falls 15 per vacant FTE",
    "access.clipped_at_zero": "how many simulated waits were below 0 and written as 0",
    "burnout.or_*": "simulation parameters: conditional odds ratios of burned out (burnout >= 3) "
    "given the site effect and calendar shock, logistic with intercept, regime at the start of "
    "the burnout period (the survey date); reference salary, no team-based care, physician, "
    "primary care",
    "burnout.intercept": "intercept of the logistic model of burned out (physician, primary "
    "care, salary, no team-based care, site effect 0, no shock)",
    "burnout.anonymous_share": "share of responses written without clinician_id",
    "burnout.item_missing_share": "share of each 1-5 item (ehr_time_at_home to values_alignment) "
    "left empty",
    "burnout.intent_*": "high intent to leave (>= 4) ~ logistic(intent_intercept + "
    "log(intent_or_burnout) x burned_out + log(intent_or_rvu_direct) x rvu_production)",
    "burnout.response_probability": "probability that a clinician in post on a survey date "
    "answers, by burnout state in the period that opens that day",
    "burnout.items": "1-5 items = clip(round(base + N(0, 0.8))): ehr_time_at_home 2.8 + 0.8 B - "
    "0.5 T; trust 3.3 - 0.8 B + 0.5 S + 0.3 G; control 3.2 - 0.9 B + 0.4 T; teamwork 3.4 - "
    "0.5 B + 0.6 T; values 3.2 - 0.7 B + 0.4 G + 0.2 S (B burned out, T team-based care, "
    "G governance, S shadowing)",
    "time.*": "expected shares of clinician minutes (Dirichlet around them, concentration 300)",
    "time.after_hours_minutes_per_clinician_month": "expected after-hours minutes per sampled "
    "clinician-month, over the generated rows' FTE and team-based care",
    "encounters.uncredited_share": "mean of minutes_uncredited / minutes_total by site setting "
    "(Beta noise, independent of minutes_total, so also the minute-weighted share)",
    "encounters.encounters_per_fte_weekday": "Poisson encounters per FTE per weekday in post "
    "(a sample of real volume, to keep the demonstration small)",
}


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _log_hr(table: dict, values: np.ndarray) -> np.ndarray:
    return np.log(np.array([table[v] for v in values], dtype=float))


def _comp_effects(prefix: str, block: dict) -> dict:
    return {
        "salary": 1.0,
        "rvu_production": block[f"{prefix}_rvu_production"],
        "salary_plus_quality": block[f"{prefix}_salary_plus_quality"],
        "hybrid": block[f"{prefix}_hybrid"],
    }


# --- options ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Realism:
    """What real data have and the contract's models leave out. The defaults are realistic;
    :meth:`none` turns every option off (the contract's models are then correctly specified).

    Attributes:
        calendar_shocks: multiply the voluntary-exit hazard of each month by
            ``exit_hazard_shock`` of its calendar year and the burnout odds of each period by
            ``burnout_odds_shock`` of the year it starts (so of that year's survey); years not
            listed: 1. Off: no calendar effects.
        exit_hazard_shock: (year, multiplier of the voluntary-exit hazard) pairs.
        burnout_odds_shock: (year, multiplier of the odds of burned out) pairs.
        adoption: when sites adopt team-based care, clinicians in governance and administrator
            shadowing: ``"concentrated"`` in 2019-2023 (so practice person-time overlaps the
            shock years and an analysis without calendar terms is biased), ``"uniform"`` in
            any month of 2010-01 to 2024-06.
        switch_ramp_years: the rate ratio of voluntary exits after a switch from RVU production
            pay, relative to staying on it, moves from 1 at the switch to its full value
            (hr of the new pay / hr_rvu_production) linearly on the log scale over this many
            years; 0: the full effect from the switch.
        site_frailty_sd: SD of the log of each site's lognormal multiplier of the voluntary-exit
            hazard (median 1).
        site_burnout_sd: SD of each site's normal random effect on the logit of burned out.
        small_site_share: this share of sites (rounded) has 4-9 clinician posts and the others
            10-20; 0: every site has 8-20.
        response_burned_out: probability that a burned-out clinician answers a survey.
        response_not_burned_out: probability that any other clinician answers.
        hr_burnout: voluntary-exit hazard ratio, burned out vs not, in each burnout period
            (about 2 in Shanafelt et al. 2017 and Hamidi et al. 2018); 1: exits do not depend
            on burnout.
        rvu_effect: False sets every effect of RVU production pay to none: exit hazard ratio,
            burnout odds ratio, direct effect on intent to leave (and so the effect of a switch
            away from it). Not a realism option: :meth:`none` keeps it.
    """

    calendar_shocks: bool = True
    exit_hazard_shock: tuple[tuple[int, float], ...] = ((2021, 1.4), (2022, 1.5))
    burnout_odds_shock: tuple[tuple[int, float], ...] = ((2021, 1.5), (2022, 1.4))
    adoption: str = "concentrated"
    switch_ramp_years: float = 2.0
    site_frailty_sd: float = 0.25
    site_burnout_sd: float = 0.3
    small_site_share: float = 0.25
    response_burned_out: float = 0.45
    response_not_burned_out: float = 0.62
    hr_burnout: float = 2.0
    rvu_effect: bool = True

    def __post_init__(self) -> None:
        if self.adoption not in ADOPTION_SPAN:
            raise ValueError(f"adoption must be one of {sorted(ADOPTION_SPAN)}")
        for name in ("switch_ramp_years", "site_frailty_sd", "site_burnout_sd"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        for name in ("small_site_share", "response_burned_out", "response_not_burned_out"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.hr_burnout <= 0:
            raise ValueError("hr_burnout must be > 0")

    @classmethod
    def none(cls, **changes) -> Realism:
        """Every option off: no calendar effects, practices adopted uniformly in 2010-2024,
        switches with their full effect at once, no frailty, 8-20 clinician posts per site,
        response probability 0.6 for everyone, exits independent of burnout."""
        off = dict(
            calendar_shocks=False,
            adoption="uniform",
            switch_ramp_years=0.0,
            site_frailty_sd=0.0,
            site_burnout_sd=0.0,
            small_site_share=0.0,
            response_burned_out=0.6,
            response_not_burned_out=0.6,
            hr_burnout=1.0,
        )
        return cls(**{**off, **changes})

    def shock(self, which: str, years: np.ndarray) -> np.ndarray:
        """Log multiplier of ``which`` ("exit" or "burnout") for each year."""
        table = dict(self.exit_hazard_shock if which == "exit" else self.burnout_odds_shock)
        if not self.calendar_shocks:
            table = {}
        return np.log(np.array([table.get(int(y), 1.0) for y in years], dtype=float))

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for key in ("exit_hazard_shock", "burnout_odds_shock"):
            d[key] = {str(y): v for y, v in d[key]}
        return d


def parameters(realism: Realism) -> dict:
    """The simulation parameters (a copy of TRUTH) under these options."""
    p = copy.deepcopy(TRUTH)
    t, b = p["turnover"], p["burnout"]
    t["hr_burnout"] = realism.hr_burnout
    t["baseline"]["burnout_scale"] = 1 / (
        1 + BURNOUT_REFERENCE_PREVALENCE * (realism.hr_burnout - 1)
    )
    b["response_probability"] = {
        "burned_out": realism.response_burned_out,
        "not_burned_out": realism.response_not_burned_out,
    }
    if not realism.rvu_effect:
        t["hr_rvu_production"] = 1.0
        b["or_rvu_production"] = 1.0
        b["intent_or_rvu_direct"] = 1.0
    return p


# --- sites and management -------------------------------------------------------------------


def make_sites(rng: np.random.Generator, scale: float) -> pd.DataFrame:
    """About 50 sites at scale 1 in fixed setting proportions; 5% lack population_served."""
    settings = [s for s, n in SITES_PER_SETTING.items() for _ in range(max(1, round(n * scale)))]
    settings = list(rng.permutation(settings))
    n = len(settings)
    population = (rng.integers(80, 800, n) * 100).astype(float)
    population[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "site_id": [f"S{i + 1:03d}" for i in range(n)],
            "site_name": [f"Demo site {i + 1}" for i in range(n)],
            "region": rng.choice(REGIONS, n),
            "setting": settings,
            "population_served": pd.array(population, dtype="Int64"),
        }
    )


def pay_fields(rng: np.random.Generator, comp: str) -> dict:
    """The only fields a pay switch changes: model, RVU target and % of pay on productivity."""
    target, pct = np.nan, 0.0
    if comp in ("rvu_production", "hybrid"):
        target = float(rng.choice(np.arange(4800, 5601, 200)))
    if comp == "rvu_production":
        pct = float(rng.integers(60, 91))
    elif comp == "hybrid":
        pct = float(rng.integers(20, 41))
    elif comp == "salary_plus_quality":
        pct = float(rng.integers(0, 11))
    return {"comp_model": comp, "rvu_target_annual": target, "pct_comp_productivity": pct}


def _month_between(rng: np.random.Generator, first: str, last: str, taken: set) -> pd.Timestamp:
    """A random first-of-month in [first, last] not already used by another change."""
    choices = [m for m in pd.date_range(first, last, freq="MS") if m not in taken]
    return choices[int(rng.integers(len(choices)))]


def make_management(
    rng: np.random.Generator, sites: pd.DataFrame, realism: Realism
) -> pd.DataFrame:
    """One row per regime. Half the sites start on RVU production pay; 55% of those switch to
    salary (2/3) or salary plus quality (1/3) in 2018-2023, changing pay only; practices are
    adopted on other dates, in 2019-2023 or 2010-2024 (``realism.adoption``; with team-based
    care, support staff rises by 0.8 per clinician)."""
    n = len(sites)
    n_rvu = n // 2
    comps = ["rvu_production"] * n_rvu + list(
        rng.choice(["salary", "salary_plus_quality", "hybrid"], n - n_rvu, p=[0.4, 0.3, 0.3])
    )
    comps = list(rng.permutation(comps))
    rvu_sites = [i for i, c in enumerate(comps) if c == "rvu_production"]
    switchers = set(rng.choice(rvu_sites, round(0.55 * n_rvu), replace=False).tolist())
    adoption = ADOPTION_SPAN[realism.adoption]
    rows = []
    for i, site_id in enumerate(sites["site_id"]):
        state = {
            **pay_fields(rng, comps[i]),
            "team_based_care": bool(rng.random() < 0.25),
            "support_staff_per_clinician": round(float(rng.uniform(1.0, 2.0)), 1),
            "clinician_in_governance": bool(rng.random() < 0.25),
            "admin_shadowing": bool(rng.random() < 0.15),
            "protected_time_pct": float(rng.choice([0, 5, 10, 15])),
        }
        changes: dict[pd.Timestamp, dict] = {}
        if i in switchers:
            new = rng.choice(["salary", "salary_plus_quality"], p=[2 / 3, 1 / 3])
            changes[_month_between(rng, *SWITCH_SPAN, set())] = pay_fields(rng, new)
        for key, p in (
            ("team_based_care", 0.35),
            ("clinician_in_governance", 0.25),
            ("admin_shadowing", 0.2),
        ):
            if not state[key] and rng.random() < p:
                extra = {key: True}
                if key == "team_based_care":
                    extra["support_staff_per_clinician"] = state["support_staff_per_clinician"]
                    extra["support_staff_per_clinician"] += 0.8
                changes[_month_between(rng, *adoption, set(changes))] = extra
        start = SIM_START
        for when in sorted(changes):
            rows.append({"site_id": site_id, "effective_from": start, **state})
            rows[-1]["effective_to"] = when - pd.Timedelta(days=1)
            state = {**state, **changes[when]}
            start = when
        rows.append({"site_id": site_id, "effective_from": start, "effective_to": pd.NaT, **state})
    df = pd.DataFrame(rows)
    df["support_staff_per_clinician"] = df["support_staff_per_clinician"].round(1)
    return df[list(SPECS["management"].column_names)]


def regime_on(management: pd.DataFrame, site_ids: np.ndarray, day: pd.Timestamp) -> pd.DataFrame:
    """The management row in effect at each given site on ``day`` (one row per site id)."""
    end = management["effective_to"].fillna(pd.Timestamp.max)
    rows = management[(management["effective_from"] <= day) & (end >= day)]
    return rows.set_index("site_id").loc[np.asarray(site_ids)].reset_index()


def switch_dates(management: pd.DataFrame) -> pd.Series:
    """Date each site moved from rvu_production to salary or salary_plus_quality."""
    m = management.sort_values(["site_id", "effective_from"])
    prev = m.groupby("site_id")["comp_model"].shift()
    hit = m[(prev == "rvu_production") & m["comp_model"].isin(["salary", "salary_plus_quality"])]
    return hit.groupby("site_id")["effective_from"].min()


# --- staff ------------------------------------------------------------------------------------


def make_posts(rng: np.random.Generator, sites: pd.DataFrame, realism: Realism) -> pd.DataFrame:
    """Clinician posts per site (roles by setting): 8-20, or with small sites 4-9 at a share
    ``realism.small_site_share`` of sites and 10-20 elsewhere; about as many support-staff
    posts."""
    small: set[int] = set()
    if realism.small_site_share > 0:
        k = round(realism.small_site_share * len(sites))
        small = set(rng.choice(len(sites), k, replace=False).tolist())
    rows = []
    for i, setting in enumerate(sites["setting"]):
        mix = ROLE_MIX[setting]
        size = "any" if realism.small_site_share == 0 else "small" if i in small else "large"
        lo, hi = CLINICIAN_POSTS[size]
        n = int(rng.integers(lo, hi + 1))
        for role in rng.choice(list(mix), n, p=list(mix.values())):
            rows.append((i, role, float(rng.choice(POST_FTE)), True))
        for role in rng.choice(["nurse", "medical_assistant"], round(n * rng.uniform(0.8, 1.4))):
            rows.append((i, role, float(rng.choice([1.0, 1.0, 0.8])), False))
    return pd.DataFrame(rows, columns=["site", "role", "fte", "clinical"])


def voluntary_log_hr(params: dict, role, setting, comp_log_hr, tbc, gov, shadow) -> np.ndarray:
    """Log hazard ratio of voluntary exit for arrays of the Cox model's covariates (the pay
    model as its log hazard ratio, which a switch's ramp may put between two levels)."""
    t = params["turnover"]
    return (
        _log_hr(t["hr_role"], role)[:, None]
        + _log_hr(t["hr_setting"], setting)[:, None]
        + comp_log_hr
        + np.log(t["hr_team_based_care"]) * tbc
        + np.log(t["hr_clinician_in_governance"]) * gov
        + np.log(t["hr_admin_shadowing"]) * shadow
    )


@dataclass
class Calendar:
    """The management of every site in every simulation month (the row in effect on the 15th);
    ``ramp`` is the share of a pay switch's effect reached (1 where no switch is under way)."""

    comp: np.ndarray  # (sites, months) pay model
    tbc: np.ndarray  # (sites, months) 0/1
    gov: np.ndarray
    shadow: np.ndarray
    ramp: np.ndarray  # (sites, months) in [0, 1]
    switch_year: np.ndarray  # (sites,) calendar year of the switch, NaN if none


def site_calendar(management: pd.DataFrame, sites: pd.DataFrame, ramp_years: float) -> Calendar:
    ids = list(sites["site_id"])
    days = MONTHS + pd.Timedelta(days=14)
    shape = (len(ids), len(MONTHS))
    comp = np.empty(shape, dtype=object)
    flags = {k: np.zeros(shape) for k in ("team_based_care", "clinician_in_governance",
                                          "admin_shadowing")}  # fmt: skip
    end = management["effective_to"].fillna(pd.Timestamp.max)
    for row, to in zip(management.itertuples(), end, strict=True):
        s = ids.index(row.site_id)
        on = np.asarray((days >= row.effective_from) & (days <= to))
        comp[s, on] = row.comp_model
        for k, arr in flags.items():
            arr[s, on] = float(getattr(row, k))
    ramp = np.ones(shape)
    switch_year = np.full(len(ids), np.nan)
    for site_id, when in switch_dates(management).items():
        s = ids.index(site_id)
        switch_year[s] = when.year
        after = np.asarray(days >= when)
        if ramp_years > 0:
            years = np.asarray((days[after] - when).days) / 365.25
            ramp[s, after] = np.minimum(years / ramp_years, 1.0)
    return Calendar(
        comp, flags["team_based_care"], flags["clinician_in_governance"],
        flags["admin_shadowing"], ramp, switch_year,
    )  # fmt: skip


@dataclass
class World:
    """What the exits and burnout of the occupant of a post depend on.

    ``log_hr`` (posts x months) is the voluntary-exit log hazard ratio of a clinician who is not
    burned out: covariates, pay (with the ramp after a switch), site frailty, calendar shock and
    the baseline's burnout scale; ``log_hr_pay`` is its pay part. ``logit`` (posts x burnout
    periods) is the linear predictor of burned out with the regime at the period's start, the
    site effect and the calendar shock; ``logit_pay`` and ``logit_tbc`` are its pay and
    team-based care parts. Support-staff rows are 0.
    """

    params: dict
    realism: Realism
    sites: pd.DataFrame
    posts: pd.DataFrame
    cal: Calendar
    site: np.ndarray  # (posts,) site index
    setting: np.ndarray  # (posts,)
    exit_frailty: np.ndarray  # (sites,) log multiplier of the voluntary-exit hazard
    burnout_frailty: np.ndarray  # (sites,) effect on the logit of burned out
    log_hr: np.ndarray
    log_hr_pay: np.ndarray
    logit: np.ndarray
    logit_pay: np.ndarray
    logit_tbc: np.ndarray


def build_world(
    rng: np.random.Generator,
    params: dict,
    realism: Realism,
    sites: pd.DataFrame,
    management: pd.DataFrame,
    posts: pd.DataFrame,
) -> World:
    """Draw the site effects and tabulate hazards and burnout logits (``rng``: frailty)."""
    t, b = params["turnover"], params["burnout"]
    cal = site_calendar(management, sites, realism.switch_ramp_years)
    z_exit, z_burnout = rng.standard_normal(len(sites)), rng.standard_normal(len(sites))
    exit_frailty = realism.site_frailty_sd * z_exit
    burnout_frailty = realism.site_burnout_sd * z_burnout
    site = posts["site"].to_numpy()
    setting = sites["setting"].to_numpy()[site]
    clin = np.flatnonzero(posts["clinical"].to_numpy())
    role = posts["role"].to_numpy()[clin]
    s = site[clin]

    hr = _comp_effects("hr", t)
    pay = np.log(np.vectorize(hr.get, otypes=[float])(cal.comp))
    pay = pay + (1 - cal.ramp) * (np.log(hr["rvu_production"]) - pay)  # 0 where ramp is 1
    log_hr = np.zeros((len(posts), len(MONTHS)))
    log_hr_pay = np.zeros_like(log_hr)
    log_hr_pay[clin] = pay[s]
    log_hr[clin] = (
        voluntary_log_hr(params, role, setting[clin], pay[s], cal.tbc[s], cal.gov[s], cal.shadow[s])
        + exit_frailty[s][:, None]
        + realism.shock("exit", MONTHS.year)[None, :]
        + np.log(t["baseline"]["burnout_scale"])
    )

    start = PERIOD_START_MONTH
    odds = _comp_effects("or", b)
    n_periods = len(start)
    logit_pay = np.zeros((len(posts), n_periods))
    logit_tbc = np.zeros_like(logit_pay)
    logit = np.zeros_like(logit_pay)
    logit_pay[clin] = np.log(np.vectorize(odds.get, otypes=[float])(cal.comp[:, start]))[s]
    logit_tbc[clin] = np.log(b["or_team_based_care"]) * cal.tbc[:, start][s]
    logit[clin] = (
        b["intercept"]
        + logit_pay[clin]
        + logit_tbc[clin]
        + _log_hr(b["or_role"], role)[:, None]
        + _log_hr(b["or_setting"], setting[clin])[:, None]
        + burnout_frailty[s][:, None]
        + realism.shock("burnout", FIRST_PERIOD + np.arange(n_periods))[None, :]
    )
    return World(
        params, realism, sites, posts, cal, site, setting, exit_frailty, burnout_frailty,
        log_hr, log_hr_pay, logit, logit_pay, logit_tbc,
    )  # fmt: skip


@dataclass
class History:
    """What the simulation drew beyond the tables: the burnout state of every clinician spell
    in every period it was in post (``states[(spell, period)]``), and the clinician-months of
    the analysis window (``occupancy``: post, month index, tenure at the start and end of the
    month's person-time in years, burned out, spell)."""

    states: dict[tuple[int, int], bool]
    occupancy: pd.DataFrame


def simulate_spells(
    rng: np.random.Generator, burnout_rng: np.random.Generator, world: World
) -> tuple[pd.DataFrame, History]:
    """Employment spells, month by month from 2008-01 to 2024-12.

    Posts are first filled during 2008. A clinician's burnout state is drawn at hire and again
    for everyone in post in each October (the period from 15 October), from the burnout
    logistic model of the period (``burnout_rng``). In each month an occupant leaves with
    probability 1 - exp(-dH), dH the cumulative hazard over the month (Weibull on tenure times
    exp(log_hr), times hr_burnout if burned out, for voluntary exits of clinicians; constants
    otherwise), the reason in proportion to its share of dH, on a day uniform in the month. The
    post is refilled a geometric number of months later.
    """
    t = world.params["turnover"]
    posts = world.posts
    k, lam = t["baseline"]["k"], t["baseline"]["lam"]
    hr_burnout = t["hr_burnout"]
    p_burned = _logistic(world.logit)
    reasons = np.array(["voluntary", "involuntary", "retirement", "other"])
    other_clin = np.array([0.0, *t["other_exit_hazards_per_year"].values()])
    support = np.array(list(t["support_staff_exit_hazards_per_year"].values()))
    clinical, role = posts["clinical"].to_numpy(), posts["role"].to_numpy()
    n = len(posts)
    person = np.full(n, -1)
    spell = np.full(n, -1)
    burned = np.zeros(n, dtype=bool)
    hire = np.zeros(n, dtype="datetime64[D]")
    refill = rng.integers(0, 12, n)  # month index at which a vacant post is filled
    former: dict[str, list[int]] = {}
    next_id = {True: 0, False: 0}
    ids: dict[int, str] = {}
    spells, states, occupancy = [], {}, []
    n_spells = 0
    for m, month in enumerate(MONTHS):
        start = np.datetime64(month.date())
        end = np.datetime64((month + pd.offsets.MonthEnd(0)).date())
        hired = []
        for p in np.flatnonzero((person < 0) & (refill == m)):
            pool = former.get(role[p], [])
            if pool and rng.random() < t["rehire_probability"]:
                person[p] = pool.pop(int(rng.integers(len(pool))))
            else:
                person[p] = len(ids)
                prefix = "C" if clinical[p] else "N"  # N: support staff
                ids[person[p]] = f"{prefix}{next_id[bool(clinical[p])] + 1:05d}"
                next_id[bool(clinical[p])] += 1
            hire[p] = start + int(rng.integers(0, 14))
            spell[p] = n_spells
            n_spells += 1
            hired.append(p)
        period = PERIOD_OF_MONTH[m]
        draw = np.flatnonzero(person >= 0) if month.month == 10 else np.array(hired, dtype=int)
        draw = draw[clinical[draw]]
        burned[draw] = burnout_rng.random(len(draw)) < p_burned[draw, period]
        for j in draw:
            states[(int(spell[j]), int(period))] = bool(burned[j])
        occ = np.flatnonzero(person >= 0)
        t0 = np.maximum((start - hire[occ]).astype(float), 0) / 365.25
        t1 = (end + 1 - hire[occ]).astype(float) / 365.25
        years = t1 - t0
        dh = np.where(clinical[occ, None], other_clin, support) * years[:, None]
        weibull = ((t1 / lam) ** k - (t0 / lam) ** k) * np.exp(world.log_hr[occ, m])
        weibull = weibull * np.where(burned[occ], hr_burnout, 1.0)
        dh[:, 0] = np.where(clinical[occ], weibull, dh[:, 0])
        if m >= FIRST_WINDOW_MONTH:
            c = clinical[occ]
            occupancy.append(
                [occ[c], np.full(c.sum(), m), t0[c], t1[c], burned[occ[c]], spell[occ[c]]]
            )
        total = dh.sum(axis=1)
        leaves = rng.random(len(occ)) < 1 - np.exp(-total)
        u = rng.random(len(occ))
        for j in np.flatnonzero(leaves):
            p = occ[j]
            reason = reasons[np.searchsorted(np.cumsum(dh[j]) / total[j], u[j])]
            first = max(hire[p], start)
            exit_day = first + int(rng.integers(0, (end - first).astype(int) + 1))
            spells.append((ids[person[p]], p, hire[p], exit_day, reason, spell[p]))
            if reason in ("voluntary", "other"):
                former.setdefault(role[p], []).append(person[p])
            person[p] = -1
            refill[p] = m + rng.geometric(1 / t["vacancy_months_mean"])
    for p in np.flatnonzero(person >= 0):
        spells.append((ids[person[p]], p, hire[p], np.datetime64("NaT"), None, spell[p]))
    cols = ["post", "month", "t0", "t1", "burned", "spell"]
    occupancy = pd.DataFrame(
        {c: np.concatenate([o[j] for o in occupancy]) for j, c in enumerate(cols)}
    )
    df = pd.DataFrame(
        spells, columns=["clinician_id", "post", "hire_date", "exit_date", "reason", "spell"]
    )
    return df, History(states, occupancy)


def make_clinicians(spells: pd.DataFrame, posts: pd.DataFrame, sites: pd.DataFrame):
    """The clinicians table (every spell, support staff included) in contract columns, plus
    the hidden ``_post`` and ``_spell`` of each row."""
    post = posts.loc[spells["post"]].reset_index(drop=True)
    setting = sites["setting"].to_numpy()[post["site"]]
    df = pd.DataFrame(
        {
            "clinician_id": spells["clinician_id"],
            "site_id": sites["site_id"].to_numpy()[post["site"]],
            "role": post["role"],
            "specialty": np.where(post["clinical"], [SPECIALTY[s] for s in setting], None),
            "fte": post["fte"],
            "hire_date": pd.to_datetime(spells["hire_date"]),
            "exit_date": pd.to_datetime(spells["exit_date"]),
            "exit_reason": spells["reason"],
            "_post": spells["post"],
            "_spell": spells["spell"],
        }
    )
    return df.sort_values(["clinician_id", "hire_date"], kind="stable").reset_index(drop=True)


def active_on(clin: pd.DataFrame, day: pd.Timestamp, clinicians_only: bool = True):
    """Spells in post on ``day`` (hired on or before, not yet left)."""
    keep = (clin["hire_date"] <= day) & (clin["exit_date"].isna() | (clin["exit_date"] >= day))
    if clinicians_only:
        keep &= clin["role"].isin(CLINICIAN_ROLES)
    return clin[keep].reset_index(drop=True)


# --- access -----------------------------------------------------------------------------------


def filled_fte(clin: pd.DataFrame, sites: pd.DataFrame) -> np.ndarray:
    """Sum of FTE of clinician spells active on the 15th, per (site, access month)."""
    c = clin[clin["role"].isin(CLINICIAN_ROLES)]
    days = (ACCESS_MONTHS + pd.Timedelta(days=14)).to_numpy()
    hire = c["hire_date"].to_numpy()[:, None]
    exit_ = c["exit_date"].fillna(pd.Timestamp.max).to_numpy()[:, None]
    active = (hire <= days) & (exit_ >= days)
    site = sites["site_id"].searchsorted(c["site_id"])  # site ids are sorted
    out = np.zeros((len(sites), len(days)))
    np.add.at(out, site, active * c["fte"].to_numpy()[:, None])
    return out


def make_access(
    rng: np.random.Generator, sites: pd.DataFrame, posts: pd.DataFrame, filled: np.ndarray
) -> tuple[pd.DataFrame, dict]:
    """Site-month access: waits rise and visits per budgeted FTE fall with vacant FTE."""
    a = TRUTH["access"]
    ranges, sd = a["site_intercept_range"], a["noise_sd"]
    n_s, n_m = filled.shape
    budgeted = np.bincount(posts["site"][posts["clinical"]], posts["fte"][posts["clinical"]], n_s)
    vacant = np.maximum(budgeted[:, None] - filled, 0)
    season = np.sin(2 * np.pi * (ACCESS_MONTHS.month.to_numpy() - 1) / 12)
    month_eff = 1.5 * season + 0.03 * np.arange(n_m)  # winter peak and a slow upward trend

    def outcome(key: str, slope: float, month_scale: float) -> np.ndarray:
        site = rng.uniform(*ranges[key], n_s)[:, None]
        noise = rng.normal(0, sd[key], (n_s, n_m))
        return site + month_scale * month_eff + slope * vacant + noise

    tnaa = outcome("tnaa", a["tnaa_per_vacant_fte"], 1.0)
    npw = outcome("new_patient_wait", a["new_patient_wait_per_vacant_fte"], 1.5)
    per_fte = outcome("visits_per_budgeted_fte", a["visits_per_budgeted_fte_per_vacant_fte"], -2)
    clipped = {"third_next_available_days": int((tnaa < 0).sum())}
    clipped["new_patient_wait_days"] = int((npw < 0).sum())
    clipped["visits"] = int((per_fte < 0).sum())
    no_show = np.clip(
        rng.uniform(0.05, 0.15, n_s)[:, None] + rng.normal(0, 0.015, tnaa.shape), 0, 1
    )
    panel = budgeted[:, None] * rng.uniform(1200, 1800, n_s)[:, None]
    panel = panel * (1 + rng.normal(0, 0.01, tnaa.shape))
    miss = a["missing_share"]
    df = pd.DataFrame(
        {
            "site_id": np.repeat(sites["site_id"].to_numpy(), n_m),
            "month": np.tile(ACCESS_MONTHS.strftime("%Y-%m"), n_s),
            "third_next_available_days": np.round(np.maximum(tnaa, 0), 1).ravel(),
            "new_patient_wait_days": np.round(np.maximum(npw, 0), 1).ravel(),
            "visits": np.round(budgeted[:, None] * np.maximum(per_fte, 0)).astype(int).ravel(),
            "no_show_rate": np.round(no_show, 3).ravel(),
            "panel_size": pd.array(np.round(panel).ravel(), dtype="Int64"),
            "budgeted_clinician_fte": np.repeat(np.round(budgeted, 2), n_m),
            "filled_clinician_fte": np.round(filled, 2).ravel(),
        }
    )
    for col, share in miss.items():
        df[col] = df[col].mask(rng.random(len(df)) < share)
    return df, clipped


# --- survey -----------------------------------------------------------------------------------


def burnout_logit(params: dict, comp, tbc, role, setting) -> np.ndarray:
    """Linear predictor of burned out (burnout >= 3) in the contract's logistic model, without
    the site effect and calendar shock."""
    b = params["burnout"]
    return (
        b["intercept"]
        + _log_hr(_comp_effects("or", b), comp)
        + np.log(b["or_team_based_care"]) * np.asarray(tbc, float)
        + _log_hr(b["or_role"], role)
        + _log_hr(b["or_setting"], setting)
    )


def intent_probability(params: dict, burned, rvu) -> np.ndarray:
    """P(high intent to leave) given burned out and RVU production pay (0/1 arrays)."""
    b = params["burnout"]
    lp = (
        b["intent_intercept"]
        + np.log(b["intent_or_burnout"]) * np.asarray(burned, float)
        + np.log(b["intent_or_rvu_direct"]) * np.asarray(rvu, float)
    )
    return _logistic(lp)


def _item(rng: np.random.Generator, base: np.ndarray) -> np.ndarray:
    return np.clip(np.round(base + rng.normal(0, 0.8, len(base))), 1, 5).astype(int)


def make_survey(rng, clin: pd.DataFrame, management: pd.DataFrame, world: World, states: dict):
    """October surveys 2017-2024 of clinicians in post on the 15th, each reporting the burnout
    state of the period that opens that day; a clinician answers with a probability that
    depends on that state. Returns the table, the hidden covariates of each row (for the
    truth) and the burnout state of everyone in post on the survey dates."""
    b = world.params["burnout"]
    response = b["response_probability"]
    setting = world.sites.set_index("site_id")["setting"]
    parts, population = [], []
    for year in SURVEY_YEARS:
        day = pd.Timestamp(f"{year}-10-15")
        period = year - FIRST_PERIOD
        act = active_on(clin, day)
        state = np.array([states[(s, period)] for s in act["_spell"]], dtype=bool)
        population.append(pd.DataFrame({"year": year, "post": act["_post"], "burned": state}))
        answers = rng.random(len(act)) < np.where(
            state, response["burned_out"], response["not_burned_out"]
        )
        act, burned = act[answers].reset_index(drop=True), state[answers]
        reg = regime_on(management, act["site_id"], day)
        n = len(act)
        tbc = reg["team_based_care"].to_numpy(float)
        gov = reg["clinician_in_governance"].to_numpy(float)
        shadow = reg["admin_shadowing"].to_numpy(float)
        st = setting.loc[act["site_id"]].to_numpy()
        rvu = (reg["comp_model"] == "rvu_production").to_numpy()
        high = rng.random(n) < intent_probability(world.params, burned, rvu)
        parts.append(
            pd.DataFrame(
                {
                    "site_id": act["site_id"],
                    "survey_date": day,
                    "clinician_id": act["clinician_id"].mask(rng.random(n) < b["anonymous_share"]),
                    "role": act["role"],
                    "burnout": np.where(
                        burned, rng.choice([3, 4, 5], n, p=[0.55, 0.3, 0.15]), rng.choice([1, 2], n)
                    ),
                    "intent_to_leave": np.where(
                        high, rng.choice([4, 5], n, p=[0.6, 0.4]), rng.choice([1, 2, 3], n)
                    ),
                    "ehr_time_at_home": _item(rng, 2.8 + 0.8 * burned - 0.5 * tbc),
                    "trust_in_leadership": _item(
                        rng, 3.3 - 0.8 * burned + 0.5 * shadow + 0.3 * gov
                    ),
                    "control_over_workload": _item(rng, 3.2 - 0.9 * burned + 0.4 * tbc),
                    "teamwork": _item(rng, 3.4 - 0.5 * burned + 0.6 * tbc),
                    "values_alignment": _item(rng, 3.2 - 0.7 * burned + 0.4 * gov + 0.2 * shadow),
                    "_comp": reg["comp_model"].to_numpy(),
                    "_tbc": tbc,
                    "_setting": st,
                    "_post": act["_post"],
                    "_period": period,
                    "_burned": burned,
                    "_hire": act["hire_date"],
                }
            )
        )
    survey = pd.concat(parts, ignore_index=True)
    survey.insert(0, "response_id", [f"R{i + 1:06d}" for i in range(len(survey))])
    for col in SPECS["survey"].column_names[7:]:
        survey[col] = pd.array(survey[col], dtype="Int64")
        survey[col] = survey[col].mask(rng.random(len(survey)) < b["item_missing_share"])
    hidden = survey[["site_id", "clinician_id", "role", "_comp", "_tbc", "_setting", "_post",
                     "_period", "_burned", "_hire"]]  # fmt: skip
    return survey[list(SPECS["survey"].column_names)], hidden, pd.concat(population)


# --- time allocation --------------------------------------------------------------------------


def activity_shares(team_based_care: bool) -> dict[str, float]:
    """Expected share of a clinician's minutes by activity (see SHARES_WITHOUT_TBC)."""
    shares = dict(SHARES_WITHOUT_TBC)
    if team_based_care:
        shares = {a: s * 0.72 if a in PRODUCTION_LINE else s for a, s in shares.items()}
        shares["direct_patient_care"] += 0.10
        shares["care_coordination"] += 0.04
    return shares


def make_time_allocation(rng, clin: pd.DataFrame, management: pd.DataFrame):
    """January-June 2024 minutes by activity for 40% of the clinicians in post in January;
    30% of documentation and inbox minutes are in separate after-hours rows. Also returns the
    expected after-hours minutes per clinician-month of the rows written."""
    t = TRUTH["time"]
    pool = active_on(clin, TIME_MONTHS[0] + pd.Timedelta(days=14))
    chosen = set(pool["clinician_id"][rng.random(len(pool)) < t["sampled_share_of_clinicians"]])
    late_share = t["after_hours_share_of_documentation_and_inbox"]
    rows, expected_late = [], []
    for month in TIME_MONTHS:
        act = active_on(clin, month + pd.Timedelta(days=14))
        act = act[act["clinician_id"].isin(chosen)].reset_index(drop=True)
        reg = regime_on(management, act["site_id"], month + pd.Timedelta(days=14))
        for r, tbc in zip(act.itertuples(), reg["team_based_care"], strict=True):
            shares = activity_shares(bool(tbc))
            total = t["minutes_per_fte_month"] * r.fte * rng.uniform(0.9, 1.1)
            draw = rng.dirichlet(np.array(list(shares.values())) * 300)
            for activity, share in zip(shares, draw, strict=True):
                minutes = round(float(share * total), 1)
                if activity in ("documentation", "inbox"):
                    late = round(minutes * late_share, 1)
                    rows.append((r.clinician_id, r.site_id, month, activity, minutes - late, False))
                    rows.append((r.clinician_id, r.site_id, month, activity, late, True))
                else:
                    rows.append((r.clinician_id, r.site_id, month, activity, minutes, False))
            mean_total = t["minutes_per_fte_month"] * r.fte
            expected_late.append(
                late_share * (shares["documentation"] + shares["inbox"]) * mean_total
            )
    df = pd.DataFrame(rows, columns=list(SPECS["time_allocation"].column_names))
    df["minutes"] = df["minutes"].round(1)
    return df, float(np.mean(expected_late))


# --- encounters -------------------------------------------------------------------------------

ENCOUNTER_SCHEMA = pa.schema(
    [
        ("encounter_id", pa.string()),
        ("clinician_id", pa.string()),
        ("site_id", pa.string()),
        ("date", pa.date32()),
        ("cpt_codes", pa.string()),
        ("minutes_total", pa.float64()),
        ("minutes_uncredited", pa.float64()),
        ("work_rvu", pa.float64()),
    ]
)


def _encounters_of(rng, spell, setting: str, weekdays: np.ndarray, rvu: dict) -> dict:
    """Encounters of one spell on the weekdays it is in post in 2023-2024, sorted by date."""
    e = TRUTH["encounters"]
    last = spell.exit_date if pd.notna(spell.exit_date) else ENCOUNTER_SPAN[1]
    days = weekdays[(weekdays >= spell.hire_date) & (weekdays <= last)]
    n = int(rng.poisson(e["encounters_per_fte_weekday"] * spell.fte * len(days)))
    codes = np.array(list(CODE_MIX[setting]))[
        rng.choice(len(CODE_MIX[setting]), n, p=list(CODE_MIX[setting].values()))
    ]
    base = np.array([sum(CODE_MINUTES[c] for c in s.split(";")) for s in codes], dtype=float)
    total = np.maximum(np.round(base * rng.lognormal(0, 0.15, n)), 5.0)
    m, conc = e["uncredited_share"][setting], e["uncredited_beta_concentration"]
    work = np.array([sum(rvu[c] for c in s.split(";")) for s in codes], dtype=float)
    work[rng.random(n) < e["work_rvu_missing_share"]] = np.nan
    return {
        "date": np.sort(days[rng.integers(0, len(days), n)]) if n else days[:0],
        "cpt_codes": codes,
        "minutes_total": total,
        "minutes_uncredited": np.round(total * rng.beta(m * conc, (1 - m) * conc, n), 1),
        "work_rvu": np.round(work, 2),
    }


def write_encounters(rng, clin: pd.DataFrame, sites: pd.DataFrame, path: Path) -> int:
    """Write encounters.parquet in chunks of 200 spells; returns the number of rows."""
    rvu = fee_schedule().set_index("code")["work_rvu"].to_dict()
    setting = sites.set_index("site_id")["setting"]
    weekdays = pd.bdate_range(*ENCOUNTER_SPAN).to_numpy()
    spells = clin[clin["role"].isin(CLINICIAN_ROLES) & (clin["hire_date"] <= ENCOUNTER_SPAN[1])]
    spells = spells[spells["exit_date"].isna() | (spells["exit_date"] >= ENCOUNTER_SPAN[0])]
    written = 0
    with pq.ParquetWriter(path, ENCOUNTER_SCHEMA, compression="zstd") as writer:
        for lo in range(0, len(spells), 200):
            parts = []
            for spell in spells.iloc[lo : lo + 200].itertuples():
                enc = _encounters_of(rng, spell, setting[spell.site_id], weekdays, rvu)
                ids = {"clinician_id": spell.clinician_id, "site_id": spell.site_id}
                parts.append(pd.DataFrame({**ids, **enc}, index=range(len(enc["cpt_codes"]))))
            df = pd.concat(parts, ignore_index=True)
            df.insert(0, "encounter_id", [f"E{written + i + 1:09d}" for i in range(len(df))])
            df["date"] = pd.to_datetime(df["date"]).dt.date
            writer.write_table(pa.Table.from_pandas(df, ENCOUNTER_SCHEMA, preserve_index=False))
            written += len(df)
    return written


# --- writing ----------------------------------------------------------------------------------


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """ISO dates, YYYY-MM months, true/false booleans, empty cells for missing."""
    out = df.copy()
    for col in out.columns:
        if col == "month":
            out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m")
        elif pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].map({True: "true", False: "false"})
    out.to_csv(path, index=False, lineterminator="\n")
