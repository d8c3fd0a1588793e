"""A workspace's image files installed under a temporary root on this machine.

The scripts of images/rootfs name their paths from one line (`ROOT = ""` or `root=""`), which
the installer rewrites, so they run unchanged otherwise. A "container" is a private PID and
mount namespace whose PID 1 is a shell. An /etc/passwd bound in there lists the developer user
(uid 1000), so sshd runs unprivileged as in the image. `enter()` starts a process in it the
way `podman exec` does: from outside, so its parent is invisible inside.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROOTFS = REPO / "images" / "rootfs"
LIBEXEC = "usr/local/libexec/winalux"
DEVELOPER_UID = 1000
# The developer's login shell, as install-shell-wrappers sets it in the image.
LOGIN_SHELL = f"{LIBEXEC}/real/dash"
TOKEN = "s3cret-Token-for-tests-0123456789"
# sshd's StrictModes rejects a path through a group- or world-writable folder such as /tmp,
# so the roots live in a root-owned folder of mode 0755.
ROOTS_PARENT = Path("/var/lib/winalux-tests")
SETPRIV = ("setpriv", f"--reuid={DEVELOPER_UID}", f"--regid={DEVELOPER_UID}", "--clear-groups")


def install_root(ssh_port: int = 0, parent: Path | None = None) -> Path:
    """Copy images/rootfs into a new root with its paths rewritten; return the root.

    sshd listens on `ssh_port` of the loopback address instead of 2222 on every address.
    """
    base = parent or ROOTS_PARENT
    base.mkdir(mode=0o755, parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="root-", dir=base))
    root.chmod(0o755)
    shutil.copytree(ROOTFS, root, dirs_exist_ok=True, symlinks=True)
    for path in sorted(root.rglob("*")):
        if path.is_file():
            _rewrite(path, str(root), ssh_port)
    _install_shells(root)
    _make_state(root)
    return root


def _rewrite(path: Path, root: str, ssh_port: int) -> None:
    text = path.read_text(encoding="utf-8")
    new = re.sub(r'^ROOT = ""$', f'ROOT = "{root}"', text, flags=re.M)
    new = re.sub(r'^root=""$', f'root="{root}"', new, flags=re.M)
    new = new.replace("#!/usr/local/libexec/winalux/", f"#!{root}/usr/local/libexec/winalux/")
    if path.name == "sshd_config":
        new = re.sub(r" /(var/lib/winalux|usr/local/libexec/winalux)", rf" {root}/\1", new)
        new = new.replace("ListenAddress ::\n", "")
        new = new.replace("ListenAddress 0.0.0.0", "ListenAddress 127.0.0.1")
        new = new.replace("Port 2222", f"Port {ssh_port or 2222}")
    if new != text:
        path.write_text(new, encoding="utf-8")


def _install_shells(root: Path) -> None:
    real = root / LIBEXEC / "real"
    real.mkdir(parents=True)
    shutil.copy2("/usr/bin/bash", real / "bash")
    shutil.copy2("/usr/bin/dash", real / "dash")
    for shell in ("bash", "dash", "sh"):
        target = root / "usr" / "bin" / shell
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / LIBEXEC / "shell-wrapper", target)


def _make_state(root: Path) -> None:
    home = root / "home" / "developer"
    state = root / "var" / "lib" / "winalux" / "sshd"
    secrets = root / "run" / "secrets"
    for folder in (home, state, secrets, root / "run" / "winalux" / "telemetry"):
        folder.mkdir(parents=True, exist_ok=True)
    token = secrets / "winalux-token"
    token.write_text(TOKEN + "\n", encoding="utf-8")
    token.chmod(0o400)
    for path in (home, state, token):
        os.chown(path, DEVELOPER_UID, DEVELOPER_UID)
    state.chmod(0o700)
    home.chmod(0o755)
    (root / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/bash\n"
        f"developer:x:{DEVELOPER_UID}:{DEVELOPER_UID}::{home}:{root / LOGIN_SHELL}\n",
        encoding="utf-8",
    )


def remove_root(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)


@dataclass
class Container:
    """A private PID and mount namespace standing in for the workspace container."""

    root: Path
    process: subprocess.Popen
    log: Path
    pid1: int = 0
    env: dict[str, str] = field(default_factory=dict)

    def enter(self, argv: list[str], env: dict[str, str] | None = None,
              **kwargs: object) -> subprocess.Popen:
        """Start argv as the developer from outside the namespace, like `podman exec`."""
        command = ["nsenter", f"--target={self.pid1}", "--pid", "--mount", "--",
                   "env", "-i", *_env_args({**self.env, **(env or {})}), *SETPRIV, *argv]
        return subprocess.Popen(command, **kwargs)  # type: ignore[call-overload]

    def run_outside(self, argv: list[str], env: dict[str, str] | None = None,
                    input: str = "", timeout: float = 30) -> subprocess.CompletedProcess:
        process = self.enter(argv, env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        stdout, stderr = process.communicate(input, timeout=timeout)
        return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def container_log(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def _env_args(env: dict[str, str]) -> list[str]:
    return [f"{key}={value}" for key, value in env.items()]


def workspace_env(root: Path) -> dict[str, str]:
    return {
        "HOME": str(root / "home" / "developer"),
        "USER": "developer",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "WINALUX_WORKSPACE": "alice",
        "WINALUX_PROFILE": "web",
        "WINALUX_APP_PORT": "18000",
        "WINALUX_APP_CONTAINER_PORT": "8000",
        "WINALUX_SSH_PORT": "12222",
        "WINALUX_EXTRA_PORTS": "19000:9000",
        "WINALUX_SIDECARS": "redis:6379",
        "WINALUX_DISK_LIMIT_GB": "10",
        "WINALUX_ALLOW_TCP_FORWARDING": "no",
        "WINALUX_LIBRARIES": "[]",
    }


def start_container(root: Path, init_script: str, env: dict[str, str]) -> Container:
    """Start a namespace whose PID 1 runs `init_script` with the real dash as the developer.

    The script runs after /etc/passwd is bound, so sshd and the session shells find the
    developer user; it should end by waiting for its children.
    """
    log = root / "container.log"
    real_dash = str(root / LIBEXEC / "real" / "dash")
    # A private devpts with the options podman gives a container: sshd, unprivileged, can
    # only use a terminal whose group is already tty.
    setup = (
        f"mount --bind {root}/etc/passwd /etc/passwd && "
        "mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /dev/pts && "
        "mount --bind /dev/pts/ptmx /dev/ptmx && "
        f"exec env -i {' '.join(_quote(arg) for arg in _env_args(env))} "
        f"{' '.join(SETPRIV)} {real_dash} -c {_quote(init_script)}"
    )
    with log.open("wb") as stream:
        process = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount", "--mount-proc", "--propagation=private",
             "--", "/usr/bin/dash", "-c", setup],
            stdin=subprocess.DEVNULL, stdout=stream, stderr=stream, start_new_session=True,
        )
    container = Container(root=root, process=process, log=log, env=env)
    container.pid1 = _wait_for_pid1(process.pid)
    return container


def run_inside(root: Path, command: str, env: dict[str, str],
               timeout: float = 30) -> subprocess.CompletedProcess:
    """Run `command` as a child of a new namespace's PID 1, like the container's own processes."""
    real_dash = str(root / LIBEXEC / "real" / "dash")
    # Saving the status keeps dash from replacing itself with the last command.
    script = f"{command}\nstatus=$?\nexit $status"
    return subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", "--", "env", "-i", *_env_args(env),
         *SETPRIV, real_dash, "-c", script],
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )


def _wait_for_pid1(unshare_pid: int) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        children = Path(f"/proc/{unshare_pid}/task/{unshare_pid}/children")
        try:
            pids = children.read_text().split()
        except OSError:
            pids = []
        if pids:
            return int(pids[0])
        time.sleep(0.02)
    raise RuntimeError("the namespace's PID 1 did not start")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
