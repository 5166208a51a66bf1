"""``python -m helpers.validate DATA_DIR [--html REPORT]`` (``make validate``).

The entry point of :mod:`helpers.data.cli`; the validator itself is
:func:`helpers.data.checks.validate_folder`.
"""

from __future__ import annotations

import sys

from helpers.data.contract import OPTIONAL_TABLES, REQUIRED_TABLES
from helpers.data.result import DataError, ValidationResult

__all__ = [
    "OPTIONAL_TABLES",
    "REQUIRED_TABLES",
    "DataError",
    "ValidationResult",
    "main",
    "validate_folder",
]


def validate_folder(*args, **kwargs) -> ValidationResult:
    """See :func:`helpers.data.checks.validate_folder`."""
    from helpers.data.checks import validate_folder as check

    return check(*args, **kwargs)


def main(argv: list[str] | None = None) -> int:
    """See :func:`helpers.data.cli.main`."""
    from helpers.data.cli import main as cli

    return cli(argv)


if __name__ == "__main__":
    sys.exit(main())
