"""Real database engines started for the tests: a PostgreSQL server in a temporary folder, and
the parts of a Spark session in local mode. Each says why it cannot start, so that the tests
that need it skip with that reason."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from glob import glob
from pathlib import Path

USER = "analyst"
PASSWORD = "s3cret-Pa55word-never-shown"  # searched for in every output by the tests


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path | None:
    """The folder of PostgreSQL's server programs (Debian keeps them out of PATH)."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    dirs = sorted(glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))
    return Path(dirs[-1]) if dirs and Path(dirs[-1], "pg_ctl").exists() else None


def postgres_unavailable() -> str | None:
    """Why a PostgreSQL server cannot be started here, or None."""
    if postgres_bin() is None:
        return "PostgreSQL is not installed (apt-get install postgresql)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser, and PostgreSQL refuses to run as root"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed"
    return None


def _as_server_user(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


@contextmanager
def postgres_server() -> Iterator[dict]:
    """A PostgreSQL server on a free local port, its data in a temporary folder the server's
    user can reach, with a user :data:`USER` whose password is :data:`PASSWORD` and a
    database ``warehouse``; stopped and removed afterwards.

    Yields
    ------
    dict
        ``url`` (with the password), ``host``, ``port``, ``user``, ``password``.
    """
    bindir = postgres_bin()
    assert bindir is not None
    base = Path(tempfile.mkdtemp(prefix="helpers-pg-"))
    data = base / "pgdata"
    pwfile = base / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(pwfile, "postgres")
        os.chmod(base, 0o755)
    _as_server_user(
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            USER,
            "--pwfile",
            str(pwfile),
            "--auth",
            "scram-sha-256",
            "-E",
            "UTF8",
            "--locale",
            "C",
        ]
    )
    port = _free_port()
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    _as_server_user(
        [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-o", opts, "-w"]
        + ["start"],
        timeout=60,
    )
    try:
        url = f"postgres://{USER}:{PASSWORD}@127.0.0.1:{port}/postgres"
        import psycopg

        for _ in range(50):
            try:
                with psycopg.connect(url, autocommit=True) as con:
                    con.execute("CREATE DATABASE warehouse")
                break
            except psycopg.OperationalError:
                time.sleep(0.1)
        yield {
            "url": url.replace("/postgres", "/warehouse"),
            "host": "127.0.0.1",
            "port": port,
            "user": USER,
            "password": PASSWORD,
        }
    finally:
        _as_server_user(
            [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            timeout=60,
        )
        shutil.rmtree(base, ignore_errors=True)


def spark_unavailable() -> str | None:
    """Why a Spark session in local mode cannot be started here, or None."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install 'ibis-framework[pyspark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "Java is not installed (Spark needs a Java runtime)"
    return None


def postgres_load(url: str, schema: str, tables: dict) -> None:
    """Create ``schema`` and load pandas frames into it as tables (text, double precision,
    bigint, boolean and date columns), as a warehouse would hold them.

    Parameters
    ----------
    url
        The server's URL.
    schema
        The schema to create.
    tables
        Table name -> pandas.DataFrame.
    """
    import pandas as pd
    import psycopg

    def sql_type(s: pd.Series) -> str:
        if pd.api.types.is_bool_dtype(s):
            return "boolean"
        if pd.api.types.is_integer_dtype(s):
            return "bigint"
        if pd.api.types.is_float_dtype(s):
            return "double precision"
        if pd.api.types.is_datetime64_any_dtype(s):
            return "date"
        return "text"

    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for name, df in tables.items():
            cols = ", ".join(f"{c} {sql_type(df[c])}" for c in df.columns)
            con.execute(f"CREATE TABLE {schema}.{name} ({cols})")
            text = df.to_csv(index=False, header=False, date_format="%Y-%m-%d")
            with con.cursor() as cur:
                columns = ", ".join(df.columns)
                with cur.copy(f"COPY {schema}.{name} ({columns}) FROM STDIN (FORMAT csv)") as cp:
                    cp.write(text)
