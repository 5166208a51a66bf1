"""``python -m helpers.validate DATA_DIR [--html REPORT]`` (``make validate``).

The entry point of :mod:`helpers.data.cli`; the validator itself is
:func:`helpers.data.folder.validate_folder`.
"""

from __future__ import annotations

import sys

from helpers.data import DataError, ValidationResult, validate_folder
from helpers.data.contract import OPTIONAL_TABLES, REQUIRED_TABLES

__all__ = [
    "OPTIONAL_TABLES",
    "REQUIRED_TABLES",
    "DataError",
    "ValidationResult",
    "main",
    "validate_folder",
]


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.validate DATA_DIR [--html REPORT]`` (:func:`helpers.data.cli.main`).

    Parameters
    ----------
    argv
        The arguments (default: the command line).

    Returns
    -------
    int
        0 when the folder meets the contract, 2 otherwise.

    Examples
    --------
    >>> # main(["data/demo"])
    """
    from helpers.data.cli import main as cli

    return cli(argv)


if __name__ == "__main__":
    sys.exit(main())
