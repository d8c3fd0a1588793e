"""A throw-away copy of the project in a git repository, with pipelines run by gitlab-ci-local.

The copy contains every file of the project (tracked or not yet committed, but not ignored)
except the example workspaces, which the tests replace with their own. Merge requests are
branches off main; a pipeline runs on a branch with the variables GitLab sets for a merge
request pipeline, through gitlab-ci-local's shell executor, so the jobs run the copy's own
ci/ scripts and generator code on this machine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import git

from tests.support.repo import workspace_text
from winalux.run import run

PROJECT = Path(__file__).resolve().parents[2]
# The version the project's tests pin: newer releases need Node.js 22.
GITLAB_CI_LOCAL_VERSION = "4.73.0"
PIPELINE_TIMEOUT = 600
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class PipelineRun:
    """Exit status and output of one gitlab-ci-local run."""

    returncode: int
    output: str

    def job_status(self, job: str) -> str | None:
        """Return PASS or FAIL from the closing summary, or None when the job did not run."""
        pattern = rf"^\s*(PASS|FAIL|WARN)\s+{re.escape(job)}\s*$"
        match = re.search(pattern, self.output, re.MULTILINE)
        return match.group(1) if match else None

    def job_lines(self, job: str) -> list[str]:
        """Return what one job printed, without gitlab-ci-local's job name prefix."""
        prefix = re.compile(rf"^{re.escape(job)}\s+> ?(.*)$")
        return [m.group(1) for line in self.output.splitlines() if (m := prefix.match(line))]


class ThrowawayProject:
    """The project copied into a fresh git repository whose main branch has given workspaces."""

    def __init__(self, root: Path, workspaces: Mapping[str, str]) -> None:
        self.root = root
        self.home = root.parent / f"{root.name}-gitlab-ci-local-home"
        self.home.mkdir(parents=True, exist_ok=True)
        _copy_project(root)
        self.repo = git.Repo.init(root, initial_branch="main")
        with self.repo.config_writer() as config:
            config.set_value("user", "name", "Winalux Tests")
            config.set_value("user", "email", "tests@winalux.invalid")
        exclude = Path(self.repo.git_dir) / "info" / "exclude"
        exclude.parent.mkdir(parents=True, exist_ok=True)
        exclude.write_text("/.gitlab-ci-local/\n", encoding="utf-8")
        self.write_workspaces(workspaces)
        self.commit("Add the project and its first workspaces")

    def write_workspaces(self, workspaces: Mapping[str, str]) -> None:
        folder = self.root / "workspaces"
        folder.mkdir(exist_ok=True)
        for name, text in workspaces.items():
            (folder / f"{name}.yml").write_text(text, encoding="utf-8")

    def commit(self, message: str) -> str:
        self.repo.git.add("--all")
        self.repo.index.commit(message)
        return self.repo.head.commit.hexsha

    def merge_request(self, branch: str, message: str,
                      workspaces: Mapping[str, str | None]) -> str:
        """Commit on a new branch off main: text writes a workspace file, None removes it."""
        self.repo.git.checkout("main")
        self.repo.git.checkout("-b", branch)
        for name, text in workspaces.items():
            path = self.root / "workspaces" / f"{name}.yml"
            if text is None:
                path.unlink()
            else:
                path.write_text(text, encoding="utf-8")
        return self.commit(message)

    def run_pipeline(self, iid: int, jobs: list[str], variables: Mapping[str, str] | None = None,
                     secrets: Mapping[str, str] | None = None) -> PipelineRun:
        """Run jobs of the checked-out branch as a merge request pipeline into main.

        `secrets` reach the jobs through gitlab-ci-local's variables file, kept out of argv.
        """
        self._write_secret_variables(secrets or {})
        base = self.repo.commit("main").hexsha
        values = {
            "CI_PIPELINE_SOURCE": "merge_request_event",
            "CI_MERGE_REQUEST_IID": str(iid),
            "CI_MERGE_REQUEST_DIFF_BASE_SHA": base,
            "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
            # The tools are installed on this machine; the job's pip install is for GitLab.
            "WINALUX_CI_SKIP_SETUP": "1",
            # Reuse the quadlet binary that ci/fetch-quadlet.sh cached for the test run.
            "WINALUX_CACHE_DIR": str(cache_dir()),
            **(variables or {}),
        }
        argv = ["gitlab-ci-local", "--force-shell-executor", "--no-color",
                "--home", str(self.home), "--ignore-predefined-vars", ",".join(values)]
        for key, value in values.items():
            argv += ["--variable", f"{key}={value}"]
        result = run([*argv, *jobs], cwd=self.root, check=False, timeout=PIPELINE_TIMEOUT,
                     env={"NO_COLOR": "1"})
        output = _ANSI.sub("", result.stdout + result.stderr)
        return PipelineRun(result.returncode, output)


    def _write_secret_variables(self, secrets: Mapping[str, str]) -> None:
        path = self.home / ".gitlab-ci-local" / "variables.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        lines = ["global:"] + [f"  {key}: {json.dumps(value)}" for key, value in secrets.items()]
        path.write_text("\n".join(lines) + "\n" if secrets else "", encoding="utf-8")


def cache_dir() -> Path:
    """Return the cache folder of ci/fetch-quadlet.sh, as its own default computes it."""
    configured = os.environ.get("WINALUX_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "winalux"


def _copy_project(root: Path) -> None:
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                 cwd=PROJECT).stdout
    for relative in sorted(filter(None, listed.split("\0"))):
        if relative.startswith("workspaces/"):
            continue
        source = PROJECT / relative
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the work tree but still in the index
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)


def workspace(name: str, host: str, ssh_port: int, app_port: int, **fields: object) -> str:
    """Return a valid workspace file."""
    return workspace_text(name, host=host, ssh_port=ssh_port, app_port=app_port, **fields)
