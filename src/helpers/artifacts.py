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
from helpers.cells import factor_of, too_few  # noqa: E402

DEMO_MARK = "Demonstration data — simulated, not for citation"
SUPPRESSED = "suppressed"
# Okabe and Ito's color-blind-safe palette (yellow last: weak on white), one for the whole
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
    if ticks is None:  # a wide range gets fewer ticks, so that their labels never crowd
        ticks = (
            (0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100)
            if hi / max(lo, 1e-12) > 8
            else (0.1, 0.2, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 10)
        )
    shown = [t for t in ticks if lo <= t <= hi] or [1]
    axis.set_major_locator(ticker.FixedLocator(shown))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_locator(ticker.NullLocator())


COMPLEMENTARY = ("auto", "rows", "terms", None)


def _counts(df: pd.DataFrame, col: str) -> np.ndarray:
    """A count column as floats; a missing or non-numeric count is 0 (too few)."""
    return pd.to_numeric(df[col], errors="coerce").fillna(0).to_numpy(float)


def suppression(
    df: pd.DataFrame,
    people: str,
    min_cell_size: int,
    events: str | None = None,
    complementary: str | None = "auto",
) -> tuple[pd.Series, pd.Series]:
    """Which rows of a table are suppressed, and in which rows only the counts are blanked.

    **Primary suppression.** A row is suppressed when it is about fewer than
    ``min_cell_size`` people (column ``people``) or, with ``events``, rests on fewer than
    ``min_cell_size`` events (exits, burned-out responses): :func:`helpers.cells.too_few`.

    **Complementary (secondary) suppression**, so that no suppressed count can be recovered
    by subtracting the published rows from a total published elsewhere (a finding's ``n`` or
    ``n_events``, an overall row, another table of the same counts):

    - ``"rows"``: the rows are the groups of one breakdown (roles, pay models, sites, years).
      While the suppressed rows together describe fewer than ``min_cell_size`` people (or
      events), or only one row is suppressed, the unsuppressed row with the fewest people
      (when people are short or one row is suppressed; else the fewest events; ties: fewer
      of the other count, then the earlier row) is suppressed too. A total can then reveal
      only the sum of at least two suppressed rows, itself at least ``min_cell_size``.
    - ``"terms"``: the rows are model terms (column ``term``); a term of a categorical
      factor compares its level with the reference level, so each row's head count is the
      smaller of the two. When a term of a factor is suppressed, the head and event counts
      of the factor's other terms are blanked (their estimates stay): with the factor's
      counts from a breakdown table and a total they would reveal the suppressed level.
    - ``"auto"`` (default): ``"terms"`` when the table has a ``term`` column, else ``"rows"``.
    - ``None``: primary suppression only (rows about the same people, e.g. several measures
      of one group, where no sum of rows is a total).

    Returns
    -------
    tuple of pandas.Series
        Rows suppressed entirely, and rows whose counts only are blanked.
    """
    if complementary not in COMPLEMENTARY:
        raise ValueError(f"complementary must be one of {COMPLEMENTARY}, not {complementary!r}")
    if complementary == "auto":
        complementary = "terms" if "term" in df.columns else "rows"
    p = _counts(df, people)
    e = _counts(df, events) if events is not None else None
    small = np.array(
        [too_few(pi, min_cell_size, None if e is None else e[i]) for i, pi in enumerate(p)],
        dtype=bool,
    )
    counts = np.zeros(len(df), dtype=bool)
    if complementary == "rows":
        small = _complementary_rows(small, p, e, min_cell_size)
    elif complementary == "terms":
        if "term" not in df.columns:
            raise ValueError("complementary='terms' needs a 'term' column")
        factor = np.array([factor_of(str(t)) for t in df["term"]], dtype=object)
        hit = {f for f, s in zip(factor, small, strict=True) if s and f is not None}
        counts = np.isin(factor, list(hit)) & ~small if hit else counts
    return pd.Series(small, index=df.index), pd.Series(counts, index=df.index)


