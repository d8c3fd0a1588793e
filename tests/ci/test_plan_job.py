"""ci/plan.sh run directly in a throw-away copy of the project: which revisions it compares
in detached and merged results pipelines, and what it writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ci.pipeline import ThrowawayProject, workspace
from winalux.run import Result, run

ANA = workspace("ana", "devbox-1", 2301, 8301)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayProject:
    """main moved on (dora added) after the merge request's branch (cleo added) left it."""
    project = ThrowawayProject(tmp_path_factory.mktemp("plan-job") / "project", {"ana": ANA})
    cleo = workspace("cleo", "devbox-1", 2303, 8303)
    project.merge_request("add-cleo", "Add cleo", {"cleo": cleo})
    project.repo.git.checkout("main")
    project.write_workspaces({"dora": workspace("dora", "devbox-1", 2304, 8304)})
    project.commit("Add dora")
    return project


# Cleared, so that a test run inside a GitLab job does not see that job's own values.
JOB_VARIABLES = ("WINALUX_PLAN_BASE", "WINALUX_PLAN_HEAD", "WINALUX_PLAN_NOTE_TOKEN",
                 "CI_COMMIT_SHA", "CI_MERGE_REQUEST_DIFF_BASE_SHA",
                 "CI_MERGE_REQUEST_EVENT_TYPE", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
                 "CI_MERGE_REQUEST_TARGET_BRANCH_SHA")


def plan_job(project: ThrowawayProject, **variables: str) -> Result:
    env = {**dict.fromkeys(JOB_VARIABLES, ""), **variables}
    return run([str(project.root / "ci" / "plan.sh")], cwd=project.root, env=env,
               check=False, timeout=120)


def plan_json(project: ThrowawayProject) -> dict[str, object]:
    return json.loads((project.root / "plan" / "plan.json").read_text(encoding="utf-8"))


def actions(plan: dict[str, object]) -> dict[str, str]:
    hosts = plan["hosts"]
    assert isinstance(hosts, list)
    return {w["name"]: w["action"] for host in hosts for w in host["workspaces"]}


def test_plan_job_detached_uses_merge_base(project: ThrowawayProject) -> None:
    repo = project.repo
    merge_base = repo.merge_base("main", "add-cleo")[0].hexsha
    result = plan_job(project, CI_MERGE_REQUEST_DIFF_BASE_SHA=merge_base,
                      CI_COMMIT_SHA=repo.commit("add-cleo").hexsha)
    assert result.returncode == 0, result.stderr
    assert actions(plan_json(project)) == {"ana": "unchanged", "cleo": "created"}


def test_plan_job_merged_result_uses_target(project: ThrowawayProject) -> None:
    repo = project.repo
    repo.git.checkout("-B", "merged-result", "main")
    repo.git.merge("--no-ff", "--no-edit", "add-cleo")
    merged = repo.head.commit.hexsha
    repo.git.checkout("main")
    result = plan_job(project, CI_MERGE_REQUEST_EVENT_TYPE="merged_result",
                      CI_MERGE_REQUEST_DIFF_BASE_SHA=repo.merge_base("main", "add-cleo")[0].hexsha,
                      CI_MERGE_REQUEST_TARGET_BRANCH_SHA=repo.commit("main").hexsha,
                      CI_COMMIT_SHA=merged)
    assert result.returncode == 0, result.stderr
    # dora came with main, not with the merge request, so it is unchanged here.
    assert actions(plan_json(project)) == {"ana": "unchanged", "cleo": "created",
                                           "dora": "unchanged"}


def test_plan_job_writes_artifacts(project: ThrowawayProject) -> None:
    result = plan_job(project, WINALUX_PLAN_BASE="main~1", WINALUX_PLAN_HEAD="main")
    assert result.returncode == 0, result.stderr
    folder = project.root / "plan"
    assert "  dora: created" in (folder / "plan.txt").read_text().splitlines()
    assert (folder / "plan.md").read_text().startswith("<!-- winalux-plan -->\n")
    assert "+++ b/winalux-dora.pod" in plan_json(project)["diff"]  # type: ignore[operator]
    assert "  dora: created" in result.stdout.splitlines()
    assert "WINALUX_PLAN_NOTE_TOKEN is not set" in result.stderr


def test_plan_job_requires_base(project: ThrowawayProject) -> None:
    result = plan_job(project)
    assert result.returncode == 1
    assert "no base revision" in result.stderr


def test_plan_job_names_missing_commit(project: ThrowawayProject) -> None:
    missing = "0" * 40
    result = plan_job(project, CI_MERGE_REQUEST_DIFF_BASE_SHA=missing)
    assert result.returncode == 1
    assert f"revision {missing} is not in this clone and no target branch is known" in result.stderr


def test_plan_job_leaves_checkout(project: ThrowawayProject) -> None:
    before = project.repo.head.commit.hexsha
    plan_job(project, WINALUX_PLAN_BASE="main~1", WINALUX_PLAN_HEAD="add-cleo")
    assert project.repo.head.commit.hexsha == before
    assert project.repo.active_branch.name == "main"
    assert not Path(project.root / "workspaces" / "cleo.yml").exists()
