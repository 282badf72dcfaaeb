"""Faults a careless user meets: full disks, unwritable folders, corrupt JSON, a stage started
twice or left orphaned. Each ends in one `error:` line naming the file, never a traceback."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from annstudy.pipeline.errors import guarded
from annstudy.pipeline.lease import exclusive
from annstudy.store.artifacts import save_torch, write_json
from annstudy.store.records import read_record


def _fail(err: BaseException):
    def raise_it(*args, **kwargs):
        raise err

    return raise_it


def test_disk_full_names_the_output_not_its_temporary(tmp_path, monkeypatch, capsys):
    target = tmp_path / "train" / "weights.pt"

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_bytes", full)
    assert guarded(lambda: save_torch(target, {"w": 1}) or 0) == 2
    err = capsys.readouterr().err
    assert err == f"error: {target}: no space left on device; free space (df -h {target.parent}) and rerun\n"
    assert not target.exists() and list(target.parent.iterdir()) == []  # nothing partial kept


def test_unwritable_folder_is_one_line(tmp_path, monkeypatch, capsys):
    target = tmp_path / "out" / "metrics.json"
    blocked = OSError(errno.EACCES, "Permission denied", str(tmp_path / "out" / ".metrics.json.rh_x_6we.tmp"))
    monkeypatch.setattr("tempfile.mkstemp", _fail(blocked))
    assert guarded(lambda: write_json(target, {"a": 1}) or 0) == 2
    assert capsys.readouterr().err == (
        f"error: {target}: permission denied; make {target.parent} writable (or readable) for this user\n"
    )


def test_torch_half_written_file_says_disk_full(capsys):
    torch_error = RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 1088 vs 982")
    assert guarded(_fail(torch_error)) == 2
    assert "disk full?" in capsys.readouterr().err


def test_missing_file_is_said_in_words(tmp_path, capsys):
    assert guarded(lambda: (tmp_path / "weights.pt").read_bytes() and 0) == 2
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'weights.pt'}: no such file or directory; ")


def test_corrupt_record_json_names_its_file(tmp_path, capsys):
    live = tmp_path / "live"
    live.mkdir()
    (live / "metrics.json").write_text('{"a": 1}\n{"b": 2}')  # two writers interleaved
    assert guarded(lambda: read_record(tmp_path) and 0) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {live / 'metrics.json'}: not valid JSON (Extra data, line 2)")


def test_a_stage_runs_once_at_a_time(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from annstudy.pipeline.lease import exclusive\nimport time\n"
         f"with exclusive('train.py mlp_1', __import__('pathlib').Path({str(tmp_path)!r})):\n"
         "    print('held', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ValueError, match=rf"^train.py mlp_1: already running \(pid {holder.pid}\)"):
            with exclusive("train.py mlp_1", tmp_path):
                pass
        with exclusive("train.py mlp_2", tmp_path):  # another stage is free
            pass
    finally:
        holder.kill()
        holder.wait()
    with exclusive("train.py mlp_1", tmp_path):  # the kernel released the dead holder's lock
        pass


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_stage_dies_with_the_dvc_that_started_it():
    child = "from annstudy.pipeline.lease import die_with_parent\nimport time\ndie_with_parent()\ntime.sleep(60)"
    parent = textwrap.dedent(f"""
        import subprocess, sys
        p = subprocess.Popen([sys.executable, "-c", {child!r}])
        print(p.pid, flush=True)
        p.wait()
    """)
    dvc = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True)
    stage = int(dvc.stdout.readline())
    time.sleep(1.0)  # let the stage ask for its signal
    os.kill(dvc.pid, signal.SIGKILL)
    dvc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(stage):
        time.sleep(0.05)
    assert not _alive(stage)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
