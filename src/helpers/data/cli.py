"""``python -m helpers.validate DATA_DIR [--html REPORT]``: check a data folder.

Prints one summary (file, column, rule, how many rows, the first row numbers as the analyst
sees them: header = row 1) and exits 2 when anything breaks the contract, 0 otherwise. With
``--html``, also writes the data-quality report (:mod:`helpers.data.quality`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from helpers.data.folder import validate_folder


def main(argv: list[str] | None = None) -> int:
    """Check a data folder and print the summary.

    Parameters
    ----------
    argv
        ``DATA_DIR [--html REPORT]`` (default: the command line).

    Returns
    -------
    int
        0 when the folder meets the contract, 2 otherwise.

    Examples
    --------
    >>> main(["no/such/folder"])  # doctest: +ELLIPSIS
    no/such/folder: 1 problem(s) in 1 file(s); nothing was run.
    ...
    2
    """
    ap = argparse.ArgumentParser(
        prog="python -m helpers.validate",
        description="Check a data folder against the data contract.",
    )
    ap.add_argument("data_dir")
    ap.add_argument("--html", default=None, help="also write a data-quality report here")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = validate_folder(args.data_dir, tmp)
        print(result.summary())
        if args.html:
            from helpers.data.quality import load_typed, report_html

            out = Path(args.html)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(report_html(result, load_typed(Path(tmp))), encoding="utf-8")
            print(f"Data-quality report: {out}")
    return 0 if result.ok else 2


if __name__ == "__main__":
    sys.exit(main())
