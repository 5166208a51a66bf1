"""The findings and claims declared in ``catalog.yaml``, and the rule that turns a finding into
a verdict on a claim.

One declaration serves the findings registry (design, primary), the runner (required
findings) and the report (the claims table and key points).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from helpers import paths

DESIGNS = (
    "descriptive",
    "adjusted association",
    "before-after comparison",
    "policy model",
    "published example",
)
VERDICTS = (
    "consistent with the claim",
    "not consistent with the claim",
    "inconclusive",
    "not testable",
)


@dataclass(frozen=True)
class FindingSpec:
    id: str
    design: str
    short: str
    required: bool = False
    primary: bool = False


@dataclass(frozen=True)
class Test:
    finding: str
    expect: str  # "above" or "below" no difference


@dataclass(frozen=True)
class Claim:
    number: int
    title: str
    text: str
    tests: tuple[Test, ...]


@cache
def _doc() -> dict[str, Any]:
    return yaml.safe_load((paths.PACKAGE / "catalog.yaml").read_text(encoding="utf-8"))


@cache
def findings() -> dict[str, FindingSpec]:
    """Every declared finding by id."""
    out = {}
    for fid, spec in _doc()["findings"].items():
        if spec["design"] not in DESIGNS:
            raise ValueError(f"catalog.yaml: {fid}: unknown design {spec['design']!r}")
        out[fid] = FindingSpec(id=fid, **spec)
    return out


def required() -> tuple[str, ...]:
    """The findings the output contract requires, in declaration order."""
    return tuple(f.id for f in findings().values() if f.required)


def primary() -> tuple[str, ...]:
    """The declared primary findings.

    The declarations are read from the package's ``catalog.yaml`` (once, then cached); the
    function takes no parameters.

    Returns
    -------
    tuple of str
        The ids of the findings declared ``primary: true``, in declaration order (their P
        values are left out of the Holm adjustment,
        :func:`helpers.findings.adjust_secondary`).

    Examples
    --------
    >>> "turnover.hr_rvu_production" in primary()
    True
    >>> set(primary()) <= set(findings())
    True
    """
    return tuple(f.id for f in findings().values() if f.primary)


@cache
def claims() -> tuple[Claim, ...]:
    out = []
    for c in _doc()["claims"]:
        tests = tuple(Test(**t) for t in c["tests"])
        for t in tests:
            if t.finding not in findings():
                raise ValueError(f"catalog.yaml: claim {c['number']} tests undeclared {t.finding}")
            if t.expect not in ("above", "below"):
                raise ValueError(f"catalog.yaml: claim {c['number']}: expect must be above/below")
        out.append(Claim(c["number"], c["title"], " ".join(c["text"].split()), tests))
    return tuple(out)


def null_value(unit: str) -> float:
    """The value of 'no difference' on a finding's scale: 1 for ratios, 0 otherwise."""
    return 1.0 if "ratio" in (unit or "").lower() else 0.0


def verdict(finding: dict[str, Any] | None, expect: str) -> tuple[str, str]:
    """The verdict on a claim from one finding, and why.

    *consistent with the claim*: the interval excludes no difference, in the claimed
    direction; *not consistent with the claim*: it excludes no difference the other way;
    *inconclusive*: the interval includes no difference; *not testable*: the finding could not
    be estimated (the reason is returned).
    """
    if finding is None:
        return VERDICTS[3], "the analysis did not run"
    if not finding.get("available", True):
        return VERDICTS[3], finding.get("note") or "input not provided"
    if finding.get("suppressed"):
        return VERDICTS[3], "too few people to publish"
    low, high = finding.get("ci_low"), finding.get("ci_high")
    if low is None or high is None:
        return VERDICTS[3], "no interval"
    null = null_value(finding.get("unit", ""))
    if low <= null <= high:
        return VERDICTS[2], "the interval includes no difference"
    above = low > null
    if above == (expect == "above"):
        return VERDICTS[0], "the interval excludes no difference in the claimed direction"
    return VERDICTS[1], "the interval excludes no difference in the other direction"
