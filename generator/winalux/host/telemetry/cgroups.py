"""Figures of a pod read from its cgroup v2 tree and from /proc.

The pod is the set of cgroups that hold its containers; each figure is summed over the
topmost of them, so nested cgroups count once. CPU time comes from `cpu.stat` (always there in
cgroup v2), memory from `memory.current` when the memory controller is delegated, otherwise
from the resident set sizes of the processes listed in those cgroups.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class PodFigures:
    """One reading of a pod; memory_source is "memory.current" or "rss-sum"."""

    usage_usec: int
    memory_bytes: int
    memory_source: str
    memory_limit_bytes: int | None
    cpu_limit_cores: float | None
    processes: int


def find_cgroup2_mount(mountinfo: Path = Path("/proc/self/mountinfo")) -> Path | None:
    """Return where cgroup2 is mounted: /sys/fs/cgroup, or /sys/fs/cgroup/unified on a
    hybrid host."""
    for line in mountinfo.read_text(encoding="utf-8").splitlines():
        before, _, after = line.partition(" - ")
        if after.split(" ", 1)[0] == "cgroup2":
            return Path(before.split(" ")[4])
    return None


def process_cgroup(pid: int, proc: Path = Path("/proc")) -> str | None:
    """Return the cgroup v2 path of a process, relative to the cgroup2 mount."""
    try:
        text = (proc / str(pid) / "cgroup").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("0::"):
            return line[3:]
    return None


def topmost(paths: Iterable[str]) -> list[str]:
    """Drop every path that lies inside another one, so that no cgroup is counted twice."""
    kept: list[str] = []
    for path in sorted(set(paths), key=lambda item: (item.count("/"), item)):
        if not any(path == other or path.startswith(other.rstrip("/") + "/") for other in kept):
            kept.append(path)
    return kept


def read_pod(mount: Path, cgroups: Iterable[str], proc: Path = Path("/proc")) -> PodFigures:
    """Read and sum the figures of the given cgroups (paths relative to `mount`)."""
    folders = [mount / path.lstrip("/") for path in topmost(cgroups)]
    pids = [pid for folder in folders for pid in list_processes(folder)]
    memory = [read_integer(folder / "memory.current") for folder in folders]
    if memory and all(value is not None for value in memory):
        memory_bytes, source = sum(value for value in memory if value is not None), "memory.current"
    else:
        memory_bytes, source = rss_sum(pids, proc), "rss-sum"
    return PodFigures(
        usage_usec=sum(read_usage_usec(folder) for folder in folders),
        memory_bytes=memory_bytes,
        memory_source=source,
        memory_limit_bytes=_int_or_none(
            _combined_limit([_float_or_none(memory_limit(folder, mount)) for folder in folders])
        ),
        cpu_limit_cores=_combined_limit([cpu_limit(folder, mount) for folder in folders]),
        processes=len(set(pids)),
    )


def _combined_limit(limits: list[float | None]) -> float | None:
    """Sum the limits of the pod's cgroups; a cgroup without one leaves the pod unlimited."""
    if not limits or any(limit is None for limit in limits):
        return None
    if len(set(limits)) == 1:
        # Cgroups below one limited parent all report that parent's limit.
        return limits[0]
    return sum(limit for limit in limits if limit is not None)


def _int_or_none(value: float | None) -> int | None:
    return None if value is None else int(value)


def _float_or_none(value: int | None) -> float | None:
    return None if value is None else float(value)


def read_usage_usec(folder: Path) -> int:
    try:
        text = (folder / "cpu.stat").read_text(encoding="ascii")
    except OSError:
        return 0
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "usage_usec":
            return int(value)
    return 0


def read_integer(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def list_processes(folder: Path) -> list[int]:
    """Return the processes of a cgroup and of every cgroup below it."""
    pids: list[int] = []
    for current, _, files in os.walk(folder):
        if "cgroup.procs" in files:
            try:
                text = Path(current, "cgroup.procs").read_text(encoding="ascii")
            except OSError:
                continue
            pids += [int(word) for word in text.split()]
    return pids


def rss_sum(pids: Iterable[int], proc: Path = Path("/proc")) -> int:
    """Sum the resident set sizes; shared pages count once per process that maps them."""
    total = 0
    for pid in set(pids):
        try:
            fields = (proc / str(pid) / "statm").read_text(encoding="ascii").split()
        except OSError:
            continue
        total += int(fields[1]) * PAGE_SIZE
    return total


def memory_limit(folder: Path, mount: Path) -> int | None:
    """Return the lowest memory.max of the cgroup and its parents, or None when unlimited."""
    values = [read_integer(path / "memory.max") for path in _up_to(folder, mount)]
    known = [value for value in values if value is not None]
    return min(known) if known else None


def cpu_limit(folder: Path, mount: Path) -> float | None:
    """Return the lowest cpu.max of the cgroup and its parents, in cores, or None."""
    cores = []
    for path in _up_to(folder, mount):
        try:
            quota, period = (path / "cpu.max").read_text(encoding="ascii").split()
        except (OSError, ValueError):
            continue
        if quota != "max":
            cores.append(int(quota) / int(period))
    return min(cores) if cores else None


def _up_to(folder: Path, mount: Path) -> list[Path]:
    chain = [folder]
    while chain[-1] != mount and mount in chain[-1].parents:
        chain.append(chain[-1].parent)
    return chain
