"""The collector's loop: sample every workspace's pod, write its figures, repeat.

Each sample reads the pods' cgroups; CPU use is the growth of `usage_usec` between two samples
divided by the time between them. The figures of a workspace go to
`<output>/<workspace>/metrics.json`, replaced by a rename so that a reader never sees half a
file. The units mount that folder, not the file: a bind-mounted file would keep showing the
old copy after the rename.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from winalux.host.telemetry import cgroups, storage
from winalux.host.telemetry.discover import Target

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
FORMAT_VERSION = 1
DEFAULT_INTERVAL_S = 10.0
# A podman call costs far more than a sample. So the collector calls podman again only when
# a folder of pods or services changed or a known cgroup vanished, and at the latest after
# REDISCOVER_S (REDISCOVER_UNWATCHED_S when it found no folder of the user manager to watch).
REDISCOVER_S = 600.0
REDISCOVER_UNWATCHED_S = 60.0
USER_MANAGER = re.compile(r"user@\d+\.service")


@dataclass
class _Previous:
    usage_usec: int
    at: float


class Collector:
    """Samples the targets from `discover` and writes their figures under `output`."""

    def __init__(
        self,
        output: Path,
        discover: Callable[[], dict[str, Target] | None],
        mount: Path,
        scanner: storage.Scanner | None = None,
        interval: float = DEFAULT_INTERVAL_S,
    ) -> None:
        self.output = output
        self.discover = discover
        self.mount = mount
        self.scanner = scanner or storage.Scanner()
        self.interval = interval
        self.targets: dict[str, Target] = {}
        self._previous: dict[str, _Previous] = {}
        self._discovered_at = float("-inf")
        self._failing: set[str] = set()
        self._manager_folders = user_manager_folders(mount, cgroups.process_cgroup(os.getpid()))
        self._signature: tuple = ()

    def run(self, stop: threading.Event) -> None:
        logger.info("collector started: every %.0f s into %s", self.interval, self.output)
        while not stop.is_set():
            started = time.monotonic()
            self.sample_all()
            stop.wait(max(0.0, self.interval - (time.monotonic() - started)))
        logger.info("collector stopped")

    def sample_all(self) -> dict[str, dict]:
        """Take one sample of every workspace, write the figures and return them by name."""
        self._refresh_targets()
        written = {}
        for name, target in sorted(self.targets.items()):
            figures = self._sample(target)
            if figures is not None:
                write_metrics(self.output / name, figures)
                written[name] = figures
        return written

    def _refresh_targets(self) -> None:
        now = time.monotonic()
        signature = self._folder_signature()
        gone = any(
            not (self.mount / path.lstrip("/")).is_dir()
            for target in self.targets.values()
            for path in target.cgroups
        )
        limit = REDISCOVER_S if self._manager_folders else REDISCOVER_UNWATCHED_S
        fresh = now - self._discovered_at < limit
        if fresh and not gone and signature == self._signature:
            return
        found = self.discover()
        self._discovered_at = now
        if found is None:
            return
        for name in sorted(set(self.targets) - set(found)):
            logger.info("workspace %s stopped; keeping its last figures", name)
            self._previous.pop(name, None)
            self.scanner.forget(name)
        for name in sorted(set(found) - set(self.targets)):
            logger.info("workspace %s found with cgroups %s", name, ", ".join(found[name].cgroups))
        self.targets = found
        self._signature = self._folder_signature()

    def _folder_signature(self) -> tuple:
        """List the folders where pods and services appear; any change means a new discovery."""
        folders = set(self._manager_folders)
        for target in self.targets.values():
            folders.update((self.mount / path.lstrip("/")).parent for path in target.cgroups)
        listing = []
        for folder in sorted(folders):
            try:
                listing.append((str(folder), tuple(sorted(os.listdir(folder)))))
            except OSError:
                listing.append((str(folder), ()))
        return tuple(listing)

    def _sample(self, target: Target) -> dict | None:
        if not target.cgroups:
            self._report_once(target.workspace, "has no cgroup of its own to measure")
            return None
        try:
            pod = cgroups.read_pod(self.mount, target.cgroups)
        except OSError as err:
            self._report_once(target.workspace, f"cgroup unreadable: {err}")
            return None
        self._failing.discard(target.workspace)
        now = time.monotonic()
        figures = build_figures(
            target, pod, self._cores_used(target.workspace, pod, now), self._storage(target, now)
        )
        return figures

    def _cores_used(self, workspace: str, pod: cgroups.PodFigures, now: float) -> float | None:
        previous = self._previous.get(workspace)
        self._previous[workspace] = _Previous(pod.usage_usec, now)
        if previous is None or now <= previous.at or pod.usage_usec < previous.usage_usec:
            return None
        return (pod.usage_usec - previous.usage_usec) / 1e6 / (now - previous.at)

    def _storage(self, target: Target, now: float) -> dict | None:
        if target.home_volume is not None:
            self.scanner.maybe_start(target.workspace, target.home_volume, now)
        result = self.scanner.results.get(target.workspace)
        if result is None:
            return None
        return {
            "bytes": result.bytes,
            "limit_bytes": target.disk_limit_bytes,
            "level": storage.level(result.bytes, target.disk_limit_bytes),
            "scanned_epoch": round(result.finished, 3),
            "scan_seconds": round(result.seconds, 3),
        }

    def _report_once(self, workspace: str, problem: str) -> None:
        if workspace not in self._failing:
            logger.error("workspace %s: %s; its figures are not updated", workspace, problem)
            self._failing.add(workspace)


def user_manager_folders(mount: Path, own_cgroup: str | None) -> list[Path]:
    """Return the app.slice and user.slice of the systemd user manager this process runs
    under, where Quadlet's services and podman's pod slices appear."""
    parts = (own_cgroup or "").strip("/").split("/")
    for index, part in enumerate(parts):
        if USER_MANAGER.fullmatch(part):
            manager = mount.joinpath(*parts[: index + 1])
            return [manager / name for name in ("app.slice", "user.slice")]
    return []


def build_figures(
    target: Target, pod: cgroups.PodFigures, cores_used: float | None, storage_figures: dict | None
) -> dict:
    """Return the JSON document the dashboard reads (format version 1)."""
    now = time.time()
    return {
        "version": FORMAT_VERSION,
        "workspace": target.workspace,
        "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "updated_epoch": round(now, 3),
        "cpu": {
            "cores_used": None if cores_used is None else round(cores_used, 4),
            "limit_cores": pod.cpu_limit_cores,
            "host_cores": os.cpu_count() or 1,
            "usage_usec": pod.usage_usec,
        },
        "memory": {
            "bytes": pod.memory_bytes,
            "limit_bytes": pod.memory_limit_bytes,
            "source": pod.memory_source,
        },
        "processes": pod.processes,
        "storage": storage_figures,
    }


def write_metrics(folder: Path, figures: dict) -> None:
    """Replace folder/metrics.json in one rename; readable by the container's users."""
    folder.mkdir(mode=0o755, parents=True, exist_ok=True)
    staged = folder / f".{METRICS_FILE}.{os.getpid()}"
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        json.dump(figures, stream, sort_keys=True)
        stream.write("\n")
    os.chmod(staged, 0o644)
    os.replace(staged, folder / METRICS_FILE)
