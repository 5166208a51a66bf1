"""The data-quality report that ``make validate`` writes beside its console summary: the
contract violations, warnings that are not errors but that an analyst should look at, per
table rows, date range and missingness, and every rule of the contract that was checked
(generated from :mod:`helpers.data.contract`, with the rules some row broke marked)."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from helpers.data.contract import CLINICIAN_ROLES, SPECS
from helpers.data.result import ValidationResult
from helpers.data.store import read_table
from helpers.findings import MIN_CELL_SIZE

SHORT_SPELL_DAYS = 90
FEW_RESPONSES = MIN_CELL_SIZE  # fewer than this cannot be published


def load_typed(folder: Path) -> dict[str, pd.DataFrame]:
    """Typed tables written by the validator (all but the large ones).

    Parameters
    ----------
    folder
        Where :func:`helpers.data.folder.validate_folder` wrote them.

    Returns
    -------
    dict
        Table name -> frame with the contract's dtypes.

    Examples
    --------
    >>> load_typed(Path("no/such/folder"))
    {}
    """
    return {
        p.stem: read_table(p, SPECS[p.stem])
        for p in sorted(folder.glob("*.parquet"))
        if p.stem in SPECS and not SPECS[p.stem].large
    }


def warnings(t: dict[str, pd.DataFrame]) -> list[str]:
    """Things that pass the contract but deserve a look.

    Parameters
    ----------
    t
        Typed tables (:func:`load_typed`).

    Returns
    -------
    list of str
        One sentence per warning.

    Examples
    --------
    >>> warnings({})
    []
    """
    out: list[str] = []
    if "sites" in t and "access" in t:
        missing = sorted(set(t["sites"]["site_id"]) - set(t["access"]["site_id"]))
        if missing:
            out.append(f"{len(missing)} site(s) have no access rows: {', '.join(missing[:10])}")
    if "access" in t:
        zero = t["access"][t["access"]["visits"] == 0]
        if len(zero):
            out.append(
                f"{len(zero)} site-month(s) with zero visits, e.g. "
                f"{zero['site_id'].iloc[0]} {zero['month'].iloc[0]:%Y-%m}"
            )
    if "clinicians" in t:
        c = t["clinicians"].sort_values(["clinician_id", "hire_date"])
        prev_end = c.groupby("clinician_id")["exit_date"].shift()
        overlap = c[
            prev_end.notna() & (c["hire_date"] <= prev_end)
            | (
                c.groupby("clinician_id")["exit_date"].shift().isna()
                & c["clinician_id"].duplicated()
            )
        ]
        if len(overlap):
            out.append(
                f"{overlap['clinician_id'].nunique()} clinician(s) with overlapping "
                f"spells, e.g. {overlap['clinician_id'].iloc[0]}"
            )
        short = c[(c["exit_date"] - c["hire_date"]).dt.days < SHORT_SPELL_DAYS]
        if len(short):
            out.append(f"{len(short)} spell(s) shorter than {SHORT_SPELL_DAYS} days")
    if "survey" in t:
        s = t["survey"][t["survey"]["role"].isin(CLINICIAN_ROLES)]
        per_year = s.groupby(s["survey_date"].dt.year).size()
        few = per_year[per_year < FEW_RESPONSES]
        if len(few):
            out.append(
                f"survey year(s) with fewer than {FEW_RESPONSES} clinician responses: "
                f"{', '.join(map(str, few.index))} (their results will be suppressed)"
            )
    return out


def _table_summary(name: str, df: pd.DataFrame) -> str:
    dates = [c.name for c in SPECS[name].columns if c.type in ("date", "month")]
    span = ""
    if dates and len(df):
        lo = min(df[c].min() for c in dates if df[c].notna().any())
        hi = max(df[c].max() for c in dates if df[c].notna().any())
        span = f"{lo:%Y-%m-%d} to {hi:%Y-%m-%d}"
    miss = "".join(
        f"<tr><td>{html.escape(c)}</td><td>{100 * df[c].isna().mean():.1f}%</td></tr>"
        for c in df.columns
    )
    return (
        f"<h3>{name}</h3><p>{len(df):,} rows{'; dates ' + span if span else ''}</p>"
        f"<table><tr><th>column</th><th>missing</th></tr>{miss}</table>"
    )


def _rules(result: ValidationResult) -> str:
    """Every check of the contract per table, marked when some row broke it."""
    broken = {(v.table, v.column, v.rule) for v in result.errors}
    out = []
    for name, spec in SPECS.items():
        items = "".join(
            f"<tr><td><code>{html.escape(chk.rule)}</code></td><td>{html.escape(chk.column)}"
            f"</td><td>{html.escape(chk.message)}</td><td>"
            f"{'broken' if (name, chk.column, chk.message) in broken else ''}</td></tr>"
            for chk in spec.checks()
        )
        out.append(
            f"<h3>{name}</h3><table><tr><th>rule</th><th>column</th><th>message</th>"
            f"<th></th></tr>{items}</table>"
        )
    return "".join(out)


def _where(entry: dict) -> str:
    """Where an input was read from: ``encounters.csv``, ``sites.xlsx [Sites]``, or
    ``analytics.encounters (ibis/postgres)`` for a table in a database (never its URL)."""
    if "path" in entry:
        name = Path(entry["path"]).name
        return f"{name} [{entry['sheet']}]" if entry.get("sheet") else name
    return f"{entry['source']} ({entry['engine']})"


def report_html(result: ValidationResult, tables: dict[str, pd.DataFrame]) -> str:
    """The data-quality report as one self-contained HTML page.

    Parameters
    ----------
    result
        What validation found.
    tables
        The typed tables (:func:`load_typed`).

    Returns
    -------
    str
        The page.

    Examples
    --------
    >>> "<h2>Rules checked</h2>" in report_html(ValidationResult(Path("data")), {})
    True
    """
    status = (
        "<p class='ok'>Valid: the data meet the contract.</p>"
        if result.ok
        else f"<p class='bad'>{len(result.errors)} problem(s): nothing will run until they "
        "are fixed.</p>"
    )
    rows = "".join(
        f"<tr><td>{html.escape(v.file)}</td><td>{html.escape(v.column)}</td>"
        f"<td>{html.escape(v.rule)}</td><td>{v.count}</td>"
        f"<td>{', '.join(map(str, v.rows))}</td></tr>"
        for v in result.errors
    )
    errors = (
        f"<table><tr><th>file</th><th>column</th><th>rule</th><th>rows</th>"
        f"<th>first rows (header = 1)</th></tr>{rows}</table>"
        if rows
        else "<p>None.</p>"
    )
    warns = warnings(tables)
    warn = (
        "<ul>" + "".join(f"<li>{html.escape(w)}</li>" for w in warns) + "</ul>"
        if warns
        else "<p>None.</p>"
    )
    extra = "".join(
        f"<li>{html.escape(k)}: {html.escape(', '.join(v))}</li>"
        for k, v in result.extra_columns.items()
    )
    body = "".join(_table_summary(n, df) for n, df in tables.items())
    read = "".join(
        f"<tr><td>{html.escape(i['table'])}</td><td>{html.escape(_where(i))}</td>"
        f"<td>{i['rows']:,}</td></tr>"
        for i in result.inputs
    )
    inputs = (
        f"<table><tr><th>table</th><th>read from</th><th>rows</th></tr>{read}</table>"
        if read
        else "<p>None.</p>"
    )
    style = (
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:auto;padding:1rem}"
        "table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;"
        "padding:.2rem .5rem;text-align:left}.bad{color:#b00020;font-weight:bold}"
        ".ok{color:#1b5e20;font-weight:bold}"
    )
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
        f"content='width=device-width, initial-scale=1'><title>Data quality: "
        f"{html.escape(str(result.folder))}</title><style>{style}</style></head><body>"
        f"<h1>Data quality: {html.escape(str(result.folder))}</h1>{status}"
        f"<h2>Inputs</h2>{inputs}<h2>Violations</h2>{errors}<h2>Warnings</h2>{warn}"
        f"<h2>Ignored extra columns</h2><ul>{extra or '<li>none</li>'}</ul>"
        f"<h2>Tables</h2>{body}<h2>Rules checked</h2>{_rules(result)}</body></html>\n"
    )
