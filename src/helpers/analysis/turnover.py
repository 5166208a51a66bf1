"""Turnover: person-time with time-varying management and calendar year, exit rates, the Cox
model of voluntary exit with site-clustered small-sample inference, its proportional-hazards
test, dose-response, excess exits under RVU production pay, the linked survey cohort, cumulative
incidence of voluntary exit. The sites that left RVU production pay:
:mod:`helpers.analysis.switch`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.analysis import survival
from helpers.analysis.inference import MIN_SITES, jackknife_se, require_sites, t_interval, t_p_value
from helpers.analysis.rates import poisson_rate_ci
from helpers.cells import factor_of
from helpers.data.contract import CLINICIAN_ROLES

DAYS_PER_YEAR = 365.25
PRACTICES = ("team_based_care", "clinician_in_governance", "admin_shadowing")
COMP_LEVELS = ("rvu_production", "salary_plus_quality", "hybrid")  # reference: salary
# Management columns carried onto person-time (the dose terms read them).
DOSE_COLUMNS = ("protected_time_pct", "pct_comp_productivity", "rvu_target_annual")
# Dose terms: name -> (management column, divisor); "per 10 points", "per 1,000 work RVUs".
DOSES = {
    "protected_time_10pt": ("protected_time_pct", 10.0),
    "pct_comp_productivity_10pt": ("pct_comp_productivity", 10.0),
    "rvu_target_1000": ("rvu_target_annual", 1000.0),
}
OTHER_EXITS = ("involuntary", "retirement", "other")
BURNED_OUT = 3  # Mini-Z burnout item: 3 or more is burned out


def clinician_spells(
    clinicians: pd.DataFrame, window: tuple[pd.Timestamp, pd.Timestamp]
) -> pd.DataFrame:
    """Clinician spells seen in the window: entry (window start or hire), end, event, and the
    cause of an exit within the window (``None`` when the spell is censored at its end)."""
    start, end = window
    c = clinicians[clinicians["role"].isin(CLINICIAN_ROLES)].copy()
    c["entry"] = c["hire_date"].clip(lower=start)
    c["end"] = c["exit_date"].fillna(end).clip(upper=end)
    c = c[c["end"] >= c["entry"]]
    left = c["exit_date"].notna() & (c["exit_date"] <= end)
    c["event"] = (c["exit_reason"] == "voluntary") & left
    c["cause"] = c["exit_reason"].where(left).astype(object)
    c.loc[left & c["cause"].isna(), "cause"] = "other"  # an exit with no reason recorded
    c["cause"] = c["cause"].where(left, None)
    c["spell"] = np.arange(len(c))
    return c.reset_index(drop=True)


def person_time(
    clinicians: pd.DataFrame,
    management: pd.DataFrame,
    sites: pd.DataFrame,
    window: tuple[pd.Timestamp, pd.Timestamp],
) -> pd.DataFrame:
    """Counting-process data: each clinician spell in the window split at the site's
    management changes and at calendar-year boundaries.

    One row per piece with the management row in effect (pay model, practices, protected
    time, share of pay on productivity, RVU target), the calendar ``year`` of the piece, the
    site setting, tenure at the start and end of the piece in years (days counted inclusive of
    the last day; pieces of a spell are contiguous), ``event`` (voluntary exit) and ``cause``
    (any exit) on the spell's last piece only. Spells begun before the window enter at their
    tenure on its first day (left truncation); other exits are censored.

    Parameters
    ----------
    clinicians : pandas.DataFrame
        The ``clinicians`` table (``clinician_id``, ``site_id``, ``role``, ``hire_date``,
        ``exit_date``, ``exit_reason``); only roles in ``CLINICIAN_ROLES`` are kept.
    management : pandas.DataFrame
        The ``management`` table: ``site_id``, ``effective_from``, ``effective_to`` (NaT:
        still in effect), ``comp_model``, the practices and, when present, the dose columns
        (``protected_time_pct``, ``pct_comp_productivity``, ``rvu_target_annual``; NaN when
        absent).
    sites : pandas.DataFrame
        The ``sites`` table (``site_id``, ``setting``).
    window : tuple of pandas.Timestamp
        First and last day of the analysis window, both included.

    Returns
    -------
    pandas.DataFrame
        One row per piece, sorted by spell and start: ``spell`` (spell number),
        ``clinician_id``, ``site_id``, ``role``, ``setting``, ``hire_date``, ``p_start``,
        ``p_end`` (the piece's first and last day), ``year``, ``start``, ``stop`` (tenure in
        years), ``years`` (``stop - start``), ``event`` (bool), ``cause`` (exit reason or
        None), ``comp_model``, ``team_based_care``, ``clinician_in_governance``,
        ``admin_shadowing`` (bool), ``protected_time_pct``, ``pct_comp_productivity``,
        ``rvu_target_annual`` (float).
    """
    spells = clinician_spells(clinicians, window)
    m = management.copy()
    m["to"] = m["effective_to"].fillna(window[1])
    for col in DOSE_COLUMNS:
        if col not in m:
            m[col] = np.nan
    pieces = spells.merge(m, on="site_id", how="inner")
    pieces["p_start"] = pieces[["entry", "effective_from"]].max(axis=1)
    pieces["p_end"] = pieces[["end", "to"]].min(axis=1)
    pieces = pieces[pieces["p_end"] >= pieces["p_start"]]
    pieces = split_calendar_years(pieces)
    pieces["start"] = (pieces["p_start"] - pieces["hire_date"]).dt.days / DAYS_PER_YEAR
    pieces["stop"] = ((pieces["p_end"] - pieces["hire_date"]).dt.days + 1) / DAYS_PER_YEAR
    pieces["years"] = pieces["stop"] - pieces["start"]
    last = pieces["p_end"] == pieces["end"]
    pieces["event"] = pieces["event"] & last
    pieces["cause"] = pieces["cause"].where(last, None)
    setting = sites.set_index("site_id")["setting"]
    pieces["setting"] = setting.reindex(pieces["site_id"]).to_numpy()
    keep = [
        "spell",
        "clinician_id",
        "site_id",
        "role",
        "setting",
        "hire_date",
        "p_start",
        "p_end",
        "year",
        "start",
        "stop",
        "years",
        "event",
        "cause",
        "comp_model",
        *PRACTICES,
        *DOSE_COLUMNS,
    ]
    out = pieces[keep].sort_values(["spell", "p_start"]).reset_index(drop=True)
    for col in PRACTICES:
        out[col] = out[col].astype(bool)
    for col in DOSE_COLUMNS:
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    return out


def split_calendar_years(pieces: pd.DataFrame) -> pd.DataFrame:
    """Each row with ``p_start``..``p_end`` (inclusive days) cut at 1 January, so that every
    row lies in one calendar ``year``."""
    first = pieces["p_start"].dt.year.to_numpy()
    n = pieces["p_end"].dt.year.to_numpy() - first + 1
    out = pieces.loc[pieces.index.repeat(n)].copy()
    offset = np.concatenate([np.arange(k) for k in n]) if len(n) else np.array([], int)
    out["year"] = np.repeat(first, n) + offset
    jan1 = pd.to_datetime(out["year"].astype(str) + "-01-01")
    dec31 = pd.to_datetime(out["year"].astype(str) + "-12-31")
    out["p_start"] = out["p_start"].where(out["p_start"] > jan1, jan1)
    out["p_end"] = out["p_end"].where(out["p_end"] < dec31, dec31)
    return out.reset_index(drop=True)


def rate_table(pt: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Voluntary exits per 100 clinician-years with exact Poisson CIs, overall or by group.

    Parameters
    ----------
    pt : pandas.DataFrame
        Person-time (:func:`person_time`): ``clinician_id``, ``years``, ``event`` and the
        ``by`` column.
    by : str, optional
        The column to group by; None for one row about everyone (group ``"all"``).

    Returns
    -------
    pandas.DataFrame
        One row per group, sorted: ``group``, ``clinicians`` (distinct), ``exits``
        (voluntary), ``clinician_years``, ``rate_per_100`` (exits per 100 clinician-years),
        ``ci_low``, ``ci_high`` (exact 95%).

    Examples
    --------
    >>> import pandas as pd
    >>> pt = pd.DataFrame({"clinician_id": ["a", "a", "b"],
    ...                    "comp_model": ["salary", "salary", "rvu_production"],
    ...                    "years": [1.0, 0.5, 2.0], "event": [False, True, False]})
    >>> rate_table(pt).round(2)
      group  clinicians  exits  clinician_years  rate_per_100  ci_low  ci_high
    0   all           2      1              3.5         28.57    0.72   159.19
    >>> rate_table(pt, "comp_model")[["group", "exits", "rate_per_100"]].round(2)
                group  exits  rate_per_100
    0  rvu_production      0          0.00
    1          salary      1         66.67
    """
    groups = [("all", pt)] if by is None else list(pt.groupby(by, sort=True))
    rows = []
    for key, g in groups:
        events, years = int(g["event"].sum()), float(g["years"].sum())
        rate, low, high = poisson_rate_ci(events, years)
        rows.append(
            {
                "group": key,
                "clinicians": g["clinician_id"].nunique(),
                "exits": events,
                "clinician_years": years,
                "rate_per_100": rate,
                "ci_low": low,
                "ci_high": high,
            }
        )
    return pd.DataFrame(rows)


