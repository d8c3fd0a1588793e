"""`winalux doctor`: what a host needs to run workspaces, each failure with its fix.

The sync runs the required checks before it changes anything and stops when one fails.
Paths are read under `Facts.root`, so tests can point the checks at a prepared tree.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import InvalidVersion, Version

from winalux.host.podman import Podman
from winalux.run import CommandError

MIN_PODMAN = Version("5.0")
MIN_SUBORDINATE_IDS = 65536
QUADLET_PATHS = ("usr/libexec/podman/quadlet", "usr/lib/podman/quadlet")
GENERATOR_PATHS = (
    "usr/lib/systemd/user-generators/podman-user-generator",
    "usr/local/lib/systemd/user-generators/podman-user-generator",
)
NETWORK_HELPERS = ("pasta", "slirp4netns")


@dataclass(frozen=True)
class Check:
    """The outcome of one check: what was found and, when it failed, how to fix it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    # A sync stops before applying anything while a required check fails.
    required: bool = True


@dataclass(frozen=True)
class Facts:
    """Paths the checks read, and the ports and images of the host's workspaces."""

    podman: Podman = field(default_factory=Podman)
    root: Path = Path("/")
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    user: str = field(default_factory=lambda: _user_name())
    uid: int = field(default_factory=os.getuid)
    ports: tuple[int, ...] = ()
    images: tuple[str, ...] = ()
    pull: bool = True
    pull_timeout: float = 600

    def path(self, relative: str) -> Path:
        return self.root / relative


def run_checks(facts: Facts) -> list[Check]:
    checks = [check(facts) for check in CHECKS]
    checks.extend(check_image(facts, image) for image in sorted(set(facts.images)))
    return checks


def check_podman(facts: Facts) -> Check:
    name = "podman"
    fix = "install podman 5.0 or later (Debian 13 trixie ships 5.4)"
    try:
        text = facts.podman.version()
    except CommandError as err:
        detail = f"`{facts.podman.binary} version` failed: {err.reason or err}"
        return Check(name, False, detail, fix)
    try:
        version = Version(text)
    except InvalidVersion:
        return Check(name, False, f"cannot read podman version {text!r}", fix)
    if version < MIN_PODMAN:
        return Check(name, False, f"podman {version} is older than {MIN_PODMAN}", fix)
    return Check(name, True, f"podman {version}")


def check_quadlet(facts: Facts) -> Check:
    binary = _first_existing(facts, QUADLET_PATHS)
    generator = _first_existing(facts, GENERATOR_PATHS)
    fix = "install podman 5.0 or later from the distribution, which ships Quadlet and its generator"
    if binary is None:
        detail = "quadlet binary not found in " + ", ".join(QUADLET_PATHS)
        return Check("quadlet", False, detail, fix)
    if generator is None:
        return Check(
            "quadlet",
            False,
            "podman-user-generator not found in " + ", ".join(GENERATOR_PATHS),
            fix,
        )
    return Check("quadlet", True, f"{binary}, {generator}")


def check_cgroup_v2(facts: Facts) -> Check:
    controllers = facts.path("sys/fs/cgroup/cgroup.controllers")
    if not controllers.is_file():
        return Check(
            "cgroup v2",
            False,
            "/sys/fs/cgroup is not a cgroup v2 (unified) hierarchy",
            "boot with systemd.unified_cgroup_hierarchy=1 on the kernel command line",
        )
    found = " ".join(controllers.read_text().split()) or "none"
    return Check("cgroup v2", True, f"unified hierarchy, controllers: {found}")


def check_linger(facts: Facts) -> Check:
    if facts.path(f"var/lib/systemd/linger/{facts.user}").exists():
        return Check("linger", True, f"enabled for {facts.user}")
    return Check(
        "linger",
        False,
        f"not enabled for {facts.user}: workspaces stop at logout and the sync timer does not run",
        f"sudo loginctl enable-linger {facts.user}",
    )


def check_subordinate_ids(facts: Facts) -> Check:
    problems = []
    for kind in ("subuid", "subgid"):
        count = _subordinate_count(facts.path(f"etc/{kind}"), facts.user, facts.uid)
        if count < MIN_SUBORDINATE_IDS:
            problems.append(f"/etc/{kind} gives {facts.user} {count} ids")
    if problems:
        return Check(
            "subordinate ids",
            False,
            "; ".join(problems),
            f"sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {facts.user}",
        )
    return Check("subordinate ids", True, f"at least {MIN_SUBORDINATE_IDS} uids and gids")


