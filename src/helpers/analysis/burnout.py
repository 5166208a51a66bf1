"""Burnout and intent to leave among clinicians: prevalence, adjusted odds and risk ratios by
standardization, the trust difference, dose-response and mediation through burnout.

Every model adjusts for the same set: pay model (reference salary), the three binary
practices, role, setting and survey year (indicators, for calendar shocks). Every interval
is site-clustered: the CR1 sandwich with t(G - 1) limits and P values, and no model on fewer
than ``inference.MIN_SITES`` sites (see :mod:`helpers.analysis.inference`).

Risk ratios and differences are standardized (g-computation): the logistic model predicts
each response under the exposure and under the reference, the predictions are averaged over
all responses, and the two averages are divided or subtracted. Their intervals come from the
influence function of the standardized risks (the model's estimating equations stacked with
the averages), summed within sites: the delta method with the site-cluster covariance,
including the sampling of the responses averaged over.

Survey rows are responses, not people: the same clinician may answer every year and
anonymous responses cannot be linked. :func:`people` counts distinct people conservatively.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

from helpers.analysis import inference
from helpers.analysis.evalue import e_value
from helpers.analysis.rates import wilson_ci
from helpers.cells import factor_of
from helpers.data.contract import CLINICIAN_ROLES

PRACTICES = ("team_based_care", "clinician_in_governance", "admin_shadowing")
COMP_LEVELS = ("rvu_production", "salary_plus_quality", "hybrid")  # reference: salary
REFERENCE = {"comp_model": "salary", "role": "physician", "setting": "primary_care"}
DOSES = ("pct_comp_productivity", "rvu_target_annual", "protected_time_pct")
MANAGEMENT = ("comp_model", *PRACTICES, *DOSES, "support_staff_per_clinician")
ITEMS = ("trust_in_leadership", "teamwork", "control_over_workload")
BURNED_OUT_AT = 3  # Mini-Z single item: 3 or more = burned out
HIGH_INTENT_AT = 4  # intent to leave within two years: 4 or more = high
ADJUSTMENT = (
    "pay model (reference salary), team-based care, clinicians in governance, administrator "
    "shadowing, role, setting and survey year"
)


# -- data ---------------------------------------------------------------------------------------
def responses(survey: pd.DataFrame, management: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """Clinician responses with the site's management in effect on the survey date.

    Adds ``setting``, ``year``, ``burned_out`` (burnout >= 3, 0/1), ``high_intent`` (intent to
    leave >= 4; missing when intent is missing) and the management columns: pay model, the
    practices (0/1), ``pct_comp_productivity``, ``rvu_target_annual``,
    ``protected_time_pct`` and ``support_staff_per_clinician``. Responses at a site with no
    management row in effect are dropped.

    Parameters
    ----------
    survey : pandas.DataFrame
        The ``survey`` table (``site_id``, ``role``, ``survey_date``, ``burnout`` (1-5),
        ``intent_to_leave`` (1-5), ``clinician_id`` where identified, the items). Only
        clinician roles (``CLINICIAN_ROLES``) with a burnout answer are kept.
    management : pandas.DataFrame
        The ``management`` table (``site_id``, ``effective_from``, ``effective_to`` and the
        columns of ``MANAGEMENT``).
    sites : pandas.DataFrame
        The ``sites`` table (``site_id``, ``setting``).

    Returns
    -------
    pandas.DataFrame
        One row per kept response, in survey order: the survey's columns, the management
        columns in effect on ``survey_date``, ``setting``, ``year`` (int), ``burned_out``
        (0/1), ``high_intent`` (0/1, NaN without an answer); practices as 0/1, doses and the
        survey items as float.
    """
    s = survey[survey["role"].isin(CLINICIAN_ROLES) & survey["burnout"].notna()].copy()
    s["row"] = np.arange(len(s))
    m = management[["site_id", "effective_from", "effective_to", *MANAGEMENT]].copy()
    m["to"] = m["effective_to"].fillna(pd.Timestamp.max)
    j = s.merge(m, on="site_id")
    j = j[(j["survey_date"] >= j["effective_from"]) & (j["survey_date"] <= j["to"])]
    j = j.drop_duplicates("row").sort_values("row")
    j["setting"] = j["site_id"].map(sites.set_index("site_id")["setting"])
    j["year"] = j["survey_date"].dt.year.astype(int)
    j["burned_out"] = (j["burnout"].astype(float) >= BURNED_OUT_AT).astype(int)
    intent = j["intent_to_leave"].astype(float)
    j["high_intent"] = np.where(intent.isna(), np.nan, (intent >= HIGH_INTENT_AT).astype(float))
    for col in PRACTICES:
        j[col] = j[col].astype(bool).astype(int)
    for col in (*DOSES, "support_staff_per_clinician"):
        j[col] = j[col].astype(float)
    for col in ITEMS:
        if col in j:
            j[col] = j[col].astype(float)
    return j.drop(columns=["row", "to", "effective_from", "effective_to"]).reset_index(drop=True)


def people(r: pd.DataFrame) -> int:
    """A lower bound on the distinct people behind responses ``r``.

    Identified responses name their clinician; anonymous ones may repeat a person seen in
    another year. A person answers at most once a survey year, so the responses of any one
    year are distinct people, and so are the identified clinicians: the bound is the larger
    of the two, max(distinct clinician_ids, most responses in one survey year).

    Parameters
    ----------
    r : pandas.DataFrame
        Responses (:func:`responses`) with ``clinician_id`` (missing when anonymous) and
        ``year``.

    Returns
    -------
    int
        The lower bound; 0 for no responses.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"clinician_id": ["a", "a", None, None],
    ...                   "year": [2022, 2023, 2023, 2023]})
    >>> people(r)  # one identified clinician; three responses in 2023
    3
    """
    if len(r) == 0:
        return 0
    ids = r["clinician_id"].dropna().nunique()
    return int(max(ids, r.groupby("year").size().max()))


def prevalence_table(r: pd.DataFrame, by: str) -> pd.DataFrame:
    """Share burned out by ``by`` with Wilson 95% intervals, responses, the distinct-people
    lower bound and the burned-out responses (events) of each group.

    Parameters
    ----------
    r : pandas.DataFrame
        Responses (:func:`responses`) with ``burned_out`` (0/1), ``clinician_id``, ``year``
        and the ``by`` column.
    by : str
        The column to group by (e.g. ``"year"``, ``"role"``, ``"comp_model"``).

    Returns
    -------
    pandas.DataFrame
        One row per group, sorted: the ``by`` column, ``responses``, ``people`` (distinct
        people, lower bound: :func:`people`), ``burned_out`` (responses burned out),
        ``share`` (a proportion), ``ci_low``, ``ci_high`` (Wilson 95%).

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"clinician_id": ["a", "a", None, None],
    ...                   "year": [2022, 2023, 2023, 2023], "burned_out": [1, 0, 1, 0]})
    >>> prevalence_table(r, "year").round(3)
       year  responses  people  burned_out  share  ci_low  ci_high
    0  2022          1       1           1  1.000   0.207    1.000
    1  2023          3       3           1  0.333   0.061    0.792
    """
    rows = []
    for key, g in r.groupby(by):
        events = int(g["burned_out"].sum())
        est, low, high = wilson_ci(events, len(g))
        rows.append(
            {
                by: key,
                "responses": len(g),
                "people": people(g),
                "burned_out": events,
                "share": est,
                "ci_low": low,
                "ci_high": high,
            }
        )
    return pd.DataFrame(rows)


# -- design ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Exposure:
    """A comparison: ``column`` set to ``exposed`` vs ``reference`` for every response, or (when
    ``shift`` is given) a numeric ``column`` raised by ``shift`` vs as observed."""

    code: str  # the exposure's name in tables (a labels.VALUES key)
    column: str
    exposed: object = 1
    reference: object = 0
    shift: float | None = None

    def set(self, r: pd.DataFrame, exposed: bool) -> pd.DataFrame:
        if self.shift is not None:
            return r.assign(**{self.column: r[self.column] + (self.shift if exposed else 0.0)})
        return r.assign(**{self.column: self.exposed if exposed else self.reference})

    def sides(self, r: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        """The responses on each side of a binary comparison (``None`` for a shift)."""
        if self.shift is not None:
            return None
        return r[r[self.column] == self.exposed], r[r[self.column] == self.reference]


PAY = {level: Exposure(level, "comp_model", level, "salary") for level in COMP_LEVELS}
PRACTICE = {p: Exposure(p, p) for p in PRACTICES}


def _candidates(r: pd.DataFrame, doses: dict[str, float], interact: str | None) -> dict:
    """Every candidate design column built from ``r`` (reference levels included; the rank
    step in :func:`design` drops what is redundant)."""
    cols: dict[str, np.ndarray] = {"const": np.ones(len(r))}
    comp = r["comp_model"].to_numpy()
    for level in COMP_LEVELS:
        cols[f"comp_{level}"] = (comp == level).astype(float)
    for p in PRACTICES:
        cols[p] = r[p].to_numpy(float)
    for var in ("role", "setting"):
        values = r[var].to_numpy()
        for level in sorted(set(values) - {REFERENCE[var]}):
            cols[f"{var}_{level}"] = (values == level).astype(float)
    years = r["year"].to_numpy()
    for y in sorted(set(years))[1:]:
        cols[f"year_{y}"] = (years == y).astype(float)
    for name, per in doses.items():  # last: a dose must vary beyond the adjustment set
        cols[f"{name}_per"] = r[name].to_numpy(float) / per
    if interact is not None:
        m = r[interact].to_numpy(float)
        cols[interact] = m
        for level in COMP_LEVELS:
            cols[f"comp_{level}:{interact}"] = cols[f"comp_{level}"] * m
    return cols


def design(
    r: pd.DataFrame,
    doses: dict[str, float] | None = None,
    interact: str | None = None,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """The adjustment set's design matrix: intercept, ``doses`` (column -> unit, e.g.
    {"protected_time_pct": 10}), pay model indicators (reference salary), practices, role
    (reference physician), setting (reference primary care), survey-year indicators and,
    with ``interact``, that 0/1 column and its products with the pay-model indicators.

    With ``columns`` (a fitted design's), the same columns are built for ``r`` (a
    counterfactual copy). Otherwise columns without variation or linearly dependent on the
    ones before them are dropped (so a missing reference level costs nothing); a dropped dose
    raises ``ValueError``.
    """
    doses = doses or {}
    cand = _candidates(r, doses, interact)
    if columns is not None:
        return pd.DataFrame({c: cand.get(c, np.zeros(len(r))) for c in columns}, index=r.index)
    keep: list[str] = []
    basis = np.empty((len(r), 0))  # orthonormal basis of the kept columns
    for name, col in cand.items():
        if name != "const" and np.ptp(col) == 0:
            continue
        resid = col - basis @ (basis.T @ col)
        resid = resid - basis @ (basis.T @ resid)  # twice is enough (Kahan-Parlett)
        norm = np.linalg.norm(resid)
        if norm > 1e-8 * max(np.linalg.norm(col), 1.0):
            keep.append(name)
            basis = np.column_stack([basis, resid / norm])
    for name in doses:
        if f"{name}_per" not in keep:
            raise ValueError(f"{name} does not vary apart from the adjustment set")
    return pd.DataFrame({c: cand[c] for c in keep}, index=r.index)


# -- logistic fits, one or many at once -----------------------------------------------------------
def fit_logistic(
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None = None,
    start: np.ndarray | None = None,
    trials: np.ndarray | None = None,
    max_iter: int = 50,
    tol: float = 1e-8,
) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood logistic regressions of ``y`` on ``x``, one per row of ``weights``.

    Newton-Raphson for all weight rows at once (one matrix product forms every Hessian), so
    that a thousand bootstrap refits cost a few matrix products per iteration. ``weights``
    (B x n; default one row of ones) are frequency weights, e.g. how often each response's
    site was drawn. With ``trials``, each row is a cell of identical rows (binomial: ``y``
    successes of ``trials``), which fits the same model on fewer rows. Returns the
    coefficients (B x p) and whether each fit converged (largest step below ``tol`` within
    ``max_iter`` steps, all finite); separated or degenerate fits do not converge. A column
    without weight in a resample keeps its starting value and does not affect that
    resample's predictions; nor do collinear columns, whose coefficients are not identified
    (see :func:`unidentified` for predictions at other rows).
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    n, p = x.shape
    t = np.ones(n) if trials is None else np.asarray(trials, float)
    w = np.ones((1, n)) if weights is None else np.atleast_2d(np.asarray(weights, float))
    b_count = w.shape[0]
    beta = np.zeros((b_count, p)) if start is None else np.tile(np.asarray(start, float), (1, 1))
    if beta.shape[0] == 1 and b_count > 1:
        beta = np.repeat(beta, b_count, axis=0)
    beta = beta.copy()
    iu = np.triu_indices(p)
    outer = x[:, iu[0]] * x[:, iu[1]]  # n x p(p+1)/2: every Hessian in one product
    eye = np.eye(p)
    active = np.ones(b_count, bool)
    converged = np.zeros(b_count, bool)
    for _ in range(max_iter):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        mu = expit(beta[idx] @ x.T)
        wa = w[idx]
        grad = (wa * (y - t * mu)) @ x
        flat = (wa * t * mu * (1 - mu)) @ outer
        hess = np.empty((len(idx), p, p))
        hess[:, iu[0], iu[1]] = flat
        hess[:, iu[1], iu[0]] = flat
        scale = np.maximum(np.trace(hess, axis1=1, axis2=2) / p, 1e-300)
        hess += 1e-10 * scale[:, None, None] * eye  # a weightless column gets no step
        with np.errstate(all="ignore"):
            try:
                step = np.linalg.solve(hess, grad[..., None])[..., 0]
            except np.linalg.LinAlgError:
                step = np.full_like(grad, np.nan)
        beta[idx] += step
        bad = ~np.isfinite(step).all(axis=1)
        done = ~bad & (np.abs(step).max(axis=1) < tol)
        converged[idx[done]] = True
        active[idx[done | bad]] = False
    return beta, converged & np.isfinite(beta).all(axis=1)


def _grams(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted cross-products x' diag(w) x, one per row of ``weights`` (B x p x p)."""
    p = x.shape[1]
    iu = np.triu_indices(p)
    flat = weights @ (x[:, iu[0]] * x[:, iu[1]])  # one matrix product for every resample
    out = np.empty((weights.shape[0], p, p))
    out[:, iu[0], iu[1]] = flat
    out[:, iu[1], iu[0]] = flat
    return out


