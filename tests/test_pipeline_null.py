"""The demonstration organization with every effect of RVU production pay set to none: the
verdicts and the key points must say the data show no clear association (its own file, so that
the test runner can run it beside the main pipeline test)."""

from __future__ import annotations

import pytest

from helpers import catalog, paths
from helpers.data import demo
from helpers.pipeline.run import Runner
from helpers.report.content import RunView

pytestmark = pytest.mark.slow


def test_with_no_rvu_effect_claim_one_is_inconclusive_and_the_key_points_say_so(tmp_path):
    """The demonstration organization simulated with every effect of RVU production pay set to
    none: the findings that test claim 1 come out inconclusive (their intervals include no
    difference) and the key points say the data do not show an association, not that one
    was found."""
    import dataclasses
    import shutil

    from helpers.report import content

    data = tmp_path / "demo"
    demo.generate(data, realism=dataclasses.replace(demo.Realism(), rvu_effect=False))
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name in ("02_turnover.ipynb", "04_burnout.ipynb"):
        shutil.copy2(paths.NOTEBOOKS / name, notebooks / name)
    out = tmp_path / "out"
    log = (tmp_path / "log.txt").open("w")
    runner = Runner(data, out, cache_dir=tmp_path / "cache", log=log, report=False,
                    require_findings=False, notebook_dir=notebooks)  # fmt: skip
    assert runner.run() == 0, (tmp_path / "log.txt").read_text()
    rv = RunView(out)
    claim = next(c for c in catalog.claims() if c.number == 1)
    for test in claim.tests:
        f = rv.findings[test.finding]
        assert catalog.verdict(f, test.expect)[0] == "inconclusive", (test.finding, f)
    meaning = content.meaning(rv)
    assert meaning.startswith("These data do not show a clear association")
    assert "was associated with more voluntary departures" not in meaning
