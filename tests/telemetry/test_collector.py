"""The collector's loop over real cgroups, with storage scanned by the real du."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import jinja2
import pytest

from tests.telemetry.conftest import POD_ID, RealPod
from winalux.host import telemetry
from winalux.host.telemetry.collector import Collector, user_manager_folders
from winalux.host.telemetry.discover import Target
from winalux.host.telemetry.storage import Scanner, level, scan_argv

REPO = Path(__file__).resolve().parents[2]
BUSY = [sys.executable, "-c",
        "import time\nwhile time.process_time() < 0.3: pass\nprint('done', flush=True)\n"
        "time.sleep(600)"]


def make_home(folder: Path, files: int = 50, size: int = 10_000) -> Path:
    folder.mkdir(parents=True)
    for index in range(files):
        (folder / f"file-{index}").write_bytes(b"x" * size)
    return folder


def allocated_bytes(folder: Path) -> int:
    total = os.lstat(folder).st_blocks * 512
    for current, dirs, files in os.walk(folder):
        for name in dirs + files:
            total += os.lstat(os.path.join(current, name)).st_blocks * 512
    return total


def wait_for_scan(scanner: Scanner, workspace: str) -> None:
    deadline = time.monotonic() + 30
    while workspace not in scanner.results:
        assert time.monotonic() < deadline, "the storage scan did not finish"
        time.sleep(0.02)


class Discovery:
    """Stands in for podman, which this machine lacks; counts how often it is asked."""

    def __init__(self, targets: dict[str, Target]) -> None:
        self.targets = targets
        self.calls = 0

    def __call__(self) -> dict[str, Target]:
        self.calls += 1
        return dict(self.targets)


def make_collector(real_pod: RealPod, tmp_path: Path, limit: int | None = None,
                   home: Path | None = None) -> tuple[Collector, Discovery]:
    target = Target(workspace="alice", pod_id=POD_ID,
                    cgroups=(real_pod.pod_slice, real_pod.workspace),
                    home_volume=home, disk_limit_bytes=limit)
    discovery = Discovery({"alice": target})
    collector = Collector(tmp_path / "telemetry", discovery, real_pod.mount,
                          Scanner(rootless=False))
    return collector, discovery


def test_metrics_written(real_pod: RealPod, tmp_path: Path) -> None:
    real_pod.start_sleeping(real_pod.infra)
    collector, _ = make_collector(real_pod, tmp_path)
    collector.sample_all()
    path = tmp_path / "telemetry" / "alice" / "metrics.json"
    figures = json.loads(path.read_text())
    assert figures["version"] == 1
    assert figures["workspace"] == "alice"
    assert figures["processes"] == 1
    assert figures["cpu"]["cores_used"] is None
    assert figures["memory"]["source"] == "rss-sum"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [entry.name for entry in path.parent.iterdir()] == ["metrics.json"]


def test_cpu_is_delta_between_samples(real_pod: RealPod, tmp_path: Path) -> None:
    collector, _ = make_collector(real_pod, tmp_path)
    first = collector.sample_all()["alice"]
    busy = real_pod.start(real_pod.workspace, BUSY)
    assert busy.stdout is not None
    assert busy.stdout.readline() == "done\n"
    second = collector.sample_all()["alice"]
    grown = second["cpu"]["usage_usec"] - first["cpu"]["usage_usec"]
    assert grown >= 250_000
    assert second["cpu"]["cores_used"] > 0


def test_metrics_replaced_by_rename(real_pod: RealPod, tmp_path: Path) -> None:
    collector, _ = make_collector(real_pod, tmp_path)
    collector.sample_all()
    path = tmp_path / "telemetry" / "alice" / "metrics.json"
    first_inode = path.stat().st_ino
    collector.sample_all()
    assert path.stat().st_ino != first_inode


def test_storage_matches_allocated_bytes(real_pod: RealPod, tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    collector, _ = make_collector(real_pod, tmp_path, limit=10**9, home=home)
    collector.sample_all()
    wait_for_scan(collector.scanner, "alice")
    figures = collector.sample_all()["alice"]
    assert figures["storage"]["bytes"] == allocated_bytes(home)
    assert figures["storage"]["limit_bytes"] == 10**9
    assert figures["storage"]["level"] == "ok"


@pytest.mark.parametrize(("used", "expected"), [
    (74, "ok"), (75, "warning"), (89, "warning"), (90, "critical"), (120, "critical"),
])
def test_storage_levels(used: int, expected: str) -> None:
    assert level(used, 100) == expected


def test_rootless_scan_in_user_namespace(tmp_path: Path) -> None:
    argv = scan_argv(tmp_path, rootless=True)
    assert argv[:4] == ["unshare", "--user", "--map-auto", "--map-root-user"]
    assert argv[4:] == ["du", "--summarize", "--block-size=1", "--one-file-system", str(tmp_path)]


def test_storage_level_without_quota() -> None:
    assert level(10**12, None) == "ok"


def test_scan_not_repeated_before_due(real_pod: RealPod, tmp_path: Path) -> None:
    home = make_home(tmp_path / "home", files=5)
    collector, _ = make_collector(real_pod, tmp_path, home=home)
    collector.sample_all()
    wait_for_scan(collector.scanner, "alice")
    assert not collector.scanner.maybe_start("alice", home, time.monotonic())


def test_rediscovers_when_cgroup_vanishes(real_pod: RealPod, tmp_path: Path) -> None:
    collector, discovery = make_collector(real_pod, tmp_path)
    collector.sample_all()
    collector.sample_all()
    assert discovery.calls == 1
    real_pod.folder(real_pod.workspace).rmdir()
    collector.sample_all()
    assert discovery.calls == 2


def test_rediscovers_when_pods_change(real_pod: RealPod, tmp_path: Path) -> None:
    collector, discovery = make_collector(real_pod, tmp_path)
    collector.sample_all()
    # A new pod's slice appears beside the known one.
    real_pod.folder(f"{real_pod.base}/user.slice/user-libpod_pod_0123.slice").mkdir()
    collector.sample_all()
    assert discovery.calls == 2


def test_workspace_without_cgroup_skipped(real_pod: RealPod, tmp_path: Path) -> None:
    target = Target("bob", POD_ID, (), None, None)
    collector = Collector(tmp_path / "telemetry", Discovery({"bob": target}), real_pod.mount,
                          Scanner(rootless=False))
    assert collector.sample_all() == {}
    assert not (tmp_path / "telemetry" / "bob").exists()


def test_user_manager_folders() -> None:
    own = "/user.slice/user-1000.slice/user@1000.service/app.slice/winalux-collector.service"
    folders = user_manager_folders(Path("/sys/fs/cgroup"), own)
    manager = Path("/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service")
    assert folders == [manager / "app.slice", manager / "user.slice"]
    assert user_manager_folders(Path("/sys/fs/cgroup"), "/system.slice/cron.service") == []


def test_collector_command_runs() -> None:
    result = subprocess.run([*telemetry.collector_argv(), "--help"], capture_output=True,
                            text=True, cwd="/")
    assert result.returncode == 0, result.stderr
    assert "--interval" in result.stdout


def test_collector_loads_no_click() -> None:
    probe = ("import sys, winalux.host.telemetry.__main__\n"
             "print(sorted(m for m in ('click', 'jinja2', 'yaml') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True,
                            text=True, cwd="/")
    assert result.stdout.strip() == "[]", result.stderr


def test_exec_start_quoting() -> None:
    line = telemetry.collector_exec_start("/opt/100% venv/bin/python")
    assert line == f'"/opt/100%% venv/bin/python" -I -S {telemetry.LAUNCHER}'


def test_unit_template_renders() -> None:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(REPO / "templates"),
                                     undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    text = environment.get_template("host/winalux-collector.service.j2").render(
        exec_start=telemetry.collector_exec_start("/usr/bin/python3"))
    assert f"\nExecStart=/usr/bin/python3 -I -S {telemetry.LAUNCHER}\n" in text
    assert "\nWantedBy=default.target\n" in text


def test_telemetry_dir_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    folder = telemetry.ensure_telemetry_dir("alice")
    assert folder == tmp_path / "winalux" / "telemetry" / "alice"
    assert folder.is_dir()
