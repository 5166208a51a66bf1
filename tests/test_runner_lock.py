"""Two runs into one output folder: the second refuses, naming the first; nothing is left."""

from __future__ import annotations

import subprocess
import sys
import time

from helpers.pipeline import RunError
from helpers.pipeline.publish import OutputLock


def test_a_second_run_into_the_same_out_is_refused_with_the_first_named(tmp_path):
    out = tmp_path / "out"
    first = OutputLock(out)
    try:
        try:
            OutputLock(out)
        except RunError as exc:
            message = str(exc)
        else:
            raise AssertionError("the second lock was granted")
        assert str(out) in message and "process" in message and "started" in message
    finally:
        first.release()
    again = OutputLock(out)  # free once released
    again.release()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_the_lock_holds_across_processes_and_the_runner_refuses(tmp_path):
    from tests.conftest import make_valid_folder
    from tests.test_runner import BODY, write_notebook

    data = make_valid_folder(tmp_path / "data")
    (tmp_path / "nbs").mkdir()
    write_notebook(tmp_path / "nbs", "01_alpha", BODY.format(name="alpha"))
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from helpers.pipeline.publish import OutputLock; OutputLock(Path(sys.argv[1])); "
         "print('locked', flush=True); time.sleep(30)", str(out)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        proc = subprocess.run(
            [sys.executable, "-m", "helpers.pipeline", "--data", str(data), "--out", str(out),
             "--no-report", "--notebooks", str(tmp_path / "nbs")],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        text = proc.stdout + proc.stderr
        assert proc.returncode == 2, text
        assert f"{out} is being written by run of process {holder.pid}" in text, text
        assert "Errno" not in text and "Traceback" not in text
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
