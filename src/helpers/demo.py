"""The demonstration organisation: a simulated health system with documented effects.

``python -m helpers.demo --out data/demo [--seed N] [--scale S]`` writes all seven tables
of the data contract, ``dataset.yaml`` (``synthetic: true``) and ``truth.json`` (every
simulated effect, which the tests check the analyses recover). The same seed and scale
give byte-identical files.

Exits are simulated month by month from a Weibull hazard on tenure times the hazard ratios
of the contract's Cox model covariates, with the management regime in effect that month;
there is no frailty, so the contract's models are correctly specified. Burnout follows the
contract's logistic model exactly. See ``data/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from helpers.contract import SPECS
from helpers.reference import fee_schedule

VERSION = 1
SIM_START = pd.Timestamp("2008-01-01")
WINDOW = (pd.Timestamp("2017-01-01"), pd.Timestamp("2024-12-31"))
MONTHS = pd.date_range(SIM_START, WINDOW[1], freq="MS")

TRUTH = {
    "turnover": {
        "hr_rvu_production": 1.6,
        "hr_salary_plus_quality": 1.0,
        "hr_hybrid": 1.25,
        "hr_team_based_care": 0.7,
        "hr_clinician_in_governance": 0.8,
        "hr_admin_shadowing": 0.85,
        "hr_role": {"physician": 1.0, "advanced_practice": 1.2, "behavioral_health": 1.3},
        "hr_setting": {
            "primary_care": 1.0,
            "psychiatry": 1.1,
            "behavioral_health": 1.2,
            "specialty": 0.9,
        },
        "baseline": {
            "form": "Weibull hazard on tenure t in years: (k/lam) (t/lam)^(k-1)",
            "k": 0.8,
            "lam": 9.0,
        },
        "other_exit_hazards_per_year": {"involuntary": 0.015, "retirement": 0.01, "other": 0.005},
        "vacancy_months_mean": 4.5,
        "rehire_probability": 0.06,
    },
    "access": {
        "tnaa_per_vacant_fte": 2.5,
        "new_patient_wait_per_vacant_fte": 4.0,
        "visits_per_budgeted_fte_per_vacant_fte": -15.0,
        "noise_sd": {"tnaa": 2.0, "new_patient_wait": 3.0, "visits_per_budgeted_fte": 8.0},
    },
    "burnout": {
        "or_rvu_production": 1.8,
        "or_hybrid": 1.3,
        "or_salary_plus_quality": 0.9,
        "or_team_based_care": 0.6,
        "or_role": {"physician": 1.0, "advanced_practice": 1.1, "behavioral_health": 1.2},
        "or_setting": {
            "primary_care": 1.0,
            "psychiatry": 1.15,
            "behavioral_health": 1.1,
            "specialty": 0.85,
        },
        "intercept": -0.25,
        "intent_intercept": -2.2,
        "intent_or_burnout": 3.0,
        "intent_or_rvu_direct": 1.2,
        "response_probability": 0.6,
        "anonymous_share": 0.2,
    },
    "time": {
        "production_line_share_without_tbc": 0.50,
        "production_line_share_with_tbc": 0.36,
        "direct_patient_care_share_without_tbc": 0.30,
        "after_hours_share_of_documentation_and_inbox": 0.30,
        "minutes_per_fte_month": 9000,
    },
    "encounters": {
        "uncredited_share": {
            "psychiatry": 0.22,
            "behavioral_health": 0.18,
            "primary_care": 0.12,
            "specialty": 0.08,
        },
        "work_rvu_missing_share": 0.10,
        "encounters_per_fte_workday": 0.7,
        "note": "encounters are a 1-in-30 sample of a clinician's visits, to keep the demo small",
    },
}
DESCRIPTIONS = {
    "turnover": "Voluntary exit hazard ratios (reference: salary, physician, primary care, "
    "practice absent), Weibull baseline on tenure; competing exits constant.",
    "access": "Site and month fixed effects plus these slopes on vacant clinician FTE.",
    "burnout": "Odds ratios of burned out (burnout >= 3) and of high intent to leave (>= 4).",
    "time": "Expected shares of clinician minutes by activity group.",
    "encounters": "Expected uncredited share of minutes by site setting.",
}

SETTINGS = ("primary_care", "psychiatry", "behavioral_health", "specialty")
SETTING_WEIGHTS = (0.48, 0.16, 0.16, 0.20)
ROLES_BY_SETTING = {
    "primary_care": (("physician", 0.6), ("advanced_practice", 0.4)),
    "specialty": (("physician", 0.75), ("advanced_practice", 0.25)),
    "psychiatry": (("physician", 0.45), ("advanced_practice", 0.25), ("behavioral_health", 0.3)),
    "behavioral_health": (
        ("behavioral_health", 0.7),
        ("advanced_practice", 0.15),
        ("physician", 0.15),
    ),
}
SPECIALTY = {
    "primary_care": "family medicine",
    "specialty": "cardiology",
    "psychiatry": "psychiatry",
    "behavioral_health": "behavioral health",
}
CODES = {
    "primary_care": (
        ("99213", 0.35),
        ("99214", 0.35),
        ("99214;G2211", 0.15),
        ("99215", 0.08),
        ("99212", 0.05),
        ("99204", 0.02),
    ),
    "specialty": (
        ("99213", 0.25),
        ("99214", 0.35),
        ("99215", 0.15),
        ("99203", 0.1),
        ("99204", 0.1),
        ("99205", 0.05),
    ),
    "psychiatry": (
        ("99214;90833", 0.35),
        ("99213;90833", 0.15),
        ("99214", 0.2),
        ("99215;90836", 0.1),
        ("90792", 0.08),
        ("90834", 0.07),
        ("99212", 0.05),
    ),
    "behavioral_health": (
        ("90834", 0.3),
        ("90837", 0.25),
        ("90832", 0.15),
        ("90791", 0.08),
        ("99492", 0.07),
        ("99493", 0.1),
        ("99494", 0.05),
    ),
}
CODE_MINUTES = {
    "99212": 15,
    "99213": 20,
    "99214": 30,
    "99215": 40,
    "99203": 30,
    "99204": 45,
    "99205": 60,
    "90833": 20,
    "90836": 35,
    "90792": 60,
    "90791": 55,
    "90832": 30,
    "90834": 45,
    "90837": 60,
    "99492": 70,
    "99493": 60,
    "99494": 30,
    "G2211": 5,
}


def _lp_exit(
    role: np.ndarray,
    setting: np.ndarray,
    comp: np.ndarray,
    tbc: np.ndarray,
    gov: np.ndarray,
    shadow: np.ndarray,
) -> np.ndarray:
    t = TRUTH["turnover"]
    comp_hr = {
        "salary": 1.0,
        "rvu_production": t["hr_rvu_production"],
        "salary_plus_quality": t["hr_salary_plus_quality"],
        "hybrid": t["hr_hybrid"],
    }
    lp = (
        np.log([t["hr_role"][r] for r in role])
        + np.log([t["hr_setting"][s] for s in setting])
        + np.log([comp_hr[c] for c in comp])
    )
    return (
        lp
        + np.log(t["hr_team_based_care"]) * tbc
        + np.log(t["hr_clinician_in_governance"]) * gov
        + np.log(t["hr_admin_shadowing"]) * shadow
    )


def make_sites(rng: np.random.Generator, n: int) -> pd.DataFrame:
    setting = rng.choice(SETTINGS, size=n, p=SETTING_WEIGHTS)
    return pd.DataFrame(
        {
            "site_id": [f"S{i + 1:02d}" for i in range(n)],
            "site_name": [f"Demo site {i + 1}" for i in range(n)],
            "region": rng.choice(["North", "South", "East", "West"], size=n),
            "setting": setting,
            "population_served": np.where(
                rng.random(n) < 0.1, -1, rng.integers(5_000, 60_000, size=n)
            ),
        }
    )


def _comp_fields(rng: np.random.Generator, comp: str) -> tuple[float, float]:
    if comp == "rvu_production":
        return float(rng.choice([4800, 5000, 5200, 5400, 5600])), float(rng.integers(60, 91))
    if comp == "hybrid":
        return float(rng.choice([4400, 4600, 4800])), float(rng.integers(20, 41))
    if comp == "salary_plus_quality":
        return np.nan, float(rng.integers(0, 11))
    return np.nan, 0.0


def make_management(rng: np.random.Generator, sites: pd.DataFrame) -> pd.DataFrame:
    """One row per regime; switches change pay only, adoptions change one practice."""
    rows = []
    for site in sites["site_id"]:
        comp = rng.choice(
            ["rvu_production", "salary", "salary_plus_quality", "hybrid"], p=[0.5, 0.25, 0.15, 0.10]
        )
        state = {
            "comp_model": comp,
            "team_based_care": bool(rng.random() < 0.3),
            "clinician_in_governance": bool(rng.random() < 0.3),
            "admin_shadowing": bool(rng.random() < 0.2),
            "support_staff_per_clinician": round(float(rng.uniform(1.0, 2.2)), 1),
            "protected_time_pct": float(rng.choice([0, 5, 10, 15, 20])),
        }
        state["rvu_target_annual"], state["pct_comp_productivity"] = _comp_fields(rng, comp)
        events: list[tuple[pd.Timestamp, dict]] = []
        if comp == "rvu_production" and rng.random() < 0.55:
            new = rng.choice(["salary", "salary_plus_quality"], p=[2 / 3, 1 / 3])
            target, pct = _comp_fields(rng, new)
            when = MONTHS[
                rng.integers(
                    list(MONTHS).index(pd.Timestamp("2018-01-01")),
                    list(MONTHS).index(pd.Timestamp("2023-12-01")),
                )
            ]
            events.append(
                (
                    when,
                    {"comp_model": new, "rvu_target_annual": target, "pct_comp_productivity": pct},
                )
            )
        for key, p in (
            ("team_based_care", 0.4),
            ("clinician_in_governance", 0.25),
            ("admin_shadowing", 0.2),
        ):
            if not state[key] and rng.random() < p:
                when = MONTHS[rng.integers(48, len(MONTHS) - 6)]
                extra = {key: True}
                if key == "team_based_care":
                    extra["support_staff_per_clinician"] = round(
                        state["support_staff_per_clinician"] + 0.8, 1
                    )
                events.append((when, extra))
        events.sort(key=lambda e: e[0])
        start = SIM_START
        merged: list[tuple[pd.Timestamp, dict]] = []
        for when, change in events:
            if merged and merged[-1][0] == when:
                merged[-1][1].update(change)
            else:
                merged.append((when, dict(change)))
        for when, change in merged:
            rows.append(
                {
                    "site_id": site,
                    "effective_from": start,
                    "effective_to": when - pd.Timedelta(days=1),
                    **state,
                }
            )
            state = {**state, **change}
            start = when
        rows.append({"site_id": site, "effective_from": start, "effective_to": pd.NaT, **state})
    return pd.DataFrame(rows)


def regime_by_month(management: pd.DataFrame, sites: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per (site index, month index): the regime attributes in effect mid-month."""
    n_s, n_m = len(sites), len(MONTHS)
    index = {s: i for i, s in enumerate(sites["site_id"])}
    out = {
        k: np.empty((n_s, n_m), dtype=object if k == "comp_model" else bool)
        for k in ("comp_model", "team_based_care", "clinician_in_governance", "admin_shadowing")
    }
    mid = MONTHS + pd.Timedelta(days=14)
    for row in management.itertuples():
        end = row.effective_to if pd.notna(row.effective_to) else WINDOW[1]
        sel = (mid >= row.effective_from) & (mid <= end)
        for k in out:
            out[k][index[row.site_id], sel] = getattr(row, k)
    return out


