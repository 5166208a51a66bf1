"""``python -m helpers.pipeline --data DATA --out OUT``: run every analysis notebook and
publish the output folder (``make report``).

It validates the data (nothing runs on bad data), runs the notebooks, writes
``findings.json`` and ``manifest.json``, builds the report, and only then replaces ``OUT``. On
any failure ``OUT`` is left exactly as it was and the command exits non-zero.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

import yaml

from helpers import paths
from helpers.pipeline import RunError
from helpers.pipeline.run import Runner


def _parse_overrides(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise RunError(f"-p expects NAME=VALUE, got {pair!r}")
        name, value = pair.split("=", 1)
        out[name.strip()] = yaml.safe_load(value)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m helpers.pipeline", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--data", default=str(paths.DEMO_DATA), help="data folder")
    ap.add_argument("--out", default=str(paths.DEFAULT_OUT), help="output folder")
    ap.add_argument("--params", default=None, help="params file (YAML)")
    ap.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--force", action="store_true", help="rerun every notebook")
    ap.add_argument("--no-report", action="store_true", help="skip the report")
    ap.add_argument(
        "--notebooks", default=str(paths.NOTEBOOKS), help="folder of the notebooks to run"
    )
    ap.add_argument(
        "--no-warm",
        action="store_true",
        help="start each notebook as a new Papermill process instead of forking it from a "
        "warm one (slower; for comparison)",
    )
    args = ap.parse_args(argv)
    try:
        overrides = _parse_overrides(args.param)
    except (RunError, yaml.YAMLError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    runner = Runner(
        Path(args.data),
        Path(args.out),
        Path(args.params) if args.params else None,
        overrides,
        jobs=args.jobs,
        force=args.force,
        report=not args.no_report,
        notebook_dir=Path(args.notebooks),
        warm=not args.no_warm,
    )

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        return runner.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
        from helpers.pipeline.pool import discard_early

        discard_early()  # if started early for nothing (the run stopped before notebooks)
