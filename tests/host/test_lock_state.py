"""The sync lock between real processes, and the atomic state file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from winalux.host import state
from winalux.host.lock import LockBusy, hold

HOLDER = """
import sys, time
from pathlib import Path
from winalux.host.lock import hold
with hold(Path(sys.argv[1]), wait=0):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _start_holder(lock: Path, seconds: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "held"
    return process


def test_second_holder_gives_up_with_message(tmp_path: Path) -> None:
    lock = tmp_path / "sync.lock"
    holder = _start_holder(lock, 30)
    try:
        with pytest.raises(LockBusy) as caught, hold(lock, wait=0.3):
            pass
        assert f"process {holder.pid}" in str(caught.value)
        assert "--wait" in str(caught.value)
    finally:
        holder.kill()
        holder.wait()


def test_second_holder_waits_for_first(tmp_path: Path) -> None:
    lock = tmp_path / "sync.lock"
    holder = _start_holder(lock, 0.5)
    with hold(lock, wait=30):
        assert holder.poll() is not None
    holder.wait()


def test_killed_holder_releases_lock(tmp_path: Path) -> None:
    lock = tmp_path / "sync.lock"
    holder = _start_holder(lock, 60)
    holder.kill()
    holder.wait()
    with hold(lock, wait=0):
        assert lock.read_text().strip() == str(os.getpid())


def test_lock_file_is_private(tmp_path: Path) -> None:
    lock = tmp_path / "state" / "sync.lock"
    with hold(lock, wait=0):
        pass
    assert lock.stat().st_mode & 0o077 == 0


def test_state_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    record = state.State(
        result="ok",
        applied_commit="a" * 40,
        workspaces={"alice": state.WorkspaceStatus("created", ["winalux-alice-pod.service"])},
        files={"winalux-alice.pod": state.FileMark("00" * 32, 10, 5)},
    )
    state.save(path, record)
    assert state.load(path) == record
    assert path.stat().st_mode & 0o077 == 0
    assert json.loads(path.read_text())["applied_commit"] == "a" * 40


def test_state_missing_or_corrupt_is_empty(tmp_path: Path) -> None:
    assert state.load(tmp_path / "absent.json").result == "never"
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text("{not json")
    assert state.load(corrupt).result == "never"


def test_state_save_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    for result in ("ok", "failed"):
        state.save(path, state.State(result=result))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
    assert state.load(path).result == "failed"


def test_state_ignores_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"result": "ok", "added_later": 1, "workspaces": {}}))
    assert state.load(path).result == "ok"
