"""Coverage, bias and power of the primary findings over many simulated organizations.

``python tools/coverage.py`` (``make coverage``) runs each experiment below over its seeds:
it simulates the demonstration organization (:func:`helpers.analysis.power.simulate`, the tables
``python -m helpers.data.demo`` writes for that seed), computes every primary finding as its
notebook does (:func:`helpers.analysis.power.primary_estimates`) and appends one line per seed and
finding to ``<results>/<experiment>.jsonl``. A seed already in the file is not run again, so
an interrupted run resumes where it stopped. Then it summarizes the files into the marked
part of ``VALIDATION.md`` (the text outside the markers is left as it is).

Experiments:

* ``default`` and ``none``: the realistic defaults and ``--realism none``, every primary
  finding, seeds 1..N (``--seeds``, default 400);
* ``mde-<finding>-<level>``: the power of each primary finding's test of no effect at a few
  true effects (``--mde-seeds`` each, default 100; see MDE_DESIGNS), from which the effect
  detected with 80% power is interpolated and compared with the approximation
  :func:`helpers.analysis.power.mde`.

``--jobs`` worker processes (default 2: the machine is shared); ``--only`` restricts to
experiments whose name starts with one of the given prefixes; ``--summary-only`` rewrites
``VALIDATION.md`` from the files without running anything.
"""

# ruff: noqa: E402 (the BLAS thread count is set before numpy is imported)
from __future__ import annotations

import os

# One BLAS thread per worker: with several workers on a shared machine, threaded BLAS
# oversubscribes the cores and a least-squares fit takes fifty times as long.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import dataclasses
import json
import math
import multiprocessing as mp
import platform
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from helpers.analysis import power
from helpers.data import demo

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / ".cache" / "coverage"
VALIDATION = ROOT / "VALIDATION.md"
BEGIN, END = "<!-- coverage:begin -->", "<!-- coverage:end -->"


@dataclass(frozen=True)
class Experiment:
    name: str
    realism: str  # "default" or "none"
    seeds: int
    findings: tuple[str, ...] = power.PRIMARY_IDS
    params: dict = field(default_factory=dict)
    truth_seeds: int | None = None  # compute truth.json's estimands for the first k seeds only
    first_seed: int = 1
    cox_inference: str = "jackknife"  # "cr1": the Cox intervals published before the jackknife

    def realism_options(self) -> demo.Realism:
        return demo.Realism() if self.realism == "default" else demo.Realism.none()


# Power designs: for each primary finding, the simulation parameters set at each level of the
# true effect (the realistic defaults otherwise). Level "0" is no effect of that exposure:
# for RVU production pay every effect of it (exit hazard, burnout odds, direct effect on
# intent) set to 1, as --no-rvu-effect does. None: the realistic defaults, whose runs are the
# ``default`` experiment's.
NO_RVU_EFFECT = {"turnover.hr_rvu_production": 1.0, "burnout.or_rvu_production": 1.0,
                 "burnout.intent_or_rvu_direct": 1.0}  # fmt: skip
