"""The verdict on a claim from its finding: every branch with its stated reason, and the
boundaries where an interval touches no difference."""

from __future__ import annotations

import pytest

from helpers.catalog import VERDICTS, null_value, verdict

RATIO = {"unit": "hazard ratio", "ci_low": 1.3, "ci_high": 2.0, "available": True}
SHARE = {"unit": "share", "ci_low": -0.16, "ci_high": -0.12, "available": True}
YES = (VERDICTS[0], "the interval excludes no difference in the claimed direction")
NO = (VERDICTS[1], "the interval excludes no difference in the other direction")
OPEN = (VERDICTS[2], "the interval includes no difference")


@pytest.mark.parametrize(
    ("unit", "null"),
    [("hazard ratio", 1.0), ("Odds Ratio", 1.0), ("share", 0.0), ("", 0.0), (None, 0.0)],
)
def test_no_difference_is_one_for_ratios_and_zero_otherwise(unit, null):
    assert null_value(unit) == null


@pytest.mark.parametrize(
    ("finding", "expect", "result"),
    [
        (RATIO, "above", YES),
        (RATIO, "below", NO),
        ({**RATIO, "ci_low": 0.5, "ci_high": 0.9}, "below", YES),
        ({**RATIO, "ci_low": 0.5, "ci_high": 0.9}, "above", NO),
        ({**RATIO, "ci_low": 1.0}, "above", OPEN),
        ({**RATIO, "ci_low": 0.5, "ci_high": 1.0}, "below", OPEN),
        (SHARE, "below", YES),
        ({**SHARE, "ci_high": 0.0}, "below", OPEN),
        ({**SHARE, "ci_low": 0.0, "ci_high": 0.1}, "above", OPEN),
        ({**SHARE, "ci_low": 0.01, "ci_high": 0.1}, "above", YES),
        ({"ci_low": 0.5, "ci_high": 0.9}, "above", YES),
        (None, "above", (VERDICTS[3], "the analysis did not run")),
        (
            {**RATIO, "available": False, "note": "survey not provided"},
            "above",
            (VERDICTS[3], "survey not provided"),
        ),
        ({**RATIO, "available": False, "note": None}, "above", (VERDICTS[3], "input not provided")),
        ({**RATIO, "suppressed": True}, "above", (VERDICTS[3], "too few people to publish")),
        ({**RATIO, "ci_low": None}, "above", (VERDICTS[3], "no interval")),
        ({**RATIO, "ci_high": None}, "above", (VERDICTS[3], "no interval")),
        ({k: v for k, v in RATIO.items() if k != "available"}, "above", YES),
    ],
)
def test_verdict_every_branch(finding, expect, result):
    assert verdict(finding, expect) == result


def test_verdict_names():
    assert VERDICTS == (
        "consistent with the claim",
        "not consistent with the claim",
        "inconclusive",
        "not testable",
    )
