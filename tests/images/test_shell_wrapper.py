"""The wrapped /bin/sh and /bin/bash: free inside the workspace, gated when entered from outside."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.images import workspace_root
from tests.images.terminal import Terminal
from tests.images.workspace_root import SETPRIV, TOKEN, Container


@pytest.fixture
def container(root: Path) -> Iterator[Container]:
    env = workspace_root.workspace_env(root)
    running = workspace_root.start_container(root, "sleep 600 & wait", env)
    yield running
    running.stop()


def shell(root: Path, name: str) -> str:
    return str(root / "usr" / "bin" / name)


@pytest.mark.parametrize("name", ["bash", "sh", "dash"])
def test_own_process_passes(root: Path, name: str) -> None:
    env = workspace_root.workspace_env(root)
    result = workspace_root.run_inside(root, f"{shell(root, name)} -c 'echo passed'", env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "passed\n"


def test_wrapper_picks_real_shell(root: Path) -> None:
    env = workspace_root.workspace_env(root)
    probe = """'if [ -n "${BASH_VERSION:-}" ]; then echo bash; else echo dash; fi'"""
    bash = workspace_root.run_inside(root, f"{shell(root, 'bash')} -c {probe}", env)
    sh = workspace_root.run_inside(root, f"{shell(root, 'sh')} -c {probe}", env)
    assert bash.stdout == "bash\n"
    assert sh.stdout == "dash\n"


def test_arguments_kept(root: Path) -> None:
    env = workspace_root.workspace_env(root)
    command = f"""{shell(root, 'bash')} -c 'printf "%s|" "$0" "$@"' zero 'a b' '' '*'"""
    result = workspace_root.run_inside(root, command, env)
    assert result.stdout == "zero|a b||*|"


def test_script_with_shebang_passes(root: Path) -> None:
    script = root / "home" / "developer" / "script"
    script.write_text(f"#!{shell(root, 'bash')}\necho \"script $1\"\n")
    script.chmod(0o755)
    env = workspace_root.workspace_env(root)
    result = workspace_root.run_inside(root, f"{script} argument", env)
    assert result.stdout == "script argument\n"


def test_exit_status_kept(root: Path) -> None:
    env = workspace_root.workspace_env(root)
    result = workspace_root.run_inside(root, f"{shell(root, 'sh')} -c 'exit 7'", env)
    assert result.returncode == 7


@pytest.mark.parametrize("name", ["bash", "sh", "dash"])
def test_outside_without_token_rejected(container: Container, name: str) -> None:
    result = container.run_outside([shell(container.root, name), "-c", "echo entered"])
    assert result.returncode == 126
    assert "entered" not in result.stdout
    assert "no access token" in result.stderr


def test_outside_with_token_passes(container: Container) -> None:
    nested = f"{shell(container.root, 'sh')} -c 'echo nested'"
    result = container.run_outside([shell(container.root, "bash"), "-c", f"echo entered; {nested}"],
                                   env={"LC_WINALUX_TOKEN": TOKEN})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "entered\nnested\n"


def test_outside_wrong_token_rejected(container: Container) -> None:
    result = container.run_outside([shell(container.root, "bash"), "-c", "echo entered"],
                                   env={"LC_WINALUX_TOKEN": "wrong"})
    assert result.returncode == 126
    assert "entered" not in result.stdout


@pytest.mark.parametrize("forged", [
    {"WINALUX_AUTHENTICATED": "1"},
    {"WINALUX_SESSION": "1", "SSH_CONNECTION": "127.0.0.1 1 127.0.0.1 2222"},
    {"LC_WINALUX_TOKEN": ""},
    {"SSH_ORIGINAL_COMMAND": "echo entered"},
    {"PYTHONPATH": "/tmp", "PYTHONINSPECT": "1"},
])
def test_outside_forged_flags_rejected(container: Container, forged: dict[str, str]) -> None:
    result = container.run_outside([shell(container.root, "bash"), "-c", "echo entered"],
                                   env=forged)
    assert result.returncode == 126
    assert "entered" not in result.stdout


def test_outside_forged_gatekeeper_arguments_rejected(container: Container) -> None:
    # Calling the wrapper with the gatekeeper's own options changes nothing.
    argv = [shell(container.root, "bash"), "--shell", "/usr/bin/true", "--name", "x", "--", "-c",
            "echo entered"]
    result = container.run_outside(argv)
    assert result.returncode == 126
    assert "entered" not in result.stdout


def test_outside_interactive_passcode(container: Container) -> None:
    argv = ["nsenter", f"--target={container.pid1}", "--pid", "--mount", "--", "env", "-i",
            "TERM=xterm", "WINALUX_WORKSPACE=alice", f"HOME={container.root}/home/developer",
            *SETPRIV, shell(container.root, "bash"), "--norc", "-i"]
    with Terminal(argv) as terminal:
        terminal.wait_for("Passcode for ALICE:")
        terminal.type(TOKEN + "\n")
        terminal.type(f"{shell(container.root, 'sh')} -c 'echo nested-$((6 * 7))'\n")
        screen = terminal.wait_for("nested-42")
    assert TOKEN not in screen


def test_outside_interactive_wrong_passcode(container: Container) -> None:
    argv = ["nsenter", f"--target={container.pid1}", "--pid", "--mount", "--", "env", "-i",
            "TERM=xterm", *SETPRIV, shell(container.root, "bash"), "--norc", "-i"]
    with Terminal(argv) as terminal:
        terminal.wait_for("Passcode for WORKSPACE:")
        terminal.type("guess\n")
        screen = terminal.wait_for("Wrong passcode.")
    assert "guess" not in screen
