"""The validate, render, diff and schema commands: output streams and exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from tests.support.repo import EXAMPLES, PROJECT, make_repository, workspace_text
from winalux.cli import cli


def invoke(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed entry point in a real process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "winalux", *args], capture_output=True, text=True, check=False
    )


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    return make_repository(tmp_path / "repo", with_examples=True)


def test_validate_examples_succeeds(repo: Path) -> None:
    result = invoke("validate", "--repo", str(repo))
    assert result.returncode == 0
    assert result.stdout == ""
    assert "3 workspace files valid" in result.stderr


def test_validate_reports_every_file(repo: Path) -> None:
    for name in ("leading-zero-port", "unknown-sidecar", "yes-no-boolean"):
        (repo / "workspaces" / f"{name}.yml").write_text(
            (EXAMPLES / "invalid" / f"{name}.yml").read_text()
        )
    result = invoke("validate", "--repo", str(repo))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "workspaces/leading-zero-port.yml:" in result.stderr
    assert "workspaces/unknown-sidecar.yml:" in result.stderr
    assert "workspaces/yes-no-boolean.yml:" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_extra_path_checked_against_repository(repo: Path, tmp_path: Path) -> None:
    candidate = tmp_path / "newcomer.yml"
    candidate.write_text(workspace_text("newcomer", ssh_port=2225, app_port=8100))
    result = invoke("validate", "--repo", str(repo), str(candidate))
    assert result.returncode == 1
    assert (
        "host port 2225 on host devbox-1 is already used by ssh_port of workspaces/alice.yml"
        in result.stderr
    )


def test_render_writes_and_reports_status(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "units"
    first = invoke("render", "--repo", str(repo), "--out", str(out))
    assert first.returncode == 0
    assert f"create  {out}/winalux-alice.pod" in first.stdout
    second = invoke("render", "--repo", str(repo), "--out", str(out))
    assert second.returncode == 0
    assert "create" not in second.stdout
    assert f"same    {out}/winalux-alice.pod" in second.stdout


def test_render_invalid_writes_nothing(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "units"
    assert invoke("render", "--repo", str(repo), "--out", str(out)).returncode == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    (repo / "workspaces" / "bob.yml").write_text(workspace_text("bob", ssh_port=2225))
    result = invoke("render", "--repo", str(repo), "--out", str(out))
    assert result.returncode == 1
    assert "nothing was written" in result.stderr
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before


def test_render_check_runs_quadlet(repo: Path, tmp_path: Path, quadlet: Path) -> None:
    result = invoke("render", "--repo", str(repo), "--out", str(tmp_path / "units"), "--check")
    assert result.returncode == 0, result.stderr
    assert "quadlet accepted 17 units (17 services)" in result.stderr


def test_render_check_without_quadlet_fails_clearly(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WINALUX_QUADLET", str(tmp_path / "missing-quadlet"))
    result = invoke("render", "--repo", str(repo), "--out", str(tmp_path / "units"), "--check")
    assert result.returncode == 1
    assert "missing-quadlet" in result.stderr


def test_diff_exit_statuses(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "units"
    invoke("render", "--repo", str(repo), "--out", str(out))
    same = invoke("diff", "--repo", str(repo), str(out))
    assert same.returncode == 0
    assert same.stdout == ""
    (repo / "workspaces" / "bob.yml").write_text(
        (repo / "workspaces" / "bob.yml").read_text().replace("2224", "2299")
    )
    different = invoke("diff", "--repo", str(repo), str(out))
    assert different.returncode == 1
    assert "-PublishPort=2224:2222\n+PublishPort=2299:2222" in different.stdout
    (repo / "workspaces" / "bob.yml").write_text("name: [\n")
    trouble = invoke("diff", "--repo", str(repo), str(out))
    assert trouble.returncode == 2
    assert "workspaces/bob.yml:" in trouble.stderr
    missing = invoke("diff", "--repo", str(repo), str(tmp_path / "nowhere"))
    assert missing.returncode == 2


def test_diff_shows_removed_and_added_files(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "units"
    invoke("render", "--repo", str(repo), "--out", str(out))
    (repo / "workspaces" / "bob.yml").unlink()
    result = invoke("diff", "--repo", str(repo), str(out))
    assert result.returncode == 1
    assert "--- a/winalux-bob.pod\n+++ /dev/null" in result.stdout


def test_schema_is_valid_json_schema() -> None:
    result = invoke("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    for name, field in schema["properties"].items():
        assert field.get("description"), f"{name} has no description"


def test_schema_accepts_example_files() -> None:
    schema = json.loads(invoke("schema").stdout)
    for path in sorted((PROJECT / "workspaces").glob("*.yml")):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def test_usage_error_exits_two() -> None:
    result = invoke("render")
    assert result.returncode == 2
    assert "--out" in result.stderr


def test_help_states_exit_statuses() -> None:
    runner = CliRunner()
    for command in ([], ["validate"], ["render"]):
        result = runner.invoke(cli, [*command, "--help"])
        assert "Exit status: 0" in result.output
    assert "Exit status: 0 no differences, 1 differences, 2 trouble" in runner.invoke(
        cli, ["diff", "--help"]
    ).output.replace("\n  ", " ")


def test_render_check_rejection_writes_nothing(
    repo: Path, tmp_path: Path, quadlet: Path
) -> None:
    out = tmp_path / "units"
    assert invoke("render", "--repo", str(repo), "--out", str(out)).returncode == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    template = repo / "templates" / "quadlet" / "workspace.container.j2"
    # The self-check has no opinion on a missing Image=, but quadlet rejects the unit.
    template.write_text(template.read_text().replace("Image={{ workspace.image }}\n", ""))
    result = invoke("render", "--repo", str(repo), "--out", str(out), "--check")
    assert result.returncode == 1
    assert "quadlet rejected the units" in result.stderr
    assert "nothing was written" in result.stderr
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before


@pytest.mark.parametrize(
    "expression", ['{{ workspace.ssh_port + "s" }}', "{{ 1 / 0 }}", "{{ workspace.nothing }}"]
)
def test_template_runtime_error_is_clean(repo: Path, tmp_path: Path, expression: str) -> None:
    template = repo / "templates" / "quadlet" / "pod.j2"
    template.write_text(template.read_text() + expression + "\n")
    result = invoke("render", "--repo", str(repo), "--out", str(tmp_path / "units"))
    assert result.returncode == 1
    assert "templates/quadlet/pod.j2" in result.stderr
    assert "Traceback" not in result.stderr


def test_template_not_utf8_is_clean(repo: Path, tmp_path: Path) -> None:
    template = repo / "templates" / "quadlet" / "pod.j2"
    template.write_bytes(template.read_bytes() + b"\xff\xfe\n")
    result = invoke("validate", "--repo", str(repo))
    assert result.returncode == 1
    assert "templates/quadlet/pod.j2: not UTF-8 text" in result.stderr


def test_render_unwritable_out_is_clean(repo: Path) -> None:
    result = invoke("render", "--repo", str(repo), "--out", "/proc/winalux-nope")
    assert result.returncode == 1
    assert "cannot write into /proc/winalux-nope" in result.stderr


def test_quadlet_not_executable_is_clean(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    not_a_program = tmp_path / "quadlet"
    not_a_program.write_text("data\n")
    monkeypatch.setenv("WINALUX_QUADLET", str(not_a_program))
    result = invoke("render", "--repo", str(repo), "--out", str(tmp_path / "units"), "--check")
    assert result.returncode == 1
    assert "cannot be run" in result.stderr


def test_render_unknown_host_warns(repo: Path, tmp_path: Path) -> None:
    result = invoke(
        "render", "--repo", str(repo), "--out", str(tmp_path / "u"), "--host", "devbox-l"
    )
    assert result.returncode == 0
    assert "warning: no workspace has host devbox-l (hosts in use: devbox-1)" in result.stderr


def test_render_ignores_permissive_umask(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "units"
    result = subprocess.run(
        ["sh", "-c", 'umask 000 && exec "$0" -m winalux render --repo "$1" --out "$2"',
         sys.executable, str(repo), str(out)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert out.stat().st_mode & 0o022 == 0
    for path in out.iterdir():
        assert path.stat().st_mode & 0o022 == 0, path.name
