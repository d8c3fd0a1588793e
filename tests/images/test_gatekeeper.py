"""The gatekeeper behind a real sshd, running unprivileged in a private namespace."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.images import workspace_root
from tests.images.conftest import Workspace, start_workspace
from tests.images.terminal import Terminal
from tests.images.workspace_root import TOKEN


@pytest.fixture(autouse=True)
def forget_failures(workspace: Workspace) -> None:
    """Start each test with no recent failures, so that the growing delay stays short."""
    (workspace.state / "failures").unlink(missing_ok=True)


def test_token_accepted(workspace: Workspace) -> None:
    result = workspace.ssh("echo session-ran; id -un", token=TOKEN)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["session-ran", "developer"]


def test_token_removed_from_session(workspace: Workspace) -> None:
    result = workspace.ssh('echo "token=[$LC_WINALUX_TOKEN]"', token=TOKEN)
    assert result.stdout.strip() == "token=[]"


def test_session_gets_workspace_variables(workspace: Workspace) -> None:
    result = workspace.ssh('echo "$WINALUX_WORKSPACE $WINALUX_PROFILE $VIRTUAL_ENV"', token=TOKEN)
    name, profile, venv = result.stdout.split()
    assert (name, profile) == ("alice", "web")
    assert venv.endswith("/home/developer/.venv")


def test_script_on_stdin_accepted(workspace: Workspace) -> None:
    # VS Code's Remote-SSH runs `bash` without a terminal and writes its script to stdin.
    result = workspace.ssh("bash", token=TOKEN, input="echo from-stdin\nid -un\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["from-stdin", "developer"]


def test_wrong_token_rejected(workspace: Workspace) -> None:
    result = workspace.ssh("echo session-ran", token="not-the-token")
    assert result.returncode == 126
    assert "session-ran" not in result.stdout
    assert "token in LC_WINALUX_TOKEN is wrong" in result.stderr


def test_no_token_without_terminal_rejected(workspace: Workspace) -> None:
    result = workspace.ssh("echo session-ran")
    assert result.returncode == 126
    assert "session-ran" not in result.stdout
    assert "no access token" in result.stderr


def test_forged_variables_rejected(workspace: Workspace) -> None:
    # Variables a client may send: none of them replaces the token.
    forged = ["LC_WINALUX_AUTHENTICATED=1", "LC_WINALUX_TOKEN_FILE=/dev/null",
              "LANG=C.UTF-8", "LC_ALL=C"]
    options = [arg for pair in forged for arg in ("-o", f"SetEnv={pair}")]
    result = workspace.ssh("echo session-ran", *options)
    assert result.returncode == 126
    assert "session-ran" not in result.stdout


def test_empty_token_rejected(workspace: Workspace) -> None:
    result = workspace.ssh("echo session-ran", token="")
    assert result.returncode == 126
    assert "session-ran" not in result.stdout


def test_sftp_subsystem_needs_token(workspace: Workspace) -> None:
    (workspace.root / "home" / "developer" / "shared.txt").write_text("hello\n")
    batch = "ls shared.txt\n"
    base = ["sftp", "-b", "-", "-P", str(workspace.port), "-i", str(workspace.key),
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-F", "none",
            "-o", f"UserKnownHostsFile={workspace.root / 'known_hosts'}",
            "-o", "StrictHostKeyChecking=accept-new"]
    allowed = subprocess.run([*base, "-o", f"SetEnv=LC_WINALUX_TOKEN={TOKEN}",
                              "developer@127.0.0.1"], input=batch, capture_output=True,
                             text=True, timeout=60)
    denied = subprocess.run([*base, "developer@127.0.0.1"], input=batch,
                            capture_output=True, text=True, timeout=60)
    assert allowed.returncode == 0, allowed.stderr
    assert "shared.txt" in allowed.stdout
    assert denied.returncode != 0


def test_forwarding_closed(workspace: Workspace) -> None:
    # -W opens a TCP channel without a session, so only sshd's own settings stand in the way.
    result = workspace.ssh("", "-W", f"127.0.0.1:{workspace.port}", token=TOKEN)
    assert result.returncode != 0
    assert "stdio forwarding failed" in result.stderr
    agent = workspace.ssh("echo ${SSH_AUTH_SOCK:-none}", "-A", token=TOKEN)
    assert agent.stdout.strip() == "none"
    x11 = workspace.ssh("echo ${DISPLAY:-none}", "-X", token=TOKEN)
    assert x11.stdout.strip() == "none"


def test_failed_library_install_still_starts() -> None:
    running = start_workspace({"WINALUX_LIBRARIES": '["winalux-missing-library"]',
                               "UV_OFFLINE": "1"})
    try:
        result = running.ssh("echo session-ran", token=TOKEN)
        log = running.container.container_log()
    finally:
        running.container.stop()
        workspace_root.remove_root(running.root)
    assert result.stdout == "session-ran\n"
    assert "the workspace's libraries were not installed" in log


def test_forwarding_allowed_when_asked() -> None:
    running = start_workspace({"WINALUX_ALLOW_TCP_FORWARDING": "yes"})
    try:
        result = running.ssh("", "-W", f"127.0.0.1:{running.port}", token=TOKEN)
    finally:
        running.container.stop()
        workspace_root.remove_root(running.root)
    assert result.stdout.startswith("SSH-2.0-")


def test_user_rc_file_not_run(workspace: Workspace) -> None:
    ssh_dir = workspace.root / "home" / "developer" / ".ssh"
    marker = workspace.root / "home" / "developer" / "rc-ran"
    ssh_dir.mkdir(exist_ok=True)
    (ssh_dir / "rc").write_text(f"touch {marker}\n")
    workspace.ssh("true", token=TOKEN)
    assert not marker.exists()


def test_audit_log_without_token(workspace: Workspace) -> None:
    workspace.ssh("true", token=TOKEN)
    workspace.ssh("true", token="wrong-" + TOKEN)
    audit = (workspace.state / "audit.log").read_text()
    assert "event=accepted method=ssh-env" in audit
    assert "event=rejected method=ssh-env" in audit
    assert TOKEN not in audit
    deadline = time.monotonic() + 5
    while "event=rejected" not in workspace.container.container_log():
        assert time.monotonic() < deadline, "audit line did not reach the container log"
        time.sleep(0.05)
    assert TOKEN not in workspace.container.container_log()


def test_failures_counted_for_delay(workspace: Workspace) -> None:
    failures = workspace.state / "failures"
    before = 0
    workspace.ssh("true", token="wrong")
    workspace.ssh("true", token="wrong")
    assert len(failures.read_text().split()) == before + 2
    audit = (workspace.state / "audit.log").read_text().splitlines()
    assert f'{before + 2} failures in 15 min"' in audit[-1]


def test_interactive_passcode(workspace: Workspace) -> None:
    with Terminal(workspace.ssh_argv("-tt", "-o", "BatchMode=no")) as terminal:
        terminal.wait_for("Passcode for ALICE:")
        terminal.type(TOKEN + "\n")
        terminal.wait_for("STATUS")
        screen = terminal.wait_for("Connected as developer")
        terminal.type("echo shell-$((6 * 7))\n")
        screen = terminal.wait_for("shell-42")
    assert TOKEN not in screen
    assert "NETWORK" in screen


def test_interactive_wrong_passcode(workspace: Workspace) -> None:
    with Terminal(workspace.ssh_argv("-tt", "-o", "BatchMode=no")) as terminal:
        terminal.wait_for("Passcode for ALICE:")
        terminal.type("guess\n")
        screen = terminal.wait_for("Wrong passcode.", timeout=20)
    assert "guess" not in screen
    assert "STATUS" not in screen
