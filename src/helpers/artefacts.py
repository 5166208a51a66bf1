"""Saving figures and tables: one place that stamps the source line and the demonstration mark,
and that applies the small-cell rule to every published table."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from cycler import cycler  # noqa: E402
from matplotlib import ticker  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from helpers import __version__  # noqa: E402

DEMO_MARK = "Demonstration data — simulated, not for citation"
SUPPRESSED = "suppressed"
# Okabe and Ito's colour-blind-safe palette (yellow last: weak on white), one for the whole
# report; series differ by line style too.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#000000", "#F0E442")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)), "-")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
# Width of the text block of the PDF (A4 with 2 cm margins): figures wider than this are
# scaled down when printed, and their text with them.
TEXT_WIDTH_IN = 6.69
MIN_PRINTED_PT = 8.0
matplotlib.rcParams.update(
    {
        # SVG text stays text (searchable, quotable) and element ids do not change between runs.
        "svg.fonttype": "none",
        "svg.hashsalt": "helpers",
        "axes.prop_cycle": cycler(color=PALETTE) + cycler(linestyle=LINESTYLES),
        "font.size": 9.5,
        "axes.labelsize": 9.5,
        "axes.titlesize": 9.5,
        "xtick.labelsize": 9,
        "ytick.labelsize": 9,
        "legend.fontsize": 9,
        "legend.frameon": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "figure.figsize": (6.5, 4.0),
    }
)


@dataclass
class SourceLine:
    """What every figure and table says about where it came from."""

    data_name: str
    synthetic: bool
    run_date: str = ""

    def text(self, n: str | None = None) -> str:
        parts = [f"Source: {self.data_name}"]
        if n:
            parts.append(n)
        parts.append(self.run_date or date.today().isoformat())
        parts.append(f"helpers {__version__}")
        return " · ".join(parts)


def _write_meta(path: Path, meta: dict) -> None:
    path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def save_figure(
    fig: plt.Figure,
    fig_id: str,
    out_dir: Path | str,
    *,
    caption: str,
    alt: str,
    source: SourceLine,
    n: str | None = None,
    notebook: str = "",
    seq: int = 0,
    placement: str = "body",
) -> Path:
    """Write ``figures/<fig_id>.png`` and ``.svg`` with a source line (and the demonstration
    mark when the data is synthetic), plus ``<fig_id>.json`` with caption, alt text, the
    order in which the notebook made it (``seq``) and where the report shows it (``placement``:
    ``body`` or ``appendix``)."""
    if not fig_id.startswith("fig-"):
        raise ValueError(f"figure ids start with 'fig-': {fig_id!r}")
    folder = Path(out_dir) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    fig.text(0.01, 0.005, source.text(n), fontsize=8.5, color="#555555", ha="left", va="bottom")
    if source.synthetic:
        fig.text(
            0.99,
            0.995,
            DEMO_MARK.upper(),
            fontsize=9,
            color="#b00020",
            ha="right",
            va="top",
            weight="bold",
        )
        fig.text(
            0.5,
            0.5,
            "DEMONSTRATION DATA",
            fontsize=40,
            color="#b00020",
            alpha=0.08,
            ha="center",
            va="center",
            rotation=25,
        )
    fig.tight_layout(rect=(0, 0.03, 1, 0.97))
    small = small_text(fig)
    if small:
        plt.close(fig)
        raise ValueError(
            f"{fig_id}: text smaller than {MIN_PRINTED_PT:g} pt when printed: {small[:3]}"
        )
    titled = [ax.get_title() for ax in fig.axes if ax.get_title()]
    if len(fig.axes) == 1 and titled:
        plt.close(fig)
        raise ValueError(f"{fig_id}: no plot title ({titled[0]!r}): the caption says it")
    png = folder / f"{fig_id}.png"
    fig.savefig(png, dpi=200, metadata={"Software": None})
    fig.savefig(folder / f"{fig_id}.svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    _write_meta(
        folder / f"{fig_id}.json",
        {
            "id": fig_id,
            "caption": caption,
            "alt": alt,
            "source": source.text(n),
            "notebook": notebook,
            "synthetic": source.synthetic,
            "seq": seq,
            "placement": placement,
        },
    )
    return png


def small_text(fig: plt.Figure) -> list[str]:
    """Visible texts of ``fig`` smaller than ``MIN_PRINTED_PT`` once the figure is scaled to
    the PDF's text width."""
    scale = min(1.0, TEXT_WIDTH_IN / fig.get_figwidth())
    out = []
    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text().strip() and t.get_fontsize() * scale < MIN_PRINTED_PT:
            out.append(f"{t.get_text()[:30]!r} ({t.get_fontsize() * scale:.1f} pt)")
    return out


