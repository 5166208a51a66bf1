"""The run's provenance record (``manifest.json``)."""

from __future__ import annotations

import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from helpers import __version__, paths

KEY_PACKAGES = (
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "lifelines",
    "pandera",
    "duckdb",
    "pyarrow",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbclient",
    "ipykernel",
    "pypandoc-binary",
    "typst",
    "openpyxl",
    "pyyaml",
)
# Fields that change on every run without changing any result.
VOLATILE = ("created_at", "notebooks", "report_engine_seconds")


def git_state(root: Path = paths.ROOT) -> dict[str, Any]:
    """Commit and dirty flag of the code, or nulls outside a git checkout."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain") if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def package_versions() -> dict[str, str]:
    """Versions of every installed distribution (key packages first)."""
    found = {d.metadata["Name"].lower(): d.version for d in metadata.distributions()}
    key = {p: found[p] for p in KEY_PACKAGES if p in found}
    rest = {p: found[p] for p in sorted(found) if p not in key}
    return {**key, **rest}


def build(
    *,
    data_dir: Path,
    dataset_name: str,
    synthetic: bool,
    window: tuple[Any, Any],
    inputs: list[dict[str, Any]],
    parameters: dict[str, Any],
    notebooks: list[dict[str, Any]],
) -> dict[str, Any]:
    """Assemble the manifest document."""
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code": {"name": "helpers", "version": __version__, **git_state()},
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "platform": platform.platform(),
        "packages": package_versions(),
        "synthetic_data": bool(synthetic),
        "data": {
            "name": dataset_name,
            "folder": str(data_dir),
            "window": {"start": str(window[0])[:10], "end": str(window[1])[:10]},
            "inputs": inputs,
        },
        "parameters": parameters,
        "notebooks": notebooks,
    }


def stable_view(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest without the fields that change on every run."""
    return {k: v for k, v in manifest.items() if k not in VOLATILE}
