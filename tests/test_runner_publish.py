"""publish and OutputLock at their edges, fast (no notebooks): what the output folder is at
every step, and what a lock leaves behind. The end-to-end failures are in test_runner.py."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import stat
import sys
from datetime import datetime
from pathlib import Path

import pytest

from helpers.pipeline import RunError
from helpers.pipeline import publish as publishing
from helpers.pipeline.publish import OutputLock, _exchange, publish


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _two(tmp_path: Path) -> tuple[Path, Path]:
    out, build = tmp_path / "out", tmp_path / "build"
    (out / "t").mkdir(parents=True)
    (out / "t" / "old.csv").write_text("old")
    (build / "t").mkdir(parents=True)
    (build / "t" / "new.csv").write_text("new")
    return out, build


def test_exchange_swaps_two_folders_and_refuses_a_missing_one(tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("renameat2 is Linux only")
    out, build = _two(tmp_path)
    assert _exchange(build, out) is True
    assert _tree(out) == {"t/new.csv": b"new"} and _tree(build) == {"t/old.csv": b"old"}
    assert _exchange(tmp_path / "missing", out) is False  # fails, and says so
    assert _tree(out) == {"t/new.csv": b"new"}


def test_exchange_is_off_elsewhere(monkeypatch, tmp_path):
    out, build = _two(tmp_path)
    monkeypatch.setattr(publishing.sys, "platform", "darwin")
    assert _exchange(build, out) is False
    assert _tree(out) == {"t/old.csv": b"old"}


@pytest.mark.parametrize("atomic", [True, False])
def test_publish_leaves_only_the_new_folder(tmp_path, monkeypatch, atomic):
    if not atomic:
        monkeypatch.setattr(publishing, "_exchange", lambda a, b: False)
    out, build = _two(tmp_path)
    if not atomic:
        stale = tmp_path / f".out-old-{os.getpid()}"  # the name it moves OUT to: cleared first
        (stale / "x").mkdir(parents=True)
    publish(build, out)
    assert _tree(out) == {"t/new.csv": b"new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_publish_without_exchange_moves_the_old_folder_aside_first(tmp_path, monkeypatch):
    monkeypatch.setattr(publishing, "_exchange", lambda a, b: False)
    out, build = _two(tmp_path)
    seen = []
    rename = Path.rename

    def spy(self, target):
        seen.append((self.name, Path(target).name, sorted(p.name for p in tmp_path.iterdir())))
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", spy)
    publish(build, out)
    old = f".out-old-{os.getpid()}"
    assert [s[:2] for s in seen] == [("out", old), ("build", "out")]
    assert seen[1][2] == sorted(["build", old])


def test_publish_failing_with_no_old_folder_raises_and_keeps_the_build(tmp_path, monkeypatch):
    build = tmp_path / "build"
    build.mkdir()
    (build / "a").write_text("a")
    monkeypatch.setattr(Path, "rename", lambda self, target: (_ for _ in ()).throw(OSError("x")))
    with pytest.raises(OSError):
        publish(build, tmp_path / "out")
    assert not (tmp_path / "out").exists() and (build / "a").read_text() == "a"


def test_the_lock_file_names_its_holder_and_is_removed_on_release(tmp_path):
    out = tmp_path / "deep" / "out"
    lock = OutputLock(out)  # creates the parent
    path = tmp_path / "deep" / ".out.lock"
    assert lock.path == path
    text = path.read_text()
    assert text.startswith(f"run of process {os.getpid()} started ")
    with pytest.raises(RunError, match=f"run of process {os.getpid()} started"):
        OutputLock(out)
    lock.release()
    assert not path.exists()


def test_a_lock_file_removed_by_its_last_holder_is_not_locked_twice(tmp_path):
    """A run that opened the lock file just before its holder released it (removing it) must
    lock the file now at the path, not the unlinked one it opened."""
    out = tmp_path / "out"
    first = OutputLock(out)
    path = first.path
    opened = os.open(path, os.O_RDWR)  # what the second run opened
    first.release()
    lock = OutputLock(out)
    assert os.fstat(lock.fd).st_ino == os.stat(path).st_ino
    assert os.fstat(opened).st_ino != os.stat(path).st_ino
    with pytest.raises(RunError):
        OutputLock(out)
    lock.release()
    os.close(opened)


# --- the lock's failure paths -------------------------------------------------------------------
def _fds() -> set[str]:
    return set(os.listdir("/proc/self/fd")) if Path("/proc/self/fd").is_dir() else set()


def test_the_lock_creates_missing_parent_folders_and_a_file_readable_by_all(tmp_path):
    out = tmp_path / "a" / "b" / "out"
    mask = os.umask(0o022)
    try:
        lock = OutputLock(out)
    finally:
        os.umask(mask)
    try:
        assert stat.S_IMODE(os.stat(lock.path).st_mode) == 0o644
    finally:
        lock.release()


def test_the_lock_file_says_when_its_run_started(tmp_path):
    before = datetime.now().replace(microsecond=0)
    lock = OutputLock(tmp_path / "out")
    after = datetime.now()
    try:
        text = lock.path.read_text()
    finally:
        lock.release()
    m = re.fullmatch(r"run of process (\d+) started (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", text)
    assert m, text
    assert int(m.group(1)) == os.getpid()
    assert before <= datetime.strptime(m.group(2), "%Y-%m-%d %H:%M:%S") <= after


def test_a_stale_lock_file_is_overwritten_not_appended_to(tmp_path):
    path = tmp_path / ".out.lock"
    path.write_text("x" * 500)  # left by a run that was killed (its lock died with it)
    lock = OutputLock(tmp_path / "out")
    try:
        assert path.read_text().startswith(f"run of process {os.getpid()} started ")
        assert "x" not in path.read_text()
    finally:
        lock.release()


@pytest.mark.parametrize(
    ("content", "holder"),
    [
        (b"", "another run"),  # locked, nothing written yet
        (b"  \n", "another run"),
        (b"\n run of process 7 started 2026-01-01 00:00:00 \n", "run of process 7 started "
         "2026-01-01 00:00:00"),
        (b"run \xff\xfe of process 7", "run \ufffd\ufffd of process 7"),  # not UTF-8
        (b"y" * 300, "y" * 200),  # at most 200 bytes of it
    ],
)  # fmt: skip
def test_a_refusal_names_the_holder_as_its_lock_file_says(tmp_path, content, holder):
    out = tmp_path / "out"
    path = tmp_path / ".out.lock"
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.write(fd, content)
    open_before = _fds()
    try:
        with pytest.raises(RunError) as caught:
            OutputLock(out)
        assert _fds() == open_before  # the refused run closed what it opened
    finally:
        os.close(fd)
    assert str(caught.value) == (
        f"{out} is being written by {holder}; wait for that run to finish, or choose another OUT"
    )


@pytest.mark.parametrize("replaced", [False, True])
def test_a_lock_file_removed_while_being_locked_is_opened_again(tmp_path, monkeypatch, replaced):
    """The holder releases (removing its file) between our open and our lock: we hold a lock
    on a file no longer at the path, so we must let it go and lock the file now there (new,
    or created meanwhile by a third run)."""
    out = tmp_path / "out"
    first = OutputLock(out)
    path = first.path
    real = fcntl.flock
    locked, attempts = [], []

    def flock(fd, op):
        if op & fcntl.LOCK_EX and not locked:
            locked.append(fd)
            first.release()
            if replaced:
                path.write_text("")
        attempts.append(op)
        return real(fd, op)

    monkeypatch.setattr(fcntl, "flock", flock)
    open_before = _fds()
    lock = OutputLock(out)
    monkeypatch.undo()
    try:
        assert path.exists()
        assert attempts.count(fcntl.LOCK_EX | fcntl.LOCK_NB) == 2  # locked, let go, again
        assert os.fstat(lock.fd).st_ino == os.stat(path).st_ino
        assert os.fstat(lock.fd).st_nlink == 1
        assert path.read_text().startswith(f"run of process {os.getpid()} started ")
        # first's descriptor was closed by its release, ours opened: the one we gave up closed
        assert len(_fds()) == len(open_before)
        with pytest.raises(RunError):
            OutputLock(out)
    finally:
        lock.release()
    assert not path.exists()


def test_releasing_a_lock_whose_file_was_removed_still_frees_it(tmp_path):
    out = tmp_path / "out"
    lock = OutputLock(out)
    lock.path.unlink()
    lock.release()
    OutputLock(out).release()


# --- publish: parents, a failed removal, a name taken meanwhile ---------------------------------
@pytest.mark.parametrize("atomic", [True, False])
def test_publish_creates_missing_parent_folders(tmp_path, monkeypatch, atomic):
    if not atomic:
        monkeypatch.setattr(publishing, "_exchange", lambda a, b: False)
    build = tmp_path / "build"
    build.mkdir()
    (build / "new.txt").write_text("new")
    out = tmp_path / "a" / "b" / "out"
    publish(build, out)
    assert (out / "new.txt").read_text() == "new" and not build.exists()


def test_publish_succeeds_when_the_old_folder_cannot_be_removed(tmp_path, monkeypatch):
    """Removing the old folder (now at ``build``) is cleanup: a failure there (a file held
    open elsewhere, say) must not fail a run whose new folder is already in place."""
    out, build = _two(tmp_path)

    def swap(a, b):  # what the atomic exchange does, on any system
        a.rename(tmp_path / "x")
        b.rename(a)
        (tmp_path / "x").rename(b)
        return True

    monkeypatch.setattr(publishing, "_exchange", swap)
    removed = []

    def rmtree(path, ignore_errors=False, **kw):
        removed.append(Path(path).name)
        if not ignore_errors:
            raise PermissionError(f"cannot remove {path}")

    monkeypatch.setattr(shutil, "rmtree", rmtree)
    publish(build, out)
    assert _tree(out) == {"t/new.csv": b"new"}
    assert removed == ["build"]


def test_publish_keeps_the_old_folder_aside_when_out_was_taken_meanwhile(tmp_path, monkeypatch):
    """The second rename fails because another OUT appeared meanwhile: that one is not
    overwritten, the old folder stays aside, and the original error is raised."""
    monkeypatch.setattr(publishing, "_exchange", lambda a, b: False)
    out, build = _two(tmp_path)
    rename = Path.rename

    def taken(self, target):
        if self == build:
            (out / "other").mkdir(parents=True)
            raise OSError("boom")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", taken)
    with pytest.raises(OSError, match="^boom$"):
        publish(build, out)
    old = tmp_path / f".out-old-{os.getpid()}"
    assert _tree(old) == {"t/old.csv": b"old"}
    assert sorted(p.name for p in out.iterdir()) == ["other"]


def test_publish_failing_first_time_raises_its_own_error(tmp_path, monkeypatch):
    monkeypatch.setattr(publishing, "_exchange", lambda a, b: False)
    build = tmp_path / "build"
    build.mkdir()
    rename = Path.rename

    def failing(self, target):
        if self == build:
            raise OSError("boom")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", failing)
    with pytest.raises(OSError, match="^boom$"):
        publish(build, tmp_path / "out")
    assert build.exists() and not (tmp_path / "out").exists()


# --- _exchange: the C library and the call ------------------------------------------------------
class _FakeRenameat2:
    def __init__(self, result: int) -> None:
        self.result, self.calls = result, []

    def __call__(self, *args):
        self.calls.append(args)
        return self.result


@pytest.fixture
def linux(monkeypatch):
    monkeypatch.setattr(publishing.sys, "platform", "linux")


@pytest.mark.parametrize(("found", "loaded"), [("/lib/libc-found.so", "/lib/libc-found.so"),
                                               (None, "libc.so.6")])  # fmt: skip
def test_exchange_loads_the_c_library_found_else_libc_so_6(monkeypatch, linux, found, loaded):
    import ctypes
    import ctypes.util

    asked, names = [], []
    fn = _FakeRenameat2(0)

    def find_library(name):
        asked.append(name)
        return found if name == "c" else None

    def cdll(name, **kw):
        names.append(name)
        return type("Lib", (), {"renameat2": fn})()

    monkeypatch.setattr(ctypes.util, "find_library", find_library)
    monkeypatch.setattr(ctypes, "CDLL", cdll)
    assert _exchange(Path("a"), Path("b")) is True
    assert asked == ["c"] and names == [loaded]


@pytest.mark.parametrize(("result", "swapped"), [(0, True), (-1, False)])
def test_exchange_declares_the_c_prototype_and_passes_the_exchange_flag(
    monkeypatch, linux, result, swapped
):
    import ctypes

    fn = _FakeRenameat2(result)
    monkeypatch.setattr(ctypes, "CDLL", lambda name, **kw: type("L", (), {"renameat2": fn})())
    assert _exchange(Path("/x/a"), Path("b")) is swapped
    # int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
    #               unsigned int flags); AT_FDCWD = -100, RENAME_EXCHANGE = 2
    assert fn.argtypes == (
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    )
    assert fn.restype is ctypes.c_int
    assert fn.calls == [(-100, b"/x/a", -100, b"b", 2)]


@pytest.mark.parametrize("missing", ["library", "function"])
def test_exchange_is_off_without_renameat2_and_publish_still_works(
    tmp_path, monkeypatch, linux, missing
):
    import ctypes

    def cdll(name, **kw):
        if missing == "library":
            raise OSError(f"{name}: cannot open shared object file")
        return object()  # an old C library: no renameat2 (AttributeError)

    monkeypatch.setattr(ctypes, "CDLL", cdll)
    out, build = _two(tmp_path)
    assert _exchange(build, out) is False
    assert _tree(out) == {"t/old.csv": b"old"} and _tree(build) == {"t/new.csv": b"new"}
    publish(build, out)
    assert _tree(out) == {"t/new.csv": b"new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