def simulate_staff(
    rng: np.random.Generator, sites: pd.DataFrame, regime: dict
) -> tuple[pd.DataFrame, np.ndarray]:
    """Employment spells of clinicians and support staff, and filled clinician FTE per
    (site, month)."""
    t = TRUTH["turnover"]
    k, lam = t["baseline"]["k"], t["baseline"]["lam"]
    pos_site, pos_role, pos_fte = [], [], []
    for i, setting in enumerate(sites["setting"]):
        n = int(rng.integers(8, 21))
        roles, probs = zip(*ROLES_BY_SETTING[setting], strict=True)
        pos_site += [i] * n
        pos_role += list(rng.choice(roles, size=n, p=probs))
        pos_fte += list(rng.choice([1.0, 1.0, 1.0, 0.8, 0.6, 0.5], size=n))
        m = int(round(n * rng.uniform(1.0, 1.5)))
        pos_site += [i] * m
        pos_role += list(rng.choice(["nurse", "medical_assistant"], size=m))
        pos_fte += [1.0] * m
    pos_site, pos_role = np.array(pos_site), np.array(pos_role)
    pos_fte = np.array(pos_fte)
    n_pos = len(pos_site)
    clinical = np.isin(pos_role, ["physician", "advanced_practice", "behavioral_health"])
    setting = sites["setting"].to_numpy()[pos_site]
    # incumbents in January 2008 were hired up to ~15 years earlier
    tenure = rng.exponential(5.0, size=n_pos).clip(0, 15)
    person = np.arange(n_pos)
    next_person = n_pos
    hire = SIM_START - pd.to_timedelta(np.round(tenure * 365.25), unit="D")
    hire_day = hire.to_numpy()
    occupied = np.ones(n_pos, dtype=bool)
    vacancy_left = np.zeros(n_pos, dtype=int)
    spells: list[tuple] = []
    former: dict[str, list[int]] = {}
    filled = np.zeros((len(sites), len(MONTHS)))
    other = t["other_exit_hazards_per_year"]
    other_total = sum(other.values())
    reasons = np.array(["voluntary", "involuntary", "retirement", "other"])
    dt = 1 / 12
    for m, month in enumerate(MONTHS):
        # fill positions whose vacancy has run out
        start_now = ~occupied & (vacancy_left <= 0)
        for p in np.flatnonzero(start_now):
            pool = former.get(pos_role[p], [])
            if pool and rng.random() < t["rehire_probability"]:
                person[p] = pool.pop(int(rng.integers(len(pool))))
            else:
                person[p] = next_person
                next_person += 1
            hire_day[p] = (month + pd.Timedelta(days=int(rng.integers(0, 10)))).to_datetime64()
            tenure[p] = 0.0
            occupied[p] = True
        vacancy_left[~occupied] -= 1
        active = occupied & (hire_day <= (month + pd.Timedelta(days=14)).to_datetime64())
        np.add.at(filled[:, m], pos_site[active & clinical], pos_fte[active & clinical])
        # exits during this month
        h = np.full(n_pos, 0.12 * dt)  # support staff: constant, mostly voluntary
        ci = np.flatnonzero(occupied & clinical)
        lp = _lp_exit(
            pos_role[ci],
            setting[ci],
            regime["comp_model"][pos_site[ci], m],
            regime["team_based_care"][pos_site[ci], m],
            regime["clinician_in_governance"][pos_site[ci], m],
            regime["admin_shadowing"][pos_site[ci], m],
        )
        t0, t1 = tenure[ci], tenure[ci] + dt
        h_vol = ((t1 / lam) ** k - (t0 / lam) ** k) * np.exp(lp)
        h[ci] = h_vol + other_total * dt
        leave = occupied & (rng.random(n_pos) < 1 - np.exp(-h))
        for p in np.flatnonzero(leave):
            if clinical[p]:
                hv = ((tenure[p] + dt) / lam) ** k - (tenure[p] / lam) ** k
                hv *= np.exp(
                    _lp_exit(
                        pos_role[[p]],
                        setting[[p]],
                        regime["comp_model"][pos_site[[p]], m],
                        regime["team_based_care"][pos_site[[p]], m],
                        regime["clinician_in_governance"][pos_site[[p]], m],
                        regime["admin_shadowing"][pos_site[[p]], m],
                    )
                )[0]
                w = np.array(
                    [hv, other["involuntary"] * dt, other["retirement"] * dt, other["other"] * dt]
                )
            else:
                w = np.array([0.8, 0.1, 0.05, 0.05])
            reason = reasons[rng.choice(4, p=w / w.sum())]
            end = month + pd.Timedelta(days=int(rng.integers(0, month.days_in_month)))
            end = max(end, pd.Timestamp(hire_day[p]))
            spells.append((person[p], p, pd.Timestamp(hire_day[p]), end, reason))
            former.setdefault(pos_role[p], []).append(person[p])
            occupied[p] = False
            vacancy_left[p] = int(rng.geometric(1 / t["vacancy_months_mean"]))
        tenure[occupied] += dt
    for p in np.flatnonzero(occupied):
        spells.append((person[p], p, pd.Timestamp(hire_day[p]), pd.NaT, None))
    sp = pd.DataFrame(spells, columns=["person", "pos", "hire_date", "exit_date", "exit_reason"])
    prefix = np.where(clinical[sp["pos"]], "C", "N")
    clin = pd.DataFrame(
        {
            "clinician_id": [f"{a}{b:05d}" for a, b in zip(prefix, sp["person"], strict=True)],
            "site_id": sites["site_id"].to_numpy()[pos_site[sp["pos"]]],
            "role": pos_role[sp["pos"]],
            "specialty": [
                SPECIALTY[s] if c else None
                for s, c in zip(setting[sp["pos"]], clinical[sp["pos"]], strict=True)
            ],
            "fte": pos_fte[sp["pos"]],
            "hire_date": sp["hire_date"],
            "exit_date": sp["exit_date"],
            "exit_reason": sp["exit_reason"],
        }
    )
    clin = clin.sort_values(["clinician_id", "hire_date"], kind="stable").reset_index(drop=True)
    budgeted = np.zeros(len(sites))
    np.add.at(budgeted, pos_site[clinical], pos_fte[clinical])
    return clin, filled, budgeted


