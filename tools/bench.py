"""Benchmarks: `make bench` runs them and writes BENCHMARKS.md from its own measurements.

1. a full run on the demonstration data (warm environment, empty result cache) against the
   same run without the warm start (--no-warm) and the same notebooks run one after another
   with the plain papermill CLI, the three in turn in each repeat;
2. the same run again with nothing changed;
3. one notebook's parameter changed;
4. the encounter aggregation at 1M, 10M and 100M rows against a plain pandas version (up to
   10M) and a bare DuckDB scan of the file (the floor); the validation of the data folder
   with 10M and 100M encounters; a whole run with 10M encounters.

The generated encounter files (about 60 MB per 10M rows) are removed afterwards unless
``--keep``; 100M rows need about 1 GB of disk while the bench runs.

Wall times are medians of several runs; peak memory is the largest proportional set size
(PSS) of the process tree, sampled from /proc (see ``timed``); the load average of the
machine before and after is written with the results.
"""

from __future__ import annotations

import argparse
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


def _tree(root_pid: int) -> list[int]:
    """A process and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, stack = [], [root_pid]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def _rss_kib(pids: list[int]) -> int:
    """Sum of the processes' resident sets, in KiB (cheap; counts shared pages once per
    process that maps them)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as fh:
                total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
        except (OSError, IndexError, ValueError):
            continue
    return total


