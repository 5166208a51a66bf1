"""The warm start (helpers.pipeline): notebooks forked from one warm process run as the
papermill command runs them, see nothing another notebook did, and a crash fails only the
notebook that crashed."""

from __future__ import annotations

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
import yaml

from helpers import paths
from helpers.pipeline import how_it_ended, kernel_env
from helpers.pipeline.pool import Stopped, WarmPool, describe_crash, imported_modules
from helpers.pipeline.run import Runner
from tests.conftest import make_valid_folder
from tests.test_runner import BODY, KERNEL, _processes_with, runner_for, write_notebook

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the warm start is used on Linux only"
)


@pytest.fixture
def setup(tmp_path, monkeypatch):
    token = str(tmp_path / "cache")
    monkeypatch.setenv("HELPERS_CACHE", token)
    data = make_valid_folder(tmp_path / "data")
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    out = tmp_path / "out"
    yield lambda **kw: runner_for(tmp_path, data, nbs, out, **kw), nbs, out, tmp_path
    deadline = time.time() + 15
    while _processes_with(token) and time.time() < deadline:
        time.sleep(0.2)
    assert _processes_with(token) == [], "a process of the run outlived it"


def log_text(tmp_path: Path) -> str:
    return (tmp_path / "log.txt").read_text()


def outputs(notebook: Path) -> str:
    """Everything the notebook's cells printed."""
    doc = json.loads(notebook.read_text())
    return "".join("".join(o.get("text", "")) for c in doc["cells"] for o in c.get("outputs", []))


# -- isolation -------------------------------------------------------------------------------

WHERE = """
import os
def _parent(pid):
    return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
print("forked from", _parent(os.getppid()))
"""

MUTATE = """
import builtins, os, random, statistics, sys, warnings
import matplotlib, numpy as np, pandas as pd
import helpers.analysis.rates
print("draws", random.random(), np.random.random())
builtins.LEAKED = 1
os.environ["LEAKED"] = "1"
helpers.analysis.rates.LEAKED = 1
statistics.mean = lambda *args, **kwargs: "patched"
pd.DataFrame.sum = lambda *args, **kwargs: "patched"
pd.set_option("display.max_rows", 3)
matplotlib.rcParams["lines.linewidth"] = 9.0
sys.path.append("/leaked")
sys.modules["leaked_module"] = sys
np.random.seed(1)
random.seed(1)
warnings.simplefilter("error")
os.chdir("/")
LEAKED = 1
assert statistics.mean([1]) == pd.DataFrame().sum() == "patched"  # within the notebook
"""

CHECK = """
import builtins, os, random, statistics, sys, warnings
import matplotlib, numpy as np, pandas as pd
import helpers.analysis.rates
print("draws", random.random(), np.random.random())
leaks = [
    what
    for what, seen in [
        ("a builtin", hasattr(builtins, "LEAKED")),
        ("an environment variable", "LEAKED" in os.environ),
        ("a module attribute", hasattr(helpers.analysis.rates, "LEAKED")),
        ("a patched function", statistics.mean([1]) != 1),
        ("a patched method", isinstance(pd.DataFrame().sum(), str)),
        ("a pandas option", pd.get_option("display.max_rows") != 60),
        ("a matplotlib setting", matplotlib.rcParams["lines.linewidth"] == 9.0),
        ("sys.path", "/leaked" in sys.path),
        ("sys.modules", "leaked_module" in sys.modules),
        ("a warning filter", any(f[:3] == ("error", None, Warning) for f in warnings.filters)),
        ("the working directory", os.getcwd() == "/"),
        ("a global", "LEAKED" in globals()),
    ]
    if seen
]
assert not leaks, f"the previous notebook's state leaked: {leaks}"
"""


def test_a_notebook_sees_nothing_the_previous_one_changed(setup):
    make, nbs, out, tmp = setup
    write_notebook(nbs, "01_mutate", WHERE + MUTATE)
    write_notebook(nbs, "02_check", WHERE + CHECK)
    assert make(jobs=1).run() == 0, log_text(tmp)
    printed = [outputs(out / "notebooks" / f"{s}.ipynb") for s in ("01_mutate", "02_check")]
    # Both were forked from the same warm process, which is not this one (the runner's).
    forked = {int(re.search(r"forked from (\d+)", p).group(1)) for p in printed}
    assert len(forked) == 1 and os.getpid() not in forked
    # Each kernel seeds its random generators afresh, as a new Python does.
    draws = [re.search(r"draws (\S+) (\S+)", p).groups() for p in printed]
    assert draws[0][0] != draws[1][0] and draws[0][1] != draws[1][1]


