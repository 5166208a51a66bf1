"""What a notebook needs in one object: its data, its findings registry, its figure and table
writers, all bound to the run's parameters."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from helpers import paths
from helpers.artefacts import SourceLine, save_figure, save_table
from helpers.data import Dataset, open_dataset
from helpers.findings import Registry


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
        min_cell_size: int = 11,
    ) -> None:
        if int(min_cell_size) < 1:
            raise ValueError("min_cell_size must be at least 1")
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