def unidentified(
    x: np.ndarray,
    weights: np.ndarray,
    counterfactual: Iterable[tuple[np.ndarray, np.ndarray]],
    tol: float = 1e-9,
) -> np.ndarray:
    """Whether a weighted fit leaves predictions at counterfactual rows unidentified: some of
    those rows (with weight) lie outside the span of the rows the model was fitted on (with
    weight), so that collinear columns of the fit (whose coefficients stay where the fit
    started) would move them. Collinearity that no counterfactual row sees is harmless.

    Parameters
    ----------
    x : numpy.ndarray
        The design fitted (n x p).
    weights : numpy.ndarray
        Its frequency weights (B x n).
    counterfactual : iterable of (numpy.ndarray, numpy.ndarray)
        Rows predicted (m x p) and their weights (B x m).
    tol : float, default 1e-9
        Eigenvalues of the cross-products, scaled to a unit diagonal, below ``tol`` times the
        largest count as zero.

    Returns
    -------
    numpy.ndarray
        B booleans.

    Examples
    --------
    Exposure (column 1) and a covariate (column 2) that coincide in the second resample:
    the exposure's effect is not identified there.

    >>> x = np.array([[1.0, 0, 0], [1, 1, 1], [1, 1, 0], [1, 0, 1]])
    >>> w = np.array([[1.0, 1, 1, 1], [1, 1, 0, 0]])
    >>> x1, x0 = x.copy(), x.copy()
    >>> x1[:, 1], x0[:, 1] = 1, 0
    >>> unidentified(x, w, [(x1, w), (x0, w)]).tolist()
    [False, True]
    """
    x = np.asarray(x, float)
    w = np.atleast_2d(np.asarray(weights, float))
    fitted = _grams(x, w)
    both = fitted.copy()
    for xc, wc in counterfactual:
        both += _grams(np.asarray(xc, float), np.atleast_2d(np.asarray(wc, float)))
    diag = np.einsum("bii->bi", both)
    present = diag > 0
    scale = np.where(present, 1 / np.sqrt(np.where(present, diag, 1.0)), 0.0)
    idx = np.arange(x.shape[1])

    def rank(g: np.ndarray) -> np.ndarray:
        g = g * scale[:, :, None] * scale[:, None, :]
        g[:, idx, idx] += ~present  # a column nobody uses counts once on both sides
        eig = np.linalg.eigvalsh(g)
        return (eig > tol * eig[:, -1:]).sum(axis=1)

    return rank(both) > rank(fitted)


