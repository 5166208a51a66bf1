"""Plan the run, run the notebooks and reuse their cached results.

:class:`Runner` validates the data (nothing runs on bad data), runs the notebooks two at a
time on the project's kernel, reuses a notebook's cached result when none of its inputs
changed, and hands the results to :mod:`helpers.pipeline.publish`, which writes
``findings.json`` and ``manifest.json``; it builds the report, and only then replaces ``OUT``.
On any failure ``OUT`` is left exactly as it was. The command is :mod:`helpers.pipeline.cli`.

Each notebook runs as the ``papermill`` command runs it, in a process and kernel of its own;
both are forked from a warm process that imported Papermill, the kernel and the notebooks'
modules once (:mod:`helpers.pipeline.pool`), or, with ``warm=False`` or where that cannot be
used, started afresh.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from helpers import paths
from helpers.data import STORE_VARIABLE, DataError, cache_root, open_dataset
from helpers.data.sources import secret_variables
from helpers.pipeline import RunError, cache, kernel_env, params
from helpers.pipeline.publish import OutputLock, assemble, publish

# A kernel that has not answered within this time never will: when many kernels start at once,
# two can be given the same port, and the one that loses the race waits forever (a known race of
# Jupyter's port choice). Such a notebook is started again, with a new kernel.
KERNEL_START_SECONDS = 60
KERNEL_START_ATTEMPTS = 3
KERNEL_NOT_STARTED = ("Kernel didn't respond in", "Kernel died before replying to kernel_info")


@dataclass
class NotebookRun:
    notebook: Path
    params: dict[str, Any]
    effective: dict[str, Any] = field(default_factory=dict)
    key: str = ""
    seconds: float = 0.0
    cached: bool = False
    error: str | None = None
    executed: Path | None = None
    result_dir: Path | None = None


@dataclass
class Runner:
    data_dir: Path
    out_dir: Path
    params_file: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    jobs: int = 2
    force: bool = False
    report: bool = True
    require_findings: bool = True
    notebook_dir: Path = paths.NOTEBOOKS
    cache_dir: Path = field(default_factory=cache_root)
    kernel: str = paths.KERNEL_NAME
    log: Any = field(default_factory=lambda: sys.stdout)
    warm: bool = True  # fork notebooks from a warm process (helpers.pipeline) where possible
    _procs: list[subprocess.Popen] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: bool = False
    store: Path | None = None
    secrets: list[str] = field(default_factory=list)
    _pool: Any = None  # the warm process (helpers.pipeline.pool.WarmPool), if any
    _cold_reason: str | None = None

    def say(self, text: str) -> None:
        with self._lock:
            print(text, file=self.log, flush=True)

    # -- preparation -------------------------------------------------------------------
    def plan(self) -> list[NotebookRun]:
        """Check paths and parameters before anything runs."""
        if not self.data_dir.is_dir():
            raise RunError(f"data folder not found: {self.data_dir}")
        out, data = self.out_dir.resolve(), self.data_dir.resolve()
        if out == data or data in out.parents:
            raise RunError(f"OUT ({self.out_dir}) must not be inside the data folder")
        if out == paths.ROOT or out in paths.ROOT.parents:
            raise RunError(f"OUT ({self.out_dir}) must not be the project folder or above it")
        if self.jobs < 1:
            raise RunError("jobs must be at least 1")
        doc = params.read_file(self.params_file)
        overrides = {**doc["all"], **self.overrides}
        for name in params.RUNNER_PARAMS:
            if name in overrides:
                raise RunError(f"parameter {name!r} is set by the runner (use DATA= and OUT=)")
        nbs = params.notebooks(self.notebook_dir)
        if not nbs:
            raise RunError(f"no notebooks found in {self.notebook_dir}")
        unknown = sorted(set(doc["notebooks"]) - {nb.stem for nb in nbs})
        if unknown:
            raise RunError(f"params file names unknown notebook(s): {', '.join(unknown)}")
        runs = []
        for nb in nbs:
            chosen = params.for_notebook(nb, overrides, doc["notebooks"])
            defaults = {
                k: v for k, v in params.declared(nb).items() if k not in params.RUNNER_PARAMS
            }
            runs.append(NotebookRun(nb, chosen, effective={**defaults, **chosen}))
        return runs

    # -- one notebook ------------------------------------------------------------------
    def _execute(self, run: NotebookRun, result: Path) -> None:
        tmp = result.with_name(f"{result.name}.tmp-{os.getpid()}-{threading.get_ident()}")
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / "notebooks").mkdir(parents=True)
        executed = tmp / "notebooks" / run.notebook.name
        param_file = tmp / "parameters.yaml"
        full = {**run.params, "data_dir": str(self.data_dir.resolve()), "out_dir": str(tmp)}
        param_file.write_text(yaml.safe_dump(full, sort_keys=True), encoding="utf-8")
        for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
            ended = self._attempt(run, executed, param_file)
            if ended is None:
                run.error = "not started: the run was stopped"
                run.result_dir = tmp
                return
            returncode, output = ended
            if returncode == 0 or self._stopping or not kernel_never_started(output, executed):
                break
            if attempt < KERNEL_START_ATTEMPTS:
                self.say(f"  {run.notebook.stem:<24} its kernel did not start; starting another")
                executed.unlink(missing_ok=True)
        if returncode != 0:
            from helpers.pipeline.pool import describe_crash

            run.executed = executed if executed.exists() else None
            run.error = describe_crash(executed, output, returncode) or describe_failure(
                executed, output
            )
            run.result_dir = tmp
            return
        param_file.unlink()
        shutil.rmtree(result, ignore_errors=True)
        tmp.rename(result)

    def _attempt(
        self, run: NotebookRun, executed: Path, param_file: Path
    ) -> tuple[int, str] | None:
        """Run the notebook once: forked from the warm process if there is one, else as a new
        Papermill process; its return code and output, or ``None`` if the run was stopped
        before it started."""
        if self._pool is not None:
            from helpers.pipeline.pool import Stopped, Unavailable

            try:
                ended = self._pool.run(
                    run.notebook,
                    executed,
                    param_file,
                    cwd=run.notebook.parent,
                    start_timeout=KERNEL_START_SECONDS,
                    env=self._notebook_env(),
                )
                return ended.returncode, ended.output
            except Stopped:
                return None
            except Unavailable as exc:
                with self._lock:
                    first, self._cold_reason = self._cold_reason is None, str(exc)
                if first:
                    self.say(f"  (each notebook starts a new Papermill process: {exc})")
        cmd = [
            sys.executable,
            "-m",
            "helpers.pipeline.execute",
            str(run.notebook),
            str(executed),
            "-f",
            str(param_file),
            "-k",
            self.kernel,
            "--cwd",
            str(run.notebook.parent),
            "--no-progress-bar",
            "--start-timeout",
            str(KERNEL_START_SECONDS),
        ]
        return self._papermill(cmd, {**self._kernel_env(), **self._notebook_env()})

    def _papermill(self, cmd: list[str], env: dict[str, str]) -> tuple[int, str]:
        """Run one Papermill process in its own session (so that a stop reaches its kernel)."""
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,
        )
        with self._lock:
            self._procs.append(proc)
            if self._stopping:  # stopped while this one was starting
                os.killpg(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate()
        with self._lock:
            self._procs.remove(proc)
        return proc.returncode, output

    def _kernel_env(self) -> dict[str, str]:
        """The environment of Papermill and the kernel (and of the warm process), without the
        variables ``sources.yaml`` takes database URLs from: notebooks read the store
        validated here and never connect to a database."""
        return kernel_env(without=self.secrets)

    def _notebook_env(self) -> dict[str, str]:
        """What one notebook's process adds to :meth:`_kernel_env`: the validated store."""
        return {STORE_VARIABLE: str(self.store)}

    def locate(self, run: NotebookRun, data_key: str, code_key: str, env_key: str) -> None:
        """Set the run's cache key and the folder of its result."""
        run.key = cache.notebook_key(run.notebook, run.params, data_key, code_key, env_key)
        run.result_dir = self.cache_dir / "runs" / run.notebook.stem / run.key

    def reusable(self, run: NotebookRun) -> bool:
        """Whether the located run's cached result is reused (unless ``force``)."""
        assert run.result_dir is not None
        return not self.force and (run.result_dir / "run.json").exists()

    def run_one(self, run: NotebookRun) -> None:
        """Reuse the located run's cached result, or run the notebook and cache it."""
        result = run.result_dir
        assert result is not None
        meta = result / "run.json"
        if self.reusable(run):
            run.cached = True
            run.seconds = json.loads(meta.read_text())["seconds"]
            self.say(f"  {run.notebook.stem:<24} unchanged, reused ({run.seconds:.1f} s before)")
            return
        with self._lock:
            if self._stopping:
                run.error = "not started: the run was stopped"
                return
        self.say(f"  {run.notebook.stem:<24} running…")
        start = time.perf_counter()
        self._execute(run, result)
        run.seconds = round(time.perf_counter() - start, 2)
        if run.error:
            self.say(f"  {run.notebook.stem:<24} FAILED after {run.seconds:.1f} s")
            return
        meta.write_text(json.dumps({"seconds": run.seconds, "params": run.params}) + "\n")
        self.say(f"  {run.notebook.stem:<24} done in {run.seconds:.1f} s")

    # -- the whole run -----------------------------------------------------------------
    def run(self) -> int:
        try:
            runs = self.plan()
        except (RunError, params.ParameterError) as exc:
            self.say(f"error: {exc}\nNothing was run; {self.out_dir} is unchanged.")
            return 2
        try:
            lock = OutputLock(self.out_dir)
        except RunError as exc:
            self.say(f"error: {exc}\nNothing was run; {self.out_dir} is unchanged.")
            return 2
        try:
            return self._run(runs)
        finally:
            lock.release()

    def _run(self, runs: list[NotebookRun]) -> int:
        try:
            return self._run_all(runs)
        finally:
            self._stop_pool()

    def _start_pool(self, runs: list[NotebookRun]) -> None:
        """Start the warm process (or adopt the one started early, see
        :func:`helpers.pipeline.pool.start_early`), after validation and only if a notebook
        is to run: a run that stops on bad data or reuses every result pays nothing for it."""
        self._pool, self._cold_reason = None, None
        if not self.warm or not runs:
            return
        from helpers.pipeline.pool import WarmPool, adopt_early

        notebooks = [r.notebook for r in runs]
        spec = (self.kernel, runs[0].notebook.parent, self._kernel_env(), notebooks)
        self._pool = adopt_early(*spec) or WarmPool(*spec)
        self._pool.start()

    def _stop_pool(self) -> None:
        """Stop the warm process and whatever it still runs (at once)."""
        if self._pool is not None:
            self._pool.stop()

    def _run_all(self, runs: list[NotebookRun]) -> int:
        self.say(f"Validating {self.data_dir} …")
        try:
            dataset = open_dataset(self.data_dir)
        except DataError as exc:
            self.say(str(exc))
            self.say(f"Nothing was run; {self.out_dir} is unchanged.")
            return 2
        self.store = dataset.store
        self.secrets = secret_variables(self.data_dir)
        data_key = cache.data_hash(dataset.inputs)
        code_key = cache.tree_hash(paths.PACKAGE)
        env_key = cache.environment_hash()
        build = self.out_dir.parent / f".{self.out_dir.name}-partial-{os.getpid()}"
        shutil.rmtree(build, ignore_errors=True)
        build.mkdir(parents=True)
        for r in runs:
            self.locate(r, data_key, code_key, env_key)
        self._start_pool([r for r in runs if not self.reusable(r)])
        self.say(f"Running {len(runs)} notebooks ({self.jobs} at a time) …")
        pool = ThreadPoolExecutor(max_workers=self.jobs)
        try:
            order = longest_first(runs, self.out_dir / "manifest.json")
            list(pool.map(self.run_one, order))
            pool.shutdown()
            self._stop_pool()  # its memory back before the report
            failed = [r for r in runs if r.error]
            if failed:
                for r in failed:
                    kept = None
                    if r.executed is not None:
                        kept = build / "notebooks" / r.notebook.name
                        kept.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(r.executed, kept)
                    self.say(f"\n{r.notebook.name} failed: {r.error}")
                    if kept:
                        self.say(f"The executed notebook is saved at {kept}")
                    if r.result_dir:
                        shutil.rmtree(r.result_dir, ignore_errors=True)
                self.say(
                    f"\n{len(failed)} notebook(s) failed; {self.out_dir} is unchanged. "
                    f"Partial work: {build} (remove it with: rm -rf '{build}')"
                )
                return 1
            assemble(build, runs, dataset, self.data_dir, require_findings=self.require_findings)
            if self.report:
                self.say("Building the report …")
                from helpers import report

                built = report.build(build, cache_dir=self.cache_dir / "report")
                for warning in built["warnings"]:
                    self.say(f"  {built['engine']}: {warning}")
            publish(build, self.out_dir)
        except KeyboardInterrupt:
            self.stop_children(pool)
            self.say(
                f"\nInterrupted; {self.out_dir} is unchanged. Partial work: {build} "
                f"(remove it with: rm -rf '{build}')"
            )
            return 130
        except Exception as exc:
            self.stop_children(pool)
            from helpers.report import ReportError

            if not isinstance(exc, RunError | ReportError):
                traceback.print_exc(file=self.log)
            self.say(
                f"\nerror: {exc}\n{self.out_dir} is unchanged. Partial work: {build} "
                f"(remove it with: rm -rf '{build}')"
            )
            return 1
        self.say(f"Done: {self.out_dir}")
        return 0

    def stop_children(self, pool: ThreadPoolExecutor) -> None:
        """Start no further notebook, stop the running ones and wait for their threads."""
        with self._lock:
            self._stopping = True
            for proc in self._procs:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except (ProcessLookupError, PermissionError):
                    pass
        self._stop_pool()
        pool.shutdown(wait=True, cancel_futures=True)


