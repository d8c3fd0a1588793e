"""What runs before the gatekeeper decides: nothing from the home, and not without end."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator

import pytest

from tests.images import workspace_root
from tests.images.conftest import Workspace, start_workspace
from tests.images.terminal import Terminal
from tests.images.workspace_root import LIBEXEC, TOKEN

HOME_FILES = (".bashrc", ".profile", ".bash_profile", ".bash_login", ".shrc")


@pytest.fixture
def planted() -> Iterator[Workspace]:
    """A workspace whose home has every start-up file a shell might read, each leaving a mark."""
    running = start_workspace()
    home = running.root / "home" / "developer"
    for name in HOME_FILES:
        (home / name).write_text(f'echo "$0 $*" >> {home}/ran-{name}\n', encoding="utf-8")
    yield running
    running.container.stop()
    workspace_root.remove_root(running.root)


def marks(workspace: Workspace) -> list[str]:
    return sorted(path.name for path in (workspace.root / "home" / "developer").glob("ran-*"))


def test_home_files_not_run_without_token(planted: Workspace) -> None:
    result = planted.ssh("echo session-ran")
    assert result.returncode == 126
    assert "session-ran" not in result.stdout
    assert marks(planted) == []


def test_home_files_not_run_with_wrong_token(planted: Workspace) -> None:
    result = planted.ssh("echo session-ran", token="wrong-" + TOKEN)
    assert result.returncode == 126
    assert marks(planted) == []


def test_sftp_without_token_runs_nothing(planted: Workspace) -> None:
    denied = subprocess.run(
        ["sftp", "-b", "-", "-P", str(planted.port), "-i", str(planted.key), "-F", "none",
         "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
         "-o", f"UserKnownHostsFile={planted.root / 'known_hosts'}",
         "-o", "StrictHostKeyChecking=accept-new", "developer@127.0.0.1"],
        input="ls\n", capture_output=True, text=True, timeout=60)
    assert denied.returncode != 0
    assert marks(planted) == []


def test_token_session_runs_bashrc(planted: Workspace) -> None:
    # After the gatekeeper, a command runs in bash, which reads ~/.bashrc as it does under sshd.
    result = planted.ssh('echo "$BASH_VERSION" "$SHELL"', token=TOKEN)
    assert result.returncode == 0, result.stderr
    version, shell = result.stdout.split()
    assert version[0].isdigit()
    assert shell == str(planted.root / "usr" / "bin" / "bash")
    assert marks(planted) == ["ran-.bashrc"]


def test_stdin_script_gets_bash_shell(planted: Workspace) -> None:
    # VS Code's Remote-SSH runs `bash` with its script on stdin; its terminals start $SHELL.
    script = 'echo "shell=$SHELL"; "$SHELL" -c "echo inner-\\$((6 * 7))"\n'
    result = planted.ssh("bash", token=TOKEN, input=script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [f"shell={planted.root}/usr/bin/bash", "inner-42"]


def test_login_profile_after_passcode(planted: Workspace) -> None:
    with Terminal(planted.ssh_argv("-tt", "-o", "BatchMode=no")) as terminal:
        terminal.wait_for("Passcode for ALICE:")
        assert marks(planted) == []
        terminal.type(TOKEN + "\n")
        terminal.wait_for("Connected as developer")
        terminal.type("echo shell-$((6 * 7))\n")
        terminal.wait_for("shell-42")
    assert "ran-.bash_profile" in marks(planted)


@pytest.fixture
def quick_workspace() -> Iterator[Workspace]:
    """A workspace whose gatekeeper waits 3 s for a passcode instead of 60 s."""
    running = start_workspace()
    gatekeeper = running.root / LIBEXEC / "gatekeeper"
    text = gatekeeper.read_text(encoding="utf-8")
    gatekeeper.write_text(re.sub(r"(?m)^PASSCODE_TIMEOUT_S = \d+$", "PASSCODE_TIMEOUT_S = 3",
                                 text), encoding="utf-8")
    yield running
    running.container.stop()
    workspace_root.remove_root(running.root)


@pytest.mark.parametrize("keys", ["a", "a\x04"], ids=["no-enter", "end-of-file"])
def test_partial_passcode_times_out(quick_workspace: Workspace, keys: str) -> None:
    # A client that types part of a line, or ends it with Ctrl-D, must not hold the session.
    with Terminal(quick_workspace.ssh_argv("-tt", "-o", "BatchMode=no")) as terminal:
        terminal.wait_for("Passcode for ALICE:")
        terminal.type(keys)
        screen = terminal.wait_for("no passcode typed in time", timeout=20)
    assert "Connected as developer" not in screen
    audit = (quick_workspace.state / "audit.log").read_text(encoding="utf-8")
    assert 'reason="no passcode typed in time"' in audit

