"""Cache keys for notebook runs and the report.

A notebook's result is reused only when everything it depends on is unchanged: the input
data (file hashes), its parameters, its own source cells, the package code and the locked
environment. Quarto's freeze sees none of the data or parameters, so this does not rely on it.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from helpers import paths

CODE_SUFFIXES = (".py", ".yaml", ".yml", ".csv", ".lua", ".typ", ".css", ".qmd", ".md")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def notebook_source_hash(notebook: Path) -> str:
    """Hash of a notebook's cell sources and types (outputs and metadata ignored)."""
    doc = json.loads(notebook.read_text(encoding="utf-8"))
    cells = [(c.get("cell_type"), "".join(c.get("source", ""))) for c in doc.get("cells", [])]
    tags = [c.get("metadata", {}).get("tags", []) for c in doc.get("cells", [])]
    return _sha(json.dumps([cells, tags]).encode())


def tree_hash(
    folder: Path, suffixes: tuple[str, ...] = CODE_SUFFIXES, skip: tuple[str, ...] = ()
) -> str:
    """Hash of every file under ``folder`` with one of ``suffixes`` (paths and contents),
    leaving out the files and folders of ``folder`` named in ``skip``."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.relative_to(folder).parts[0] in skip or "__pycache__" in path.parts:
            continue
        if path.is_file() and path.suffix in suffixes:
            h.update(str(path.relative_to(folder)).encode())
            h.update(b"\0")
            h.update(path.read_bytes())
    return h.hexdigest()


def environment_hash() -> str:
    """The locked environment and the Python that runs it."""
    lock = paths.ROOT / "requirements.lock"
    data = lock.read_bytes() if lock.exists() else b""
    return _sha(data + sys.version.encode())


def data_hash(inputs: list[dict[str, Any]]) -> str:
    """Hash of the inputs' contents (a file's SHA-256, a database table's fingerprint) and
    table names."""
    rows = sorted(
        (str(i.get("table")), str(i.get("sha256") or i.get("fingerprint"))) for i in inputs
    )
    return _sha(json.dumps(rows).encode())


def notebook_key(notebook: Path, params: dict[str, Any], data: str, code: str, env: str) -> str:
    """The cache key of one notebook run."""
    doc = {
        "notebook": notebook.name,
        "source": notebook_source_hash(notebook),
        "params": params,
        "data": data,
        "code": code,
        "env": env,
    }
    return _sha(json.dumps(doc, sort_keys=True, default=str).encode())[:32]


def files_hash(folder: Path, names: list[str] | None = None) -> str:
    """Hash of the files in ``folder`` (recursively), for the report's key."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_file() and (names is None or rel.split("/")[0] in names):
            h.update(rel.encode())
            h.update(b"\0")
            h.update(path.read_bytes())
    return h.hexdigest()
