"""The agent's commands through click: sync --dry-run, status, token refusal, install files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.host.workspace_repo import WorkspaceRepo, workspace_yaml
from winalux.cli import cli
from winalux.host import install
from winalux.host.install import InstallError, InstallOptions, environment_text, parse_timespan
from winalux.host.telemetry import collector_exec_start

HOST = "devbox-1"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    for name in ("WINALUX_REPO", "WINALUX_BRANCH", "WINALUX_HOST", "WINALUX_NOTIFY_COMMAND",
                 "WINALUX_NOTIFY_URL", "WINALUX_ALLOWED_SIGNERS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def repo(tmp_path: Path) -> WorkspaceRepo:
    repository = WorkspaceRepo.create(tmp_path / "repo")
    repository.set_workspaces({"alice": workspace_yaml("alice", HOST, 2300)}, "Add alice")
    return repository


def _invoke(*argv: str, env: dict[str, str] | None = None) -> object:
    return CliRunner().invoke(cli, list(argv), env=env, catch_exceptions=False)


def test_sync_dry_run_prints_plan(home: Path, repo: WorkspaceRepo) -> None:
    result = _invoke("sync", "--repo", str(repo.remote), "--host", HOST, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "create  alice: start winalux-alice-pod.service" in result.stdout
    assert not (home / "config" / "containers").exists()


def test_sync_reads_settings_from_environment(home: Path, repo: WorkspaceRepo) -> None:
    env = {"WINALUX_REPO": str(repo.remote), "WINALUX_HOST": HOST}
    result = _invoke("sync", "--dry-run", env=env)
    assert result.exit_code == 0, result.output
    assert f"for host {HOST}" in result.stdout


def test_sync_failure_exits_one(home: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["sync", "--repo", str(tmp_path / "none.git"),
                                      "--host", HOST])
    assert result.exit_code == 1
    assert "cannot update branch 'main'" in result.output


def test_status_before_any_sync(home: Path) -> None:
    result = _invoke("status")
    assert result.exit_code == 0
    assert result.stdout.startswith("result: never")


def test_status_json_after_failure(home: Path, tmp_path: Path) -> None:
    CliRunner().invoke(cli, ["sync", "--repo", str(tmp_path / "none.git"), "--host", HOST])
    result = CliRunner().invoke(cli, ["status", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["result"] == "failed"
    assert "cannot update branch" in data["last_error"]
    assert "files" not in data


def test_token_show_rejects_non_terminal(home: Path) -> None:
    result = CliRunner().invoke(cli, ["token", "show", "alice"])
    assert result.exit_code == 1
    assert "pass --force" in result.output


def test_timespans_parse() -> None:
    assert parse_timespan("1min") == 60
    assert parse_timespan("30s") == 30
    assert parse_timespan("1h 30min") == 5400
    assert parse_timespan("90") == 90


@pytest.mark.parametrize("text", ["", "0s", "5 weeks", "1min;rm", "soon"])
def test_invalid_timespans_rejected(text: str) -> None:
    with pytest.raises(InstallError, match="invalid interval"):
        parse_timespan(text)


def test_environment_file_quotes_values() -> None:
    text = environment_text(InstallOptions(
        repository="https://deploy:t0k$en@git.example.org/ws.git",
        host="devbox-1",
        notify_command="notify-send 'sync failed'",
    ))
    lines = text.splitlines()
    assert "WINALUX_REPO='https://deploy:t0k$en@git.example.org/ws.git'" in lines
    assert "WINALUX_BRANCH='main'" in lines
    assert "WINALUX_NOTIFY_COMMAND=\"notify-send 'sync failed'\"" in lines
    assert not any(line.startswith("WINALUX_NOTIFY_URL") for line in lines)


def test_environment_file_rejects_line_breaks() -> None:
    with pytest.raises(InstallError, match="line breaks"):
        environment_text(InstallOptions(repository="/srv/ws.git\nWINALUX_HOST=x"))


def test_units_render_without_credentials(tmp_path: Path) -> None:
    options = InstallOptions(repository="https://deploy:secret@git.example.org/ws.git",
                             executable="/opt/winalux/bin/winalux")
    units = install._render_units(options, 60, tmp_path / "sync.env")
    service, timer = units[install.SERVICE], units[install.TIMER]
    assert "secret" not in service
    assert f"EnvironmentFile={tmp_path / 'sync.env'}" in service
    assert "ExecStart=/opt/winalux/bin/winalux -v sync\n" in service
    assert "OnUnitActiveSec=60s" in timer
    assert "RandomizedDelaySec=12s" in timer


def test_collector_unit_runs_this_python(tmp_path: Path) -> None:
    template = install.package_templates() / "host" / install.COLLECTOR_TEMPLATE
    if not template.exists():
        pytest.skip("this tree ships no collector template")
    options = InstallOptions(repository="/srv/ws.git", executable="/opt/winalux/bin/winalux")
    text = install._render_collector(options)
    assert text is not None
    assert f"ExecStart={collector_exec_start(sys.executable)}\n" in text
    assert sys.executable in text


@pytest.mark.parametrize("name", ["../etc", "Alice", "a--b", "a-", "9a", ""])
def test_invalid_workspace_names_rejected(home: Path, name: str) -> None:
    for argv in (["purge", name, "--yes"], ["token", "rotate", name]):
        result = CliRunner().invoke(cli, argv)
        assert result.exit_code == 2, result.output
        assert "is not a workspace name" in result.output
