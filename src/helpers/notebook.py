"""What a notebook needs in one object: its data, its findings registry, its figure and table
writers, all bound to the run's parameters."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from patsy import PatsyError

from helpers import paths
from helpers.artefacts import SourceLine, save_figure, save_table, suppress_small
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

    @property
    def synthetic(self) -> bool:
        return self.data.synthetic

    def figure(
        self, fig: plt.Figure, fig_id: str, *, caption: str, alt: str, n: str | None = None
    ) -> Path:
        return save_figure(
            fig,
            fig_id,
            self.out_dir,
            caption=caption,
            alt=alt,
            source=self.source,
            n=n,
            notebook=self.name,
        )

    def table(
        self,
        df: pd.DataFrame,
        tbl_id: str,
        *,
        caption: str,
        people: str | None,
        columns: list[str] | None = None,
        n: str | None = None,
    ) -> pd.DataFrame:
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
        )

    def suppressed(self, df: pd.DataFrame, people: str) -> pd.DataFrame:
        """``df`` as it may be shown: rows about fewer than ``min_cell_size`` people (column
        ``people``) blanked, for a display that is not also saved as a table."""
        return suppress_small(df, people, self.min_cell_size)

    def guarded(self, findings: dict[str, str], people: int, fit: Callable[[], T]) -> T | None:
        """Fit a model only when it is publishable and estimable.

        With fewer than ``min_cell_size`` people, each finding in ``findings`` (id -> label) is
        registered as suppressed and nothing is fitted; when the data cannot support the
        model (no variation, a missing reference group), each is registered as unavailable
        with the reason. Otherwise returns what ``fit`` returns.
        """
        if people < self.min_cell_size:
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