# --- the Cox model ------------------------------------------------------------------------------
def calendar_periods(year: pd.Series, event: pd.Series) -> pd.Series:
    """Calendar period of each row: its calendar year, except that a year with no event is
    pooled with the next (the last with the one before), since a period without events has no
    finite hazard ratio. Labels are ``"2021"`` or ``"2017-2018"``."""
    counts = pd.Series(np.asarray(event, bool)).groupby(np.asarray(year)).sum().sort_index()
    groups: list[list[int]] = []
    current: list[int] = []
    for y, e in counts.items():
        current.append(int(y))
        if e > 0:
            groups.append(current)
            current = []
    if current:
        if groups:
            groups[-1] += current
        else:
            groups.append(current)
    label = {y: (str(g[0]) if len(g) == 1 else f"{g[0]}-{g[-1]}") for g in groups for y in g}
    return pd.Series(np.asarray(year), index=year.index).map(label)


def _indicators(x: pd.DataFrame, values: pd.Series, prefix: str, preferred: str | None) -> None:
    """Indicator columns of a category; the reference is ``preferred`` when present, else the
    most common level (a reference absent from the data would leave the indicators summing
    to one, which a Cox model cannot separate from its baseline)."""
    counts = values.value_counts()
    ref = preferred if preferred in counts.index else counts.index[0]
    for level in sorted(counts.index):
        if level != ref:
            x[f"{prefix}_{level}"] = (values == level).astype(float)


