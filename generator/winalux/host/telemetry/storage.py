"""Disk use of a workspace's home volume, measured by `du` in the background.

Files in a rootless volume belong to the user's subordinate ids, which the user cannot read
from the host, so a rootless collector scans inside a user namespace that maps them, as
podman's does. `unshare --map-auto` makes one in a few milliseconds, where `podman unshare`
adds about 50 ms to every scan. A scan of a large home is costly, so scans are spaced by how
long the last one took.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from winalux.run import CommandError, run

logger = logging.getLogger(__name__)

MIN_SCAN_INTERVAL_S = 300.0
MAX_SCAN_INTERVAL_S = 3600.0
# The next scan waits this many times the last scan's duration, so scans take at most 0.5 %
# of one core. A home that scans in under 1.5 s waits MIN_SCAN_INTERVAL_S and costs less.
SCAN_SPACING = 200
WARNING_PERCENT = 75
CRITICAL_PERCENT = 90


@dataclass(frozen=True)
class Scan:
    bytes: int
    finished: float
    seconds: float


def scan_argv(path: Path, rootless: bool | None = None) -> list[str]:
    """Return the du command line for a volume, inside a user namespace when rootless."""
    du = ["du", "--summarize", "--block-size=1", "--one-file-system", str(path)]
    if rootless is None:
        rootless = os.geteuid() != 0
    if not rootless:
        return du
    # Root in a namespace that maps the user's subordinate ids (/etc/subuid) can read every
    # file. This needs util-linux 2.38 or newer and newuidmap, as rootless podman does.
    return ["unshare", "--user", "--map-auto", "--map-root-user", *du]


def scan(path: Path, rootless: bool | None = None) -> Scan:
    """Measure the bytes allocated under path; raise CommandError or ValueError on failure."""
    started = time.monotonic()
    result = run(scan_argv(path, rootless), timeout=MAX_SCAN_INTERVAL_S)
    seconds = time.monotonic() - started
    return Scan(bytes=int(result.stdout.split()[0]), finished=time.time(), seconds=seconds)


def level(used: int, limit: int | None) -> str:
    """Return "ok", "warning" (75 % of the quota) or "critical" (90 %)."""
    if not limit:
        return "ok"
    percent = 100 * used / limit
    if percent >= CRITICAL_PERCENT:
        return "critical"
    if percent >= WARNING_PERCENT:
        return "warning"
    return "ok"


class Scanner:
    """Runs at most one scan at a time in a thread and keeps the latest result per workspace."""

    def __init__(self, rootless: bool | None = None) -> None:
        self.rootless = rootless
        self.results: dict[str, Scan] = {}
        self._due: dict[str, float] = {}
        self._busy = threading.Lock()

    def maybe_start(self, workspace: str, path: Path, now: float) -> bool:
        """Start a scan of path if one is due and none is running; return whether it started."""
        if now < self._due.get(workspace, 0.0) or not self._busy.acquire(blocking=False):
            return False
        thread = threading.Thread(
            target=self._scan, args=(workspace, path), name=f"scan-{workspace}", daemon=True
        )
        thread.start()
        return True

    def _scan(self, workspace: str, path: Path) -> None:
        try:
            result = scan(path, self.rootless)
        except (CommandError, ValueError, IndexError) as err:
            logger.error("storage scan of workspace %s (%s) failed: %s", workspace, path, err)
            self._due[workspace] = time.monotonic() + MIN_SCAN_INTERVAL_S
        else:
            self.results[workspace] = result
            spacing = min(
                max(result.seconds * SCAN_SPACING, MIN_SCAN_INTERVAL_S), MAX_SCAN_INTERVAL_S
            )
            self._due[workspace] = time.monotonic() + spacing
            logger.info(
                "scanned workspace %s: %d bytes in %.2f s; next scan in %.0f s",
                workspace,
                result.bytes,
                result.seconds,
                spacing,
            )
        finally:
            self._busy.release()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no scan runs; return False if one still runs after `timeout` seconds."""
        if not self._busy.acquire(timeout=timeout):
            return False
        self._busy.release()
        return True

    def forget(self, workspace: str) -> None:
        self.results.pop(workspace, None)
        self._due.pop(workspace, None)
