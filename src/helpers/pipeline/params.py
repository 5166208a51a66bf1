"""Notebook parameters: read the declared ones, merge the analyst's params file, check types.

Parameters are checked before anything runs. Values are only ever parsed as data
(``yaml.safe_load``, ``ast.literal_eval``), never evaluated as code.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import yaml

from helpers import paths
from helpers.findings import MIN_CELL_SIZE

RUNNER_PARAMS = ("data_dir", "out_dir")


class ParameterError(ValueError):
    """A parameter that does not fit its notebook."""


def declared(notebook: Path) -> dict[str, Any]:
    """The notebook's ``parameters`` cell as ``{name: default value}``.

    Read with ``ast`` (no kernel, no Papermill import): every statement of the cell must be
    a plain assignment of a literal.
    """
    doc = json.loads(Path(notebook).read_text(encoding="utf-8"))
    cells = [
        c for c in doc.get("cells", []) if "parameters" in c.get("metadata", {}).get("tags", [])
    ]
    if len(cells) != 1:
        raise ParameterError(
            f"{Path(notebook).name}: needs exactly one cell tagged "
            f"'parameters' (found {len(cells)})"
        )
    source = "".join(cells[0].get("source", ""))
    out: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            raise ParameterError(
                f"{Path(notebook).name}: the parameters cell may only assign "
                f"names (line {node.lineno})"
            )
        name = node.targets[0].id
        try:
            out[name] = ast.literal_eval(node.value)
        except ValueError as exc:
            raise ParameterError(
                f"{Path(notebook).name}: parameter {name!r} must have a literal default "
                f"(got {ast.get_source_segment(source, node.value)!r})"
            ) from exc
    return out


def read_file(path: Path | str | None) -> dict[str, Any]:
    """Read a params file: ``{"all": {...}, "notebooks": {"NN_name": {...}}}``."""
    if not path:
        return {"all": {}, "notebooks": {}}
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"params file not found: {path}")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ParameterError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or set(doc) - {"all", "notebooks"}:
        raise ParameterError(f"{path}: top-level keys must be 'all' and 'notebooks'")
    doc.setdefault("all", {})
    doc.setdefault("notebooks", {})
    for key in ("all", "notebooks"):
        if not isinstance(doc[key] or {}, dict):
            raise ParameterError(f"{path}: '{key}' must be a mapping")
        doc[key] = doc[key] or {}
    return doc


def _check_type(nb: str, name: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, list):
        ok = isinstance(value, list)
    elif isinstance(default, dict):
        ok = isinstance(value, dict)
    else:
        ok = True
    if not ok:
        raise ParameterError(
            f"{nb}: parameter {name!r} must be {type(default).__name__}, got {value!r}"
        )
    return value


def for_notebook(
    notebook: Path, overrides: dict[str, Any], per_notebook: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The parameters to pass to one notebook: global overrides it declares, then its own.

    A notebook-specific parameter the notebook does not declare is an error; a global one
    is passed only to the notebooks that declare it.
    """
    spec = declared(notebook)
    stem = notebook.stem
    chosen: dict[str, Any] = {}
    for name, value in overrides.items():
        if name in spec:
            chosen[name] = _check_type(stem, name, value, spec[name])
    own = per_notebook.get(stem, {}) or {}
    unknown = sorted(set(own) - set(spec))
    if unknown:
        raise ParameterError(
            f"{stem}: unknown parameter(s) {', '.join(unknown)}; "
            f"it declares {', '.join(sorted(spec))}"
        )
    for name, value in own.items():
        chosen[name] = _check_type(stem, name, value, spec[name])
    min_cell = chosen.get("min_cell_size", spec.get("min_cell_size", MIN_CELL_SIZE))
    if "min_cell_size" in spec and (not isinstance(min_cell, int) or min_cell < MIN_CELL_SIZE):
        raise ParameterError(
            f"{stem}: min_cell_size must be a whole number >= {MIN_CELL_SIZE} "
            "(no published number may describe fewer people)"
        )
    return chosen


def notebooks(folder: Path = paths.NOTEBOOKS) -> list[Path]:
    """The analysis notebooks in run order (``NN_name.ipynb``)."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
