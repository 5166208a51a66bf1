"""The pipeline: from a data folder to a published output folder.

- :mod:`.params`: the parameters each notebook declares and a params file sets;
- :mod:`.run`: plan the run, run the notebooks, reuse cached results (:mod:`.cache`);
- :mod:`.publish`: assemble ``findings.json`` and ``manifest.json`` (:mod:`.manifest`) and
  replace the output folder atomically, one run at a time;
- :mod:`.cli`: the command, ``python -m helpers.pipeline`` (``make report``).

Warm start of notebooks: one process imports the heavy modules once and forks a fresh process
for every notebook, so that no notebook pays for the imports and none sees another's state.

- :mod:`.pool` is the runner's side: it starts the warm process, hands it notebooks, collects
  how each ended and stops everything on a signal.
- :mod:`.zygote` is the warm process (``python -m helpers.pipeline.zygote``): it imports what
  the notebooks and Papermill import, then forks one process per notebook, which runs
  Papermill's own ``execute_notebook`` exactly as the ``papermill`` command does.
- :mod:`.kernel` gives that Papermill a kernel forked from the same warm state (a real
  ipykernel in its own process, reached over ZeroMQ as any kernel) instead of a new Python
  that imports everything again.
- :mod:`.execute` is the ``papermill`` command, used where forking is not.

Each notebook runs in a process forked from the warm one after the imports and before any
notebook code ran: its memory is a copy-on-write copy of the warm process, so what a notebook
changes (globals, patched modules, ``os.environ``, random state) ends with its process.

This module itself stays cheap to import: the command imports it before starting the warm
process.
"""

import os
import signal


class RunError(Exception):
    """A failure that stops the run; its message is for the analyst."""


# The environment the runner gives Papermill and the kernels (and so the warm process): one
# BLAS/OpenMP thread per kernel (two kernels share two cores; and a fork copies no thread),
# matplotlib's Agg backend, and a fixed hash seed so that set order cannot change results.
KERNEL_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "Agg",
    "PYTHONHASHSEED": "0",
}


def kernel_env(without: list[str] | tuple[str, ...] = ()) -> dict[str, str]:
    """This process's environment with :data:`KERNEL_ENV`, less the variables ``without``
    (those ``sources.yaml`` takes database URLs from: notebooks never connect to a database)."""
    env = {**os.environ, **KERNEL_ENV}
    for name in without:
        env.pop(name, None)
    return env


# The line a notebook's process prints when its kernel died, followed by the kernel's return
# code; :func:`helpers.pipeline.pool.describe_crash` reads it.
KERNEL_ENDED = "helpers.pipeline: kernel ended:"


def how_it_ended(returncode: int | None) -> str:
    """``exited with code 3`` or ``was killed by signal 11 (SIGSEGV)``."""
    if returncode is None:
        return "ended"
    if returncode < 0:
        try:
            name = f" ({signal.Signals(-returncode).name})"
        except ValueError:
            name = ""
        return f"was killed by signal {-returncode}{name}"
    return f"exited with code {returncode}"