def _complementary_rows(
    small: np.ndarray, p: np.ndarray, e: np.ndarray | None, min_cell_size: int
) -> np.ndarray:
    """Add rows to ``small`` by the ``"rows"`` rule of :func:`suppression`."""
    out = small.copy()
    order = np.arange(len(out))
    while out.any() and not out.all():
        if out.sum() == 1 or p[out].sum() < min_cell_size:
            first, second = p, (e if e is not None else np.zeros_like(p))
        elif e is not None and e[out].sum() < min_cell_size:
            first, second = e, p
        else:
            break
        cand = np.flatnonzero(~out)
        pick = cand[np.lexsort((order[cand], second[cand], first[cand]))[0]]
        out[pick] = True
    return out


def suppress_small(
    df: pd.DataFrame,
    people: str,
    min_cell_size: int,
    columns: Iterable[str] | None = None,
    events: str | None = None,
    complementary: str | None = "auto",
) -> pd.DataFrame:
    """Blank every value about a row that describes fewer than ``min_cell_size`` people (or
    rests on fewer than ``min_cell_size`` events), and what would reveal it (the
    complementary rule of :func:`suppression`).

    ``people`` names the column with the head count behind each row and ``events`` the
    column with its events (exits, burned-out responses), if it counts any; those columns
    and the ``columns`` (default: every numeric column but the first, which names the row's
    group: a year, a term) become ``"suppressed"`` in suppressed rows; in rows whose counts
    only are blanked, the ``people`` and ``events`` columns.
    """
    out = df.copy()
    rows, counts = suppression(df, people, min_cell_size, events, complementary)
    if not rows.any() and not counts.any():
        return out
    cols = (
        list(columns)
        if columns is not None
        else [c for c in out.columns[1:] if pd.api.types.is_numeric_dtype(out[c])]
    )
    count_cols = [c for c in (people, events) if c is not None]
    cols += [c for c in count_cols if c not in cols]
    for c in cols:
        out[c] = out[c].astype(object)
        out.loc[rows, c] = SUPPRESSED
    for c in count_cols:
        out.loc[counts, c] = SUPPRESSED
    return out


def drawable(
    df: pd.DataFrame,
    people: str,
    min_cell_size: int,
    events: str | None = None,
    complementary: str | None = "auto",
) -> pd.DataFrame:
    """The rows of ``df`` a figure may draw: those the table writer would publish (the same
    rule as :func:`suppression`; a row whose counts only are blanked is drawn)."""
    rows, _ = suppression(df, people, min_cell_size, events, complementary)
    return df[~rows.to_numpy()]


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
    events: str | None = None,
    complementary: str | None = "auto",
    show: list[str] | None = None,
) -> pd.DataFrame:
    """Write ``tables/<tbl_id>.csv`` after the small-cell rule, plus ``<tbl_id>.json`` metadata.

    ``people`` names the head-count column that decides suppression; pass ``None`` only for
    tables that describe no group of people (parameters, published reference numbers).
    ``events`` names the column of events (exits, burned-out responses) when the rows count
    any: a row resting on fewer than ``min_cell_size`` events is suppressed too.
    ``complementary`` chooses the secondary suppression that keeps suppressed counts from
    being recovered from totals (see :func:`suppression`: ``"rows"`` for a breakdown by
    group, ``"terms"`` for model terms, the default ``"auto"`` picks by a ``term`` column).
    ``notes`` (abbreviations, reference groups) is printed under the table in the report;
    ``show`` lists the columns the report prints (the CSV keeps them all).
    Returns the published (suppressed) frame.
    """
    if not tbl_id.startswith("tbl-"):
        raise ValueError(f"table ids start with 'tbl-': {tbl_id!r}")
    folder = Path(out_dir) / "tables"
    folder.mkdir(parents=True, exist_ok=True)
    if people is None and events is not None:
        raise ValueError(f"{tbl_id}: events= needs people= (the head count of each row)")
    pub = (
        suppress_small(df, people, min_cell_size, columns, events, complementary)
        if people
        else df.copy()
    )
    for c in pub.columns:
        if pd.api.types.is_float_dtype(pub[c]):
            pub[c] = pub[c].map(lambda v: np.nan if pd.isna(v) else round(float(v), float_digits))
        elif pub[c].dtype == object:  # a float column with suppressed cells
            pub[c] = pub[c].map(
                lambda v: (
                    round(float(v), float_digits)
                    if isinstance(v, float | np.floating) and not np.isnan(v)
                    else v
                )
            )
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