MDE_DESIGNS: dict[str, dict[str, dict | None]] = {
    "turnover.hr_rvu_production": {
        "0": NO_RVU_EFFECT,
        "1.2": {"turnover.hr_rvu_production": 1.2, "burnout.or_rvu_production": 1.25},
        "1.35": {"turnover.hr_rvu_production": 1.35, "burnout.or_rvu_production": 1.45},
        "1.6": None,
    },
    "turnover.hr_team_based_care": {
        "0": {"turnover.hr_team_based_care": 1.0, "burnout.or_team_based_care": 1.0},
        "0.9": {"turnover.hr_team_based_care": 0.9, "burnout.or_team_based_care": 0.85},
        "0.8": {"turnover.hr_team_based_care": 0.8, "burnout.or_team_based_care": 0.7},
        "0.7": None,
    },
    "turnover.irr_after_switch": {
        "0": NO_RVU_EFFECT,
        "1.6": None,
        "2.5": {"turnover.hr_rvu_production": 2.5},
        "4": {"turnover.hr_rvu_production": 4.0},
    },
    "turnover.hr_burnout_linked": {
        "1": {"realism.hr_burnout": 1.0},
        "1.3": {"realism.hr_burnout": 1.3},
        "1.5": {"realism.hr_burnout": 1.5},
        "2": None,
    },
    "access.tnaa_per_vacant_fte": {
        "0": {"access.tnaa_per_vacant_fte": 0.0},
        "0.08": {"access.tnaa_per_vacant_fte": 0.08},
        "0.12": {"access.tnaa_per_vacant_fte": 0.12},
        "0.16": {"access.tnaa_per_vacant_fte": 0.16},
    },
    "burnout.rr_rvu_production": {
        "0": NO_RVU_EFFECT,
        "1.3": {"burnout.or_rvu_production": 1.3},
        "1.5": {"burnout.or_rvu_production": 1.5},
        "1.8": None,
    },
}  # fmt: skip


def experiments(seeds: int, mde_seeds: int) -> list[Experiment]:
    out = [
        Experiment("before-default", "default", seeds, cox_inference="cr1"),
        Experiment("before-none", "none", seeds, cox_inference="cr1"),
        Experiment("default", "default", seeds),
        Experiment("none", "none", seeds),
    ]
    for fid, levels in MDE_DESIGNS.items():
        for level, params in levels.items():
            if params is None:
                continue
            out.append(
                Experiment(
                    f"mde-{fid}-{level}",
                    "default",
                    mde_seeds,
                    (fid,),
                    params,
                    truth_seeds=min(20, mde_seeds),
                    first_seed=100_001,
                )
            )
    return out


# --- running --------------------------------------------------------------------------------------
def run_seed(job: tuple[Experiment, int]) -> list[dict]:
    """Every finding of ``exp`` on the organization of ``seed``, with its truths."""
    exp, seed = job
    t0 = time.perf_counter()
    params = dict(exp.params)
    realism = exp.realism_options()
    changes = {k.split(".", 1)[1]: params.pop(k) for k in list(params) if k.startswith("realism.")}
    if changes:
        realism = dataclasses.replace(realism, **changes)
    with_truth = exp.truth_seeds is None or seed < exp.first_seed + exp.truth_seeds
    sim = power.simulate(seed, realism, params=params, truth=with_truth)
    estimates = power.primary_estimates(sim, exp.findings, cox_inference=exp.cox_inference)
    seconds = time.perf_counter() - t0
    spec = {p.id: p for p in power.PRIMARY}
    rows = []
    for fid, e in estimates.items():
        row = {"experiment": exp.name, "seed": seed, **e.row(), "seconds": seconds}
        if sim.truth is not None:
            p = spec[fid]
            row["truth"] = power.truth_of(sim.truth, p.truth)
            row["also"] = {f"{b}.{k}": power.truth_of(sim.truth, (b, k)) for b, k in p.also}
        rows.append({k: _plain(v) for k, v in row.items()})
    return rows


def _plain(v):
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def done_seeds(path: Path) -> set[int]:
    if not path.exists():
        return set()
    return {json.loads(line)["seed"] for line in path.read_text().splitlines() if line.strip()}


