"""End to end in the guest: the project's image, started by the project's units, over SSH.

The guest boots on the host's network so that the image build reaches the package
registries. The base is a Debian trixie made by debootstrap on the host (cached) and imported
into the guest. The build runs images/build.sh on the `minimal` target, which contains every
start-up, gatekeeper and shell file of the real image. The workspace's ports are published on
the host's loopback, where a real ssh client connects.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.images.terminal import Terminal
from tests.support import require
from tests.support.guest import (
    DEV_HOME,
    USER_UNIT_DIR,
    Guest,
    booted_guest,
    cache_dir,
    unavailable_reason,
    unique_name,
)
from winalux.run import run

pytestmark = pytest.mark.guest

REPO = Path(__file__).resolve().parents[2]
BASE_IMAGE = "localhost/winalux-e2e-debian:trixie"
IMAGE = "localhost/winalux-minimal:e2e-0.1.0"
DATA_IMAGE = "localhost/winalux-data:e2e-0.1.0"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
TOKEN = "e2e-Token-0123456789abcdef0123456789"
WORKSPACE = "e2e"
CONTAINER = "winalux-e2e.workspace"
BUILD_TIMEOUT = 1200


@dataclass
class Running:
    guest: Guest
    folder: Path
    ssh_port: int
    app_port: int

    def ssh_argv(self, *options: str) -> list[str]:
        return [
            "ssh", "-F", "none", "-p", str(self.ssh_port), "-i", str(self.folder / "key"),
            "-o", "IdentitiesOnly=yes", "-o", f"UserKnownHostsFile={self.folder / 'known_hosts'}",
            "-o", "StrictHostKeyChecking=accept-new", "-o", "LogLevel=ERROR",
            *options, "developer@127.0.0.1",
        ]

    def ssh(self, command: str, *options: str, token: str | None = TOKEN,
            timeout: float = 120) -> subprocess.CompletedProcess:
        extra = ["-o", "BatchMode=yes", *options]
        if token is not None:
            extra += ["-o", f"SetEnv=LC_WINALUX_TOKEN={token}"]
        return subprocess.run([*self.ssh_argv(*extra), command], capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def user(self, *argv: str, input: str | None = None, timeout: float = 120) -> str:
        return self.guest.run_user(list(argv), input=input, timeout=timeout).stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def debian_tarball() -> Path:
    """Return a cached tarball of a minimal Debian trixie, made by debootstrap if missing."""
    folder = cache_dir() / "e2e-image"
    tarball = folder / "debian-trixie.tar"
    if tarball.exists():
        return tarball
    rootfs = folder / "rootfs"
    shutil.rmtree(rootfs, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    run(["debootstrap", "--variant=minbase", "trixie", str(rootfs)], timeout=900)
    for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for path in (rootfs / junk).glob("*"):
            if path.is_file():
                path.unlink()
    staged = tarball.with_suffix(".tmp")
    run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(staged), "."], timeout=300)
    staged.rename(tarball)
    shutil.rmtree(rootfs)
    return tarball


def build_image(guest: Guest) -> None:
    guest.copy_in(debian_tarball(), f"{DEV_HOME}/debian-trixie.tar")
    guest.copy_in(REPO / "images", f"{DEV_HOME}/images")
    env = [f"BASE_IMAGE={BASE_IMAGE}", "PLATFORMS=linux/amd64", f"TAG={IMAGE}"]
    if CA_BUNDLE.exists():
        # The proxy CA of this machine reaches pip and uv as a build secret only.
        guest.copy_in(CA_BUNDLE, f"{DEV_HOME}/ca-bundle.pem")
        env.append(f"CA_BUNDLE={DEV_HOME}/ca-bundle.pem")
    guest.run(["chown", "-R", "dev:", f"{DEV_HOME}/images", f"{DEV_HOME}/debian-trixie.tar"])
    guest.run_user(["podman", "import", "--quiet", f"{DEV_HOME}/debian-trixie.tar", BASE_IMAGE],
                   timeout=300)
    guest.run_user(["env", *env, "images/build.sh", "minimal"], timeout=BUILD_TIMEOUT)
    # The data profile adds JupyterLab and the scientific stack on top of the same base stage.
    data_env = [item for item in env if not item.startswith("TAG=")] + [f"TAG={DATA_IMAGE}"]
    guest.run_user(["env", *data_env, "images/build.sh", "data"], timeout=BUILD_TIMEOUT)


def render_units(folder: Path, public_key: str, ssh_port: int, app_port: int) -> Path:
    repo = folder / "repo"
    (repo / "workspaces").mkdir(parents=True)
    (repo / "images").mkdir()
    shutil.copytree(REPO / "templates", repo / "templates")
    shutil.copy(REPO / "images" / "profiles.yml", repo / "images" / "profiles.yml")
    (repo / "workspaces" / f"{WORKSPACE}.yml").write_text(
        f"name: {WORKSPACE}\nprofile: web\nhost: e2e-host\nssh_port: {ssh_port}\n"
        f"app_port: {app_port}\npublic_key: {public_key}\nimage: {IMAGE}\n"
        "disk_limit_gb: 1\nallow_tcp_forwarding: false\n"
    )
    units = folder / "units"
    run([sys.executable, "-c", "from winalux.cli import main; main()", "render", "--repo",
         str(repo), "--out", str(units)], timeout=120)
    return units


def start_workspace(guest: Guest, units: Path) -> None:
    guest.copy_in(units, f"{USER_UNIT_DIR}/winalux")
    guest.run(["chown", "-R", "dev:", f"{DEV_HOME}/.config"])
    guest.run_user(["podman", "secret", "create", f"winalux-{WORKSPACE}.token", "-"],
                   input=TOKEN)
    guest.run_user(["systemctl", "--user", "daemon-reload"])
    guest.run_user(["systemctl", "--user", "start", f"winalux-{WORKSPACE}.workspace.service"],
                   timeout=300)


def wait_for_sshd(running: Running) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if running.ssh("true").returncode == 0:
            return
        time.sleep(0.5)
    logs = running.guest.run_user(["podman", "logs", CONTAINER], check=False)
    raise AssertionError(f"no SSH session within 120 s:\n{logs.stdout}{logs.stderr}")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    reason = unavailable_reason()
    require(reason is None, reason or "")
    require(shutil.which("ssh") and shutil.which("tmux"), "needs the ssh client and tmux")
    folder = tmp_path_factory.mktemp("image-e2e")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / "key")],
                   check=True)
    public_key = (folder / "key.pub").read_text().strip()
    ssh_port, app_port = free_port(), free_port()
    with booted_guest(unique_name("wx-image"), shared_network=True) as guest:
        build_image(guest)
        start_workspace(guest, render_units(folder, public_key, ssh_port, app_port))
        guest.copy_in(REPO / "generator", f"{DEV_HOME}/winalux-src")
        running = Running(guest, folder, ssh_port, app_port)
        wait_for_sshd(running)
        yield running


def test_image_token_accepted(workspace: Running) -> None:
    result = workspace.ssh("id -un; echo $WINALUX_WORKSPACE")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["developer", WORKSPACE]


def test_image_wrong_token_rejected(workspace: Running) -> None:
    result = workspace.ssh("echo entered", token="wrong-token")
    assert result.returncode == 126
    assert "entered" not in result.stdout
    logs = workspace.guest.run_user(["podman", "logs", CONTAINER])
    assert "event=rejected method=ssh-env" in logs.stdout + logs.stderr
    assert "wrong-token" not in logs.stdout + logs.stderr
    assert TOKEN not in logs.stdout + logs.stderr


def test_image_no_token_rejected(workspace: Running) -> None:
    result = workspace.ssh("echo entered", token=None)
    assert result.returncode == 126
    assert "no access token" in result.stderr


def test_image_home_files_not_run_without_token(workspace: Running) -> None:
    home_files = (".bashrc", ".profile", ".bash_profile")
    plant = "".join(f"echo 'touch ~/ran{name}' > ~/{name}; " for name in home_files)
    assert workspace.ssh(plant).returncode == 0
    exec_argv = ["podman", "exec", "--env", f"LC_WINALUX_TOKEN={TOKEN}", CONTAINER]
    try:
        denied = workspace.ssh("echo entered", token=None)
        listed = workspace.user(*exec_argv, "ls", "-a", "/home/developer")
        login_shell = workspace.user(*exec_argv, "getent", "passwd", "developer")
    finally:
        workspace.user(*exec_argv, "rm", "-f", *(f"/home/developer/{name}"
                                                  for name in home_files))
    assert denied.returncode == 126
    assert [name for name in listed.split() if name.startswith("ran")] == []
    assert login_shell.strip().endswith(":/usr/local/libexec/winalux/real/dash")


def test_image_interactive_passcode(workspace: Running) -> None:
    with Terminal(workspace.ssh_argv("-tt")) as terminal:
        terminal.wait_for("Passcode for E2E:", timeout=60)
        terminal.type(TOKEN + "\n")
        terminal.wait_for("Connected as developer", timeout=60)
        terminal.type("echo in-$((6 * 7))\n")
        screen = terminal.wait_for("in-42", timeout=60)
    assert TOKEN not in screen


def test_image_task_output(workspace: Running) -> None:
    shown = workspace.ssh("task")
    listed = workspace.ssh("task --list")
    assert shown.returncode == 0, shown.stderr
    assert "W I N A L U X   W O R K S T A T I O N" in shown.stdout
    assert f"- App port     : 8000 (web server), host port {workspace.app_port}" in shown.stdout
    assert f"- SSH port     : 2222 (sshd), host port {workspace.ssh_port}" in shown.stdout
    assert "Profile: WEB" in shown.stdout
    assert "* stats:" in listed.stdout
    assert "* upgrade:" in listed.stdout


def test_image_collector_figures_reach_dashboard(workspace: Running) -> None:
    launcher = f"{DEV_HOME}/winalux-src/winalux/host/telemetry/launch.py"
    workspace.guest.run(["chown", "-R", "dev:", f"{DEV_HOME}/winalux-src"])
    output = workspace.user("python3", "-I", "-S", launcher, "--once", "--interval", "2",
                            timeout=300)
    figures = json.loads(output)[WORKSPACE]
    assert figures["processes"] >= 3
    assert figures["cpu"]["cores_used"] is not None
    assert figures["memory"]["source"] == "rss-sum"
    assert figures["storage"]["bytes"] > 0
    assert figures["storage"]["limit_bytes"] == 10**9
    stats = workspace.ssh("task stats")
    assert "Telemetry not available" not in stats.stdout
    assert f"Activity:     {figures['processes']} processes" in stats.stdout


def test_image_exec_needs_token(workspace: Running) -> None:
    denied = workspace.guest.run_user(["podman", "exec", CONTAINER, "bash", "-c", "echo entered"],
                                      check=False)
    allowed = workspace.guest.run_user(
        ["podman", "exec", "--env", f"LC_WINALUX_TOKEN={TOKEN}", CONTAINER, "sh", "-c",
         "echo entered"], check=False)
    assert denied.returncode == 126
    assert "entered" not in denied.stdout
    assert allowed.stdout.strip() == "entered"


def test_image_ca_bundle_not_in_image(workspace: Running) -> None:
    require(CA_BUNDLE.exists(), "no CA bundle on this machine")
    image_bundle = workspace.user("podman", "run", "--rm", "--entrypoint", "cat", IMAGE,
                                  "/etc/ssl/certs/ca-certificates.crt")
    extra = sorted(set(CA_BUNDLE.read_text().splitlines()) - set(image_bundle.splitlines()))
    extra = [line for line in extra if len(line) == 64]
    require(extra, "this machine's bundle has no certificate beyond the image's own")
    found = workspace.guest.run_user(
        ["podman", "run", "--rm", "--entrypoint", "grep", IMAGE, "-rlF", extra[0], "/etc",
         "/usr/local", "/home", "/root", "/tmp", "/var", "/run"], check=False)
    assert found.stdout.strip() == ""


JUPYTER_PROBE = """
import sys, urllib.error, urllib.request
def status(headers):
    request = urllib.request.Request("http://127.0.0.1:8888/api/contents", headers=headers)
    try:
        return urllib.request.urlopen(request, timeout=5).status
    except urllib.error.HTTPError as err:
        return err.code
