"""The warm process: ``python -m helpers.pipeline.zygote``, started by
:class:`helpers.pipeline.pool.WarmPool` with the interpreter, flags, environment and working
directory of the notebooks' kernel.

It speaks JSON lines: requests on standard input, replies on the standard output it was
started with (its file descriptor 1 is then pointed at standard error, so that nothing an
import prints can garble a reply).

1. The first request names the modules to import: ``{"preload": [...]}``. It imports them, checks
   that no thread runs (a fork copies only the calling thread: a lock held by another thread
   would stay locked forever in the copy), and replies ``{"ready": true, ...}`` or
   ``{"ready": false, "reason": ...}``.
2. ``{"op": "run", "id": 1, ...}`` forks a process for one notebook and replies
   ``{"id": 1, "pid": ...}``; when that process ends, ``{"id": 1, "exit": code, "cpu": s}``
   (negative: killed by that signal; CPU seconds with its kernel's). The process leads a
   process group of its own, and its kernel dies with it, so one ``killpg`` stops both.
3. ``{"op": "stop"}``, end of input or SIGTERM: stop every running notebook and exit.

Nothing here runs notebook code: that happens in the kernels, two forks down.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import json
import os
import selectors
import signal
import sys
import threading
import time
import traceback
import warnings
from typing import Any

from helpers.pipeline import KERNEL_ENDED

# What every kernel imports as it starts, whatever the notebooks import.
KERNEL = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",
    "sqlite3",
    "IPython",
    "IPython.core.interactiveshell",
)
# What the notebook's process (Papermill, the client) imports; imported last, and the warning
# filters these imports add are taken out again in the kernels (see helpers.pipeline.kernel).
CLIENT = (
    "papermill.execute",
    "papermill.engines",
    "papermill.iorw",
    "papermill.translators",
    "papermill.clientwrap",
    "nbclient",
    "jupyter_client.manager",
    "jupyter_client.kernelspec",
    "helpers.pipeline.kernel",
)
# What the analyses import only once they run: Parquet through pyarrow's datasets, figures
# through matplotlib's Agg and SVG backends and Pillow, tables through pandas' writers, and
# the package's own report helpers. (A name that does not import is skipped.)
AT_RUN_TIME = (
    "pyarrow.dataset",
    "pyarrow.pandas_compat",
    "pandas.io.formats.csvs",
    "pandas.io.formats.html",
    "matplotlib.backends.backend_agg",
    "matplotlib.backends.backend_svg",
    "PIL.PngImagePlugin",
    "PIL.JpegImagePlugin",
    "PIL.GifImagePlugin",
    "PIL.BmpImagePlugin",
    "PIL.PpmImagePlugin",
    "helpers.report.content",
    "helpers.pipeline.manifest",
)
# Threads that are known to survive a fork: pyarrow's jemalloc stops its background thread
# in its own fork handlers, and the copy starts with none.
FORK_SAFE_THREADS = ("jemalloc_bg_thd",)
_PR_SET_CHILD_SUBREAPER = 36


class Stop(BaseException):
    """SIGTERM: stop the notebooks and exit (a BaseException, so that no ``except Exception``,
    such as the one around each import while warming, can swallow it)."""


def _on_term(signum: int, frame: Any) -> None:
    raise Stop


def warm(kernel_side: list[str], client_side: list[str]) -> dict[str, Any]:
    """Import the kernel's modules, note the warning filters, then import the client's; report
    what was imported and whether forking is safe.

    ``?package.name`` is imported only if it is a submodule, as ``from package import name``
    would; a module that fails to import is left to fail again in the notebook, which reports
    it as the plain papermill command would.
    """
    start = time.perf_counter()
    gc.disable()  # no collections (and no holes in the pages the forks share) while importing
    failed = _import(kernel_side)
    kernel_filters = list(warnings.filters)
    failed += _import(client_side)
    sys.modules["helpers.pipeline.kernel"].KERNEL_WARNING_FILTERS = kernel_filters
    # What is imported now stays for every fork: the collector leaves it alone, so that the
    # forks' collections do not write to (and so copy) every page of it.
    gc.collect()
    gc.freeze()
    gc.enable()
    threads = running_threads()
    unsafe = [t for t in threads if t not in FORK_SAFE_THREADS]
    reply: dict[str, Any] = {
        "ready": not unsafe,
        "seconds": round(time.perf_counter() - start, 2),
        "modules": len(sys.modules),
        "failed": failed,
        "threads": threads,
    }
    if unsafe:
        reply["reason"] = (
            f"threads running after the imports ({', '.join(unsafe)}); forking is not safe"
        )
    return reply


def _import(modules: list[str]) -> list[str]:
    failed = []
    for name in modules:
        if name.startswith("?"):
            package, _, attr = name[1:].rpartition(".")
            parent = sys.modules.get(package)
            if parent is None or not hasattr(parent, "__path__") or hasattr(parent, attr):
                continue  # not a package, or the name is already there (a module or not)
            name = name[1:]
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - the notebook will meet the same error itself
            if not modules_optional(name, exc):
                failed.append(f"{name}: {type(exc).__name__}: {exc}")
    return failed


def modules_optional(name: str, exc: Exception) -> bool:
    """An ``from package import name`` of something that is not a submodule."""
    return isinstance(exc, ModuleNotFoundError) and exc.name == name


def running_threads() -> list[str]:
    """Names of this process's threads other than the main one (from /proc where it exists)."""
    python = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    try:
        tids = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        return python
    native = []
    for tid in tids:
        if tid == os.getpid():
            continue
        try:
            with open(f"/proc/self/task/{tid}/comm") as fh:
                native.append(fh.read().strip())
        except OSError:
            continue
    return native if len(native) >= len(python) else python


