"""`winalux ssh-config`: a block that the real ssh client reads as intended."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from click.testing import CliRunner

from tests.support import require
from winalux.cli import cli


def write_workspace(repo: Path, name: str, body: str) -> None:
    (repo / "workspaces").mkdir(parents=True, exist_ok=True)
    (repo / "workspaces" / f"{name}.yml").write_text(body)


def run_ssh_config(*args: str) -> object:
    return CliRunner().invoke(cli, ["ssh-config", *args], catch_exceptions=False)


def test_block_read_by_ssh(tmp_path: Path) -> None:
    require(shutil.which("ssh"), "ssh client not installed")
    write_workspace(tmp_path, "alice", "name: alice\nprofile: web\nssh_port: 12222\n")
    result = run_ssh_config("alice", "--hostname", "dev.example.com", "--repo", str(tmp_path))
    assert result.exit_code == 0, result.output
    config = tmp_path / "ssh_config"
    config.write_text(result.output.replace("LC_WINALUX_TOKEN=", "LC_WINALUX_TOKEN=abc"))
    resolved = subprocess.run(["ssh", "-G", "-F", str(config), "winalux-alice"],
                              capture_output=True, text=True, check=True).stdout.splitlines()
    assert "hostname dev.example.com" in resolved
    assert "port 12222" in resolved
    assert "user developer" in resolved
    assert "setenv LC_WINALUX_TOKEN=abc" in resolved


def test_token_left_empty(tmp_path: Path) -> None:
    write_workspace(tmp_path, "alice", "ssh_port: 12222\n")
    result = run_ssh_config("alice", "--hostname", "h", "--repo", str(tmp_path))
    assert "    SetEnv LC_WINALUX_TOKEN=\n" in result.output


def test_missing_workspace(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["ssh-config", "bob", "--hostname", "h", "--repo",
                                      str(tmp_path)])
    assert result.exit_code == 1
    assert "no workspace file" in result.output


def test_invalid_port(tmp_path: Path) -> None:
    write_workspace(tmp_path, "alice", "ssh_port: '22; rm'\n")
    result = CliRunner().invoke(cli, ["ssh-config", "alice", "--hostname", "h", "--repo",
                                      str(tmp_path)])
    assert result.exit_code == 1
    assert "ssh_port" in result.output


def test_hostname_with_space_rejected(tmp_path: Path) -> None:
    write_workspace(tmp_path, "alice", "ssh_port: 12222\n")
    result = CliRunner().invoke(cli, ["ssh-config", "alice", "--hostname", "a b", "--repo",
                                      str(tmp_path)])
    assert result.exit_code == 1
