import json
from dataclasses import asdict

import pytest

from helpers import catalog
from helpers.analysis.evalue import e_values
from helpers.findings import Registry, adjust_secondary, collect


def test_add_writes_contract_fields(tmp_path):
    reg = Registry(tmp_path, "turnover", min_cell_size=11)
    reg.add(
        "turnover.x",
        "a label",
        1.5,
        (1.2, 1.9),
        unit="hazard ratio",
        n=400,
        n_unit="clinicians",
        method="Cox",
        design="adjusted association",
        n_sites=40,
        events=120,
        p_value=0.004,
    )
    rows = json.loads((tmp_path / "findings" / "turnover.json").read_text())
    assert rows == [
        {
            "id": "turnover.x",
            "label": "a label",
            "estimate": 1.5,
            "ci_low": 1.2,
            "ci_high": 1.9,
            "ci_level": 0.95,
            "unit": "hazard ratio",
            "n": 400,
            "n_unit": "clinicians",
            "method": "Cox",
            "notebook": "turnover",
            "available": True,
            "suppressed": False,
            "note": None,
            "n_sites": 40,
            "n_events": 120,
            "n_switch_sites": None,
            "design": "adjusted association",
            "e_value": pytest.approx(e_values(1.5, (1.2, 1.9), "hazard ratio")[0]),
            "e_value_ci": pytest.approx(e_values(1.5, (1.2, 1.9), "hazard ratio")[1]),
            "p_value": 0.004,
            "p_adjusted": None,
            "primary": False,
            "mde": None,
            "mde_power": None,
        }
    ]


@pytest.mark.parametrize(("people", "suppressed"), [(10, True), (11, False), (None, False)])
def test_small_groups_are_suppressed(tmp_path, people, suppressed):
    reg = Registry(tmp_path, "nb", min_cell_size=11)
    # people=None falls back to n (500 responses)
    f = reg.add(
        "a.b",
        "l",
        0.3,
        (0.2, 0.4),
        unit="share",
        n=500,
        n_unit="responses",
        method="m",
        people=people,
        design="descriptive",
    )
    assert f.suppressed is suppressed
    if suppressed:
        assert (f.estimate, f.ci_low, f.ci_high, f.n) == (None, None, None, None)
        assert "fewer than 11" in f.note
    else:
        assert f.estimate == 0.3


def test_unavailable_and_nan(tmp_path):
    reg = Registry(tmp_path, "nb")
    f = reg.unavailable("b.c", "label", "survey table not provided")
    assert f.available is False and f.estimate is None and f.note == "survey table not provided"
    g = reg.add(
        "b.d",
        "l",
        float("nan"),
        (None, float("inf")),
        unit="u",
        n=50,
        n_unit="x",
        method="m",
        design="descriptive",
    )
    assert g.estimate is None and g.ci_high is None


def test_collect_orders_by_notebook_and_rejects_duplicates(tmp_path):
    Registry(tmp_path, "b").add(
        "b.1", "l", 1, unit="u", n=20, n_unit="x", method="m", design="descriptive"
    )
    Registry(tmp_path, "a").add(
        "a.1", "l", 2, unit="u", n=20, n_unit="x", method="m", design="descriptive"
    )
    doc = collect(tmp_path, synthetic=True, order=["b", "a"])
    assert doc["synthetic_data"] is True
    assert [f["id"] for f in doc["findings"]] == ["b.1", "a.1"]
    Registry(tmp_path, "c").add(
        "a.1", "l", 2, unit="u", n=20, n_unit="x", method="m", design="descriptive"
    )
    with pytest.raises(ValueError, match="two notebooks"):
        collect(tmp_path, synthetic=False)


def test_numbers_about_no_people_are_not_suppressed(tmp_path):
    reg = Registry(tmp_path, "bh", min_cell_size=11)
    f = reg.add(
        "bh.x",
        "scenario",
        4.2,
        unit="departures",
        n=6,
        n_unit="modeled positions",
        method="policy model",
        about_people=False,
        design="policy model",
    )
    assert f.suppressed is False and f.estimate == 4.2


def test_a_notebook_cannot_lower_the_minimum_cell_size(tmp_path):
    from helpers.findings import MIN_CELL_SIZE
    from helpers.notebook import Analysis

    assert MIN_CELL_SIZE == 11
    with pytest.raises(ValueError, match="at least 11"):
        Analysis("x", tmp_path, tmp_path / "out", min_cell_size=5)


@pytest.mark.parametrize(("events", "suppressed"), [(10, True), (11, False), (None, False)])
def test_too_few_events_suppress_a_finding_about_many_people(tmp_path, events, suppressed):
    reg = Registry(tmp_path, "nb", min_cell_size=11)
    f = reg.add(
        "a.rate",
        "l",
        2.0,
        (1.0, 3.0),
        unit="exits per 100 clinician-years",
        n=500,
        n_unit="clinicians",
        method="m",
        events=events,
        design="descriptive",
    )
    assert f.suppressed is suppressed
    assert (f.estimate is None) is suppressed and (f.n_events is None) is (
        events is None or suppressed
    )


def test_an_undeclared_finding_needs_a_design(tmp_path):
    reg = Registry(tmp_path, "nb")
    with pytest.raises(ValueError, match="catalog.yaml"):
        reg.add("a.undeclared", "l", 1.0, unit="u", n=50, n_unit="x", method="m")
    f = reg.add(
        "turnover.hr_rvu_production",
        "l",
        1.6,
        (1.3, 2.0),
        unit="hazard ratio",
        n=50,
        n_unit="clinicians",
        method="m",
    )
    assert f.design == "adjusted association" and f.primary is True


