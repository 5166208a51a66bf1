"""The findings registry: every key number a notebook publishes, in the output contract's shape."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from statsmodels.stats.multitest import multipletests

from helpers import catalog
from helpers.analysis.evalue import RATIO_UNITS, e_values
from helpers.analysis.inference import MDE_POWER
from helpers.cells import MIN_CELL_SIZE, too_few

FINDINGS_DIR = "findings"


@dataclass
class Finding:
    id: str
    label: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    ci_level: float
    unit: str
    n: int | None
    n_unit: str
    method: str
    notebook: str
    available: bool = True
    suppressed: bool = False
    note: str | None = None
    n_sites: int | None = None
    n_events: int | None = None
    n_switch_sites: int | None = None
    design: str = ""
    e_value: float | None = None
    e_value_ci: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    primary: bool = False
    mde: float | None = None
    mde_power: float | None = None


def _clean(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        return None
    return x


class Registry:
    """Collects one notebook's findings and writes them to ``out_dir/findings/<notebook>.json``."""

    def __init__(
        self, out_dir: Path | str, notebook: str, min_cell_size: int = MIN_CELL_SIZE
    ) -> None:
        self.out_dir = Path(out_dir)
        self.notebook = notebook
        self.min_cell_size = int(min_cell_size)
        self.findings: dict[str, Finding] = {}

    def add(
        self,
        id: str,
        label: str,
        estimate: float | None,
        ci: tuple[float | None, float | None] = (None, None),
        *,
        unit: str,
        n: int | None,
        n_unit: str,
        method: str,
        people: int | None = None,
        events: int | None = None,
        n_sites: int | None = None,
        n_switch_sites: int | None = None,
        p_value: float | None = None,
        outcome_common: bool = True,
        design: str | None = None,
        ci_level: float = 0.95,
        note: str | None = None,
        about_people: bool = True,
        mde: float | None = None,
    ) -> Finding:
        """Register one finding; suppress it when it rests on too few people or events.

        Parameters
        ----------
        id, label
            The finding's id (declared in ``catalog.yaml``) and a sentence a reader can quote.
        estimate, ci
            The number and its interval (``ci_level``, default 95%).
        unit, n, n_unit, method
            What the number measures, what it rests on ("1,405 clinicians") and how it was
            computed.
        people
            Distinct people behind the number (defaults to ``n``); fewer than
            ``min_cell_size`` suppresses the finding.
        events
            Events behind the number (exits, burned-out responses); fewer than
            ``min_cell_size`` also suppresses it. Published as ``n_events``.
        n_sites, n_switch_sites
            Sites (clusters) the finding rests on; switching sites for the switch study.
        p_value
            Two-sided P value of a comparison; secondary ratio findings get a Holm-adjusted
            ``p_adjusted`` when the run's findings are collected.
        outcome_common
            Whether the outcome of an odds or hazard ratio is common (over about 15%), which
            decides how its E-value is computed.
        design
            Overrides the design declared in ``catalog.yaml`` (undeclared findings must give it).
        about_people
            ``False`` for a number about no group of people (a published worked example, a
            policy-model scenario): the small-cell rule does not apply.
        mde
            Minimum detectable effect of a comparison (:func:`helpers.analysis.inference.mde`): the
            smallest true ratio (its reciprocal below 1) or difference (either sign) that a
            two-sided 5% test of no effect detects with probability ``mde_power`` (``MDE_POWER``),
            published with the finding (blank when suppressed).

        Returns
        -------
        Finding
            The finding as published (estimate and interval blank when suppressed).

        Examples
        --------
        >>> reg = Registry(tmp, "turnover")  # doctest: +SKIP
        >>> reg.add("turnover.hr_rvu_production", "Hazard ratio of voluntary exit ...", 1.62,
        ...         (1.30, 2.02), unit="hazard ratio", n=1405, n_unit="clinicians",
        ...         method="Cox model ...", events=495, n_sites=50)  # doctest: +SKIP
        """
        people = n if people is None else people
        suppressed = about_people and too_few(people, self.min_cell_size, events)
        spec = catalog.findings().get(id)
        design = design or (spec.design if spec else "")
        if design not in catalog.DESIGNS:
            raise ValueError(f"finding {id!r}: declare its design in catalog.yaml")
        est, low, high = (None, None, None) if suppressed else map(_clean, (estimate, *ci))
        ev = ev_ci = None
        if unit in RATIO_UNITS and est is not None and est > 0:
            ev, ev_ci = e_values(
                est,
                (low, high) if low is not None and high is not None else None,
                unit,
                outcome_common,
            )
        f = Finding(
            id=id,
            label=label,
            estimate=est,
            ci_low=low,
            ci_high=high,
            ci_level=ci_level,
            unit=unit,
            n=None if suppressed else (None if n is None else int(n)),
            n_unit=n_unit,
            method=method,
            notebook=self.notebook,
            available=True,
            suppressed=suppressed,
            note=(
                f"suppressed: rests on fewer than {self.min_cell_size} people or events"
                if suppressed and note is None
                else note
            ),
            n_sites=None if n_sites is None else int(n_sites),
            n_events=None if (suppressed or events is None) else int(events),
            n_switch_sites=None if n_switch_sites is None else int(n_switch_sites),
            design=design,
            e_value=ev,
            e_value_ci=ev_ci,
            p_value=None if suppressed else _clean(p_value),
            primary=bool(spec and spec.primary),
            mde=None if suppressed else _clean(mde),
        )
        f.mde_power = None if f.mde is None else MDE_POWER
        self.findings[id] = f
        self.write()
        return f

    def unavailable(
        self, id: str, label: str, note: str, *, unit: str = "", n_unit: str = "", method: str = ""
    ) -> Finding:
        """Register a finding that could not be computed (``available: false``): its input is
        absent or the data cannot support the model. ``note`` says why, for the reader.

        Parameters
        ----------
        id : str
            The finding's id (declared in ``catalog.yaml``; its design and primary flag are
            taken from there).
        label : str
            A sentence a reader can quote.
        note : str
            Why the finding is not available ("input not provided", "could not be estimated
            on these data (...)").
        unit, n_unit, method : str, default ""
            As in :meth:`add`, when known.

        Returns
        -------
        Finding
            The finding as published: ``available`` false, no estimate, interval or ``n``.

        Examples
        --------
        >>> reg.unavailable("access.tnaa_per_vacant_fte", "Third-next-available days ...",
        ...                 "input not provided")  # doctest: +SKIP
        """
        spec = catalog.findings().get(id)
        f = Finding(
            id=id,
            label=label,
            estimate=None,
            ci_low=None,
            ci_high=None,
            ci_level=0.95,
            unit=unit,
            n=None,
            n_unit=n_unit,
            method=method,
            notebook=self.notebook,
            available=False,
            suppressed=False,
            note=note,
            design=spec.design if spec else "",
            primary=bool(spec and spec.primary),
        )
        self.findings[id] = f
        self.write()
        return f

    def write(self) -> Path:
        path = self.out_dir / FINDINGS_DIR / f"{self.notebook}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = [asdict(f) for f in self.findings.values()]
        path.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
        return path


