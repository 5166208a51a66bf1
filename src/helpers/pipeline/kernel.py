"""A notebook's kernel forked from the warm process instead of started as a new Python.

The notebook's process (forked from the warm process, see :mod:`helpers.pipeline.zygote`)
forks a *spare* before it does anything else: a copy of the warm process that waits on a pipe.
When Papermill starts the kernel, :class:`ForkingKernelManager` gives it the spare instead of
a new process: the spare receives the command line, environment and working directory that
``jupyter_client`` would have launched ``python -m ipykernel_launcher`` with, and becomes that
kernel (``IPKernelApp``, the same class ``ipykernel_launcher`` runs). The client talks to it
over ZeroMQ exactly as to any kernel; only the ~3 s of imports are gone.

Anything this cannot reproduce falls back to jupyter_client's own launch: a kernel spec that is
not ``ipykernel_launcher`` on this very interpreter with these interpreter flags, or one that
names its own provisioner.
"""

from __future__ import annotations

import atexit
import ctypes
import importlib.util
import json
import os
import random
import signal
import sys
import time
import traceback
from queue import Empty
from typing import Any

from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning.local_provisioner import LocalProvisioner
from traitlets import DottedObjectName, Type

LAUNCHER = "ipykernel_launcher"
_PR_SET_PDEATHSIG = 1

# The interpreter flags this process was started with (``-Xfrozen_modules=off`` ...): a kernel
# spec asking for other flags gets a real new process.
_FLAGS = list(sys.orig_argv[1 : sys.orig_argv.index("-m")]) if "-m" in sys.orig_argv else []
_spare: SpareKernel | None = None
# The warning filters before the client's modules were imported (set by the warm process).
KERNEL_WARNING_FILTERS: list[Any] | None = None


def die_with_parent() -> None:
    """Ask Linux to kill this process when its parent ends (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent ended before the request took effect
        os._exit(1)


class SpareKernel:
    """A forked copy of this process that waits to become the kernel.

    Also what :class:`LocalProvisioner` expects of a ``Popen``: ``pid``, ``poll``, ``wait``,
    ``send_signal``, ``terminate``, ``kill`` and (empty) standard streams.
    """

    stdin = stdout = stderr = None

    def __init__(self) -> None:
        read, write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the spare: never returns
            os.close(write)
            _await_launch(read)
        os.close(read)
        self.pid = pid
        self.returncode: int | None = None
        self._pipe: int | None = write
        self.launched = False

    def launch(self, args: list[str], env: dict[str, str], cwd: str, orig_argv: list[str]) -> None:
        """Hand the spare its kernel command line, environment and working directory."""
        data = json.dumps({"args": args, "env": env, "cwd": cwd, "orig_argv": orig_argv}).encode()
        assert self._pipe is not None
        view = memoryview(data)
        while view:
            view = view[os.write(self._pipe, view) :]
        os.close(self._pipe)
        self._pipe = None
        self.launched = True

    def discard(self) -> None:
        """An unused spare exits when its pipe closes; reap it."""
        if self._pipe is not None:
            os.close(self._pipe)
            self._pipe = None
        if not self.launched:
            self.wait()

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        if self.returncode is None:
            try:
                _, status = os.waitpid(self.pid, 0)
                self.returncode = os.waitstatus_to_exitcode(status)
            except ChildProcessError:
                pass
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def prepare_spare() -> SpareKernel:
    """Fork the spare this process's Papermill will use as its kernel."""
    global _spare
    _spare = SpareKernel()
    return _spare


def spare() -> SpareKernel | None:
    return _spare


def launcher_args(cmd: list[str]) -> list[str] | None:
    """The arguments after ``-m ipykernel_launcher`` when ``cmd`` runs it on this interpreter
    with this process's flags; ``None`` when forking could not reproduce ``cmd``."""
    cmd = [os.path.expanduser(s) for s in cmd]
    try:
        at = cmd.index("-m")
    except ValueError:
        return None
    if cmd[at + 1 : at + 2] != [LAUNCHER] or cmd[1:at] != _FLAGS:
        return None
    if os.path.abspath(cmd[0]) != os.path.abspath(sys.executable):
        return None
    return cmd[at + 2 :]


