"""A booted systemd-nspawn guest with winalux installed, for the sync agent's end-to-end tests.

The guest comes from ci/guest.sh (Debian trixie, a lingering user `dev`, rootless podman 5,
no network). winalux is installed into a venv there from the project tree, with its
dependencies as wheels downloaded on the host for the guest's Python.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.host.workspace_repo import PROJECT, TEST_IMAGE, WorkspaceRepo

GUEST_SH = PROJECT / "ci" / "guest.sh"
CACHE = Path(os.environ.get("WINALUX_CACHE_DIR")
             or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "winalux")
BOOTS = CACHE / "guest" / "boots"
GUEST_HOST = "winalux-guest"
VENV = "/opt/winalux"
WINALUX = f"{VENV}/bin/winalux"
BASE_TARBALL = "/var/lib/winalux/base-image.tar"
# sh as PID 1 ignores SIGTERM unless it traps it; without the trap every stop waits 15 s.
TEST_COMMAND = '["/bin/sh","-c","trap \\"exit 0\\" TERM; while :; do sleep 1; done"]'


def unavailable_reason() -> str:
    """Return why the guest cannot run here, or an empty string when it can."""
    if os.geteuid() != 0:
        return "the nspawn guest needs root"
    for tool in ("systemd-nspawn", "debootstrap", "nsenter"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install systemd-container debootstrap)"
    if not GUEST_SH.exists():
        return "ci/guest.sh is missing"
    return ""


@dataclass
class Guest:
    """One booted guest, driven through ci/guest.sh."""

    name: str

    @property
    def rootfs(self) -> Path:
        return BOOTS / self.name / "rootfs"

    def run(self, *argv: str, root: bool = False, check: bool = True, timeout: float = 300,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        mode = "exec" if root else "user"
        result = subprocess.run(
            [str(GUEST_SH), mode, self.name, "--", *argv],
            capture_output=True, text=True, timeout=timeout, input=input, check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(argv)} exited {result.returncode} in guest {self.name}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def copy_in(self, source: Path, target: str) -> None:
        subprocess.run([str(GUEST_SH), "copy-in", self.name, str(source), target],
                       check=True, capture_output=True, timeout=300)


def guest_sh(*argv: str, timeout: float = 900) -> None:
    result = subprocess.run([str(GUEST_SH), *argv], capture_output=True, text=True,
                            timeout=timeout, check=False)
    if result.returncode != 0:
        raise AssertionError(f"ci/guest.sh {' '.join(argv)} failed:\n{result.stderr}")


@contextmanager
def booted(name: str) -> Iterator[Guest]:
    guest_sh("create", timeout=1800)
    if (BOOTS / name).exists():
        guest_sh("stop", name)
    guest_sh("boot", name)
    try:
        yield Guest(name)
    finally:
        guest_sh("stop", name)


def download_wheels(folder: Path, python_tag: str) -> None:
    """Download the wheels of winalux's dependencies and build backend for the guest's Python."""
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())
    requirements = [*project["project"]["dependencies"], *project["build-system"]["requires"]]
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["python3", "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
         "--dest", str(folder), "--only-binary=:all:", "--implementation", "cp",
         "--python-version", python_tag, "--abi", f"cp{python_tag.replace('.', '')}",
         "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux2014_x86_64",
         "--platform", "any", *requirements],
        check=True, capture_output=True, timeout=600,
    )


def install_winalux(guest: Guest, work: Path) -> None:
    """Install the project tree into a venv in the guest, without network there."""
    version = guest.run("python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])",
                        root=True).stdout.strip()
    wheels = CACHE / f"guest-wheels-{version}"
    download_wheels(wheels, version)
    source = work / "winalux-src"
    for name in ("pyproject.toml", "README.md", "generator", "templates"):
        if (PROJECT / name).is_dir():
            shutil.copytree(PROJECT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            source.mkdir(parents=True, exist_ok=True)
            shutil.copy(PROJECT / name, source / name)
    guest.copy_in(source, "/opt/winalux-src")
    guest.copy_in(wheels, "/opt/winalux-wheels")
    guest.run("python3", "-m", "venv", VENV, root=True)
    guest.run(f"{VENV}/bin/pip", "install", "--quiet", "--no-index", "--find-links",
              "/opt/winalux-wheels", "/opt/winalux-src", root=True, timeout=600)


def import_test_image(guest: Guest) -> None:
    guest.run("podman", "import", "--quiet", "--change", f"CMD {TEST_COMMAND}", BASE_TARBALL,
              TEST_IMAGE)


@dataclass
class Agent:
    """The sync agent of user dev in a guest, and the workspace repository it follows."""

    guest: Guest
    repo: WorkspaceRepo
    remote_in_guest: str

    @classmethod
    def create(cls, guest: Guest) -> Agent:
        # The repository lives in the guest's file system, where dev can read it, and the
        # tests commit to it from the host.
        repo = WorkspaceRepo.create(guest.rootfs / "srv" / "e2e")
        return cls(guest, repo, "/srv/e2e/remote.git")

    def sync(self, *extra: str, check: bool = False,
             timeout: float = 300) -> subprocess.CompletedProcess[str]:
        argv = [WINALUX, "-v", "sync", "--repo", self.remote_in_guest, "--host", GUEST_HOST,
                "--timeout", "60", *extra]
        return self.guest.run(*argv, check=check, timeout=timeout)

    def winalux(self, *argv: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return self.guest.run(WINALUX, *argv, check=check)

    def user(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.guest.run(*argv, check=check)

    def is_active(self, service: str) -> str:
        return self.user("systemctl", "--user", "is-active", service, check=False).stdout.strip()

    def container_id(self, name: str) -> str:
        result = self.user("podman", "container", "inspect", "--format", "{{.Id}}", name,
                           check=False)
        return result.stdout.strip()

    def exists(self, kind: str, name: str) -> bool:
        return self.user("podman", kind, "exists", name, check=False).returncode == 0

    def shell(self, container: str, script: str, uid: int = 0) -> str:
        argv = ("podman", "exec", "--user", f"{uid}:{uid}", container, "sh", "-c", script)
        return self.user(*argv).stdout

    def unit_dir(self) -> Path:
        return self.guest.rootfs / "home/dev/.config/containers/systemd/winalux"

