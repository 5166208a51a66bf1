"""Coverage and power of the primary findings.

:func:`simulate` builds the demonstration organization (:mod:`helpers.data.demo`) in memory, with
the tables as a notebook reads them and their truths (:mod:`helpers.data.demo_truth`);
:func:`primary_estimates` runs on it the package functions the notebooks call for each
primary finding. ``tools/coverage.py`` repeats both over many seeds (``make coverage``); the
results are in ``VALIDATION.md``.

:func:`mde` is the minimum detectable effect a notebook publishes with each primary finding:
the smallest true effect that a two-sided 5% test of no effect detects with 80% power, from
the finding's own standard error, ``(t(0.975, df) + t(0.80, df)) x SE`` on the scale of the
test (log for ratios; :func:`helpers.analysis.inference.mde`). ``VALIDATION.md`` compares it
with the effect found by simulation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from helpers.analysis import access, burnout, switch, turnover
from helpers.analysis.inference import MDE_LEVEL, MDE_POWER, MIN_SITES, mde, mde_multiplier
from helpers.data import demo_model
from helpers.data.contract import SPECS

__all__ = ["MDE_LEVEL", "MDE_POWER", "mde", "mde_multiplier"]  # re-exported for the tool


@dataclass(frozen=True)
class Primary:
    """A primary finding: how its estimate is read and which truth it estimates."""

    id: str
    ratio: bool  # a ratio (tested and summarized on the log scale) or a difference
    truth: tuple[str, str]  # (block, key) of truth.json: the estimand the method targets
    also: tuple[tuple[str, str], ...] = ()  # other truths, to show what they would give


PRIMARY = (
    Primary(
        "turnover.hr_rvu_production",
        True,
        ("turnover", "hr_rvu_production_model_target"),
        (("turnover", "hr_rvu_production"), ("turnover", "hr_rvu_production_total")),
    ),
    Primary(
        "turnover.hr_team_based_care",
        True,
        ("turnover", "hr_team_based_care_model_target"),
        (("turnover", "hr_team_based_care"), ("turnover", "hr_team_based_care_total")),
    ),
    Primary(
        "turnover.irr_after_switch",
        True,
        ("turnover", "irr_after_switch"),
        (("turnover", "irr_after_switch_direct"),),
    ),
    Primary(
        "turnover.hr_burnout_linked",
        True,
        ("turnover", "hr_burnout_linked"),
        (("turnover", "hr_burnout"),),
    ),
    Primary("access.tnaa_per_vacant_fte", False, ("access", "tnaa_per_vacant_fte")),
    Primary(
        "burnout.rr_rvu_production",
        True,
        ("burnout", "rr_rvu_production_model_target"),
        (("burnout", "rr_rvu_production"),),
    ),
)
PRIMARY_IDS = tuple(p.id for p in PRIMARY)


# --- simulation -----------------------------------------------------------------------------------
@dataclass
class Simulated:
    """A simulated organization: its tables as a notebook reads them, the analysis window and
    (unless not asked for) ``truth.json``'s estimands."""

    seed: int
    realism: demo_model.Realism
    tables: dict[str, pd.DataFrame]
    window: tuple[pd.Timestamp, pd.Timestamp]
    truth: dict | None


