import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from helpers.artifacts import (
    DEMO_MARK,
    SUPPRESSED,
    SourceLine,
    drawable,
    save_figure,
    save_table,
    suppress_small,
    suppression,
)


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


def _save(tmp_path, df, **kw):
    kw = {"people": "clinicians", **kw}
    return save_table(
        df, "tbl-x", tmp_path, caption="c", source=SourceLine("o", False), min_cell_size=11, **kw
    )


def test_table_suppresses_small_rows_and_the_next_smallest(tmp_path):
    df = pd.DataFrame(
        {"site": ["A", "B", "C"], "clinicians": [4, 30, 40], "rate": [12.5, 3.25, 1.23456789]}
    )
    pub = _save(tmp_path, df)
    text = (tmp_path / "tables" / "tbl-x.csv").read_text()
    assert text.splitlines() == [
        "site,clinicians,rate",
        f"A,{SUPPRESSED},{SUPPRESSED}",
        f"B,{SUPPRESSED},{SUPPRESSED}",
        "C,40,1.234568",  # rounded as in a table without suppressed cells
    ]
    assert pub.loc[0, "site"] == "A"
    meta = json.loads((tmp_path / "tables" / "tbl-x.json").read_text())
    assert meta["caption"] == "c"


def _shown(pub: pd.DataFrame, col: str = "clinicians") -> list[bool]:
    return [v != SUPPRESSED for v in pub[col]]


@pytest.mark.parametrize(("people", "shown"), [(10, False), (11, True)])
def test_table_boundary_people(tmp_path, people, shown):
    df = pd.DataFrame({"g": list("abc"), "clinicians": [people, 50, 60], "rate": [1.0, 2.0, 3.0]})
    assert _shown(_save(tmp_path, df, complementary=None)) == [shown, True, True]
    # with the complementary rule the next smallest row goes too
    assert _shown(_save(tmp_path, df)) == [shown, shown, True]


@pytest.mark.parametrize(("events", "shown"), [(10, False), (11, True)])
def test_table_boundary_events(tmp_path, events, shown):
    df = pd.DataFrame({"g": list("abc"), "clinicians": [200, 300, 400], "exits": [events, 30, 40]})
    pub = _save(tmp_path, df, events="exits", complementary=None)
    assert _shown(pub) == _shown(pub, "exits") == [shown, True, True]
    # without events= the same table is published in full
    assert _shown(_save(tmp_path, df)) == [True, True, True]


def test_suppression_mask_boundary():
    df = pd.DataFrame({"clinicians": [10, 11, 12, 10.5, None], "exits": [11, 11, 10, 11, 11]})
    rows, counts = suppression(df, "clinicians", 11, complementary=None)
    assert rows.tolist() == [True, False, False, True, True] and not counts.any()
    rows, _ = suppression(df, "clinicians", 11, events="exits", complementary=None)
    assert rows.tolist() == [True, False, True, True, True]


@pytest.mark.parametrize(
    ("people", "events", "expected"),
    [
        # one small row: the next smallest by people joins it
        ([5, 40, 30, 100], None, [1, 0, 1, 0]),
        # two small rows that together reach 11: nothing more
        ([6, 7, 30, 100], None, [1, 1, 0, 0]),
        # two small rows below 11 together: the next smallest joins them
        ([3, 4, 30, 20], None, [1, 1, 0, 1]),
        # exactly 11 together is enough, 10 is not
        ([5, 6, 30, 100], None, [1, 1, 0, 0]),
        ([4, 6, 30, 100], None, [1, 1, 1, 0]),
        ([100, 100, 30, 200], [5, 6, 50, 60], [1, 1, 0, 0]),
        ([100, 100, 30, 200], [4, 6, 50, 60], [1, 1, 1, 0]),
        # ties by people: fewer events first, then the earlier row
        ([5, 30, 30, 30], [0, 20, 15, 15], [1, 0, 1, 0]),
        # one row suppressed for its events: the row with the fewest people joins it
        ([100, 30, 40, 200], [5, 20, 12, 100], [1, 1, 0, 0]),
        # people enough but events short: the row with the fewest events joins
        ([5, 200, 300, 400], [0, 3, 60, 50], [1, 1, 0, 1]),
        # nothing small: nothing suppressed
        ([11, 12, 13], None, [0, 0, 0]),
        # every row small: every row suppressed
        ([2, 3], None, [1, 1]),
    ],
)
def test_complementary_rows_rule(people, events, expected):
    df = pd.DataFrame({"clinicians": people})
    if events is not None:
        df["exits"] = events
    rows, _ = suppression(df, "clinicians", 11, events="exits" if events else None)
    assert rows.astype(int).tolist() == expected


