"""What the report says, from a run's output folder: the key points, the claims and their
verdicts, the organization beside national benchmarks, one section per analysis notebook with
its exhibits, the appendix, provenance and how to cite.

Everything here is Markdown with every number already substituted, so that Quarto and the
fallback engine render the same text (see :mod:`helpers.report.render`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from helpers import __version__, catalog, paths
from helpers.data.reference import published
from helpers.findings import MIN_CELL_SIZE
from helpers.pipeline import manifest
from helpers.report import formatting, tables

DEMO_MARK = "Demonstration data — simulated, not for citation"
NARRATIVE_DIR = "narrative"
# A table longer than this goes to the appendix (the body shows summaries).
MAX_BODY_ROWS = 12
MAX_APPENDIX_ROWS = 60


class ReportError(RuntimeError):
    """The report could not be built; the message says why."""


@dataclass
class Section:
    """One analysis notebook's part of the report."""

    name: str  # e.g. "turnover"
    title: str
    question: str
    findings: list[dict[str, Any]] = field(default_factory=list)
    figures: list[dict[str, Any]] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)
    narrative: str = ""

    @property
    def id(self) -> str:
        return "sec-" + self.name.replace("_", "-")


class RunView:
    """A run's published outputs, read once."""

    def __init__(self, out_dir: Path | str) -> None:
        self.out = Path(out_dir)
        self.doc = json.loads((self.out / "findings.json").read_text(encoding="utf-8"))
        self.manifest = json.loads((self.out / "manifest.json").read_text(encoding="utf-8"))

    @cached_property
    def findings(self) -> dict[str, dict[str, Any]]:
        return {f["id"]: f for f in self.doc.get("findings", [])}

    @property
    def synthetic(self) -> bool:
        return bool(self.doc.get("synthetic_data"))

    @cached_property
    def min_cell_size(self) -> int:
        sizes = [
            p.get("min_cell_size")
            for p in self.manifest.get("parameters", {}).values()
            if isinstance(p, dict) and p.get("min_cell_size")
        ]
        return int(min(sizes)) if sizes else MIN_CELL_SIZE

    @property
    def data_name(self) -> str:
        return self.manifest.get("data", {}).get("name") or "this organization"

    @property
    def iso_date(self) -> str:
        return str(self.manifest.get("created_at") or "")[:10] or date.today().isoformat()

    @property
    def run_date(self) -> str:
        return formatting.long_date(self.iso_date)

    @property
    def period(self) -> str:
        w = self.manifest.get("data", {}).get("window", {})
        if not w.get("start") or not w.get("end"):
            return "the period of the data"
        return f"{formatting.long_date(w['start'])}, to {formatting.long_date(w['end'])}"

    def _metas(self, sub: str) -> list[dict[str, Any]]:
        folder = self.out / sub
        items = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]
        return sorted(items, key=lambda m: (m.get("seq", 0), m["id"]))

    @cached_property
    def sections(self) -> list[Section]:
        """One section per executed notebook, in run order (the NN_ prefix)."""
        figures, tables_ = self._metas("figures"), self._metas("tables")
        out = []
        for nb in sorted((self.out / "notebooks").glob("*.ipynb")):
            name = nb.stem.split("_", 1)[1] if "_" in nb.stem else nb.stem
            title, question = notebook_heading(nb)
            narrative = self.out / NARRATIVE_DIR / f"{name}.md"
            out.append(
                Section(
                    name=name,
                    title=title,
                    question=question,
                    findings=[f for f in self.doc["findings"] if f.get("notebook") == name],
                    figures=[m for m in figures if m.get("notebook") == name],
                    tables=[m for m in tables_ if m.get("notebook") == name],
                    narrative=narrative.read_text(encoding="utf-8") if narrative.exists() else "",
                )
            )
        return out


