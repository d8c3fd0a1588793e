"""Drive the systemd-nspawn test guest of ci/guest.sh from pytest.

A guest is a throw-away copy of a cached Debian trixie root filesystem, booted with its own
systemd: a user `dev` (uid 1000) whose user manager runs through linger, rootless podman 5,
and the image BASE_IMAGE (busybox) already in dev's store. Each boot needs a machine name
that no other guest on the host uses at the same time: see `unique_name`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from winalux.run import CommandError, Result, run

PROJECT = Path(__file__).resolve().parents[2]
GUEST_SH = PROJECT / "ci" / "guest.sh"
BASE_IMAGE = "localhost/winalux-test-base:latest"
DEV_HOME = "/home/dev"
USER_UNIT_DIR = f"{DEV_HOME}/.config/containers/systemd"

# A first create runs debootstrap (about a minute). A boot copies the tree and waits for
# dev's user manager, and ci/guest.sh bounds that wait itself.
CREATE_TIMEOUT = 900
BOOT_TIMEOUT = 300

_WRITE = 'mkdir -p "$(dirname "$1")"; cat >"$1"; chmod "$2" "$1"'


def unavailable_reason() -> str | None:
    """Say why this host cannot boot the guest, or None when it can."""
    if os.geteuid() != 0:
        return "the nspawn guest needs root (systemd-nspawn, debootstrap)"
    tools = {"systemd-nspawn": "systemd-container", "debootstrap": "debootstrap"}
    missing = [package for tool, package in tools.items() if shutil.which(tool) is None]
    if missing:
        return f"the nspawn guest needs: apt-get install {' '.join(missing)}"
    return None


def unique_name(prefix: str) -> str:
    """A machine name no concurrent test session uses: the prefix and this process's id."""
    return f"{prefix}-{os.getpid()}"


def cache_dir() -> Path:
    """Where ci/guest.sh keeps the root filesystem and the booted copies."""
    if "WINALUX_CACHE_DIR" in os.environ:
        return Path(os.environ["WINALUX_CACHE_DIR"])
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "winalux"


def cached_rootfs() -> Path:
    return cache_dir() / "guest" / "rootfs"


def create() -> None:
    """Make the cached root filesystem unless it is there already."""
    run([str(GUEST_SH), "create"], timeout=CREATE_TIMEOUT)


class Guest:
    """A booted guest, reached through ci/guest.sh."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def state_dir(self) -> Path:
        return cache_dir() / "guest" / "boots" / self.name

    @property
    def rootfs(self) -> Path:
        """The host path of the guest's root filesystem: a copy, deleted by stop."""
        return Path((self.state_dir / "rootfs.path").read_text().strip())

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = True,
        input: str | None = None,
        timeout: float = 120,
    ) -> Result:
        """Run argv as root in the guest."""
        return self._guest_sh("exec", argv, check=check, input=input, timeout=timeout)

    def run_user(
        self,
        argv: Sequence[str],
        *,
        check: bool = True,
        input: str | None = None,
        timeout: float = 120,
    ) -> Result:
        """Run argv as dev, with dev's user bus, so `systemctl --user` and podman work."""
        return self._guest_sh("user", argv, check=check, input=input, timeout=timeout)

    def copy_in(self, src: str | os.PathLike[str], dest: str) -> None:
        """Copy a host file or folder to DEST in the guest, owned by root."""
        run([str(GUEST_SH), "copy-in", self.name, str(src), dest])

    def write_file(self, path: str, text: str, owner: str = "root", mode: str = "644") -> None:
        """Write text to path in the guest as owner, making the missing folders as owner."""
        argv = ["runuser", "-u", owner, "--", "sh", "-euc", _WRITE, "sh", path, mode]
        self.run(argv, input=text)

    def stop(self) -> None:
        """Power the guest off and delete its copy of the root filesystem."""
        run([str(GUEST_SH), "stop", self.name], timeout=120)

    def _guest_sh(
        self, verb: str, argv: Sequence[str], *, check: bool, input: str | None, timeout: float
    ) -> Result:
        command = [str(GUEST_SH), verb, self.name, "--", *argv]
        # Without input the child gets an empty stdin, never the test runner's terminal.
        return run(command, check=check, input=input or "", timeout=timeout)


@contextmanager
def booted_guest(name: str, shared_network: bool = False) -> Iterator[Guest]:
    """Boot a guest named `name` and stop it on the way out.

    shared_network keeps the host's network, which image builds need to reach the package
    registries. Otherwise the guest has only its own loopback.
    """
    create()
    argv = [str(GUEST_SH), "boot", name]
    if shared_network:
        argv.append("--shared-network")
    guest = Guest(name)
    try:
        run(argv, timeout=BOOT_TIMEOUT)
    except CommandError:
        run([str(GUEST_SH), "stop", name], check=False, timeout=120)
        raise
    try:
        yield guest
    finally:
        guest.stop()
