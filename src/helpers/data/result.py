"""What validation finds: violations, the result of a folder, and the error that stops a run.

Shared by reading (:mod:`helpers.data.read`), checking (:mod:`helpers.data.checks`) and the
report (:mod:`helpers.data.quality`); it imports nothing of theirs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from helpers.data.contract import FOLDER_RULES

FIRST_ROWS = 5  # row numbers shown per violation


@dataclass
class Violation:
    """One rule broken in one file: ``count`` rows (``rows``: the first of them, as the
    analyst sees them, header = row 1), or the file or header itself (no rows). A table read
    from a database has no row numbers: its first rows are named by their key (``keys``, the
    values of the columns ``key``)."""

    file: str
    column: str
    rule: str
    count: int = 1
    rows: list[int] = field(default_factory=list)
    table: str = ""
    keys: list[str] = field(default_factory=list)
    key: str = ""


class Collector:
    """Accumulates violations as (file, table, column, rule) -> count and first rows."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str, str, str], Violation] = {}

    def add(
        self,
        label: str,
        table: str,
        column: str,
        rule: str,
        rows: Iterable[int],
        count: int | None = None,
        keys: Iterable[str] = (),
        key: str = "",
    ) -> None:
        """Record rows breaking a rule.

        Parameters
        ----------
        label, table, column, rule
            The file as the analyst knows it, the table, the column (empty: the file) and
            the rule's message.
        rows
            Row numbers (header = row 1); the first :data:`FIRST_ROWS` are kept.
        count
            How many rows (default: as many as ``rows``).
        keys, key
            For a database table: the first rows' keys, and the key's column names.

        Returns
        -------
        None

        Examples
        --------
        >>> c = Collector()
        >>> c.add("sites.csv", "sites", "site_id", "must be unique", [4, 2])
        >>> c.list()[0].rows
        [2, 4]
        """
        rows = [int(r) for r in rows]
        keys = [str(k) for k in keys]
        n = len(rows) + len(keys) if count is None else count
        if n == 0:
            return
        at = (label, table, column, rule)
        v = self.items.setdefault(at, Violation(label, column, rule, 0, [], table, [], key))
        v.count += n
        v.rows = sorted(set(v.rows) | set(rows))[:FIRST_ROWS]
        v.keys = (v.keys + [k for k in keys if k not in v.keys])[:FIRST_ROWS]

    def extend(self, vs: Iterable[Violation]) -> None:
        """Record violations found elsewhere."""
        for v in vs:
            self.add(v.file, v.table, v.column, v.rule, v.rows, v.count, v.keys, v.key)

    def list(self) -> list[Violation]:
        """The violations, in the order first found."""
        return list(self.items.values())


@dataclass
class ValidationResult:
    """What checking a data folder found: violations, extra columns, the input files read
    and the tables that could be read."""

    folder: Path
    errors: list[Violation] = field(default_factory=list)
    extra_columns: dict[str, list[str]] = field(default_factory=dict)
    inputs: list[dict] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No violation."""
        return not self.errors

    def summary(self) -> str:
        """The readable summary: per file, per column, the rule, how many rows and the
        first row numbers (header = row 1).

        Returns
        -------
        str
            One line per violation under its file, then the ignored extra columns.

        Examples
        --------
        >>> r = ValidationResult(Path("data"), tables=["sites"])
        >>> r.summary()
        'data: valid (sites).'
        """
        lines = []
        if self.ok:
            lines.append(f"{self.folder}: valid ({', '.join(self.tables)}).")
        else:
            files = sorted({v.file for v in self.errors})
            head = FOLDER_RULES["report.all_violations_one_pass"]
            lines.append(f"{self.folder}: {head(problems=len(self.errors), files=len(files))}")
            for f in files:
                lines.append("")
                lines.append(f)
                for v in (v for v in self.errors if v.file == f):
                    where = f"column {v.column}" if v.column else "file"
                    if v.rows or v.keys:  # a problem of rows; else of the file or header
                        first = v.rows or v.keys
                        more = ", …" if v.count > len(first) else ""
                        name = "rows" if v.rows else v.key
                        rows = f"; {name} {', '.join(map(str, first))}{more}"
                        rows = f" ({v.count} row{'s' if v.count != 1 else ''}{rows})"
                    else:
                        rows = ""
                    lines.append(f"  {where}: {v.rule}{rows}")
        for label, cols in self.extra_columns.items():
            lines.append(f"Ignored extra columns in {label}: {', '.join(cols)}")
        return "\n".join(lines)


class DataError(Exception):
    """The data folder breaks the contract; ``str()`` is the readable summary and
    ``result`` the :class:`ValidationResult`."""

    def __init__(self, result: ValidationResult) -> None:
        super().__init__(result.summary())
        self.result = result
