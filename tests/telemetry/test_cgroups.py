"""Reading a pod's figures from real cgroup v2 groups and from /proc."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.support import require
from tests.telemetry.conftest import RealPod
from winalux.host.telemetry import cgroups

DATA = Path(__file__).parent / "data"
SLEEP = ["sleep", "600"]
# Burns 0.3 s of CPU time, prints "done", then sleeps until killed.
BUSY = [sys.executable, "-c",
        "import time\nwhile time.process_time() < 0.3: pass\nprint('done', flush=True)\n"
        "time.sleep(600)"]

PURE_V2 = (
    "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n"
)
HYBRID = (
    "26 24 0:23 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "31 24 0:28 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
)


def vm_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def test_mount_found_on_this_host() -> None:
    mount = cgroups.find_cgroup2_mount()
    require(mount is not None, "no cgroup2 file system mounted")
    assert mount is not None
    assert (mount / "cgroup.controllers").is_file()


@pytest.mark.parametrize(("mountinfo", "expected"), [
    (PURE_V2, Path("/sys/fs/cgroup")),
    (HYBRID, Path("/sys/fs/cgroup/unified")),
    ("26 24 0:23 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n", None),
])
def test_mount_layouts(tmp_path: Path, mountinfo: str, expected: Path | None) -> None:
    (tmp_path / "mountinfo").write_text(mountinfo)
    assert cgroups.find_cgroup2_mount(tmp_path / "mountinfo") == expected


def test_process_cgroup_real(real_pod: RealPod) -> None:
    process = real_pod.start(real_pod.workspace, SLEEP)
    assert cgroups.process_cgroup(process.pid) == real_pod.workspace


def test_process_cgroup_gone() -> None:
    assert cgroups.process_cgroup(2**22 + 1) is None


def test_topmost_drops_nested() -> None:
    paths = ["/a/b/c", "/a/b", "/a/bc", "/x", "/a/b"]
    assert cgroups.topmost(paths) == ["/x", "/a/b", "/a/bc"]


def test_processes_of_whole_pod(real_pod: RealPod) -> None:
    for cgroup in (real_pod.infra, real_pod.infra, real_pod.workspace):
        real_pod.start(cgroup, SLEEP)
    figures = cgroups.read_pod(real_pod.mount, [real_pod.pod_slice, real_pod.workspace])
    assert figures.processes == 3


def test_memory_falls_back_to_rss_sum(real_pod: RealPod) -> None:
    require(not (real_pod.folder(real_pod.infra) / "memory.current").exists(),
            "the memory controller is enabled here; the fallback cannot be seen")
    started = [real_pod.start_sleeping(real_pod.infra),
               real_pod.start_sleeping(real_pod.workspace)]
    figures = cgroups.read_pod(real_pod.mount, [real_pod.pod_slice, real_pod.workspace])
    assert figures.memory_source == "rss-sum"
    assert figures.memory_bytes == sum(vm_rss_bytes(process.pid) for process in started)
    assert figures.memory_limit_bytes is None


def test_cpu_usage_counted(real_pod: RealPod) -> None:
    before = cgroups.read_pod(real_pod.mount, [real_pod.pod_slice]).usage_usec
    busy = real_pod.start(real_pod.infra, BUSY)
    assert busy.stdout is not None
    assert busy.stdout.readline() == "done\n"
    after = cgroups.read_pod(real_pod.mount, [real_pod.pod_slice]).usage_usec
    # Python's start-up may run before the move into the cgroup, the 0.3 s loop cannot.
    assert after - before >= 250_000


def test_memory_current_used_when_present(tmp_path: Path) -> None:
    mount = tmp_path / "cgroup"
    container = mount / "user.slice" / "pod.slice" / "ctr.scope"
    container.mkdir(parents=True)
    for name in ("cpu.stat", "cpu.max", "memory.current"):
        shutil.copy(DATA / "cgroup-v2-docker" / name, container / name)
    figures = cgroups.read_pod(mount, ["/user.slice/pod.slice/ctr.scope"])
    assert figures.memory_source == "memory.current"
    assert figures.memory_bytes == 2766684160
    assert figures.usage_usec == 528946079
    assert figures.cpu_limit_cores == 2.5
    assert figures.memory_limit_bytes is None


def test_memory_limit_from_parent(tmp_path: Path) -> None:
    mount = tmp_path / "cgroup"
    pod = mount / "user.slice" / "pod.slice"
    (pod / "ctr.scope").mkdir(parents=True)
    shutil.copy(DATA / "cgroup-v2-docker" / "memory.current", pod / "ctr.scope")
    # Written by the test: "max" is the kernel's value without a limit.
    (pod / "ctr.scope" / "memory.max").write_text("max\n")
    (pod / "memory.max").write_text("4294967296\n")
    figures = cgroups.read_pod(mount, ["/user.slice/pod.slice/ctr.scope"])
    assert figures.memory_limit_bytes == 4294967296
