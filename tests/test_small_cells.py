"""An organization too small to publish: every notebook runs, nothing about fewer than
min_cell_size people comes out."""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from helpers.artifacts import SUPPRESSED
from helpers.data import demo
from helpers.pipeline.run import Runner
from helpers.report.labels import label
from tests.conftest import make_valid_folder
from tests.quick import QUICK_PARAMS

pytestmark = pytest.mark.slow
NOT_ABOUT_PEOPLE = ("validation.", "bh.")


def test_tiny_organization_is_suppressed_everywhere(tmp_path):
    data = make_valid_folder(tmp_path / "tiny")
    out = tmp_path / "out"
    log = (tmp_path / "log.txt").open("w")
    assert (
        Runner(
            data, out, overrides=QUICK_PARAMS, cache_dir=tmp_path / "cache", log=log, report=False
        ).run()
        == 0
    ), (tmp_path / "log.txt").read_text()
    findings = json.loads((out / "findings.json").read_text())["findings"]
    for f in findings:
        if f["id"].startswith(NOT_ABOUT_PEOPLE):
            continue
        assert f["estimate"] is None and f["ci_low"] is None and f["n"] is None, f["id"]
        assert f["suppressed"] or not f["available"], f["id"]
    people_columns = ("clinicians", "responses", "exits", "clinicians_observed")
    for csv in (out / "tables").glob("*.csv"):
        df = pd.read_csv(csv, dtype=str)
        for col in people_columns:
            if col in df.columns:
                shown = pd.to_numeric(df[col], errors="coerce").dropna()
                assert (shown >= 11).all(), (csv.name, col, shown.tolist())


TINY_SITE, TINY_ROLE, FEW = "TINY1", "advanced_practice", 5


def _append(data: Path, table: str, rows: list[dict]) -> None:
    path = data / f"{table}.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    pd.concat([df, pd.DataFrame(rows).astype(str)], ignore_index=True).to_csv(path, index=False)


def add_tiny_site(data: Path) -> None:
    """A site of FEW physicians and one nurse, in every table, among the demonstration's."""
    start = pd.read_csv(data / "management.csv", dtype=str)["effective_from"].min()
    site = {"site_id": TINY_SITE}
    _append(data, "sites", [{**site, "site_name": "Tiny Clinic", "region": "North",
                             "setting": "primary_care", "population_served": "900"}])  # fmt: skip
    _append(data, "management", [{**site, "effective_from": start, "effective_to": "",
        "comp_model": "rvu_production", "rvu_target_annual": "5000",
        "pct_comp_productivity": "70", "team_based_care": "false",
        "support_staff_per_clinician": "1.0", "clinician_in_governance": "false",
        "admin_shadowing": "false", "protected_time_pct": "0"}])  # fmt: skip
    people = [f"{TINY_SITE}-C{i}" for i in range(FEW)]
    _append(data, "clinicians", [{**site, "clinician_id": c, "role": "physician",
        "specialty": "", "fte": "1.0", "hire_date": "2016-01-04",
        "exit_date": "2021-06-30" if i == 0 else "", "exit_reason": "voluntary" if i == 0 else ""}
        for i, c in enumerate(people)] + [{**site, "clinician_id": f"{TINY_SITE}-N0",
        "role": "nurse", "specialty": "", "fte": "1.0", "hire_date": "2016-01-04",
        "exit_date": "", "exit_reason": ""}])  # fmt: skip
    access = pd.read_csv(data / "access.csv", dtype=str, keep_default_na=False)
    access = access[access["site_id"] == access["site_id"].iloc[0]].assign(**site, visits="300")
    _append(data, "access", access.to_dict("records"))
    survey = pd.read_csv(data / "survey.csv", dtype=str, keep_default_na=False)
    rows = []
    for day in sorted(set(survey["survey_date"])):
        for i, c in enumerate(people[:3]):
            row = survey.iloc[0].to_dict() | site
            rows.append(row | {"response_id": f"{TINY_SITE}-{day}-{i}", "survey_date": day,
                               "clinician_id": c, "role": "physician", "burnout": "5"})  # fmt: skip
    _append(data, "survey", rows)
    time = pd.read_csv(data / "time_allocation.csv", dtype=str, keep_default_na=False)
    _append(
        data,
        "time_allocation",
        time.iloc[:20].assign(**site, clinician_id=people[1]).to_dict("records"),
    )
    enc = pd.read_parquet(data / "encounters.parquet").iloc[:50]
    enc = enc.assign(
        **site, clinician_id=people[1], encounter_id=[f"{TINY_SITE}-E{i}" for i in range(50)]
    )
    full = pd.read_parquet(data / "encounters.parquet")
    pd.concat([full, enc], ignore_index=True).to_parquet(data / "encounters.parquet", index=False)


