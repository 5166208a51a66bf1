"""Numbers as a journal prints them (house style): thousands separators, shares as percentages
with one decimal, ratios with two, money with ``$`` and a unit, P values as "P < .001", and an
en dash between interval limits. The same quantity gets the same decimals everywhere.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

DASH = "\u2013"  # en dash between interval limits
MINUS = "\u2212"  # a typeset minus sign

# format kind of a finding's unit, by the first rule whose words the unit contains
UNIT_RULES: tuple[tuple[str, str], ...] = (
    ("usd", "usd"),
    ("ratio", "ratio"),
    ("percentage points", "points"),
    ("per 100", "rate"),
    ("months per", "rate"),
    ("exits per year", "rate"),
    ("departures", "rate"),
    ("visits per departed", "count"),
)
UNIT_KINDS = {"share": "share", "visits": "count", "points": "number"}


def _missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return False


def _signed(text: str) -> str:
    """A typographic minus, and none before a value that rounds to zero ("-0.0" is "0.0")."""
    if not text.startswith("-"):
        return text
    if not any(c in "123456789" for c in text):
        return text[1:]
    return MINUS + text[1:]


def usd(x: float, scale: float | None = None) -> str:
    """Money with ``$`` and a unit: $27.6 million, $1.13 billion, $463,067. ``scale`` chooses
    the unit by another amount (an interval's larger limit) instead of ``x`` itself."""
    a = abs(x)
    by = a if scale is None else abs(scale)
    if by >= 1e9:
        text = f"${a / 1e9:,.1f} billion"
    elif by >= 1e6:
        text = f"${a / 1e6:,.1f} million"
    else:
        text = f"${a:,.0f}"
    return _signed("-" + text) if x < 0 else text


def p_value(p: float) -> str:
    """JAMA style: P < .001, P = .03, P = .25 (no leading zero)."""
    if p < 0.001:
        return "P < .001"
    text = f"{p:.3f}" if p < 0.01 else f"{p:.2f}"
    return "P = " + text.lstrip("0") if not text.startswith("1") else "P > .99"


def fmt(x: Any, kind: str) -> str:
    """One value in a format kind: count, rate, share, points, ratio, number, usd, p, year,
    text. Missing values are an empty string; text (e.g. "suppressed") passes through."""
    if _missing(x):
        return ""
    if kind == "text" or isinstance(x, str) and not _numeric(x):
        return str(x)
    v = float(x)
    if kind == "count":
        return _signed(f"{v:,.0f}")
    if kind == "year":
        return f"{v:.0f}"
    if kind == "rate":
        return _signed(f"{v:,.1f}")
    if kind == "share":
        return _signed(f"{100 * v:.1f}%")
    if kind == "points":
        return _signed(f"{100 * v:.1f}")
    if kind == "ratio":
        return f"{v:.2f}"
    if kind == "usd":
        return usd(v)
    if kind == "p":
        # "< .001" kept on one line in a narrow column (a no-break space)
        return p_value(v).removeprefix("P = ").removeprefix("P ").replace(" ", "\u00a0")
    if kind == "number":
        return _signed(f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}")
    raise ValueError(f"unknown format kind {kind!r}")


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def interval(low: Any, high: Any, kind: str) -> str:
    """Two interval limits as "1.30–2.02" (with "to" when a limit is negative)."""
    if _missing(low) or _missing(high):
        return ""
    if kind == "usd":  # both limits in the unit of the larger: $0.8 million to $8.6 million
        scale = max(abs(float(low)), abs(float(high)))
        return f"{usd(float(low), scale)} to {usd(float(high), scale)}"
    a, b = fmt(low, kind), fmt(high, kind)
    joiner = " to " if a.startswith(MINUS) or b.startswith(MINUS) else DASH
    return f"{a}{joiner}{b}"


def unit_kind(unit: str) -> str:
    """The format kind of a finding's unit ("number" when no rule applies)."""
    u = (unit or "").lower()
    if u in UNIT_KINDS:
        return UNIT_KINDS[u]
    return next((kind for words, kind in UNIT_RULES if words in u), "number")


def long_date(d: date | str) -> str:
    """November 23, 2026."""
    d = date.fromisoformat(str(d)[:10]) if not isinstance(d, date) else d
    return f"{d:%B} {d.day}, {d.year}"