def make_access(
    rng: np.random.Generator, sites: pd.DataFrame, filled: np.ndarray, budgeted: np.ndarray
) -> pd.DataFrame:
    a = TRUTH["access"]
    w0 = list(MONTHS).index(WINDOW[0])
    months = MONTHS[w0:]
    n_s, n_m = len(sites), len(months)
    fill = filled[:, w0:]
    vacant = np.maximum(budgeted[:, None] - fill, 0)
    month_eff = 1.5 * np.sin(2 * np.pi * months.month.to_numpy() / 12) + 0.02 * np.arange(n_m)
    site_t = rng.uniform(9, 20, size=n_s)[:, None]
    tnaa = (
        site_t
        + month_eff
        + a["tnaa_per_vacant_fte"] * vacant
        + rng.normal(0, a["noise_sd"]["tnaa"], (n_s, n_m))
    )
    site_w = rng.uniform(15, 30, size=n_s)[:, None]
    npw = (
        site_w
        + month_eff
        + a["new_patient_wait_per_vacant_fte"] * vacant
        + rng.normal(0, a["noise_sd"]["new_patient_wait"], (n_s, n_m))
    )
    site_v = rng.uniform(240, 320, size=n_s)[:, None]
    vpf = (
        site_v
        - 2 * month_eff
        + a["visits_per_budgeted_fte_per_vacant_fte"] * vacant
        + rng.normal(0, a["noise_sd"]["visits_per_budgeted_fte"], (n_s, n_m))
    )
    df = pd.DataFrame(
        {
            "site_id": np.repeat(sites["site_id"].to_numpy(), n_m),
            "month": np.tile(months.strftime("%Y-%m"), n_s),
            "third_next_available_days": np.round(tnaa.ravel(), 1),
            "new_patient_wait_days": np.round(npw.ravel(), 1),
            "visits": np.round(np.maximum(vpf, 0) * budgeted[:, None]).ravel().astype(int),
            "no_show_rate": np.round(rng.uniform(0.04, 0.16, n_s * n_m), 3),
            "panel_size": np.repeat(np.round(budgeted * 1400).astype(int), n_m),
            "budgeted_clinician_fte": np.repeat(np.round(budgeted, 2), n_m),
            "filled_clinician_fte": np.round(fill.ravel(), 2),
        }
    )
    TRUTH["access"]["clipped_at_zero"] = {
        "third_next_available_days": int((df["third_next_available_days"] < 0).sum()),
        "new_patient_wait_days": int((df["new_patient_wait_days"] < 0).sum()),
    }
    for col in ("third_next_available_days", "new_patient_wait_days"):
        df[col] = df[col].clip(lower=0)
    df["new_patient_wait_days"] = df["new_patient_wait_days"].mask(rng.random(len(df)) < 0.05)
    df["no_show_rate"] = df["no_show_rate"].mask(rng.random(len(df)) < 0.03)
    df["panel_size"] = df["panel_size"].astype("Int64").mask(rng.random(len(df)) < 0.03)
    return df