def plain_log_axis(ax: plt.Axes, which: str = "y", ticks: tuple[float, ...] | None = None) -> None:
    """A log axis labelled with plain numbers (0.5, 1, 2), not powers of ten."""
    axis = ax.yaxis if which == "y" else ax.xaxis
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")
    lo, hi = ax.get_ylim() if which == "y" else ax.get_xlim()
    candidates = ticks or (0.1, 0.2, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 10)
    shown = [t for t in candidates if lo <= t <= hi] or [1]
    axis.set_major_locator(ticker.FixedLocator(shown))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_locator(ticker.NullLocator())


def suppress_small(
    df: pd.DataFrame, people: str, min_cell_size: int, columns: Iterable[str] | None = None
) -> pd.DataFrame:
    """Blank every value about a row that describes fewer than ``min_cell_size`` people.

    ``people`` names the column with the head count behind each row; that column and the
    ``columns`` (default: all numeric columns) become ``"suppressed"`` in small rows.
    """
    out = df.copy()
    small = out[people].fillna(0).astype(float) < min_cell_size
    if not small.any():
        return out
    cols = (
        list(columns)
        if columns is not None
        else [c for c in out.columns if pd.api.types.is_numeric_dtype(out[c])]
    )
    if people not in cols:
        cols.append(people)
    for c in cols:
        out[c] = out[c].astype(object)
        out.loc[small, c] = SUPPRESSED
    return out


def save_table(
    df: pd.DataFrame,
    tbl_id: str,
    out_dir: Path | str,
    *,
    caption: str,
    source: SourceLine,
    min_cell_size: int,
    people: str | None,
    columns: Iterable[str] | None = None,
    n: str | None = None,
    notebook: str = "",
    float_digits: int = 6,
    seq: int = 0,
    placement: str = "body",
    notes: str | None = None,
    show: list[str] | None = None,
) -> pd.DataFrame:
    """Write ``tables/<tbl_id>.csv`` after the small-cell rule, plus ``<tbl_id>.json`` metadata.

    ``people`` names the head-count column that decides suppression; pass ``None`` only for
    tables that describe no group of people (parameters, published reference numbers).
    ``notes`` (abbreviations, reference groups) is printed under the table in the report;
    ``show`` lists the columns the report prints (the CSV keeps them all).
    Returns the published (suppressed) frame.
    """
    if not tbl_id.startswith("tbl-"):
        raise ValueError(f"table ids start with 'tbl-': {tbl_id!r}")
    folder = Path(out_dir) / "tables"
    folder.mkdir(parents=True, exist_ok=True)
    pub = suppress_small(df, people, min_cell_size, columns) if people else df.copy()
    for c in pub.columns:
        if pd.api.types.is_float_dtype(pub[c]):
            pub[c] = pub[c].map(lambda v: np.nan if pd.isna(v) else round(float(v), float_digits))
    pub.to_csv(folder / f"{tbl_id}.csv", index=False, lineterminator="\n")
    _write_meta(
        folder / f"{tbl_id}.json",
        {
            "id": tbl_id,
            "caption": caption,
            "source": source.text(n),
            "notebook": notebook,
            "synthetic": source.synthetic,
            "seq": seq,
            "placement": placement,
            "notes": notes,
            "show": show,
        },
    )
    return pub
