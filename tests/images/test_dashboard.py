"""The login dashboard and the workspace's Taskfile, run from a temporary root."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.images import workspace_root
from tests.images.conftest import task_binary
from tests.support import require
from tests.telemetry.conftest import POD_ID, RealPod, real_pod  # noqa: F401 (fixture)
from winalux.host.telemetry.collector import Collector
from winalux.host.telemetry.discover import Target
from winalux.host.telemetry.storage import Scanner


def figures(**changes: object) -> dict:
    base = {
        "version": 1, "workspace": "alice", "updated_epoch": time.time(),
        "cpu": {"cores_used": 0.286, "limit_cores": 2.0, "host_cores": 2, "usage_usec": 1},
        "memory": {"bytes": 42 * 2**20, "limit_bytes": 3918 * 2**20, "source": "memory.current"},
        "processes": 12,
        "storage": {"bytes": 490_000_000, "limit_bytes": 10**10, "level": "ok"},
    }
    base.update(changes)
    return base


def write_figures(root: Path, document: dict) -> None:
    folder = root / "run" / "winalux" / "telemetry"
    (folder / "metrics.json").write_text(json.dumps(document))


def dashboard(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    full_env = {**workspace_root.workspace_env(root), "TERM": "xterm", **(env or {})}
    result = subprocess.run([str(root / "usr/local/bin/winalux-dashboard"), *args],
                            capture_output=True, text=True, env=full_env, check=True)
    return result.stdout


def dashboard_on_terminal(root: Path, env: dict[str, str]) -> str:
    """Run the dashboard with a real terminal as stdout and return what it wrote."""
    primary, secondary = os.openpty()
    full_env = {**workspace_root.workspace_env(root), **env}
    subprocess.run([str(root / "usr/local/bin/winalux-dashboard")], stdout=secondary,
                   env=full_env, check=True)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    return b"".join(chunks).decode()


def test_plain_without_terminal(root: Path) -> None:
    write_figures(root, figures())
    text = dashboard(root)
    assert "\033" not in text
    assert "  CPU Load:     [#-" in text
    assert "14.3% (0.29 of 2 cores, limit)" in text
    assert "Storage:      [----------] 5% (0.49 GB / 10 GB)" in text
    assert "Memory:       42 MB / 3918 MB" in text
    assert "Activity:     12 processes" in text
    assert "Connected as developer | Profile: WEB |" in text


def test_network_and_notes(root: Path) -> None:
    write_figures(root, figures())
    text = dashboard(root)
    assert "- App port     : 8000 (web server), host port 18000" in text
    assert "- SSH port     : 2222 (sshd), host port 12222" in text
    assert "- Extra port   : 9000 (yours), host port 19000" in text
    assert "- Sidecar      : redis on localhost:6379" in text
    assert "Redeploying the container will NOT delete your work." in text
    assert "task --list" in text


def test_colour_on_terminal(root: Path) -> None:
    write_figures(root, figures())
    text = dashboard_on_terminal(root, {"TERM": "xterm"})
    assert "\033[" in text
    assert "\u25a0" in text


@pytest.mark.parametrize("env", [{"TERM": "xterm", "NO_COLOR": "1"}, {"TERM": "dumb"}])
def test_plain_on_terminal_when_asked(root: Path, env: dict[str, str]) -> None:
    write_figures(root, figures())
    text = dashboard_on_terminal(root, env)
    assert "\033[" not in text
    assert "[#" in text


def test_missing_telemetry(root: Path) -> None:
    text = dashboard(root)
    assert "Telemetry not available yet" in text


def test_stale_telemetry(root: Path) -> None:
    write_figures(root, figures(updated_epoch=time.time() - 300))
    assert "Figures are 5 min old" in dashboard(root)


@pytest.mark.parametrize(("used", "expected"), [
    (8_000_000_000, "WARNING: the home volume is over 75% of its quota."),
    (9_500_000_000, "CRITICAL: the home volume is over 90% of its quota"),
])
def test_storage_warnings(root: Path, used: int, expected: str) -> None:
    level = "warning" if used < 9 * 10**9 else "critical"
    write_figures(root, figures(storage={"bytes": used, "limit_bytes": 10**10, "level": level}))
    assert expected in dashboard(root)


def test_rss_sum_labelled(root: Path) -> None:
    memory = {"bytes": 42 * 2**20, "limit_bytes": None, "source": "rss-sum"}
    write_figures(root, figures(memory=memory))
    assert "Memory:       42 MB (sum of process RSS; no memory controller)" in dashboard(root)


def test_first_sample_has_no_cpu(root: Path) -> None:
    write_figures(root, figures(cpu={"cores_used": None, "limit_cores": None, "host_cores": 2}))
    assert "CPU Load:     measuring" in dashboard(root)


def test_status_section_only(root: Path) -> None:
    write_figures(root, figures())
    text = dashboard(root, "--section", "status", "--no-banner")
    assert "STATUS" in text
    assert "NETWORK" not in text
    assert "W I N A L U X" not in text


def test_data_profile_ports(root: Path) -> None:
    env = {"WINALUX_PROFILE": "data", "WINALUX_APP_CONTAINER_PORT": "8888"}
    text = dashboard(root, env=env)
    assert "App port     : 8888 (JupyterLab)" in text
    assert "Profile: DATA" in text


def test_collector_output_shown(root: Path, real_pod: RealPod) -> None:  # noqa: F811
    real_pod.start_sleeping(real_pod.workspace)
    target = Target("alice", POD_ID, (real_pod.pod_slice, real_pod.workspace), None, None)
    collector = Collector(root / "run" / "winalux", lambda: {"alice": target}, real_pod.mount,
                          Scanner(rootless=False))
    collector.sample_all()
    (root / "run" / "winalux" / "telemetry").rmdir()
    (root / "run" / "winalux" / "alice").rename(root / "run" / "winalux" / "telemetry")
    text = dashboard(root)
    assert "Activity:     1 process\n" in text
    assert "(sum of process RSS; no memory controller)" in text


def test_task_default_and_list(root: Path) -> None:
    task = task_binary()
    require(task, "task not installed (pip install go-task-bin)")
    write_figures(root, figures())
    taskfile = str(root / "etc" / "winalux" / "Taskfile.yml")
    env = {**workspace_root.workspace_env(root),
           "PATH": f"{root}/usr/local/bin:/usr/bin:/bin", "TERM": "dumb"}
    listed = subprocess.run([str(task), "--taskfile", taskfile, "--list"], capture_output=True,
                            text=True, env=env, check=True).stdout
    shown = subprocess.run([str(task), "--taskfile", taskfile], capture_output=True, text=True,
                           env=env, check=True).stdout
    stats = subprocess.run([str(task), "--taskfile", taskfile, "stats"], capture_output=True,
                           text=True, env=env, check=True).stdout
    assert "* stats:" in listed
    assert "* upgrade:" in listed
    assert "W I N A L U X" in shown
    assert "CPU Load:" in stats
    assert "NETWORK" not in stats