def notebook_heading(path: Path) -> tuple[str, str]:
    """The title (first ``# `` heading) and the question paragraph of a notebook."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    for cell in doc.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        text = "".join(cell.get("source", ""))
        m = re.search(r"^# (.+)$", text, flags=re.M)
        if not m:
            continue
        q = re.search(r"\*\*Question\.\*\*\s*(.+?)(?:\n\n|$)", text, flags=re.S)
        question = " ".join(q.group(1).split()) if q else ""
        return m.group(1).strip(), question
    return path.stem, ""


# -- quoting findings -----------------------------------------------------------------------
def quote(
    f: dict[str, Any] | None,
    min_cell_size: int = MIN_CELL_SIZE,
    n: bool = False,
    inside: bool = False,
    unit: str = "",
) -> str:
    """A finding as it is quoted in text: "1.62 (95% CI 1.30–2.02)", or why it is not shown.

    ``n`` adds what it rests on ("1,405 clinicians at 50 sites"); ``inside`` gives the form
    for use inside parentheses: "1.62; 95% CI 1.30–2.02"; ``unit`` follows the estimate
    ("11.1 percentage points (95% CI 6.9–15.4)").
    """
    if f is None:
        why = "the analysis did not run"
    elif not f.get("available", True):
        why = f.get("note") or "input not provided"
    elif f.get("suppressed"):
        why = f"fewer than {min_cell_size} people or events"
    else:
        why = ""
    if why:
        shown = "not available" if f is None or not f.get("available", True) else "not shown"
        return f"{shown}: {why}" if inside else f"{shown} ({why})"
    kind = formatting.unit_kind(f.get("unit", ""))
    est = formatting.fmt(f["estimate"], kind) + (f" {unit}" if unit else "")
    parts = []
    if f.get("ci_low") is not None and f.get("ci_high") is not None:
        level = round(100 * (f.get("ci_level") or 0.95))
        parts.append(f"{level}% CI {formatting.interval(f['ci_low'], f['ci_high'], kind)}")
    if n and f.get("n") is not None:
        rests = f"{f['n']:,} {f.get('n_unit') or ''}".strip()
        if f.get("n_sites"):
            rests += f" at {f['n_sites']:,} sites"
        parts.append(rests)
    if not parts:
        return est
    return f"{est}; {'; '.join(parts)}" if inside else f"{est} ({'; '.join(parts)})"


def _unit_words(f: dict[str, Any]) -> str:
    unit = (f.get("unit") or "").lower()
    return unit if "ratio" in unit else ""


def _shown(f: dict[str, Any] | None) -> bool:
    return bool(f and f.get("available", True) and not f.get("suppressed"))


# -- key points -----------------------------------------------------------------------------
def _relative(f: dict[str, Any]) -> str:
    """'62% more often' / '29% less often' from a ratio estimate."""
    r = f["estimate"]
    return f"{abs(r - 1) * 100:.0f}% {'more' if r > 1 else 'less'} often"


def keypoints(rv: RunView) -> str:
    """The key points box: Question, Findings, Meaning."""
    f = rv.findings
    question = (
        f"At {rv.data_name}, {rv.period}, were clinicians managed as production workers "
        "(paid on work-RVU production) more likely to leave, burn out or lose patients' access "
        "than clinicians managed as knowledge workers?"
    )
    found = []
    hr = f.get("turnover.hr_rvu_production")
    if _shown(hr):
        verdict, _ = catalog.verdict(hr, "above")
        ratio = "hazard ratio " + quote(hr, rv.min_cell_size, n=True, inside=True)
        if verdict == catalog.VERDICTS[2]:
            text = (
                "Voluntary exits under RVU production pay did not differ clearly from those "
                f"under salary ({ratio})"
            )
        else:
            text = (
                f"Clinicians paid on RVU production left voluntarily {_relative(hr)} than "
                f"salaried clinicians ({ratio})"
            )
        excess = f.get("turnover.excess_exits_rvu_per_year")
        cost = f.get("cost.excess_turnover_rvu_per_year")
        if verdict == catalog.VERDICTS[0] and _shown(excess):
            text += f", about {_estimate_ci(excess)} departures a year beyond salary"
            if _shown(cost):
                text += f", costing {_estimate_ci(cost)} a year to replace"
        found.append(text + ".")
    bo, prev = f.get("burnout.rr_rvu_production"), f.get("burnout.prevalence")
    if _shown(prev):
        text = f"{formatting.fmt(prev['estimate'], 'share')} of survey responses reported burnout"
        if _shown(bo):
            word = {"consistent with the claim": "more", "not consistent with the claim": "less"}
            more = word.get(catalog.verdict(bo, "above")[0])
            text += (
                f", {more} often under RVU production pay"
                if more
                else ", no clearly different share under RVU production pay"
            ) + f" (risk ratio {_estimate_ci(bo)})"
        found.append(text + ".")
    if not found:
        found.append("None of the key findings could be estimated on these data (see below).")
    return (
        f"**Question** {question}\n\n**Findings** {' '.join(found)}\n\n**Meaning** {meaning(rv)}\n"
    )


def meaning(rv: RunView) -> str:
    """What the findings imply, hedged as association, from the verdicts."""
    hr = rv.findings.get("turnover.hr_rvu_production")
    verdict, why = catalog.verdict(hr, "above")
    cost = rv.findings.get("cost.excess_turnover_rvu_per_year")
    caveat = (
        "These are associations in observational data: sites chose their pay models, and the "
        "estimates do not show that changing pay would change departures."
    )
    if verdict == catalog.VERDICTS[0]:
        money = (
            f", at an estimated replacement cost of "
            f"{formatting.fmt(cost['estimate'], 'usd')} a year"
            if _shown(cost)
            else ""
        )
        return (
            "In this organization, managing clinicians by RVU production was associated with "
            f"more voluntary departures{money}. {caveat}"
        )
    if verdict == catalog.VERDICTS[1]:
        return (
            "Contrary to the claim, RVU production pay was associated with fewer voluntary "
            f"departures in this organization. {caveat}"
        )
    if verdict == catalog.VERDICTS[2]:
        return (
            "These data do not show a clear association between RVU production pay and "
            "voluntary departures; the interval is compatible with no difference "
            f"(@sec-methods gives the smallest differences these data could detect). {caveat}"
        )
    return f"The main comparison could not be made: {why}."


# -- claims ---------------------------------------------------------------------------------
def claims_table(rv: RunView) -> str:
    """Table 1: each claim, the findings that test it and a verdict from a stated rule."""
    # the verdict column holds "not consistent with the claim" on one line
    header = "| Claim | Evidence | Estimate (95% CI) | Verdict |\n|:" + "-" * 27 + "|:"
    header += "-" * 34 + "|" + "-" * 24 + ":|:" + "-" * 35 + "|"
    rows = []
    for claim in catalog.claims():
        for i, test in enumerate(claim.tests):
            f = rv.findings.get(test.finding)
            verdict, why = catalog.verdict(f, test.expect)
            spec = catalog.findings()[test.finding]
            est = _estimate_ci(f) if _shown(f) else "\u2014"
            v = f"*{verdict}*"
            if verdict == catalog.VERDICTS[3]:
                v += f" ({why})"
            if spec.design == "policy model":
                v += " (policy model)"
            first = f"{claim.number}. {claim.title}" if i == 0 else ""
            rows.append(f"| {first} | {spec.short} | {est} | {v} |")
    rule = (
        "Verdicts follow one rule from each finding's 95% confidence interval: *consistent "
        "with the claim* when the interval excludes no difference (a ratio of 1 or a "
        "difference of 0) in the direction the claim predicts; *not consistent with the claim* "
        "when it excludes no difference in the other direction; *inconclusive* when it "
        "includes no difference; *not testable* when the data lack the input (the reason is "
        "given). Policy-model results follow from stated assumptions, not from observed "
        "outcomes."
    )
    return (
        "\n".join([header, *rows])
        + "\n\n: The five claims and what this organization's data say {#tbl-claims}\n\n"
        + f"::: {{.table-notes}}\n{rule}\n:::\n"
    )


def _estimate_ci(f: dict[str, Any]) -> str:
    """'1.29 (1.18–1.42)': the estimate and its interval, no more."""
    kind = formatting.unit_kind(f.get("unit", ""))
    est = formatting.fmt(f["estimate"], kind)
    if f.get("ci_low") is None:
        return est
    return f"{est} ({formatting.interval(f['ci_low'], f['ci_high'], kind)})"


# -- in context -----------------------------------------------------------------------------
def _cite(keys: str | list[str]) -> str:
    keys = [keys] if isinstance(keys, str) else keys
    return "[" + "; ".join(f"@{k}" for k in keys) + "]"


def _role_rate(rv: RunView, role: str) -> str:
    path = rv.out / "tables" / "tbl-turnover-rate-role.csv"
    if not path.exists():
        return "not available"
    df = tables.read(path)
    row = df[df.get("role", df.columns[0]) == role]
    if row.empty or tables._is_suppressed(row.iloc[0].get("rate_per_100")):
        return "not shown"
    r = row.iloc[0]
    return (
        f"{formatting.fmt(r['rate_per_100'], 'rate')} "
        f"({formatting.interval(r['ci_low'], r['ci_high'], 'rate')})"
    )


def context_table(rv: RunView) -> str:
    """Table 2: the organization's numbers beside published national figures, cited."""
    ref = published()
    f = rv.findings
    nat = ref["burnout_national_series"]["rows"]
    latest = max(nat, key=lambda r: r["year"])
    lo, hi = min(r["prevalence"] for r in nat), max(r["prevalence"] for r in nat)
    years = f"{min(r['year'] for r in nat)}\u2013{max(r['year'] for r in nat)}"
    sh, sc, hm = ref["shanafelt2017"], ref["sullivancotter2019"], ref["hamidi2018"]
    wg = ref["willard_grace2019"]
    rows = [
        (
            "Burned out (share of clinicians)",
            _estimate_ci(f["burnout.prevalence"])
            if _shown(f.get("burnout.prevalence"))
            else "not available",
            f"{formatting.fmt(latest['prevalence'], 'share')} of US physicians in "
            f"{latest['year']} (range {formatting.interval(lo, hi, 'share')}, {years}) "
            + _cite(ref["burnout_national_series"]["cite"]),
            "Maslach Burnout Inventory nationally; the Mini-Z single item here",
        ),
        (
            "Voluntary exits per 100 physician-years",
            _role_rate(rv, "physician"),
            f"{formatting.fmt(sh['turnover_per_year'], 'share')} of physicians a year "
            + _cite(sh["cite"]),
            "All turnover nationally; voluntary exits here",
        ),
        (
            "Voluntary exits per 100 advanced practice clinician-years",
            _role_rate(rv, "advanced_practice"),
            f"{formatting.fmt(sc['external_app_turnover_per_year_2019'], 'share')} a year "
            f"in 2019 " + _cite(sc["cite"]),
            "External turnover in a compensation survey",
        ),
        (
            "Voluntary exit, burned out vs not",
            _estimate_ci(f["turnover.hr_burnout_linked"])
            if _shown(f.get("turnover.hr_burnout_linked"))
            else "not available",
            f"Relative risk {formatting.fmt(hm['relative_risk_leaving'], 'ratio')} "
            f"({formatting.interval(*hm['relative_risk_leaving_ci'], 'ratio')}) "
            + _cite(hm["cite"])
            + f"; odds ratio {formatting.fmt(wg['or_burnout_turnover'], 'ratio')} "
            f"({formatting.interval(*wg['or_burnout_turnover_ci'], 'ratio')}) " + _cite(wg["cite"]),
            "Hazard ratio within 12 months here; 2-year departures in the studies",
        ),
        (
            "Replacement cost per physician departure",
            "the assumption used here"
            + (" (@sec-cost)" if any(sec.name == "cost" for sec in rv.sections) else ""),
            formatting.interval(*sh["replacement_cost_usd"], "usd")
            + " "
            + _cite([sh["cite"], ref["ama_steps_forward"]["cite"]]),
            "Recruitment, lost billing and onboarding",
        ),
    ]
    lines = [
        "| Measure | This organization (95% CI) | Published figure | Comparability |",
        "|:" + "-" * 24 + "|" + "-" * 22 + ":|:" + "-" * 40 + "|:" + "-" * 30 + "|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return (
        "\n".join(lines)
        + "\n\n: This organization beside published national figures {#tbl-context}\n\n"
        + "::: {.table-notes}\nPublished figures come from other populations and measures; "
        "they give context, not a benchmark to be met.\n:::\n"
    )