def as_read(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """A generated table with the dtypes :meth:`helpers.data.Dataset.table` gives after the
    CSV round trip (booleans nullable, months and dates as timestamps, counts as Int64)."""
    out = df[list(SPECS[name].column_names)].copy()
    for col in SPECS[name].columns:
        if col.name not in out:
            continue
        if col.type == "boolean":
            out[col.name] = out[col.name].astype("boolean")
        elif col.type == "month":
            out[col.name] = pd.to_datetime(out[col.name]).astype("datetime64[ns]")
        elif col.type == "date":
            out[col.name] = pd.to_datetime(out[col.name]).astype("datetime64[ns]")
        elif col.type == "integer":
            out[col.name] = out[col.name].astype("Int64")
        elif col.type in ("string", "category"):
            out[col.name] = out[col.name].astype(object)
    return out


def simulate(
    seed: int,
    realism: demo_model.Realism | None = None,
    scale: float = 1.0,
    params: dict | None = None,
    truth: bool = True,
) -> Simulated:
    """The organization :func:`helpers.data.demo.generate` writes for ``seed``, ``scale`` and
    ``realism``, in memory and without the time-allocation and encounter tables (their
    random streams are separate, so every other table is the same).

    ``params`` overrides simulation parameters, as {"block.key": value} (e.g.
    {"turnover.hr_rvu_production": 1.3}); ``"access.tnaa_per_vacant_fte"`` (which the
    generator reads from ``demo_model.TRUTH``) is applied by adding (value - 2.5) x vacant FTE to
    the generated waits. ``truth=False`` skips the estimands (about a second)."""
    from helpers.data import demo_truth

    realism = demo_model.Realism() if realism is None else realism
    p = demo_model.parameters(realism)
    tnaa = None
    for key, value in (params or {}).items():
        block, name = key.split(".")
        if key == "access.tnaa_per_vacant_fte":
            tnaa = float(value)
        elif name not in p[block]:
            raise KeyError(f"no simulation parameter {key}")
        p[block][name] = value
    parts = ("sites", "management", "posts", "spells", "access", "survey", "time", "encounters",
             "frailty", "burnout")  # fmt: skip
    rngs = dict(
        zip(parts, map(np.random.default_rng, np.random.SeedSequence(seed).spawn(10)), strict=True)
    )
    sites = demo_model.make_sites(rngs["sites"], scale)
    management = demo_model.make_management(rngs["management"], sites, realism)
    posts = demo_model.make_posts(rngs["posts"], sites, realism)
    world = demo_model.build_world(rngs["frailty"], p, realism, sites, management, posts)
    spells, history = demo_model.simulate_spells(rngs["spells"], rngs["burnout"], world)
    clin = demo_model.make_clinicians(spells, posts, sites)
    acc, clipped = demo_model.make_access(
        rngs["access"], sites, posts, demo_model.filled_fte(clin, sites)
    )
    if tnaa is not None:
        slope = demo_model.TRUTH["access"]["tnaa_per_vacant_fte"]
        vacant = (acc["budgeted_clinician_fte"] - acc["filled_clinician_fte"]).clip(lower=0)
        days = acc["third_next_available_days"] + (tnaa - slope) * vacant
        acc["third_next_available_days"] = np.round(np.maximum(days, 0), 1)
    survey, hidden, population = demo_model.make_survey(
        rngs["survey"], clin, management, world, history.states
    )
    tables = {
        "sites": as_read("sites", sites),
        "management": as_read("management", management),
        "clinicians": as_read("clinicians", clin),
        "access": as_read("access", acc),
        "survey": as_read("survey", survey),
    }
    a = tables["access"]["month"]
    window = (a.min(), a.max() + pd.offsets.MonthEnd(0))
    out = None
    if truth:
        out = {k: dict(v) for k, v in p.items()}
        for block, values in demo_truth.estimands(world, history, hidden, population).items():
            out[block].update(values)
        out["access"]["clipped_at_zero"] = clipped
        if tnaa is not None:
            out["access"]["tnaa_per_vacant_fte"] = tnaa
    return Simulated(seed, realism, tables, window, out)


# --- the analyses -------------------------------------------------------------------------------
@dataclass
class Estimate:
    """One primary finding on one organization, as its notebook would register it; ``se`` is
    on the scale of the test (log for ratios) and ``df`` the degrees of freedom of its t
    reference. ``error`` says why it is unavailable."""

    finding: str
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    se: float | None = None
    df: float | None = None
    p_value: float | None = None
    n_sites: int | None = None
    error: str | None = None

    def row(self) -> dict:
        return dataclasses.asdict(self)


def _cox_terms(pt: pd.DataFrame, inference: str) -> dict[str, Estimate]:
    cox = turnover.cox_model(pt, inference=inference)
    out = {}
    for fid, term in (
        ("turnover.hr_rvu_production", "comp_rvu_production"),
        ("turnover.hr_team_based_care", "team_based_care"),
    ):
        if term not in set(cox.table["term"]):
            out[fid] = Estimate(fid, error="no variation in this exposure")
            continue
        r = cox.term(term)
        if r.sites < MIN_SITES:
            out[fid] = Estimate(fid, error=f"{int(r.sites)} site(s) on one side")
            continue
        out[fid] = Estimate(
            fid, r.hr, r.ci_low, r.ci_high, r.se, cox.dof, r.p, cox.n_sites
        )  # fmt: skip
    return out


def primary_estimates(
    sim: Simulated,
    findings: Iterable[str] = PRIMARY_IDS,
    reps: int = switch.BOOTSTRAP_REPS,
    cox_inference: str = "jackknife",
) -> dict[str, Estimate]:
    """Each primary finding in ``findings`` on ``sim``, by the function its notebook calls
    (with the notebooks' defaults; the switch study without its pre-trend test and TWFE
    comparison, which do not change the finding). A finding its notebook would register as
    unavailable comes back with ``error`` set. ``cox_inference`` is passed to
    :func:`helpers.analysis.turnover.cox_model` (``"cr1"`` gives the intervals published before the
    jackknife)."""
    want = set(findings)
    t = sim.tables
    out: dict[str, Estimate] = {}

    def guard(ids: list[str], fit) -> None:
        try:
            out.update(fit())
        except ValueError as exc:  # what Analysis.guarded reports as unavailable
            out.update({i: Estimate(i, error=str(exc) or type(exc).__name__) for i in ids})

    turnover_ids = {"turnover.hr_rvu_production", "turnover.hr_team_based_care"}
    pt = None
    if want & (turnover_ids | {"turnover.irr_after_switch"}):
        pt = turnover.person_time(t["clinicians"], t["management"], t["sites"], sim.window)
    if want & turnover_ids:
        guard(sorted(turnover_ids), lambda: _cox_terms(pt, cox_inference))
    if "turnover.irr_after_switch" in want:
        fid = "turnover.irr_after_switch"

        def fit_switch():
            panel = switch.switch_panel(pt, t["management"], sim.window)
            sw = switch.imputation(panel, lags=(0, switch.LAGS[1]), reps=reps)
            n = sw.n_switch_sites
            return {fid: Estimate(fid, sw.rr, sw.ci_low, sw.ci_high, sw.se, n - 1, sw.p_value, n)}

        if len(switch.switches(t["management"])) == 0:
            out[fid] = Estimate(fid, error="no site moved from RVU production pay")
        else:
            guard([fid], fit_switch)
    if "turnover.hr_burnout_linked" in want:
        fid = "turnover.hr_burnout_linked"

        def fit_linked():
            cohort = turnover.linked_cohort(t["survey"], t["clinicians"], sim.window)
            r = turnover.burnout_exit_model(cohort)
            return {
                fid: Estimate(fid, r.hr, r.ci_low, r.ci_high, r.se, r.n_sites - 1, r.p, r.n_sites)
            }

        guard([fid], fit_linked)
    if "access.tnaa_per_vacant_fte" in want:
        fid = "access.tnaa_per_vacant_fte"

        def fit_access():
            s = access.fe_slope(access.panel(t["access"]), "third_next_available_days")
            p = float(2 * stats.t.sf(abs(s.estimate / s.se), s.sites - 1))
            return {
                fid: Estimate(fid, s.estimate, s.ci_low, s.ci_high, s.se, s.sites - 1, p, s.sites)
            }

        guard([fid], fit_access)
    if "burnout.rr_rvu_production" in want:
        fid = "burnout.rr_rvu_production"

        def fit_burnout():
            r = burnout.responses(t["survey"], t["management"], t["sites"])
            s = burnout.standardized(r, burnout.PAY["rvu_production"])
            return {
                fid: Estimate(
                    fid, s.rr, s.rr_low, s.rr_high, s.se_log_rr, s.n_sites - 1, s.p, s.n_sites
                )
            }

        guard([fid], fit_burnout)
    return {k: out[k] for k in PRIMARY_IDS if k in out and k in want}


def truth_of(sim_truth: dict, key: tuple[str, str]) -> float | None:
    """A truth.json value by (block, key)."""
    value = sim_truth.get(key[0], {}).get(key[1])
    return None if value is None else float(value)
