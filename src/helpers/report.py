"""Build the report (HTML and PDF) from a run's output folder and the Quarto source.

With Quarto on PATH the source renders with Quarto (``html`` self-contained and ``typst``).
Otherwise the same source renders with Pandoc and Typst from PyPI, after
:func:`preprocess` implements the few Quarto features the source uses: the ``var`` and
``include`` shortcodes, ``content-visible when-meta`` blocks, and numbered cross-references
to figures, tables and sections (see ``reports/README.md``).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from helpers import __version__, cache, manifest, paths
from helpers.findings import MIN_CELL_SIZE

DEMO_MARK = "Demonstration data — simulated, not for citation"
NOTEBOOK_SECTIONS = (
    "workforce",
    "turnover",
    "access",
    "burnout",
    "time_allocation",
    "encounters",
    "cost",
    "bh_programme",
)
MAX_TABLE_ROWS = 25


class ReportError(RuntimeError):
    """The report could not be built; the message says which engine failed and why."""


# -- numbers ------------------------------------------------------------------------------
def _num(x: float, unit: str) -> str:
    u = unit.lower()
    if "usd" in u or "dollar" in u:
        a = abs(x)
        if a >= 1e9:
            return f"${x / 1e9:,.2f} billion"
        if a >= 1e6:
            return f"${x / 1e6:,.2f} million"
        if a >= 1e3:
            return f"${x:,.0f}"
        return f"${x:,.2f}"
    if "share" in u or "proportion" in u or "percent" in u:
        return f"{100 * x:.1f}%"
    if "ratio" in u:
        return f"{x:.2f}"
    if "per 100" in u or "days" in u or "minutes" in u or "hours" in u:
        return f"{x:,.1f}"
    if float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:,.2f}" if abs(x) < 100 else f"{x:,.0f}"


def format_finding(f: dict[str, Any], min_cell_size: int = MIN_CELL_SIZE) -> dict[str, str]:
    """The formatted pieces of one finding: estimate, ci, n and a quotable summary."""
    if not f.get("available", True):
        text = f"not available: {f.get('note') or 'input not provided'}"
        return {"estimate": "not available", "ci": "not available", "n": "", "summary": text}
    if f.get("suppressed"):
        text = f"suppressed: fewer than {min_cell_size} people"
        return {"estimate": "suppressed", "ci": "suppressed", "n": "", "summary": text}
    unit = f.get("unit") or ""
    est = _num(f["estimate"], unit) if f.get("estimate") is not None else "not estimable"
    ci = ""
    if f.get("ci_low") is not None and f.get("ci_high") is not None:
        ci = f"{_num(f['ci_low'], unit)} to {_num(f['ci_high'], unit)}"
    n = f"{f['n']:,} {f.get('n_unit') or ''}".strip() if f.get("n") is not None else ""
    level = int(round(100 * (f.get("ci_level") or 0.95)))
    detail = "; ".join(p for p in (f"{level}% CI {ci}" if ci else "", f"n = {n}" if n else "") if p)
    summary = f"{f['label']}: {est}" + (
        f" {unit}" if unit and "usd" not in unit.lower() and "share" not in unit.lower() else ""
    )
    summary += f" ({detail})." if detail else "."
    return {"estimate": est, "ci": ci, "n": n, "summary": summary}


def variables(findings: dict[str, Any], man: dict[str, Any], min_cell_size: int) -> dict[str, Any]:
    """The ``_variables.yml`` document."""
    code = man.get("code", {})
    window = man.get("data", {}).get("window", {})
    out: dict[str, Any] = {
        "data": {
            "name": man.get("data", {}).get("name", ""),
            "period": f"{window.get('start', '?')} to {window.get('end', '?')}",
        },
        "run": {
            "date": str(man.get("created_at", ""))[:10] or date.today().isoformat(),
            "version": code.get("version", __version__),
            "commit": (code.get("commit") or "not a git checkout")[:12]
            + (" (uncommitted changes)" if code.get("dirty") else ""),
            "min_cell_size": str(min_cell_size),
        },
        "synthetic": bool(findings.get("synthetic_data")),
        "find": {},
    }
    for f in findings.get("findings", []):
        out["find"][f["id"].replace(".", "_")] = format_finding(f, min_cell_size)
    for fid in _required_ids():
        key = fid.replace(".", "_")
        out["find"].setdefault(
            key,
            {
                "estimate": "not available",
                "ci": "",
                "n": "",
                "summary": "not available: the analysis did not run",
            },
        )
    return out


def _required_ids() -> tuple[str, ...]:
    from helpers.runner import REQUIRED_FINDINGS

    return REQUIRED_FINDINGS


# -- generated fragments ------------------------------------------------------------------
def _meta(folder: Path) -> list[dict[str, Any]]:
    items = []
    for path in sorted(folder.glob("*.json")) if folder.exists() else []:
        items.append(json.loads(path.read_text(encoding="utf-8")))
    return items


def _cell(v: Any) -> str:
    text = str(v)
    if isinstance(v, str) and re.fullmatch(r"-?\d+\.\d+(e-?\d+)?", v.strip()):
        x = float(v)
        text = f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"
    return text.replace("|", "\\|").replace("\n", " ")


def table_markdown(csv: Path, caption: str, tbl_id: str) -> str:
    df = pd.read_csv(csv, dtype=object, keep_default_na=False)
    shown = df.head(MAX_TABLE_ROWS).copy()
    for c in shown.columns:
        shown[c] = shown[c].map(_cell)
    lines = [
        "| " + " | ".join(_cell(c) for c in shown.columns) + " |",
        "|" + "|".join("---" for _ in shown.columns) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in shown.astype(str).values.tolist()]
    more = ""
    if len(df) > MAX_TABLE_ROWS:
        more = (
            f"\n\nThe first {MAX_TABLE_ROWS} of {len(df)} rows; the full table is "
            f"`tables/{tbl_id}.csv`."
        )
    return "\n".join(lines) + f"\n\n: {caption} {{#{tbl_id}}}" + more


def fragments(out_dir: Path, findings: dict[str, Any]) -> dict[str, str]:
    """One fragment per notebook: its unavailable findings, figures and tables."""
    figs, tbls = _meta(out_dir / "figures"), _meta(out_dir / "tables")
    by_nb: dict[str, list[dict]] = {}
    for f in findings.get("findings", []):
        by_nb.setdefault(f["notebook"], []).append(f)
    out = {}
    for nb in NOTEBOOK_SECTIONS:
        parts = []
        for f in by_nb.get(nb, []):
            if not f.get("available", True):
                parts.append(f"[{f['label']}: not available: {f.get('note')}]{{.unavailable}}")
            elif f.get("suppressed"):
                parts.append(f"[{f['label']}: {f.get('note')}]{{.unavailable}}")
        for m in (m for m in figs if m.get("notebook") == nb):
            alt = m["alt"].replace('"', "'")
            parts.append(f'![{m["caption"]}](figures/{m["id"]}.png){{#{m["id"]} fig-alt="{alt}"}}')
        for m in (m for m in tbls if m.get("notebook") == nb):
            parts.append(
                table_markdown(out_dir / "tables" / f"{m['id']}.csv", m["caption"], m["id"])
            )
        if nb not in by_nb and not parts:
            parts.append("[This analysis did not run on these data.]{.unavailable}")
        out[nb] = "\n\n".join(parts) + "\n"
    return out


def provenance(man: dict[str, Any]) -> str:
    code, data = man.get("code", {}), man.get("data", {})
    lines = [
        f"Results computed on {str(man.get('created_at', ''))[:10]} with toolkit version "
        f"{code.get('version')} (commit `{code.get('commit') or 'none'}`"
        f"{', with uncommitted changes' if code.get('dirty') else ''}), Python "
        f"{man.get('python', {}).get('version')}.",
        "",
        "| table | file | rows | SHA-256 (first 16) |",
        "|---|---|---|---|",
    ]
    for i in data.get("inputs", []):
        name = Path(i["path"]).name + (f" [{i['sheet']}]" if i.get("sheet") else "")
        lines.append(f"| {i['table']} | {name} | {i['rows']:,} | `{i['sha256'][:16]}` |")
    lines += ["", ": Input files {#tbl-provenance-inputs}", ""]
    pk = man.get("packages", {})
    keys = [k for k in manifest.KEY_PACKAGES if k in pk]
    lines.append("Key packages: " + ", ".join(f"{k} {pk[k]}" for k in keys) + ".")
    lines.append("")
    lines.append(
        "The full record (every package, every parameter, per-notebook run times) is "
        "`manifest.json` beside this report."
    )
    return "\n".join(lines) + "\n"


def cite() -> str:
    doc = yaml.safe_load((paths.ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    authors = ", ".join(
        a.get("name") or f"{a.get('given-names', '')} {a.get('family-names', '')}".strip()
        for a in doc.get("authors", [])
    )
    return (
        f"{authors}. *{doc['title']}*. Version {{{{< var run.version >}}}}, commit "
        f"{{{{< var run.commit >}}}}. Cite a finding by its id (for example "
        f"`turnover.hr_rvu_production`) with its interval and n, as listed in "
        f"`findings.json`.\n"
    )


# -- the fallback engine ------------------------------------------------------------------
SHORTCODE = re.compile(r"\{\{<\s*(var|include)\s+([^\s>]+)\s*>\}\}")
VISIBLE = re.compile(r'^:::+\s*\{\.content-visible\s+when-meta="([^"]+)"\}\s*$')


def _lookup(variables: dict[str, Any], key: str) -> str:
    node: Any = variables
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ReportError(f"unknown variable {{{{< var {key} >}}}}")
        node = node[part]
    return str(node)


def _shortcodes(text: str, folder: Path, variables: dict[str, Any], depth: int = 0) -> str:
    def repl(m: re.Match) -> str:
        if m.group(1) == "var":
            return _lookup(variables, m.group(2))
        if depth > 5:
            raise ReportError("include shortcodes nested too deeply")
        inc = folder / m.group(2)
        if not inc.exists():
            raise ReportError(f"include not found: {m.group(2)}")
        return _shortcodes(inc.read_text(encoding="utf-8"), inc.parent, variables, depth + 1)

    return SHORTCODE.sub(repl, text)


def _visibility(text: str, meta: dict[str, Any]) -> str:
    """Keep or drop ``::: {.content-visible when-meta="key"}`` blocks."""
    out, stack = [], []  # stack of (fence length, keep)
    for line in text.splitlines():
        m = VISIBLE.match(line.strip())
        fence = re.match(r"^(:{3,})\s*(\{.*\})?\s*$", line.strip())
        keep = all(k is not False for _, k in stack)
        if m:
            stack.append(
                (len(line.strip()) - len(line.strip().lstrip(":")), bool(meta.get(m.group(1))))
            )
            continue
        if fence and fence.group(2):
            stack.append((len(fence.group(1)), None))
        elif fence and stack:
            _, kind = stack.pop()
            if kind is not None:
                continue
        if keep:
            out.append(line)
    return "\n".join(out) + "\n"


def crossrefs(text: str, caption_numbers: bool = True) -> str:
    """Number figures, tables and top-level sections, and turn ``@id`` into linked labels.

    ``caption_numbers`` writes "Figure N:" into captions (HTML); Typst numbers its figures
    and tables itself, in the same order.
    """
    labels: dict[str, str] = {}
    fig = tbl = sec = 0
    lines = text.splitlines()
    for i, line in enumerate(lines):
        h = re.match(r"^# (.+?)\s*\{#(sec-[\w-]+)\}\s*$", line)
        if h:
            sec += 1
            labels[h.group(2)] = f"Section {sec}"
        f = re.match(r"^!\[(.*)\]\((.+?)\)\{#(fig-[\w-]+)(.*)\}\s*$", line)
        if f:
            fig += 1
            labels[f.group(3)] = f"Figure {fig}"
            if caption_numbers:
                lines[i] = (
                    f"![Figure {fig}: {f.group(1)}]({f.group(2)}){{#{f.group(3)}{f.group(4)}}}"
                )
        t = re.match(r"^: (.*) \{#(tbl-[\w-]+)\}\s*$", line)
        if t:
            tbl += 1
            labels[t.group(2)] = f"Table {tbl}"
            if caption_numbers:
                lines[i] = f": Table {tbl}: {t.group(1)} {{#{t.group(2)}}}"
    body = "\n".join(lines) + "\n"

    def ref(m: re.Match) -> str:
        key = m.group(1)
        if key not in labels:
            raise ReportError(f"cross-reference to an unknown id: @{key}")
        return f"[{labels[key]}](#{key})"

    return re.sub(r"(?<![\w`])@((?:fig|tbl|sec)-[\w-]*\w)", ref, body)


def preprocess(
    src: Path, variables: dict[str, Any], meta: dict[str, Any], caption_numbers: bool = True
) -> str:
    text = src.read_text(encoding="utf-8")
    text = _shortcodes(text, src.parent, variables)
    text = _visibility(text, meta)
    return crossrefs(text, caption_numbers)


def _pandoc(*args: str, cwd: Path) -> None:
    import pypandoc

    cmd = [pypandoc.get_pandoc_path(), *args]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ReportError(f"pandoc failed ({' '.join(args[:4])} …): {proc.stderr.strip()}")


def typst_header(synthetic: bool) -> str:
    mark = (
        (
            f'  header: align(center, text(size: 8pt, fill: rgb("#b00020"), weight: "bold")'
            f"[{DEMO_MARK}]),\n"
        )
        if synthetic
        else ""
    )
    return (
        "#set page(\n" + mark + '  numbering: "1",\n  number-align: center,\n)\n'
        "#set text(size: 10pt)\n"
        "#show figure: set block(breakable: false)\n"
        "#set image(width: 100%)\n"
    )


def render_fallback(work: Path, variables: dict[str, Any], meta: dict[str, Any]) -> None:
    """HTML with Pandoc, PDF with Pandoc's Typst writer and the Typst compiler."""
    for name, numbered in (("report.md", True), ("report-typst.md", False)):
        text = preprocess(work / "report.qmd", variables, meta, caption_numbers=numbered)
        (work / name).write_text(text, encoding="utf-8")
    common = [
        "--from",
        "markdown",
        "--number-sections",
        "--toc",
        "--metadata",
        "toc-title=Contents",
        "--resource-path",
        str(work),
    ]
    _pandoc(
        "report.md",
        *common,
        "--standalone",
        "--embed-resources",
        "--css",
        "styles.css",
        "--metadata",
        "lang=en",
        "-o",
        "report.html",
        cwd=work,
    )
    _inject_viewport(work / "report.html", bool(meta.get("synthetic")))
    (work / "header.typ").write_text(typst_header(bool(meta.get("synthetic"))), encoding="utf-8")
    _pandoc(
        "report-typst.md",
        *common,
        "--standalone",
        "-t",
        "typst",
        "--include-in-header",
        "header.typ",
        "-V",
        "papersize=a4",
        "-o",
        "report.typ",
        cwd=work,
    )
    import typst

    try:
        typst.compile(str(work / "report.typ"), output=str(work / "report.pdf"), root=str(work))
    except Exception as exc:  # typst raises its own error types
        raise ReportError(f"typst failed: {exc}") from exc