def design(pt: pd.DataFrame, extra: str | None = None, calendar: bool = True) -> pd.DataFrame:
    """Covariates of the contract's Cox model: pay model (reference salary), the three
    practices, role (reference physician), site setting (reference primary care) and calendar
    period (reference the first; see :func:`calendar_periods`); ``extra`` adds a dose term of
    :data:`DOSES`. Columns without variation are dropped."""
    x = pd.DataFrame(index=pt.index)
    comp = pt["comp_model"].astype(str)
    counts = comp.value_counts()
    ref = "salary" if "salary" in counts.index else counts.index[0]
    for level in [lv for lv in ("salary", *COMP_LEVELS) if lv != ref]:
        x[f"comp_{level}"] = (comp == level).astype(float)
    for col in PRACTICES:
        x[col] = pt[col].astype(float)
    _indicators(x, pt["role"].astype(str), "role", "physician")
    _indicators(x, pt["setting"].astype(str), "setting", "primary_care")
    if calendar:
        period = calendar_periods(pt["year"], pt["event"])
        for level in sorted(period.unique())[1:]:
            x[f"year_{level}"] = (period == level).astype(float)
    if extra is not None:
        col, per = DOSES[extra]
        x[extra] = pt[col].astype(float) / per
    x = x.loc[:, x.std() > 0]
    # An indicator with no voluntary exit on one side has an infinite log hazard ratio and
    # stops the whole model from converging (a small organization may have a role with no
    # exit): such a term is left out, which pools its level with the reference.
    event = pt["event"].astype(bool).to_numpy()
    binary = [c for c in x.columns if c != extra and set(x[c].unique()) <= {0.0, 1.0}]
    empty = [c for c in binary if not event[x[c] == 1].any() or not event[x[c] == 0].any()]
    return x.drop(columns=empty)


@dataclass
class CoxResult:
    table: pd.DataFrame  # term, hr, ci_low, ci_high, p, clinicians (what is published)
    coef: pd.DataFrame  # term, log_hr, se (CR1), se_sandwich (no CR1), se_model
    ph: pd.DataFrame | None  # Grambsch–Therneau test: term, chi2, df, p, clinicians
    n_spells: int
    n_clinicians: int
    n_events: int
    n_sites: int
    stratified: bool
    fit: survival.CoxFit

    @property
    def dof(self) -> int:
        """Degrees of freedom of the t intervals: sites - 1."""
        return self.n_sites - 1

    def term(self, name: str) -> pd.Series:
        """One term's published row and its coefficient, standard errors and P value."""
        row = self.table.set_index("term").loc[name]
        return pd.concat([row, self.coef.set_index("term").loc[name]])


