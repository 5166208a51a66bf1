"""The functions the notebooks call document their parameters and returns (numpydoc), and the
examples in their modules' docstrings run."""

from __future__ import annotations

import doctest
import importlib
import inspect

import pytest

# module (under helpers):attribute, as pkgutil.resolve_name writes them
NOTEBOOK_API = [
    "analysis.access:access_window",
    "analysis.access:departure_effects",
    "analysis.access:departures",
    "analysis.access:fe_slope",
    "analysis.access:panel",
    "analysis.burnout:bootstrap_rr",
    "analysis.burnout:correlates",
    "analysis.burnout:dose_response",
    "analysis.burnout:mean_difference",
    "analysis.burnout:mediation",
    "analysis.burnout:odds_ratio_table",
    "analysis.burnout:people",
    "analysis.burnout:prevalence_table",
    "analysis.burnout:responses",
    "analysis.burnout:standardized",
    "catalog:primary",
    "analysis.cost:burnout_attributable_cost",
    "analysis.cost:excess_turnover_cost",
    "analysis.cost:exits_per_year",
    "analysis.cost:hamidi2018",
    "analysis.cost:shanafelt2017",
    "analysis.cost:turnover_cost",
    "analysis.inference:mde",
    "analysis.inference:t_p_value",
    "analysis.switch:conventional_panel",
    "analysis.switch:estimator_table",
    "analysis.switch:path_table",
    "analysis.switch:plot_path",
    "analysis.switch:pretrend_table",
    "analysis.switch:switch_analysis",
    "analysis.switch:switches",
    "analysis.switch:twfe",
    "analysis.turnover:burnout_exit_model",
    "analysis.turnover:cox_model",
    "analysis.turnover:dose_model",
    "analysis.turnover:incidence_curves",
    "analysis.turnover:linked_cohort",
    "analysis.turnover:person_time",
    "analysis.turnover:rate_table",
    "analysis.turnover:spells_at_entry",
    "analysis.workforce:active_by_month",
    "analysis.workforce:practice_shares",
    "analysis.workforce:site_headcount",
    "notebook:Analysis.figure",
    "notebook:Analysis.table",
    "notebook:Analysis.quote",
    "notebook:Analysis.narrative",
    "notebook:Analysis.ref",
    "notebook:Analysis.direction",
    "notebook:Analysis.guarded",
    "findings:Registry.add",
    "findings:Registry.unavailable",
]
MODULES = sorted({"helpers." + name.split(":")[0] for name in NOTEBOOK_API})


def _resolve(name: str):
    module, attrs = name.split(":")
    obj = importlib.import_module(f"helpers.{module}")
    for attr in attrs.split("."):
        obj = getattr(obj, attr)
    return obj


@pytest.mark.parametrize("name", NOTEBOOK_API)
def test_notebook_functions_have_numpydoc_sections(name):
    doc = inspect.getdoc(_resolve(name)) or ""
    params = [p for p in inspect.signature(_resolve(name)).parameters if p != "self"]
    if params:  # a function without parameters has no Parameters section
        assert "Parameters\n----------" in doc, name
    assert "Returns\n-------" in doc, name


@pytest.mark.parametrize("module", MODULES)
def test_the_examples_in_the_docstrings_run(module, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    found = doctest.testmod(
        importlib.import_module(module),
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert found.failed == 0
