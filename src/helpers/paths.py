"""Project paths, in one place, so that every script and notebook agrees on them."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent.parent
NOTEBOOKS = ROOT / "notebooks"
DATA = ROOT / "data"
DEMO_DATA = DATA / "demo"
REFERENCE = PACKAGE / "data" / "reference"
REPORTS = ROOT / "reports"
DEFAULT_OUT = REPORTS / "build"
INTERACTIVE_OUT = REPORTS / "interactive"
CACHE = ROOT / ".cache"
KERNEL_NAME = "helpers"