def _active_on(clin: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    return clin[
        (clin["hire_date"] <= day) & (clin["exit_date"].isna() | (clin["exit_date"] >= day))
    ]


def _regime_on(management: pd.DataFrame, site_ids: pd.Series, day: pd.Timestamp) -> pd.DataFrame:
    m = management[
        (management["effective_from"] <= day)
        & (management["effective_to"].isna() | (management["effective_to"] >= day))
    ]
    return m.set_index("site_id").loc[site_ids.to_numpy()].reset_index()


def _logit(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def make_survey(
    rng: np.random.Generator, clin: pd.DataFrame, management: pd.DataFrame, sites: pd.DataFrame
) -> pd.DataFrame:
    b = TRUTH["burnout"]
    comp_or = {
        "salary": 1.0,
        "rvu_production": b["or_rvu_production"],
        "hybrid": b["or_hybrid"],
        "salary_plus_quality": b["or_salary_plus_quality"],
    }
    setting = sites.set_index("site_id")["setting"]
    parts = []
    for year in range(2017, 2025):
        day = pd.Timestamp(f"{year}-10-15")
        act = _active_on(
            clin[clin["role"].isin(["physician", "advanced_practice", "behavioral_health"])], day
        )
        act = act[rng.random(len(act)) < b["response_probability"]].reset_index(drop=True)
        reg = _regime_on(management, act["site_id"], day)
        st = setting.loc[act["site_id"]].to_numpy()
        lp = (
            b["intercept"]
            + np.log([comp_or[c] for c in reg["comp_model"]])
            + np.log(b["or_team_based_care"]) * reg["team_based_care"].to_numpy(dtype=float)
            + np.log([b["or_role"][r] for r in act["role"]])
            + np.log([b["or_setting"][s] for s in st])
        )
        burned = rng.random(len(act)) < _logit(lp)
        rvu = (reg["comp_model"] == "rvu_production").to_numpy(dtype=float)
        lp_i = (
            b["intent_intercept"]
            + np.log(b["intent_or_burnout"]) * burned
            + np.log(b["intent_or_rvu_direct"]) * rvu
        )
        high = rng.random(len(act)) < _logit(lp_i)
        n = len(act)
        shadow = reg["admin_shadowing"].to_numpy(dtype=float)
        gov = reg["clinician_in_governance"].to_numpy(dtype=float)
        tbc = reg["team_based_care"].to_numpy(dtype=float)

        def item(base: np.ndarray) -> np.ndarray:
            return np.clip(np.round(base + rng.normal(0, 0.8, len(base))), 1, 5)

        parts.append(
            pd.DataFrame(
                {
                    "site_id": act["site_id"],
                    "survey_date": day.strftime("%Y-%m-%d"),
                    "clinician_id": np.where(
                        rng.random(n) < b["anonymous_share"], None, act["clinician_id"]
                    ),
                    "role": act["role"],
                    "burnout": np.where(
                        burned,
                        rng.choice([3, 4, 5], n, p=[0.5, 0.3, 0.2]),
                        rng.choice([1, 2], n, p=[0.4, 0.6]),
                    ),
                    "intent_to_leave": np.where(
                        high,
                        rng.choice([4, 5], n, p=[0.6, 0.4]),
                        rng.choice([1, 2, 3], n, p=[0.35, 0.35, 0.3]),
                    ),
                    "ehr_time_at_home": item(3.0 + 0.7 * burned - 0.6 * tbc),
                    "trust_in_leadership": item(3.2 - 0.8 * burned + 0.5 * shadow + 0.3 * gov),
                    "control_over_workload": item(3.3 - 1.0 * burned + 0.3 * tbc),
                    "teamwork": item(3.4 - 0.5 * burned + 0.6 * tbc),
                    "values_alignment": item(3.1 - 0.7 * burned + 0.4 * gov),
                    "_comp": reg["comp_model"].to_numpy(),
                    "_tbc": tbc,
                    "_setting": st,
                }
            )
        )
    survey = pd.concat(parts, ignore_index=True)
    TRUTH["burnout"]["share_mediated"] = share_mediated(survey)
    TRUTH["burnout"]["share_mediated_definition"] = (
        "natural indirect / total effect of rvu_production vs salary on P(intent_to_leave >= 4),"
        " risk-difference scale, exact expectation over the survey's role, setting and "
        "team-based care distribution"
    )
    survey.insert(0, "response_id", [f"R{i + 1:06d}" for i in range(len(survey))])
    for col in (
        "ehr_time_at_home",
        "trust_in_leadership",
        "control_over_workload",
        "teamwork",
        "values_alignment",
    ):
        survey[col] = survey[col].astype("Int64").mask(rng.random(len(survey)) < 0.03)
    return survey.drop(columns=["_comp", "_tbc", "_setting"])


def share_mediated(survey: pd.DataFrame) -> float:
    b = TRUTH["burnout"]
    base = (
        b["intercept"]
        + np.log(b["or_team_based_care"]) * survey["_tbc"]
        + np.log([b["or_role"][r] for r in survey["role"]])
        + np.log([b["or_setting"][s] for s in survey["_setting"]])
    ).to_numpy()
    p1, p0 = _logit(base + np.log(b["or_rvu_production"])), _logit(base)

    def q(burned: float, rvu: float) -> float:
        return float(
            _logit(
                b["intent_intercept"]
                + np.log(b["intent_or_burnout"]) * burned
                + np.log(b["intent_or_rvu_direct"]) * rvu
            )
        )

    def mean_q(p: np.ndarray, rvu: float) -> float:
        return float(np.mean(p * q(1, rvu) + (1 - p) * q(0, rvu)))

    total = mean_q(p1, 1) - mean_q(p0, 0)
    indirect = mean_q(p1, 1) - mean_q(p0, 1)
    return round(indirect / total, 4)


GROUPS = {
    "direct_patient_care": 0.30,
    "care_coordination": 0.08,
    "administrative": 0.08,
    "other": 0.04,
    "documentation": 0.20,
    "inbox": 0.125,
    "orders": 0.075,
    "prescription_renewal": 0.05,
    "preventive_screening": 0.05,
}


def activity_shares(tbc: bool) -> dict[str, float]:
    """Expected shares: team-based care delegates 28% of production-line minutes."""
    if not tbc:
        return dict(GROUPS)
    out = {
        k: v * 0.72
        if k in ("documentation", "inbox", "orders", "prescription_renewal", "preventive_screening")
        else v
        for k, v in GROUPS.items()
    }
    out["direct_patient_care"] += 0.10
    out["care_coordination"] += 0.04
    return out


def make_time_allocation(
    rng: np.random.Generator, clin: pd.DataFrame, management: pd.DataFrame
) -> pd.DataFrame:
    t = TRUTH["time"]
    clinicians = clin[clin["role"].isin(["physician", "advanced_practice", "behavioral_health"])]
    pool = _active_on(clinicians, pd.Timestamp("2024-01-15"))
    chosen = set(pool["clinician_id"][rng.random(len(pool)) < 0.4])
    rows = []
    for month in pd.date_range("2024-01-01", "2024-06-01", freq="MS"):
        day = month + pd.Timedelta(days=14)
        act = _active_on(clinicians, day)
        act = act[act["clinician_id"].isin(chosen)].reset_index(drop=True)
        reg = _regime_on(management, act["site_id"], day)
        for r, tbc in zip(act.itertuples(), reg["team_based_care"], strict=True):
            shares = activity_shares(bool(tbc))
            names = list(shares)
            draw = rng.dirichlet(np.array([shares[n] for n in names]) * 300)
            total = t["minutes_per_fte_month"] * r.fte * rng.uniform(0.9, 1.1)
            for name, s in zip(names, draw, strict=True):
                minutes = round(float(s * total), 1)
                if name in ("documentation", "inbox"):
                    late = round(minutes * t["after_hours_share_of_documentation_and_inbox"], 1)
                    rows.append((r.clinician_id, r.site_id, month, name, minutes - late, False))
                    rows.append((r.clinician_id, r.site_id, month, name, late, True))
                else:
                    rows.append((r.clinician_id, r.site_id, month, name, minutes, False))
    df = pd.DataFrame(rows, columns=list(SPECS["time_allocation"].column_names))
    df["month"] = df["month"].dt.strftime("%Y-%m")
    df["minutes"] = df["minutes"].round(1)
    return df


def write_encounters(
    rng: np.random.Generator, clin: pd.DataFrame, sites: pd.DataFrame, path: Path, scale: float
) -> int:
    e = TRUTH["encounters"]
    rvu = fee_schedule().set_index("code")["work_rvu"].to_dict()
    setting = sites.set_index("site_id")["setting"]
    start, end = pd.Timestamp("2023-01-01"), WINDOW[1]
    clinicians = clin[
        clin["role"].isin(["physician", "advanced_practice", "behavioral_health"])
        & (clin["hire_date"] <= end)
        & (clin["exit_date"].isna() | (clin["exit_date"] >= start))
    ]
    clinicians = clinicians.reset_index(drop=True)
    schema = pa.schema(
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
    written = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for lo in range(0, len(clinicians), 100):
            chunk = clinicians.iloc[lo : lo + 100]
            frames = []
            for r in chunk.itertuples():
                a = max(r.hire_date, start)
                b = min(r.exit_date, end) if pd.notna(r.exit_date) else end
                days = (b - a).days + 1
                n = int(rng.poisson(e["encounters_per_fte_workday"] * r.fte * days * 5 / 7))
                if n == 0:
                    continue
                st = setting[r.site_id]
                codes, probs = zip(*CODES[st], strict=True)
                picked = np.array(codes)[rng.choice(len(codes), size=n, p=probs)]
                base = np.array([sum(CODE_MINUTES[c] for c in s.split(";")) for s in picked])
                total = np.maximum(np.round(base * rng.uniform(0.8, 1.35, n)), 5.0)
                m = e["uncredited_share"][st]
                unc = np.round(total * rng.beta(m * 20, (1 - m) * 20, n), 1)
                work = np.array([round(sum(rvu[c] for c in s.split(";")), 2) for s in picked])
                work = np.where(rng.random(n) < e["work_rvu_missing_share"], np.nan, work)
                dates = a + pd.to_timedelta(rng.integers(0, days, n), unit="D")
                frames.append(
                    pd.DataFrame(
                        {
                            "clinician_id": r.clinician_id,
                            "site_id": r.site_id,
                            "date": dates.date,
                            "cpt_codes": picked,
                            "minutes_total": total,
                            "minutes_uncredited": unc,
                            "work_rvu": work,
                        }
                    )
                )
            if not frames:
                continue
            df = pd.concat(frames, ignore_index=True)
            df.insert(0, "encounter_id", [f"V{written + i + 1:08d}" for i in range(len(df))])
            written += len(df)
            writer.write_table(pa.Table.from_pandas(df, schema=schema, preserve_index=False))
    return written


def _csv(df: pd.DataFrame, path: Path) -> None:
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%d")
        elif out[c].dtype == bool or str(out[c].dtype) == "boolean":
            out[c] = out[c].map({True: "true", False: "false"})
    out.to_csv(path, index=False, lineterminator="\n")


def generate(out: Path, seed: int = 20261123, scale: float = 1.0) -> dict:
    """Write the demonstration organisation into ``out`` (atomically) and return the truth."""
    rng = np.random.default_rng(seed)
    n_sites = max(4, int(round(50 * scale)))
    sites = make_sites(rng, n_sites)
    sites["population_served"] = (
        sites["population_served"].astype("Int64").mask(sites["population_served"] < 0)
    )
    management = make_management(rng, sites)
    regime = regime_by_month(management, sites)
    clin, filled, budgeted = simulate_staff(rng, sites, regime)
    access = make_access(rng, sites, filled, budgeted)
    survey = make_survey(rng, clin, management, sites)
    time_alloc = make_time_allocation(rng, clin, management)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, df in (
        ("sites", sites),
        ("management", management),
        ("clinicians", clin),
        ("access", access),
        ("survey", survey),
        ("time_allocation", time_alloc),
    ):
        _csv(df[list(SPECS[name].column_names)], tmp / f"{name}.csv")
    n_enc = write_encounters(
        np.random.default_rng(seed + 1), clin, sites, tmp / "encounters.parquet", scale
    )
    truth = {
        "seed": seed,
        "scale": scale,
        "generator_version": VERSION,
        "window": {"start": str(WINDOW[0].date()), "end": str(WINDOW[1].date())},
        "descriptions": DESCRIPTIONS,
        **json.loads(json.dumps(TRUTH)),
        "sizes": {
            "sites": len(sites),
            "management": len(management),
            "clinicians": len(clin),
            "access": len(access),
            "survey": len(survey),
            "time_allocation": len(time_alloc),
            "encounters": n_enc,
        },
    }
    (tmp / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    (tmp / "dataset.yaml").write_text(
        "name: Demonstration organisation (simulated)\nsynthetic: true\n"
        f"seed: {seed}\nscale: {scale}\ngenerator_version: {VERSION}\n"
    )
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return truth


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m helpers.demo", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--out", default="data/demo")
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args(argv)
    truth = generate(Path(args.out), args.seed, args.scale)
    print(f"Wrote {args.out}: " + ", ".join(f"{k} {v:,}" for k, v in truth["sizes"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
