"""Tables read where they live: ``sources.yaml`` names a database table for a table of the
contract, read through Ibis.

A data folder may hold, beside its files, a ``sources.yaml``::

    encounters:
      engine: ibis               # or duckdb, the default for files
      url: ${WAREHOUSE_URL}      # from the environment, never written anywhere
      table: analytics.encounters_2024

The URL is taken from the environment when the table is read, in the process that reads it,
and appears in no message, record or output: what names a source is the table's name in the
contract and in the warehouse, and the kind of engine (the URL's scheme). Every problem of a
source (a variable not set, a malformed URL, a server that cannot be reached or refuses the
credentials, a table or column that is not there, an Ibis backend that is not installed) is
one :class:`~helpers.data.result.Violation` naming the table and the source.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from helpers.data.contract import SPECS
from helpers.data.read import read_yaml_mapping
from helpers.data.result import Violation

SOURCES_FILE = "sources.yaml"
ENGINES = ("ibis", "duckdb")
TIMEOUT = 10  # seconds to reach a server (HELPERS_SOURCE_TIMEOUT)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# The pip extra of ibis-framework each URL scheme needs.
EXTRAS = {
    "postgres": "postgres",
    "postgresql": "postgres",
    "mssql": "mssql",
    "snowflake": "snowflake",
    "databricks": "databricks",
    "pyspark": "pyspark",
    "mysql": "mysql",
    "oracle": "oracle",
    "trino": "trino",
    "bigquery": "bigquery",
    "clickhouse": "clickhouse",
    "duckdb": "duckdb",
    "sqlite": "sqlite",
    "datafusion": "datafusion",
    "risingwave": "risingwave",
    "impala": "impala",
    "druid": "druid",
    "exasol": "exasol",
    "flink": "flink",
}
# Modules each backend imports, to tell "not installed" from other import failures.
DRIVERS = {
    "postgres": ("psycopg", "psycopg2"),
    "mssql": ("pyodbc",),
    "snowflake": ("snowflake",),
    "databricks": ("databricks",),
    "pyspark": ("pyspark", "py4j"),
    "mysql": ("MySQLdb",),
    "oracle": ("oracledb",),
    "trino": ("trino",),
    "bigquery": ("google",),
    "clickhouse": ("clickhouse_connect",),
}


class SourceError(Exception):
    """A source cannot be read; ``str()`` is the message for the analyst (no secret)."""


@dataclass(frozen=True)
class WarehouseSource:
    """A table of the contract read from a database table through Ibis."""

    table: str  # the contract's table
    name: str  # the database table, e.g. ``analytics.encounters_2024``
    url: str  # as written in sources.yaml: ``${VARIABLE}`` references, never resolved here
    engine: str = "ibis"

    @property
    def label(self) -> str:
        """What the analyst reads: ``sources.yaml [encounters: analytics.encounters_2024]``."""
        return f"{SOURCES_FILE} [{self.table}: {self.name}]"

    @property
    def variables(self) -> list[str]:
        """The environment variables the URL names."""
        return _VAR.findall(self.url)

    def resolve(self) -> str:
        """The URL with its variables taken from the environment.

        Returns
        -------
        str
            The URL (which may hold a password: never print it).

        Raises
        ------
        SourceError
            A variable is not set, or the URL is malformed.

        Examples
        --------
        >>> WarehouseSource("encounters", "e", "${NO_SUCH_VARIABLE_X}").resolve()
        Traceback (most recent call last):
        ...
        helpers.data.sources.SourceError: environment variable NO_SUCH_VARIABLE_X is not set
        """
        for var in self.variables:
            if not os.environ.get(var):
                raise SourceError(f"environment variable {var} is not set")
        url = _VAR.sub(lambda m: os.environ[m.group(1)], self.url).strip()
        if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", url):
            raise SourceError(
                "malformed URL (expected engine://user:password@host:port/database, e.g. "
                "postgres://analyst:…@warehouse.example.org:5432/analytics)"
            )
        return url

    @property
    def scheme(self) -> str:
        """The URL's scheme (the kind of engine), when it can be told without a secret."""
        text = self.url
        try:
            text = self.resolve()
        except SourceError:
            pass
        return text.split("://", 1)[0].lower() if "://" in text else ""

    @property
    def identity(self) -> dict[str, str]:
        """What the provenance records of the source: engine and table, no URL."""
        return {"engine": f"{self.engine}/{self.scheme}" if self.scheme else self.engine}


