"""Find the pods of this user's workspaces and what the collector measures of each.

Two podman calls describe every workspace at once: `podman pod ps` names the pods and their
containers, `podman container inspect` gives each container's main process, environment and
mounts. The cgroups come from those processes, because where podman puts them depends on the
cgroup manager and on Quadlet's `--cgroups=split`: under the pod's slice, or under each
container's service.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from winalux.host.telemetry import cgroups
from winalux.run import CommandError, run

logger = logging.getLogger(__name__)

# The same as winalux.spec.names.PREFIX (a test keeps them equal). Importing the spec package
# would load YAML and JSON Schema into a service meant to stay small.
PREFIX = "winalux-"
HOME_MOUNT = "/home/developer"
WORKSPACE_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
RUNNING = ("running", "degraded")


@dataclass(frozen=True)
class Target:
    """The cgroups, home volume and disk quota of one workspace's pod."""

    workspace: str
    pod_id: str
    cgroups: tuple[str, ...]
    home_volume: Path | None
    disk_limit_bytes: int | None


def discover(podman: str = "podman", proc: Path = Path("/proc")) -> dict[str, Target]:
    """Return the running workspaces of this user by name; raise CommandError if podman fails."""
    pods = _podman_json([podman, "pod", "ps", "--format", "json", "--filter", f"name=^{PREFIX}"])
    ids = [
        container["Id"]
        for pod in pods
        if _is_workspace_pod(pod)
        for container in pod.get("Containers") or []
    ]
    containers = _podman_json([podman, "container", "inspect", *ids]) if ids else []
    return targets_from(pods, containers, lambda pid: cgroups.process_cgroup(pid, proc))


def _podman_json(argv: list[str]) -> list[dict]:
    result = run(argv, timeout=60)
    return json.loads(result.stdout or "[]") or []


def _is_workspace_pod(pod: dict) -> bool:
    name = str(pod.get("Name", ""))
    if not name.startswith(PREFIX) or not WORKSPACE_NAME.match(name[len(PREFIX) :]):
        return False
    return str(pod.get("Status", "")).lower() in RUNNING


def targets_from(
    pods: list[dict], containers: list[dict], cgroup_of: Callable[[int], str | None]
) -> dict[str, Target]:
    """Build the targets from podman's JSON; `cgroup_of` maps a host PID to its cgroup."""
    by_pod: dict[str, list[dict]] = {}
    for container in containers:
        by_pod.setdefault(container.get("Pod", ""), []).append(container)
    targets = {}
    for pod in pods:
        if not _is_workspace_pod(pod):
            continue
        workspace = pod["Name"][len(PREFIX) :]
        members = by_pod.get(pod["Id"], [])
        targets[workspace] = Target(
            workspace=workspace,
            pod_id=pod["Id"],
            cgroups=_pod_cgroups(pod["Id"], members, cgroup_of),
            home_volume=_home_volume(members),
            disk_limit_bytes=_disk_limit(members),
        )
    return targets


def _pod_cgroups(
    pod_id: str, members: list[dict], cgroup_of: Callable[[int], str | None]
) -> tuple[str, ...]:
    """Return the topmost cgroups that belong to the pod and nothing else."""
    found = []
    for container in members:
        pid = int((container.get("State") or {}).get("Pid") or 0)
        path = cgroup_of(pid) if pid > 0 else None
        if path is None:
            continue
        owned = _owned_part(path, pod_id, container["Id"])
        if owned is None:
            # Without a cgroup of its own (cgroup v1, or cgroups disabled), the process
            # shares one with others: summing it would measure more than the pod.
            logger.warning(
                "container %s of pod %s has no cgroup of its own (%s); skipped",
                container["Id"][:12],
                pod_id[:12],
                path,
            )
            continue
        found.append(owned)
    return tuple(cgroups.topmost(found))


def _owned_part(path: str, pod_id: str, container_id: str) -> str | None:
    """Cut the path after the part named for the pod, else after the part named for the
    container; None when neither name appears."""
    parts = path.split("/")
    for key in (pod_id, container_id):
        for index, part in enumerate(parts):
            if key in part:
                return "/".join(parts[: index + 1])
    return None


def _home_volume(members: list[dict]) -> Path | None:
    for container in members:
        for mount in container.get("Mounts") or []:
            if mount.get("Destination") == HOME_MOUNT and mount.get("Source"):
                return Path(mount["Source"])
    return None


def _disk_limit(members: list[dict]) -> int | None:
    for container in members:
        for entry in (container.get("Config") or {}).get("Env") or []:
            key, _, value = entry.partition("=")
            if key == "WINALUX_DISK_LIMIT_GB" and value.strip().isdigit():
                return int(value) * 10**9
    return None


def discover_or_log(podman: str) -> dict[str, Target] | None:
    """Like discover, but log a failure and return None so that the collector keeps going."""
    try:
        return discover(podman)
    except (CommandError, ValueError) as err:
        logger.error("cannot list the workspaces' pods: %s", err)
        return None
