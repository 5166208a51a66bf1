"""The small-cell rule in one place: what counts as too few, and which model terms compare a
level of a categorical factor with its reference level.

Every publishing path (findings, tables, displays, figures, model terms) asks
:func:`too_few`, so that the rule and its boundary (``min_cell_size`` itself is enough) are the
same everywhere.
"""

from __future__ import annotations

import math

# The smallest group a published number may describe: a run may raise it, never lower it.
MIN_CELL_SIZE = 11
# Prefixes of the indicator columns of the categorical factors in the model designs
# (turnover.design, burnout.design): a term "role_nurse" compares nurses with the reference
# role, not with everyone else.
TERM_FACTORS = ("comp_", "role_", "setting_", "year_")


def too_few(people: float | None, min_cell_size: int, events: float | None = None) -> bool:
    """Whether a number about ``people`` people (and ``events`` events, when it counts events)
    must not be published: fewer than ``min_cell_size`` of either. A missing head count is too
    few; a missing event count means the number counts no events."""
    if people is None or (isinstance(people, float) and math.isnan(people)):
        return True
    if float(people) < min_cell_size:
        return True
    if events is None or (isinstance(events, float) and math.isnan(events)):
        return False
    return float(events) < min_cell_size


def factor_of(term: str) -> str | None:
    """The categorical factor whose indicator ``term`` is (``"role_"`` for ``role_nurse``), or
    ``None`` for a binary practice, a dose or an interaction (``a:b``)."""
    if ":" in term:
        return None
    return next((f for f in TERM_FACTORS if term.startswith(f)), None)
