"""The typed store: a validated data folder kept as Parquet, one file per table.

``open_store(folder, validate)`` fingerprints the folder's table files (plus
``columns.yaml`` and ``dataset.yaml``); the first call validates it and keeps the typed tables
under ``<cache>/validated/<fingerprint>/``; later calls with unchanged files read that store.
:class:`Dataset` is what notebooks hold. :func:`pandera_schema` is the contract of a stored
table as a pandera schema, generated from :mod:`helpers.data.contract`.

This module does not import the checker: the validation function is passed in, so that
notebooks that open an already validated store never load the engine.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from helpers import paths
from helpers.data.contract import SPECS, Column, Table
from helpers.data.read import COLUMNS_FILE, SUFFIXES
from helpers.data.result import DataError, ValidationResult, Violation
from helpers.data.sources import SOURCES_FILE

if TYPE_CHECKING:
    import duckdb
    import ibis.backends.duckdb
    import pandera.pandas as pa

DATASET_FILE = "dataset.yaml"
# The pandas dtype of each contract type in a table read from the store.
DTYPES = {
    "string": "object",
    "category": "object",
    "integer": "Int64",
    "number": "float64",
    "date": "datetime64[ns]",
    "month": "datetime64[ns]",
    "boolean": "boolean",
}


def cache_root() -> Path:
    """Where validated tables and notebook results are kept.

    Returns
    -------
    Path
        ``$HELPERS_CACHE`` if set, else ``.cache`` in the project.

    Examples
    --------
    >>> cache_root().name in (".cache", Path(os.environ.get("HELPERS_CACHE", ".cache")).name)
    True
    """
    return Path(os.environ.get("HELPERS_CACHE") or paths.CACHE)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _hash_memo(path: Path, memo: dict[str, Any]) -> str:
    """SHA-256 of a file, memoised by (path, size, mtime) so huge files are hashed once."""
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    if key not in memo:
        memo[key] = _sha256(path)
    return memo[key]


def fingerprint(folder: Path) -> str:
    """Hash of every file that can affect the validated tables.

    Parameters
    ----------
    folder
        The data folder.

    Returns
    -------
    str
        24 hexadecimal digits; the same files (names and bytes) give the same fingerprint.

    Examples
    --------
    >>> import tempfile
    >>> len(fingerprint(Path(tempfile.mkdtemp())))
    24
    """
    memo_path = cache_root() / "hashes.json"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    parts = []
    for path in sorted(folder.iterdir()):
        if path.is_file() and (
            path.suffix.lower() in SUFFIXES
            or path.name in (COLUMNS_FILE, DATASET_FILE, SOURCES_FILE)
        ):
            parts.append((path.name, _hash_memo(path, memo)))
    memo_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = memo_path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(memo))
    tmp.replace(memo_path)
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:24]


def read_identity(folder: Path) -> dict[str, Any]:
    """Name and synthetic flag from the optional ``dataset.yaml``.

    Parameters
    ----------
    folder
        The data folder.

    Returns
    -------
    dict
        ``name`` (default: the folder's name) and ``synthetic`` (default: False).

    Examples
    --------
    >>> read_identity(Path("/tmp/my-export"))
    {'name': 'my-export', 'synthetic': False}
    """
    path = folder / DATASET_FILE
    doc: dict[str, Any] = {}
    if path.exists():
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        doc = loaded if isinstance(loaded, dict) else {}
    return {
        "name": str(doc.get("name") or folder.resolve().name),
        "synthetic": bool(doc.get("synthetic", False)),
    }


def read_table(path: Path, spec: Table, columns: list[str] | None = None) -> pd.DataFrame:
    """A stored table as pandas, its rows in the order of the input file.

    Parameters
    ----------
    path
        The stored Parquet file.
    spec
        The table's contract.
    columns
        Only these columns (default: all of the contract's, in order).

    Returns
    -------
    pandas.DataFrame
        With the contract's dtypes (:func:`with_dtypes`).

    Examples
    --------
    >>> # read_table(store / "sites.parquet", SPECS["sites"])
    """
    wanted = list(columns or spec.column_names)
    df = pd.read_parquet(path, columns=[*wanted, "_r"])
    if not df["_r"].is_monotonic_increasing:  # written in parallel
        df = df.sort_values("_r", kind="stable", ignore_index=True)
    return with_dtypes(df.drop(columns="_r"), spec)


def with_dtypes(df: pd.DataFrame, spec: Table) -> pd.DataFrame:
    """A table read from the store with the contract's pandas dtypes.

    Parameters
    ----------
    df
        Columns of the table, as read from Parquet.
    spec
        The table's contract.

    Returns
    -------
    pandas.DataFrame
        The same frame, with the dtypes of :data:`DTYPES` (changed in place).

    Examples
    --------
    >>> df = with_dtypes(pd.DataFrame({"visits": [3.0, None]}), SPECS["access"])
    >>> str(df["visits"].dtype)
    'Int64'
    """
    for col in spec.columns:
        if col.name not in df.columns:
            continue
        want = DTYPES[col.type]
        if want == "object":
            df[col.name] = df[col.name].astype(object).where(df[col.name].notna(), None)
        elif str(df[col.name].dtype) != want:
            df[col.name] = df[col.name].astype(want)
    return df


def _checks(col: Column) -> list[Any]:
    import pandera.pandas as pa

    checks = []
    if col.min is not None:
        checks.append(pa.Check.gt(col.min) if col.min_exclusive else pa.Check.ge(col.min))
    if col.max is not None:
        checks.append(pa.Check.le(col.max))
    if col.categories:
        checks.append(pa.Check.isin(list(col.categories)))
    return checks


def pandera_schema(spec: Table) -> pa.DataFrameSchema:
    """The contract of a stored table as a pandera schema: dtypes, empty cells only where
    the contract allows them, bounds, categories and unique keys.

    Parameters
    ----------
    spec
        The table's contract.

    Returns
    -------
    pandera.pandas.DataFrameSchema
        Validates a frame returned by :meth:`Dataset.table`.

    Examples
    --------
    >>> schema = pandera_schema(SPECS["sites"])
    >>> schema.columns["population_served"].nullable
    True
    """
    import pandera.pandas as pa

    columns = {
        col.name: pa.Column(
            DTYPES[col.type],
            checks=_checks(col),
            nullable=not col.required,
            description=col.meaning,
            title=col.name,
            metadata={"unit": col.unit, "example": col.example, "type": col.type},
        )
        for col in spec.columns
    }
    unique = [list(k) for k in spec.unique]
    return pa.DataFrameSchema(
        columns,
        strict=True,
        ordered=True,
        unique=unique[0] if len(unique) == 1 else None,
        name=spec.name,
        description=spec.meaning,
    )


@dataclass
class Dataset:
    """A validated data folder: typed tables in a Parquet store.

    Notebooks get it as ``run.data``: ``run.data.table(name)``, ``run.data.parquet(name)``,
    ``run.data.has(name)``, ``run.data.window``, ``run.data.name``, ``run.data.synthetic``.
    """

    folder: Path
    store: Path
    meta: dict[str, Any]

    @property
    def name(self) -> str:
        """The data's name (``dataset.yaml``, else the folder's name)."""
        return self.meta["name"]

    @property
    def synthetic(self) -> bool:
        """Whether the data are simulated (``dataset.yaml``)."""
        return self.meta["synthetic"]

    @property
    def inputs(self) -> list[dict[str, Any]]:
        """The inputs: for a file, table, path, sheet, SHA-256 and rows; for a table read
        from a database, table, engine, source (its name there), rows and fingerprint."""
        return self.meta["inputs"]

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the input files (:func:`fingerprint`)."""
        return self.store.name

    @cached_property
    def window(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The analysis window: first day of the first month of ``access`` to the last day
        of its last month.

        Returns
        -------
        (Timestamp, Timestamp)

        Examples
        --------
        >>> ds = Dataset(Path("."), Path("."), {"window": ["2017-01-01", "2024-12-31"]})
        >>> ds.window[1]
        Timestamp('2024-12-31 00:00:00')
        """
        start, end = self.meta["window"]
        return pd.Timestamp(start), pd.Timestamp(end)

    def has(self, table: str) -> bool:
        """Whether the folder provided ``table``.

        Parameters
        ----------
        table
            A table of the contract.

        Returns
        -------
        bool

        Examples
        --------
        >>> ds = Dataset(Path("."), Path("/nonexistent"), {})
        >>> ds.has("survey")
        False
        """
        return (self.store / f"{table}.parquet").exists() or self._sums(table).exists()

    def _sums(self, table: str) -> Path:
        return self.store / f"{table}.sums.parquet"

    def sums(self, table: str) -> Path:
        """The sums of a table with patient-level rows (``encounters``: per clinician, site
        and billed code combination; ``time_allocation``: per clinician, site, month,
        activity and after-hours flag), computed where the rows are (for a table read from a
        database, the only thing that left it). See :mod:`helpers.analysis.encounters` and
        :func:`helpers.analysis.time_allocation.minute_sums`.

        Parameters
        ----------
        table
            ``encounters`` or ``time_allocation``.

        Returns
        -------
        Path
            A Parquet file.

        Raises
        ------
        KeyError
            The folder did not provide the table.

        Examples
        --------
        >>> # pc = encounters.per_clinician(run.data.sums("encounters"), fee)
        """
        path = self._sums(table)
        if not path.exists():
            raise KeyError(f"table {table!r} was not provided")
        return path

    def parquet(self, table: str) -> Path:
        """The stored Parquet file of a table (for engines that read it where it lies).

        Besides the contract's columns it holds ``_r`` (the row the value was read from, as
        the checks counted it) and the checks' flags (``_bad_*``, all false in a valid
        store): read the contract's columns by name.

        Parameters
        ----------
        table
            A table of the contract.

        Returns
        -------
        Path

        Raises
        ------
        KeyError
            The folder did not provide the table's rows (a table read from a database with
            patient-level rows provides only its sums: :meth:`sums`).

        Examples
        --------
        >>> # path = run.data.parquet("clinicians")  # then read it with DuckDB or Ibis
        """
        path = self.store / f"{table}.parquet"
        if not path.exists():
            if self._sums(table).exists():
                raise KeyError(
                    f"table {table!r} was read where it lives: only its sums are here "
                    "(run.data.sums)"
                )
            raise KeyError(f"table {table!r} was not provided")
        return path

    def table(self, table: str, columns: list[str] | None = None) -> pd.DataFrame:
        """A table as a pandas frame with the contract's dtypes (text as ``object``, whole
        numbers ``Int64``, numbers ``float64``, dates and months ``datetime64[ns]``, booleans
        ``boolean``). Not for ``encounters``, which may not fit in memory: use
        :meth:`parquet` or :meth:`ibis`.

        Parameters
        ----------
        table
            A table of the contract.
        columns
            Only these columns (default: all, in the contract's order).

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> # clinicians = run.data.table("clinicians")
        """
        return read_table(self.parquet(table), SPECS[table], columns)

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with one view per provided table.

        Returns
        -------
        duckdb.DuckDBPyConnection
            Views show the contract's columns only.

        Examples
        --------
        >>> # run.data.connect().sql("SELECT count(*) FROM encounters")
        """
        from helpers.data.engine import connect

        con = connect()
        for sql in self._views():
            con.execute(sql)
        return con

    def _views(self) -> list[str]:
        from helpers.data.engine import lit

        return [
            f"CREATE VIEW {table} AS SELECT {', '.join(spec.column_names)} "
            f"FROM read_parquet({lit(str(self.parquet(table)))})"
            for table, spec in SPECS.items()
            if (self.store / f"{table}.parquet").exists()
        ]

    def ibis(self) -> ibis.backends.duckdb.Backend:
        """An Ibis backend with one table per provided table (as :meth:`connect`).

        Returns
        -------
        ibis.backends.duckdb.Backend
            ``.table(name)`` is the stored table as an Ibis expression.

        Examples
        --------
        >>> # run.data.ibis().table("encounters").count().execute()
        """
        from helpers.data.engine import backend

        con = backend()
        for sql in self._views():
            con.con.execute(sql)
        return con


# Beside the data layer's code but not part of it: the demonstration generator and the
# published reference numbers. Changing them does not make validated stores stale.
NOT_THE_LAYER = ("demo.py", "demo_model.py", "demo_truth.py", "reference.py", "reference")


def layer_hash() -> str:
    """:func:`helpers.pipeline.cache.tree_hash` of the data layer's code, without
    :data:`NOT_THE_LAYER`: part of the key of every store."""
    from helpers.pipeline.cache import tree_hash

    return tree_hash(Path(__file__).parent, skip=NOT_THE_LAYER)


def open_store(data_dir: str | Path, validate: Callable[[Path, Path], ValidationResult]) -> Dataset:
    """Validate (once) and open a data folder.

    Parameters
    ----------
    data_dir
        The data folder.
    validate
        ``validate(folder, dest)``: checks the folder and writes its typed tables to
        ``dest`` (:func:`helpers.data.folder.validate_folder`).

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        The folder breaks the contract; ``str()`` is the summary.

    Examples
    --------
    >>> # open_store("data/demo", helpers.data.folder.validate_folder)
    """
    folder = Path(data_dir)
    if not folder.is_dir():
        result = ValidationResult(folder)
        result.errors = [Violation(str(folder), "", "data folder not found")]
        raise DataError(result)
    # the store's layout and checks are the data layer's: a store made by other code is not used
    key = f"{fingerprint(folder)}-{layer_hash()[:12]}"
    remote = (folder / SOURCES_FILE).exists()
    store = cache_root() / "validated" / key
    meta_path = store / "meta.json"
    # A folder with tables in a database is checked there every time it is opened (the
    # tables may have changed); its store is keyed by their fingerprints as well.
    if meta_path.exists() and not remote:
        return Dataset(folder, store, _as_read_from(json.loads(meta_path.read_text()), folder))
    tmp = store.with_name(f"{key}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    result = validate(folder, tmp)
    if not result.ok:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DataError(result)
    if remote:
        content = json.dumps(sorted(str(i.get("fingerprint")) for i in result.inputs))
        key = f"{key}-{hashlib.sha256(content.encode()).hexdigest()[:12]}"
        store = cache_root() / "validated" / key
        meta_path = store / "meta.json"
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
    inputs = [
        {**i, "path": str((folder / Path(i["path"]).name).resolve())} if "path" in i else i
        for i in meta["inputs"]
    ]
    return {**meta, **read_identity(folder), "inputs": inputs}
