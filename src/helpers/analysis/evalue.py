"""E-values: how strong unmeasured confounding would have to be to explain an association away.

VanderWeele TJ, Ding P. Sensitivity analysis in observational research: introducing the
E-value. Ann Intern Med. 2017;167(4):268-274. For a risk ratio RR >= 1 the E-value is
RR + sqrt(RR (RR - 1)); a ratio below 1 is inverted first. Odds and hazard ratios of a
common outcome (over about 15%) are first turned into approximate risk ratios: sqrt(OR), and
(1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR)) (the paper's Table 2). For the interval, the
E-value of the limit nearer 1, or 1 when the interval includes 1.
"""

from __future__ import annotations

import math

RATIO_UNITS = ("risk ratio", "rate ratio", "hazard ratio", "odds ratio")


def as_risk_ratio(ratio: float, unit: str, common: bool = True) -> float:
    """The risk ratio an odds, hazard or rate ratio approximates (VanderWeele & Ding, Table 2).

    Rate ratios and odds or hazard ratios of a rare outcome are taken as risk ratios.
    """
    if ratio <= 0:
        raise ValueError(f"a ratio must be positive, got {ratio}")
    if not common or unit in ("risk ratio", "rate ratio"):
        return ratio
    if unit == "odds ratio":
        return math.sqrt(ratio)
    if unit == "hazard ratio":
        return (1 - 0.5 ** math.sqrt(ratio)) / (1 - 0.5 ** math.sqrt(1 / ratio))
    raise ValueError(f"not a ratio unit: {unit!r}")


def e_value(rr: float) -> float:
    """E-value of a risk ratio: RR + sqrt(RR (RR - 1)) after inverting a ratio below 1."""
    if rr <= 0:
        raise ValueError(f"a risk ratio must be positive, got {rr}")
    r = rr if rr >= 1 else 1 / rr
    return r + math.sqrt(r * (r - 1))


def e_values(
    estimate: float, ci: tuple[float, float] | None, unit: str, common: bool = True
) -> tuple[float, float | None]:
    """E-values of a ratio estimate and of its confidence limit nearer 1 (1 if the interval
    includes 1).

    Examples
    --------
    >>> round(e_values(3.9, (1.8, 8.7), "risk ratio")[0], 2)  # VanderWeele & Ding's example
    7.26
    """
    point = e_value(as_risk_ratio(estimate, unit, common))
    if ci is None or ci[0] is None or ci[1] is None:
        return point, None
    low, high = ci
    if low <= 1 <= high:
        return point, 1.0
    near = low if estimate >= 1 else high
    return point, e_value(as_risk_ratio(near, unit, common))
