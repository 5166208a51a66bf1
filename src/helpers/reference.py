"""Published reference numbers shipped with the package, each with its citation."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import pandas as pd
import yaml

from helpers import paths


@cache
def published() -> dict:
    """The cited published numbers (``reference/published.yaml``)."""
    with open(paths.REFERENCE / "published.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def fee_schedule(path: str | Path | None = None) -> pd.DataFrame:
    """Work RVUs by code: the shipped CY2025 subset, or a CMS relative value file.

    ``path`` may be a CSV with columns ``code``, ``status``, ``work_rvu`` (the shipped layout)
    or CMS's national relative value file (PPRRVU, CSV): its title lines are skipped up to the
    header row that starts with ``HCPCS``, rows with a modifier are dropped, and the work RVU
    column is the first whose name mentions ``WORK`` (or is ``RVU``).
    Returns columns ``code`` (str), ``status``, ``work_rvu`` (float).
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
    if "WORK_RVU" in df.columns:  # the shipped layout
        out = df.rename(columns={"CODE": "code", "STATUS": "status", "WORK_RVU": "work_rvu"})
    else:
        if "MOD" in df.columns:
            df = df[df["MOD"].str.strip() == ""]
        work = next((c for c in df.columns if "WORK" in c or c == "RVU"), None)
        status = next((c for c in df.columns if "STATUS" in c), None)
        if work is None:
            raise ValueError(f"{path}: no work RVU column")
        out = pd.DataFrame(
            {"code": df["HCPCS"], "status": df[status] if status else "", "work_rvu": df[work]}
        )
    out["code"] = out["code"].str.strip()
    out["work_rvu"] = pd.to_numeric(out["work_rvu"], errors="coerce").fillna(0.0)
    return out[["code", "status", "work_rvu"]].drop_duplicates("code").reset_index(drop=True)
