"""Open a data folder as a validated, cached dataset for the notebooks.

Interface (implemented with :mod:`helpers.validate`):

- ``open_dataset(data_dir) -> Dataset``: validates the folder once (cached by a fingerprint of
  its files) and raises :class:`helpers.validate.DataError` with a readable summary when it
  breaks the data contract.
- ``Dataset.name`` / ``.synthetic``: from the folder's optional ``dataset.yaml``.
- ``Dataset.has(table)``, ``Dataset.table(table, columns=None)`` (pandas, contract dtypes),
  ``Dataset.parquet(table)`` (path of the validated Parquet file, for DuckDB),
  ``Dataset.window`` (first day of the first access month, last day of the last one),
  ``Dataset.inputs`` (path, sha256, rows of each input file, for the manifest).
"""

from __future__ import annotations

from pathlib import Path


class Dataset:  # pragma: no cover - replaced by the loader
    name: str
    synthetic: bool


def open_dataset(data_dir: str | Path) -> Dataset:  # pragma: no cover
    raise NotImplementedError
