"""Targets built from real podman 5.4.2 output of a Quadlet pod."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tests.telemetry.conftest import INFRA_ID, POD_ID, WORKSPACE_ID
from winalux.host.telemetry import discover
from winalux.host.telemetry.discover import targets_from
from winalux.spec import names

DATA = Path(__file__).parent / "data" / "podman-5.4.2"
MANAGER = "/user.slice/user-1000.slice/user@1000.service"


@pytest.fixture
def captured() -> tuple[list[dict], list[dict], dict[int, str]]:
    pods = json.loads((DATA / "pod-ps.json").read_text())
    containers = json.loads((DATA / "container-inspect.json").read_text())
    lines = (DATA / "proc-cgroup.txt").read_text().split("\n")
    cgroup_by_pid = {int(pid): path for pid, path in (line.split() for line in lines if line)}
    return pods, containers, cgroup_by_pid


def test_targets_from_quadlet_pod(captured: tuple) -> None:
    pods, containers, cgroup_by_pid = captured
    targets = targets_from(pods, containers, cgroup_by_pid.get)
    target = targets["probe"]
    assert target.pod_id == POD_ID
    assert target.cgroups == (
        f"{MANAGER}/user.slice/user-libpod_pod_{POD_ID}.slice",
        f"{MANAGER}/app.slice/winalux-probe.workspace.service/libpod-payload-{WORKSPACE_ID}",
    )
    assert target.home_volume == Path(
        "/home/dev/.local/share/containers/storage/volumes/winalux-probe.home/_data")
    assert target.disk_limit_bytes == 3 * 10**9


def test_infra_cut_at_pod_slice(captured: tuple) -> None:
    pods, containers, cgroup_by_pid = captured
    infra_only = [c for c in containers if c["Id"] == INFRA_ID]
    target = targets_from(pods, infra_only, cgroup_by_pid.get)["probe"]
    assert target.cgroups == (f"{MANAGER}/user.slice/user-libpod_pod_{POD_ID}.slice",)


@pytest.mark.parametrize("name", ["probe", "winalux-a.b", "winalux-", "winalux-Upper"])
def test_other_pods_ignored(captured: tuple, name: str) -> None:
    pods, containers, cgroup_by_pid = captured
    renamed = copy.deepcopy(pods)
    renamed[0]["Name"] = name
    assert targets_from(renamed, containers, cgroup_by_pid.get) == {}


def test_stopped_pod_ignored(captured: tuple) -> None:
    pods, containers, cgroup_by_pid = captured
    stopped = copy.deepcopy(pods)
    stopped[0]["Status"] = "Exited"
    assert targets_from(stopped, containers, cgroup_by_pid.get) == {}


def test_shared_cgroup_skipped(captured: tuple) -> None:
    # Without a cgroup manager, a container stays in the cgroup of whatever started it.
    pods, containers, _ = captured
    target = targets_from(pods, containers, lambda pid: f"{MANAGER}/app.slice/shell.scope")
    assert target["probe"].cgroups == ()


def test_missing_environment_gives_no_limit(captured: tuple) -> None:
    pods, containers, cgroup_by_pid = captured
    stripped = copy.deepcopy(containers)
    for container in stripped:
        container["Config"]["Env"] = []
        container["Mounts"] = []
    target = targets_from(pods, stripped, cgroup_by_pid.get)["probe"]
    assert target.disk_limit_bytes is None
    assert target.home_volume is None


def test_prefix_matches_names() -> None:
    assert discover.PREFIX == names.PREFIX
