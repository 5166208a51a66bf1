"""The report: what it says (:mod:`.content`, :mod:`.tables`) and how it is rendered
(:mod:`.render`)."""

from helpers.report.content import DEMO_MARK, ReportError, RunView, quote
from helpers.report.render import build

__all__ = ["DEMO_MARK", "ReportError", "RunView", "build", "quote"]
