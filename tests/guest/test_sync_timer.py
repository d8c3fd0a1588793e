"""`winalux host install` in the nspawn guest: the timer applies pushed commits by itself."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import pytest

from tests.host.guest_agent import (
    GUEST_HOST,
    Agent,
    booted,
    import_test_image,
    install_winalux,
    unavailable_reason,
)
from tests.host.workspace_repo import PROJECT, workspace_yaml
from tests.support import require

pytestmark = pytest.mark.guest

UNIT_DIR = "/home/dev/.config/systemd/user"
# Generous: the timer fires every 5 s plus up to 1 s of randomised delay, and a first pod
# start in the guest takes about a second.
SETTLE = 90


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    reason = unavailable_reason()
    require(not reason, reason)
    with booted(f"timer-{os.getpid()}") as guest:
        install_winalux(guest, tmp_path_factory.mktemp("guest-install"))
        import_test_image(guest)
        yield Agent.create(guest)


def _eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + SETTLE
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {SETTLE} s")


def test_install_starts_timer(agent: Agent) -> None:
    agent.repo.set_workspaces({"tim": workspace_yaml("tim", GUEST_HOST, 2500)}, "Add tim")
    result = agent.winalux("host", "install", "--repo", agent.remote_in_guest, "--host",
                           GUEST_HOST, "--interval", "5s", check=True)
    assert f"wrote {UNIT_DIR}/winalux-sync.timer" in result.stdout
    assert f"wrote {UNIT_DIR}/winalux-sync.service" in result.stdout
    assert agent.is_active("winalux-sync.timer") == "active"
    if (PROJECT / "templates/host/winalux-collector.service.j2").exists():
        assert f"wrote {UNIT_DIR}/winalux-collector.service" in result.stdout
        enabled = agent.user("systemctl", "--user", "is-enabled", "winalux-collector.service",
                             check=False).stdout.strip()
        assert enabled == "enabled"
    settings = agent.guest.rootfs / "home/dev/.config/winalux/sync.env"
    assert settings.stat().st_mode & 0o077 == 0
    assert "WINALUX_REPO='/srv/e2e/remote.git'" in settings.read_text()
    _eventually(lambda: agent.is_active("winalux-tim-pod.service") == "active",
                "the timer's first sync starting tim")


def test_timer_applies_pushed_commit(agent: Agent) -> None:
    agent.repo.set_workspaces({"tom": workspace_yaml("tom", GUEST_HOST, 2510)}, "Add tom")
    _eventually(lambda: agent.is_active("winalux-tom-pod.service") == "active",
                "the timer starting tom")
    journal = agent.user("journalctl", "--user", "--unit", "winalux-sync.service",
                         "--output", "cat").stdout
    assert "winalux.host.sync: sync done commit=" in journal
    for name in ("tim", "tom"):
        token = agent.winalux("token", "show", name, "--force", check=True).stdout.strip()
        assert token not in journal


def test_failed_sync_marks_service_failed(agent: Agent) -> None:
    tim_before = agent.container_id("winalux-tim.workspace")
    agent.repo.write("workspaces/tom.yml", "name: tom\n")
    agent.repo.push("Break tom")
    _eventually(lambda: agent.is_active("winalux-sync.service") == "failed",
                "the sync service showing failed")
    errors = agent.user("journalctl", "--user", "--unit", "winalux-sync.service",
                        "--priority", "err", "--output", "cat").stdout
    assert "does not validate" in errors
    assert agent.is_active("winalux-tom-pod.service") == "active"
    assert agent.container_id("winalux-tim.workspace") == tim_before

    agent.repo.set_workspaces({"tom": workspace_yaml("tom", GUEST_HOST, 2510)}, "Fix tom")
    _eventually(lambda: agent.is_active("winalux-sync.service") != "failed",
                "the sync service recovering")


def test_uninstall_leaves_workspaces_running(agent: Agent) -> None:
    result = agent.winalux("host", "uninstall", check=True)
    assert f"removed {UNIT_DIR}/winalux-sync.timer" in result.stdout
    assert agent.is_active("winalux-sync.timer") in {"inactive", "unknown"}
    for unit in ("winalux-sync.timer", "winalux-sync.service", "winalux-collector.service"):
        assert not (agent.guest.rootfs / "home/dev/.config/systemd/user" / unit).exists()
    assert agent.is_active("winalux-tim-pod.service") == "active"
    assert agent.is_active("winalux-tom-pod.service") == "active"


def test_uninstall_can_remove_workspaces(agent: Agent) -> None:
    agent.user("mkdir", "-p", "/home/dev/.config/containers/systemd/winalux")
    mine = agent.guest.rootfs / "home/dev/.config/containers/systemd/winalux/notes.txt"
    mine.write_text("not a unit of the agent\n")
    result = agent.winalux("host", "uninstall", "--remove-workspaces", check=True)
    assert "stopped and removed workspaces: tim, tom" in result.stderr
    for name in ("tim", "tom"):
        assert agent.is_active(f"winalux-{name}-pod.service") != "active"
        assert not agent.exists("secret", f"winalux-{name}.token")
        assert agent.exists("volume", f"winalux-{name}.home")
    assert [path.name for path in agent.unit_dir().iterdir()] == ["notes.txt"]
    assert agent.winalux("status").stdout.startswith("result: never")
