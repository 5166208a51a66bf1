"""Benchmarks: `make bench` runs them and writes BENCHMARKS.md from its own measurements.

1. a full run on the demonstration data (warm environment; no notebook result, validated
   store or report in the cache, but the SQL compiled from the contract kept, see
   ``empty_results``) against the same notebooks run one after another with the plain
   papermill CLI (the same cache treatment), against the same run with each notebook a new
   Papermill process (``--no-warm``), and against the run with nothing at all cached, in
   turn;
2. the same run again with nothing changed;
3. one notebook's parameter changed;
4. the encounter aggregation at 1M, 10M and 100M rows against a plain pandas version (up to
   10M) and a bare DuckDB scan of the file (the floor); the validation of the data folder
   with 10M and 100M encounters; a whole run with 10M encounters;
5. with Spark installed (``make env-spark``), the validation and sums of 100M encounters held
   by Spark in local mode against the same from the Parquet file (``bench_spark.py``; one
   run each), with the peak memory of the toolkit's own process beside its whole tree's.

The generated encounter files (about 60 MB per 10M rows) are removed afterwards unless
``--keep``; 100M rows need about 1 GB of disk while the bench runs.

Wall times are medians of several runs; peak memory is the largest resident set of the
process tree, sampled every 50 ms from /proc.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
TMP = ROOT / "BENCH_TMP"
HAND = "## Reading the numbers"


@dataclass
class Measure:
    what: str
    rows: str
    seconds: list[float]
    peak_mib: float
    compare: str = ""
    ratio: float | None = None
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def _tree_rss_kib(root_pid: int) -> int:
    """Resident memory of a process and all its descendants, in KiB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/statm") as fh:
                pages = int(fh.read().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = pages * os.sysconf("SC_PAGE_SIZE") // 1024
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def sampled(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, str]:
    """Run a command; return wall seconds, the peak MiB of the process itself and of its whole
    tree, and its output."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    own = tree = 0
    done = threading.Event()
    page = os.sysconf("SC_PAGE_SIZE") // 1024

    def sample() -> None:
        nonlocal own, tree
        while not done.is_set():
            try:
                with open(f"/proc/{proc.pid}/statm") as fh:
                    own = max(own, int(fh.read().split()[1]) * page)
            except (OSError, ValueError, IndexError):
                pass
            tree = max(tree, _tree_rss_kib(proc.pid))
            time.sleep(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, _ = proc.communicate()
    done.set()
    thread.join()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out[-3000:]}")
    return seconds, own / 1024, tree / 1024, out


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a command; return wall seconds, peak MiB of its process tree, and its output."""
    seconds, _, tree, out = sampled(cmd, env)
    return seconds, tree, out


def runner_cmd(data: Path, out: Path, *extra: str) -> list[str]:
    return [PY, "-m", "helpers.pipeline", "--data", str(data), "--out", str(out), *extra]


def rerun_notebooks(out: Path) -> list[str]:
    """The notebooks a run executed (rather than took from its cache)."""
    man = json.loads((out / "manifest.json").read_text())
    return [nb["notebook"] for nb in man["notebooks"] if not nb["cached"]]


def check(what: str, got: list[str], expected: list[str]) -> None:
    """A benchmark that measured the wrong thing must not be reported."""
    if got != expected:
        raise RuntimeError(f"{what}: expected to run {expected}, ran {got}")


def empty_results(cache: Path) -> None:
    """Empty a cache folder of results (notebook runs, validated stores, report renders) but
    keep the SQL the checks compile from the contract (``compiled/``): it depends on the code
    and on the kinds of the columns, not on the data, and is kept as Python keeps bytecode."""
    for child in cache.iterdir() if cache.is_dir() else []:
        if child.name != "compiled":
            shutil.rmtree(child) if child.is_dir() else child.unlink()


def compile_checks(data: Path, cache: Path) -> None:
    """Validate once into ``cache`` so that its compiled SQL exists (untimed)."""
    subprocess.run(
        [PY, "-m", "helpers.validate", str(data)],
        env={**os.environ, "HELPERS_CACHE": str(cache)},
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


def bench_runs(repeats: int) -> tuple[list[Measure], dict[str, float]]:
    data = ROOT / "data" / "demo"
    out = TMP / "out"
    cache = TMP / "cache"
    no_warm = TMP / "cache-no-warm"
    plain_cache = TMP / "cache-plain"  # keeps the runner's cache for the reruns below
    for folder in (cache, no_warm, plain_cache):
        shutil.rmtree(folder, ignore_errors=True)
        compile_checks(data, folder)
    full, per_nb = [], {}
    peak_full = 0.0
    cold, peak_cold = [], 0.0
    bare, peak_bare = [], 0.0
    nbs = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for _ in range(repeats):
        # The same run with nothing at all in its cache, not even the compiled SQL.
        nothing = TMP / "cache-nothing"
        shutil.rmtree(nothing, ignore_errors=True)
        s, peak, _ = timed(runner_cmd(data, TMP / "out-nothing"), {"HELPERS_CACHE": str(nothing)})
        bare.append(s)
        peak_bare = max(peak_bare, peak)
        empty_results(cache)
        s, peak, _ = timed(runner_cmd(data, out), {"HELPERS_CACHE": str(cache)})
        full.append(s)
        peak_full = max(peak_full, peak)
        check("full run", rerun_notebooks(out), [nb.name for nb in nbs])
        man = json.loads((out / "manifest.json").read_text())
        for nb in man["notebooks"]:
            per_nb.setdefault(nb["notebook"], []).append(nb["seconds"])
        # The same run with each notebook a new Papermill process, in turn with the above.
        empty_results(no_warm)
        s, peak, _ = timed(
            runner_cmd(data, TMP / "out-no-warm", "--no-warm"), {"HELPERS_CACHE": str(no_warm)}
        )
        cold.append(s)
        peak_cold = max(peak_cold, peak)
    serial, peak_serial = [], 0.0
    for _ in range(repeats):
        empty_results(plain_cache)
        plain_out = TMP / "plain"
        shutil.rmtree(plain_out, ignore_errors=True)
        plain_out.mkdir(parents=True)
        total = 0.0
        for nb in nbs:
            s, peak, _ = timed(
                [
                    PY,
                    "-m",
                    "papermill",
                    str(nb),
                    str(plain_out / nb.name),
                    "-k",
                    "helpers",
                    "-p",
                    "data_dir",
                    str(data),
                    "-p",
                    "out_dir",
                    str(plain_out),
                ],
                {"HELPERS_CACHE": str(plain_cache)},
            )
            total += s
            peak_serial = max(peak_serial, peak)
        serial.append(total)
    rerun, peak_rerun = [], 0.0
    for _ in range(repeats):
        s, peak, _ = timed(runner_cmd(data, out), {"HELPERS_CACHE": str(cache)})
        rerun.append(s)
        peak_rerun = max(peak_rerun, peak)
        check("unchanged rerun", rerun_notebooks(out), [])
    one, peak_one = [], 0.0
    target = nbs[-1].stem
    for i in range(repeats):
        params = TMP / f"params-{i}.yaml"
        # A fresh value each repeat, so the changed notebook is never found in the cache.
        spec = json.loads(
            subprocess.run(
                [
                    PY,
                    "-c",
                    "import json,sys; from helpers.pipeline import params; "
                    "print(json.dumps(params.declared(__import__('pathlib').Path(sys.argv[1]))))",
                    str(nbs[-1]),
                ],
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=True,
            ).stdout
        )
        name = next(k for k, v in spec.items() if isinstance(v, float))
        params.write_text(f"notebooks:\n  {target}:\n    {name}: {spec[name] * (1.1 + i / 10)}\n")
        s, peak, _ = timed(
            runner_cmd(data, out, "--params", str(params)), {"HELPERS_CACHE": str(cache)}
        )
        one.append(s)
        peak_one = max(peak_one, peak)
        check("one parameter changed", rerun_notebooks(out), [nbs[-1].name])
    ms = [
        Measure(
            "full run (runner, 2 workers, empty result cache and store; compiled SQL kept)",
            "demo",
            full,
            peak_full,
            "serial plain papermill CLI",
            statistics.median(full) / statistics.median(serial),
        ),
        Measure("serial plain papermill CLI, no report (comparison)", "demo", serial, peak_serial),
        Measure(
            "full run with an empty cache, the compiled SQL of the checks removed too",
            "demo",
            bare,
            peak_bare,
            "serial plain papermill CLI",
            statistics.median(bare) / statistics.median(serial),
        ),
        Measure(
            "full run without the warm start (--no-warm: a Papermill process per notebook)",
            "demo",
            cold,
            peak_cold,
            "serial plain papermill CLI",
            statistics.median(cold) / statistics.median(serial),
        ),
        Measure(
            "unchanged rerun",
            "demo",
            rerun,
            peak_rerun,
            "full run",
            statistics.median(rerun) / statistics.median(full),
        ),
        Measure(
            f"one parameter changed ({target})",
            "demo",
            one,
            peak_one,
            "full run",
            statistics.median(one) / statistics.median(full),
        ),
    ]
    return ms, {k: statistics.median(v) for k, v in per_nb.items()}


def show(ms: list[Measure]) -> None:
    """Print measurements as they are made (the file is written at the end)."""
    for m in ms:
        ratio = f", {m.ratio:.2f}x {m.compare}" if m.ratio is not None else ""
        print(f"{m.what} [{m.rows}]: {m.seconds} s, {m.peak_mib:.0f} MiB{ratio}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rows", default="1000000,10000000,100000000")
    ap.add_argument("--keep", action="store_true", help="keep the generated encounter files")
    ap.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    ap.add_argument(
        "--spark-rows",
        type=int,
        default=100_000_000,
        help="encounters for Spark against DuckDB (when Spark is installed: make env-spark)",
    )
    args = ap.parse_args(argv)
    TMP.mkdir(exist_ok=True)
    ms, per_nb = bench_runs(args.repeats)
    show(ms)
    import bench_encounters  # noqa: PLC0415 - sits beside this file

    enc = bench_encounters.run([int(r) for r in args.rows.split(",")], args.repeats, TMP)
    show(enc)
    full = next(m for m in ms if m.what.startswith("full run"))
    for m in enc:
        if m.what.startswith("whole run"):
            m.compare, m.ratio = "full run (demo encounters)", m.median / full.median
            m.note = f"adds {m.median - full.median:.1f} s to the full demonstration run"
    if importlib.util.find_spec("pyspark") is not None and shutil.which("java"):
        import bench_spark  # noqa: PLC0415 - sits beside this file

        enc += bench_spark.run(args.spark_rows, TMP)
    else:
        print("Spark is not installed (make env-spark): no Spark row")
    write_markdown(Path(args.output), ms + enc, per_nb, args.repeats)
    if not args.keep:
        for path in TMP.glob("encounters-*.parquet"):
            path.unlink()
    print(Path(args.output).read_text())
    return 0


def write_markdown(path: Path, ms: list[Measure], per_nb: dict[str, float], repeats: int) -> None:
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores); "
        f"wall time is the median of {repeats} runs, peak memory the largest resident set "
        "of the whole process tree.",
        "",
        "| what | rows | wall time (s, median) | peak memory (MiB) | compared with | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for m in ms:
        ratio = f"{m.ratio:.2f}×" if m.ratio is not None else ""
        lines.append(
            f"| {m.what} | {m.rows} | {m.median:.1f} | {m.peak_mib:.0f} | {m.compare} | {ratio} |"
        )
    lines += [
        "",
        "Per notebook in the full run (seconds, median):",
        "",
        "| notebook | seconds |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v:.1f} |" for k, v in sorted(per_nb.items())]
    notes = [m for m in ms if m.note]
    if notes:
        lines += ["", "Notes:", ""] + [f"- {m.what.strip()}: {m.note}" for m in notes]
    # The reading of the numbers is written by hand: keep it, below the new table.
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if HAND in old:
        lines += ["", HAND + old.split(HAND, 1)[1].rstrip()]
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
