"""A published table as the report prints it: headers and categories in words, numbers in the
house format, an interval as one "95% CI" column, suppressed cells as a dash with a note.

The result is a Pandoc pipe table with a caption and id, which Quarto and the fallback engine
both render natively (HTML and Typst), followed by a notes line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers import catalog
from helpers.artifacts import SUPPRESSED
from helpers.report import formatting, labels

# Columns holding identifiers or codes that are printed as they are.
VERBATIM = {"site_id", "visit_type"}
# Pandoc takes relative column widths from the dashes of the separator line only when a line
# of the table is longer than this.
PANDOC_COLUMNS = 72


@dataclass
class Shown:
    """A table ready to print."""

    header: list[str]
    rows: list[list[str]]
    align: list[str]  # "l" or "r"
    weights: list[float]
    suppressed_rows: int
    total_rows: int
    notes: list[str]
    small: bool = False  # printed in SMALL_TEXT_PT in the PDF: too wide for TABLE_TEXT_PT


def _ci_columns(columns: list[str]) -> dict[str, tuple[str, str]]:
    """Estimate column -> (low, high) for each interval in the table."""
    out = {}
    for low, high in labels.CI_PAIRS:
        if low in columns and high in columns:
            i = columns.index(low)
            if i == 0:
                raise ValueError(f"interval column {low} has no estimate column before it")
            out[columns[i - 1]] = (low, high)
    return out


def _is_suppressed(v: object) -> bool:
    return isinstance(v, str) and v.strip() == SUPPRESSED


def prepare(
    df: pd.DataFrame,
    min_cell_size: int,
    ci_level: float = 0.95,
    show: list[str] | None = None,
) -> Shown:
    """Format a published table (as written by ``artifacts.save_table``).

    ``show`` lists the columns the report prints (default: all; intervals come with their
    estimate). A numeric column with the same value in every row of a table of several rows is
    not printed as a column but stated once in the notes, so that tables fit the page.
    """
    ci_cols = {c for pair in labels.CI_PAIRS for c in pair}
    if show:
        keep, cols = [], list(df.columns)
        for i, c in enumerate(cols):
            if c in show:
                keep.append(c)
                pair = tuple(cols[i + 1 : i + 3])
                if pair in labels.CI_PAIRS:
                    keep += list(pair)
        df = df[keep]
    constant = {}
    if len(df) > 1:
        for c in df.columns:
            if c in ci_cols:
                continue
            values = df[c].dropna().unique()
            if (
                labels.column(c)[1] in ("count", "number", "rate")
                and len(values) == 1
                and df[c].notna().all()  # a missing value is not the same value
                and not _is_suppressed(values[0])
            ):
                constant[c] = values[0]
        df = df.drop(columns=list(constant))
    columns = list(df.columns)
    cis = _ci_columns(columns)
    skip = {c for pair in cis.values() for c in pair}
    header, align, kinds, keep = [], [], [], []
    for c in columns:
        if c in skip:
            continue
        title, kind = labels.column(c)
        keep.append(c)
        header.append(title)
        kinds.append(kind)
        align.append("l" if kind in ("text", "cite", "finding") else "r")
        if c in cis:
            header.append(f"{round(100 * ci_level)}% CI")
            kinds.append("ci")
            align.append("r")
    rows, suppressed = [], 0
    for _, r in df.iterrows():
        cells, row_suppressed = [], False
        for c in keep:
            title, kind = labels.column(c)
            v = r[c]
            if _is_suppressed(v):
                row_suppressed = True
                cells.append("\u2014")
            elif kind == "text":
                text = "" if _nan(v) else str(v)
                cells.append(text if c in VERBATIM else labels.label(text, c))
            elif kind == "cite":  # citation keys of the bibliography, ";"-separated
                keys = [k.strip() for k in str(v).split(";") if k.strip()]
                cells.append("[" + "; ".join(f"@{k}" for k in keys) + "]" if keys else "")
            elif kind == "finding":  # a finding id, named as the catalog names it
                spec = catalog.findings().get(str(v))
                cells.append(spec.short if spec else labels.label(v))
            else:
                cells.append(formatting.fmt(_number(v), kind))
            if c in cis:
                low, high = (r[cis[c][0]], r[cis[c][1]])
                if _is_suppressed(low) or _is_suppressed(high):
                    cells.append("\u2014")
                else:
                    cells.append(formatting.interval(_number(low), _number(high), kind))
        suppressed += row_suppressed
        rows.append(cells)
    notes = [
        f"{labels.column(c)[0]}: {formatting.fmt(_number(v), labels.column(c)[1])} in every row."
        for c, v in constant.items()
    ]
    if suppressed:
        notes.append(
            f"\u2014 Not shown ({suppressed} of {len(rows)} rows): fewer than {min_cell_size} "
            "people or events, or withheld so that another such row cannot be worked out from "
            "the totals."
        )
    small = crowded(header, rows, kinds)
    line = LINE_CHARACTERS * (TABLE_TEXT_PT / SMALL_TEXT_PT if small else 1)
    weights = _weights(header, rows, kinds, line)
    return Shown(header, rows, align, weights, suppressed, len(rows), notes, small)


def _nan(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _number(v: object) -> object:
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return v
    return v


# About how many characters of 8.5 pt table text fit across the text width, and what each
# column's padding costs in characters.
LINE_CHARACTERS = 120  # characters of TABLE_TEXT_PT type across the PDF's text width
PADDING_CHARACTERS = 2.5
TABLE_TEXT_PT = 8.5  # tables' type size in the PDF (helpers.report.render.typst_header)
SMALL_TEXT_PT = 7.0  # for a crowded table (:func:`crowded`)
CROWDED = 0.9


def _room(columns: int, line: float) -> float:
    return line - PADDING_CHARACTERS * columns


def _widths(
    header: list[str], rows: list[list[str]], kinds: list[str]
) -> tuple[list[float], list[float]]:
    """Each column's need (what cannot wrap: the longest word of its header, bold so wider, and
    of its cells; for a number or an interval, half its longest cell, so that it takes two
    lines at most) and want (its longest cell, up to 40 characters), in characters."""
    need, want = [], []
    for j, h in enumerate(header):
        cells = [r[j] for r in rows]
        word = max(len(w) for w in h.split()) * 1.2 + 1 if h.split() else 1
        token = max((len(w) for c in cells for w in c.split()), default=0)
        if kinds[j] == "cite":  # citation keys print as short reference numbers
            need.append(max(8.0, word))
            want.append(max(8.0, word))
            continue
        longest = max((len(c) for c in cells), default=0)
        if kinds[j] != "text":  # a number or an interval wraps onto two lines at most
            token = max(token, min(longest, longest // 2 + 2))
        lo = max(4.0, word, min(token, 40))
        need.append(lo)
        want.append(max(lo, min(longest, 40)))
    return need, want


def _weights(
    header: list[str], rows: list[list[str]], kinds: list[str], line: float = LINE_CHARACTERS
) -> list[float]:
    """Relative column widths, in characters.

    Each column first gets its need (:func:`_widths`). What is left of the line then goes to
    the columns whose cells would like more, in proportion to how much more they would like.
    So no header word is squeezed below its own width to make room for a long cell elsewhere.
    """
    need, want = _widths(header, rows, kinds)
    room = _room(len(header), line)
    if sum(want) <= room:
        return want
    spare = room - sum(need)
    extra = [w - n for w, n in zip(want, need, strict=True)]
    if spare <= 0 or sum(extra) == 0:
        return need
    return [n + spare * e / sum(extra) for n, e in zip(need, extra, strict=True)]


def crowded(header: list[str], rows: list[list[str]], kinds: list[str]) -> bool:
    """Whether a table needs smaller type in the PDF: its cells do not fit the line, and what
    cannot wrap takes more than ``CROWDED`` of it (text columns would wrap word by word)."""
    need, want = _widths(header, rows, kinds)
    room = _room(len(header), LINE_CHARACTERS)
    return sum(want) > room and sum(need) > CROWDED * room


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(shown: Shown, caption: str, tbl_id: str) -> str:
    """The pipe table with its caption and id."""
    lines = ["| " + " | ".join(_escape(h) for h in shown.header) + " |"]
    natural = (
        sum(max(len(h), *(len(r[j]) for r in shown.rows)) + 3 for j, h in enumerate(shown.header))
        if shown.rows
        else 0
    )
    # Relative widths whenever the table is wide or has several columns: an engine's automatic
    # widths may leave a column narrower than a word of its header.
    if natural > PANDOC_COLUMNS or len(shown.header) >= 4:
        # a column's share of the line holds its cell padding as well as its text
        padded = [w + PADDING_CHARACTERS for w in shown.weights]
        dashes = [max(3, round(120 * w / sum(padded))) for w in padded]
        dashes[-1] += max(0, PANDOC_COLUMNS + 8 - sum(dashes) - 2 * len(dashes))
    else:
        dashes = [3] * len(shown.header)
    seps = [
        ("-" * d + ":") if a == "r" else (":" + "-" * d)
        for a, d in zip(shown.align, dashes, strict=True)
    ]
    lines.append("|" + "|".join(seps) + "|")
    lines += ["| " + " | ".join(_escape(c) for c in r) + " |" for r in shown.rows]
    table = "\n".join(lines) + f"\n\n: {caption} {{#{tbl_id}}}\n"
    if shown.small:  # a Typst show rule for this table alone (the HTML scrolls instead)
        # the table only: its caption keeps the size of every other caption
        rule = f"#show <{tbl_id}>: it => {{ show table: set text(size: {SMALL_TEXT_PT:g}pt); it }}"
        table = f"```{{=typst}}\n{rule}\n```\n\n" + table
    return table


def mostly_suppressed(shown: Shown) -> bool:
    """More than half the rows suppressed: the table is replaced by a sentence."""
    return shown.total_rows > 0 and shown.suppressed_rows / shown.total_rows > 0.5


def read(csv: Path) -> pd.DataFrame:
    """A published table CSV, every cell as text or number as written."""
    return pd.read_csv(csv, keep_default_na=False, na_values=[""])
