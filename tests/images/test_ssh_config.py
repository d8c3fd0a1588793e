"""`winalux ssh-config`: a block that the real ssh client reads as intended."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from click.testing import CliRunner, Result

from tests.support import require
from tests.support.repo import make_repository, workspace_text
from winalux.cli import cli


def repository(tmp_path: Path, **fields: object) -> Path:
    root = make_repository(tmp_path / "repo")
    (root / "workspaces" / "alice.yml").write_text(workspace_text("alice", **fields))
    return root


def run_ssh_config(*args: str) -> Result:
    return CliRunner().invoke(cli, ["ssh-config", *args], catch_exceptions=False)


def test_block_read_by_ssh(tmp_path: Path) -> None:
    require(shutil.which("ssh"), "ssh client not installed")
    root = repository(tmp_path, ssh_port=12222)
    result = run_ssh_config("alice", "--hostname", "dev.example.com", "--repo", str(root))
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
    result = run_ssh_config("alice", "--hostname", "h", "--repo", str(repository(tmp_path)))
    assert "    SetEnv LC_WINALUX_TOKEN=\n" in result.output


def test_missing_workspace(tmp_path: Path) -> None:
    result = run_ssh_config("bob", "--hostname", "h", "--repo", str(repository(tmp_path)))
    assert result.exit_code == 1
    assert "no workspace named bob" in result.output


def test_invalid_repository_rejected(tmp_path: Path) -> None:
    root = repository(tmp_path, ssh_port="'22; rm'")
    result = run_ssh_config("alice", "--hostname", "h", "--repo", str(root))
    assert result.exit_code == 1
    assert "workspaces/alice.yml:4:11: ssh_port: '22; rm'" in result.output


def test_hostname_with_space_rejected(tmp_path: Path) -> None:
    result = run_ssh_config("alice", "--hostname", "a b", "--repo", str(repository(tmp_path)))
    assert result.exit_code == 1
    assert "without spaces" in result.output
