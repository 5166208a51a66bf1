"""Published reference numbers shipped with the package, each with its citation."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from helpers import paths


@cache
def published() -> dict:
    """The cited published numbers (``reference/published.yaml``)."""
    with open(paths.REFERENCE / "published.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@cache
def replacement_cost_reference() -> dict:
    """Replacement-cost ranges by role with their citation keys
    (``reference/replacement_costs.yaml``)."""
    with open(paths.REFERENCE / "replacement_costs.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def fee_schedule(path: str | Path | None = None) -> pd.DataFrame:
    """RVUs by code: the shipped CY2025 subset, or a CMS relative value file.

    ``path`` may be a CSV with columns ``code``, ``status``, ``work_rvu`` and optionally
    ``nonfacility_total_rvu``, ``facility_total_rvu`` (the shipped layout), or CMS's national
    relative value file (PPRRVU, CSV): its title lines are skipped up to the header row that
    starts with ``HCPCS``, rows with a modifier are dropped, the work RVU column is the first
    whose name mentions ``WORK`` (or is ``RVU``), and the total columns are those whose names
    mention ``TOTAL`` (with ``NON`` for the non-facility total).
    Returns columns ``code`` (str), ``status``, ``work_rvu``, ``nonfacility_total_rvu``,
    ``facility_total_rvu`` (floats; the totals are missing when the file has none).
    """
    path = Path(path) if path else paths.REFERENCE / "cms_pfs_2025_work_rvu.csv"
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        lines = fh.read().splitlines()
    start = next(
        (
            i
            for i, line in enumerate(lines)
            if line.split(",")[0].strip().strip('"').upper() in ("HCPCS", "CODE")
        ),
        None,
    )
    if start is None:
        raise ValueError(f"{path}: no header row starting with HCPCS or code")
    df = pd.read_csv(io.StringIO("\n".join(lines[start:])), dtype=str, keep_default_na=False)
    df.columns = [c.strip().upper() for c in df.columns]
    totals = ("nonfacility_total_rvu", "facility_total_rvu")
    if "WORK_RVU" in df.columns:  # the shipped layout
        out = df.rename(columns={"CODE": "code", "STATUS": "status", "WORK_RVU": "work_rvu"})
        out = out.rename(columns={c.upper(): c for c in totals})
    else:
        if "MOD" in df.columns:
            df = df[df["MOD"].str.strip() == ""]
        work = next((c for c in df.columns if "WORK" in c or c == "RVU"), None)
        status = next((c for c in df.columns if "STATUS" in c), None)
        total = [c for c in df.columns if "TOTAL" in c]
        nonfac = next((c for c in total if "NON" in c), None)
        fac = next((c for c in total if "NON" not in c), None)
        if work is None:
            raise ValueError(f"{path}: no work RVU column")
        out = pd.DataFrame(
            {"code": df["HCPCS"], "status": df[status] if status else "", "work_rvu": df[work]}
        )
        for name, col in zip(totals, (nonfac, fac), strict=True):
            if col is not None:
                out[name] = df[col]
    out["code"] = out["code"].str.strip()
    out["work_rvu"] = pd.to_numeric(out["work_rvu"], errors="coerce").fillna(0.0)
    for name in totals:
        out[name] = pd.to_numeric(out[name], errors="coerce") if name in out else np.nan
    cols = ["code", "status", "work_rvu", *totals]
    return out[cols].drop_duplicates("code").reset_index(drop=True)
