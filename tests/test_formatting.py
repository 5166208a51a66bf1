import pytest

from helpers.report import formatting as fm
from helpers.report import labels


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (1405, "count", "1,405"),
        (15544000, "count", "15,544,000"),
        (8.6611, "rate", "8.7"),
        (0.41295, "share", "41.3%"),
        (-0.1401, "points", "\u221214.0"),
        (1.62264, "ratio", "1.62"),
        (27_598_605.8, "usd", "$27.6 million"),
        (1.13e9, "usd", "$1.1 billion"),
        (463_066.8, "usd", "$463,067"),
        (-3345.06, "number", "\u22123,345"),
        (2.4737, "number", "2.47"),
        (2017.0, "year", "2017"),
        (0.00001, "p", "<\u00a0.001"),
        (0.0312, "p", ".03"),
        (0.004, "p", ".004"),
        (0.999, "p", ">\u00a0.99"),
        (None, "ratio", ""),
        (float("nan"), "share", ""),
        ("suppressed", "count", "suppressed"),
    ],
)
def test_house_formats(value, kind, expected):
    assert fm.fmt(value, kind) == expected


def test_p_values_and_intervals():
    assert fm.p_value(0.0004) == "P < .001" and fm.p_value(0.25) == "P = .25"
    assert fm.interval(1.3011, 2.0236, "ratio") == "1.30\u20132.02"
    assert fm.interval(-15.27, -14.51, "number") == "\u221215.27 to \u221214.51"
    assert fm.interval(20e6, 35.9e6, "usd") == "$20.0 million to $35.9 million"
    assert fm.interval(810_538, 8.6e6, "usd") == "$0.8 million to $8.6 million"
    assert fm.interval(-69_900, 268_746, "usd") == "\u2212$69,900 to $268,746"
    assert fm.interval(-2.5e9, 1e6, "usd") == "\u2212$2.5 billion to $0.0 billion"
    assert fm.interval(None, 1, "ratio") == ""


def test_units_and_dates():
    assert fm.unit_kind("hazard ratio") == "ratio" and fm.unit_kind("USD per year") == "usd"
    assert fm.unit_kind("something new") == "number"
    assert fm.long_date("2026-11-23") == "November 23, 2026"


def test_labels_name_codes_in_words():
    assert labels.label("rvu_production") == "RVU production pay"
    assert labels.label(True) == "Yes" and labels.label("new_code") == "new code"
    assert labels.column("rate_per_100") == ("Exits per 100 clinician-years", "rate")


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("1.5", "ratio", "1.50"),  # a number read as text is still a number
        (2.5, "text", "2.5"),
        (100, "number", "100"),  # two decimals below 100 only
        (100.4, "number", "100"),
        (99.994, "number", "99.99"),
        (1e9, "usd", "$1.0 billion"),
        (1.25e9 + 1, "usd", "$1.3 billion"),
        (1e6, "usd", "$1.0 million"),
        (1.25e6 + 1, "usd", "$1.3 million"),
        (0, "usd", "$0"),
        (0.4, "usd", "$0"),
        (-5, "usd", "\u2212$5"),
        (-0.4, "usd", "$0"),  # no minus before what rounds to zero
        (-1.2e6, "usd", "\u2212$1.2 million"),
        (-0.0004, "points", "0.0"),
        (-0.0006, "points", "\u22120.1"),
        (-0.04, "rate", "0.0"),
        (-0.4, "count", "0"),
        (-0.0004, "share", "0.0%"),
        (0.001, "p", ".001"),
        (0.01, "p", ".01"),
    ],
)
def test_house_formats_at_their_boundaries(value, kind, expected):
    assert fm.fmt(value, kind) == expected


def test_p_value_boundaries_and_unknown_kinds():
    assert fm.p_value(0.001) == "P = .001" and fm.p_value(0.01) == "P = .01"
    with pytest.raises(ValueError, match="unknown format kind 'x'"):
        fm.fmt(1.0, "x")


def test_interval_says_to_when_either_limit_is_negative():
    assert fm.interval(-1.0, 2.0, "number") == "\u22121.00 to 2.00"
    assert fm.interval(1.0, 2.0, "number") == "1.00\u20132.00"


def test_long_date_of_a_timestamp_string_and_a_date():
    from datetime import date

    assert fm.long_date("2026-11-23 08:00:00") == "November 23, 2026"
    assert fm.long_date(date(2026, 1, 5)) == "January 5, 2026"
    assert fm.unit_kind(None) == "number"