# -- analysis sections ----------------------------------------------------------------------
def figure_markdown(m: dict[str, Any]) -> str:
    alt = m.get("alt", "").replace('"', "'")
    caption = m["caption"].rstrip()
    return f'![{caption}](figures/{m["id"]}){{#{m["id"]} fig-alt="{alt}"}}\n'


def table_block(rv: RunView, m: dict[str, Any], limit: int) -> tuple[str, bool]:
    """A table's Markdown and whether it was printed (a mostly suppressed table is replaced by
    a sentence)."""
    df = tables.read(rv.out / "tables" / f"{m['id']}.csv")
    shown = tables.prepare(df, rv.min_cell_size, show=m.get("show"))
    if tables.mostly_suppressed(shown):
        return (
            f"[{shown.suppressed_rows} of {shown.total_rows} rows of the table "
            f"\u201c{m['caption'].rstrip('.')}\u201d describe fewer than {rv.min_cell_size} "
            f"people and are not shown; the published rows are in `tables/{m['id']}.csv`."
            "]{.unavailable}\n",
            False,
        )
    notes = list(shown.notes)
    if shown.total_rows > limit:
        shown.rows = shown.rows[:limit]
        notes.append(
            f"The first {limit} of {shown.total_rows} rows; all are in `tables/{m['id']}.csv`."
        )
    if m.get("notes"):
        notes.insert(0, m["notes"])
    if m.get("source"):
        notes.append(m["source"] + ".")
    block = tables.markdown(shown, m["caption"].rstrip(), m["id"])
    return block + "\n::: {.table-notes}\n" + " ".join(notes) + "\n:::\n", True