@pytest.mark.parametrize("seed", range(20))
def test_no_suppressed_breakdown_row_follows_from_a_total(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 9))
    people = rng.choice([0, 1, 3, 5, 9, 10, 11, 12, 20, 50, 300], size=k)
    events = np.minimum(people, rng.choice([0, 2, 6, 10, 11, 15, 40], size=k))
    df = pd.DataFrame({"group": range(k), "clinicians": people, "exits": events})
    pub = suppress_small(df, "clinicians", 11, events="exits")
    hidden = (pub["clinicians"] == SUPPRESSED).to_numpy()
    # every small row is hidden
    assert hidden[(people < 11) | (events < 11)].all()
    if hidden.any() and not hidden.all():
        # the total minus the published rows is a sum of at least two rows, at least 11
        # people and 11 events
        assert hidden.sum() >= 2
        assert people[hidden].sum() >= 11 and events[hidden].sum() >= 11
    # the events column and the other numeric columns of a hidden row are hidden; the first
    # column names the row's group and stays
    assert (pub.loc[hidden, "exits"] == SUPPRESSED).all()
    assert pub["group"].tolist() == list(range(k))


def test_model_terms_blank_the_counts_of_the_factor_of_a_suppressed_term():
    cox = pd.DataFrame(
        {
            "term": ["comp_rvu_production", "team_based_care", "role_nurse", "role_other"],
            "hr": [1.5, 0.8, 2.0, 1.1],
            "clinicians": [300, 500, 5, 250],
            "sites": [20, 25, 3, 18],
        }
    )
    pub = suppress_small(cox, "clinicians", 11)
    assert pub.loc[2].tolist() == ["role_nurse", *[SUPPRESSED] * 3]
    # the other role term keeps its estimate; its count would give away the small role
    assert pub.loc[3].tolist() == ["role_other", 1.1, SUPPRESSED, 18]
    assert pub.loc[[0, 1], "clinicians"].tolist() == [300, 500]
    # a factor with no suppressed term, and practices, are untouched
    rows, counts = suppression(cox.iloc[[0, 1, 3]], "clinicians", 11)
    assert not rows.any() and not counts.any()
    # as a breakdown the same rows would lose the next smallest row instead
    rows, _ = suppression(cox, "clinicians", 11, complementary="rows")
    assert rows.tolist() == [False, False, True, True]


def test_complementary_is_checked(tmp_path):
    df = pd.DataFrame({"g": ["a"], "clinicians": [20]})
    with pytest.raises(ValueError, match="complementary"):
        suppression(df, "clinicians", 11, complementary="columns")
    with pytest.raises(ValueError, match="term"):
        suppression(df, "clinicians", 11, complementary="terms")
    with pytest.raises(ValueError, match="people"):
        _save(tmp_path, df.assign(exits=3), people=None, events="exits")


@pytest.mark.parametrize(("people", "drawn"), [(10, ["c"]), (11, ["a", "b", "c"])])
def test_figures_draw_only_publishable_groups(people, drawn):
    df = pd.DataFrame({"g": list("abc"), "clinicians": [people, 50, 60]})
    assert drawable(df, "clinicians", 11)["g"].tolist() == drawn


