"""Real cgroup v2 groups for the collector's tests, made under this machine's cgroup2 mount."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import require
from winalux.host.telemetry.cgroups import find_cgroup2_mount

POD_ID = "71bbe71161be4f5f7a6bf4c9a58eca06eebd93c780c4bdd35d88dbc85011b013"
INFRA_ID = "408ea0c2b587ccb75793b79a2d07c69e6060a826f37108a6a6955644e1cb1f0a"
WORKSPACE_ID = "4a0f78c487c08f63e6e19a0ebb4079291c9c35ef290745125e4722c1869ec703"


SLEEPER = "import time\nprint('ready', flush=True)\ntime.sleep(600)\n"


@dataclass
class RealPod:
    """A pod laid out like Quadlet's: an infra container in the pod's slice and a workspace
    container under its own service, each a real cgroup holding real processes."""

    mount: Path
    base: str
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def pod_slice(self) -> str:
        return f"{self.base}/user.slice/user-libpod_pod_{POD_ID}.slice"

    @property
    def infra(self) -> str:
        return f"{self.pod_slice}/libpod-{INFRA_ID}.scope/container"

    @property
    def workspace(self) -> str:
        service = f"{self.base}/app.slice/winalux-alice.workspace.service"
        return f"{service}/libpod-payload-{WORKSPACE_ID}"

    def folder(self, path: str) -> Path:
        return self.mount / path.lstrip("/")

    def start(self, cgroup: str, argv: list[str]) -> subprocess.Popen:
        """Start argv, then move it into the cgroup, as a container runtime would."""
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   text=True)
        (self.folder(cgroup) / "cgroup.procs").write_text(str(process.pid))
        self.processes.append(process)
        return process

    def start_sleeping(self, cgroup: str) -> subprocess.Popen:
        """Start a process that has finished loading and sleeps, so its RSS stays put."""
        process = self.start(cgroup, [sys.executable, "-c", SLEEPER])
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
        return process


@pytest.fixture
def real_pod() -> Iterator[RealPod]:
    mount = find_cgroup2_mount()
    require(mount is not None, "no cgroup2 file system mounted")
    assert mount is not None
    require(os.access(mount, os.W_OK), f"cannot create cgroups under {mount} (needs root)")
    pod = RealPod(mount=mount, base=f"/winalux-test-{uuid.uuid4().hex[:8]}")
    for path in (pod.infra, pod.workspace):
        pod.folder(path).mkdir(parents=True)
    yield pod
    for process in pod.processes:
        process.kill()
        process.wait()
    for folder in sorted(pod.folder(pod.base).glob("**/"), key=lambda p: -len(p.parts)):
        folder.rmdir()