def test_ratio_findings_carry_e_values_others_do_not(tmp_path):
    reg = Registry(tmp_path, "nb")
    odds = reg.add(
        "a.or",
        "l",
        1.8,
        (1.3, 2.5),
        unit="odds ratio",
        n=500,
        n_unit="x",
        method="m",
        design="adjusted association",
        outcome_common=False,
    )
    assert odds.e_value == pytest.approx(1.8 + (1.8 * 0.8) ** 0.5)
    assert odds.e_value_ci == pytest.approx(1.3 + (1.3 * 0.3) ** 0.5)
    crossing = reg.add(
        "a.hr",
        "l",
        0.9,
        (0.7, 1.1),
        unit="hazard ratio",
        n=500,
        n_unit="x",
        method="m",
        design="adjusted association",
    )
    assert crossing.e_value_ci == 1.0
    share = reg.add(
        "a.s",
        "l",
        0.4,
        (0.3, 0.5),
        unit="share",
        n=500,
        n_unit="x",
        method="m",
        design="descriptive",
    )
    assert share.e_value is None and share.e_value_ci is None


def test_secondary_ratio_p_values_are_holm_adjusted_together():
    rows = [
        {"id": "p1", "primary": True, "unit": "hazard ratio", "p_value": 0.01},
        {"id": "s1", "primary": False, "unit": "hazard ratio", "p_value": 0.01},
        {"id": "s2", "primary": False, "unit": "odds ratio", "p_value": 0.04},
        {"id": "s3", "primary": False, "unit": "risk ratio", "p_value": 0.03},
        {"id": "d1", "primary": False, "unit": "share", "p_value": 0.01},
    ]
    adjust_secondary(rows)
    # Holm over the three secondary ratios: 0.01*3, 0.03*2, max(0.04*1, 0.06)
    assert [r.get("p_adjusted") for r in rows] == pytest.approx([None, 0.03, 0.06, 0.06, None])


def test_unavailable_writes_the_whole_record_with_the_catalogs_design(tmp_path):
    reg = Registry(tmp_path / "deep" / "out", "turnover")  # folders are created
    f = reg.unavailable("turnover.hr_rvu_production", "Hazard ratio", "too few sites")
    spec = catalog.findings()["turnover.hr_rvu_production"]
    expected = {
        "id": "turnover.hr_rvu_production",
        "label": "Hazard ratio",
        "estimate": None,
        "ci_low": None,
        "ci_high": None,
        "ci_level": 0.95,
        "unit": "",
        "n": None,
        "n_unit": "",
        "method": "",
        "notebook": "turnover",
        "available": False,
        "suppressed": False,
        "note": "too few sites",
        "n_sites": None,
        "n_events": None,
        "n_switch_sites": None,
        "design": spec.design,
        "e_value": None,
        "e_value_ci": None,
        "p_value": None,
        "p_adjusted": None,
        "primary": True,
        "mde": None,
        "mde_power": None,
    }
    path = tmp_path / "deep" / "out" / "findings" / "turnover.json"
    rows = json.loads(path.read_text(encoding="utf-8"))
    assert rows == [expected] and asdict(f) == expected and spec.primary
    assert path.read_text(encoding="utf-8") == json.dumps(rows, indent=2) + "\n"
    g = reg.unavailable("x.undeclared", "X", "n/a", unit="share", n_unit="people", method="m")
    assert (g.design, g.primary, g.unit, g.n_unit, g.method) == ("", False, "share", "people", "m")


def test_add_keeps_counts_as_given_and_drops_them_when_suppressed(tmp_path):
    reg = Registry(tmp_path, "nb", min_cell_size=11)
    common = dict(unit="share", n_unit="people", method="m", design="adjusted association")
    f = reg.add("a.one", "A", 0.4, (0.3, 0.5), n=None, people=30, n_switch_sites=7.0, **common)
    assert f.n is None and f.n_switch_sites == 7 and isinstance(f.n_switch_sites, int)
    assert f.estimate == 0.4 and f.ci_low == 0.3
    g = reg.add("a.two", "B", 0.4, (0.3, 0.5), n=5, p_value=0.01, **common)
    assert g.suppressed and g.p_value is None and g.n is None and g.estimate is None


def test_a_ratio_of_zero_or_with_half_an_interval_gets_no_interval_e_value(tmp_path):
    reg = Registry(tmp_path, "nb")
    common = dict(
        unit="risk ratio", n=50, n_unit="people", method="m", design="adjusted association"
    )
    zero = reg.add("a.zero", "Z", 0.0, (0.0, 0.5), **common)
    assert zero.e_value is None and zero.e_value_ci is None
    half = reg.add("a.half", "H", 2.0, (1.5, None), **common)
    assert half.e_value == pytest.approx(e_values(2.0, None, "risk ratio")[0])
    assert half.e_value_ci is None


def test_collect_puts_notebooks_outside_the_order_last_by_name(tmp_path):
    common = dict(unit="share", n=50, n_unit="people", method="m", design="adjusted association")
    for nb in ("zeta", "alpha", "turnover", "burnout"):
        Registry(tmp_path, nb).add(f"{nb}.x", nb, 0.5, (0.4, 0.6), **common)
    doc = collect(tmp_path, synthetic=True, order=["turnover", "burnout"])
    assert [f["notebook"] for f in doc["findings"]] == ["turnover", "burnout", "alpha", "zeta"]
    assert doc["synthetic_data"] is True
    assert collect(tmp_path / "nothing", synthetic=False) == {
        "synthetic_data": False,
        "findings": [],
    }