def shrink_role(data: Path) -> None:
    """Leave FEW clinicians in TINY_ROLE, all in post during the window and two of them leaving
    it voluntarily, and FEW survey responses (the rest of the role: physicians)."""
    months = pd.to_datetime(pd.read_csv(data / "access.csv", dtype=str)["month"])
    start, end = months.min(), months.max() + pd.offsets.MonthEnd(0)
    c = pd.read_csv(data / "clinicians.csv", dtype=str, keep_default_na=False)
    hired = pd.to_datetime(c["hire_date"])
    left = pd.to_datetime(c["exit_date"].replace("", None))
    tiny = (c["role"] == TINY_ROLE) & (hired <= end) & (left.isna() | (left >= start))
    leavers = tiny & (c["exit_reason"] == "voluntary") & (left <= end)
    stayers = tiny & left.isna()
    keep = sorted(c.loc[leavers, "clinician_id"])[:2] + sorted(c.loc[stayers, "clinician_id"])
    keep = keep[:FEW]
    c.loc[(c["role"] == TINY_ROLE) & ~c["clinician_id"].isin(keep), "role"] = "physician"
    c.to_csv(data / "clinicians.csv", index=False)
    s = pd.read_csv(data / "survey.csv", dtype=str, keep_default_na=False)
    s.loc[s.index[s["role"] == TINY_ROLE][FEW:], "role"] = "physician"
    s.to_csv(data / "survey.csv", index=False)


SHOWN_EMPTY = {"", "suppressed", "nan", "NaN", "<NA>", "None", "—"}
CELL = re.compile(r"<t[dh][^>]*>(.*?)</t[dh]>", re.S)


def _tiny(text: str) -> bool:
    """Whether text names a tiny group, by its code or by its label in the report."""
    return any(name in text for name in (TINY_SITE, TINY_ROLE, label(TINY_ROLE)))


def _row_leaks(cells: list[str]) -> list[str]:
    """The cells of a row about a tiny group that show a number (text cells are labels: the
    model a row comes from, a period)."""
    labels = [c for c in cells if _tiny(c)]
    shown = [c for c in cells if c not in labels and c.strip() not in SHOWN_EMPTY]
    return [c for c in shown if re.search(r"\d", c)] if labels else []


# Outputs that show reference data about a role (cited replacement costs), not its people.
REFERENCE_TEXT = ("**Replacement cost per departure** (cited range",)


def _text_leaks(text: str) -> list[str]:
    """Lines of a notebook's text output that name a tiny group and show a number."""
    if text.startswith(REFERENCE_TEXT):
        return []
    return [line[:300] for line in text.splitlines() if _tiny(line) and re.search(r"\d", line)]


def _html_leaks(html: str) -> list[list[str]]:
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)
    cells = ([re.sub(r"<[^>]+>", "", c).strip() for c in CELL.findall(r)] for r in rows)
    # An index cell (row number) is not about the group.
    return [
        leak for c in cells if (leak := [x for x in _row_leaks(c) if not x.isdigit() or x != c[0]])
    ]


@pytest.fixture(scope="module")
def tiny_groups(tmp_path_factory) -> Path:
    """A demonstration organization of 30 sites with a tiny site and a tiny role, run end to
    end once (report included) for the tests below; returns the output folder."""
    tmp = tmp_path_factory.mktemp("tiny-groups")
    data = tmp / "org"
    demo.generate(data, scale=0.6)  # enough sites and switching sites for every analysis
    add_tiny_site(data)
    shrink_role(data)
    out = tmp / "out"
    log = (tmp / "log.txt").open("w")
    assert Runner(data, out, overrides=QUICK_PARAMS, cache_dir=tmp / "cache", log=log).run() == 0, (
        tmp / "log.txt"
    ).read_text()
    return out