def read_sources(folder: Path) -> tuple[dict[str, WarehouseSource], list[Violation]]:
    """The optional ``sources.yaml``: the tables read from a database instead of a file.

    Parameters
    ----------
    folder
        The data folder.

    Returns
    -------
    sources : dict
        Contract table -> :class:`WarehouseSource` (entries with ``engine: duckdb`` are files
        and are left out).
    problems : list of Violation
        Invalid YAML, unknown tables or engines, a missing ``url`` or ``table``, a URL written
        out rather than named by an environment variable.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "sources.yaml").write_text("encounters:\\n  engine: ibis\\n"
    ...     "  url: ${WAREHOUSE_URL}\\n  table: analytics.enc\\n")
    >>> read_sources(d)[0]["encounters"].label
    'sources.yaml [encounters: analytics.enc]'
    """
    doc, problems = read_yaml_mapping(
        folder / SOURCES_FILE,
        lambda exc: f"is not valid YAML: {exc}",
        "must be a mapping of tables to sources",
    )
    out: dict[str, WarehouseSource] = {}
    for key, entry in doc.items():
        table = str(key).strip().lower()

        def bad(rule: str, table: str = table, key: object = key) -> None:
            problems.append(Violation(SOURCES_FILE, str(key), rule, table=table))

        if table not in SPECS:
            bad(f"not a table of the data contract ({', '.join(SPECS)})")
            continue
        if not isinstance(entry, dict):
            bad("must be a mapping with engine, url and table")
            continue
        engine = str(entry.get("engine") or "duckdb").strip().lower()
        if engine not in ENGINES:
            bad(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
            continue
        if engine == "duckdb":  # a file of the folder, read as files are
            continue
        url, name = entry.get("url"), entry.get("table")
        if not isinstance(name, str) or not name.strip():
            bad("needs table: the table's name in the database, e.g. analytics.encounters")
            continue
        if not isinstance(url, str) or not url.strip():
            bad("needs url: ${VARIABLE}, an environment variable holding the URL")
            continue
        if not _VAR.search(url) and "@" in url:
            # a URL with credentials written into a file that is shared: refuse, unquoted
            bad("url must name an environment variable (url: ${VARIABLE}), not hold the URL")
            continue
        out[table] = WarehouseSource(table, name.strip(), url.strip(), engine)
    return out, problems


def secret_variables(folder: Path) -> list[str]:
    """The environment variables ``sources.yaml`` takes URLs from (for keeping them out of
    the notebooks' environment).

    Parameters
    ----------
    folder
        The data folder.

    Returns
    -------
    list of str

    Examples
    --------
    >>> secret_variables(Path("/nonexistent"))
    []
    """
    sources, _ = read_sources(folder) if folder.is_dir() else ({}, [])
    return sorted({v for s in sources.values() for v in s.variables})


def scrub(text: str, url: str) -> str:
    """A driver's message without the URL, its password or its user name and password.

    Parameters
    ----------
    text
        A message that may quote the URL.
    url
        The resolved URL.

    Returns
    -------
    str

    Examples
    --------
    >>> scrub("bad postgres://u:pw@h/db", "postgres://u:pw@h/db")
    'bad <url>'
    >>> scrub("user u, password p@ss", "postgres://u:p%40ss@h/db")
    'user u, password <password>'
    """
    text = text.replace(url, "<url>")
    try:
        secret = urlsplit(url).password
    except ValueError:
        secret = None
    if secret:  # as written in the URL and as the driver decodes it (%40 is @)
        for form in {secret, unquote(secret)}:
            text = text.replace(form, "<password>")
    return text


def _missing_extra(exc: BaseException, scheme: str) -> bool:
    name = getattr(exc, "name", None) or ""
    drivers = DRIVERS.get(EXTRAS.get(scheme, scheme), ())
    return isinstance(exc, ImportError) and (
        not name or name.split(".")[0] in drivers or name.startswith("ibis.backends")
    )


def _why(exc: BaseException, url: str, otherwise: str = "cannot connect") -> str:
    """The analyst's message for a failure to connect or to read (``otherwise``: what
    failed, for a failure of no known kind)."""
    text = scrub(" ".join(str(exc).split()), url)
    low = text.lower()
    if "password authentication failed" in low or "authentication failed" in low:
        return "the server refused the user name or password (wrong credentials)"
    if "timeout" in low or "timed out" in low:
        return f"the server did not answer in time (timeout): {text[:200]}"
    if any(
        s in low
        for s in (
            "connection refused",
            "could not connect",
            "could not translate host",
            "name or service not known",
            "no route to host",
            "connection failed",
            "network is unreachable",
        )
    ):
        return f"the server cannot be reached: {text[:200]}"
    if "does not exist" in low and "database" in low:
        return f"the database does not exist: {text[:200]}"
    return f"{otherwise}: {type(exc).__name__}: {text[:200]}"


def connect(source: WarehouseSource) -> Any:
    """An Ibis backend for the source.

    Parameters
    ----------
    source
        The source.

    Returns
    -------
    ibis.backends.BaseBackend

    Raises
    ------
    SourceError
        With a message free of the URL and its password.

    Examples
    --------
    >>> # con = connect(read_sources(folder)[0]["encounters"])
    """
    url = source.resolve()
    scheme = source.scheme
    extra = EXTRAS.get(scheme)
    import ibis

    kwargs: dict[str, Any] = {}
    timeout = int(os.environ.get("HELPERS_SOURCE_TIMEOUT") or TIMEOUT)
    if extra == "postgres" and "connect_timeout" not in url:
        kwargs["connect_timeout"] = timeout
    try:
        if extra == "pyspark":
            return ibis.pyspark.connect(spark_session(url))
        return ibis.connect(url, **kwargs)
    except ImportError as exc:
        if _missing_extra(exc, scheme) and extra:
            raise SourceError(
                f"the Ibis backend for {scheme} is not installed: "
                f"pip install 'ibis-framework[{extra}]'"
            ) from None
        raise SourceError(_why(exc, url)) from None
    except ValueError as exc:
        if not extra and "connect" in str(exc).lower():
            raise SourceError(
                f"malformed URL: Ibis has no backend for the scheme {scheme!r}"
            ) from None
        raise SourceError(_why(exc, url)) from None
    except Exception as exc:  # drivers raise their own kinds
        raise SourceError(_why(exc, url)) from None


def spark_conf(url: str) -> dict[str, str]:
    """The Spark configuration a ``pyspark://`` URL asks for: its path is the warehouse
    folder (``spark.sql.warehouse.dir``) and each query parameter a setting, static ones
    included (``spark.master``, ``spark.sql.catalogImplementation``, ...).

    Ibis's own ``pyspark://`` reader sets these on a session already started, which Spark
    refuses for static settings; here they configure the session as it starts.

    Parameters
    ----------
    url
        ``pyspark:///path/to/warehouse?spark.master=local[2]&...``

    Returns
    -------
    dict of str to str

    Examples
    --------
    >>> spark_conf("pyspark:///srv/wh?spark.master=local[2]&spark.ui.enabled=false")
    {'spark.sql.warehouse.dir': '/srv/wh', 'spark.master': 'local[2]', 'spark.ui.enabled': 'false'}
    >>> spark_conf("pyspark://localhost")
    {}
    """
    parts = urlsplit(url)
    conf = {"spark.sql.warehouse.dir": unquote(parts.path)} if parts.path.strip("/") else {}
    conf.update(parse_qsl(parts.query, keep_blank_values=True))
    return conf


def spark_session(url: str) -> Any:
    """The Spark session for a ``pyspark://`` URL (:func:`spark_conf`); a session already
    running in this process is joined as it is.

    Parameters
    ----------
    url
        A ``pyspark://`` URL.

    Returns
    -------
    pyspark.sql.SparkSession

    Examples
    --------
    >>> # session = spark_session("pyspark:///srv/wh?spark.sql.catalogImplementation=hive")
    """
    from pyspark.sql import SparkSession

    builder = SparkSession.builder
    for key, value in spark_conf(url).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def open_table(con: Any, source: WarehouseSource) -> Any:
    """The source's table as an Ibis expression.

    Parameters
    ----------
    con
        The backend (:func:`connect`).
    source
        The source; ``schema.table`` or ``catalog.schema.table`` names are split.

    Returns
    -------
    ibis.expr.types.Table

    Raises
    ------
    SourceError
        The table is not there (or cannot be read).

    Examples
    --------
    >>> # t = open_table(con, source)
    """
    parts = source.name.split(".")
    database: Any = None
    if len(parts) == 2:
        database = parts[0]
    elif len(parts) > 2:
        database = (parts[0], ".".join(parts[1:-1]))
    try:
        return con.table(parts[-1], database=database)
    except Exception as exc:
        text = " ".join(str(exc).split()).lower() + " " + type(exc).__name__.lower()
        if any(s in text for s in ("not found", "notfound", "does not exist", "no such")):
            raise SourceError(f"table {source.name} not found") from None
        raise SourceError(f"table {source.name} cannot be read: {type(exc).__name__}") from None
