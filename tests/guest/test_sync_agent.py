"""The sync agent end to end: systemd user manager and rootless podman in an nspawn guest.

One guest serves the module; each test uses workspaces of its own so that their pods and
volumes do not meet.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.host.guest_agent import (
    GUEST_HOST,
    GUEST_SH,
    Agent,
    booted,
    import_test_image,
    install_winalux,
    unavailable_reason,
)
from tests.host.workspace_repo import workspace_yaml
from tests.support import require

pytestmark = pytest.mark.guest


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    reason = unavailable_reason()
    require(not reason, reason)
    with booted(f"sync-{os.getpid()}") as guest:
        install_winalux(guest, tmp_path_factory.mktemp("guest-install"))
        import_test_image(guest)
        yield Agent.create(guest)


def _pods(agent: Agent, *names: str) -> dict[str, str]:
    return {name: agent.container_id(f"winalux-{name}.workspace") for name in names}


def test_doctor_passes_in_guest(agent: Agent) -> None:
    result = agent.winalux("doctor", "--no-pull")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   podman: podman 5." in result.stdout


def test_sync_starts_new_pods(agent: Agent) -> None:
    agent.repo.set_workspaces(
        {
            "ann": workspace_yaml("ann", GUEST_HOST, 2300),
            "ben": workspace_yaml("ben", GUEST_HOST, 2310),
        },
        "Add ann, ben",
    )
    result = agent.sync()
    assert result.returncode == 0, result.stderr
    assert "create  ann: start winalux-ann-pod.service" in result.stdout
    for name in ("ann", "ben"):
        assert agent.is_active(f"winalux-{name}-pod.service") == "active"
        assert agent.is_active(f"winalux-{name}.workspace.service") == "active"
        assert agent.exists("secret", f"winalux-{name}.token")
    status = json.loads(agent.winalux("status", "--json", check=True).stdout)
    assert status["result"] == "ok"
    assert status["workspaces"]["ann"]["status"] == "started"


def test_doctor_checks_workspace_images(agent: Agent) -> None:
    result = agent.winalux("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   image localhost/winalux-test-base:1: present" in result.stdout


def test_unchanged_sync_restarts_nothing(agent: Agent) -> None:
    before = _pods(agent, "ann", "ben")
    result = agent.sync()
    assert result.returncode == 0, result.stderr
    assert "nothing to do" in result.stdout
    assert "systemctl --user" not in result.stderr
    assert _pods(agent, "ann", "ben") == before


def test_change_restarts_only_changed_pod(agent: Agent) -> None:
    before = _pods(agent, "ann", "ben")
    agent.repo.set_workspaces(
        {"ben": workspace_yaml("ben", GUEST_HOST, 2310, extra="disk_limit_gb: 20\n")},
        "Give ben 20 GB",
    )
    result = agent.sync()
    assert result.returncode == 0, result.stderr
    assert "change  ben (disk_limit_gb): restart winalux-ben-pod.service" in result.stdout
    after = _pods(agent, "ann", "ben")
    assert after["ann"] == before["ann"]
    assert after["ben"] != before["ben"]
    assert agent.is_active("winalux-ben-pod.service") == "active"
    env = agent.shell("winalux-ben.workspace", "echo $WINALUX_DISK_LIMIT_GB")
    assert env.strip() == "20"


def test_killed_container_comes_back(agent: Agent) -> None:
    """A crash (here SIGKILL, as the OOM killer sends) must not leave the workspace down."""
    before = _pods(agent, "ann")["ann"]
    agent.user("podman", "kill", "--signal", "KILL", "winalux-ann.workspace")
    deadline = time.monotonic() + 60
    after = ""
    while time.monotonic() < deadline:
        after = _current_id(agent, "winalux-ann.workspace")
        if (
            after
            and after != before
            and agent.is_active("winalux-ann.workspace.service") == "active"
        ):
            break
        time.sleep(1)
    assert after
    assert after != before
    assert agent.is_active("winalux-ann.workspace.service") == "active"
    assert agent.is_active("winalux-ann-pod.service") == "active"


def _current_id(agent: Agent, container: str) -> str:
    result = agent.user(
        "podman", "ps", "--filter", f"name=^{container}$", "--format", "{{.ID}}", check=False
    )
    return result.stdout.strip()


def test_token_reaches_container(agent: Agent) -> None:
    token = agent.winalux("token", "show", "ann", "--force", check=True).stdout.strip()
    assert len(token) >= 43
    inside = agent.shell("winalux-ann.workspace", "cat /run/secrets/winalux-token", uid=1000)
    assert inside == token


def test_token_show_rejects_pipe(agent: Agent) -> None:
    result = agent.winalux("token", "show", "ann")
    assert result.returncode == 1
    assert "pass --force" in result.stderr
    assert result.stdout == ""


def test_token_rotate_restarts_pod(agent: Agent) -> None:
    old = agent.winalux("token", "show", "ann", "--force", check=True).stdout.strip()
    before = _pods(agent, "ann", "ben")
    agent.winalux("token", "rotate", "ann", check=True)
    new = agent.winalux("token", "show", "ann", "--force", check=True).stdout.strip()
    assert new != old
    after = _pods(agent, "ann", "ben")
    assert after["ann"] != before["ann"]
    assert after["ben"] == before["ben"]
    assert agent.shell("winalux-ann.workspace", "cat /run/secrets/winalux-token", uid=1000) == new
    result = agent.sync()
    assert result.returncode == 0, result.stderr
    assert agent.winalux("token", "show", "ann", "--force", check=True).stdout.strip() == new


def test_removal_keeps_home_volume(agent: Agent) -> None:
    agent.repo.set_workspaces({"cid": workspace_yaml("cid", GUEST_HOST, 2320)}, "Add cid")
    assert agent.sync().returncode == 0
    agent.shell("winalux-cid.workspace", "echo kept-data > /home/developer/notes.txt")
    agent.repo.set_workspaces({"cid": None}, "Remove cid")
    result = agent.sync()
    assert result.returncode == 0, result.stderr
    assert "remove  cid: stop winalux-cid-pod.service" in result.stdout
    assert "home volume kept" in result.stdout
    assert agent.is_active("winalux-cid-pod.service") != "active"
    assert not agent.exists("pod", "winalux-cid")
    assert not agent.exists("secret", "winalux-cid.token")
    assert not (agent.unit_dir() / "winalux-cid.pod").exists()
    assert agent.exists("volume", "winalux-cid.home")
    data = agent.user(
        "podman",
        "run",
        "--rm",
        "-v",
        "winalux-cid.home:/data",
        "localhost/winalux-test-base:1",
        "cat",
        "/data/notes.txt",
    ).stdout
    assert data == "kept-data\n"


def test_purge_deletes_removed_volumes(agent: Agent) -> None:
    refused = agent.winalux("purge", "ann", "--yes")
    assert refused.returncode == 1
    assert "still runs on this host" in refused.stderr
    assert agent.exists("volume", "winalux-ann.home")

    result = agent.winalux("purge", "cid", "--yes")
    assert result.returncode == 0, result.stderr
    assert not agent.exists("volume", "winalux-cid.home")
    assert not agent.exists("volume", "winalux-cid.sshd")


def test_invalid_commit_leaves_pods(agent: Agent) -> None:
    before = _pods(agent, "ann", "ben")
    agent.repo.write("workspaces/ann.yml", "name: ann\nprofile: web\n")
    agent.repo.push("Break ann")
    result = agent.sync()
    assert result.returncode == 1
    assert "does not validate" in result.stderr
    assert _pods(agent, "ann", "ben") == before
    status = agent.winalux("status")
    assert status.returncode == 1
    assert "result: failed" in status.stdout
    agent.repo.set_workspaces({"ann": workspace_yaml("ann", GUEST_HOST, 2300)}, "Fix ann")
    assert agent.sync().returncode == 0
    assert _pods(agent, "ann", "ben") == before


def test_unreachable_remote_leaves_pods(agent: Agent) -> None:
    before = _pods(agent, "ann", "ben")
    result = agent.winalux("sync", "--repo", "/srv/e2e/missing.git", "--host", GUEST_HOST)
    assert result.returncode == 1
    assert "cannot update branch 'main'" in result.stderr
    assert "running workspaces are unchanged" in result.stderr
    assert _pods(agent, "ann", "ben") == before
    assert agent.sync().returncode == 0
    assert _pods(agent, "ann", "ben") == before


def test_failing_units_roll_back(agent: Agent) -> None:
    before = _pods(agent, "ann", "ben")
    agent.repo.set_workspaces(
        {
            "ben": workspace_yaml("ben", GUEST_HOST, 2310, image="localhost/not-there:1"),
            "dot": workspace_yaml("dot", GUEST_HOST, 2330),
        },
        "Move ben to a missing image and add dot",
    )
    result = agent.sync()
    assert result.returncode == 1
    assert "workspace ben" in result.stderr
    assert "restored the last good units" in result.stderr
    assert "journal of winalux-ben" in result.stderr
    after = _pods(agent, "ann", "ben")
    assert after["ann"] == before["ann"]
    assert agent.is_active("winalux-ben-pod.service") == "active"
    assert agent.is_active("winalux-ben.workspace.service") == "active"
    container = (agent.unit_dir() / "winalux-ben.workspace.container").read_text()
    assert "localhost/winalux-test-base:1" in container
    assert agent.is_active("winalux-dot-pod.service") != "active"
    assert not (agent.unit_dir() / "winalux-dot.pod").exists()

    again = agent.sync()
    assert again.returncode == 1
    assert "failed to apply before" in again.stderr
    assert _pods(agent, "ann")["ann"] == before["ann"]

    agent.repo.set_workspaces(
        {"ben": workspace_yaml("ben", GUEST_HOST, 2310, extra="disk_limit_gb: 20\n")}, "Fix ben"
    )
    fixed = agent.sync()
    assert fixed.returncode == 0, fixed.stderr
    assert agent.is_active("winalux-dot-pod.service") == "active"


def test_hand_edit_is_put_back(agent: Agent) -> None:
    unit = agent.unit_dir() / "winalux-ann.pod"
    original = unit.read_text()
    unit.write_text(original.replace("[Pod]\n", "[Pod]\nPublishPort=2399:2222\n"))
    before = _pods(agent, "ann", "ben")
    result = agent.sync()
    assert result.returncode == 0, result.stderr
    assert "drift   winalux-ann.pod was edited by hand" in result.stdout
    assert unit.read_text() == original
    after = _pods(agent, "ann", "ben")
    assert after["ann"] != before["ann"]
    assert after["ben"] == before["ben"]


@pytest.mark.parametrize("delay", ["0.3", "0.8", "1.5"])
def test_killed_sync_converges(agent: Agent, delay: str) -> None:
    limit = {"0.3": "21", "0.8": "22", "1.5": "23"}[delay]
    agent.repo.set_workspaces(
        {
            "ann": workspace_yaml("ann", GUEST_HOST, 2300, extra=f"disk_limit_gb: {limit}\n"),
            f"kill{limit}": workspace_yaml(f"kill{limit}", GUEST_HOST, 2400 + int(limit) * 10),
        },
        f"Change ann and add kill{limit}",
    )
    killed = agent.guest.run(
        "timeout",
        "--signal=KILL",
        delay,
        "/opt/winalux/bin/winalux",
        "sync",
        "--repo",
        agent.remote_in_guest,
        "--host",
        GUEST_HOST,
        check=False,
    )
    assert killed.returncode in (0, 137), killed.stderr
    leftovers = [p.name for p in agent.unit_dir().iterdir() if p.name.startswith(".")]
    assert leftovers == []

    result = agent.sync()
    assert result.returncode == 0, result.stderr
    for service in (
        "winalux-ann-pod.service",
        f"winalux-kill{limit}-pod.service",
        "winalux-ben-pod.service",
    ):
        assert agent.is_active(service) == "active"
    env = agent.shell("winalux-ann.workspace", "echo $WINALUX_DISK_LIMIT_GB")
    assert env.strip() == limit
    assert agent.sync().stdout.count("nothing to do") == 1


def test_concurrent_syncs_are_safe(agent: Agent) -> None:
    agent.repo.set_workspaces({"eve": workspace_yaml("eve", GUEST_HOST, 2340)}, "Add eve")
    argv = [
        "/opt/winalux/bin/winalux",
        "sync",
        "--repo",
        agent.remote_in_guest,
        "--host",
        GUEST_HOST,
    ]
    first = subprocess.Popen(
        [str(GUEST_SH), "user", agent.guest.name, "--", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    second = agent.guest.run(*argv, check=False)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert second.returncode == 0, second.stderr
    assert agent.is_active("winalux-eve-pod.service") == "active"
    created = (out + second.stdout).count("create  eve")
    assert created == 1


def test_busy_lock_reports_holder(agent: Agent) -> None:
    marker = agent.guest.rootfs / "home/dev/lock-held"
    marker.unlink(missing_ok=True)
    holder = subprocess.Popen(
        [
            str(GUEST_SH),
            "user",
            agent.guest.name,
            "--",
            "flock",
            "/home/dev/.local/state/winalux/sync.lock",
            "sh",
            "-c",
            "touch /home/dev/lock-held; sleep 10",
        ],
    )
    try:
        for _ in range(300):
            if marker.exists():
                break
            agent.guest.run("sleep", "0.1")
        assert marker.exists()
        result = agent.sync("--wait", "0")
        assert result.returncode == 1
        assert "another sync is running" in result.stderr
        assert "--wait" in result.stderr
    finally:
        holder.kill()
        holder.wait(timeout=60)
