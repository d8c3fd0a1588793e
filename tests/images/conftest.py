"""Fixtures that run the image's scripts on this machine under a temporary root."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sysconfig
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.images import workspace_root
from tests.images.workspace_root import Container
from tests.support import require

TOOLS = ("unshare", "nsenter", "setpriv", "sshd", "ssh", "ssh-keygen", "tmux")


def require_namespace_tools() -> None:
    require(os.geteuid() == 0, "needs root for PID and mount namespaces")
    for tool in TOOLS:
        found = shutil.which(tool) or os.path.exists(f"/usr/sbin/{tool}")
        require(found, f"{tool} not installed (ci/install-test-deps.sh installs it)")


def uv_binary() -> str | None:
    try:
        import uv
    except ImportError:
        return shutil.which("uv")
    return uv.find_uv_bin()


def task_binary() -> str | None:
    """Return the Task binary itself; pyenv puts a shell shim on PATH in front of it."""
    candidate = Path(sysconfig.get_path("scripts")) / "task"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("task")
    return os.path.realpath(found) if found else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def root() -> Iterator[Path]:
    require_namespace_tools()
    path = workspace_root.install_root()
    yield path
    workspace_root.remove_root(path)


@dataclass
class Workspace:
    """A running workspace: entrypoint, sshd and a client key, all on this machine."""

    root: Path
    container: Container
    port: int
    key: Path

    def ssh_argv(self, *options: str) -> list[str]:
        return [
            "ssh", "-F", "none", "-p", str(self.port), "-i", str(self.key),
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
            "-o", f"UserKnownHostsFile={self.root / 'known_hosts'}",
            "-o", "StrictHostKeyChecking=accept-new", "-o", "LogLevel=ERROR",
            *options, "developer@127.0.0.1",
        ]

    def ssh(self, command: str, *options: str, token: str | None = None,
            input: str = "") -> subprocess.CompletedProcess:
        extra = list(options)
        if token is not None:
            extra += ["-o", f"SetEnv=LC_WINALUX_TOKEN={token}"]
        return subprocess.run([*self.ssh_argv(*extra), command], input=input,
                              capture_output=True, text=True, timeout=60)

    @property
    def state(self) -> Path:
        return self.root / "var" / "lib" / "winalux" / "sshd"


def start_workspace(extra_env: dict[str, str] | None = None) -> Workspace:
    require_namespace_tools()
    uv = uv_binary()
    require(uv, "uv not installed (pip install uv)")
    port = free_port()
    root = workspace_root.install_root(ssh_port=port)
    bin_dir = root / "usr" / "local" / "bin"
    shutil.copy2(str(uv), bin_dir / "uv")
    task = task_binary()
    if task:
        shutil.copy2(task, bin_dir / "task")
    key = root / "client_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    env = workspace_root.workspace_env(root)
    env["PATH"] = f"{bin_dir}:/usr/local/bin:/usr/bin:/bin"
    env["WINALUX_PUBLIC_KEY"] = key.with_suffix(".pub").read_text().strip()
    env.update(extra_env or {})
    script = f"{root}/usr/local/libexec/winalux/entrypoint & wait"
    container = workspace_root.start_container(root, script, env)
    workspace = Workspace(root, container, port, key)
    wait_for_port(port, container)
    return workspace


def wait_for_port(port: int, container: Container) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if container.process.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"sshd did not listen on port {port}:\n{container.container_log()}")


@pytest.fixture(scope="module")
def workspace() -> Iterator[Workspace]:
    running = start_workspace()
    yield running
    running.container.stop()
    workspace_root.remove_root(running.root)