# -- crashes ---------------------------------------------------------------------------------


def test_a_crash_fails_that_notebook_with_its_cell_and_the_worker_goes_on(setup):
    make, nbs, out, tmp = setup
    write_notebook(nbs, "01_exits", "import os\nos._exit(3)\n")
    write_notebook(nbs, "02_segfault", "import ctypes\nctypes.string_at(0)\n")
    kill = "import os, signal, time\nos.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(60)\n"
    write_notebook(nbs, "03_kills_papermill", kill)
    write_notebook(nbs, "04_fine", BODY.format(name="fine"))
    assert make(jobs=1).run() == 1
    log = log_text(tmp)
    assert "01_exits.ipynb failed: cell 3 (import os): the kernel exited with code 3" in log
    assert (
        "02_segfault.ipynb failed: cell 3 (import ctypes): the kernel was killed by signal 11 "
        "(SIGSEGV)" in log
    )
    assert (
        "03_kills_papermill.ipynb failed: cell 3 (import os, signal, time): the notebook's "
        "Papermill process was killed by signal 9 (SIGKILL)" in log
    )
    assert re.search(r"04_fine +done in", log)
    assert "3 notebook(s) failed" in log


def test_a_thread_running_after_the_imports_means_plain_papermill_processes(setup, monkeypatch):
    make, nbs, out, tmp = setup
    lib = tmp / "lib"
    lib.mkdir()
    (lib / "starts_a_thread.py").write_text(
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(600,), daemon=True).start()\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(lib))
    write_notebook(nbs, "01_alpha", "import starts_a_thread\n" + BODY.format(name="alpha"))
    write_notebook(nbs, "02_where", "import starts_a_thread\n" + WHERE)
    assert make(jobs=1).run() == 0, log_text(tmp)
    log = log_text(tmp)
    assert "each notebook starts a new Papermill process: threads running after the imports" in log
    assert log.count("each notebook starts a new Papermill process") == 1
    printed = outputs(out / "notebooks" / "02_where.ipynb")
    assert f"forked from {os.getpid()}" in printed  # kernel <- papermill <- this process


def test_no_warm_runs_papermill_processes(setup):
    make, nbs, out, tmp = setup
    write_notebook(nbs, "01_where", WHERE)
    assert make(jobs=1, warm=False).run() == 0, log_text(tmp)
    assert f"forked from {os.getpid()}" in outputs(out / "notebooks" / "01_where.ipynb")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_running_kernels_and_the_warm_process(tmp_path, sig):
    data = make_valid_folder(tmp_path / "data")
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    marks = tmp_path / "started"
    marks.mkdir()
    for stem in ("01_slow", "02_slow"):
        body = f"import os, time\nopen(os.path.join({str(marks)!r}, str(os.getpid())), 'w')\n"
        write_notebook(nbs, stem, body + "time.sleep(300)\n")
    write_notebook(nbs, "03_never", "raise SystemExit('must not start')\n")
    out = tmp_path / "out"
    token = str(tmp_path / "cache")
    cmd = [sys.executable, "-m", "helpers.pipeline", "--data", str(data), "--out", str(out)]
    cmd += ["--notebooks", str(nbs), "--no-report", "--jobs", "2"]
    env = {**os.environ, "HELPERS_CACHE": token}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + 120
    while len(list(marks.iterdir())) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    kernels = [int(p.name) for p in marks.iterdir()]
    assert len(kernels) == 2, proc.communicate()[0].decode()
    proc.send_signal(sig)
    text = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 130, text
    assert "Interrupted" in text and "Traceback" not in text
    assert "03_never" not in text.split("Interrupted")[0].replace("03_never.ipynb", "")
    deadline = time.time() + 15
    while _processes_with(token) and time.time() < deadline:
        time.sleep(0.2)
    assert _processes_with(token) == [], "papermill, a kernel or the warm process outlived the run"
    assert not [k for k in kernels if Path(f"/proc/{k}").exists()]


# -- the same notebook as the papermill command writes -------------------------------------