def test_table_files_exactly_metadata_rounding_and_folders(tmp_path):
    df = pd.DataFrame(
        {
            "site": ["A", "B", "C"],
            "clinicians": [40, 30, 50],
            "rate": [1.23456789, np.nan, 2.0],
            "share": [0.5, 0.25, 0.125],
        }
    )
    src = SourceLine("Org", True, run_date="2026-01-02")
    out = tmp_path / "deep" / "out"
    pub = save_table(
        df, "tbl-x", out, caption="Cap.", source=src, min_cell_size=11, people="clinicians",
        n="n = 120", notebook="turnover", float_digits=3, seq=4, placement="appendix",
        notes="Note.", show=["site", "rate"],
    )  # fmt: skip
    text = (out / "tables" / "tbl-x.csv").read_bytes().decode()
    assert text == "site,clinicians,rate,share\nA,40,1.235,0.5\nB,30,,0.25\nC,50,2.0,0.125\n"
    assert pub["rate"].tolist()[0] == 1.235 and np.isnan(pub["rate"].tolist()[1])
    meta = json.loads((out / "tables" / "tbl-x.json").read_text(encoding="utf-8"))
    assert meta == {
        "id": "tbl-x",
        "caption": "Cap.",
        "source": "Source: Org · n = 120 · 2026-01-02 · " + src.text().split(" · ")[-1],
        "notebook": "turnover",
        "synthetic": True,
        "seq": 4,
        "placement": "appendix",
        "notes": "Note.",
        "show": ["site", "rate"],
    }
    save_table(df, "tbl-y", out, caption="C", source=src, min_cell_size=11, people="clinicians")
    meta = json.loads((out / "tables" / "tbl-y.json").read_text(encoding="utf-8"))
    assert (meta["notebook"], meta["seq"], meta["placement"], meta["notes"], meta["show"]) == (
        "", 0, "body", None, None
    )  # fmt: skip
    with pytest.raises(ValueError, match="^table ids start with 'tbl-': 'x'$"):
        save_table(df, "x", out, caption="C", source=src, min_cell_size=11, people="clinicians")


def test_table_without_people_is_published_whole_and_columns_choose_what_is_blanked(tmp_path):
    df = pd.DataFrame({"param": ["a", "b"], "value": [3, 4], "note": [1.5, 2.5]})
    pub = _save(tmp_path, df, people=None)
    assert pub["value"].tolist() == [3, 4]
    small = pd.DataFrame(
        {
            "site": ["A", "B", "C"],
            "clinicians": [4, 30, 40],
            "rate": [1.0, 2.0, 3.0],
            "k": [1, 2, 3],
        }
    )
    pub = _save(tmp_path, small, columns=["rate"])
    assert pub.loc[0, "rate"] == SUPPRESSED and pub.loc[0, "k"] == 1  # only the named columns
    assert pub.loc[0, "clinicians"] == SUPPRESSED  # and the head count, always


def test_figures_draw_only_rows_with_enough_events_and_the_complementary_rows():
    df = pd.DataFrame({"g": list("abcd"), "clinicians": [50, 60, 70, 80], "exits": [5, 30, 40, 50]})
    assert drawable(df, "clinicians", 11, events="exits")["g"].tolist() == ["c", "d"]
    assert drawable(df, "clinicians", 11, events="exits", complementary=None)["g"].tolist() == [
        "b", "c", "d",
    ]  # fmt: skip


def test_a_missing_or_unreadable_head_count_is_no_one():
    """A head count that is missing or not a number counts as 0 people: its row is suppressed,
    and the complementary rule sums it as 0 (here 0 + 10 < 11, so a third row goes too)."""
    df = pd.DataFrame({"g": list("abcd"), "clinicians": [None, 10, 30, 40]})
    rows, _ = suppression(df, "clinicians", 11)
    assert rows.tolist() == [True, True, True, False]
    df = pd.DataFrame({"g": list("abc"), "clinicians": ["n/a", 30, 40]}, dtype=object)
    rows, _ = suppression(df, "clinicians", 11)
    assert rows.tolist() == [True, True, False]


def test_plain_log_axis_labels_plain_numbers_and_thins_a_wide_range():
    import matplotlib.pyplot as plt

    from helpers.artifacts import plain_log_axis

    fig, ax = plt.subplots()
    ax.set_ylim(0.6, 2.2)
    plain_log_axis(ax)
    assert list(ax.get_yticks()) == [0.75, 1, 1.5, 2]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0.75", "1", "1.5", "2"]
    ax.set_yscale("linear")
    ax.set_ylim(0.15, 12)
    plain_log_axis(ax)
    assert list(ax.get_yticks()) == [0.25, 0.5, 1, 2, 5, 10]
    plt.close(fig)
