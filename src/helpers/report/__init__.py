"""The report: what it says (:mod:`.content`, :mod:`.tables`) and how it is rendered
(:mod:`.render`); the words and number formats shared with the notebooks (:mod:`.labels`,
:mod:`.formatting`).

The names below are loaded on first use, so that a notebook importing
:mod:`helpers.report.labels` does not import the renderer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from helpers.report.content import DEMO_MARK, ReportError, RunView, quote
    from helpers.report.render import build

_LAZY = {
    "DEMO_MARK": "helpers.report.content",
    "ReportError": "helpers.report.content",
    "RunView": "helpers.report.content",
    "quote": "helpers.report.content",
    "build": "helpers.report.render",
}

__all__ = ["DEMO_MARK", "ReportError", "RunView", "build", "quote"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
