"""Open a data folder as a validated dataset, validated once and cached as Parquet.

``open_dataset(folder)`` fingerprints the folder's table files (plus ``columns.yaml`` and
``dataset.yaml``); the first call validates it with :mod:`helpers.validate` and stores the
typed tables under ``<cache>/validated/<fingerprint>/``; later calls with unchanged files
read that store. Bad data raises :class:`helpers.validate.DataError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import yaml

from helpers import duck, paths
from helpers.contract import SPECS
from helpers.load import COLUMNS_FILE, SUFFIXES
from helpers.validate import DataError, sha256, validate_folder

DATASET_FILE = "dataset.yaml"


def cache_root() -> Path:
    """Where validated tables and notebook results are kept: ``$HELPERS_CACHE`` if set,
    else ``.cache`` in the project."""
    return Path(os.environ.get("HELPERS_CACHE") or paths.CACHE)


def _hash_memo(path: Path, memo: dict[str, Any]) -> str:
    """SHA-256 of a file, memoised by (path, size, mtime) so huge files are hashed once."""
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    if key not in memo:
        memo[key] = sha256(path)
    return memo[key]


def fingerprint(folder: Path) -> str:
    """Hash of every file that can affect the validated tables."""
    memo_path = cache_root() / "hashes.json"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    parts = []
    for path in sorted(folder.iterdir()):
        if path.is_file() and (
            path.suffix.lower() in SUFFIXES or path.name in (COLUMNS_FILE, DATASET_FILE)
        ):
            parts.append((path.name, _hash_memo(path, memo)))
    memo_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = memo_path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(memo))
    tmp.replace(memo_path)
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:24]


def read_identity(folder: Path) -> dict[str, Any]:
    """Name and synthetic flag from the optional ``dataset.yaml``."""
    path = folder / DATASET_FILE
    doc: dict[str, Any] = {}
    if path.exists():
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        doc = loaded if isinstance(loaded, dict) else {}
    return {
        "name": str(doc.get("name") or folder.resolve().name),
        "synthetic": bool(doc.get("synthetic", False)),
    }


@dataclass
class Dataset:
    """A validated data folder: typed tables in a Parquet store."""

    folder: Path
    store: Path
    meta: dict[str, Any]

    @property
    def name(self) -> str:
        return self.meta["name"]

    @property
    def synthetic(self) -> bool:
        return self.meta["synthetic"]

    @property
    def inputs(self) -> list[dict[str, Any]]:
        return self.meta["inputs"]

    @property
    def fingerprint(self) -> str:
        return self.store.name

    @cached_property
    def window(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        start, end = self.meta["window"]
        return pd.Timestamp(start), pd.Timestamp(end)

    def has(self, table: str) -> bool:
        return (self.store / f"{table}.parquet").exists()

    def parquet(self, table: str) -> Path:
        path = self.store / f"{table}.parquet"
        if not path.exists():
            raise KeyError(f"table {table!r} was not provided")
        return path

    def table(self, table: str, columns: list[str] | None = None) -> pd.DataFrame:
        """A table with contract dtypes (do not call this for encounters: use DuckDB)."""
        df = pd.read_parquet(self.parquet(table), columns=columns)
        for col in SPECS[table].columns:
            if col.name in df.columns and col.type in ("string", "category"):
                df[col.name] = df[col.name].astype(object)
        return df

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with one view per provided table."""
        con = duck.connect()
        for table in SPECS:
            if self.has(table):
                path = duck.lit(str(self.parquet(table)))
                con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet({path})")
        return con


def open_dataset(data_dir: str | Path) -> Dataset:
    """Validate (once) and open a data folder."""
    folder = Path(data_dir)
    if not folder.is_dir():
        result = validate_folder(folder)
        raise DataError(result)
    key = fingerprint(folder)
    store = cache_root() / "validated" / key
    meta_path = store / "meta.json"
    if meta_path.exists():
        return Dataset(folder, store, _as_read_from(json.loads(meta_path.read_text()), folder))
    tmp = store.with_name(f"{key}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    result = validate_folder(folder, tmp)
    if not result.ok:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DataError(result)
    access = pd.read_parquet(tmp / "access.parquet", columns=["month"])["month"]
    window = (access.min(), access.max() + pd.offsets.MonthEnd(0))
    meta = {
        **read_identity(folder),
        "inputs": result.inputs,
        "extra_columns": result.extra_columns,
        "tables": result.tables,
        "window": [str(window[0].date()), str(window[1].date())],
    }
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    try:
        tmp.rename(store)
    except OSError:  # another process stored the same fingerprint first
        shutil.rmtree(tmp, ignore_errors=True)
    return Dataset(folder, store, _as_read_from(json.loads(meta_path.read_text()), folder))


def _as_read_from(meta: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The stored record as seen from ``folder``: another folder with the same files may have
    been validated first, and its name and paths must not leak into this run's provenance."""
    inputs = [{**i, "path": str((folder / Path(i["path"]).name).resolve())} for i in meta["inputs"]]
    return {**meta, **read_identity(folder), "inputs": inputs}