PROBE = """
import json, logging, os, signal, stat, sys, warnings
import matplotlib
import pandas as pd
from helpers.notebook import Analysis
state = {
    "environment": {k: v for k, v in os.environ.items() if k != "JPY_PARENT_PID"},
    "parent_is_jpy_parent": os.getppid() == int(os.environ["JPY_PARENT_PID"]),
    "sys.path": sys.path,
    "cwd": os.getcwd(),
    "argv": [os.path.basename(sys.argv[0]), *[a for a in sys.argv[1:2]]],
    "orig_argv": [os.path.basename(a) for a in sys.orig_argv[:4]],
    "executable": sys.executable,
    "flags": str(sys.flags),
    "session leader": os.getsid(0) == os.getpid(),
    "stdin is a pipe": stat.S_ISFIFO(os.fstat(0).st_mode),
    "__name__": __name__,
    "SIGINT": str(signal.getsignal(signal.SIGINT)),
    "root logger": [type(h).__name__ for h in logging.getLogger().handlers],
    "pandas max_columns": pd.get_option("display.max_columns"),
    "matplotlib backend": matplotlib.get_backend(),
    "rcParams": {k: str(v) for k, v in matplotlib.rcParams.items()},
    "warning filters": sorted(str(f) for f in warnings.filters),
    "hash": hash("abc"),
}
with open(os.path.join(out_dir, "state.json"), "w") as fh:
    json.dump(state, fh, indent=1, sort_keys=True)
print("printed", scale)
print("to stderr", file=sys.stderr)
warnings.warn("a warning")
pd.DataFrame({f"a_rather_long_column_name_{i}": range(3) for i in range(12)})
"""


def _normalised(path: Path) -> dict:
    """An executed notebook without what differs between any two runs (times, process ids,
    the random ids of the cells Papermill adds)."""
    text = re.sub(r"ipykernel_\d+", "ipykernel_PID", path.read_text())
    doc = json.loads(text)
    for key in ("start_time", "end_time", "duration", "input_path", "output_path"):
        doc["metadata"]["papermill"].pop(key, None)
    for cell in doc["cells"]:
        cell["metadata"].pop("execution", None)
        for key in ("start_time", "end_time", "duration"):
            cell["metadata"].get("papermill", {}).pop(key, None)
        added = {"injected-parameters", "papermill-error-cell-tag"}
        if added & set(cell["metadata"].get("tags", [])):
            cell.pop("id", None)
    return doc


def test_a_warm_notebook_is_what_the_papermill_command_writes(tmp_path):
    """Same parameters cell, outputs, error cells and metadata; the kernel sees the same
    environment, paths, arguments and settings as a kernel the papermill command starts."""
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    probe = write_notebook(nbs, "01_probe", PROBE)
    failing = write_notebook(nbs, "02_fails", "print('before')\nraise ValueError('boom')\n")
    env = kernel_env()
    pool = WarmPool(paths.KERNEL_NAME, nbs, env, [probe, failing])
    pool.start()
    try:
        for tag in ("papermill", "warm"):
            for nb in (probe, failing):
                out = tmp_path / tag / nb.stem
                out.mkdir(parents=True)
                params = out / "parameters.yaml"
                params.write_text(yaml.safe_dump({"out_dir": str(tmp_path / "same"), "scale": 2}))
                (tmp_path / "same").mkdir(exist_ok=True)
                executed = out / nb.name
                if tag == "papermill":
                    cmd = [sys.executable, "-m", "papermill", str(nb), str(executed)]
                    cmd += ["-f", str(params), "-k", paths.KERNEL_NAME, "--cwd", str(nbs)]
                    cmd += ["--no-progress-bar", "--start-timeout", "120"]
                    code = subprocess.run(cmd, env=env, capture_output=True).returncode
                else:
                    code = pool.run(nb, executed, params, cwd=nbs).returncode
                assert code == (0 if nb == probe else 1), tag
                if nb == probe:
                    shutil.move(tmp_path / "same" / "state.json", out / "state.json")
    finally:
        pool.stop()
    assert pool.ready and pool.ready["ready"], pool.ready
    for nb in ("01_probe", "02_fails"):
        plain = _normalised(tmp_path / "papermill" / nb / f"{nb}.ipynb")
        warm = _normalised(tmp_path / "warm" / nb / f"{nb}.ipynb")
        assert warm == plain, nb
    plain, warm = (
        json.loads((tmp_path / tag / "01_probe" / "state.json").read_text())
        for tag in ("papermill", "warm")
    )
    assert {k: v for k, v in warm.items() if k != "environment"} == {
        k: v for k, v in plain.items() if k != "environment"
    }
    assert warm["environment"] == plain["environment"]
    assert warm["parent_is_jpy_parent"] and warm["session leader"] and warm["stdin is a pipe"]
    assert warm["pandas max_columns"] == 20  # as pandas chooses inside a kernel