def test_a_tiny_site_and_role_in_a_large_organization_leak_nowhere(tiny_groups):
    out = tiny_groups
    leaks = []
    for csv in sorted((out / "tables").glob("*.csv")):
        for row in pd.read_csv(csv, dtype=str, keep_default_na=False).itertuples(index=False):
            if bad := _row_leaks(list(row)):
                leaks.append((csv.name, list(row), bad))
    for svg in sorted((out / "figures").glob("*.svg")):
        if _tiny(svg.read_text()):
            leaks.append((svg.name, "names a tiny group"))
    if _tiny((out / "findings.json").read_text()):
        leaks.append(("findings.json", "names a tiny group"))
    leaks += [("report.html", bad) for bad in _html_leaks((out / "report.html").read_text())]
    for path in sorted((out / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            for output in cell.get("outputs", []):
                shown = output.get("data", {})
                if "text/html" in shown:
                    leaks += [(path.name, bad) for bad in _html_leaks("".join(shown["text/html"]))]
                else:
                    text = "".join(shown.get("text/markdown", shown.get("text/plain", "")))
                    leaks += [(path.name, bad) for bad in _text_leaks(text)]
                printed = "".join(output.get("text", ""))
                leaks += [(path.name, "printed: " + bad) for bad in _text_leaks(printed)]
    assert not leaks, "\n".join(map(str, leaks))


# --- the attack: recover suppressed counts from what is published ----------------------------
@dataclass(frozen=True)
class Quantity:
    """One count broken down by a group, as an attacker who has read the methods knows it:
    the tables that publish its cells, the findings that publish its total, and the model
    tables whose head counts are min(level, reference level) of it."""

    what: str
    cells: tuple[tuple[str, str, str], ...]  # (table, group column, count column)
    totals: tuple[Callable[[dict], int | None], ...]  # findings -> a published total
    terms: tuple[tuple[str, str], ...] = ()  # (model table, count column)
    factor: str = ""  # the factor's prefix in model terms
    reference: str = ""  # its reference level


def _n(fid: str, key: str = "n") -> Callable[[dict], int | None]:
    return lambda found: (found.get(fid) or {}).get(key)


def _exits_in_label(found: dict) -> int | None:
    m = re.search(
        r"\(([\d,]+) exits in", (found.get("turnover.voluntary_rate") or {}).get("label", "")
    )
    return int(m.group(1).replace(",", "")) if m else None


EXIT_TOTALS = (
    _exits_in_label,
    _n("cost.voluntary_turnover_per_year", "n_events"),
    _n("cost.voluntary_turnover_per_year"),
    _n("turnover.hr_rvu_production", "n_events"),
)
COX_TABLES = ("tbl-turnover-cox", "tbl-turnover-appendix-within-site", "tbl-turnover-appendix-ph")
QUANTITIES = (
    Quantity(
        "clinicians in the window by role",
        (("tbl-turnover-rate-role", "role", "clinicians"),),
        (_n("turnover.voluntary_rate"), _n("turnover.hr_rvu_production")),
        tuple((t, "clinicians") for t in COX_TABLES),
        "role_",
        "physician",
    ),
    Quantity(
        "voluntary exits by role",
        (("tbl-turnover-rate-role", "role", "exits"), ("tbl-cost-by-role", "role", "exits")),
        EXIT_TOTALS,
    ),
    Quantity(
        "voluntary exits by pay model",
        (("tbl-turnover-rate-comp", "comp_model", "exits"),),
        EXIT_TOTALS,
    ),
    *(
        Quantity(
            f"survey {col} by {by}",
            ((f"tbl-burnout-by-{by.replace('_', '-')}", by, col),),
            (
                _n("burnout.prevalence", key),
                *((_n("cost.burnout_attributable_per_year", key),) if key == "n_events" else ()),
            ),
        )
        for by in ("role", "comp_model", "year")
        for col, key in (("responses", "n"), ("burned_out", "n_events"))
    ),
)
TOTAL_ROWS = ("all", "all sites", "total", "overall")
COUNT_COLUMNS = ("clinicians", "clinicians_observed", "exits", "responses", "burned_out", "people")


def _number(v: str) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _own_totals(tables: dict[str, pd.DataFrame]) -> list[Quantity]:
    """Each table with one overall row: its count columns are quantities whose total it
    shows; its other rows are stored as ``<table>#cells``."""
    out = []
    for name, df in list(tables.items()):
        group = df.columns[0]
        is_total = df[group].str.lower().isin(TOTAL_ROWS)
        if is_total.sum() != 1:
            continue
        tables[f"{name}#cells"] = df[~is_total]
        for col in (c for c in COUNT_COLUMNS if c in df.columns):
            value = _number(df.loc[is_total, col].iloc[0])
            if value is not None:
                out.append(
                    Quantity(
                        f"{name} {col} (its own total row)",
                        ((name, group, col),),
                        (lambda found, v=value: v,),
                    )
                )
    return out


def attack(out: Path, min_cell_size: int = 11) -> tuple[list[str], int]:
    """Try to recover every suppressed count from the published tables and findings: for each
    quantity, the cells published anywhere are known; a model table's count for a level's
    term is min(level, reference), which gives the level when the reference is known and
    larger (and a lower bound otherwise); a published total minus the known cells is the sum
    of the unknown ones. Repeated until nothing new is learnt. Returns the suppressed counts
    recovered exactly or bounded to an interval narrower than ``min_cell_size``, and how many
    suppressed counts were attacked."""
    tables = {
        p.stem: pd.read_csv(p, dtype=str, keep_default_na=False)
        for p in sorted((out / "tables").glob("*.csv"))
    }
    found = {f["id"]: f for f in json.loads((out / "findings.json").read_text())["findings"]}
    leaks, attacked = [], 0
    for q in (*QUANTITIES, *_own_totals(tables)):
        known: dict[str, float] = {}
        hidden: set[str] = set()
        for name, group, col in q.cells:
            df = tables.get(f"{name}#cells", tables.get(name))
            if df is None or col not in df.columns:
                continue
            for g, v in zip(df[group], df[col], strict=True):
                if _number(v) is not None:
                    known[g] = _number(v)
                elif v == SUPPRESSED:
                    hidden.add(g)
        hidden -= set(known)
        if not hidden:
            continue
        attacked += len(hidden)
        pairs = []  # (level, p): min(count of level, count of reference) = p
        for name, col in q.terms:
            df = tables.get(name)
            if df is None or "term" not in df.columns:
                continue
            for term, v in zip(df["term"], df[col], strict=True):
                if term.startswith(q.factor) and _number(v) is not None:
                    pairs.append((term.removeprefix(q.factor), _number(v)))
        totals = [t for t in (f(found) for f in q.totals) if t is not None]
        low = dict.fromkeys(hidden | {q.reference}, 0.0)
        changed = True
        while changed:
            changed = False
            for level, p in pairs:
                for a, b in ((level, q.reference), (q.reference, level)):
                    if a not in hidden or a in known:
                        continue
                    if b in known and known[b] > p:
                        known[a], changed = p, True
                    elif low[a] < p:
                        low[a], changed = p, True
            for total in totals:
                unknown = [g for g in hidden if g not in known]
                rest = total - sum(known.values())
                assert rest >= sum(low[g] for g in unknown), (q.what, "not a partition", total)
                if len(unknown) == 1:
                    known[unknown[0]], changed = rest, True
                    continue
                for g in unknown:
                    high = rest - sum(low[h] for h in unknown if h != g)
                    if high - low[g] < min_cell_size:
                        leaks.append(f"{q.what}: {g} lies in [{low[g]:g}, {high:g}]")
        leaks += [f"{q.what}: {g} = {known[g]:g}" for g in sorted(hidden) if g in known]
    return sorted(set(leaks)), attacked


def test_no_suppressed_count_can_be_recovered_from_what_is_published(tiny_groups):
    leaks, attacked = attack(tiny_groups)
    assert attacked >= 4  # the tiny role in the rate, cost and survey tables, at least
    assert not leaks, "\n".join(leaks)