def run_experiment(exp: Experiment, results: Path, jobs: int) -> None:
    path = results / f"{exp.name}.jsonl"
    todo = [s for s in range(exp.first_seed, exp.first_seed + exp.seeds)
            if s not in done_seeds(path)]  # fmt: skip
    if not todo:
        print(f"[{exp.name}] {exp.seeds} seeds already done", flush=True)
        return
    print(f"[{exp.name}] {len(todo)} of {exp.seeds} seeds to run", flush=True)
    start = time.perf_counter()
    log = results / "runtime.json"
    with path.open("a") as out, mp.get_context("fork").Pool(jobs) as pool:
        for i, rows in enumerate(pool.imap_unordered(run_seed, [(exp, s) for s in todo]), 1):
            for row in rows:
                out.write(json.dumps(row) + "\n")
            out.flush()
            elapsed = time.perf_counter() - start
            if i % 5 == 0 or i == len(todo):
                eta = elapsed / i * (len(todo) - i)
                print(f"[{exp.name}] {i}/{len(todo)} seeds, {elapsed:.0f} s, about {eta:.0f} s "
                      "to go", flush=True)  # fmt: skip
    times = json.loads(log.read_text()) if log.exists() else {}
    times[exp.name] = times.get(exp.name, 0.0) + time.perf_counter() - start
    log.write_text(json.dumps(times, indent=1) + "\n")


# --- summaries -----------------------------------------------------------------------------------
def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    a = (1 - level) / 2
    low = stats.beta.ppf(a, k, n - k + 1) if k > 0 else 0.0
    high = stats.beta.ppf(1 - a, k + 1, n - k) if k < n else 1.0
    return float(low), float(high)


def read(results: Path, name: str) -> pd.DataFrame:
    path = results / f"{name}.jsonl"
    if not path.exists():
        return pd.DataFrame()
    return pd.DataFrame([json.loads(x) for x in path.read_text().splitlines() if x.strip()])


def coverage_rows(df: pd.DataFrame, truth: str = "truth") -> pd.DataFrame:
    """One row per finding: runs, truth, estimate, bias, SD, mean SE, coverage and its interval,
    mean width; ratios on the log scale."""
    ratio = {p.id: p.ratio for p in power.PRIMARY}
    rows = []
    for fid in power.PRIMARY_IDS:
        d = df[(df["finding"] == fid)] if len(df) else df
        if not len(d):
            continue
        ok = d[d["error"].isna() & d["estimate"].notna()]
        if truth == "truth":
            tv = ok["truth"]
        else:
            tv = ok["also"].map(lambda a, k=truth: a.get(k))
        ok = ok[tv.notna()]
        tv = tv[tv.notna()].astype(float)
        f = np.log if ratio[fid] else (lambda v: v)
        est, low, high = (f(ok[c].astype(float)) for c in ("estimate", "ci_low", "ci_high"))
        t = f(tv)
        covered = int(((low <= t) & (t <= high)).sum())
        n = len(ok)
        err = est - t
        cp = clopper_pearson(covered, n) if n else (np.nan, np.nan)
        rows.append(
            {
                "finding": fid,
                "runs": n,
                "unavailable": int(len(d) - len(d[d["error"].isna()])),
                "truth": float(np.exp(t.mean())) if ratio[fid] else float(t.mean()),
                "estimate": float(np.exp(est.mean())) if ratio[fid] else float(est.mean()),
                "bias": float(err.mean()),
                "bias_se": float(err.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan,
                "sd": float(err.std(ddof=1)) if n > 1 else np.nan,
                "mean_se": float(ok["se"].astype(float).mean()),
                "coverage": covered / n if n else np.nan,
                "cp_low": cp[0],
                "cp_high": cp[1],
                "width": float((high - low).mean()),
            }
        )
    return pd.DataFrame(rows)


def _f(x: float, d: int = 3) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.{d}f}"


