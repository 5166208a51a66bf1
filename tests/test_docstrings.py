"""The functions the notebooks call document their parameters and returns (numpydoc), and the
examples in their modules' docstrings run."""

from __future__ import annotations

import doctest
import importlib
import inspect

import pytest

NOTEBOOK_API = [
    "access.access_window",
    "access.departure_effects",
    "access.departures",
    "access.fe_slope",
    "access.panel",
    "burnout.bootstrap_rr",
    "burnout.correlates",
    "burnout.dose_response",
    "burnout.mean_difference",
    "burnout.mediation",
    "burnout.odds_ratio_table",
    "burnout.people",
    "burnout.prevalence_table",
    "burnout.responses",
    "burnout.standardized",
    "catalog.primary",
    "cost.burnout_attributable_cost",
    "cost.excess_turnover_cost",
    "cost.exits_per_year",
    "cost.hamidi2018",
    "cost.shanafelt2017",
    "cost.turnover_cost",
    "inference.mde",
    "inference.t_p_value",
    "switch.conventional_panel",
    "switch.estimator_table",
    "switch.path_table",
    "switch.plot_path",
    "switch.pretrend_table",
    "switch.switch_analysis",
    "switch.switches",
    "switch.twfe",
    "turnover.burnout_exit_model",
    "turnover.cox_model",
    "turnover.dose_model",
    "turnover.incidence_curves",
    "turnover.linked_cohort",
    "turnover.person_time",
    "turnover.rate_table",
    "turnover.spells_at_entry",
    "workforce.active_by_month",
    "workforce.practice_shares",
    "workforce.site_headcount",
    "notebook.Analysis.figure",
    "notebook.Analysis.table",
    "notebook.Analysis.quote",
    "notebook.Analysis.narrative",
    "notebook.Analysis.ref",
    "notebook.Analysis.direction",
    "notebook.Analysis.guarded",
    "findings.Registry.add",
    "findings.Registry.unavailable",
]
MODULES = sorted({"helpers." + name.split(".")[0] for name in NOTEBOOK_API})


def _resolve(dotted: str):
    module, *attrs = dotted.split(".")
    obj = importlib.import_module(f"helpers.{module}")
    for attr in attrs:
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
