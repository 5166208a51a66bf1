import json

import pytest

from helpers.findings import Registry, collect


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
        "b.d", "l", float("nan"), (None, float("inf")), unit="u", n=50, n_unit="x", method="m"
    )
    assert g.estimate is None and g.ci_high is None


def test_collect_orders_by_notebook_and_rejects_duplicates(tmp_path):
    Registry(tmp_path, "b").add("b.1", "l", 1, unit="u", n=20, n_unit="x", method="m")
    Registry(tmp_path, "a").add("a.1", "l", 2, unit="u", n=20, n_unit="x", method="m")
    doc = collect(tmp_path, synthetic=True, order=["b", "a"])
    assert doc["synthetic_data"] is True
    assert [f["id"] for f in doc["findings"]] == ["b.1", "a.1"]
    Registry(tmp_path, "c").add("a.1", "l", 2, unit="u", n=20, n_unit="x", method="m")
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
        n_unit="modelled positions",
        method="policy model",
        about_people=False,
    )
    assert f.suppressed is False and f.estimate == 4.2


def test_a_notebook_cannot_lower_the_minimum_cell_size(tmp_path):
    from helpers.findings import MIN_CELL_SIZE
    from helpers.notebook import Analysis

    assert MIN_CELL_SIZE == 11
    with pytest.raises(ValueError, match="at least 11"):
        Analysis("x", tmp_path, tmp_path / "out", min_cell_size=5)