def longest_first(runs: list[NotebookRun], manifest_path: Path) -> list[NotebookRun]:
    """The order to start the notebooks in: the longest first, by the seconds the last
    published run recorded (``manifest.json`` in ``OUT``), so that no long notebook starts
    last and leaves the other workers idle; notebooks it does not know first of all, then in
    their own order.

    Examples
    --------
    >>> runs = [NotebookRun(Path(f"0{i}_x.ipynb"), {}) for i in (1, 2, 3)]
    >>> [r.notebook.name for r in longest_first(runs, Path("/nonexistent"))]
    ['01_x.ipynb', '02_x.ipynb', '03_x.ipynb']
    """
    try:
        doc = json.loads(manifest_path.read_text(encoding="utf-8"))
        seconds = {nb["notebook"]: float(nb["seconds"]) for nb in doc["notebooks"]}
    except (OSError, ValueError, KeyError, TypeError):
        seconds = {}
    return sorted(runs, key=lambda r: -seconds.get(r.notebook.name, float("inf")))


def kernel_never_started(output: str, executed: Path) -> bool:
    """Whether Papermill failed because its kernel never answered: it says so, and no cell of
    the executed notebook ran.

    Examples
    --------
    >>> kernel_never_started("RuntimeError: Kernel didn't respond in 60 seconds", Path("-"))
    True
    >>> kernel_never_started("ZeroDivisionError: division by zero", Path("-"))
    False
    """
    if not any(text in output for text in KERNEL_NOT_STARTED):
        return False
    if not executed.is_file():
        return True
    doc = json.loads(executed.read_text(encoding="utf-8"))
    return not any(c.get("execution_count") for c in doc.get("cells", []))


def describe_failure(executed: Path, output: str) -> str:
    """Name the failing cell and its error from the executed notebook (or Papermill's output)."""
    if executed.exists():
        doc = json.loads(executed.read_text(encoding="utf-8"))
        # Number cells as in the source notebook: skip the cells Papermill adds.
        added = {"injected-parameters", "papermill-error-cell-tag"}
        cells = [
            c
            for c in doc.get("cells", [])
            if not added & set(c.get("metadata", {}).get("tags", []))
        ]
        for i, cell in enumerate(cells, start=1):
            for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
                if out.get("output_type") == "error":
                    first = "".join(cell.get("source", "")).strip().splitlines()[:1]
                    return (
                        f"cell {i} ({first[0][:60] if first else 'empty'}) raised "
                        f"{out.get('ename')}: {out.get('evalue')}"
                    )
    tail = [line for line in output.strip().splitlines() if line.strip()][-3:]
    return "papermill failed: " + " | ".join(tail)
