"""The demonstration report rendered by each available engine, read as a reader would: the PDF
page by page (no glyphs over glyphs, no code names, no unseparated large numbers, key points and
claims on the first pages, every citation resolved) and the HTML in headless Chromium (the
table of contents stays in view, every figure is shown as SVG with alt text, tables fit or
scroll at 390 px).

The checks are collected in ``tests/test_pipeline.py``, which renders the report of its own
demonstration run (``run_out``), so that the notebooks run once for both."""

from __future__ import annotations

import re
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from helpers import catalog, paths
from helpers.report import render

ENGINES = [
    "pandoc",
    pytest.param(
        "quarto",
        marks=pytest.mark.skipif(not shutil.which("quarto"), reason="quarto is not on PATH"),
    ),
]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def rendered(run_out, tmp_path_factory):
    """engine -> (output folder, build result), built once per engine."""
    done = {}

    def get(engine: str):
        if engine not in done:
            # inside a hidden folder, as a run's partial output folder is
            out = tmp_path_factory.mktemp(f"report-{engine}") / ".out-partial-1"
            shutil.copytree(run_out, out)
            done[engine] = (out, render.build(out, engine=engine))
        return done[engine]

    return get


def pdf_chars(pdf: Path):
    import pdfplumber

    with pdfplumber.open(pdf) as doc:
        for number, page in enumerate(doc.pages, start=1):
            yield number, page.chars


def body_text(pdf: Path) -> list[str]:
    """The text of each page without monospaced (code) characters."""
    pages = []
    for _, chars in pdf_chars(pdf):
        kept = [c for c in chars if "mono" not in c["fontname"].lower()]
        lines = defaultdict(list)
        for c in kept:
            lines[round(c["top"])].append(c)
        text = []
        for top in sorted(lines):
            row = sorted(lines[top], key=lambda c: c["x0"])
            words, last = [], None
            for c in row:
                if last is not None and c["x0"] - last["x1"] > 1.0:
                    words.append(" ")
                words.append(c["text"])
                last = c
            text.append("".join(words))
        pages.append("\n".join(text))
    return pages


@pytest.mark.parametrize("engine", ENGINES)
def test_engine_renders_both_formats_without_warnings(rendered, engine):
    out, built = rendered(engine)
    assert built["engine"] == engine
    assert out.joinpath("report.html").stat().st_size > 100_000
    assert out.joinpath("report.pdf").stat().st_size > 100_000
    assert built["warnings"] == []


@pytest.mark.parametrize("engine", ENGINES)
def test_no_glyph_sits_on_another_on_any_line(rendered, engine):
    out, _ = rendered(engine)
    collisions = []
    for number, chars in pdf_chars(out / "report.pdf"):
        lines = defaultdict(list)
        for c in chars:
            if c["text"].strip():
                lines[round(c["top"])].append(c)
        for row in lines.values():
            row.sort(key=lambda c: c["x0"])
            for a, b in zip(row, row[1:], strict=False):
                overlap = a["x1"] - b["x0"]  # kerning ("V.") overlaps by under a point
                if overlap > max(1.2, 0.4 * min(a["width"], b["width"])):
                    collisions.append((number, a["text"] + b["text"], round(overlap, 1)))
    assert not collisions, collisions[:10]