def _in_appendix(rv: RunView, m: dict[str, Any], kind: str) -> bool:
    if m.get("placement") == "appendix":
        return True
    if kind == "table":
        rows = sum(1 for _ in open(rv.out / "tables" / f"{m['id']}.csv", encoding="utf-8")) - 1
        return rows > MAX_BODY_ROWS
    return False


def _findings_paragraph(sec: Section, rv: RunView) -> str:
    lines = []
    for f in sec.findings:
        if f.get("design") == "published example":
            continue
        lines.append(f"- {f['label']}: {quote(f, rv.min_cell_size)}.")
    return "\n".join(lines)


def _unprinted_refs(text: str, unprinted: set[str]) -> str:
    """References to tables replaced by a sentence (mostly suppressed) point to their CSV."""
    for tid in unprinted:
        text = text.replace(
            f"@{tid}", f"`tables/{tid}.csv` (not printed: most rows describe too few people)"
        )
    return text


def analysis_sections(rv: RunView) -> tuple[str, str]:
    """The body sections (one per notebook) and the appendix."""
    body, appendix = [], []
    for sec in rv.sections:
        main_figs = [m for m in sec.figures if not _in_appendix(rv, m, "figure")]
        main_tbls = [m for m in sec.tables if not _in_appendix(rv, m, "table")]
        app_figs = [m for m in sec.figures if m not in main_figs]
        app_tbls = [m for m in sec.tables if m not in main_tbls]
        tbl_blocks = [table_block(rv, m, MAX_BODY_ROWS) for m in main_tbls]
        app_blocks = [table_block(rv, m, MAX_APPENDIX_ROWS) for m in app_tbls]
        printed = {
            m["id"]
            for m, (_, ok) in zip(main_tbls + app_tbls, tbl_blocks + app_blocks, strict=True)
            if ok
        }
        unprinted = {m["id"] for m in sec.tables} - printed
        parts = [f"# {sec.title} {{#{sec.id}}}\n"]
        if sec.question:
            parts.append(f"*{sec.question}*\n")
        if sec.narrative:
            parts.append(_unprinted_refs(sec.narrative, unprinted).strip() + "\n")
        else:
            if sec.findings:
                parts.append(_findings_paragraph(sec, rv) + "\n")
            shown = [m["id"] for m in main_tbls if m["id"] in printed]
            shown += [m["id"] for m in main_figs]
            if shown:
                parts.append("Exhibits: " + ", ".join(f"@{i}" for i in shown) + ".\n")
        if not sec.findings and not sec.figures and not sec.tables:
            parts.append("[This analysis did not run on these data.]{.unavailable}\n")
        parts += [figure_markdown(m) for m in main_figs]
        parts += [block for block, _ in tbl_blocks]
        body.append("\n".join(parts))
        if app_figs or app_tbls:
            app = [f"## {sec.title} {{#{sec.id}-appendix}}\n"]
            if not sec.narrative:
                shown = [m["id"] for m in app_tbls if m["id"] in printed]
                shown += [m["id"] for m in app_figs]
                if shown:
                    app.append("Exhibits: " + ", ".join(f"@{i}" for i in shown) + ".\n")
            app += [figure_markdown(m) for m in app_figs]
            app += [block for block, _ in app_blocks]
            appendix.append("\n".join(app))
    return "\n".join(body), "\n".join(appendix)


