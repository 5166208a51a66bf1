"""The corpus of defective data folders (tests/corpus): every rule of the data contract.

Each case folder is a small valid data folder with one defect and an ``expected.yaml``. The
runner and ``python -m helpers.validate`` must both refuse it with exit code 2, print every
expected message part and no traceback, and leave the last published report untouched.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
from pathlib import Path

import pytest
import yaml

from helpers import validate
from helpers.data.contract import rule_names
from helpers.pipeline import cli

CORPUS = Path(__file__).resolve().parent / "corpus"
EXPECTED = "expected.yaml"


def _load_script():
    name = "tests_corpus_make_corpus"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, CORPUS / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


make_corpus = _load_script()

CASES = sorted(p for p in CORPUS.iterdir() if (p / EXPECTED).is_file())

# Every rule of the data contract, by the name the cases use under ``covers:``: read from
# the contract (helpers/data/contract.py), so that a rule added there needs a case here.
RULES = rule_names()

PUBLISHED = {
    "findings.json": b'{"synthetic": false, "findings": [{"id": "turnover.voluntary_rate"}]}\n',
    "manifest.json": b'{"data": "last good export", "inputs": []}\n',
    "report.html": b"<!doctype html><title>Last good report</title>\n",
    "figures/turnover.png": bytes(range(256)),
    "tables/rates.csv": b"site_id,rate\nS001,0.12\n",
}


def expectations(case: Path) -> dict:
    return yaml.safe_load((case / EXPECTED).read_text(encoding="utf-8"))


def params(generated: bool = True) -> list:
    """Every case; without ``generated``, the hand-written ones only (not ``auto_*``, which
    the contract's column rules generate, one per rule)."""
    return [
        pytest.param(case, id=case.name)
        for case in CASES
        if generated or not case.name.startswith("auto_")
    ]


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder``: file bytes, or None for a folder."""
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def check_message(text: str, exp: dict) -> None:
    assert "Traceback" not in text, text
    missing = [part for part in exp["message_parts"] if part not in text]
    assert not missing, f"not in the message: {missing}\n{text}"
    if "problems" in exp:
        assert f": {exp['problems']} problem(s) in " in text, text


@pytest.fixture
def published(tmp_path: Path) -> Path:
    """The last good report, already published in OUT."""
    out = tmp_path / "published" / "report"
    for name, data in PUBLISHED.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    return out


@pytest.fixture
def runner_in_process(monkeypatch: pytest.MonkeyPatch):
    """``cli.main`` as called from here: its messages go to the captured stdout, its
    SIGTERM handler is undone afterwards, and no notebook ever runs."""
    real = cli.Runner
    # Runner.log defaults to the sys.stdout of import time, which capsys does not capture.
    monkeypatch.setattr(cli, "Runner", lambda *a, **kw: real(*a, log=sys.stdout, **kw))

    def no_notebooks(self, *args, **kwargs):
        raise AssertionError("the data passed validation: notebooks would run")

    monkeypatch.setattr(real, "run_one", no_notebooks)
    handler = signal.getsignal(signal.SIGTERM)
    yield cli.main
    signal.signal(signal.SIGTERM, handler)


# The runner refuses bad data by the same path whatever the case: it runs on the hand-written
# cases (every table and file format); the validator's messages are checked on every case below.
@pytest.mark.parametrize("case", params(generated=False))
def test_runner_refuses_the_case_and_keeps_the_published_report(
    case, published, runner_in_process, capsys, tmp_path
):
    assert Path(os.environ["HELPERS_CACHE"]).is_relative_to(tmp_path)
    exp = expectations(case)
    before, beside = snapshot(published), set(os.listdir(published.parent))
    data_before = snapshot(case)

    code = runner_in_process(["--data", str(case), "--out", str(published), "--no-report"])
    captured = capsys.readouterr()
    text = captured.out + captured.err

    assert code == exp["exit_code"] != 0, text
    check_message(text, exp)
    assert snapshot(published) == before, "the published report was modified"
    for name in set(os.listdir(published.parent)) - beside:
        assert name.startswith(f".{published.name}-partial-"), name
        assert str(published.parent / name) in text, f"unannounced folder {name}"
    assert snapshot(case) == data_before, "the data folder was modified"


@pytest.mark.parametrize("case", params())
def test_validate_cli_reports_the_case(case, capsys):
    exp = expectations(case)
    code = validate.main([str(case)])
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert code == exp["exit_code"] != 0, text
    check_message(text, exp)


def test_expectations_are_complete():
    assert len(CASES) >= 94
    for case in CASES:
        exp = expectations(case)
        assert {"description", "rule", "covers", "exit_code", "message_parts"} <= set(exp)
        assert exp["exit_code"] != 0 and exp["covers"] and exp["message_parts"], case.name


def test_valid_base_has_no_violations():
    result = validate.validate_folder(CORPUS / "_valid")
    assert result.ok, result.summary()
    assert result.extra_columns == {}
    assert result.tables == list(validate.REQUIRED_TABLES + validate.OPTIONAL_TABLES)


def test_every_contract_rule_has_a_case():
    covered = {rule for case in CASES for rule in expectations(case)["covers"]}
    assert sorted(set(RULES) - covered) == [], "rules without a case"
    assert sorted(covered - set(RULES)) == [], "cases cover rules not listed in RULES"
    assert len(RULES) == len(set(RULES))


def test_committed_corpus_is_what_the_script_writes(tmp_path):
    fresh = tmp_path / "corpus"
    fresh.mkdir()
    make_corpus.build(fresh)

    def tree(root: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(root)): p.read_bytes()
            for d in make_corpus.case_dirs(root)
            for p in sorted(d.rglob("*"))
            if p.is_file()
        }

    committed, generated = tree(CORPUS), tree(fresh)
    assert sorted(committed) == sorted(generated), "files differ: rerun make_corpus.py"
    changed = [name for name in generated if committed[name] != generated[name]]
    assert changed == [], "rerun tests/corpus/make_corpus.py"