def notebook_process(job: dict[str, Any], close: list[int]) -> None:
    """In the forked notebook process: run Papermill on one notebook; never return."""
    code = 1
    try:
        os.setsid()  # a process group of its own, shared with its kernel
        os.environ.update(job.get("env") or {})  # before the spare kernel is forked
        from helpers.pipeline import kernel

        kernel.die_with_parent()
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        for fd in close:
            os.close(fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        kernel.prepare_spare()  # now, while this process is still the warm one
        os.chdir(job.get("client_cwd") or os.getcwd())
        code = run_papermill(job)
    except BaseException:  # noqa: BLE001 - whatever happens, this process must not return
        traceback.print_exc()
    finally:
        try:
            spare = sys.modules["helpers.pipeline.kernel"].spare()
            if spare is not None:
                spare.discard()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def run_papermill(job: dict[str, Any]) -> int:
    """What ``papermill NOTEBOOK OUTPUT -f PARAMS -k KERNEL --cwd CWD --no-progress-bar
    --start-timeout T`` does, with the kernel forked from this process."""
    import logging

    import nbclient
    from papermill.execute import execute_notebook
    from papermill.iorw import read_yaml_file

    from helpers.pipeline import kernel

    logging.basicConfig(level="INFO", format="%(message)s")
    parameters: dict[str, Any] = {}
    parameters.update(read_yaml_file(job["parameters_file"]) or {})
    try:
        execute_notebook(
            input_path=job["notebook"],
            output_path=job["output"],
            parameters=parameters,
            engine_name=None,
            request_save_on_cell_execute=True,
            autosave_cell_every=30,
            prepare_only=False,
            kernel_name=job["kernel"],
            language=None,
            progress_bar=False,
            log_output=False,
            stdout_file=None,
            stderr_file=None,
            start_timeout=job.get("start_timeout", 60),
            report_mode=False,
            cwd=job["cwd"],
            execution_timeout=None,
            kernel_manager_class=kernel.ForkingKernelManager,
        )
    except nbclient.exceptions.DeadKernelError:
        traceback.print_exc()
        spare = kernel.spare()
        if spare is not None and spare.launched:
            print(f"{KERNEL_ENDED} {spare.wait()}", flush=True)
        return 138  # as the papermill command
    except Exception:  # noqa: BLE001 - the papermill command prints it and exits 1
        traceback.print_exc()
        return 1
    return 0


class Zygote:
    def __init__(self, reply_fd: int) -> None:
        self.reply_fd = reply_fd
        self.children: dict[int, Any] = {}  # pid -> job id
        self.selector: selectors.BaseSelector | None = None
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        os.set_blocking(self.wake_r, False)

    def reply(self, doc: dict[str, Any]) -> None:
        data = memoryview((json.dumps(doc) + "\n").encode())
        while data:
            data = data[os.write(self.reply_fd, data) :]

    def serve(self, pending: bytes = b"") -> None:
        signal.signal(signal.SIGCHLD, lambda s, f: None)
        signal.set_wakeup_fd(self.wake_w)
        self.selector = sel = selectors.DefaultSelector()
        sel.register(0, selectors.EVENT_READ)
        sel.register(self.wake_r, selectors.EVENT_READ)
        while True:
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if line.strip():
                    request = json.loads(line)
                    if request.get("op") == "stop":
                        return
                    if request.get("op") == "run":
                        self.start(request)
            for key, _ in sel.select():
                if key.fd == self.wake_r:
                    try:
                        while os.read(self.wake_r, 512):
                            pass
                    except BlockingIOError:
                        pass
                    continue
                chunk = os.read(0, 1 << 16)
                if not chunk:
                    return
                pending += chunk
            self.reap()

    def start(self, job: dict[str, Any]) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as exc:
            self.reply({"id": job["id"], "refused": f"could not fork: {exc}"})
            return
        if pid == 0:
            fds = [self.reply_fd, self.wake_r, self.wake_w]
            notebook_process(job, fds + ([self.selector.fileno()] if self.selector else []))
        self.children[pid] = job["id"]
        self.reply({"id": job["id"], "pid": pid})

    def reap(self) -> None:
        """Report every notebook process that ended; kill what is left of its group first."""
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None or info.si_pid == 0:
                return
            pid = info.si_pid
            if pid in self.children:
                _killpg(pid, signal.SIGKILL)  # its kernel, if the notebook process crashed
            try:
                _, status, usage = os.wait4(pid, 0)
            except ChildProcessError:
                continue
            job = self.children.pop(pid, None)
            if job is not None:  # (else an orphaned kernel handed to this subreaper)
                cpu = round(usage.ru_utime + usage.ru_stime, 3)  # with its kernel's
                self.reply({"id": job, "exit": os.waitstatus_to_exitcode(status), "cpu": cpu})

    def stop(self) -> None:
        """Stop every running notebook (and its kernel) at once; reap them."""
        for pid in list(self.children):
            _killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 3
        while self.children and time.monotonic() < deadline:
            self.reap()
            time.sleep(0.02)
        for pid in list(self.children):
            _killpg(pid, signal.SIGKILL)
        self.reap()
        # Their kernels (and anything a notebook left running) were handed to this process
        # when their parents ended: end and reap them too, so that nothing outlives the run.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                for orphan in _children():
                    try:
                        os.kill(orphan, signal.SIGKILL)
                    except OSError:
                        pass
                time.sleep(0.02)


def _children() -> list[int]:
    """This process's children, from /proc."""
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == os.getpid():
                        found.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except OSError:
        pass


def as_a_kernel_would() -> None:
    """Make this process's imports see what a kernel's see."""
    # As the papermill command does before it starts a kernel.
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # Papermill's import compiles a grammar nothing uses (see helpers.pipeline.execute).
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]
    # As ipykernel_launcher: the working directory is not on sys.path while modules are
    # imported (IPython puts '' back when the kernel starts).
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]


def main() -> int:
    as_a_kernel_would()
    reply_fd = os.dup(1)
    os.dup2(2, 1)
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner stops us; Ctrl-C is its job
    if sys.platform.startswith("linux"):  # orphaned kernels are reparented here and reaped
        try:
            ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    zygote = Zygote(reply_fd)
    try:
        first = b""
        while b"\n" not in first:
            chunk = os.read(0, 1 << 16)
            if not chunk:
                return 0
            first += chunk
        line, rest = first.split(b"\n", 1)
        preload = json.loads(line).get("preload", [])
        report = warm([*KERNEL, *preload, *AT_RUN_TIME], list(CLIENT))
        zygote.reply(report)
        if not report["ready"]:
            return 0
        zygote.serve(rest)
    except Stop:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        zygote.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
