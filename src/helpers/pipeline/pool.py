"""The runner's side of the warm start: :class:`WarmPool` starts the warm process
(:mod:`helpers.pipeline.zygote`), hands it one notebook at a time from each worker thread and
stops it, and everything it forked, on demand.

The warm process runs the kernel spec's own interpreter with the kernel spec's flags, the
environment the runner gives kernels (one BLAS thread, matplotlib's Agg backend, a fixed hash
seed) and the notebooks' folder as working directory, so that its imports see what a new
kernel's imports would see. It is used only on Linux and only for kernel specs that run
``ipykernel_launcher``; otherwise (or if it cannot start, or finds a thread running after its
imports) :meth:`WarmPool.run` raises :class:`Unavailable` and the runner starts each notebook
as a separate Papermill process, as before.
"""

from __future__ import annotations

import ast
import atexit
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from helpers.pipeline import KERNEL_ENDED, how_it_ended

STOP_WAIT = 5.0  # seconds the warm process gets to stop its notebooks before it is killed


class Unavailable(Exception):
    """The warm process cannot run notebooks; its message says why."""


class Stopped(Exception):
    """The pool was stopped: start nothing more."""


@dataclass
class Ended:
    """How a notebook's process ended: its return code (negative: killed by that signal) and
    what it printed (Papermill's log and the kernel's own messages)."""

    returncode: int
    output: str
    cpu_seconds: float | None = None  # of the notebook's process and its kernel


@dataclass
class _Job:
    id: int
    done: threading.Event = field(default_factory=threading.Event)
    pid: int | None = None
    returncode: int | None = None
    cpu: float | None = None
    note: str = ""


