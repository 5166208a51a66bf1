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
# SVG text stays text (searchable, quotable) and element ids do not change between runs.
matplotlib.rcParams["svg.fonttype"] = "none"
matplotlib.rcParams["svg.hashsalt"] = "helpers"
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from helpers import __version__  # noqa: E402

DEMO_MARK = "Demonstration data — simulated, not for citation"
SUPPRESSED = "suppressed"


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
) -> Path:
    """Write ``figures/<fig_id>.png`` and ``.svg`` with a source line (and the demonstration
    mark when the data is synthetic), plus ``<fig_id>.json`` with caption and alt text."""
    if not fig_id.startswith("fig-"):
        raise ValueError(f"figure ids start with 'fig-': {fig_id!r}")
    folder = Path(out_dir) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    fig.text(0.01, 0.005, source.text(n), fontsize=7, color="#555555", ha="left", va="bottom")
    if source.synthetic:
        fig.text(
            0.99,
            0.995,
            DEMO_MARK.upper(),
            fontsize=8,
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
    png = folder / f"{fig_id}.png"
    fig.savefig(png, dpi=150, metadata={"Software": None})
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
        },
    )
    return png


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
) -> pd.DataFrame:
    """Write ``tables/<tbl_id>.csv`` after the small-cell rule, plus ``<tbl_id>.json`` metadata.

    ``people`` names the head-count column that decides suppression; pass ``None`` only for
    tables that describe no group of people (parameters, published reference numbers).
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
        },
    )
    return pub
