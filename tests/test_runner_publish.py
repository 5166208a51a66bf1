"""publish and OutputLock at their edges, fast (no notebooks): what the output folder is at
every step, and what a lock leaves behind. The end-to-end failures are in test_runner.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from helpers import runner
from helpers.runner import OutputLock, RunError, _exchange, publish


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
    monkeypatch.setattr(runner.sys, "platform", "darwin")
    assert _exchange(build, out) is False
    assert _tree(out) == {"t/old.csv": b"old"}


@pytest.mark.parametrize("atomic", [True, False])
def test_publish_leaves_only_the_new_folder(tmp_path, monkeypatch, atomic):
    if not atomic:
        monkeypatch.setattr(runner, "_exchange", lambda a, b: False)
    out, build = _two(tmp_path)
    if not atomic:
        stale = tmp_path / f".out-old-{os.getpid()}"  # the name it moves OUT to: cleared first
        (stale / "x").mkdir(parents=True)
    publish(build, out)
    assert _tree(out) == {"t/new.csv": b"new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_publish_without_exchange_moves_the_old_folder_aside_first(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "_exchange", lambda a, b: False)
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
