"""The merge request pipeline of .gitlab-ci.yml run by gitlab-ci-local on a throw-away history.

main contains two workspaces. Three merge requests branch off it: one adds a workspace, one
introduces a host port clash and one removes a workspace. The lint, validate, render and
plan jobs run with gitlab-ci-local's shell executor, so the jobs' own scripts, the
generator and podman's real quadlet binary do the work.
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

import pytest

from tests.ci.notes_server import NotesApi, notes_api
from tests.ci.pipeline import GITLAB_CI_LOCAL_VERSION, PipelineRun, ThrowawayProject, workspace
from tests.support import require
from winalux.quadlet.dryrun import find_quadlet

JOBS = ["lint", "validate", "render", "plan"]
MAIN_WORKSPACES = {
    "ana": workspace("ana", "devbox-1", 2301, 8301),
    "ben": workspace("ben", "devbox-1", 2302, 8302, profile="data", sidecars="[redis]"),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayProject:
    require(shutil.which("gitlab-ci-local"),
            f"gitlab-ci-local not found: npm install -g gitlab-ci-local@{GITLAB_CI_LOCAL_VERSION}")
    binary = find_quadlet()
    require(binary is not None and binary.exists(),
            "podman's quadlet binary not found: run ci/fetch-quadlet.sh")
    return ThrowawayProject(tmp_path_factory.mktemp("pipeline") / "project", MAIN_WORKSPACES)


@pytest.fixture(scope="module")
def added(project: ThrowawayProject) -> tuple[PipelineRun, NotesApi, str]:
    """Merge request !1 adds workspace cleo on a second host; the plan is posted as a note."""
    project.merge_request("add-cleo", "Add workspace cleo", {
        "cleo": workspace("cleo", "devbox-2", 2301, 8301, extra_ports="['7000:7000']"),
    })
    token = secrets.token_hex(20)
    api = NotesApi(token=token)
    with notes_api(api) as url:
        result = project.run_pipeline(
            1, JOBS, variables={"WINALUX_GITLAB_API_URL": url, "CI_PROJECT_ID": "42"},
            secrets={"WINALUX_PLAN_NOTE_TOKEN": token},
        )
    plan = json.loads((project.root / "plan" / "plan.json").read_text(encoding="utf-8"))
    return result, api, json.dumps(plan)


@pytest.fixture(scope="module")
def clash(project: ThrowawayProject, added: object) -> PipelineRun:
    """Merge request !2 gives ben an extra port that ana's app already publishes."""
    text = workspace("ben", "devbox-1", 2302, 8302, profile="data", sidecars="[redis]",
                     extra_ports="['9000:9000', '8301:8000']")
    project.merge_request("ben-clash", "Publish another port for ben", {"ben": text})
    return project.run_pipeline(2, JOBS)


@pytest.fixture(scope="module")
def removed(project: ThrowawayProject, clash: object) -> PipelineRun:
    """Merge request !3 removes workspace ben."""
    project.merge_request("remove-ben", "Remove workspace ben", {"ben": None})
    return project.run_pipeline(3, JOBS)


def test_added_workspace_pipeline_passes(added: tuple[PipelineRun, NotesApi, str]) -> None:
    result, _, _ = added
    assert result.returncode == 0, result.output
    for job in JOBS:
        assert result.job_status(job) == "PASS", f"{job}:\n{result.output}"


def test_added_workspace_plan_says_created(added: tuple[PipelineRun, NotesApi, str]) -> None:
    result, _, _ = added
    lines = result.job_lines("plan")
    assert "1 created, 0 changed, 0 removed, 2 unchanged" in lines
    assert "host devbox-2:" in lines
    assert "  cleo: created" in lines
    assert "    start   winalux-cleo-pod.service" in lines