# -- methods, provenance, citation ----------------------------------------------------------
def primary_list(rv: RunView) -> str:
    """The declared primary findings as a Markdown list."""
    return "\n".join(f"- {catalog.findings()[i].short}" for i in catalog.primary())


def mde_table(rv: RunView) -> str:
    """The primary findings' minimum detectable effects (``mde`` in findings.json) as a
    Markdown pipe table with caption and id ``tbl-mde`` and a notes line; an empty string
    when no published primary finding has one."""
    rows = []
    for fid in catalog.primary():
        f = rv.findings.get(fid)
        if not _shown(f) or f.get("mde") is None:
            continue
        kind = formatting.unit_kind(f.get("unit", ""))
        m = f["mde"]
        if kind == "ratio":
            smallest = f"{formatting.fmt(m, kind)} or {formatting.fmt(1 / m, kind)}"
        else:
            smallest = f"\u00b1{formatting.fmt(abs(m), kind)} {f.get('unit', '')}".rstrip()
        short = catalog.findings()[fid].short
        rows.append(f"| {short} | {_estimate_ci(f)} | {smallest} |")
    if not rows:
        return ""
    power = next(
        rv.findings[i]["mde_power"] for i in catalog.primary() if rv.findings.get(i, {}).get("mde")
    )
    notes = (
        "The smallest true effect that a two-sided test of no difference at the 5% level would "
        f"detect with {100 * power:.0f}% power, from each finding's standard error (SE) and the "
        f"degrees of freedom (df) of its interval: exp((t(0.975, df) + t({power:.2f}, df)) "
        "\u00d7 SE) for a ratio, whose reciprocal is the smallest detectable ratio below 1, and "
        f"(t(0.975, df) + t({power:.2f}, df)) \u00d7 SE for a difference. A smaller true effect "
        "would usually go undetected: an interval that includes no difference does not show "
        "that there is none."
    )
    return (
        "| Finding | Estimate (95% CI) | Smallest detectable effect |\n"
        "|:---|---:|---:|\n"
        + "\n".join(rows)
        + "\n\n: Smallest effects these data could detect {#tbl-mde}\n\n"
        + f"::: {{.table-notes}}\n{notes}\n:::\n"
    )


