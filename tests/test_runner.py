"""The runner: end to end on fixture notebooks, failures, atomic publishing, the cache."""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from helpers import paths
from helpers.pipeline.publish import publish
from helpers.pipeline.run import Runner, describe_failure
from tests.conftest import make_valid_folder

KERNEL = {"name": "helpers", "display_name": "Python (helpers)", "language": "python"}

PARAMS = 'data_dir = ""\nout_dir = ""\nmin_cell_size = 11\nscale = 1.0\n'
BODY = """
from helpers.notebook import Analysis
run = Analysis("{name}", data_dir, out_dir, min_cell_size)
n = len(run.data.table("clinicians"))
run.findings.add("{name}.rows", "rows", n * scale, unit="rows", n=n, n_unit="rows",
                 method="count", people=100, design="descriptive")
"""


def write_notebook(folder: Path, stem: str, body: str) -> Path:
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": KERNEL, "language_info": {"name": "python"}}
    )
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {stem}"),
        nbformat.v4.new_code_cell(PARAMS, metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(body),
    ]
    path = folder / f"{stem}.ipynb"
    nbformat.write(nb, path)
    return path


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def setup(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPERS_CACHE", str(tmp_path / "cache"))
    data = make_valid_folder(tmp_path / "data")
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    write_notebook(nbs, "01_alpha", BODY.format(name="alpha"))
    write_notebook(nbs, "02_beta", BODY.format(name="beta"))
    out = tmp_path / "out"
    return lambda **kw: runner_for(tmp_path, data, nbs, out, **kw), nbs, out, tmp_path


def runner_for(tmp_path: Path, data: Path, nbs: Path, out: Path, **kw) -> Runner:
    """A runner of fixture notebooks: no report, no required findings, its cache in
    ``tmp_path/cache`` and its log appended to ``tmp_path/log.txt``."""
    return Runner(
        data,
        out,
        notebook_dir=nbs,
        cache_dir=tmp_path / "cache",
        report=False,
        require_findings=False,
        log=(tmp_path / "log.txt").open("a"),
        **kw,
    )


def log_text(tmp_path: Path) -> str:
    return (tmp_path / "log.txt").read_text()


def test_run_publishes_findings_manifest_and_notebooks(setup):
    make, nbs, out, tmp = setup
    assert make().run() == 0
    doc = json.loads((out / "findings.json").read_text())
    assert [f["id"] for f in doc["findings"]] == ["alpha.rows", "beta.rows"]
    assert doc["synthetic_data"] is False
    man = json.loads((out / "manifest.json").read_text())
    assert {n["notebook"] for n in man["notebooks"]} == {"01_alpha.ipynb", "02_beta.ipynb"}
    assert man["code"]["commit"] is None or len(man["code"]["commit"]) == 40
    assert {i["table"] for i in man["data"]["inputs"]} >= {"sites", "clinicians"}
    assert all(len(i["sha256"]) == 64 for i in man["data"]["inputs"])
    assert man["parameters"]["01_alpha"] == {"min_cell_size": 11, "scale": 1.0}
    assert (out / "notebooks" / "01_alpha.ipynb").exists()
    assert not list(out.parent.glob(".out-partial-*"))


def test_unchanged_rerun_reuses_everything_and_a_parameter_reruns_one(setup):
    make, nbs, out, tmp = setup
    assert make().run() == 0
    assert make().run() == 0
    man = json.loads((out / "manifest.json").read_text())
    assert [n["cached"] for n in man["notebooks"]] == [True, True]
    params = tmp / "p.yaml"
    params.write_text("notebooks:\n  02_beta:\n    scale: 2.0\n")
    assert make(params_file=params).run() == 0
    man = json.loads((out / "manifest.json").read_text())
    assert [n["cached"] for n in man["notebooks"]] == [True, False]
    beta = next(
        f
        for f in json.loads((out / "findings.json").read_text())["findings"]
        if f["id"] == "beta.rows"
    )
    alpha = next(
        f
        for f in json.loads((out / "findings.json").read_text())["findings"]
        if f["id"] == "alpha.rows"
    )
    assert beta["estimate"] == 2 * alpha["estimate"]


def reused(out: Path) -> list[bool]:
    return [n["cached"] for n in json.loads((out / "manifest.json").read_text())["notebooks"]]


def test_each_input_reruns_what_depends_on_it(setup, monkeypatch):
    make, nbs, out, tmp = setup
    assert make().run() == 0
    # A notebook's own code: that notebook only.
    path = nbs / "02_beta.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("unused = 1"))
    nbformat.write(nb, path)
    assert make().run() == 0 and reused(out) == [True, False]
    # A data file: every notebook (each reads the validated folder).
    clinicians = tmp / "data" / "clinicians.csv"
    clinicians.write_text(clinicians.read_text() + "C9,S3,physician,,1.0,2018-01-01,,\n")
    assert make().run() == 0 and reused(out) == [False, False]
    rows = {
        f["id"]: f["estimate"] for f in json.loads((out / "findings.json").read_text())["findings"]
    }
    assert rows == {"alpha.rows": 8, "beta.rows": 8}
    # The package: every notebook. The key reads paths.PACKAGE: point it at a copy to edit.
    package = shutil.copytree(
        paths.PACKAGE, tmp / "helpers", ignore=shutil.ignore_patterns("__pycache__")
    )
    monkeypatch.setattr(paths, "PACKAGE", package)
    assert make().run() == 0 and reused(out) == [True, True]  # the same code
    module = package / "analysis" / "rates.py"
    module.write_text(module.read_text() + "\n# edited\n")
    assert make().run() == 0 and reused(out) == [False, False]


def test_failing_cell_fails_the_run_and_leaves_out_unchanged(setup):
    make, nbs, out, tmp = setup
    assert make().run() == 0
    before = tree_digest(out)
    write_notebook(nbs, "03_broken", "x = 1\nraise ValueError('boom in the analysis')\n")
    assert make().run() == 1
    assert tree_digest(out) == before
    log = log_text(tmp)
    assert "03_broken.ipynb failed: cell 3" in log
    assert "ValueError: boom in the analysis" in log
    kept = next(tmp.glob(".out-partial-*/notebooks/03_broken.ipynb"))
    assert str(kept) in log
    assert "out is unchanged" in log.replace(str(out), "out")


NO_KERNEL = "RuntimeError: Kernel didn't respond in 60 seconds\n"


def test_a_kernel_that_never_answers_is_started_again(setup, monkeypatch):
    make, nbs, out, tmp = setup
    real = Runner._papermill
    calls: list[str] = []

    def flaky(self, cmd, env):
        calls.append(Path(cmd[3]).stem)
        if calls.count("01_alpha") == 1 and Path(cmd[3]).stem == "01_alpha":
            return 1, NO_KERNEL
        return real(self, cmd, env)

    monkeypatch.setattr(Runner, "_papermill", flaky)
    assert make(jobs=1, warm=False).run() == 0
    assert calls == ["01_alpha", "01_alpha", "02_beta"]
    assert "01_alpha                 its kernel did not start; starting another" in log_text(tmp)
    assert json.loads((out / "findings.json").read_text())["findings"][0]["id"] == "alpha.rows"


def test_a_forked_kernel_that_never_answers_is_started_again(setup, monkeypatch):
    from helpers.pipeline.pool import Ended, WarmPool

    make, nbs, out, tmp = setup
    real = WarmPool.run
    calls: list[str] = []

    def flaky(self, notebook, *args, **kw):
        calls.append(notebook.stem)
        if calls == ["01_alpha"]:
            return Ended(1, NO_KERNEL, 0.0)
        return real(self, notebook, *args, **kw)

    monkeypatch.setattr(WarmPool, "run", flaky)
    assert make(jobs=1).run() == 0
    assert calls == ["01_alpha", "01_alpha", "02_beta"]
    assert "01_alpha                 its kernel did not start; starting another" in log_text(tmp)
    assert "new Papermill process" not in log_text(tmp)  # all three forked


def test_a_kernel_that_never_starts_fails_the_run_after_three_attempts(setup, monkeypatch):
    make, nbs, out, tmp = setup
    calls: list[str] = []

    def never(self, cmd, env):
        calls.append(Path(cmd[3]).stem)
        return 1, NO_KERNEL

    monkeypatch.setattr(Runner, "_papermill", never)
    assert make(jobs=1, warm=False).run() == 1
    assert calls == ["01_alpha"] * 3 + ["02_beta"] * 3
    assert "Kernel didn't respond in 60 seconds" in log_text(tmp)
    assert not out.exists()


def test_a_kernel_message_after_cells_ran_is_not_retried(setup, monkeypatch):
    make, nbs, out, tmp = setup
    calls: list[str] = []

    def died_midway(self, cmd, env):
        calls.append(Path(cmd[3]).stem)
        nb = nbformat.read(cmd[3], as_version=4)
        nb.cells[1].execution_count = 1
        nbformat.write(nb, cmd[4])
        return 1, NO_KERNEL

    monkeypatch.setattr(Runner, "_papermill", died_midway)
    assert make(jobs=1, warm=False).run() == 1
    assert calls == ["01_alpha", "02_beta"]


def test_bad_data_runs_nothing(setup):
    make, nbs, out, tmp = setup
    assert make().run() == 0
    before = tree_digest(out)
    sites = next(p for p in (tmp / "data").iterdir() if p.stem == "sites")
    sites.write_text(sites.read_text().replace("primary_care", "", 1))
    assert make().run() == 2
    assert tree_digest(out) == before
    assert "setting" in log_text(tmp)


def test_bad_parameter_runs_nothing(setup):
    make, nbs, out, tmp = setup
    assert make(overrides={"min_cell_size": "eleven"}).run() == 2
    assert not out.exists()
    assert "min_cell_size" in log_text(tmp)


def test_out_inside_data_is_refused(setup):
    make, nbs, out, tmp = setup
    runner = make()
    runner.out_dir = tmp / "data" / "out"
    assert runner.run() == 2


def test_publish_replaces_folder(tmp_path):
    out, build = tmp_path / "out", tmp_path / "build"
    out.mkdir()
    (out / "old.txt").write_text("old")
    build.mkdir()
    (build / "new.txt").write_text("new")
    publish(build, out)
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert not build.exists()


def test_publish_into_a_new_folder(tmp_path):
    build = tmp_path / "build"
    build.mkdir()
    (build / "new.txt").write_text("new")
    publish(build, tmp_path / "sub" / "out")
    assert (tmp_path / "sub" / "out" / "new.txt").read_text() == "new"


def _folders(tmp_path: Path) -> tuple[Path, Path]:
    out, build = tmp_path / "out", tmp_path / "build"
    (out / "tables").mkdir(parents=True)
    (out / "findings.json").write_text('{"findings": [1]}\n')
    (out / "tables" / "tbl-a.csv").write_bytes(b"a,b\r\n1,\xff\n")
    os.symlink("findings.json", out / "link")
    (build / "tables").mkdir(parents=True)
    (build / "findings.json").write_text('{"findings": [2]}\n')
    return out, build


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_a_publish_failing_midway_restores_out_byte_for_byte(tmp_path, monkeypatch, error):
    out, build = _folders(tmp_path)
    before, new = tree_digest(out), tree_digest(build)
    monkeypatch.setattr("helpers.pipeline.publish._exchange", lambda a, b: False)  # no atomic swap
    rename = Path.rename

    def failing(self, target):
        if self == build:
            raise error
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", failing)
    with pytest.raises(type(error)):
        publish(build, out)
    assert tree_digest(out) == before
    assert os.readlink(out / "link") == "findings.json"
    assert tree_digest(build) == new  # the new folder is kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build", "out"]


def test_publish_swaps_the_folders_without_a_moment_without_out(tmp_path, monkeypatch):
    from helpers.pipeline.publish import _exchange

    out, build = _folders(tmp_path)
    new = tree_digest(build)
    probe_a, probe_b = tmp_path / "pa", tmp_path / "pb"
    probe_a.mkdir()
    probe_b.mkdir()
    if not _exchange(probe_a, probe_b):
        pytest.skip("no atomic exchange of names on this system")

    def refuse(*args):
        raise AssertionError("out was moved aside")

    monkeypatch.setattr(Path, "rename", refuse)
    publish(build, out)
    assert tree_digest(out) == new
    assert not build.exists()


def test_describe_failure_without_notebook(tmp_path):
    msg = describe_failure(tmp_path / "missing.ipynb", "a\nb\nNoSuchKernel: helpers\n")
    assert "NoSuchKernel" in msg


def _processes_with(token: str) -> list[int]:
    """Live processes whose environment mentions ``token`` (papermill and its kernel)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if token.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.parametrize(
    ("sig", "extra"),
    [(signal.SIGTERM, []), (signal.SIGINT, []), (signal.SIGTERM, ["--no-warm"])],
    ids=["SIGTERM", "SIGINT", "SIGTERM-no-warm"],
)
def test_a_signal_stops_the_run_and_leaves_out_unchanged(tmp_path, sig, extra):
    data = make_valid_folder(tmp_path / "data")
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    write_notebook(nbs, "01_slow", "import time\nprint('started', flush=True)\ntime.sleep(120)\n")
    write_notebook(nbs, "02_slow", "import time\ntime.sleep(120)\n")
    write_notebook(nbs, "03_never", "raise SystemExit('must not start')\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "findings.json").write_text('{"findings": []}\n')
    before = tree_digest(out)
    token = str(tmp_path / "cache")
    cmd = [sys.executable, "-m", "helpers.pipeline", "--data", str(data), "--out", str(out)]
    cmd += ["--notebooks", str(nbs), "--no-report", "--jobs", "2", *extra]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "HELPERS_CACHE": token},
        # as from a terminal: a test run started in the background inherits SIGINT ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "02_slow" in line and "running" in line:
            break
    time.sleep(3)  # let the kernels start
    proc.send_signal(sig)
    rest, _ = proc.communicate(timeout=60)
    text = "".join(lines) + rest
    assert proc.returncode == 130, text
    assert "Interrupted" in text and "is unchanged" in text
    partial = re.search(r"Partial work: (\S+)", text)
    assert partial and Path(partial.group(1)).parent == out.parent
    assert tree_digest(out) == before
    assert "03_never" not in text.split("Interrupted")[0].replace("03_never.ipynb", "")
    assert "Traceback" not in text
    deadline = time.time() + 15
    while _processes_with(token) and time.time() < deadline:
        time.sleep(0.5)
    assert _processes_with(token) == [], "papermill or a kernel outlived the run"


def test_a_render_failure_leaves_out_unchanged(setup, monkeypatch):
    make, nbs, out, tmp = setup
    assert make().run() == 0
    before = tree_digest(out)
    write_notebook(nbs, "03_gamma", BODY.format(name="gamma"))
    from helpers import report

    def fail(build, cache_dir=None):
        raise report.ReportError("typst failed: error: unknown font family")

    monkeypatch.setattr(report, "build", fail)
    runner = make()
    runner.report = True
    assert runner.run() == 1
    log = log_text(tmp)
    assert tree_digest(out) == before
    assert "typst failed: error: unknown font family" in log
    assert "Traceback" not in log
    partial = re.search(r"Partial work: (\S+)", log).group(1)
    assert (Path(partial) / "findings.json").exists()


GUARDED = """
import numpy as np
from helpers.analysis import inference
from helpers.notebook import Analysis
run = Analysis("{name}", data_dir, out_dir, min_cell_size)


def failing(error):
    def fit():
        raise error
    return fit


{calls}
run.findings.add("{name}.after", "reached the end", 1.0, unit="rows", n=100, n_unit="rows",
                 method="count", design="descriptive")
"""
MODEL_ERRORS = {
    "TooFewSites": "inference.TooFewSites('Cox model: 4 site(s)')",
    "ValueError": "ValueError('no variation in the exposure')",
    "LinAlgError": "np.linalg.LinAlgError('Singular matrix')",
}


def test_a_guarded_model_error_is_unavailable_and_a_bug_fails_the_run(setup):
    make, nbs, out, tmp = setup
    for nb in nbs.glob("*.ipynb"):
        nb.unlink()
    calls = "\n".join(
        f"run.guarded({{'models.{k}': 'Hazard ratio'}}, 500, failing({v}))"
        for k, v in MODEL_ERRORS.items()
    )
    write_notebook(nbs, "01_models", GUARDED.format(name="models", calls=calls))
    bug = "run.guarded({'bug.hr': 'Hazard ratio'}, 500, lambda: len(None))"
    write_notebook(nbs, "02_bug", GUARDED.format(name="bug", calls=bug))
    out.mkdir()
    (out / "findings.json").write_text('{"findings": []}\n')
    before = tree_digest(out)
    # Both notebooks run side by side: the bug fails the run, OUT is untouched ...
    assert make(jobs=2).run() == 1
    assert tree_digest(out) == before
    log = log_text(tmp)
    assert "02_bug.ipynb failed: cell 3" in log and "TypeError" in log
    assert "01_models.ipynb failed" not in log
    # ... while the model errors were registered as unavailable and the notebook went on
    # (its result, kept in the cache for the next run).
    (result,) = tmp.glob("cache/runs/01_models/*/findings/models.json")
    found = {f["id"]: f for f in json.loads(result.read_text())}
    for name in MODEL_ERRORS:
        assert found[f"models.{name}"]["available"] is False
        assert name in found[f"models.{name}"]["note"]
    assert found["models.after"]["estimate"] == 1.0


@pytest.fixture(autouse=True)
def _clean(tmp_path):
    yield
    shutil.rmtree(tmp_path / "cache", ignore_errors=True)


def test_notebooks_start_longest_first_by_the_last_published_run(tmp_path):
    from helpers.pipeline.run import NotebookRun, longest_first

    runs = [NotebookRun(Path(f"{stem}.ipynb"), {}) for stem in ("01_a", "02_b", "03_c", "04_d")]
    manifest = tmp_path / "manifest.json"
    recorded = {"01_a": 1.0, "02_b": 5.0, "03_c": 2.5}  # 04_d is new: first, it may be long
    manifest.write_text(
        json.dumps(
            {"notebooks": [{"notebook": f"{k}.ipynb", "seconds": v} for k, v in recorded.items()]}
        )
    )
    assert [r.notebook.stem for r in longest_first(runs, manifest)] == [
        "04_d",
        "02_b",
        "03_c",
        "01_a",
    ]
    assert [r.notebook.stem for r in runs] == ["01_a", "02_b", "03_c", "04_d"]  # not reordered
    for unreadable in ("{not json", '{"notebooks": [{"notebook": "01_a.ipynb"}]}', "[]"):
        manifest.write_text(unreadable)
        assert longest_first(runs, manifest) == runs


def test_findings_keep_the_notebooks_order_whatever_order_they_ran_in(setup):
    make, nbs, out, tmp = setup
    assert make().run() == 0
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["notebooks"][0]["seconds"] = 0.0  # beta now starts first
    manifest["notebooks"][1]["seconds"] = 99.0
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert make(force=True, jobs=1).run() == 0
    log = log_text(tmp).split("Running", 2)[2]
    assert log.index("02_beta                  running") < log.index(
        "01_alpha                 running"
    )
    ids = [f["id"] for f in json.loads((out / "findings.json").read_text())["findings"]]
    assert ids == ["alpha.rows", "beta.rows"]
