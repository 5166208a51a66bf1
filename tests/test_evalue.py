import math

import pytest

from helpers.analysis.evalue import as_risk_ratio, e_value, e_values


def test_published_example():
    # VanderWeele & Ding 2017: RR 3.9 (95% CI 1.8-8.7) -> E-values 7.26 and 3.00
    point, ci = e_values(3.9, (1.8, 8.7), "risk ratio")
    assert point == pytest.approx(7.26, abs=0.005)
    assert ci == pytest.approx(3.00, abs=0.005)


def test_protective_ratios_are_inverted_and_the_upper_limit_is_used():
    point, ci = e_values(0.5, (0.4, 0.8), "risk ratio")
    assert point == pytest.approx(e_value(2.0)) == pytest.approx(2 + math.sqrt(2))
    assert ci == pytest.approx(e_value(1 / 0.8))


def test_common_outcome_conversions():
    assert as_risk_ratio(4.0, "odds ratio") == pytest.approx(2.0)
    assert as_risk_ratio(4.0, "odds ratio", common=False) == 4.0
    hr = 2.0
    expected = (1 - 0.5 ** math.sqrt(hr)) / (1 - 0.5 ** math.sqrt(1 / hr))
    assert as_risk_ratio(hr, "hazard ratio") == pytest.approx(expected)
    assert as_risk_ratio(1.5, "rate ratio") == 1.5
    assert e_value(1.0) == 1.0
    with pytest.raises(ValueError):
        as_risk_ratio(1.2, "share")


def test_a_ratio_of_zero_or_less_is_refused_with_its_value():
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match=f"a ratio must be positive, got {bad}"):
            as_risk_ratio(bad, "odds ratio")
        with pytest.raises(ValueError, match=f"a risk ratio must be positive, got {bad}"):
            e_value(bad)
    with pytest.raises(ValueError, match="not a ratio unit: 'share'"):
        as_risk_ratio(1.2, "share")


def test_interval_limits_at_one_and_the_limit_nearer_one():
    point = e_value(1.5)
    assert e_values(1.5, (1.0, 2.0), "risk ratio") == (point, 1.0)  # the interval touches 1
    assert e_values(0.8, (0.6, 1.0), "risk ratio") == (e_value(0.8), 1.0)
    # above 1 (and below 2): the lower limit is the one nearer 1
    assert e_values(1.5, (1.2, 1.9), "risk ratio")[1] == pytest.approx(e_value(1.2))
    assert e_values(3.0, None, "risk ratio") == (e_value(3.0), None)
    assert e_values(3.0, (None, 4.0), "risk ratio") == (e_value(3.0), None)
    assert e_values(3.0, (2.0, None), "risk ratio") == (e_value(3.0), None)


def test_odds_ratios_are_taken_as_common_unless_told():
    point, ci = e_values(4.0, (2.25, 9.0), "odds ratio")
    assert point == pytest.approx(e_value(2.0)) and ci == pytest.approx(e_value(1.5))
    point, ci = e_values(4.0, (2.25, 9.0), "odds ratio", common=False)
    assert point == pytest.approx(e_value(4.0)) and ci == pytest.approx(e_value(2.25))