@pytest.mark.slow
def test_findings_tables_and_figures_are_byte_identical_to_plain_papermill(tmp_path):
    """Three of the project's notebooks on the demonstration data, warm and plain."""
    if not (paths.DEMO_DATA / "truth.json").exists():
        pytest.skip("no demonstration data: run `make data`")
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    for name in ("05_time_allocation", "06_encounters", "07_cost"):
        shutil.copy(paths.NOTEBOOKS / f"{name}.ipynb", nbs)
    outs = {}
    for warm in (True, False):
        out = tmp_path / f"out-{warm}"
        log = (tmp_path / f"log-{warm}.txt").open("w")
        runner = Runner(
            paths.DEMO_DATA,
            out,
            notebook_dir=nbs,
            cache_dir=tmp_path / f"cache-{warm}",
            report=False,
            require_findings=False,
            log=log,
            warm=warm,
        )
        assert runner.run() == 0, (tmp_path / f"log-{warm}.txt").read_text()
        outs[warm] = out
    compared = 0
    for sub in ("findings.json", "tables", "figures"):
        files = sorted(p.relative_to(outs[False]) for p in (outs[False] / sub).rglob("*"))
        files = [f for f in files if (outs[False] / f).is_file()] or [Path(sub)]
        for rel in files:
            assert (outs[True] / rel).read_bytes() == (outs[False] / rel).read_bytes(), rel
            compared += 1
    assert compared > 10


# -- parts -----------------------------------------------------------------------------------


def test_imported_modules_reads_top_level_imports(tmp_path):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": KERNEL})
    nb.cells = [
        nbformat.v4.new_code_cell("%matplotlib inline\nimport pandas as pd, numpy\n"),
        nbformat.v4.new_code_cell("from helpers import access, workforce\nfrom . import x\n"),
        nbformat.v4.new_code_cell("def f():\n    import lazily_imported\n"),
        nbformat.v4.new_code_cell("this is not python"),
        nbformat.v4.new_markdown_cell("import markdown_is_not_code"),
    ]
    path = tmp_path / "01_x.ipynb"
    nbformat.write(nb, path)
    assert imported_modules([path]) == [
        "pandas",
        "numpy",
        "helpers",
        "?helpers.access",
        "?helpers.workforce",
    ]


def _executed(tmp_path: Path, statuses: list[str | None], error: bool = False) -> Path:
    cells = []
    for i, status in enumerate(statuses):
        meta = {"papermill": {"status": status or "pending", "start_time": status and "t"}}
        cell = nbformat.v4.new_code_cell(f"step_{i}()", metadata=meta)
        if error and i == len(statuses) - 1:
            cell.outputs = [nbformat.v4.new_output("error", ename="E", evalue="v", traceback=[])]
        cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells)
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)
    return path


def test_describe_crash(tmp_path):
    ended = "helpers.pipeline: kernel ended: -11\n"
    died = _executed(tmp_path, ["completed", "completed", None])
    assert (
        describe_crash(died, "DeadKernelError\n" + ended, 138)
        == "cell 2 (step_1()): the kernel was killed by signal 11 (SIGSEGV)"
    )
    assert describe_crash(died, "DeadKernelError: Kernel died", 138) == (
        "cell 2 (step_1()): the kernel died"
    )
    killed = _executed(tmp_path, ["completed", "running", None])
    assert describe_crash(killed, "", -9) == (
        "cell 2 (step_1()): the notebook's Papermill process was killed by signal 9 (SIGKILL)"
    )
    assert describe_crash(_executed(tmp_path, ["completed"], error=True), "", 1) is None
    assert describe_crash(tmp_path / "missing.ipynb", "", 1) is None
    assert describe_crash(tmp_path / "missing.ipynb", "", -15) == (
        "the notebook's Papermill process was killed by signal 15 (SIGTERM) before the "
        "notebook was written"
    )


def test_how_it_ended():
    assert how_it_ended(0) == "exited with code 0"
    assert how_it_ended(-9) == "was killed by signal 9 (SIGKILL)"
    assert how_it_ended(None) == "ended"


