""".gitlab-ci.yml: valid against GitLab's CI schema, jobs wired to ci/ scripts, and the rules
that decide which jobs run in merge request, default branch and tag pipelines."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import git
import pytest
import yaml

from tests.ci.pipeline import GITLAB_CI_LOCAL_VERSION
from tests.support import require
from winalux.run import run

PROJECT = Path(__file__).resolve().parents[2]
CI_FILE = PROJECT / ".gitlab-ci.yml"
RESERVED_KEYS = {"workflow", "stages", "variables", "default", "include"}


def ci_config() -> dict[str, object]:
    return yaml.safe_load(CI_FILE.read_text(encoding="utf-8"))


def jobs() -> dict[str, dict[str, object]]:
    return {name: job for name, job in ci_config().items()
            if name not in RESERVED_KEYS and not name.startswith(".")}


def check_jsonschema(path: Path) -> tuple[int, str]:
    require(shutil.which("check-jsonschema"), "check-jsonschema not found: pip install -e '.[ci]'")
    result = run(["check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", str(path)],
                 check=False, timeout=120)
    return result.returncode, result.stdout + result.stderr


def test_ci_file_matches_gitlab_schema() -> None:
    returncode, output = check_jsonschema(CI_FILE)
    assert returncode == 0, output


def test_schema_check_rejects_broken_file(tmp_path: Path) -> None:
    broken = ci_config()
    broken["validate"] = {**jobs()["validate"], "when": "sometimes"}
    path = tmp_path / ".gitlab-ci.yml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    returncode, output = check_jsonschema(path)
    assert returncode == 1
    assert "validate" in output


@pytest.mark.parametrize("name", sorted(jobs()))
def test_job_runs_one_ci_script(name: str) -> None:
    job = jobs()[name]
    script = job["script"]
    assert isinstance(script, list)
    assert len(script) == 1
    program = str(script[0]).split()[0]
    assert program.startswith("ci/")
    path = PROJECT / program
    assert path.is_file()
    assert os.access(path, os.X_OK)


def test_job_scripts_exist() -> None:
    for name in ("lint", "validate", "render", "test", "plan", "build-images"):
        assert (PROJECT / "ci" / f"{name}.sh").is_file(), name


def test_only_build_job_pushes() -> None:
    pushing = [name for name, job in jobs().items() if "--push" in " ".join(job["script"])]
    assert pushing == ["build-images"]


def test_build_job_never_in_merge_requests() -> None:
    first_rule = jobs()["build-images"]["rules"][0]
    assert first_rule == {"if": '$CI_PIPELINE_SOURCE == "merge_request_event"', "when": "never"}


class RuleRepository:
    """A git repository with the project's pipeline files, for gitlab-ci-local --list-json."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for relative in (".gitlab-ci.yml", "images/profiles.yml", "workspaces/.keep"):
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            source = PROJECT / relative
            target.write_bytes(source.read_bytes() if source.is_file() else b"")
        self.repo = git.Repo.init(root, initial_branch="main")
        with self.repo.config_writer() as config:
            config.set_value("user", "name", "Winalux Tests")
            config.set_value("user", "email", "tests@winalux.invalid")
        self.commit("Start", "README.md")

    def commit(self, message: str, *paths: str) -> None:
        for path in paths:
            target = self.root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f"{message}\n", encoding="utf-8")
        self.repo.git.add("--all")
        self.repo.index.commit(message)

    def jobs(self, *options: str) -> dict[str, str]:
        """Return each job's `when` as gitlab-ci-local evaluates the rules."""
        result = run(["gitlab-ci-local", "--list-json", "--home", str(self.root / ".home"),
                      *options], cwd=self.root, check=False, timeout=120)
        assert result.returncode == 0, result.stderr
        return {job["name"]: job["when"] for job in json.loads(result.stdout)}


def running(listed: dict[str, str]) -> set[str]:
    return {name for name, when in listed.items() if when != "never"}


@pytest.fixture
def rules_repo(tmp_path: Path) -> RuleRepository:
    require(shutil.which("gitlab-ci-local"),
            f"gitlab-ci-local not found: npm install -g gitlab-ci-local@{GITLAB_CI_LOCAL_VERSION}")
    return RuleRepository(tmp_path / "repo")


CHECKS = {"lint", "validate", "render", "test"}
BUILDS = {"build-images: [web]", "build-images: [data]"}


def test_merge_request_runs_checks_and_plan(rules_repo: RuleRepository) -> None:
    rules_repo.repo.git.checkout("-b", "feature")
    rules_repo.commit("Change an image", "images/Containerfile")
    listed = rules_repo.jobs("--variable", "CI_PIPELINE_SOURCE=merge_request_event",
                             "--ignore-predefined-vars", "CI_PIPELINE_SOURCE",
                             "--evaluate-rule-changes", "false")
    assert running(listed) == CHECKS | {"plan"}


def test_main_with_image_change_builds(rules_repo: RuleRepository) -> None:
    rules_repo.repo.git.update_ref("refs/remotes/origin/main", "HEAD")
    rules_repo.commit("Change an image", "images/Containerfile")
    assert running(rules_repo.jobs()) == CHECKS | BUILDS


def test_main_without_image_change_skips_builds(rules_repo: RuleRepository) -> None:
    rules_repo.repo.git.update_ref("refs/remotes/origin/main", "HEAD")
    rules_repo.commit("Add a workspace", "workspaces/dave.yml")
    assert running(rules_repo.jobs()) == CHECKS


def test_tag_builds(rules_repo: RuleRepository) -> None:
    listed = rules_repo.jobs("--variable", "CI_COMMIT_TAG=v0.2.0",
                             "--unset-variable", "CI_COMMIT_BRANCH",
                             "--ignore-predefined-vars", "CI_COMMIT_TAG",
                             "--evaluate-rule-changes", "false")
    assert running(listed) >= BUILDS
    assert "plan" not in running(listed)