def coverage_table(cov: pd.DataFrame) -> str:
    lines = [
        "| finding | runs | truth (mean) | estimate (mean) | bias (log scale for ratios) "
        "| empirical SD | mean SE | coverage of the 95% CI (95% CI) | mean CI width |",
        "|:---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in cov.itertuples():
        un = f" ({r.unavailable} unavailable)" if r.unavailable else ""
        lines.append(
            f"| `{r.finding}` | {r.runs}{un} | {_f(r.truth)} | {_f(r.estimate)} "
            f"| {r.bias:+.3f} ± {_f(r.bias_se)} | {_f(r.sd)} | {_f(r.mean_se)} "
            f"| {100 * r.coverage:.1f}% ({100 * r.cp_low:.1f}–{100 * r.cp_high:.1f}) "
            f"| {_f(r.width)} |"
        )
    return "\n".join(lines)


def other_truths_table(df: pd.DataFrame) -> str:
    """Coverage of the same intervals against the truths a finding does not target."""
    lines = [
        "| finding | compared with | truth (mean) | bias | coverage (95% CI) |",
        "|:---|:---|---:|---:|---:|",
    ]
    for p in power.PRIMARY:
        for b, k in p.also:
            cov = coverage_rows(df[df["finding"] == p.id], truth=f"{b}.{k}")
            if not len(cov):
                continue
            r = cov.iloc[0]
            lines.append(
                f"| `{p.id}` | `{b}.{k}` | {_f(r.truth)} | {r.bias:+.3f} "
                f"| {100 * r.coverage:.1f}% ({100 * r.cp_low:.1f}–{100 * r.cp_high:.1f}) |"
            )
    return "\n".join(lines)


def power_rows(results: Path, default: pd.DataFrame) -> pd.DataFrame:
    """For each finding and level: the mean target, rejections at 5%, and the approximate MDE
    from each run's standard error."""
    ratio = {p.id: p.ratio for p in power.PRIMARY}
    rows = []
    for fid, levels in MDE_DESIGNS.items():
        for level, params in levels.items():
            d = default if params is None else read(results, f"mde-{fid}-{level}")
            d = d[d["finding"] == fid] if len(d) else d
            if not len(d):
                continue
            ok = d[d["error"].isna() & d["estimate"].notna()]
            truths = ok["truth"].dropna().astype(float) if "truth" in ok else pd.Series([])
            f = np.log if ratio[fid] else (lambda v: v)
            mdes = [
                power.mde(s, df_, ratio[fid]) for s, df_ in zip(ok["se"], ok["df"], strict=True)
            ]
            rejected = int((ok["p_value"].astype(float) < 0.05).sum())
            rows.append(
                {
                    "finding": fid,
                    "level": level,
                    "runs": len(ok),
                    "unavailable": len(d) - len(ok),
                    "target": float(np.exp(f(truths).mean()))
                    if ratio[fid]
                    else float(truths.mean()),
                    "power": rejected / len(ok),
                    "power_low": clopper_pearson(rejected, len(ok))[0],
                    "power_high": clopper_pearson(rejected, len(ok))[1],
                    "mde_approx": float(np.exp(np.mean(np.log(mdes))))
                    if ratio[fid]
                    else float(np.mean(mdes)),
                }
            )
    return pd.DataFrame(rows)


def simulated_mde(pw: pd.DataFrame, fid: str, ratio: bool) -> float:
    """The true effect (model target, log scale for ratios) at which power reaches 80%: a
    probit line through the power at each level, fitted by least squares on the probit scale
    over the levels with power strictly between 0 and 1 (all levels count, weighted by runs),
    on |effect|."""
    d = pw[pw["finding"] == fid]
    x = np.abs(np.log(d["target"])) if ratio else np.abs(d["target"])
    k = np.clip(d["power"] * d["runs"], 0.5, d["runs"] - 0.5)
    z = stats.norm.ppf(k / d["runs"])
    a, b = np.polyfit(x, z, 1, w=np.sqrt(d["runs"]))
    m = (stats.norm.ppf(power.MDE_POWER) - b) / a
    return float(np.exp(m)) if ratio else float(m)


def summary(results: Path, seeds: int, mde_seeds: int, command: str) -> str:
    parts = []
    times = (
        json.loads((results / "runtime.json").read_text())
        if (results / "runtime.json").exists()
        else {}
    )
    for name, title in (("default", "Realistic defaults"), ("none", "`--realism none` (control)")):
        df = read(results, name)
        if not len(df):
            continue
        cov = coverage_rows(df)
        per_seed = df.drop_duplicates("seed")["seconds"].mean()
        parts += [
            f"### {title}",
            "",
            f"Seeds {df['seed'].min()}–{df['seed'].max()} ({df['seed'].nunique()} organizations); "
            f"{per_seed:.1f} s per organization in a worker, "
            f"{times.get(name, float('nan')) / 60:.0f} "
            "min in all.",
            "",
            coverage_table(cov),
            "",
            ": Coverage of each primary finding's 95% interval {#tbl-coverage-" + name + "}",
            "",
            "The same intervals against truths they do not target:",
            "",
            other_truths_table(df),
            "",
        ]
    pw = power_rows(results, read(results, "default"))
    if len(pw):
        ratio = {p.id: p.ratio for p in power.PRIMARY}
        lines = [
            "| finding | true effect (mean model target) | runs | rejections at 5% (95% CI) "
            "| approximate MDE (geometric mean) |",
            "|:---|---:|---:|---:|---:|",
        ]
        for r in pw.itertuples():
            lines.append(
                f"| `{r.finding}` | {_f(r.target)} | {r.runs} | {100 * r.power:.0f}% "
                f"({100 * r.power_low:.0f}–{100 * r.power_high:.0f}) | {_f(r.mde_approx)} |"
            )
        mde_lines = [
            "| finding | simulated MDE (80% power) | approximation, median over the default runs |",
            "|:---|---:|---:|",
        ]
        default = read(results, "default")
        for fid in MDE_DESIGNS:
            if fid not in set(pw["finding"]):
                continue
            sim = simulated_mde(pw, fid, ratio[fid])
            ok = default[(default["finding"] == fid) & default["error"].isna()]
            approx = np.median(
                [power.mde(s, d, ratio[fid]) for s, d in zip(ok["se"], ok["df"], strict=True)]
            )
            mde_lines.append(f"| `{fid}` | {_f(sim)} | {_f(approx)} |")
        mde_time = sum(v for k, v in times.items() if k.startswith("mde-"))
        parts += [
            "### Power and minimum detectable effects",
            "",
            f"{mde_seeds} organizations per level (seeds from 100001), "
            f"{mde_time / 60:.0f} min in all.",
            "",
            "\n".join(lines),
            "",
            ": Power of each primary finding's test of no effect {#tbl-power}",
            "",
            "\n".join(mde_lines),
            "",
            ": Minimum detectable effect, simulated and approximated {#tbl-mde-check}",
            "",
        ]
    total = sum(times.values())
    head = [
        f"Written by `{command}` on {date.today().isoformat()} ({platform.machine()}, "
        f"{os.cpu_count()} cores shared, Python {platform.python_version()}); "
        f"computing time {total / 3600:.1f} h over all sessions of the run.",
        "",
    ]
    return "\n".join(head + parts)


def write_validation(text: str, path: Path = VALIDATION) -> None:
    doc = path.read_text() if path.exists() else f"# Validation\n\n{BEGIN}\n{END}\n"
    if BEGIN not in doc:
        doc += f"\n{BEGIN}\n{END}\n"
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=400)
    parser.add_argument("--mde-seeds", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument("--validation", type=Path, default=VALIDATION)
    args = parser.parse_args(argv)
    args.results.mkdir(parents=True, exist_ok=True)
    if not args.summary_only:
        for exp in experiments(args.seeds, args.mde_seeds):
            if args.only and not any(exp.name.startswith(o) for o in args.only):
                continue
            run_experiment(exp, args.results, args.jobs)
    command = "make coverage" if os.environ.get("MAKELEVEL") else "python " + " ".join(sys.argv)
    write_validation(summary(args.results, args.seeds, args.mde_seeds, command), args.validation)
    print(f"Wrote {args.validation}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
