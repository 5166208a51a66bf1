import json

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from helpers.artefacts import DEMO_MARK, SUPPRESSED, SourceLine, save_figure, save_table


def _fig():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, 1])
    return fig


@pytest.mark.parametrize("synthetic", [True, False])
def test_figure_files_and_marks(tmp_path, synthetic):
    src = SourceLine("Org", synthetic, run_date="2026-01-02")
    save_figure(_fig(), "fig-x-y", tmp_path, caption="Cap.", alt="Alt.", source=src, n="n = 5")
    folder = tmp_path / "figures"
    assert (folder / "fig-x-y.png").stat().st_size > 1000
    svg = (folder / "fig-x-y.svg").read_text()
    meta = json.loads((folder / "fig-x-y.json").read_text())
    assert meta["caption"] == "Cap." and meta["alt"] == "Alt."
    assert "Source: Org" in svg
    assert meta["source"].startswith("Source: Org · n = 5 · 2026-01-02")
    assert meta["synthetic"] is synthetic
    assert (DEMO_MARK.upper() in svg) is synthetic


def test_figure_ids_are_checked(tmp_path):
    with pytest.raises(ValueError):
        save_figure(_fig(), "x", tmp_path, caption="", alt="", source=SourceLine("o", False))


def test_table_suppresses_small_rows(tmp_path):
    df = pd.DataFrame({"site": ["A", "B"], "clinicians": [4, 30], "rate": [12.5, 3.25]})
    pub = save_table(
        df,
        "tbl-x",
        tmp_path,
        caption="c",
        source=SourceLine("o", False),
        min_cell_size=11,
        people="clinicians",
    )
    text = (tmp_path / "tables" / "tbl-x.csv").read_text()
    assert text.splitlines() == [
        "site,clinicians,rate",
        f"A,{SUPPRESSED},{SUPPRESSED}",
        "B,30,3.25",
    ]
    assert pub.loc[0, "site"] == "A"
    meta = json.loads((tmp_path / "tables" / "tbl-x.json").read_text())
    assert meta["caption"] == "c"
