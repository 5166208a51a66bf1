"""Mutation testing of the modules that decide numbers or privacy (``make mutants``).

For each module: copy the project (tracked and new files of the work tree, so uncommitted
tests count) to a temporary folder, point ``[tool.mutmut]`` at the module and its fast test
selection, run ``mutmut run`` with the mutated package first on ``sys.path`` (the project is
installed editable, so the mutants must shadow it), and collect the verdicts. Equivalent
mutants (listed with a reason in ``TESTING.md``) are left out of the score.

    python tools/mutants.py                                    # every module
    python tools/mutants.py analysis/inference analysis/rates  # some
    python tools/mutants.py --list                             # modules, test selections

Writes ``.cache/mutants/scores.md`` (the table) and ``.cache/mutants/<module>.txt`` (every
mutant that was not killed, with its diff). Exit status 1 when a module scores below
``--target`` (90%).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / ".cache" / "mutants"

# module (under src/helpers) -> its fast test selection (pytest arguments). Each selection runs
# in seconds on small fixed or simulated data: never the notebooks, never the demo data.
MODULES: dict[str, list[str]] = {
    "analysis/inference": ["tests/test_inference.py"],
    "analysis/rates": ["tests/test_rates.py"],
    "cells": ["tests/test_cells.py"],
    "analysis/evalue": ["tests/test_evalue.py"],
    "report/formatting": ["tests/test_formatting.py"],
    "analysis/survival": ["tests/test_survival.py"],
    # (not the coverage of 24 simulated organizations: 25 s, and its CR1 is pinned elsewhere)
    "analysis/turnover": [
        "tests/test_turnover.py",
        "tests/test_intervals.py",
        "-k",
        "not wider_under_frailty_and_covers",
    ],
    "analysis/switch": ["tests/test_switch.py", "tests/test_intervals.py"],
    "analysis/burnout": ["tests/test_burnout.py", "tests/test_intervals.py"],
    "analysis/access": ["tests/test_access.py", "tests/test_intervals.py"],
    "analysis/cost": ["tests/test_cost.py", "tests/test_intervals.py"],
    "analysis/time_allocation": ["tests/test_time_allocation.py"],
    "findings": ["tests/test_findings.py"],
    "artifacts": ["tests/test_artifacts.py", "tests/test_cells.py"],
    "pipeline/publish": [
        "tests/test_runner_publish.py",
        "tests/test_runner.py",
        "tests/test_runner_lock.py",
        "-k",
        "(publish or exchange or second_run or lock_file) and not run_publishes",
    ],
    "catalog": ["tests/test_catalog.py", "tests/test_report.py", "-k", "catalog or verdict"],
    "report/tables": ["tests/test_report_tables.py", "tests/test_report.py", "-k", "tables"],
}
# Where only part of a module decides numbers or privacy: the functions and classes scored.
# Mutants elsewhere in the module are neither run nor counted.
SCOPE: dict[str, list[str]] = {
    "pipeline/publish": ["publish", "_exchange", "OutputLock"],
    "catalog": ["null_value", "verdict"],
    "artifacts": [
        "_counts",
        "suppression",
        "_complementary_rows",
        "suppress_small",
        "drawable",
        "save_table",
    ],
    # everything but plot_path, which only draws the figure
    "analysis/switch": [
        "switches",
        "site_years",
        "site_year_people",
        "pay_paths",
        "switch_panel",
        "conventional_panel",
        "PoissonFit",
        "fe_poisson",
        "Cells",
        "cells_from_panel",
        "_onehot",
        "imputation_fit",
        "pretrend_fit",
        "strata",
        "bootstrap_rows",
        "bootstrap_interval",
        "wald_bootstrap",
        "pretrend_test",
        "imputation",
        "_people",
        "_path_row",
        "twfe",
        "event_study",
        "switch_analysis",
        "path_table",
        "pretrend_table",
        "estimator_table",
    ],
    "report/tables": [
        "_ci_columns",
        "_is_suppressed",
        "prepare",
        "_nan",
        "_number",
        "mostly_suppressed",
        "read",
    ],
}

# mutmut settings for one module's run. By default mutmut forks each mutant's worker from its
# main process, which has run the whole selection to collect stats; a library that started a
# thread pool there leaves the forked worker waiting forever on a lock of threads that were not
# copied. pyfixest's compiled core (a Rust thread pool) does, so every mutant of the switch
# fits that reached the pyfixest comparison hung until the timeout and counted as killed.
# "forkserver" forks the workers from a process that has only collected the tests. The
# modules whose test selections call pyfixest (switch, inference) run so.
SETTINGS: dict[str, dict[str, str]] = {
    module: {"process_isolation": "forkserver"}
    for module in ("analysis/switch", "analysis/inference")
}


def patterns(module: str) -> list[str]:
    """mutmut name patterns of the scored part of ``module`` (all of it without a scope)."""
    dotted = "helpers." + module.replace("/", ".")
    if module not in SCOPE:
        return [f"{dotted}.*"]
    return [
        f"{dotted}.x\u01c1{n}\u01c1*" if n[0].isupper() else f"{dotted}.x_{n}__mutmut_*"
        for n in SCOPE[module]
    ]


COMMON = ["-m", "not slow"]

EQUIVALENT_ROW = re.compile(r"^\|\s*`(helpers\.[\w.]+__mutmut_\d+)`\s*\|")


def equivalent_mutants() -> set[str]:
    """Mutants listed as equivalent in TESTING.md (a table row starting with the name)."""
    text = (
        (ROOT / "TESTING.md").read_text(encoding="utf-8") if (ROOT / "TESTING.md").exists() else ""
    )
    return {m.group(1) for line in text.splitlines() if (m := EQUIVALENT_ROW.match(line))}


def project_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    keep = ("src/", "tests/", "pyproject.toml", "conftest.py")
    return [f for f in out.split("\0") if f.startswith(keep) and (ROOT / f).is_file()]


def configure(tmp: Path, module: str, tests: list[str]) -> None:
    """Insert the module's source path and test selection into the copy's [tool.mutmut]."""
    py = tmp / "pyproject.toml"
    text = py.read_text(encoding="utf-8")
    extra = (
        f"source_paths = {json.dumps([f'src/helpers/{module}.py'])}\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(COMMON + tests)}\n"
    )
    for key, value in SETTINGS.get(module, {}).items():
        extra += f"{key} = {json.dumps(value)}\n"
    if "[tool.mutmut]\n" not in text:
        raise SystemExit("pyproject.toml has no [tool.mutmut] table")
    py.write_text(text.replace("[tool.mutmut]\n", "[tool.mutmut]\n" + extra, 1), encoding="utf-8")


def mutmut(tmp: Path, *args: str, log=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(tmp / "mutants" / "src"))
    env.pop("MUTANT_UNDER_TEST", None)
    exe = Path(sys.executable).with_name("mutmut")
    return subprocess.run(
        [str(exe), *args],
        cwd=tmp,
        env=env,
        text=True,
        stdout=log or subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


SHOW = """
import sys
from mutmut.mutation.diff_apply import find_mutant, get_diff_for_mutant
for line in sys.stdin.read().splitlines():
    name = line.split(":")[0]
    try:
        diff = get_diff_for_mutant(name, path=find_mutant(name).path)
    except Exception as exc:  # noqa: BLE001 - a diff that cannot be shown is still listed
        diff = f"(no diff: {type(exc).__name__}: {exc})"
    print(f"## {line}\\n{diff}\\n")
