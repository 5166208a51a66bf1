"""What a notebook needs in one object: its data, its findings registry, its figure and table
writers, all bound to the run's parameters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TypeVar

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from patsy import PatsyError

from helpers import paths
from helpers.artifacts import SourceLine, drawable, save_figure, save_table, suppress_small
from helpers.cells import too_few
from helpers.data import Dataset, open_dataset
from helpers.findings import MIN_CELL_SIZE, Registry

T = TypeVar("T")
# What a model raises when the data cannot support it (too few events, no variation, a
# missing reference level); anything else is a bug and fails the notebook.
MODEL_ERRORS = (
    ValueError,
    ArithmeticError,
    IndexError,
    KeyError,
    np.linalg.LinAlgError,
    PatsyError,
)


class Analysis:
    """One notebook's run: ``Analysis("turnover", data_dir, out_dir, min_cell_size)``.

    An empty ``data_dir`` means the demonstration data; an empty ``out_dir`` means
    ``reports/interactive`` (so that a run in JupyterLab never touches a published report).
    """

    def __init__(
        self,
        name: str,
        data_dir: str | Path = "",
        out_dir: str | Path = "",
        min_cell_size: int = MIN_CELL_SIZE,
    ) -> None:
        if int(min_cell_size) < MIN_CELL_SIZE:
            raise ValueError(f"min_cell_size must be at least {MIN_CELL_SIZE}")
        self.name = name
        data_dir = data_dir or paths.DEMO_DATA
        self.out_dir = Path(out_dir or paths.INTERACTIVE_OUT)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.min_cell_size = int(min_cell_size)
        self.data: Dataset = open_dataset(data_dir)
        self.findings = Registry(self.out_dir, name, self.min_cell_size)
        self.source = SourceLine(self.data.name, self.data.synthetic)
        self._seq = 0
        self._narrative: list[str] = []
        self.saved: list[str] = []  # ids of the figures and tables saved so far

    @property
    def synthetic(self) -> bool:
        return self.data.synthetic

    def _next(self, exhibit_id: str) -> int:
        self._seq += 1
        self.saved.append(exhibit_id)
        return self._seq

    def ref(self, *exhibit_ids: str) -> str:
        """ " (@fig-a; @tbl-b)": a parenthetical reference to the exhibits of this run that were
        saved, or an empty string, so that narrative never points at an exhibit that a small
        or incomplete data set did not produce.

        Parameters
        ----------
        *exhibit_ids : str
            Figure and table ids (``fig-...``, ``tbl-...``).

        Returns
        -------
        str
            A leading space and the saved ones in parentheses, in the order given, or ``""``
            when none was saved.

        Examples
        --------
        >>> run.ref("fig-turnover-cif", "tbl-turnover-rates")  # doctest: +SKIP
        ' (@fig-turnover-cif; @tbl-turnover-rates)'
        """
        ids = [i for i in exhibit_ids if i in self.saved]
        return f" ({'; '.join('@' + i for i in ids)})" if ids else ""

    def figure(
        self,
        fig: plt.Figure,
        fig_id: str,
        *,
        caption: str,
        alt: str,
        n: str | None = None,
        placement: str = "body",
    ) -> Path:
        """Save a figure for the report (PNG and SVG, stamped with the source line).

        Parameters
        ----------
        fig
            The matplotlib figure; closed after saving.
        fig_id
            ``fig-...``: the report cross-references it as ``@fig-...``.
        caption
            What the figure shows, in a sentence (no plot title repeats it).
        alt
            The figure's description for readers who cannot see it.
        n
            What the figure rests on, for the source line ("n = 1,405 clinicians").
        placement
            ``"body"`` or ``"appendix"`` (diagnostics, long listings).

        Returns
        -------
        Path
            The PNG written.

        Examples
        --------
        >>> run.figure(fig, "fig-turnover-cif", caption="Cumulative incidence ...",
        ...            alt="Curves rising over tenure ...", n="n = 1,405")  # doctest: +SKIP
        """
        return save_figure(
            fig,
            fig_id,
            self.out_dir,
            caption=caption,
            alt=alt,
            source=self.source,
            n=n,
            notebook=self.name,
            seq=self._next(fig_id),
            placement=placement,
        )

    def table(
        self,
        df: pd.DataFrame,
        tbl_id: str,
        *,
        caption: str,
        people: str | None,
        events: str | None = None,
        columns: list[str] | None = None,
        n: str | None = None,
        placement: str = "body",
        notes: str | None = None,
        complementary: str | None = "auto",
        show: list[str] | None = None,
    ) -> pd.DataFrame:
        """Save a table for the report after the small-cell rule, and return what may be shown.

        Parameters
        ----------
        df
            The table; column names must be in :data:`helpers.report.labels.COLUMNS`.
        tbl_id
            ``tbl-...``: the report cross-references it as ``@tbl-...``.
        caption
            What the table shows.
        people
            The column with the number of distinct people behind each row: rows about fewer
            than ``min_cell_size`` are blanked. ``None`` only for tables about no group of
            people (parameters, published numbers).
        events
            The column with the events behind each row when the rows count events (exits,
            burned-out responses): rows with fewer than ``min_cell_size`` are blanked too.
        columns
            The columns blanked in a small row (default: every numeric column).
        n
            What the table rests on, for the source line.
        placement
            ``"body"`` or ``"appendix"``; tables longer than the body allows go to the
            appendix anyway.
        notes
            Abbreviations and reference groups, printed under the table.
        complementary
            Secondary suppression, so that no blanked count follows from a total by
            subtraction: ``"rows"`` (a breakdown by group: at least two rows and
            ``min_cell_size`` people and events blanked together), ``"terms"`` (model terms:
            a factor with a blanked term shows no counts for its other terms), ``"auto"``
            (``"terms"`` when there is a ``term`` column) or ``None``; see
            :func:`helpers.artifacts.suppression`.
        show
            The columns the report prints, when the table has more than fit the page (the CSV
            keeps every column; an interval comes with its estimate).

        Returns
        -------
        pandas.DataFrame
            The published (suppressed) table.
        """
        return save_table(
            df,
            tbl_id,
            self.out_dir,
            caption=caption,
            source=self.source,
            min_cell_size=self.min_cell_size,
            people=people,
            columns=columns,
            n=n,
            notebook=self.name,
            seq=self._next(tbl_id),
            placement=placement,
            notes=notes,
            events=events,
            complementary=complementary,
            show=show,
        )

    def narrative(self, text: str) -> None:
        """Add a paragraph to this notebook's section of the report.

        Markdown; numbers come from the findings (``run.quote(id)``), exhibits are referred
        to as ``@fig-...`` and ``@tbl-...``, sources as ``[@bibkey]``. Without narrative the
        report lists the notebook's findings.

        Parameters
        ----------
        text : str
            The paragraph (Markdown); surrounding whitespace is stripped.

        Returns
        -------
        None
            The notebook's paragraphs so far are written to
            ``out_dir/narrative/<notebook>.md``.
        """
        self._narrative.append(text.strip())
        path = self.out_dir / "narrative" / f"{self.name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n\n".join(self._narrative) + "\n", encoding="utf-8")

    def direction(self, finding_id: str, above: str, below: str, neither: str) -> str:
        """One of three words by where a registered finding's interval lies: wholly above no
        difference (a ratio of 1, a difference of 0), wholly below it, or neither (including
        a finding that is not shown), so that prose never claims more than the interval.

        Parameters
        ----------
        finding_id : str
            A finding registered in this run.
        above : str
            The word when the interval lies wholly above no difference.
        below : str
            The word when it lies wholly below.
        neither : str
            The word otherwise: the interval includes no difference, or the finding is not
            registered, is suppressed, is unavailable or has no interval.

        Returns
        -------
        str
            One of ``above``, ``below`` and ``neither``.

        Examples
        --------
        >>> run.direction("turnover.hr_admin_shadowing", "more", "less",
        ...               "no more or less")  # doctest: +SKIP
        'less'
        """
        from helpers.catalog import null_value

        f = self.findings.findings.get(finding_id)
        if f is None or f.suppressed or not f.available or f.ci_low is None:
            return neither
        null = null_value(f.unit)
        return above if f.ci_low > null else below if f.ci_high < null else neither

    def quote(self, finding_id: str, n: bool = False, inside: bool = False, unit: str = "") -> str:
        """A registered finding as text: "1.62 (95% CI 1.30–2.02)", or why it is not shown;
        ``n=True`` adds what it rests on ("1,405 clinicians at 50 sites"), ``inside=True``
        gives the form for use inside parentheses ("1.62; 95% CI 1.30–2.02"), ``unit`` follows the
        estimate.

        Parameters
        ----------
        finding_id : str
            A finding registered in this run (an unregistered one is quoted as not shown).
        n : bool, default False
            Add what the finding rests on.
        inside : bool, default False
            The form for use inside parentheses.
        unit : str, default ""
            Text placed after the estimate (e.g. ``" days"``).

        Returns
        -------
        str
            The finding as text, or the reason it is not shown (suppressed, unavailable, the
            analysis did not run).

        Examples
        --------
        >>> run.quote("turnover.hr_rvu_production", n=True)  # doctest: +SKIP
        '1.62 (95% CI 1.30–2.02; 1,405 clinicians at 50 sites)'
        """
        from helpers.report.content import quote

        f = self.findings.findings.get(finding_id)
        return quote(asdict(f) if f else None, self.min_cell_size, n=n, inside=inside, unit=unit)

    def suppressed(
        self,
        df: pd.DataFrame,
        people: str,
        events: str | None = None,
        complementary: str | None = "auto",
    ) -> pd.DataFrame:
        """``df`` as it may be shown, for a display that is not also saved as a table: the
        table writer's rule (rows about fewer than ``min_cell_size`` people in column
        ``people``, or events in ``events``, blanked, with complementary suppression)."""
        return suppress_small(
            df, people, self.min_cell_size, events=events, complementary=complementary
        )

    def drawable(
        self,
        df: pd.DataFrame,
        people: str,
        events: str | None = None,
        complementary: str | None = "auto",
    ) -> pd.DataFrame:
        """The rows of ``df`` (one per group) a figure may draw: those a table of ``df`` would
        publish, by the same rule as :meth:`suppressed`.

        Examples
        --------
        >>> shown = run.drawable(by_year, "people", events="burned_out")  # doctest: +SKIP
        >>> ax.plot(shown["year"], shown["share"])  # doctest: +SKIP
        """
        return drawable(df, people, self.min_cell_size, events, complementary)

    def shown(self, people: float | None, events: float | None = None) -> bool:
        """Whether one number about ``people`` people (resting on ``events`` events) may be
        published, drawn or quoted in the notebook's text."""
        return not too_few(people, self.min_cell_size, events)

    def guarded(self, findings: dict[str, str], people: int, fit: Callable[[], T]) -> T | None:
        """Fit a model only when it is publishable and estimable.

        With fewer than ``min_cell_size`` people, each finding in ``findings`` (id -> label) is
        registered as suppressed and nothing is fitted; when the data cannot support the
        model (no variation, a missing reference group, too few sites: one of
        :data:`MODEL_ERRORS`), each is registered as unavailable with the reason. Any other
        exception (``TypeError``, ``AttributeError``, ``NameError``: a bug) is raised, so that
        the notebook, and the run, fail. Otherwise returns what ``fit`` returns.

        Parameters
        ----------
        findings : dict of str to str
            Finding id -> label: the findings the model would give.
        people : int
            Distinct people the model rests on.
        fit : callable
            Called without arguments to fit the model.

        Returns
        -------
        object or None
            What ``fit`` returns; None when the findings were registered as suppressed or
            unavailable instead.

        Raises
        ------
        Exception
            Whatever ``fit`` raises that is not one of :data:`MODEL_ERRORS`.

        Examples
        --------
        >>> cox = run.guarded({"turnover.hr_rvu_production": "Hazard ratio ..."}, people,
        ...                   lambda: turnover.cox_model(pt))  # doctest: +SKIP
        """
        if too_few(people, self.min_cell_size):
            for fid, label in findings.items():
                self.findings.add(
                    fid, label, None, unit="", n=None, n_unit="", method="", people=people
                )
            return None
        try:
            return fit()
        except MODEL_ERRORS as exc:
            for fid, label in findings.items():
                self.findings.unavailable(
                    fid,
                    label,
                    f"could not be estimated on these data ({type(exc).__name__}: {exc})",
                )
            return None