def power_paragraph(rv: RunView) -> str:
    """The methods' paragraph on power with the table of minimum detectable effects (nothing
    when no primary finding was published with one)."""
    table = mde_table(rv)
    if not table:
        return ""
    power = next(
        rv.findings[i]["mde_power"] for i in catalog.primary() if rv.findings.get(i, {}).get("mde")
    )
    return (
        "**Power.** An interval that includes no difference does not show that there is none. "
        "For each primary finding, @tbl-mde gives the smallest effect these data would detect "
        f"with {100 * power:.0f}% power.\n\n" + table
    )


def multiplicity_paragraph(rv: RunView) -> str:
    """The methods' sentence on secondary findings and, when any has an adjusted P value
    (``p_adjusted``), a table of each published one with its P value before and after Holm's
    adjustment (id ``tbl-multiplicity``)."""
    rows = []
    for fid, f in rv.findings.items():
        if f.get("p_adjusted") is None or not _shown(f):
            continue
        spec = catalog.findings().get(fid)
        short = spec.short if spec else f.get("label", fid)
        p, adjusted = (formatting.fmt(f[k], "p") for k in ("p_value", "p_adjusted"))
        rows.append(f"| {short} | {_estimate_ci(f)} | {p} | {adjusted} |")
    sentence = "The P values of all other ratio findings are adjusted together by Holm's method"
    if not rows:
        return sentence + ".\n"
    notes = (
        "Holm's step-down adjustment over every secondary ratio finding of the run: calling "
        "only those with an adjusted P value below .05 different from no difference keeps the "
        "chance of any false positive among them at most 5%. The intervals are not adjusted; "
        "the verdicts of @tbl-claims follow the unadjusted 95% intervals."
    )
    return (
        f"{sentence} (@tbl-multiplicity).\n\n"
        # relative column widths, as the dashes give them (the finding's words need room)
        "| Finding | Estimate (95% CI) | P value | Adjusted P value (Holm) |\n"
        f"|:{'-' * 48}|{'-' * 18}:|{'-' * 9}:|{'-' * 15}:|\n"
        + "\n".join(rows)
        + "\n\n: Secondary findings: P values before and after adjustment for multiplicity "
        "{#tbl-multiplicity}\n\n" + f"::: {{.table-notes}}\n{notes}\n:::\n"
    )


