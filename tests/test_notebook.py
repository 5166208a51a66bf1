"""Analysis: what a notebook displays, draws and fits goes through the small-cell rule, and a
guarded model fails the notebook on a bug but not on data that cannot support it."""

import copy
import json

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import inference
from helpers.artifacts import SUPPRESSED
from helpers.findings import Registry
from helpers.notebook import MODEL_ERRORS, Analysis
from tests.conftest import make_valid_folder

FID = "turnover.hr_rvu_production"  # a declared finding


@pytest.fixture(scope="module")
def opened(tmp_path_factory):
    folder = tmp_path_factory.mktemp("analysis")
    return Analysis("nb", make_valid_folder(folder / "data"), folder / "out", 11)


@pytest.fixture
def run(opened, tmp_path):
    """The module's Analysis (its data validated once) with a fresh output folder."""
    run = copy.copy(opened)
    run.out_dir = tmp_path / "out"
    run.findings = Registry(run.out_dir, "nb", 11)
    run.saved, run._seq = [], 0
    return run


def _visible(v) -> bool:
    return not (isinstance(v, str) and v == SUPPRESSED)


def _table(people: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"role": ["a", "b", "c"], "clinicians": [people, 40, 50], "rate": [1.5, 2.5, 3.5]}
    )


@pytest.mark.parametrize(("people", "shown"), [(10, False), (11, True)])
def test_a_display_is_suppressed_at_the_boundary(run, people, shown):
    df = _table(people)
    out = run.suppressed(df, "clinicians")
    assert _visible(out.loc[0, "clinicians"]) is shown
    assert _visible(out.loc[0, "rate"]) is shown
    # complementary: the next smallest row goes with it, the largest stays
    assert _visible(out.loc[1, "rate"]) is shown
    assert out.loc[2, "rate"] == 3.5
    assert df.loc[0, "clinicians"] == people  # the input is not changed


@pytest.mark.parametrize(("events", "shown"), [(10, False), (11, True)])
def test_a_display_is_suppressed_by_events(run, events, shown):
    df = _table(100).assign(exits=[events, 40, 50])
    out = run.suppressed(df, "clinicians", events="exits", complementary=None)
    assert _visible(out.loc[0, "exits"]) is shown
    assert _visible(out.loc[0, "clinicians"]) is shown
    assert run.suppressed(df, "clinicians").loc[0, "exits"] == events


@pytest.mark.parametrize(("people", "shown"), [(10, False), (11, True)])
def test_a_saved_table_is_suppressed_at_the_boundary(run, people, shown):
    pub = run.table(_table(people), "tbl-x", caption="c", people="clinicians")
    csv = pd.read_csv(run.out_dir / "tables" / "tbl-x.csv", dtype=str)
    assert _visible(csv.loc[0, "rate"]) is shown
    assert _visible(pub.loc[0, "rate"]) is shown


@pytest.mark.parametrize(("people", "events", "drawn"), [(10, 50, 1), (11, 50, 3), (50, 10, 1)])
def test_a_figure_draws_only_groups_a_table_would_show(run, people, events, drawn):
    df = _table(people).assign(exits=[events, 40, 50])
    assert len(run.drawable(df, "clinicians", events="exits")) == drawn
    assert run.shown(people, events) is (drawn == 3)


@pytest.mark.parametrize(("people", "fitted"), [(10, False), (11, True)])
def test_guarded_fits_only_about_enough_people(run, people, fitted):
    calls = []
    result = run.guarded({FID: "label"}, people, lambda: calls.append(1) or "fit")
    assert (result == "fit") is fitted and bool(calls) is fitted
    f = run.findings.findings.get(FID)
    if fitted:
        assert f is None
    else:
        assert f.suppressed and f.estimate is None


@pytest.mark.parametrize(
    "error",
    [
        inference.TooFewSites("Cox model: 3 site(s); at least 10 are needed"),
        ValueError("no variation"),
        np.linalg.LinAlgError("Singular matrix"),
    ],
)
def test_guarded_reports_a_model_error_as_unavailable(run, error):
    def fit():
        raise error

    assert run.guarded({FID: "label"}, 500, fit) is None
    f = run.findings.findings[FID]
    assert f.available is False and not f.suppressed
    assert type(error).__name__ in f.note and str(error) in f.note
    written = json.loads((run.out_dir / "findings" / "nb.json").read_text())
    assert written[0]["available"] is False


@pytest.mark.parametrize("error", [TypeError, AttributeError, NameError, RuntimeError])
def test_guarded_lets_a_bug_fail_the_notebook(run, error):
    assert not issubclass(error, MODEL_ERRORS)

    def fit():
        raise error("a bug in the analysis")

    with pytest.raises(error, match="a bug"):
        run.guarded({FID: "label"}, 500, fit)
    assert FID not in run.findings.findings