def imported_modules(notebooks: list[Path]) -> list[str]:
    """The modules the notebooks' code cells import at their top level, in order; a name
    imported ``from`` a package is listed as ``?package.name`` (a module if it is one)."""
    names: dict[str, None] = {}
    for nb in notebooks:
        try:
            doc = json.loads(Path(nb).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for cell in doc.get("cells", []):
            if cell.get("cell_type") != "code":
                continue
            source = "".join(cell.get("source", ""))
            lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
            try:
                tree = ast.parse("\n".join(lines))
            except SyntaxError:
                continue
            for node in tree.body:
                if isinstance(node, ast.Import):
                    names.update({a.name: None for a in node.names})
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names[node.module] = None
                    names.update({f"?{node.module}.{a.name}": None for a in node.names})
    return list(names)


def kernel_command(kernel: str) -> tuple[list[str], dict[str, str]]:
    """The interpreter and flags of a kernel spec that runs ``ipykernel_launcher``, and the
    spec's environment; :class:`Unavailable` for any other spec."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel)
    except NoSuchKernel as exc:
        raise Unavailable(f"no kernel named {kernel!r}") from exc
    argv = list(spec.argv)
    if "-m" not in argv or argv[argv.index("-m") + 1 : argv.index("-m") + 2] != [
        "ipykernel_launcher"
    ]:
        raise Unavailable(f"kernel {kernel!r} does not run ipykernel_launcher")
    if spec.metadata.get("kernel_provisioner"):
        raise Unavailable(f"kernel {kernel!r} names its own provisioner")
    python = argv[0]
    major, minor = sys.version_info[:2]
    if python in {"python", f"python{major}", f"python{major}.{minor}"}:
        python = sys.executable  # as jupyter_client does
    return [os.path.expanduser(python), *argv[1 : argv.index("-m")]], dict(spec.env or {})


class WarmPool:
    """One warm process for a run; :meth:`run` is called from several threads at once."""

    def __init__(self, kernel: str, cwd: Path, env: dict[str, str], notebooks: list[Path]):
        self.kernel = kernel
        self.cwd = Path(cwd)
        self.env = dict(env)
        self.notebooks = list(notebooks)
        self.ready: dict[str, Any] | None = None  # the warm process's report once ready
        self._state = "new"  # new, starting, ready, unavailable, stopped
        self._reason = ""
        self._cond = threading.Condition()
        self._write = threading.Lock()
        self._jobs: dict[int, _Job] = {}
        self._ids = itertools.count(1)
        self._proc: subprocess.Popen[bytes] | None = None
        self._errors: IO[bytes] | None = None
        self._logs = Path(tempfile.mkdtemp(prefix="helpers-warm-"))
        self._starter: threading.Thread | None = None
        self._reader: threading.Thread | None = None

    # -- starting --------------------------------------------------------------------------
    def start(self) -> None:
        """Start the warm process in the background (its imports take a few seconds)."""
        with self._cond:
            if self._state != "new":
                return
            self._state = "starting"
        self._starter = threading.Thread(target=self._start, name="warm-start", daemon=True)
        self._starter.start()

    def _start(self) -> None:
        try:
            if not sys.platform.startswith("linux"):
                raise Unavailable("forking a warm process is used on Linux only")
            command, spec_env = kernel_command(self.kernel)
            preload = imported_modules(self.notebooks)
            self._errors = tempfile.TemporaryFile()
            with self._cond:
                if self._state != "starting":  # stopped meanwhile
                    return
                self._proc = subprocess.Popen(
                    [*command, "-m", "helpers.pipeline.zygote"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=self._errors,
                    cwd=self.cwd,
                    env={**self.env, **spec_env},
                    start_new_session=True,
                )
            self._send({"preload": preload})
            self._reader = threading.Thread(target=self._read, name="warm-read", daemon=True)
            self._reader.start()
        except (Unavailable, OSError, ValueError, ImportError) as exc:
            self._unavailable(str(exc) or type(exc).__name__)

    def _unavailable(self, reason: str) -> None:
        with self._cond:
            if self._state in ("new", "starting", "ready"):
                self._state, self._reason = "unavailable", reason
            self._cond.notify_all()

    def _send(self, doc: dict[str, Any]) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        with self._write:
            self._proc.stdin.write((json.dumps(doc) + "\n").encode())
            self._proc.stdin.flush()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            try:
                doc = json.loads(line)
            except ValueError:  # not a reply (a write cut short as the process was stopped)
                continue
            with self._cond:
                if "ready" in doc:
                    self.ready = doc
                    if not doc["ready"]:
                        self._state, self._reason = "unavailable", doc.get("reason", "")
                    elif self._state == "starting":
                        self._state = "ready"
                    self._cond.notify_all()
                    continue
                job = self._jobs.get(doc.get("id", -1))
                if job is None:
                    continue
                if "pid" in doc:
                    job.pid = doc["pid"]
                if "exit" in doc:
                    job.returncode, job.cpu = doc["exit"], doc.get("cpu")
                    job.done.set()
                if "refused" in doc:  # it could not fork
                    job.note = doc["refused"]
                    job.done.set()
        # End of the warm process: whatever still runs has lost its parent.
        with self._cond:
            ended = self._proc.wait()
            if self._state in ("starting", "ready"):
                self._state = "unavailable"
                self._reason = f"the warm process {how_it_ended(ended)}{self._stderr_tail()}"
            for job in self._jobs.values():
                if not job.done.is_set():
                    job.note = (
                        "the run was stopped"
                        if self._state == "stopped"
                        else f"the warm process that forked it {how_it_ended(ended)}"
                    )
                    job.done.set()
            self._cond.notify_all()

    def _stderr_tail(self) -> str:
        if self._errors is None:
            return ""
        try:
            self._errors.seek(0)
            lines = self._errors.read().decode(errors="replace").strip().splitlines()
        except (OSError, ValueError):
            return ""
        return (": " + " | ".join(lines[-3:])) if lines else ""

    # -- running ---------------------------------------------------------------------------
    def run(
        self,
        notebook: Path,
        output: Path,
        parameters_file: Path,
        *,
        cwd: Path,
        start_timeout: int = 120,
        env: dict[str, str] | None = None,
    ) -> Ended:
        """Run one notebook as ``papermill NOTEBOOK OUTPUT -f PARAMETERS_FILE -k KERNEL --cwd
        CWD --no-progress-bar --start-timeout START_TIMEOUT`` would, with ``env`` added to
        the environment; block until it ends."""
        with self._cond:
            self._cond.wait_for(lambda: self._state not in ("new", "starting"))
            if self._state == "stopped":
                raise Stopped
            if self._state == "unavailable":
                raise Unavailable(self._reason)
            job = _Job(next(self._ids))
            self._jobs[job.id] = job
        log = self._logs / f"{job.id}.log"
        request = {
            "op": "run",
            "id": job.id,
            "notebook": str(notebook),
            "output": str(output),
            "parameters_file": str(parameters_file),
            "kernel": self.kernel,
            "cwd": str(cwd),
            "start_timeout": start_timeout,
            "log": str(log),
            "client_cwd": os.getcwd(),  # where the papermill command would have run
            "env": dict(env or {}),  # added to the warm process's environment
        }
        try:
            self._send(request)
        except (OSError, ValueError):  # the warm process is gone (stopped or died)
            job.done.wait(STOP_WAIT)
            with self._cond:
                self._jobs.pop(job.id, None)
                if self._state == "stopped":
                    raise Stopped from None
                raise Unavailable(self._reason or "the warm process ended") from None
        job.done.wait()
        with self._cond:
            self._jobs.pop(job.id, None)
        if job.pid is None and job.returncode is None:  # never forked
            with self._cond:
                if self._state == "stopped":
                    raise Stopped
            raise Unavailable(job.note or self._reason or "the warm process ended")
        try:
            output_text = log.read_text(encoding="utf-8", errors="replace")
            log.unlink()
        except OSError:
            output_text = ""
        if job.note:
            output_text += f"\n{job.note}\n"
        code = -signal.SIGKILL if job.returncode is None else job.returncode
        return Ended(code, output_text, job.cpu)

    # -- stopping --------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop every running notebook and the warm process, at once; idempotent."""
        with self._cond:
            if self._state == "stopped":
                return
            self._state = "stopped"
            self._cond.notify_all()
            running = [j.pid for j in self._jobs.values() if j.pid and not j.done.is_set()]
            proc = self._proc
        for pid in running:  # at once, whatever the warm process is doing
            try:
                os.killpg(pid, signal.SIGTERM)
            except OSError:
                pass
        if proc is not None:
            try:
                proc.send_signal(signal.SIGTERM)
            except OSError:
                pass
            try:
                proc.wait(STOP_WAIT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._starter is not None:  # first: it may be about to start the reader
            self._starter.join()
        if self._reader is not None:
            self._reader.join()
        for job in list(self._jobs.values()):
            job.note = job.note or "the run was stopped"
            job.done.set()
        for stream in (proc.stdin, proc.stdout) if proc is not None else ():
            try:
                stream.close()  # type: ignore[union-attr]
            except OSError:
                pass
        if self._errors is not None:
            self._errors.close()
        shutil.rmtree(self._logs, ignore_errors=True)


def describe_crash(executed: Path, output: str, returncode: int) -> str | None:
    """Name the cell that was running when the kernel or the notebook's process died, and how
    it ended; ``None`` when the executed notebook holds an error (a cell raised: the runner's
    ``describe_failure`` names it) or nothing points at a crash."""
    doc: dict[str, Any] = {}
    if executed.exists():
        try:
            doc = json.loads(executed.read_text(encoding="utf-8"))
        except ValueError:
            doc = {}
    added = {"injected-parameters", "papermill-error-cell-tag"}
    cells = [
        c for c in doc.get("cells", []) if not added & set(c.get("metadata", {}).get("tags", []))
    ]
    for cell in cells:
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return None
    kernel = re.search(rf"^{re.escape(KERNEL_ENDED)} (-?\d+)\s*$", output, flags=re.M)
    died = "DeadKernelError" in output or returncode == 138 or kernel is not None
    if kernel is not None:
        how = f"the kernel {how_it_ended(int(kernel.group(1)))}"
    elif died:
        how = "the kernel died"
    elif returncode < 0:
        how = f"the notebook's Papermill process {how_it_ended(returncode)}"
    else:
        return None
    # The cell that was running: still marked so if the notebook's process was killed; if the
    # kernel died, Papermill closed it (status "completed") and started no other.
    started = [
        (i, c)
        for i, c in enumerate(cells, start=1)
        if c.get("metadata", {}).get("papermill", {}).get("start_time")
    ]
    running = [(i, c) for i, c in started if c["metadata"]["papermill"].get("status") == "running"]
    if not running and died:
        running = started[-1:]
    if running:
        i, cell = running[-1]
        first = "".join(cell.get("source", "")).strip().splitlines()[:1]
        return f"cell {i} ({first[0][:60] if first else 'empty'}): {how}"
    stage = "before the first cell ran" if doc else "before the notebook was written"
    return f"{how} {stage}"


# -- started early ---------------------------------------------------------------------------

_early: WarmPool | None = None


def start_early(argv: list[str], kernel: str, default_notebooks: Path, default_data: Path) -> None:
    """Start the warm process for ``python -m helpers.pipeline ARGV`` before the runner imports
    its own modules (which takes seconds): the runner adopts it if its notebooks, kernel and
    environment turn out as guessed here, and stops it otherwise."""
    import argparse

    global _early
    ap = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    ap.add_argument("--notebooks", default=str(default_notebooks))
    ap.add_argument("--data", default=str(default_data))
    ap.add_argument("--no-warm", action="store_true")
    ap.add_argument("-h", "--help", action="store_true")
    args, _ = ap.parse_known_args(argv)
    folder = Path(args.notebooks)
    notebooks = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if args.no_warm or args.help or not notebooks:
        return
    from helpers.data.sources import secret_variables
    from helpers.pipeline import kernel_env

    try:
        env = kernel_env(without=secret_variables(Path(args.data)))
    except Exception:  # noqa: BLE001 - a broken sources.yaml: validation will say why
        return
    _early = WarmPool(kernel, folder, env, notebooks)
    _early.start()
    atexit.register(discard_early)


def adopt_early(
    kernel: str, cwd: Path, env: dict[str, str], notebooks: list[Path]
) -> WarmPool | None:
    """The pool :func:`start_early` started, if it was started for this kernel, folder and
    environment and for (at least) these notebooks."""
    global _early
    pool, _early = _early, None
    if pool is None:
        return None
    same = (pool.kernel, pool.cwd, pool.env) == (kernel, Path(cwd), dict(env))
    if same and set(notebooks) <= set(pool.notebooks):
        return pool
    pool.stop()
    return None


def discard_early() -> None:
    """Stop the early pool if nothing adopted it."""
    global _early
    pool, _early = _early, None
    if pool is not None:
        pool.stop()
