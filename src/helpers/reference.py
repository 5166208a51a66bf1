"""Published reference numbers shipped with the package, each with its citation."""

from __future__ import annotations

from functools import cache

import pandas as pd
import yaml

from helpers import paths


@cache
def published() -> dict:
    """The cited published numbers (``reference/published.yaml``)."""
    with open(paths.REFERENCE / "published.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def fee_schedule(path: str | None = None) -> pd.DataFrame:
    """Work RVUs by code: the shipped CY2025 subset, or a full CMS relative value file.

    Columns: ``code`` (str), ``status``, ``work_rvu`` (float).
    """
    df = pd.read_csv(path or paths.REFERENCE / "cms_pfs_2025_work_rvu.csv", dtype={"code": str})
    df.columns = [c.strip().lower() for c in df.columns]
    return df[["code", "status", "work_rvu"]]