def check_network(facts: Facts) -> Check:
    helper = next((name for name in NETWORK_HELPERS if _which(facts, name)), None)
    fix = "install the passt package (pasta); rootless podman 5 uses it by default"
    if helper is None:
        return Check("rootless network", False, "neither pasta nor slirp4netns found", fix)
    tun = facts.path("dev/net/tun")
    if not tun.exists():
        return Check(
            "rootless network",
            False,
            "/dev/net/tun is missing",
            "load the tun module: sudo modprobe tun",
        )
    return Check("rootless network", True, f"{helper}, /dev/net/tun")


def check_ports(facts: Facts) -> Check:
    path = facts.path("proc/sys/net/ipv4/ip_unprivileged_port_start")
    try:
        start = int(path.read_text().strip())
    except (OSError, ValueError):
        return Check(
            "unprivileged ports", False, f"cannot read {path}", "check that /proc is mounted"
        )
    low = sorted(port for port in facts.ports if port < start)
    if low:
        return Check(
            "unprivileged ports",
            False,
            f"ports {', '.join(map(str, low))} are below {start}, the lowest port a user may bind",
            f"move the workspaces to ports >= {start}, or sudo sysctl "
            f"net.ipv4.ip_unprivileged_port_start={low[0]}",
        )
    return Check("unprivileged ports", True, f"users may bind ports from {start}")


def check_runtime_dir(facts: Facts) -> Check:
    fix = (
        f"run as a user with a systemd user manager (linger or a login), with "
        f"XDG_RUNTIME_DIR=/run/user/{facts.uid}"
    )
    value = facts.environ.get("XDG_RUNTIME_DIR", "")
    if not value:
        return Check("XDG_RUNTIME_DIR", False, "not set", fix)
    try:
        status = os.stat(value)
    except OSError:
        return Check("XDG_RUNTIME_DIR", False, f"{value} does not exist", fix)
    if status.st_uid != facts.uid or not stat.S_ISDIR(status.st_mode):
        return Check(
            "XDG_RUNTIME_DIR", False, f"{value} is not a folder owned by uid {facts.uid}", fix
        )
    return Check("XDG_RUNTIME_DIR", True, value)


def check_user_bus(facts: Facts) -> Check:
    fix = "install dbus-user-session, enable linger, and set DBUS_SESSION_BUS_ADDRESS if needed"
    address = facts.environ.get("DBUS_SESSION_BUS_ADDRESS", "")
    runtime = facts.environ.get("XDG_RUNTIME_DIR", "")
    if address.startswith("unix:path="):
        socket_path = Path(address.removeprefix("unix:path=").split(",")[0])
    elif runtime:
        socket_path = Path(runtime) / "bus"
    else:
        return Check(
            "user bus", False, "neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR set", fix
        )
    try:
        is_socket = stat.S_ISSOCK(os.stat(socket_path).st_mode)
    except OSError:
        is_socket = False
    if not is_socket:
        return Check("user bus", False, f"no socket at {socket_path}", fix)
    return Check("user bus", True, str(socket_path))


def check_image(facts: Facts, image: str) -> Check:
    name = f"image {image}"
    try:
        if facts.podman.image_exists(image):
            return Check(name, True, "present", required=False)
        if not facts.pull:
            return Check(
                name, False, "not present (pull skipped)", f"podman pull {image}", required=False
            )
        facts.podman.pull(image, facts.pull_timeout)
    except CommandError as err:
        reason = (err.stderr.strip().splitlines() or [err.reason or "failed"])[-1]
        return Check(
            name,
            False,
            f"pull failed: {reason}",
            "log in as this user with `podman login REGISTRY`, or fix the image name",
            required=False,
        )
    return Check(name, True, "pulled", required=False)


CHECKS: tuple[Callable[[Facts], Check], ...] = (
    check_podman,
    check_quadlet,
    check_cgroup_v2,
    check_linger,
    check_subordinate_ids,
    check_network,
    check_ports,
    check_runtime_dir,
    check_user_bus,
)


def _first_existing(facts: Facts, candidates: Iterable[str]) -> str | None:
    for relative in candidates:
        if facts.path(relative).exists():
            return "/" + relative
    return None


def _which(facts: Facts, program: str) -> bool:
    if facts.root == Path("/"):
        return shutil.which(program) is not None
    folders = ("usr/bin", "usr/local/bin")
    return any(facts.path(f"{folder}/{program}").exists() for folder in folders)


def _subordinate_count(path: Path, user: str, uid: int) -> int:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return 0
    total = 0
    for line in lines:
        parts = line.strip().split(":")
        if len(parts) == 3 and parts[0] in {user, str(uid)} and parts[2].isdigit():
            total += int(parts[2])
    return total


def _user_name() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())
