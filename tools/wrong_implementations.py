"""Plausible wrong implementations of the interval, privacy and failure-path code, each of
which the fast tests must catch (``make mutants`` runs this first; TESTING.md).

mutmut's operators change one token at a time; the mistakes that survived in the past were
wrong methods (a Wald interval on the ratio scale, model-based standard errors, resampling
rows instead of sites). Each entry here is such a mistake, written out: the script applies it
to a temporary copy of the project, runs the tests named with it, and reports whether they
failed (caught) or passed (survived).

    python tools/wrong_implementations.py          # all
    python tools/wrong_implementations.py cox-z    # some, by id
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
Z = "1.959963984540054"


@dataclass(frozen=True)
class Wrong:
    id: str
    what: str
    path: str  # under src/helpers
    edits: tuple[tuple[str, str], ...]  # (exact text, its replacement), each found once
    tests: tuple[str, ...]  # pytest arguments


WRONG: tuple[Wrong, ...] = (
    # --- privacy ------------------------------------------------------------------------------
    Wrong(
        "cells-boundary",
        "min_cell_size people are suppressed (<= instead of <)",
        "cells.py",
        (("if float(people) < min_cell_size:", "if float(people) <= min_cell_size:"),),
        ("tests/test_cells.py", "-k", "boundary"),
    ),
    Wrong(
        "cells-events-ignored",
        "an event count is never checked",
        "cells.py",
        (("return float(events) < min_cell_size", "return False"),),
        ("tests/test_cells.py", "-k", "boundary"),
    ),
    Wrong(
        "table-no-complement",
        "a single suppressed row is not joined by another (its count recoverable from a total)",
        "artifacts.py",
        (("small = _complementary_rows(small, p, e, min_cell_size)", "pass"),),
        ("tests/test_artifacts.py",),
    ),
    # --- failure paths ------------------------------------------------------------------------
    Wrong(
        "guarded-catches-all",
        "Analysis.guarded turns every exception, bugs included, into an unavailable finding",
        "notebook.py",
        (("        except MODEL_ERRORS as exc:", "        except Exception as exc:"),),
        ("tests/test_notebook.py",),
    ),
    Wrong(
        "publish-not-restored",
        "publish leaves OUT missing when the second rename fails",
        "pipeline/publish.py",
        (("            old.rename(out)\n        raise", "            pass\n        raise"),),
        ("tests/test_runner_publish.py", "tests/test_runner.py", "-k", "publish and not run_"),
    ),
    Wrong(
        "publish-no-exchange",
        "publish removes OUT before the new folder is in place (no atomic swap)",
        "pipeline/publish.py",
        (("if out.exists() and _exchange(build, out):", "if out.exists() and False:"),),
        ("tests/test_runner_publish.py", "tests/test_runner.py", "-k", "publish and not run_"),
    ),
    # --- intervals ----------------------------------------------------------------------------
    Wrong(
        "t-as-z",
        "site-clustered intervals use the normal quantile instead of t(G-1)",
        "analysis/inference.py",
        (
            (
                "q = stats.t.ppf(0.5 + level / 2, n_clusters - 1)",
                "q = stats.norm.ppf(0.5 + level / 2)",
            ),
        ),
        ("tests/test_inference.py",),
    ),
    Wrong(
        "t-g-dof",
        "t with G instead of G-1 degrees of freedom",
        "analysis/inference.py",
        (
            (
                "q = stats.t.ppf(0.5 + level / 2, n_clusters - 1)",
                "q = stats.t.ppf(0.5 + level / 2, n_clusters)",
            ),
        ),
        ("tests/test_inference.py",),
    ),
    Wrong(
        "cr1-missing",
        "the Cox sandwich without the CR1 factor",
        "analysis/survival.py",
        (("return (cov * cr1(g) if small_sample else cov), g", "return cov, g"),),
        ("tests/test_turnover.py", "-k", "symmetric"),
    ),
    Wrong(
        "cox-rows-as-clusters",
        "the Cox sandwich sums score residuals by row, not by site",
        "analysis/survival.py",
        (("cov = self.cov @ (by.T @ by) @ self.cov", "cov = self.cov @ (u.T @ u) @ self.cov"),),
        ("tests/test_survival.py", "tests/test_turnover.py", "-k", "sandwich or frailty"),
    ),
    Wrong(
        "cox-model-based-se",
        "the Cox table's interval from the model-based standard error",
        "analysis/turnover.py",
        (("low, high = t_interval(b, se, g)", "low, high = t_interval(b, fit.se, g)"),),
        ("tests/test_turnover.py", "-k", "symmetric or frailty"),
    ),
    Wrong(
        "cox-ratio-wald",
        "the Cox interval as exp(b) +- z se instead of exp(b +- t se)",
        "analysis/turnover.py",
        (
            ('"ci_low": np.exp(low),', f'"ci_low": np.exp(b) - {Z} * se,'),
            ('"ci_high": np.exp(high),', f'"ci_high": np.exp(b) + {Z} * se,'),
        ),
        ("tests/test_turnover.py", "-k", "symmetric"),
    ),
    Wrong(
        "km-entry-last-piece",
        "cumulative incidence takes a spell's entry from its last piece",
        "analysis/turnover.py",
        (('"entry": first["start"],', '"entry": last["start"],'),),
        ("tests/test_turnover.py", "tests/test_intervals.py", "-k", "incidence or entry"),
    ),
    Wrong(
        "excess-exits-z",
        "excess exits draw log HR from a normal instead of t(G-1)",
        "analysis/turnover.py",
        (("rng.standard_t(n_clusters - 1, draws)", "rng.standard_normal(draws)"),),
        ("tests/test_turnover.py", "tests/test_intervals.py", "-k", "excess"),
    ),
    Wrong(
        "rr-wald-ratio-scale",
        "the standardized risk ratio's interval on the ratio scale (delta method), not the log",
        "analysis/burnout.py",
        (
            (
                "lo, hi = inference.t_interval(np.log(r1 / r0), se_log, g)",
                "lo, hi = np.log(inference.t_interval(r1 / r0, se_log * r1 / r0, g))",
            ),
        ),
        ("tests/test_burnout.py", "tests/test_intervals.py", "-k", "standardized or interval"),
    ),
    Wrong(
        "burnout-cluster-no-cr1",
        "the logistic models' site-cluster variance without CR1",
        "analysis/burnout.py",
        (("return inference.cr1(g) * (sums.T @ sums)", "return sums.T @ sums"),),
        ("tests/test_burnout.py", "tests/test_intervals.py", "-k", "interval or sandwich"),
    ),
    Wrong(
        "mediation-rows",
        "the mediation bootstrap resamples cells of rows instead of whole sites",
        "analysis/burnout.py",
        (
            ('ws = site_weights(d["site_id"], resamples, seed)', "ws = None"),
            (
                "ws[:, mc.site], start=bm[0]",
                "site_weights(np.arange(len(mc.site)), resamples, seed), start=bm[0]",
            ),
            (
                "ws[:, yc.site], start=by[0]",
                "site_weights(np.arange(len(yc.site)), resamples, seed), start=by[0]",
            ),
            (
                "wt = ws[:, mc.site] * mc.trials",
                "wt = site_weights(np.arange(len(mc.site)), resamples, seed) * mc.trials",
            ),
        ),
        ("tests/test_burnout.py", "tests/test_intervals.py", "-k", "mediation"),
    ),
    Wrong(
        "mediation-90",
        "mediation intervals at the 5th and 95th percentiles",
        "analysis/burnout.py",
        (("np.percentile(v[ok], [2.5, 97.5])", "np.percentile(v[ok], [5, 95])"),),
        ("tests/test_burnout.py", "tests/test_intervals.py", "-k", "mediation"),
    ),
    Wrong(
        "access-90",
        "access-per-departure intervals at the 5th and 95th percentiles",
        "analysis/access.py",
        (("np.nanpercentile(df[col], [2.5, 97.5])", "np.nanpercentile(df[col], [5, 95])"),),
        ("tests/test_access.py", "tests/test_intervals.py", "-k", "departure or percentile"),
    ),
    Wrong(
        "access-slope-rows-dof",
        "the access slope's t interval with rows - 1 degrees of freedom instead of sites - 1",
        "analysis/access.py",
        (("low, high = t_interval(b, se, sites)", "low, high = t_interval(b, se, len(data))"),),
        ("tests/test_access.py", "tests/test_intervals.py", "-k", "slope"),
    ),
    Wrong(
        "access-slope-model-based",
        "the access slope's standard error model-based instead of clustered by site",
        "analysis/access.py",
        (
            (
                'cov_type="cluster", cov_kwds={"groups": pd.factorize(data["site_id"])[0]}',
                'cov_type="nonrobust"',
            ),
        ),
        ("tests/test_access.py", "tests/test_intervals.py", "-k", "slope"),
    ),
    Wrong(
        "switch-unstratified",
        "the switch bootstrap draws all sites together instead of within strata",
        "analysis/switch.py",
        (
            (
                "[rng.choice(switching, len(switching)), rng.choice(others, len(others))]",
                "[rng.choice(np.r_[switching, others], len(switching) + len(others))]",
            ),
        ),
        ("tests/test_switch.py", "-k", "bootstrap"),
    ),
    Wrong(
        "switch-z",
        "the switch interval with the normal quantile instead of t(switching sites - 1)",
        "analysis/switch.py",
        (
            (
                "low, high = t_interval(log_rr, se, n_switch, level)",
                "low, high = t_interval(log_rr, se, 10**6, level)",
            ),
        ),
        ("tests/test_switch.py", "tests/test_intervals.py", "-k", "bootstrap or interval"),
    ),
    Wrong(
        "time-rows",
        "the time-allocation bootstrap resamples rows, not clinicians",
        "analysis/time_allocation.py",
        (
            (
                "per = unit_sums(t, numerator, by)\n    w = resample_counts",
                "per = unit_sums(t.assign(_r=range(len(t))), numerator, '_r')\n"
                "    w = resample_counts",
            ),
        ),
        ("tests/test_time_allocation.py",),
    ),
    Wrong(
        "cost-90",
        "Monte Carlo cost intervals at the 5th and 95th percentiles",
        "analysis/cost.py",
        (("np.percentile(d, [2.5, 50, 97.5])", "np.percentile(d, [5, 50, 95])"),),
        ("tests/test_cost.py", "tests/test_intervals.py", "-k", "cost or summar"),
    ),
    Wrong(
        "ratio-bootstrap-90",
        "the unit bootstrap of a ratio at the 5th and 95th percentiles",
        "analysis/rates.py",
        (("np.percentile(draws, [2.5, 97.5])", "np.percentile(draws, [5, 95])"),),
        ("tests/test_rates.py",),
    ),
)


def copy_project(tmp: Path) -> None:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for f in out.split("\0"):
        if f.startswith(("src/", "tests/", "pyproject.toml")) and (ROOT / f).is_file():
            (tmp / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, tmp / f)


def check(w: Wrong, tmp: Path) -> tuple[str, float]:
    """Apply ``w`` to the copy in ``tmp``, run its tests, restore; 'caught' or 'SURVIVED'."""
    path = tmp / "src" / "helpers" / w.path
    original = path.read_text(encoding="utf-8")
    text = original
    for old, new in w.edits:
        if text.count(old) != 1:
            raise SystemExit(f"{w.id}: {old!r} found {text.count(old)} times in {w.path}")
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    started = time.monotonic()
    try:
        env = dict(os.environ, PYTHONPATH=str(tmp / "src"))
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-x",
                "-p",
                "no:cacheprovider",
                "-m",
                "not slow",
                *w.tests,
            ],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
        )
    finally:
        path.write_text(original, encoding="utf-8")
    seconds = time.monotonic() - started
    if run.returncode in (4, 5):  # a usage error or no tests: the entry is wrong, not caught
        raise SystemExit(f"{w.id}: pytest could not run {w.tests}:\n{run.stdout[-2000:]}")
    return ("caught" if run.returncode != 0 else "SURVIVED"), seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ids", nargs="*")
    args = ap.parse_args()
    chosen = [w for w in WRONG if not args.ids or w.id in args.ids]
    tmp = Path(tempfile.mkdtemp(prefix="wrong-"))
    survived = []
    try:
        copy_project(tmp)
        # The copy must shadow the editable install of the project.
        where = subprocess.run(
            [sys.executable, "-c", "import helpers; print(helpers.__file__)"],
            cwd=tmp,
            env=dict(os.environ, PYTHONPATH=str(tmp / "src")),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if not where.startswith(str(tmp)):
            raise SystemExit(f"the copy is not imported ({where})")
        for w in chosen:
            verdict, seconds = check(w, tmp)
            print(f"{verdict:8} {w.id:24} {seconds:5.1f} s  {w.what}", flush=True)
            if verdict != "caught":
                survived.append(w.id)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(chosen) - len(survived)} of {len(chosen)} wrong implementations caught")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