def test_a_stopped_pool_starts_nothing(tmp_path):
    nb = write_notebook(tmp_path, "01_x", "x = 1\n")
    pool = WarmPool(paths.KERNEL_NAME, tmp_path, kernel_env(), [nb])
    pool.start()
    pool.stop()
    with pytest.raises(Stopped):
        pool.run(nb, tmp_path / "out.ipynb", tmp_path / "p.yaml", cwd=tmp_path)


def _catches_sigterm(proc) -> bool:
    """Whether the process has set a handler for SIGTERM (its SigCgt mask in /proc)."""
    if proc is None:
        return False
    try:
        status = Path(f"/proc/{proc.pid}/status").read_text()
    except OSError:
        return False
    mask = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(mask, 16) & (1 << (signal.SIGTERM - 1)))


def test_a_pool_stopped_while_it_imports_stops_at_once(tmp_path):
    """SIGTERM while the warm process is importing ends it there (it is not killed after the
    grace period, which a run that reuses every result would otherwise wait out)."""
    nb = write_notebook(tmp_path, "01_x", "import pandas, statsmodels.api, matplotlib.pyplot\n")
    pool = WarmPool(paths.KERNEL_NAME, tmp_path, kernel_env(), [nb])
    pool.start()
    deadline = time.monotonic() + 30
    while not _catches_sigterm(pool._proc) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pool._state == "starting"  # its handler is set and it is still importing
    pool.stop()
    assert pool._proc.returncode == 0  # ended by itself, not killed (-9)


def test_an_early_pool_is_adopted_only_for_what_it_was_started_for(tmp_path):
    from helpers.pipeline import kernel_env, pool

    nb = write_notebook(tmp_path, "01_x", "x = 1\n")
    argv = ["--data", "somewhere", "--notebooks", str(tmp_path)]
    pool.start_early([*argv, "--no-warm"], paths.KERNEL_NAME, paths.NOTEBOOKS, paths.DEMO_DATA)
    assert pool.adopt_early(paths.KERNEL_NAME, tmp_path, kernel_env(), [nb]) is None
    pool.start_early(argv, paths.KERNEL_NAME, paths.NOTEBOOKS, paths.DEMO_DATA)
    early = pool._early
    assert early is not None
    assert pool.adopt_early(paths.KERNEL_NAME, tmp_path, kernel_env(), [nb]) is early
    early.stop()
    pool.start_early(argv, paths.KERNEL_NAME, paths.NOTEBOOKS, paths.DEMO_DATA)
    early = pool._early
    other = write_notebook(tmp_path, "02_y", "y = 1\n")
    assert pool.adopt_early(paths.KERNEL_NAME, tmp_path, kernel_env(), [nb, other]) is None
    assert early._state == "stopped" and pool._early is None
    # started for both, adopted for one of them (the other's result is reused)
    pool.start_early(argv, paths.KERNEL_NAME, paths.NOTEBOOKS, paths.DEMO_DATA)
    early = pool._early
    assert pool.adopt_early(paths.KERNEL_NAME, tmp_path, kernel_env(), [other]) is early
    early.stop()


ENV_PROBE = """
import os
with open("/proc/self/environ", "rb") as fh:
    initial = fh.read()
print("store:", os.environ.get("HELPERS_STORE"))
print("url:", "WAREHOUSE_URL" in os.environ, b"hunter2" in initial)
"""


@pytest.mark.parametrize("warm", [True, False], ids=["forked", "papermill"])
def test_a_notebook_gets_the_store_and_no_database_variable(tmp_path, monkeypatch, warm):
    """Notebooks read the validated store; the variables ``sources.yaml`` takes URLs from
    are in neither the kernel's environment nor the environment it was started with."""
    monkeypatch.setenv("HELPERS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://analyst:hunter2@db/warehouse")
    monkeypatch.setattr("helpers.pipeline.run.secret_variables", lambda folder: ["WAREHOUSE_URL"])
    data = make_valid_folder(tmp_path / "data")
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    write_notebook(nbs, "01_env", ENV_PROBE)
    log = tmp_path / "log.txt"
    runner = runner_for(tmp_path, data, nbs, tmp_path / "out", warm=warm)
    assert runner.run() == 0, log.read_text()
    assert ("new Papermill process" in log.read_text()) is False
    executed = nbformat.read(tmp_path / "out" / "notebooks" / "01_env.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert f"store: {runner.store}\n" in printed
    assert runner.store is not None and (runner.store / "meta.json").is_file()
    assert "url: False False\n" in printed