def cox_model(
    pt: pd.DataFrame,
    extra: str | None = None,
    stratified: bool = False,
    calendar: bool = True,
    ph_transform: str = "rank",
    inference: str = "jackknife",
) -> CoxResult:
    """Cox model of voluntary exit on tenure (counting-process rows with left truncation,
    time-varying management and calendar period), Breslow ties, covariates of
    :func:`design`.

    Inference is site-clustered, with Student's t on G-1 degrees of freedom for intervals and
    P values; no model is fitted on fewer than ``MIN_SITES`` sites. ``inference`` picks the
    standard errors: ``"jackknife"`` (the default), the site jackknife (CR3) of the
    coefficients refitted without each site in turn
    (:func:`helpers.analysis.survival.leave_one_group_out`,
    :func:`helpers.analysis.inference.jackknife_se`); ``"cr1"``, the sandwich of summed score
    residuals by site times G/(G-1). Over 200 simulated organizations like the
    demonstration data the CR1 intervals of the pay and team-based care hazard ratios covered
    their targets 89-92% of the time, the jackknife ones at about the nominal 95%
    (VALIDATION.md): exposures that change by site, on about 25 sites a side, are where CR1
    is known to be too narrow. ``stratified`` gives each site its own baseline hazard (a
    within-site comparison; terms constant within every site drop out). The
    Grambsch–Therneau test uses ``ph_transform`` of tenure (``rank`` or ``log``).

    Parameters
    ----------
    pt : pandas.DataFrame
        Person-time (:func:`person_time`).
    extra : str, optional
        A dose term of :data:`DOSES` to add (e.g. ``"protected_time_10pt"``).
    stratified : bool, default False
        A baseline hazard per site.
    calendar : bool, default True
        Adjust for calendar period.
    ph_transform : str, default ``"rank"``
        Time transform of the proportional-hazards test: ``"rank"`` or ``"log"``.
    inference : str, default ``"jackknife"``
        Standard errors: ``"jackknife"`` (site jackknife, CR3) or ``"cr1"``.

    Returns
    -------
    CoxResult
        ``table`` (one row per term: ``term``, ``hr``, ``ci_low``, ``ci_high`` (95%),
        ``p``, ``clinicians``, ``sites``: see :func:`summarize`); ``coef`` (``term``,
        ``log_hr``, ``se``, ``se_cr1``, ``se_sandwich``, ``se_model``); ``ph`` (the
        Grambsch–Therneau test with a ``clinicians`` column); ``n_spells``,
        ``n_clinicians``, ``n_events``, ``n_sites``, ``stratified`` and ``fit``.
        ``term(name)`` gives one term's row and coefficients; ``dof`` is sites - 1.

    Raises
    ------
    helpers.analysis.inference.TooFewSites
        Fewer than ``MIN_SITES`` sites (a ``ValueError``).
    ValueError
        An unknown ``inference``.
    """
    if inference not in ("jackknife", "cr1"):
        raise ValueError(f"unknown inference {inference!r}")
    n_sites = int(pt["site_id"].nunique())
    require_sites(n_sites, "Cox model of voluntary exit")
    x = design(pt, extra, calendar)
    sites = pt["site_id"].to_numpy()
    if stratified:
        x = x.loc[:, within_site_variation(x, pt["site_id"])]
    data = (x, pt["start"].to_numpy(), pt["stop"].to_numpy(), pt["event"].to_numpy(bool))
    strata = sites if stratified else None
    fit = survival.fit_cox(*data, strata=strata)
    loo = None
    if inference == "jackknife":
        loo = survival.leave_one_group_out(*data, sites, fit.params, strata=strata)
    table, coef = summarize(
        fit, x, sites, pt["clinician_id"], within_site=stratified, leave_one_out=loo
    )
    ph = survival.grambsch_therneau(fit, ph_transform)
    people = dict(zip(table["term"], table["clinicians"], strict=True))
    ph["clinicians"] = [people.get(t, pt["clinician_id"].nunique()) for t in ph["term"]]
    return CoxResult(
        table,
        coef,
        ph,
        int(pt["spell"].nunique()),
        int(pt["clinician_id"].nunique()),
        int(pt["event"].sum()),
        n_sites,
        stratified,
        fit,
    )