def _pss_kib(pids: list[int]) -> int:
    """Sum of the processes' proportional set sizes, in KiB: a page shared by k processes
    (a fork's copy-on-write pages, a shared library) counts 1/k in each, so the sum is the
    memory the tree occupies. Falls back to the resident set where the kernel has no
    smaps_rollup."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                total += next(int(line.split()[1]) for line in fh if line.startswith("Pss:"))
        except (OSError, StopIteration, ValueError):
            total += _rss_kib([pid])
    return total


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a command; return wall seconds, peak MiB of its process tree (PSS), and its output.

    The tree's resident set is sampled every 50 ms (cheap); its PSS (which costs tens of
    milliseconds to read for a large tree) when the resident set reaches a new high, at most
    every 0.25 s, and at least every second.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        high, last = 0, 0.0
        while not done.is_set():
            pids = _tree(proc.pid)
            rss, now = _rss_kib(pids), time.perf_counter()
            if (rss > high and now - last >= 0.25) or now - last >= 1.0:
                peak = max(peak, _pss_kib(pids))
                high, last = max(high, rss), now
            time.sleep(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, _ = proc.communicate()
    done.set()
    thread.join()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out[-3000:]}")
    return seconds, peak / 1024, out


def runner_cmd(data: Path, out: Path, *extra: str) -> list[str]:
    return [PY, "-m", "helpers.runner", "--data", str(data), "--out", str(out), *extra]


def rerun_notebooks(out: Path) -> list[str]:
    """The notebooks a run executed (rather than took from its cache)."""
    man = json.loads((out / "manifest.json").read_text())
    return [nb["notebook"] for nb in man["notebooks"] if not nb["cached"]]


def check(what: str, got: list[str], expected: list[str]) -> None:
    """A benchmark that measured the wrong thing must not be reported."""
    if got != expected:
        raise RuntimeError(f"{what}: expected to run {expected}, ran {got}")


def serial_papermill(nbs: list[Path], data: Path, cache: Path) -> tuple[float, float]:
    """The notebooks one after another with the plain papermill command, as an analyst
    without the runner would: seconds in all, peak MiB."""
    shutil.rmtree(cache, ignore_errors=True)
    plain_out = TMP / "plain"
    shutil.rmtree(plain_out, ignore_errors=True)
    plain_out.mkdir(parents=True)
    total, peak = 0.0, 0.0
    for nb in nbs:
        cmd = [PY, "-m", "papermill", str(nb), str(plain_out / nb.name), "-k", "helpers"]
        cmd += ["-p", "data_dir", str(data), "-p", "out_dir", str(plain_out)]
        s, p, _ = timed(cmd, {"HELPERS_CACHE": str(cache)})
        total += s
        peak = max(peak, p)
    return total, peak


def bench_runs(repeats: int) -> tuple[list[Measure], dict[str, float]]:
    """The full run, the same without the warm start, and serial Papermill, taken in turn in
    each repeat (so that a change of load on the machine falls on all three alike); then
    the reruns."""
    data = ROOT / "data" / "demo"
    out = TMP / "out"
    cache = TMP / "cache"  # the full run's, kept for the reruns below
    full, cold, serial, per_nb = [], [], [], {}
    peak_full = peak_cold = peak_serial = 0.0
    nbs = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for _ in range(repeats):
        shutil.rmtree(cache, ignore_errors=True)
        s, peak, _ = timed(runner_cmd(data, out), {"HELPERS_CACHE": str(cache)})
        full.append(s)
        peak_full = max(peak_full, peak)
        check("full run", rerun_notebooks(out), [nb.name for nb in nbs])
        man = json.loads((out / "manifest.json").read_text())
        for nb in man["notebooks"]:
            per_nb.setdefault(nb["notebook"], []).append(nb["seconds"])
        cold_cache, cold_out = TMP / "cache-no-warm", TMP / "out-no-warm"
        shutil.rmtree(cold_cache, ignore_errors=True)
        s, peak, _ = timed(
            runner_cmd(data, cold_out, "--no-warm"), {"HELPERS_CACHE": str(cold_cache)}
        )
        cold.append(s)
        peak_cold = max(peak_cold, peak)
        check("full run, --no-warm", rerun_notebooks(cold_out), [nb.name for nb in nbs])
        s, peak = serial_papermill(nbs, data, TMP / "cache-plain")
        serial.append(s)
        peak_serial = max(peak_serial, peak)
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
                    "import json,sys; from helpers import params; "
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
            "full run (runner, 2 workers, empty result cache)",
            "demo",
            full,
            peak_full,
            "serial plain papermill CLI",
            statistics.median(full) / statistics.median(serial),
        ),
        Measure(
            "  the same without the warm start (--no-warm: a new Papermill process and kernel "
            "per notebook)",
            "demo",
            cold,
            peak_cold,
            "serial plain papermill CLI",
            statistics.median(cold) / statistics.median(serial),
        ),
        Measure("serial plain papermill CLI, no report (comparison)", "demo", serial, peak_serial),
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rows", default="1000000,10000000,100000000")
    ap.add_argument("--keep", action="store_true", help="keep the generated encounter files")
    ap.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    args = ap.parse_args(argv)
    TMP.mkdir(exist_ok=True)
    load_before = _load()
    ms, per_nb = bench_runs(args.repeats)
    import bench_encounters  # noqa: PLC0415 - sits beside this file

    sizes = [int(r) for r in args.rows.split(",") if r.strip()]  # --rows "": runs only
    enc = bench_encounters.run(sizes, args.repeats, TMP)
    full = next(m for m in ms if m.what.startswith("full run"))
    for m in enc:
        if m.what.startswith("whole run"):
            m.compare, m.ratio = "full run (demo encounters)", m.median / full.median
            m.note = f"adds {m.median - full.median:.1f} s to the full demonstration run"
    load = f"{load_before} before, {_load()} after"
    write_markdown(Path(args.output), ms + enc, per_nb, args.repeats, load)
    if not args.keep:
        for path in TMP.glob("encounters-*.parquet"):
            path.unlink()
    print(Path(args.output).read_text())
    return 0


def _load() -> str:
    """The 1-, 5- and 15-minute load averages."""
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def write_markdown(
    path: Path, ms: list[Measure], per_nb: dict[str, float], repeats: int, load: str = ""
) -> None:
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
        f"load average {load}); wall time is the median of {repeats} runs, peak memory the "
        "largest proportional set size (PSS) of the whole process tree: a page that forked "
        "processes share counts once, not once per process.",
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
