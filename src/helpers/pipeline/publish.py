"""Assemble a run's results and publish its output folder: one run at a time, atomically."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from helpers import catalog, findings
from helpers.pipeline import RunError, manifest

REQUIRED_FINDINGS = catalog.required()
PUBLISHED = ("figures", "tables", "findings", "narrative", "notebooks")


def assemble(
    build: Path,
    runs: list[Any],
    dataset: Any,
    data_dir: Path,
    *,
    require_findings: bool = True,
) -> None:
    """Copy each notebook's results into the build folder and write the run's records.

    Parameters
    ----------
    build
        The run's partial output folder.
    runs
        The notebooks' runs (:class:`helpers.pipeline.run.NotebookRun`), each with its result
        folder, in the report's order.
    dataset
        The validated data (:class:`helpers.data.Dataset`).
    data_dir
        The data folder, as the manifest records it.
    require_findings
        Refuse a run in which a required finding (:func:`helpers.catalog.required`) is missing.

    Raises
    ------
    RunError
        A required finding is missing.
    """
    for r in runs:
        assert r.result_dir is not None
        for sub in PUBLISHED:
            src = r.result_dir / sub
            if src.is_dir():
                shutil.copytree(src, build / sub, dirs_exist_ok=True, copy_function=_link_or_copy)
    doc = findings.collect(
        build, dataset.synthetic, order=[r.notebook.stem.split("_", 1)[1] for r in runs]
    )
    ids = {f["id"] for f in doc["findings"]}
    missing = [i for i in REQUIRED_FINDINGS if i not in ids]
    if missing and require_findings:
        raise RunError(f"required findings not registered by any notebook: {missing}")
    (build / "findings.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(build / "findings", ignore_errors=True)
    record = manifest.build(
        data_dir=Path(data_dir).resolve(),
        dataset_name=dataset.name,
        synthetic=dataset.synthetic,
        window=dataset.window,
        inputs=dataset.inputs,
        parameters={r.notebook.stem: r.effective for r in runs},
        notebooks=[
            {
                "notebook": r.notebook.name,
                "seconds": r.seconds,
                "cached": r.cached,
                "cache_key": r.key,
            }
            for r in runs
        ],
    )
    (build / "manifest.json").write_text(
        json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8"
    )


class OutputLock:
    """One run at a time writes an output folder: an exclusive lock on ``.<OUT>.lock`` beside
    it, which a second run finds held and then refuses, naming the run that holds it."""

    def __init__(self, out: Path) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        self.path = out.parent / f".{out.name}.lock"
        while True:
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 200).decode(errors="replace").strip() or "another run"
                os.close(fd)
                raise RunError(
                    f"{out} is being written by {holder}; wait for that run to finish, or "
                    "choose another OUT"
                ) from None
            try:  # the holder before us may have removed the file: lock the current one
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        os.ftruncate(fd, 0)
        os.write(fd, f"run of process {os.getpid()} started {started}".encode())
        self.fd = fd

    def release(self) -> None:
        self.path.unlink(missing_ok=True)
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _link_or_copy(src: str, dst: str) -> str:
    try:
        if os.path.exists(dst):
            os.unlink(dst)
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst


def publish(build: Path, out: Path) -> None:
    """Replace ``out`` by ``build`` so that ``out`` is at every moment either the old folder
    or the new one, whole.

    Where the system can (Linux ``renameat2`` with ``RENAME_EXCHANGE``), the two folders
    swap names in one atomic step and the old one, now at ``build``, is removed. Elsewhere
    the old folder is moved aside, ``build`` renamed to ``out``, and the old one removed;
    if that second rename fails, or the run is interrupted there, the old folder is put back
    before the error is raised.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and _exchange(build, out):
        shutil.rmtree(build, ignore_errors=True)
        return
    old = out.parent / f".{out.name}-old-{os.getpid()}"
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    try:
        build.rename(out)
    except BaseException:
        if old.exists() and not out.exists():
            old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap the names of two existing paths atomically; ``False`` when the system cannot
    (not Linux, an old C library or kernel, a file system without the flag)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = (
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    )
    renameat2.restype = ctypes.c_int
    done = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return done == 0