class ForkedProvisioner(LocalProvisioner):
    """Launches the kernel by handing the command to the spare (see the module's doc)."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        args = launcher_args(cmd)
        spare = _spare
        if args is None or spare is None or spare.launched:
            return await super().launch_kernel(cmd, **kwargs)
        env = dict(kwargs.get("env") or os.environ)
        if not kwargs.get("independent"):  # as jupyter_client.launcher.launch_kernel
            env["JPY_PARENT_PID"] = str(os.getpid())
        cwd = str(kwargs.get("cwd") or os.getcwd())
        orig_argv = [cmd[0], *_FLAGS, "-m", LAUNCHER, *args]
        spare.launch(args, env, cwd, orig_argv)
        self.process = spare
        self.pid = spare.pid
        self.pgid = spare.pid  # it starts a session of its own, as launch_kernel's kernels
        self.cwd = cwd
        return self.connection_info


class ForkedKernelClient(AsyncKernelClient):
    """jupyter_client's client, but ready sooner after start: once the kernel has answered
    ``kernel_info`` on the shell channel and published on IOPub (the check jupyter_client
    makes), IOPub is drained until it has been quiet for 20 ms rather than 200 ms. What is
    left would be the start's own status messages, which nbclient ignores: it keeps only
    messages whose parent is the cell it runs."""

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.time() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                msg = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                pass
            else:
                if msg["msg_type"] == "kernel_info_reply":
                    try:
                        await self.iopub_channel.get_msg(timeout=0.2)
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(msg)
                        break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.time() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        while True:
            try:
                await self.iopub_channel.get_msg(timeout=0.02)
            except Empty:
                break

    wait_for_ready = _async_wait_for_ready  # (the async client binds the name to its own)


class ForkingKernelManager(AsyncKernelManager):
    """jupyter_client's kernel manager with :class:`ForkedProvisioner` as its provisioner
    (unless the kernel spec names a provisioner of its own)."""

    client_class = DottedObjectName("helpers.pipeline.kernel.ForkedKernelClient")
    client_factory = Type(ForkedKernelClient, klass=AsyncKernelClient)

    async def _async_pre_start_kernel(self, **kw: Any) -> Any:
        spec = self.kernel_spec
        own = spec is not None and spec.metadata.get("kernel_provisioner")
        if self.provisioner is None and not own:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", None) or _uuid()
            self.provisioner = ForkedProvisioner(
                kernel_id=self.kernel_id, kernel_spec=spec, parent=self
            )
        return await super()._async_pre_start_kernel(**kw)

    async def _async_finish_shutdown(
        self, waittime: float | None = None, pollinterval: float = 0.1, restart: bool = False
    ) -> None:
        # Notice the kernel's end within 10 ms rather than 100 ms (only the polling differs).
        await super()._async_finish_shutdown(waittime, pollinterval=0.01, restart=restart)


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())


# -- in the spare ---------------------------------------------------------------------------


def _await_launch(read: int) -> None:
    """Wait for the kernel's command line; run the kernel; never return."""
    code = 1
    try:
        die_with_parent()
        chunks = []
        while chunk := os.read(read, 1 << 16):
            chunks.append(chunk)
        os.close(read)
        if not chunks:  # Papermill never started a kernel (or started a real one)
            code = 0
        else:
            code = _kernel_main(json.loads(b"".join(chunks)))
    except BaseException:  # noqa: BLE001 - whatever happens, this process must not return
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _kernel_main(spec: dict[str, Any]) -> int:
    """What ``python -m ipykernel_launcher ARGS`` does, in this already warm process."""
    # As jupyter_client launches kernels: a session of its own, standard input a pipe with
    # nothing behind it. (It still dies with the notebook's process: see die_with_parent.)
    os.setsid()
    read, write = os.pipe()
    os.close(write)
    os.dup2(read, 0)
    os.close(read)
    os.environ.clear()
    os.environ.update(spec["env"])
    os.chdir(spec["cwd"])
    launcher = importlib.util.find_spec(LAUNCHER)
    sys.argv = [launcher.origin if launcher and launcher.origin else LAUNCHER, *spec["args"]]
    sys.orig_argv = spec["orig_argv"]
    fresh_process_state()
    from ipykernel.kernelapp import IPKernelApp

    # parent_handle's default is read from the environment when ipykernel is imported,
    # which here was before this kernel had a parent: give it as the launcher would.
    parent = int(os.environ.get("JPY_PARENT_PID") or 0)
    app = IPKernelApp.instance(parent_handle=parent)
    app.initialize(spec["args"])
    app.start()
    # The end of the interpreter as after ipykernel_launcher returns: exit handlers (IPython's
    # clears the user namespace, which closes the files a notebook left open).
    atexit._run_exitfuncs()
    return 0


def fresh_process_state() -> None:
    """Undo what a forked copy shares with its siblings but a new Python would not have: the
    random generators' states (seeded from the OS, as at start-up), what importing the
    client's modules did to the warning filters, and what pandas chose at import because no
    kernel was running then."""
    random.seed()
    nprandom = sys.modules.get("numpy.random")
    if nprandom is not None:
        nprandom.seed()
    if KERNEL_WARNING_FILTERS is not None:
        import warnings

        warnings.filters[:] = KERNEL_WARNING_FILTERS
        getattr(warnings, "_filters_mutated", lambda: None)()
    pandas_as_in_a_kernel()
    # The warm process hides rfc3987_syntax from jsonschema (see helpers.pipeline.execute); a
    # notebook that imports it must find it.
    if "rfc3987_syntax" in sys.modules and sys.modules["rfc3987_syntax"] is None:
        del sys.modules["rfc3987_syntax"]


def pandas_as_in_a_kernel() -> None:
    """pandas sets ``display.max_columns`` when it is imported: 20 inside a Jupyter kernel,
    0 (fit the terminal) elsewhere, which is what it found in the warm process. Set it, and its
    default, as a kernel's import would have (unless something already changed it)."""
    config = sys.modules.get("pandas._config.config")
    key = "display.max_columns"
    try:
        option = config._registered_options[key]  # type: ignore[union-attr]
        if option.defval != 0 or config.get_option(key) != 0:  # type: ignore[union-attr]
            return
        config._registered_options[key] = option._replace(defval=20)  # type: ignore[union-attr]
        config.set_option(key, 20)  # type: ignore[union-attr]
    except (AttributeError, KeyError, TypeError):
        return