def provenance(rv: RunView) -> str:
    man = rv.manifest
    code, data = man.get("code", {}), man.get("data", {})
    commit = code.get("commit") or "not a git checkout"
    lines = [
        f"Results were computed on {rv.run_date} with toolkit version "
        f"{code.get('version', __version__)} (commit `{commit[:12]}`"
        f"{', with uncommitted changes' if code.get('dirty') else ''}) and Python "
        f"{man.get('python', {}).get('version', '')}. @tbl-provenance-inputs lists the input "
        "files (a table read in a database: its name there, and a fingerprint the database "
        "computed); `manifest.json` beside this report records every package version, every "
        "parameter and each notebook's run time.",
        "",
        "| Table | File | Rows | SHA-256 (first 16 characters) |",
        "|:---|:---|---:|:---|",
    ]
    for i in data.get("inputs", []):
        if "path" in i:
            name = Path(i["path"]).name + (f" [{i['sheet']}]" if i.get("sheet") else "")
            digest = i["sha256"]
        else:  # read where it lives (sources.yaml): no file, no URL
            name, digest = f"{i['source']} ({i['engine']})", i["fingerprint"]
        table = i["table"].replace("_", " ").capitalize()
        lines.append(f"| {table} | `{name}` | {i['rows']:,} | `{digest[:16]}` |")
    lines += ["", ": Input files {#tbl-provenance-inputs}", ""]
    pk = man.get("packages", {})
    keys = [k for k in manifest.KEY_PACKAGES if k in pk]
    lines.append("Key packages: " + ", ".join(f"{k} {pk[k]}" for k in keys) + ".")
    return "\n".join(lines) + "\n"


