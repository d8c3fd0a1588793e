"""The test guest itself: a hand-written Quadlet pod runs under dev's user manager."""

from __future__ import annotations

import time

import pytest

from tests.support import require
from tests.support.guest import (
    BASE_IMAGE,
    USER_UNIT_DIR,
    Guest,
    booted_guest,
    cached_rootfs,
    unavailable_reason,
    unique_name,
)

pytestmark = pytest.mark.guest

POD = """\
[Pod]
PodName=smoke
"""

# busybox sleep as PID 1 ignores SIGTERM: an init passes the signal on, and the exit
# status 143 that follows counts as a clean stop.
CONTAINER = f"""\
[Container]
Image={BASE_IMAGE}
Pod=smoke.pod
Exec=/bin/sleep 100000
RunInit=true
StopTimeout=5

[Service]
SuccessExitStatus=143
"""

SETTLE_SECONDS = 30


def _states(guest: Guest, *units: str) -> list[str]:
    argv = ["systemctl", "--user", "is-active", *units]
    return guest.run_user(argv, check=False).stdout.split()


def _wait_active(guest: Guest, *units: str) -> list[str]:
    deadline = time.monotonic() + SETTLE_SECONDS
    states = _states(guest, *units)
    while any(state == "activating" for state in states) and time.monotonic() < deadline:
        time.sleep(0.2)
        states = _states(guest, *units)
    return states


def test_quadlet_pod_runs_as_dev(guest: Guest) -> None:
    guest.write_file(f"{USER_UNIT_DIR}/smoke.pod", POD, owner="dev")
    guest.write_file(f"{USER_UNIT_DIR}/smoke-sleeper.container", CONTAINER, owner="dev")
    guest.run_user(["systemctl", "--user", "daemon-reload"])
    guest.run_user(["systemctl", "--user", "start", "smoke-pod.service"])

    units = ("smoke-pod.service", "smoke-sleeper.service")
    assert _wait_active(guest, *units) == ["active", "active"]
    running = guest.run_user(["podman", "ps", "--filter", "pod=smoke", "--format", "{{.Names}}"])
    assert "systemd-smoke-sleeper" in running.stdout.split()

    guest.run_user(["systemctl", "--user", "stop", "smoke-pod.service"])
    assert _states(guest, *units) == ["inactive", "inactive"]
    assert guest.run_user(["podman", "pod", "exists", "smoke"], check=False).returncode == 1
    # The guest works on a copy, so the test's files never reach the cached root filesystem.
    assert not (cached_rootfs() / USER_UNIT_DIR.lstrip("/") / "smoke.pod").exists()


def test_stop_removes_the_copy() -> None:
    reason = unavailable_reason()
    require(reason is None, reason or "")
    with booted_guest(unique_name("wx-stop")) as guest:
        rootfs = guest.rootfs
        assert guest.run(["systemctl", "is-system-running"], check=False).stdout.strip() in (
            "running",
            "degraded",
        )
        assert rootfs.is_dir()
    assert not rootfs.exists()
    assert not guest.state_dir.exists()