def _single_fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    beta, ok = fit_logistic(x, y)
    if not ok[0]:
        raise ValueError("the logistic model did not converge (separation or too few events)")
    return beta[0]


def site_weights(sites: pd.Series | np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """Site multiplicities (resamples x sites, sites in ``pd.factorize`` order) of a
    site-cluster bootstrap drawn by ``inference.site_resamples``: whole sites with
    replacement. A row's frequency weight in a resample is its site's multiplicity."""
    rng = np.random.default_rng(seed)
    codes = pd.factorize(np.asarray(sites))[0]
    first = np.unique(codes, return_index=True)[1]
    n = len(codes)
    return np.vstack(
        [
            np.bincount(idx, minlength=n)[first]
            for idx in inference.site_resamples(sites, resamples, rng)
        ]
    ).astype(float)


@dataclass
class Cells:
    """Responses with the same site and design row pooled into one binomial cell."""

    x: np.ndarray  # cells x p
    trials: np.ndarray
    successes: np.ndarray
    site: np.ndarray  # site code of each cell
    first: np.ndarray  # a response of each cell


def cells(x: np.ndarray, y: np.ndarray, codes: np.ndarray) -> Cells:
    """Pool responses sharing site and design row (a model's predictions cannot tell them
    apart, and bootstrap weights are constant within a site)."""
    _, first, inv = np.unique(
        np.column_stack([codes, x]), axis=0, return_index=True, return_inverse=True
    )
    inv = np.asarray(inv).ravel()
    k = len(first)
    return Cells(
        x[first],
        np.bincount(inv, minlength=k).astype(float),
        np.bincount(inv, weights=np.asarray(y, float), minlength=k),
        codes[first],
        first,
    )


# -- site-clustered inference ---------------------------------------------------------------------
def _cluster_var(phi: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """CR1 variance (or covariance, for a matrix ``phi`` of rows x k) of a sum of per-row
    influence contributions, summed within sites first."""
    g = int(codes.max() + 1)
    sums = np.zeros((g, *phi.shape[1:]))
    np.add.at(sums, codes, phi)
    return inference.cr1(g) * (sums.T @ sums)


@dataclass
class LogisticFit:
    columns: list[str]
    beta: np.ndarray
    cov: np.ndarray  # CR1 site-cluster covariance
    x: np.ndarray
    y: np.ndarray
    codes: np.ndarray  # site codes
    influence: np.ndarray  # rows x p: each row's contribution to beta-hat - beta
    index: pd.Index  # the responses fitted

    @property
    def n_sites(self) -> int:
        return int(self.codes.max() + 1)


def logistic(
    r: pd.DataFrame, outcome: str, doses: dict[str, float] | None = None, interact=None
) -> LogisticFit:
    """Logistic regression of ``outcome`` on the adjustment set with a CR1 site-cluster
    covariance. Requires ``inference.MIN_SITES`` sites."""
    codes = pd.factorize(r["site_id"])[0]
    inference.require_sites(int(codes.max() + 1) if len(r) else 0, f"model of {outcome}")
    xd = design(r, doses, interact)
    x, y = xd.to_numpy(), r[outcome].to_numpy(float)
    beta = _single_fit(x, y)
    mu = expit(x @ beta)
    bread = np.linalg.inv((x * (mu * (1 - mu))[:, None]).T @ x)
    influence = (x * (y - mu)[:, None]) @ bread
    cov = _cluster_var(influence, codes)
    return LogisticFit(list(xd.columns), beta, cov, x, y, codes, influence, r.index)


def comparison_sides(x: pd.DataFrame, term: str) -> tuple[pd.Series, pd.Series]:
    """The responses on each side of the comparison a 0/1 design column makes: a level of a
    categorical factor (pay model, role, setting, survey year: :func:`helpers.cells.factor_of`)
    against the factor's reference level (the rows where every indicator of the factor is 0),
    a practice against none."""
    factor = factor_of(term)
    same = [c for c in x.columns if factor is not None and factor_of(c) == factor] or [term]
    return x[term] != 0, (x[same] == 0).all(axis=1)


def odds_ratio_table(r: pd.DataFrame, fit: LogisticFit) -> pd.DataFrame:
    """Adjusted odds ratios of every model term but the intercept and survey years, with
    t(G-1) intervals and P values; ``people``: the distinct-people lower bound of the
    smaller side of the term's comparison (its group vs the reference group, or with vs
    without a practice: :func:`comparison_sides`) and ``events``: the responses with the
    outcome on the side with fewer.

    Parameters
    ----------
    r : pandas.DataFrame
        The responses the model was fitted on (or a superset: ``fit.index`` selects them),
        with ``clinician_id`` and ``year``.
    fit : LogisticFit
        The adjusted logistic model (:func:`logistic`).

    Returns
    -------
    pandas.DataFrame
        One row per reported term: ``term`` (design column, e.g. ``comp_rvu_production``),
        ``or`` (adjusted odds ratio), ``ci_low``, ``ci_high`` (95%, t(G-1)), ``p``,
        ``people``, ``events``.
    """
    r = r.loc[fit.index]
    x = pd.DataFrame(fit.x, columns=fit.columns, index=r.index)
    y = pd.Series(fit.y, index=r.index)
    se = np.sqrt(np.diag(fit.cov))
    rows = []
    for j, term in enumerate(fit.columns):
        if term == "const" or term.startswith("year_") or term.endswith("_per"):
            continue
        sides = comparison_sides(x, term)
        low, high = inference.t_interval(fit.beta[j], se[j], fit.n_sites)
        rows.append(
            {
                "term": term,
                "or": float(np.exp(fit.beta[j])),
                "ci_low": float(np.exp(low)),
                "ci_high": float(np.exp(high)),
                "p": inference.t_p_value(fit.beta[j], se[j], fit.n_sites),
                "people": min(people(r[s]) for s in sides),
                "events": min(int(y[s].sum()) for s in sides),
            }
        )
    return pd.DataFrame(rows)


# -- standardization ----------------------------------------------------------------------------
@dataclass
class Standardized:
    """A standardized comparison: mean predicted risks under the exposure and the reference,
    their ratio and difference with site-clustered t(G-1) intervals."""

    exposure: str
    risk_exposed: float
    risk_reference: float
    rr: float
    rr_low: float
    rr_high: float
    rd: float
    rd_low: float
    rd_high: float
    p: float  # of log RR = 0, t(G-1)
    se_log_rr: float
    se_rd: float
    n: int
    people: int  # distinct-people lower bound of the smaller side (all responses for a shift)
    events: int  # outcome events on the side with fewer (all events for a shift)
    n_sites: int
    fit: LogisticFit

    def row(self) -> dict:
        return {
            "exposure": self.exposure,
            "risk_exposed": self.risk_exposed,
            "risk_reference": self.risk_reference,
            "risk_ratio": self.rr,
            "ci_low": self.rr_low,
            "ci_high": self.rr_high,
            "risk_difference": self.rd,
            "rd_ci_low": self.rd_low,
            "rd_ci_high": self.rd_high,
            "p": self.p,
            "responses": self.n,
            "people": self.people,
            "events": self.events,
            "sites": self.n_sites,
        }


def standardized_risks(
    fit: LogisticFit, x1: np.ndarray, x0: np.ndarray
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Mean predicted risks under two counterfactual designs and each row's influence on them
    (the row's own prediction about the mean, plus the coefficients' influence through the
    gradient of the mean)."""
    n = len(fit.y)
    out = []
    for xa in (x1, x0):
        p = expit(xa @ fit.beta)
        risk = float(p.mean())
        grad = (xa * (p * (1 - p))[:, None]).mean(axis=0)
        out.append((risk, (p - risk) / n + fit.influence @ grad))
    (r1, phi1), (r0, phi0) = out
    return r1, r0, phi1, phi0


def standardized(
    r: pd.DataFrame,
    exposure: Exposure,
    outcome: str = "burned_out",
    doses: dict[str, float] | None = None,
) -> Standardized:
    """Risk ratio and difference of ``outcome`` by standardization over the responses ``r``:
    every response predicted under the exposure and under the reference by the adjusted
    logistic model, averaged. Intervals: delta method on the influence function, CR1 site
    clustering, t(G-1) (log scale for the ratio).

    Parameters
    ----------
    r : pandas.DataFrame
        Responses (:func:`responses`); rows missing the outcome or a dose are left out.
    exposure : Exposure
        The comparison: a level against a reference (e.g. ``PAY["rvu_production"]``,
        ``PRACTICE["team_based_care"]``) or a numeric column raised by ``shift``.
    outcome : str, default ``"burned_out"``
        A 0/1 column (e.g. ``"high_intent"``).
    doses : dict of str to float, optional
        Numeric columns entered linearly, column -> unit (e.g. ``{"protected_time_pct": 10}``).

    Returns
    -------
    Standardized
        ``exposure`` (its code), ``risk_exposed``, ``risk_reference`` (mean predicted risks),
        ``rr``, ``rr_low``, ``rr_high`` (risk ratio, 95%), ``rd``, ``rd_low``, ``rd_high``
        (risk difference, 95%), ``p`` (of log RR = 0), ``se_log_rr``, ``se_rd``, ``n``
        (responses), ``people`` and ``events`` (of the smaller side, or of all responses for
        a shift), ``n_sites`` and ``fit`` (the :class:`LogisticFit`). ``row()`` gives the
        table row.

    Raises
    ------
    helpers.analysis.inference.TooFewSites
        Fewer than ``MIN_SITES`` sites (a ``ValueError``).
    ValueError
        No responses on one side of a binary comparison, a dose that does not vary apart
        from the adjustment set, or a model that does not converge.
    """
    d = r.dropna(subset=[outcome, *(doses or {})])
    sides = exposure.sides(d)
    if sides is not None and (len(sides[0]) == 0 or len(sides[1]) == 0):
        raise ValueError(f"no responses on one side of {exposure.code}")
    fit = logistic(d, outcome, doses)
    x1 = design(exposure.set(d, True), doses, columns=fit.columns).to_numpy()
    x0 = design(exposure.set(d, False), doses, columns=fit.columns).to_numpy()
    r1, r0, phi1, phi0 = standardized_risks(fit, x1, x0)
    g = fit.n_sites
    se_log = float(np.sqrt(_cluster_var(phi1 / r1 - phi0 / r0, fit.codes)))
    se_rd = float(np.sqrt(_cluster_var(phi1 - phi0, fit.codes)))
    lo, hi = inference.t_interval(np.log(r1 / r0), se_log, g)
    dlo, dhi = inference.t_interval(r1 - r0, se_rd, g)
    if sides is None:
        n_people, events = people(d), int(d[outcome].sum())
    else:
        n_people = min(people(s) for s in sides)
        events = min(int(s[outcome].sum()) for s in sides)
    return Standardized(
        exposure=exposure.code,
        risk_exposed=r1,
        risk_reference=r0,
        rr=r1 / r0,
        rr_low=float(np.exp(lo)),
        rr_high=float(np.exp(hi)),
        rd=r1 - r0,
        rd_low=dlo,
        rd_high=dhi,
        p=inference.t_p_value(np.log(r1 / r0), se_log, g),
        se_log_rr=se_log,
        se_rd=se_rd,
        n=len(d),
        people=n_people,
        events=events,
        n_sites=g,
        fit=fit,
    )


def bootstrap_rr(
    r: pd.DataFrame, exposure: Exposure, resamples: int, seed: int, outcome: str = "burned_out"
) -> tuple[np.ndarray, int]:
    """Standardized risk ratios in site-cluster bootstrap resamples (all refitted at once), and
    how many resamples failed (a side of the comparison absent, no convergence, or the
    comparison not identified: :func:`unidentified`).

    Parameters
    ----------
    r : pandas.DataFrame
        Responses (:func:`responses`); rows missing the outcome are left out.
    exposure : Exposure
        The comparison (as in :func:`standardized`).
    resamples : int
        Site-cluster bootstrap resamples.
    seed : int
        Seed of the resampling.
    outcome : str, default ``"burned_out"``
        A 0/1 column.

    Returns
    -------
    draws : numpy.ndarray
        The risk ratios of the resamples that succeeded.
    failures : int
        Resamples left out.

    Raises
    ------
    helpers.analysis.inference.TooFewSites
        Fewer than ``MIN_SITES`` sites (a ``ValueError``).
    ValueError
        The model on all responses does not converge.
    """
    d = r.dropna(subset=[outcome])
    fit = logistic(d, outcome)
    c = cells(fit.x, fit.y, fit.codes)
    w = site_weights(d["site_id"], resamples, seed)[:, c.site]  # resamples x cells
    beta, ok = fit_logistic(c.x, c.successes, w, start=fit.beta, trials=c.trials)
    x1 = design(exposure.set(d, True), columns=fit.columns).to_numpy()[c.first]
    x0 = design(exposure.set(d, False), columns=fit.columns).to_numpy()[c.first]
    wt = w * c.trials
    sides = exposure.sides(d)
    if sides is not None:
        on = (d[exposure.column] == exposure.exposed).to_numpy()[c.first]
        off = (d[exposure.column] == exposure.reference).to_numpy()[c.first]
        ok &= ((wt * on).sum(axis=1) > 0) & ((wt * off).sum(axis=1) > 0)
    ok &= ~unidentified(c.x, wt, [(x1, wt), (x0, wt)])
    tot = wt.sum(axis=1)
    r1 = (wt * expit(beta @ x1.T)).sum(axis=1) / tot
    r0 = (wt * expit(beta @ x0.T)).sum(axis=1) / tot
    draws = r1 / r0
    ok &= np.isfinite(draws)
    return draws[ok], int((~ok).sum())


def comparisons(
    r: pd.DataFrame, exposures: Iterable[Exposure], outcome: str = "burned_out"
) -> tuple[pd.DataFrame, dict[str, Standardized]]:
    """:func:`standardized` for each exposure: a table (one row each) and the results."""
    res = {e.code: standardized(r, e, outcome) for e in exposures}
    return pd.DataFrame([s.row() for s in res.values()]), res


# -- dose-response --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dose:
    code: str  # table label key
    column: str
    per: float
    model: str  # table label key of the model
    subset: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    without_pay_model: bool = False


DOSE_MODELS = (
    Dose(
        "pct_comp_productivity",
        "pct_comp_productivity",
        10,
        "across_pay_models",
        without_pay_model=True,
    ),  # fmt: skip
    Dose("pct_comp_productivity", "pct_comp_productivity", 10, "within_pay_model"),
    Dose(
        "rvu_target_annual",
        "rvu_target_annual",
        1000,
        "sites_with_target",
        subset=lambda r: r[r["rvu_target_annual"].notna()],
    ),  # fmt: skip
    Dose("protected_time_pct", "protected_time_pct", 10, "adjusted_set"),
)


def dose_response(r: pd.DataFrame, doses: Iterable[Dose] = DOSE_MODELS) -> pd.DataFrame:
    """Risk ratio of burned out for everyone's dose raised by one unit (``per``), by
    standardization, with the dose linear on the logit scale beside the adjustment set.

    ``across_pay_models``: pay-model indicators left out, so the dose describes pay itself;
    ``within_pay_model`` and the others: pay model adjusted. The RVU target is modeled
    among responses at sites with a target only.

    Parameters
    ----------
    r : pandas.DataFrame
        Responses (:func:`responses`); rows missing a model's dose are left out of it.
    doses : iterable of Dose, default ``DOSE_MODELS``
        The models: dose column, unit (``per``), table label and optional subset.

    Returns
    -------
    pandas.DataFrame
        One row per model: ``exposure``, ``per``, ``model``, ``risk_ratio``, ``ci_low``,
        ``ci_high`` (95%), ``p``, ``responses``, ``people``, ``events``, ``sites``.

    Raises
    ------
    helpers.analysis.inference.TooFewSites
        Fewer than ``MIN_SITES`` sites (a ``ValueError``).
    ValueError
        A dose that does not vary apart from the adjustment set, or a model that does not
        converge.
    """
    rows = []
    for dose in doses:
        d = dose.subset(r) if dose.subset else r
        d = d.dropna(subset=[dose.column])
        if dose.without_pay_model:
            d = d.assign(comp_model="salary")  # no pay-model contrast left to adjust for
        s = standardized(
            d,
            Exposure(dose.code, dose.column, shift=dose.per),
            doses={dose.column: dose.per},
        )
        row = s.row()
        row.update({"model": dose.model, "per": dose.per})
        rows.append(row)
    cols = ["exposure", "per", "model", "risk_ratio", "ci_low", "ci_high", "p", "responses"]
    return pd.DataFrame(rows)[[*cols, "people", "events", "sites"]]


# -- linear model: trust ---------------------------------------------------------------------
@dataclass
class Difference:
    exposure: str
    estimate: float
    ci_low: float
    ci_high: float
    se: float
    p: float
    n: int
    people: int
    n_sites: int


def mean_difference(
    r: pd.DataFrame, exposure: str = "admin_shadowing", outcome: str = "trust_in_leadership"
) -> Difference:
    """Adjusted mean difference of ``outcome`` (points), ``exposure`` 1 vs 0, from a linear
    model on the adjustment set; CR1 site-cluster SE, t(G-1) interval and P value.

    Parameters
    ----------
    r : pandas.DataFrame
        Responses (:func:`responses`); rows missing the outcome are left out.
    exposure : str, default ``"admin_shadowing"``
        A 0/1 column of the adjustment set (a design column).
    outcome : str, default ``"trust_in_leadership"``
        A numeric survey item (points).

    Returns
    -------
    Difference
        ``exposure``, ``estimate`` (adjusted mean difference, points), ``ci_low``,
        ``ci_high`` (95%), ``se``, ``p``, ``n`` (responses), ``people`` (smaller side) and
        ``n_sites``.

    Raises
    ------
    helpers.analysis.inference.TooFewSites
        Fewer than ``MIN_SITES`` sites (a ``ValueError``).
    ValueError
        ``exposure`` does not vary apart from the adjustment set.
    """
    d = r.dropna(subset=[outcome])
    codes = pd.factorize(d["site_id"])[0]
    inference.require_sites(int(codes.max() + 1) if len(d) else 0, f"model of {outcome}")
    xd = design(d)
    if exposure not in xd.columns:
        raise ValueError(f"{exposure} does not vary apart from the adjustment set")
    x, y = xd.to_numpy(), d[outcome].to_numpy(float)
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ x.T @ y
    cov = _cluster_var((x * (y - x @ beta)[:, None]) @ bread, codes)
    j = list(xd.columns).index(exposure)
    se = float(np.sqrt(cov[j, j]))
    g = int(codes.max() + 1)
    low, high = inference.t_interval(beta[j], se, g)
    on, off = d[d[exposure] == 1], d[d[exposure] == 0]
    return Difference(
        exposure,
        float(beta[j]),
        low,
        high,
        se,
        inference.t_p_value(beta[j], se, g),
        len(d),
        min(people(on), people(off)),
        g,
    )


# -- mediation ------------------------------------------------------------------------------------
@dataclass
class Mediation:
    """Natural effects of ``exposure`` vs salary on P(high intent to leave) through burnout,
    risk-difference scale, with site-cluster bootstrap percentile intervals."""

    nie: float
    nde: float
    te: float
    share: float
    nie_rr: float  # E[Y(1, M(1))] / E[Y(1, M(0))], for the mediational E-value
    ci: dict[str, tuple[float, float]]
    resamples: int
    failures: int
    n: int
    people: int
    events: int  # high-intent responses on the side with fewer
    n_sites: int

    @property
    def te_excludes_zero(self) -> bool:
        low, high = self.ci["te"]
        return low > 0 or high < 0

    @property
    def e_value_nie(self) -> tuple[float, float]:
        """Mediational E-value (Smith & VanderWeele 2019) of the NIE as a risk ratio, and of
        its interval limit nearer 1 (1 when the interval includes 1)."""
        low, high = self.ci["nie_rr"]
        near = 1.0 if low <= 1 <= high else (low if self.nie_rr >= 1 else high)
        return e_value(self.nie_rr), e_value(near)

    def table(self) -> pd.DataFrame:
        rows = []
        for key in ("nie", "nde", "te"):
            low, high = self.ci[key]
            rows.append(
                {
                    "effect": key,
                    "risk_difference": getattr(self, key),
                    "rd_ci_low": low,
                    "rd_ci_high": high,
                    "people": self.people,
                    "events": self.events,
                }
            )
        return pd.DataFrame(rows)


def _natural_effects(
    bm: np.ndarray, by: np.ndarray, xm: tuple, xy: dict, w: np.ndarray
) -> dict[str, np.ndarray]:
    """NIE, NDE, TE, share and NIE risk ratio by g-computation for each row of coefficients
    ``bm`` (mediator) and ``by`` (outcome) and of weights ``w`` (B x n)."""
    tot = w.sum(axis=1)
    pm1, pm0 = expit(bm @ xm[0].T), expit(bm @ xm[1].T)
    q = {k: expit(by @ v.T) for k, v in xy.items()}  # (a, m) -> B x n

    def mean(v: np.ndarray) -> np.ndarray:
        return (w * v).sum(axis=1) / tot

    y11 = mean(pm1 * q[1, 1] + (1 - pm1) * q[1, 0])  # E[Y(1, M(1))]
    y10 = mean(pm0 * q[1, 1] + (1 - pm0) * q[1, 0])  # E[Y(1, M(0))]
    y00 = mean(pm0 * q[0, 1] + (1 - pm0) * q[0, 0])  # E[Y(0, M(0))]
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "nie": y11 - y10,
            "nde": y10 - y00,
            "te": y11 - y00,
            "share": (y11 - y10) / (y11 - y00),
            "nie_rr": y11 / y10,
        }


def mediation(
    r: pd.DataFrame,
    resamples: int = 1000,
    seed: int = 0,
    exposure: str = "rvu_production",
    mediator: str = "burned_out",
    outcome: str = "high_intent",
) -> Mediation:
    """Natural indirect (through burnout), direct and total effects of ``exposure`` vs salary
    on high intent to leave, by g-computation (VanderWeele 2015, with exposure-mediator
    interaction).

    Mediator model: logistic of burnout on the adjustment set. Outcome model: logistic of
    high intent on the adjustment set, burnout and burnout x pay-model products. For each
    response, P(M = 1 | a*, C) and P(Y = 1 | a, m, C) give E[Y(a, M(a*))] averaged over the
    responses; NIE = E[Y(1, M(1))] - E[Y(1, M(0))], NDE = E[Y(1, M(0))] - E[Y(0, M(0))],
    TE = NIE + NDE, share = NIE / TE. Percentile intervals from ``resamples`` site-cluster
    bootstrap resamples, both models refitted in each; a resample without one side of the
    comparison or whose fits do not converge is a failure, counted and left out.

    Parameters
    ----------
    r : pandas.DataFrame
        Responses (:func:`responses`); rows missing the mediator or the outcome are left out.
    resamples : int, default 1000
        Site-cluster bootstrap resamples.
    seed : int, default 0
        Seed of the resampling.
    exposure : str, default ``"rvu_production"``
        The pay model compared with salary.
    mediator : str, default ``"burned_out"``
        A 0/1 column.
    outcome : str, default ``"high_intent"``
        A 0/1 column.

    Returns
    -------
    Mediation
        ``nie``, ``nde``, ``te`` (risk differences), ``share`` (NIE / TE), ``nie_rr`` (the
        NIE as a risk ratio); ``ci`` (effect name -> 95% percentile interval, for ``nie``,
        ``nde``, ``te``, ``share`` and ``nie_rr``); ``resamples``, ``failures``; ``n``
        (responses), ``people`` and ``events`` (high-intent responses) of the smaller side,
        ``n_sites``. ``table()`` gives the published rows.

    Raises
    ------
    helpers.analysis.inference.TooFewSites
        Fewer than ``MIN_SITES`` sites (a ``ValueError``).
    ValueError
        No responses under ``exposure`` or under salary, or a model that does not converge.
    """
    d = r.dropna(subset=[mediator, outcome])
    codes = pd.factorize(d["site_id"])[0]
    inference.require_sites(int(codes.max() + 1) if len(d) else 0, "mediation")
    on = (d["comp_model"] == exposure).to_numpy()
    off = (d["comp_model"] == "salary").to_numpy()
    if not on.any() or not off.any():
        raise ValueError(f"no responses under {exposure} or under salary")
    xm_d = design(d)
    xy_d = design(d, interact=mediator)
    cm, cy = list(xm_d.columns), list(xy_d.columns)
    m, y = d[mediator].to_numpy(float), d[outcome].to_numpy(float)
    # Pooled cells: the mediator model's (site, covariates, pay model) cells also carry the
    # g-computation; the outcome model's cells add burnout.
    mc = cells(xm_d.to_numpy(), m, codes)
    yc = cells(xy_d.to_numpy(), y, codes)
    xm_cf = tuple(
        design(d.assign(comp_model=a), columns=cm).to_numpy()[mc.first]
        for a in (exposure, "salary")
    )
    xy_cf = {
        (a, mm): design(
            d.assign(comp_model=exposure if a else "salary", **{mediator: mm}),
            interact=mediator,
            columns=cy,
        ).to_numpy()[mc.first]
        for a in (1, 0)
        for mm in (1, 0)
    }
    bm, bm_ok = fit_logistic(mc.x, mc.successes, trials=mc.trials)
    by, by_ok = fit_logistic(yc.x, yc.successes, trials=yc.trials)
    if not (bm_ok[0] and by_ok[0]):
        raise ValueError("the mediator or outcome model did not converge")
    effects = _natural_effects(bm, by, xm_cf, xy_cf, mc.trials[None, :])
    point = {k: float(v[0]) for k, v in effects.items()}
    ws = site_weights(d["site_id"], resamples, seed)
    bmb, okm = fit_logistic(mc.x, mc.successes, ws[:, mc.site], start=bm[0], trials=mc.trials)
    byb, oky = fit_logistic(yc.x, yc.successes, ws[:, yc.site], start=by[0], trials=yc.trials)
    wt = ws[:, mc.site] * mc.trials
    draws = _natural_effects(bmb, byb, xm_cf, xy_cf, wt)
    ok = okm & oky & ((wt * on[mc.first]).sum(axis=1) > 0) & ((wt * off[mc.first]).sum(axis=1) > 0)
    ok &= ~unidentified(mc.x, wt, [(xc, wt) for xc in xm_cf])
    ok &= ~unidentified(yc.x, ws[:, yc.site] * yc.trials, [(xc, wt) for xc in xy_cf.values()])
    for v in draws.values():
        ok &= np.isfinite(v)
    ci = {
        k: tuple(float(q) for q in np.percentile(v[ok], [2.5, 97.5])) if ok.any() else (np.nan,) * 2
        for k, v in draws.items()
    }
    sides = d[on], d[off]
    return Mediation(
        nie=point["nie"],
        nde=point["nde"],
        te=point["te"],
        share=point["share"],
        nie_rr=point["nie_rr"],
        ci=ci,
        resamples=resamples,
        failures=int((~ok).sum()),
        n=len(d),
        people=min(people(s) for s in sides),
        events=min(int(s[outcome].sum()) for s in sides),
        n_sites=int(codes.max() + 1),
    )


# -- survey items -----------------------------------------------------------------------------
def correlates(r: pd.DataFrame, items: Iterable[str] = ITEMS) -> pd.DataFrame:
    """Risk ratio of burned out per point more of each item (everyone's answer one point
    higher vs as given), by standardization with the item linear beside the adjustment set;
    one model per item.

    Parameters
    ----------
    r : pandas.DataFrame
        Responses (:func:`responses`); rows missing an item are left out of its model.
    items : iterable of str, default ``ITEMS``
        Numeric survey items (points).

    Returns
    -------
    pandas.DataFrame
        One row per item: ``item``, ``risk_ratio`` (per point), ``ci_low``, ``ci_high``
        (95%), ``p``, ``responses``, ``people``, ``events``.

    Raises
    ------
    helpers.analysis.inference.TooFewSites
        Fewer than ``MIN_SITES`` sites (a ``ValueError``).
    ValueError
        An item that does not vary apart from the adjustment set, or a model that does not
        converge.
    """
    rows = []
    for item in items:
        d = r.dropna(subset=[item])
        s = standardized(d, Exposure(item, item, shift=1.0), doses={item: 1.0})
        row = s.row()
        rows.append(
            {
                "item": item,
                "risk_ratio": row["risk_ratio"],
                "ci_low": row["ci_low"],
                "ci_high": row["ci_high"],
                "p": row["p"],
                "responses": row["responses"],
                "people": row["people"],
                "events": row["events"],
            }
        )
    return pd.DataFrame(rows)