def _inject_viewport(path: Path, synthetic: bool) -> None:
    """A phone-friendly viewport, and the demonstration banner as the first thing on the page."""
    text = path.read_text(encoding="utf-8")
    if 'name="viewport"' not in text:
        text = text.replace(
            "<head>",
            '<head>\n<meta name="viewport" content="width=device-width, initial-scale=1">',
            1,
        )
    if synthetic:
        text = re.sub(
            r"(<body[^>]*>)",
            rf'\1\n<div class="demo-banner" role="note">'
            rf"{DEMO_MARK}</div>",
            text,
            count=1,
        )
    path.write_text(text, encoding="utf-8")


def render_quarto(work: Path, quarto: str) -> None:
    for fmt in ("html", "typst"):
        proc = subprocess.run(
            [quarto, "render", "report.qmd", "--to", fmt], cwd=work, capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise ReportError(f"quarto render --to {fmt} failed: {proc.stderr.strip()}")
    for name in ("report.html", "report.pdf"):
        found = next(work.rglob(name), None)
        if found is None:
            raise ReportError(f"quarto did not produce {name}")
        if found != work / name:
            shutil.move(found, work / name)


# -- build --------------------------------------------------------------------------------
def report_key(out_dir: Path, man: dict[str, Any], engine: str) -> str:
    h = hashlib.sha256()
    h.update((out_dir / "findings.json").read_bytes())
    h.update(json.dumps(manifest.stable_view(man), sort_keys=True, default=str).encode())
    h.update(cache.files_hash(out_dir, ["figures", "tables"]).encode())
    h.update(_source_hash().encode())
    h.update(cache.tree_hash(paths.PACKAGE).encode())
    h.update(engine.encode())
    return h.hexdigest()[:32]


def _source_hash() -> str:
    h = hashlib.sha256()
    for p in sorted(paths.REPORTS.iterdir()):
        if p.is_file() and p.suffix in (".qmd", ".yml", ".css", ".lua", ".typ"):
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def build(
    out_dir: Path | str, cache_dir: Path | str | None = None, engine: str = "auto"
) -> dict[str, Path]:
    """Render ``report.html`` and ``report.pdf`` into ``out_dir`` from its findings,
    figures, tables and manifest."""
    out_dir = Path(out_dir)
    findings = json.loads((out_dir / "findings.json").read_text(encoding="utf-8"))
    man = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    quarto = shutil.which("quarto")
    chosen = "quarto" if (engine == "quarto" or (engine == "auto" and quarto)) else "pandoc"
    if chosen == "quarto" and not quarto:
        raise ReportError("engine 'quarto' asked for, but quarto is not on PATH")
    targets = {"html": out_dir / "report.html", "pdf": out_dir / "report.pdf"}
    key = report_key(out_dir, man, chosen)
    stored = Path(cache_dir) / key if cache_dir else None
    if stored and all((stored / p.name).exists() for p in targets.values()):
        for p in targets.values():
            shutil.copy2(stored / p.name, p)
        return targets
    min_cell = _min_cell_size(man)
    var = variables(findings, man, min_cell)
    meta = {"synthetic": var["synthetic"]}
    work = out_dir / ".report-src"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(
        paths.REPORTS,
        work,
        ignore=shutil.ignore_patterns("build", "interactive", ".*", "_output", "*.md"),
    )
    gen = work / "_generated"
    gen.mkdir(exist_ok=True)
    for nb, text in fragments(out_dir, findings).items():
        (gen / f"{nb}.qmd").write_text(text, encoding="utf-8")
    (gen / "provenance.qmd").write_text(provenance(man), encoding="utf-8")
    (gen / "cite.qmd").write_text(cite(), encoding="utf-8")
    (gen / "meta.yml").write_text(yaml.safe_dump(meta), encoding="utf-8")
    (gen / "header.typ").write_text(typst_header(meta["synthetic"]), encoding="utf-8")
    (work / "_variables.yml").write_text(
        yaml.safe_dump(var, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    for sub in ("figures",):
        if (out_dir / sub).exists():
            shutil.copytree(out_dir / sub, work / sub)
    if chosen == "quarto":
        assert quarto is not None
        render_quarto(work, quarto)
    else:
        render_fallback(work, var, meta)
    for p in targets.values():
        shutil.copy2(work / p.name, p)
    if stored:
        stored.mkdir(parents=True, exist_ok=True)
        for p in targets.values():
            shutil.copy2(p, stored / p.name)
    shutil.rmtree(work, ignore_errors=True)
    return targets


def _min_cell_size(man: dict[str, Any]) -> int:
    sizes = [
        p.get("min_cell_size")
        for p in man.get("parameters", {}).values()
        if isinstance(p, dict) and p.get("min_cell_size")
    ]
    return int(min(sizes)) if sizes else MIN_CELL_SIZE