"""


def diffs(tmp: Path, lines: list[str]) -> list[str]:
    """The diff of each mutant in ``lines`` ("name: verdict"), in one process."""
    if not lines:
        return []
    env = dict(os.environ, PYTHONPATH=str(tmp / "mutants" / "src"))
    out = subprocess.run(
        [sys.executable, "-c", SHOW],
        cwd=tmp,
        env=env,
        input="\n".join(lines),
        text=True,
        capture_output=True,
        check=True,
    )
    return [out.stdout]


def run_module(module: str, tests: list[str], children: int, keep: bool) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"mutants-{module.replace('/', '-')}-"))
    started = time.monotonic()
    try:
        for f in project_files():
            dest = tmp / f
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, dest)
        configure(tmp, module, tests)
        # Before mutmut starts: a folder missing at interpreter start is cached as missing and
        # the unmutated (editable) package would be imported instead.
        (tmp / "mutants" / "src").mkdir(parents=True)
        OUT.mkdir(parents=True, exist_ok=True)
        log_path = OUT / f"{module.replace('/', '-')}.log"
        with open(log_path, "w", encoding="utf-8") as log:
            scope = patterns(module) if module in SCOPE else []
            run = mutmut(tmp, "run", "--max-children", str(children), *scope, log=log)
        results = mutmut(tmp, "results", "--all", "true").stdout
        verdicts = {
            name: verdict
            for name, verdict in re.findall(r"^\s*(helpers\.\S+):\s*(.+)$", results, flags=re.M)
            if any(fnmatch.fnmatchcase(name, p) for p in patterns(module))
        }
        if run.returncode != 0 or not verdicts:
            raise RuntimeError(f"mutmut failed for {module}: see {log_path}")
        equivalent = equivalent_mutants()
        counts = {
            "mutants": len(verdicts),
            "killed": 0,
            "survived": 0,
            "equivalent": 0,
            "timeout": 0,
            "other": 0,
        }
        shown = []
        for name, verdict in sorted(verdicts.items()):
            if verdict == "killed":
                counts["killed"] += 1
                continue
            if name in equivalent and verdict == "survived":
                counts["equivalent"] += 1
                continue
            key = verdict if verdict in ("survived", "timeout") else "other"
            counts[key] += 1
            shown.append(f"{name}: {verdict}")
        report = diffs(tmp, shown)
        # A timeout is a kill (the mutant hangs or slows the tests past any use); other
        # verdicts (suspicious, no tests, not checked) count against the score.
        scored = counts["mutants"] - counts["equivalent"]
        caught = counts["killed"] + counts["timeout"]
        counts["score"] = 100.0 * caught / scored if scored else 100.0
        counts["seconds"] = round(time.monotonic() - started)
        (OUT / f"{module.replace('/', '-')}.txt").write_text("\n".join(report), encoding="utf-8")
        return counts
    finally:
        if keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("modules", nargs="*", help="modules to run (default: all)")
    ap.add_argument("--children", type=int, default=2, help="mutants run at once")
    ap.add_argument("--target", type=float, default=90.0, help="lowest acceptable score (%%)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary copies")
    ap.add_argument("--list", action="store_true", help="list modules and test selections")
    args = ap.parse_args()
    if args.list:
        for m, t in MODULES.items():
            print(f"{m:26} {' '.join(t)}")
        return 0
    unknown = set(args.modules) - set(MODULES)
    if unknown:
        ap.error(f"unknown modules: {', '.join(sorted(unknown))}")
    rows = []
    started = time.monotonic()
    for module in args.modules or list(MODULES):
        print(f"{module}: running ...", flush=True)
        c = run_module(module, MODULES[module], args.children, args.keep)
        rows.append((module, c))
        print(
            f"{module}: {c['killed']}/{c['mutants']} killed, {c['survived']} survived, "
            f"{c['equivalent']} equivalent, {c['timeout']} timeouts, {c['other']} other, "
            f"score {c['score']:.1f}% ({c['seconds']} s)",
            flush=True,
        )
    total = round(time.monotonic() - started)
    lines = [
        f"Mutation scores, {date.today().isoformat()}, `make mutants` ({total} s in all)",
        "",
        "| module | mutants | killed | survived | equivalent | timeouts | other | score "
        "| seconds |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for module, c in rows:
        lines.append(
            f"| {module} | {c['mutants']} | {c['killed']} | {c['survived']} | {c['equivalent']} "
            f"| {c['timeout']} | {c['other']} | {c['score']:.1f}% | {c['seconds']} |"
        )
    table = "\n".join(lines) + "\n"
    if args.modules:
        (OUT / f"scores-{'-'.join(m.replace('/', '-') for m in args.modules)}.md").write_text(
            table, encoding="utf-8"
        )
    else:
        (OUT / "scores.md").write_text(table, encoding="utf-8")
    print(table)
    return 0 if all(c["score"] >= args.target for _, c in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