def collect(out_dir: Path | str, synthetic: bool, order: list[str] | None = None) -> dict:
    """Merge every notebook's findings into the ``findings.json`` document.

    ``order`` lists notebook names; findings follow it, then any others by name.
    """
    folder = Path(out_dir) / FINDINGS_DIR
    files = sorted(folder.glob("*.json")) if folder.exists() else []
    rank = {name: i for i, name in enumerate(order or [])}
    files.sort(key=lambda p: (rank.get(p.stem, len(rank)), p.stem))
    findings: list[dict] = []
    seen: set[str] = set()
    for path in files:
        for row in json.loads(path.read_text(encoding="utf-8")):
            if row["id"] in seen:
                raise ValueError(f"finding {row['id']!r} is registered by two notebooks")
            seen.add(row["id"])
            findings.append(row)
    adjust_secondary(findings)
    return {"synthetic_data": bool(synthetic), "findings": findings}


def adjust_secondary(rows: list[dict]) -> None:
    """Holm-adjust the P values of secondary ratio findings, together, in place.

    Primary findings are a short list declared in advance and are not adjusted.
    """
    idx = [
        i
        for i, r in enumerate(rows)
        if not r.get("primary") and r.get("unit") in RATIO_UNITS and r.get("p_value") is not None
    ]
    if not idx:
        return
    adjusted = multipletests([rows[i]["p_value"] for i in idx], method="holm")[1]
    for i, p in zip(idx, adjusted, strict=True):
        rows[i]["p_adjusted"] = float(p)