print(status({}), status({"Authorization": "token wrong"}),
      status({"Authorization": "token " + sys.argv[1]}))
"""


def test_image_data_jupyter_needs_token(workspace: Running) -> None:
    user = workspace.user
    user("podman", "secret", "create", "winalux-data.token", "-", input=TOKEN)
    public_key = (workspace.folder / "key.pub").read_text().strip()
    user("podman", "run", "-d", "--name", "winalux-data", "--secret",
         "winalux-data.token,type=mount,target=/run/secrets/winalux-token,uid=1000,gid=1000,"
         "mode=0400", "-e", "WINALUX_WORKSPACE=data", "-e", "WINALUX_PROFILE=data",
         "-e", f"WINALUX_PUBLIC_KEY={public_key}", DATA_IMAGE)
    probe = ["podman", "exec", "--env", f"LC_WINALUX_TOKEN={TOKEN}", "winalux-data",
             "python3", "-c", JUPYTER_PROBE, TOKEN]
    deadline = time.monotonic() + 120
    while True:
        answer = workspace.guest.run_user(probe, check=False)
        if answer.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(1)
    jupyter_log = user("podman", "exec", "--env", f"LC_WINALUX_TOKEN={TOKEN}", "winalux-data",
                       "cat", "/home/developer/.local/state/winalux/jupyter.log")
    assert answer.stdout.split() == ["403", "403", "200"], answer.stderr
    assert "token=..." in jupyter_log
    assert TOKEN not in jupyter_log


def test_image_home_survives_redeploy(workspace: Running) -> None:
    assert workspace.ssh("echo kept > ~/persist.txt").returncode == 0
    before = workspace.user("podman", "inspect", "--format", "{{.Id}}", CONTAINER).strip()
    workspace.guest.run_user(["systemctl", "--user", "stop",
                              f"winalux-{WORKSPACE}.workspace.service",
                              f"winalux-{WORKSPACE}-pod.service"], timeout=120)
    workspace.guest.run_user(["systemctl", "--user", "start",
                              f"winalux-{WORKSPACE}.workspace.service"], timeout=300)
    wait_for_sshd(workspace)
    after = workspace.user("podman", "inspect", "--format", "{{.Id}}", CONTAINER).strip()
    # StrictHostKeyChecking=yes with the old known_hosts: the host key must be unchanged.
    result = workspace.ssh("cat ~/persist.txt", "-o", "StrictHostKeyChecking=yes")
    assert after != before
    assert result.returncode == 0, result.stderr
    assert result.stdout == "kept\n"
