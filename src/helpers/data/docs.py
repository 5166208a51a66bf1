"""Documents generated from the contract: the data dictionary and the column tables of
``data/README.md``.

The dictionary (:func:`rows`) is the README sheet of the analyst's template
(:mod:`helpers.data.template`). In ``data/README.md`` the tables between the markers
:data:`BEGIN` and :data:`END` are generated (:func:`readme_block`); the prose around them is
written by hand. ``python -m helpers.data.docs`` rewrites the block, ``--check`` fails when it
is not current (a test runs the check).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from helpers import paths
from helpers.data.contract import FOLDER_RULES, SPECS, Column, Table

README = paths.ROOT / "data" / "README.md"
BEGIN = "<!-- BEGIN GENERATED: python -m helpers.data.docs (from helpers/data/contract.py) -->"
END = "<!-- END GENERATED -->"

TYPE_WORDS = {
    "string": "text",
    "integer": "whole number",
    "number": "number",
    "date": "date YYYY-MM-DD",
    "month": "month YYYY-MM",
    "boolean": "yes/no (true/false, y/n, 1/0)",
    "category": "one of a list",
}
DICTIONARY_COLUMNS = ("table", "column", "meaning", "type", "rules", "example", "unit")


def rule_text(spec: Table, col: Column) -> str:
    """A column's own rules, and the rules across fields that name it, in words.

    Parameters
    ----------
    spec
        The table.
    col
        One of its columns.

    Returns
    -------
    str
        Rules separated by ``;``.

    Examples
    --------
    >>> rule_text(SPECS["clinicians"], SPECS["clinicians"].column("fte"))
    'required; > 0; <= 1.5'
    """
    parts = ["required" if col.required else "may be empty"]
    if col.categories:
        parts.append("one of " + ", ".join(col.categories))
    if col.min is not None:
        parts.append(("> " if col.min_exclusive else ">= ") + f"{col.min:g}")
    if col.max is not None:
        parts.append(f"<= {col.max:g}")
    if col.is_date:
        parts.append(
            "may lie in the future" if spec.future_allowed(col.name) else "not in the future"
        )
    for key in spec.unique:
        if col.name in key:
            parts.append(
                "unique"
                if len(key) == 1
                else "unique with " + ", ".join(k for k in key if k != col.name)
            )
    if col.name in spec.references:
        parts.append("must exist in " + spec.references[col.name])
    return "; ".join(parts)


def rows(specs: dict[str, Table] | None = None) -> list[dict[str, str]]:
    """The data dictionary: one row per table column.

    Parameters
    ----------
    specs
        The tables (default: the contract's).

    Returns
    -------
    list of dict
        Keys :data:`DICTIONARY_COLUMNS`: table, column, meaning, type, rules, example, unit.

    Examples
    --------
    >>> next(r for r in rows() if r["column"] == "minutes")["unit"]
    'minutes'
    """
    out = []
    for table, spec in (specs or SPECS).items():
        for col in spec.columns:
            out.append(
                {
                    "table": table,
                    "column": col.name,
                    "meaning": col.meaning,
                    "type": TYPE_WORDS[col.type],
                    "rules": rule_text(spec, col),
                    "example": col.example,
                    "unit": col.unit,
                }
            )
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table_rules(spec: Table) -> list[str]:
    """The rules across fields, rows and tables of a table, in words."""
    out = []
    for rule in spec.rules:
        out.append(f"`{rule.name(spec.name)}`: {rule.words}")
    return out


def readme_block(specs: dict[str, Table] | None = None) -> str:
    """The generated part of ``data/README.md``: per table, what a row is, its columns
    (type, unit, rules, meaning, example) and its rules across fields.

    Parameters
    ----------
    specs
        The tables (default: the contract's).

    Returns
    -------
    str
        Markdown, starting with :data:`BEGIN` and ending with :data:`END`.

    Examples
    --------
    >>> readme_block().splitlines()[2]
    '#### `sites` (required; one row per site)'
    """
    lines = [BEGIN, ""]
    for spec in (specs or SPECS).values():
        kind = "required" if spec.required else "optional"
        lines += [
            f"#### `{spec.name}` ({kind}; one row per {spec.row})",
            "",
            spec.meaning,
            "",
            "| column | type | unit | rules | meaning | example |",
            "|---|---|---|---|---|---|",
        ]
        for col in spec.columns:
            example = f"`{col.example}`" if col.example else ""
            lines.append(
                f"| `{col.name}` | {TYPE_WORDS[col.type]} | {col.unit} | "
                f"{_cell(rule_text(spec, col))} | {_cell(col.meaning)} | {example} |"
            )
        rules = _table_rules(spec)
        if rules:
            lines += ["", "Rules across fields: " + "; ".join(rules) + "."]
        lines.append("")
    lines += [
        "#### The folder, its files and headers",
        "",
        "| rule | in words | message |",
        "|---|---|---|",
    ]
    for rule in FOLDER_RULES.values():
        lines.append(f"| `{rule.name}` | {_cell(rule.words)} | {_cell(rule.message)} |")
    lines += ["", END]
    return "\n".join(lines)


def update_readme(text: str, specs: dict[str, Table] | None = None) -> str:
    """``text`` with its generated block replaced by the current one.

    Parameters
    ----------
    text
        The README, with the markers :data:`BEGIN` and :data:`END`.
    specs
        The tables (default: the contract's).

    Returns
    -------
    str
        The README with the current block; the rest unchanged.

    Raises
    ------
    ValueError
        The markers are missing.

    Examples
    --------
    >>> update_readme("Intro " + BEGIN + " old " + END).startswith("Intro " + BEGIN)
    True
    """
    if BEGIN not in text or END not in text:
        raise ValueError(f"data/README.md lacks the markers {BEGIN!r} ... {END!r}")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return head + readme_block(specs) + tail


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.data.docs [--check]``: rewrite (or check) ``data/README.md``.

    Parameters
    ----------
    argv
        ``[--check] [--readme PATH]`` (default: the command line).

    Returns
    -------
    int
        0; with ``--check``, 1 when the README is not current.

    Examples
    --------
    >>> main(["--check"])
    0
    """
    ap = argparse.ArgumentParser(prog="python -m helpers.data.docs", description=__doc__)
    ap.add_argument("--check", action="store_true", help="exit 1 if the README is not current")
    ap.add_argument("--readme", default=str(README))
    args = ap.parse_args(argv)
    path = Path(args.readme)
    old = path.read_text(encoding="utf-8")
    new = update_readme(old)
    if args.check:
        if new != old:
            print(f"{path} is not current: run python -m helpers.data.docs")
            return 1
        return 0
    path.write_text(new, encoding="utf-8")
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