def cite(rv: RunView) -> str:
    doc = yaml.safe_load((paths.ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    authors = ", ".join(
        a.get("name") or f"{a.get('given-names', '')} {a.get('family-names', '')}".strip()
        for a in doc.get("authors", [])
    )
    code = rv.manifest.get("code", {})
    version = code.get("version", __version__)
    commit = (code.get("commit") or "not a git checkout")[:12]
    year = (str(rv.manifest.get("created_at") or "")[:4]) or str(date.today().year)
    toolkit = f"{authors}. *{doc['title']}*. Version {version}, commit {commit}. Software; {year}."
    report = (
        f"{rv.data_name}. *Production line or solution shop? Clinician management, turnover, "
        f"burnout and access*. Report of {rv.run_date}, toolkit version {version} (commit "
        f"{commit}). {year}."
    )
    if rv.synthetic:
        return (
            '::: {.callout-warning title="Not for citation"}\n'
            "This is a demonstration build made from simulated data. Nothing in it may be "
            "cited: none of its numbers describes a real organization.\n:::\n\n"
            f"A report built from an organization's own data is cited as: {report}\n\n"
            f"The toolkit is cited as: {toolkit}\n"
        )
    return (
        f"Cite this report as:\n\n> {report}\n\nCite a finding by its id in `findings.json` "
        "with its interval and n, for example `turnover.hr_rvu_production`. Cite the toolkit "
        f"as:\n\n> {toolkit}\n"
    )


def variables(rv: RunView) -> dict[str, Any]:
    """Values the report source refers to with ``{{< var ... >}}``."""
    ref = published()
    low, high = ref["shanafelt2017"]["replacement_cost_usd"]
    return {
        "data": {"name": rv.data_name, "period": rv.period},
        "run": {
            "date": rv.run_date,
            "iso_date": rv.iso_date,
            "min_cell_size": str(rv.min_cell_size),
            "primary": primary_list(rv),
        },
        "ref": {
            "physician_replacement_cost": formatting.interval(low, high, "usd"),
            "national_burnout_cost": formatting.usd(ref["han2019"]["national_cost_usd_per_year"]),
        },
    }


def escape_dollars(text: str) -> str:
    """``$`` as a literal dollar sign in Pandoc Markdown (never the start of TeX math)."""
    return re.sub(r"(?<!\\)\$", r"\\$", text)


def fragments(rv: RunView) -> dict[str, str]:
    """The generated parts the report source includes, by file name."""
    body, appendix = analysis_sections(rv)
    return {
        "keypoints.qmd": keypoints(rv),
        "claims.qmd": claims_table(rv),
        "context.qmd": context_table(rv),
        "mde.qmd": power_paragraph(rv),
        "multiplicity.qmd": multiplicity_paragraph(rv),
        "analyses.qmd": body,
        "appendix.qmd": appendix or "No long listings or diagnostics were produced.\n",
        "provenance.qmd": provenance(rv),
        "cite.qmd": cite(rv),
        "banner.qmd": (
            f"::: {{.demo-banner}}\n{DEMO_MARK}. Every number in this report comes from a "
            "simulated organization and shows only how the analyses work.\n:::\n"
            if rv.synthetic
            else ""
        ),
    }


SHORTCODE = re.compile(r"\{\{<\s*(var|include)\s+([^\s>]+)\s*>\}\}")


def substitute(text: str, variables_: dict[str, Any], includes: dict[str, str]) -> str:
    """Resolve ``{{< var key.path >}}`` and ``{{< include _generated/NAME >}}``; an unknown
    key or include is an error, never an empty string."""

    def lookup(key: str) -> str:
        node: Any = variables_
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ReportError(f"unknown variable {{{{< var {key} >}}}}")
            node = node[part]
        return escape_dollars(str(node))

    def repl(m: re.Match) -> str:
        if m.group(1) == "var":
            return lookup(m.group(2))
        name = m.group(2).removeprefix("_generated/")
        if name not in includes:
            raise ReportError(f"include not found: {m.group(2)}")
        return SHORTCODE.sub(repl, escape_dollars(includes[name]))

    return SHORTCODE.sub(repl, text)


def source(rv: RunView, template: Path) -> str:
    """The report source with every number and generated part substituted."""
    return substitute(template.read_text(encoding="utf-8"), variables(rv), fragments(rv))
