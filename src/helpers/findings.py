"""The findings registry: every key number a notebook publishes, in the output contract's shape."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

FINDINGS_DIR = "findings"
# The smallest group a published number may describe: a run may raise it, never lower it.
MIN_CELL_SIZE = 11


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
        ci_level: float = 0.95,
        note: str | None = None,
        about_people: bool = True,
    ) -> Finding:
        """Register a finding; suppress it when it rests on fewer than ``min_cell_size`` people.

        ``people`` is the number of distinct people behind the number (defaults to ``n``).
        ``about_people=False`` marks a number that describes no group of people (a published
        worked example, a policy-model scenario); the small-cell rule does not apply to it.
        """
        people = n if people is None else people
        suppressed = about_people and (people is None or int(people) < self.min_cell_size)
        f = Finding(
            id=id,
            label=label,
            estimate=None if suppressed else _clean(estimate),
            ci_low=None if suppressed else _clean(ci[0]),
            ci_high=None if suppressed else _clean(ci[1]),
            ci_level=ci_level,
            unit=unit,
            n=None if suppressed else (None if n is None else int(n)),
            n_unit=n_unit,
            method=method,
            notebook=self.notebook,
            available=True,
            suppressed=suppressed,
            note=(
                f"suppressed: rests on fewer than {self.min_cell_size} people"
                if suppressed and note is None
                else note
            ),
        )
        self.findings[id] = f
        self.write()
        return f

    def unavailable(
        self, id: str, label: str, note: str, *, unit: str = "", n_unit: str = "", method: str = ""
    ) -> Finding:
        """Register a finding whose input is absent (``available: false``)."""
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
    return {"synthetic_data": bool(synthetic), "findings": findings}