@pytest.mark.parametrize("engine", ENGINES)
def test_body_has_no_code_names_and_large_numbers_have_separators(rendered, engine):
    out, _ = rendered(engine)
    text = "\n".join(body_text(out / "report.pdf"))
    snake = sorted(set(re.findall(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b", text)))
    assert not snake, snake[:20]
    for bad in ("True", "False", "rvu_production", "comp_model"):
        assert not re.search(rf"\b{bad}\b", text), bad
    # a number, not a run of digits inside a hexadecimal identifier such as a commit
    long_numbers = sorted(set(re.findall(r"(?<![\w.,/-])\d{6,}(?![\w,])", text)))
    assert not long_numbers, long_numbers[:10]


@pytest.mark.parametrize("engine", ENGINES)
def test_key_points_and_claims_table_open_the_report(rendered, engine):
    out, _ = rendered(engine)
    pages = body_text(out / "report.pdf")
    first = re.sub(r"\s+", " ", pages[0])
    for part in ("Key points", "Question", "Findings", "Meaning"):
        assert part in first, part
    opening = re.sub(r"\s+", " ", " ".join(pages[:3]))
    assert "The five claims and what this organization" in opening
    verdicts = re.findall("|".join(catalog.VERDICTS), opening)
    tests = sum(len(c.tests) for c in catalog.claims())
    assert len(verdicts) >= tests
    assert all("Demonstration data" in p for p in pages)
    # sections are numbered (cross-references to them need it in Typst)
    assert re.search(r"^1 Introduction$", "\n".join(pages), re.M)


@pytest.mark.parametrize("engine", ENGINES)
def test_every_citation_resolves_into_a_numbered_reference(rendered, run_out, engine, tmp_path):
    src = tmp_path / "src"
    render.prepare(run_out, src)
    text = (src / "report.qmd").read_text()
    bib = (paths.REPORTS / "references.bib").read_text()
    keys = set(re.findall(r"^@\w+\{([^,]+),", bib, flags=re.M))
    cited = set(re.findall(r"@([A-Za-z][\w]*)", text)) - {"fig", "tbl", "sec"}
    cited = {k for k in cited if not re.match(r"(fig|tbl|sec)-", k)}
    assert cited, "the report cites nothing"
    assert cited <= keys, sorted(cited - keys)
    out, _ = rendered(engine)
    html = (out / "report.html").read_text()
    assert "???" not in html and "citeproc" not in html.lower().split("<style")[0]
    entries = re.findall(r'class="csl-entry"', html)
    assert len(entries) == len(cited)


@pytest.mark.parametrize("engine", ENGINES)
def test_html_reads_like_a_quarto_report(rendered, engine):
    if not CHROMIUM:
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    out, _ = rendered(engine)
    page_url = (out / "report.html").as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_url)
        page.evaluate("window.scrollTo(0, document.body.scrollHeight * 0.6)")
        page.wait_for_timeout(200)
        toc = page.evaluate(
            "(() => { const b = document.querySelector('nav#TOC').getBoundingClientRect();"
            " return [b.top, b.bottom, b.width, window.scrollY]; })()"
        )
        assert toc[3] > 2000, "the page did not scroll"
        assert toc[0] >= 0 and toc[1] > 100 and toc[2] > 100, toc
        images = page.evaluate(
            "Array.from(document.images).map(i => [i.src.slice(0, 25), i.naturalWidth, i.alt])"
        )
        figures = list((out / "figures").glob("*.svg"))
        assert len(images) >= len(figures) > 5
        for src, width, alt in images:
            assert src == "data:image/svg+xml;base64", src
            assert width > 0 and len(alt) > 15
        assert page.locator(".callout").count() >= 2
        assert all(u.startswith(("file:", "data:", "about:")) for u in requests), requests[:5]
        page.set_viewport_size({"width": 390, "height": 800})
        page.wait_for_timeout(200)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 392, width
        wide = page.evaluate(
            "Array.from(document.querySelectorAll('table')).filter(t => t.scrollWidth > "
            "t.clientWidth + 1 && getComputedStyle(t).overflowX !== 'auto').length"
        )
        assert wide == 0
        # A caption stays readable while its table scrolls: its text ends inside the screen.
        cut = page.evaluate(
            "Array.from(document.querySelectorAll('caption')).filter(c => { const r = "
            "document.createRange(); r.selectNodeContents(c); return "
            "r.getBoundingClientRect().right > window.innerWidth + 1; }).map(c => c.innerText)"
        )
        assert cut == [], cut
        browser.close()


def test_both_engines_say_the_same_thing(rendered):
    """The same headings, captions and numbers in both engines' HTML."""
    if not shutil.which("quarto"):
        pytest.skip("quarto is not on PATH")
    from bs4 import BeautifulSoup

    def content(engine: str) -> dict[str, list[str]]:
        out, _ = rendered(engine)
        soup = BeautifulSoup((out / "report.html").read_text(), "html.parser")
        main = soup.find("main") or soup.body
        for nav in main.find_all("nav"):
            nav.decompose()

        def norm(t: str) -> str:
            return re.sub(r"\s+", " ", t).strip()

        text = norm(main.get_text(" "))
        return {
            "headings": [norm(h.get_text(" ")) for h in main.find_all(["h1", "h2"])],
            "captions": sorted(
                norm(c.get_text(" ")) for c in main.find_all(["figcaption", "caption"])
            ),
            "numbers": sorted(re.findall(r"(?<![\w.])\$?\d[\d,]*\.\d+%?|\d{1,3}(?:,\d{3})+", text)),
        }

    a, b = content("pandoc"), content("quarto")
    for key in a:
        assert a[key] == b[key], (key, sorted(set(a[key]) ^ set(b[key]))[:20])
