"""The data layer: the contract, reading, checking and the typed store of a data folder.

- :mod:`helpers.data.contract`: the contract, declared once;
- :mod:`helpers.data.read`: find each table's file and stage its rows as written;
- :mod:`helpers.data.checks`: every check as an Ibis expression (compiled once,
  :mod:`helpers.data.compiled`), run in one engine by :mod:`helpers.data.folder`;
- :mod:`helpers.data.store`: the validated tables as Parquet, and :class:`Dataset`;
- :mod:`helpers.data.docs`, :mod:`helpers.data.template`, :mod:`helpers.data.quality`: what is
  generated from the contract (data dictionary, README tables, Excel template, report);
- :mod:`helpers.data.cli`: ``python -m helpers.validate DATA_DIR``.

Notebooks call :func:`open_dataset` (through ``helpers.notebook.Analysis``); opening an
already validated folder does not load the engine.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from helpers.data.result import DataError, ValidationResult, Violation
from helpers.data.store import Dataset, cache_root, fingerprint, open_store

STORE_VARIABLE = "HELPERS_STORE"  # the validated store a runner gives its notebooks

__all__ = [
    "DataError",
    "Dataset",
    "ValidationResult",
    "Violation",
    "cache_root",
    "fingerprint",
    "open_dataset",
    "validate_folder",
]


def validate_folder(
    folder: Path | str, dest: Path | str | None = None, today: dt.date | None = None
) -> Any:
    """Check a data folder against the contract (see
    :func:`helpers.data.folder.validate_folder`, which this calls).

    Parameters
    ----------
    folder
        The data folder.
    dest
        Where to write the typed tables (default: nowhere kept).
    today
        Dates after this day are in the future (default: the day it runs).

    Returns
    -------
    ValidationResult

    Examples
    --------
    >>> validate_folder("no/such/folder").ok
    False
    """
    from helpers.data.folder import validate_folder as check

    return check(folder, dest, today)


def open_dataset(data_dir: str | Path) -> Dataset:
    """Validate (once) and open a data folder.

    Parameters
    ----------
    data_dir
        The data folder.

    Returns
    -------
    Dataset
        The typed tables, cached under :func:`cache_root`.

    Raises
    ------
    DataError
        The folder breaks the contract; ``str()`` is the summary of every problem.

    Notes
    -----
    The runner validates once and gives its notebooks the store it made
    (``HELPERS_STORE``): they open it without reading the data again and, for tables read
    from a database, without connecting to it.

    Examples
    --------
    >>> # run.data = open_dataset("data/demo"); run.data.table("sites")
    """
    given = os.environ.get(STORE_VARIABLE)
    if given and (Path(given) / "meta.json").is_file():
        from helpers.data.store import _as_read_from

        meta = json.loads((Path(given) / "meta.json").read_text())
        return Dataset(Path(data_dir), Path(given), _as_read_from(meta, Path(data_dir)))
    return open_store(data_dir, lambda folder, dest: validate_folder(folder, dest))