def test_added_workspace_plan_artifact(added: tuple[PipelineRun, NotesApi, str],
                                       project: ThrowawayProject) -> None:
    _, _, plan_json = added
    plan = json.loads(plan_json)
    hosts = {entry["host"]: entry["workspaces"] for entry in plan["hosts"]}
    assert [(w["name"], w["action"]) for w in hosts["devbox-2"]] == [("cleo", "created")]
    assert {w["name"]: w["action"] for w in hosts["devbox-1"]} == {
        "ana": "unchanged", "ben": "unchanged"}
    assert "+PublishPort=7000:7000" in plan["diff"]


def test_added_workspace_no_code_quality_issues(added: tuple[PipelineRun, NotesApi, str],
                                                project: ThrowawayProject) -> None:
    # Read before the next merge request's pipeline overwrites the report.
    result, _, _ = added
    assert "3 workspace files valid" in result.job_lines("validate")


def test_added_workspace_render_checked(added: tuple[PipelineRun, NotesApi, str],
                                        project: ThrowawayProject) -> None:
    result, _, _ = added
    assert any(line.startswith("quadlet accepted ") for line in result.job_lines("render"))
    assert (project.root / "rendered" / "winalux-cleo.pod").is_file()


def test_added_workspace_note_posted(added: tuple[PipelineRun, NotesApi, str]) -> None:
    result, api, _ = added
    assert len(api.notes) == 1
    body = api.notes[0]["body"]
    assert body.startswith("<!-- winalux-plan -->\n")
    assert "| `cleo` | created | start `winalux-cleo-pod.service` |" in body
    assert "posted a note on merge request !1" in result.output
    assert api.token not in result.output


def test_port_clash_pipeline_fails(clash: PipelineRun) -> None:
    assert clash.returncode != 0
    assert clash.job_status("validate") == "FAIL"
    # The jobs that need a valid repository do not run at all.
    assert clash.job_status("render") is None
    assert clash.job_status("plan") is None


def test_port_clash_names_file_and_field(clash: PipelineRun) -> None:
    errors = [line for line in clash.job_lines("validate") if "8301" in line]
    assert errors, clash.output
    assert errors[0].startswith("workspaces/ben.yml:")
    assert ": extra_ports[1]: '8301': " in errors[0]
    assert "app_port of workspaces/ana.yml" in errors[0]


def test_port_clash_code_quality_report(clash: PipelineRun, project: ThrowawayProject) -> None:
    report = json.loads((project.root / "reports" / "codequality.json").read_text())
    clashes = [issue for issue in report if "8301" in issue["description"]]
    assert len(clashes) == 1
    assert clashes[0]["location"]["path"] == "workspaces/ben.yml"
    line = clashes[0]["location"]["lines"]["begin"]
    text = (project.root / "workspaces" / "ben.yml").read_text().splitlines()[line - 1]
    assert text.startswith("extra_ports:")
    assert clashes[0]["description"].startswith("extra_ports[1]: '8301': ")


def test_removed_workspace_pipeline_passes(removed: PipelineRun) -> None:
    assert removed.returncode == 0, removed.output
    for job in JOBS:
        assert removed.job_status(job) == "PASS", f"{job}:\n{removed.output}"


def test_removed_workspace_plan_keeps_volume(removed: PipelineRun,
                                             project: ThrowawayProject) -> None:
    lines = removed.job_lines("plan")
    assert "0 created, 0 changed, 1 removed, 1 unchanged" in lines
    assert "  ben: removed, home volume kept (winalux-ben.home, winalux-ben.sshd)" in lines
    assert "    stop    winalux-ben-pod.service" in lines
    assert "    stop    winalux-ben.redis.service" in lines
    markdown = (project.root / "plan" / "plan.md").read_text(encoding="utf-8")
    assert "| `ben` | removed, home volume kept (winalux-ben.home, winalux-ben.sshd) |" in markdown


def test_removed_workspace_not_rendered(removed: PipelineRun, project: ThrowawayProject) -> None:
    rendered = Path(project.root / "rendered")
    assert not list(rendered.glob("winalux-ben*"))
    assert (rendered / "winalux-ana.pod").is_file()