def summarize(
    fit: survival.CoxFit,
    x: pd.DataFrame,
    sites,
    clinician: pd.Series,
    within_site: bool = False,
    leave_one_out: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Published table (hazard ratio, t(G-1) interval and P value, clinicians and sites
    behind each term) and the coefficients with their standard errors: ``se`` (the one the
    table uses), ``se_cr1`` (CR1 sandwich), ``se_sandwich`` (no small-sample factor) and
    ``se_model`` (model-based).

    ``se`` is the site jackknife (CR3) of ``leave_one_out`` (the coefficients refitted without
    each site, sites x terms) when it is given, over the sites whose removal leaves the term
    estimable; otherwise the CR1 sandwich.

    ``clinicians`` and ``sites`` of a term: those on the smaller side of its comparison (a
    level of a factor vs the factor's reference level, a practice vs none:
    :func:`comparison_sides`; a comparison rests on no more than the smaller group), or with
    ``within_site`` the sites where the term changes (the only ones a site-stratified model
    learns it from). With fewer than ``MIN_SITES`` of them the site-clustered interval of that
    term is not to be trusted, whatever the total number of sites."""
    cov, g = fit.cluster_cov(sites, small_sample=True)
    cov0, _ = fit.cluster_cov(sites, small_sample=False)
    b, se_cr1 = fit.params, np.sqrt(np.diag(cov))
    se = se_cr1
    if leave_one_out is not None:
        se = np.array(
            [
                jackknife_se(col[np.isfinite(col)], bj)
                for col, bj in zip(np.asarray(leave_one_out).T, b, strict=True)
            ]
        )
    low, high = t_interval(b, se, g)
    table = pd.DataFrame(
        {
            "term": x.columns,
            "hr": np.exp(b),
            "ci_low": np.exp(low),
            "ci_high": np.exp(high),
            "p": [t_p_value(bi, si, g) for bi, si in zip(b, se, strict=True)],
            "clinicians": people_per_term(x, clinician),
            "sites": sites_per_term(x, pd.Series(np.asarray(sites)), within_site),
        }
    )
    coef = pd.DataFrame(
        {
            "term": x.columns,
            "log_hr": b,
            "se": se,
            "se_cr1": se_cr1,
            "se_sandwich": np.sqrt(np.diag(cov0)),
            "se_model": fit.se,
        }
    )
    return table, coef


def within_site_variation(x: pd.DataFrame, site: pd.Series) -> pd.Series:
    """Columns that vary within at least one site (the only ones a site-stratified model can
    estimate)."""
    sd = x.groupby(site.to_numpy()).std().fillna(0.0)
    return sd.max() > 0


def comparison_sides(x: pd.DataFrame, term: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The rows on each side of the comparison a design column makes, or ``None`` for a dose
    (not an indicator).

    An indicator of a categorical factor (pay model, role, setting, calendar period:
    :func:`helpers.cells.factor_of`) compares its level with the factor's reference level,
    the rows where every indicator of that factor is 0; a binary practice compares the rows
    with it and those without.
    """
    v = x[term].to_numpy()
    if not np.isin(v, (0.0, 1.0)).all():
        return None
    factor = factor_of(term)
    same = [c for c in x.columns if factor is not None and factor_of(c) == factor] or [term]
    reference = (x[same].to_numpy() == 0).all(axis=1)
    return v > 0, reference


def sites_per_term(x: pd.DataFrame, site: pd.Series, within_site: bool = False) -> list[int]:
    """Sites behind each term (see :func:`summarize`): for an indicator, the sites on the
    smaller side of its comparison (:func:`comparison_sides`); for a dose, every site."""
    site = site.to_numpy()
    if within_site:
        varies = x.groupby(site).std().fillna(0.0) > 0
        return [int(varies[t].sum()) for t in x.columns]
    out = []
    for t in x.columns:
        sides = comparison_sides(x, t)
        if sides is None:
            out.append(int(len(set(site))))
        else:
            out.append(int(min(len(set(site[s])) for s in sides)))
    return out


def people_per_term(x: pd.DataFrame, clinician: pd.Series) -> list[int]:
    """For each indicator of the design, the clinicians on the smaller side of its
    comparison: a hazard ratio compares the level of a factor with the reference level (a
    practice: those with it and those without), so it describes no more people than the
    smaller of the two groups (what the small-cell rule must count); see
    :func:`comparison_sides`. A dose term (not an indicator) describes everyone in the model."""
    who = clinician.to_numpy()
    out = []
    for t in x.columns:
        sides = comparison_sides(x, t)
        if sides is None:
            out.append(int(len(set(who))))
        else:
            out.append(int(min(len(set(who[s])) for s in sides)))
    return out


def dose_model(pt: pd.DataFrame, term: str) -> CoxResult:
    """The main model plus one dose term of :data:`DOSES` (per 10 points of protected time or
    of pay tied to productivity, per 1,000 work RVUs of annual target), on the person-time
    where the dose is recorded (for the RVU target: person-time under a target). With the
    pay-model indicators in the model, a dose term is the gradient within pay models.

    Parameters
    ----------
    pt : pandas.DataFrame
        Person-time (:func:`person_time`); rows without the dose are left out.
    term : str
        A key of :data:`DOSES`: ``"protected_time_10pt"``, ``"pct_comp_productivity_10pt"``
        or ``"rvu_target_1000"``.

    Returns
    -------
    CoxResult
        As :func:`cox_model`, with the dose term in ``table`` and ``coef``.

    Raises
    ------
    helpers.analysis.inference.TooFewSites
        Fewer than ``MIN_SITES`` sites with the dose recorded (a ``ValueError``).
    KeyError
        ``term`` is not in :data:`DOSES`.
    """
    col, _ = DOSES[term]
    return cox_model(pt[pt[col].notna()], extra=term)


# --- excess exits -------------------------------------------------------------------------------
@dataclass
class ExcessExits:
    estimate: float
    ci_low: float
    ci_high: float
    draws: np.ndarray  # Monte Carlo draws of the excess exits per year
    exits: int  # observed voluntary exits under the exposure
    years: float  # calendar years the exits were observed over
    hr: float


def excess_exits(
    exits: int,
    years: float,
    log_hr: float,
    se: float,
    n_clusters: int,
    draws: int = 100_000,
    seed: int = 0,
    level: float = 0.95,
) -> ExcessExits:
    """Exits per year among the exposed beyond those they would have had unexposed: the
    observed exits per year times the attributable fraction among the exposed, (HR - 1)/HR.

    The interval is Monte Carlo: each draw takes log HR from ``log_hr + se * T`` with ``T``
    Student's t on ``n_clusters - 1`` degrees of freedom (the sampling distribution behind the
    model's CR1/t interval) and the exit count from a Poisson distribution with the observed
    count as its mean, independently; the interval is the central ``level`` of the draws.
    """
    rng = np.random.default_rng(seed)
    b = log_hr + se * rng.standard_t(n_clusters - 1, draws)
    n = rng.poisson(exits, draws)
    d = n / years * (1 - np.exp(-b))
    low, high = np.quantile(d, [(1 - level) / 2, (1 + level) / 2])
    est = exits / years * (1 - np.exp(-log_hr))
    return ExcessExits(
        float(est), float(low), float(high), d, int(exits), float(years), float(np.exp(log_hr))
    )


def rvu_excess_exits(
    pt: pd.DataFrame,
    cox: CoxResult,
    window: tuple[pd.Timestamp, pd.Timestamp],
    draws: int = 100_000,
    seed: int = 0,
) -> ExcessExits:
    """Excess voluntary exits per year under RVU production pay (vs salary), from the main Cox
    model: the observed exits on RVU person-time in the window and the model's hazard ratio.

    Parameters
    ----------
    pt
        Person-time (:func:`person_time`).
    cox
        The main model fitted on ``pt`` (:func:`cox_model`).
    window, draws, seed
        The analysis window; Monte Carlo draws and seed of the interval (:func:`excess_exits`).

    Returns
    -------
    ExcessExits
        Estimate, interval and draws.

    Raises
    ------
    ValueError
        No person-time under RVU production pay, or the hazard ratio compares fewer than
        ``MIN_SITES`` sites on one side (the notebooks register the finding as unavailable).
    """
    if "comp_rvu_production" not in set(cox.table["term"]):
        raise ValueError("no person-time under RVU production pay")
    r = cox.term("comp_rvu_production")
    if r.sites < MIN_SITES:
        raise ValueError(f"the hazard ratio compares fewer than {MIN_SITES} sites on one side")
    exits = int(pt.loc[pt["comp_model"] == "rvu_production", "event"].sum())
    return excess_exits(
        exits, window_years(window), r.log_hr, r.se, cox.n_sites, draws=draws, seed=seed
    )


def window_years(window: tuple[pd.Timestamp, pd.Timestamp]) -> float:
    """Length of the window in years (both ends inclusive)."""
    return ((window[1] - window[0]).days + 1) / DAYS_PER_YEAR


# --- the linked survey cohort ---------------------------------------------------------------------
def linked_cohort(
    survey: pd.DataFrame,
    clinicians: pd.DataFrame,
    window: tuple[pd.Timestamp, pd.Timestamp],
    months: int = 12,
) -> pd.DataFrame:
    """Survey responses followed for voluntary exit.

    Each response in the window that carries a ``clinician_id`` whose clinician (a clinician
    role) has a spell in post on the survey date, followed from the survey date to the first
    of: the exit (voluntary: an event; any other: censored), ``months`` months, the end of
    the window. ``time`` is years since the survey (days counted inclusive of the last);
    ``site_id`` is the site of the spell; ``burned_out`` is the burnout item >= 3.

    Parameters
    ----------
    survey : pandas.DataFrame
        The ``survey`` table (``response_id``, ``clinician_id``, ``survey_date``,
        ``burnout``); anonymous responses and those without a burnout answer are left out.
    clinicians : pandas.DataFrame
        The ``clinicians`` table (``clinician_id``, ``site_id``, ``role``, ``hire_date``,
        ``exit_date``, ``exit_reason``).
    window : tuple of pandas.Timestamp
        First and last day of the analysis window, both included.
    months : int, default 12
        Longest follow-up after the survey, in months.

    Returns
    -------
    pandas.DataFrame
        One row per linked response (when a clinician holds two spells on the survey date,
        the later hire): ``response_id``, ``clinician_id``, ``site_id``, ``role``,
        ``survey_date``, ``year``, ``burned_out`` (bool), ``time`` (years), ``event``
        (voluntary exit, bool), ``cause`` (exit reason within the follow-up, else None).
    """
    s = survey[survey["clinician_id"].notna() & survey["burnout"].notna()]
    s = s[(s["survey_date"] >= window[0]) & (s["survey_date"] <= window[1])]
    s = s[["response_id", "clinician_id", "survey_date", "burnout"]]
    c = clinicians.loc[
        clinicians["role"].isin(CLINICIAN_ROLES),
        ["clinician_id", "site_id", "role", "hire_date", "exit_date", "exit_reason"],
    ]
    m = s.merge(c, on="clinician_id", how="inner")
    in_post = (m["hire_date"] <= m["survey_date"]) & (
        m["exit_date"].isna() | (m["exit_date"] >= m["survey_date"])
    )
    m = m[in_post].sort_values(["response_id", "hire_date"])
    m = m.drop_duplicates("response_id", keep="last").reset_index(drop=True)
    horizon = m["survey_date"] + pd.DateOffset(months=months) - pd.Timedelta(days=1)
    horizon = horizon.where(horizon < window[1], window[1])
    left = m["exit_date"].notna() & (m["exit_date"] <= horizon)
    end = m["exit_date"].where(left, horizon)
    return pd.DataFrame(
        {
            "response_id": m["response_id"],
            "clinician_id": m["clinician_id"],
            "site_id": m["site_id"],
            "role": m["role"],
            "survey_date": m["survey_date"],
            "year": m["survey_date"].dt.year,
            "burned_out": (m["burnout"].astype(float) >= BURNED_OUT),
            "time": ((end - m["survey_date"]).dt.days + 1) / DAYS_PER_YEAR,
            "event": left & (m["exit_reason"] == "voluntary"),
            "cause": m["exit_reason"].where(left, None),
        }
    )


@dataclass
class LinkedResult:
    hr: float
    ci_low: float
    ci_high: float
    p: float
    log_hr: float
    se: float
    people: int  # clinicians on the smaller side of burned out vs not
    n_responses: int
    n_clinicians: int
    n_events: int
    n_sites: int
    table: pd.DataFrame


def burnout_exit_model(cohort: pd.DataFrame) -> LinkedResult:
    """Cox model of voluntary exit within the follow-up of :func:`linked_cohort` (time since
    the survey), burned out vs not, adjusted for survey year (indicators; years without an exit
    pooled, :func:`calendar_periods`) and stratified by site (each site its own baseline
    hazard). Standard errors are clustered by site (CR1, t(G-1)), which also covers the
    repeated responses of one clinician in different years.

    Parameters
    ----------
    cohort : pandas.DataFrame
        Linked responses (:func:`linked_cohort`): ``clinician_id``, ``site_id``, ``year``,
        ``burned_out``, ``time``, ``event``.

    Returns
    -------
    LinkedResult
        ``hr`` (hazard ratio, burned out vs not), ``ci_low``, ``ci_high`` (95%), ``p``,
        ``log_hr``, ``se``; ``people`` (clinicians on the smaller side), ``n_responses``,
        ``n_clinicians``, ``n_events``, ``n_sites``; ``table`` (every term, as in
        :func:`summarize`).

    Raises
    ------
    helpers.analysis.inference.TooFewSites
        Fewer than ``MIN_SITES`` sites (a ``ValueError``).
    ValueError
        No variation in burnout among the linked responses.
    """
    n_sites = int(cohort["site_id"].nunique())
    require_sites(n_sites, "Cox model of exit after a survey")
    x = pd.DataFrame({"burned_out": cohort["burned_out"].astype(float)}, index=cohort.index)
    period = calendar_periods(cohort["year"], cohort["event"])
    for level in sorted(period.unique())[1:]:
        x[f"year_{level}"] = (period == level).astype(float)
    x = x.loc[:, x.std() > 0]
    if "burned_out" not in x:
        raise ValueError("no variation in burnout among linked responses")
    sites = cohort["site_id"].to_numpy()
    fit = survival.fit_cox(
        x,
        np.zeros(len(cohort)),
        cohort["time"].to_numpy(),
        cohort["event"].to_numpy(bool),
        strata=sites,
    )
    table, coef = summarize(fit, x, sites, cohort["clinician_id"], within_site=True)
    r = table.set_index("term").loc["burned_out"]
    c = coef.set_index("term").loc["burned_out"]
    return LinkedResult(
        float(r["hr"]),
        float(r["ci_low"]),
        float(r["ci_high"]),
        float(r["p"]),
        float(c["log_hr"]),
        float(c["se"]),
        int(r["clinicians"]),
        len(cohort),
        int(cohort["clinician_id"].nunique()),
        int(cohort["event"].sum()),
        n_sites,
        table,
    )


# --- cumulative incidence -------------------------------------------------------------------------
def spells_at_entry(pt: pd.DataFrame) -> pd.DataFrame:
    """One row per spell: tenure at entry to the window and at exit or censoring, the cause
    of an exit, and the management in effect when the spell entered the window.

    Parameters
    ----------
    pt : pandas.DataFrame
        Person-time (:func:`person_time`), pieces of a spell in time order: ``spell``,
        ``start``, ``stop``, ``cause``, ``comp_model``, ``team_based_care``,
        ``clinician_id``, ``site_id``.

    Returns
    -------
    pandas.DataFrame
        One row per spell: ``spell``, ``entry`` and ``exit`` (tenure in years), ``cause``
        (exit reason, or None when censored), ``comp_model``, ``team_based_care`` (on the
        first piece), ``clinician_id``, ``site_id``.

    Examples
    --------
    >>> import pandas as pd
    >>> pt = pd.DataFrame({
    ...     "spell": [0, 0, 1], "clinician_id": ["a", "a", "b"], "site_id": ["s1", "s1", "s2"],
    ...     "start": [2.0, 3.0, 0.0], "stop": [3.0, 3.5, 2.0],
    ...     "cause": [None, "voluntary", None],
    ...     "comp_model": ["rvu_production", "salary", "salary"],
    ...     "team_based_care": [False, True, True]})
    >>> spells_at_entry(pt)[["spell", "entry", "exit", "cause", "comp_model"]]
       spell  entry  exit      cause      comp_model
    0      0    2.0   3.5  voluntary  rvu_production
    1      1    0.0   2.0       None          salary
    """
    first = pt.groupby("spell").first()
    last = pt.groupby("spell").last()
    return pd.DataFrame(
        {
            "entry": first["start"],
            "exit": last["stop"],
            "cause": last["cause"],
            "comp_model": first["comp_model"],
            "team_based_care": first["team_based_care"],
            "clinician_id": first["clinician_id"],
            "site_id": first["site_id"],
        }
    ).reset_index()


def incidence_curves(
    spells: pd.DataFrame,
    by: str,
    min_at_risk: int,
    at: tuple[float, ...] = (0, 2, 5, 10, 15),
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Aalen–Johansen cumulative incidence of voluntary exit (competing: every other exit),
    with delayed entry, for each group of ``by``; each curve stops before the first exit time
    at which fewer than ``min_at_risk`` spells are at risk, and a group of fewer than
    ``min_at_risk`` clinicians gets no curve. Also returns the spells at risk at the tenures
    ``at`` (columns group, tenure_years, at_risk).

    At risk counts distinct clinicians (a clinician rehired can be at risk at one tenure in two
    spells), since the small-cell rule is about people; ``clinicians_at_risk`` is added to
    each curve.

    Parameters
    ----------
    spells : pandas.DataFrame
        Spells (:func:`spells_at_entry`): ``entry``, ``exit``, ``cause``, ``clinician_id``
        and the ``by`` column.
    by : str
        The column to group by (e.g. ``"comp_model"``).
    min_at_risk : int
        Fewest clinicians at risk for a curve to be drawn (the small-cell rule).
    at : tuple of float, default (0, 2, 5, 10, 15)
        Tenures (years) at which to count who is at risk.

    Returns
    -------
    curves : dict of str to pandas.DataFrame
        Group -> its curve, one row per distinct exit time: ``time`` (tenure, years),
        ``at_risk``, ``events`` (voluntary exits), ``competing`` (other exits), ``cif``
        (cumulative incidence of voluntary exit, a proportion), ``surv`` (all-cause
        survival) and ``clinicians_at_risk``.
    at_risk : pandas.DataFrame
        ``group``, ``tenure_years``, ``at_risk`` (distinct clinicians) for every group,
        including those without a curve.
    """
    curves, rows = {}, []
    for level, g in spells.groupby(by, sort=True):
        key = str(level)
        at_risk = clinicians_at_risk(g, at, closed="left")
        rows += [
            {"group": key, "tenure_years": float(t), "at_risk": int(n)}
            for t, n in zip(at, at_risk, strict=True)
        ]
        if g["clinician_id"].nunique() < min_at_risk:
            continue
        cif = survival.cumulative_incidence(g["entry"], g["exit"], g["cause"], "voluntary")
        cif["clinicians_at_risk"] = clinicians_at_risk(g, cif["time"], closed="right")
        low = np.flatnonzero(cif["clinicians_at_risk"].to_numpy() < min_at_risk)
        curves[key] = cif.iloc[: low[0] if len(low) else len(cif)].reset_index(drop=True)
    return curves, pd.DataFrame(rows)


def clinicians_at_risk(spells: pd.DataFrame, times, closed: str = "left") -> np.ndarray:
    """Distinct clinicians with a spell under observation at each tenure (``closed`` as in
    :func:`helpers.analysis.survival.at_risk_at`)."""
    if closed not in ("left", "right"):
        raise ValueError(f"closed must be 'left' or 'right', not {closed!r}")
    e, x = spells["entry"].to_numpy(float), spells["exit"].to_numpy(float)
    who = pd.factorize(spells["clinician_id"])[0]
    out = []
    for t in np.asarray(times, float):
        on = (e <= t) & (t < x) if closed == "left" else (e < t) & (t <= x)
        out.append(len(np.unique(who[on])))
    return np.array(out, dtype=int)
