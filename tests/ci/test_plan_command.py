"""`winalux plan` on real git repositories: summaries, formats, diffs and error cases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import git
import pytest
from click.testing import CliRunner, Result

from tests.support.repo import make_repository, workspace_text
from winalux.cli import cli
from winalux.review import report

ANA = workspace_text("ana", ssh_port=2301, app_port=8301)
BEN = workspace_text("ben", ssh_port=2302, app_port=8302, profile="data", sidecars="[redis]")


class History:
    """A workspace repository with a commit per step, on main."""

    def __init__(self, root: Path) -> None:
        self.root = make_repository(root)
        self.repo = git.Repo.init(root, initial_branch="main")
        with self.repo.config_writer() as config:
            config.set_value("user", "name", "Winalux Tests")
            config.set_value("user", "email", "tests@winalux.invalid")

    def commit(self, message: str, workspaces: dict[str, str | None]) -> str:
        for name, text in workspaces.items():
            path = self.root / "workspaces" / f"{name}.yml"
            if text is None:
                path.unlink()
            else:
                path.write_text(text, encoding="utf-8")
        self.repo.git.add("--all")
        self.repo.index.commit(message)
        return self.repo.head.commit.hexsha


@pytest.fixture
def history(tmp_path: Path) -> History:
    history = History(tmp_path / "repo")
    history.commit("Add ana and ben", {"ana": ANA, "ben": BEN})
    return history


def plan(history: History, *args: str) -> Result:
    return CliRunner().invoke(cli, ["plan", "--repo", str(history.root), *args],
                              catch_exceptions=False)


def test_plan_text_lists_each_action(history: History) -> None:
    base = history.repo.head.commit.hexsha
    history.commit("Change ana, add cleo, remove ben", {
        "ana": workspace_text("ana", ssh_port=2301, app_port=8301, cpus=2),
        "cleo": workspace_text("cleo", ssh_port=2303, app_port=8303),
        "ben": None,
    })
    result = plan(history, "--base", base)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"winalux plan: {base[:12]} -> HEAD ({history.repo.head.commit.hexsha[:12]})"
    assert lines[1] == "1 created, 1 changed, 1 removed, 0 unchanged"
    assert "host devbox-1:" in lines
    assert "  cleo: created" in lines
    assert "    start   winalux-cleo-pod.service" in lines
    assert "  ana: changed: cpus" in lines
    assert "    restart winalux-ana-pod.service" in lines
    assert "  ben: removed, home volume kept (winalux-ben.home, winalux-ben.sshd)" in lines
    assert "    stop    winalux-ben-pod.service" in lines
    assert "    stop    winalux-ben.redis.service" in lines


def test_plan_orders_created_changed_removed(history: History) -> None:
    history.commit("Change ana, add cleo, remove ben", {
        "ana": workspace_text("ana", ssh_port=2301, app_port=8301, cpus=2),
        "cleo": workspace_text("cleo", ssh_port=2303, app_port=8303),
        "ben": None,
    })
    result = plan(history, "--base", "HEAD~1")
    names = [line.split(":")[0].strip() for line in result.stdout.splitlines()
             if line.startswith("  ") and not line.startswith("    ")]
    assert names == ["cleo", "ana", "ben"]


def test_plan_lists_every_changed_field(history: History) -> None:
    history.commit("Move ana's ports", {
        "ana": workspace_text("ana", ssh_port=2311, app_port=8311, extra_ports="['7000:7000']"),
    })
    result = plan(history, "--base", "HEAD~1")
    assert "  ana: changed: ssh_port, app_port, extra_ports" in result.stdout.splitlines()


def test_plan_groups_by_host(history: History) -> None:
    history.commit("Add cleo on devbox-2", {
        "cleo": workspace_text("cleo", host="devbox-2", ssh_port=2301, app_port=8301),
    })
    result = plan(history, "--base", "HEAD~1")
    text = result.stdout
    assert text.index("host devbox-1:") < text.index("  ana: unchanged")
    assert text.index("host devbox-2:") < text.index("  cleo: created")
    assert text.index("  ana: unchanged") < text.index("host devbox-2:")


def test_plan_host_option_filters(history: History) -> None:
    history.commit("Add cleo on devbox-2", {
        "cleo": workspace_text("cleo", host="devbox-2", ssh_port=2301, app_port=8301),
    })
    result = plan(history, "--base", "HEAD~1", "--host", "devbox-2")
    assert "  cleo: created" in result.stdout
    assert "ana" not in result.stdout
    assert "1 created, 0 changed, 0 removed, 0 unchanged" in result.stdout


def test_plan_host_move_removes_and_creates(history: History) -> None:
    history.commit("Move ben to devbox-2", {
        "ben": workspace_text("ben", host="devbox-2", ssh_port=2302, app_port=8302,
                              profile="data", sidecars="[redis]"),
    })
    data = json.loads(plan(history, "--base", "HEAD~1", "--format", "json").stdout)
    hosts = {entry["host"]: {w["name"]: w for w in entry["workspaces"]} for entry in data["hosts"]}
    assert hosts["devbox-1"]["ben"]["action"] == "removed"
    assert hosts["devbox-1"]["ben"]["home_volume_kept"] is True
    assert hosts["devbox-2"]["ben"]["action"] == "created"
    assert any("moved from host devbox-1" in note for note in hosts["devbox-2"]["ben"]["notes"])


def test_plan_template_change_without_field(history: History) -> None:
    template = history.root / "templates" / "quadlet" / "pod.j2"
    template.write_text(template.read_text(encoding="utf-8") + "# template revision 2\n",
                        encoding="utf-8")
    history.commit("Change the pod template", {})
    result = plan(history, "--base", "HEAD~1")
    assert f"  ana: changed: {report.TEMPLATE_ONLY}" in result.stdout.splitlines()
    assert "2 changed" in result.stdout


def test_plan_profile_image_release(history: History) -> None:
    profiles = history.root / "images" / "profiles.yml"
    text = profiles.read_text(encoding="utf-8")
    web = next(line for line in text.splitlines() if line.startswith("web:"))
    profiles.write_text(text.replace(web, "web: registry.example.com/winalux-web:9.9.9"),
                        encoding="utf-8")
    history.commit("Release web 9.9.9", {})
    result = plan(history, "--base", "HEAD~1", "--diff")
    lines = result.stdout.splitlines()
    assert "  ana: changed: image" in lines
    assert "    restart winalux-ana-pod.service" in lines
    assert "  ben: unchanged" in lines
    assert "+Image=registry.example.com/winalux-web:9.9.9" in lines


def test_plan_same_revision_is_empty(history: History) -> None:
    result = plan(history, "--base", "HEAD", "--diff")
    assert result.exit_code == 0
    assert "0 created, 0 changed, 0 removed, 2 unchanged" in result.stdout
    assert result.stdout.rstrip().endswith("unit diff: none")


def test_plan_ignores_work_tree(history: History) -> None:
    history.commit("Add cleo", {"cleo": workspace_text("cleo", ssh_port=2303, app_port=8303)})
    # Uncommitted edits, staged and not, must neither show in the plan nor be changed by it.
    (history.root / "workspaces" / "ana.yml").write_text("name: [broken\n", encoding="utf-8")
    (history.root / "workspaces" / "dora.yml").write_text(
        workspace_text("dora", ssh_port=2304, app_port=8304), encoding="utf-8")
    history.repo.git.add("workspaces/dora.yml")
    status = history.repo.git.status("--porcelain")
    index = Path(history.repo.git_dir) / "index"
    index_stat = index.stat()
    head = history.repo.head.commit.hexsha

    result = plan(history, "--base", "HEAD~1", "--diff")

    assert result.exit_code == 0, result.stderr
    assert "1 created, 0 changed, 0 removed, 2 unchanged" in result.stdout
    assert "dora" not in result.stdout
    # Checked before `git status`, which may itself refresh the index.
    assert index.stat().st_mtime_ns == index_stat.st_mtime_ns
    assert history.repo.git.status("--porcelain") == status
    assert history.repo.head.commit.hexsha == head
    assert (history.root / "workspaces" / "ana.yml").read_text() == "name: [broken\n"


def test_plan_reads_branches_not_checked_out(history: History) -> None:
    history.repo.git.checkout("-b", "feature")
    history.commit("Add cleo", {"cleo": workspace_text("cleo", ssh_port=2303, app_port=8303)})
    history.repo.git.checkout("main")
    result = plan(history, "--base", "main", "--head", "feature")
    assert result.exit_code == 0, result.stderr
    assert "  cleo: created" in result.stdout
    assert not (history.root / "workspaces" / "cleo.yml").exists()


def test_plan_diff_shows_units(history: History) -> None:
    history.commit("Add cleo", {"cleo": workspace_text("cleo", ssh_port=2303, app_port=8303)})
    result = plan(history, "--base", "HEAD~1", "--diff")
    diff = result.stdout.split("unit diff:\n", 1)[1]
    assert "--- /dev/null\n+++ b/winalux-cleo.pod\n" in diff
    assert "+PublishPort=2303:2222\n" in diff
    assert "winalux-ana" not in diff


def test_plan_markdown_note(history: History) -> None:
    history.commit("Remove ben", {"ben": None})
    result = plan(history, "--base", "HEAD~1", "--format", "markdown", "--diff")
    lines = result.stdout.splitlines()
    assert lines[0] == report.NOTE_MARKER
    assert "#### Host `devbox-1`" in lines
    assert ("| `ben` | removed, home volume kept (winalux-ben.home, winalux-ben.sshd) | "
            "stop `winalux-ben-pod.service` and 5 unit services |") in lines
    assert "| `ana` | unchanged |  |" in lines
    assert "<details><summary>Unit diff (6 files)</summary>" in lines
    assert "```diff" in lines
    assert "+++ /dev/null" in lines


def test_plan_json_document(history: History) -> None:
    history.commit("Add cleo", {"cleo": workspace_text("cleo", ssh_port=2303, app_port=8303)})
    result = plan(history, "--base", "HEAD~1", "--format", "json")
    data = json.loads(result.stdout)
    assert data["base"]["commit"] == history.repo.commit("HEAD~1").hexsha
    assert data["head"] == {"revision": "HEAD", "commit": history.repo.head.commit.hexsha}
    assert data["summary"] == {"created": 1, "changed": 0, "removed": 0, "unchanged": 2}
    assert data["start"] == ["winalux-cleo-pod.service"]
    assert data["restart"] == []
    assert data["stop"] == []
    assert "diff" not in data
    cleo = data["hosts"][0]["workspaces"][0]
    assert cleo["name"] == "cleo"
    assert cleo["services"] == {"start": ["winalux-cleo-pod.service"], "restart": [], "stop": []}
    assert "create winalux-cleo.pod" in cleo["unit_changes"]


def test_plan_invalid_head_fails(history: History) -> None:
    history.commit("Clash", {"ben": workspace_text("ben", ssh_port=2301, app_port=8302)})
    result = plan(history, "--base", "HEAD~1")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "workspaces/ben.yml:" in result.stderr
    assert "ssh_port: '2301': host port 2301 on host devbox-1 is already used" in result.stderr
    assert "error: --head HEAD is invalid: 1 problem in workspace files" in result.stderr


def test_plan_invalid_base_fails(history: History) -> None:
    history.commit("Break ana", {"ana": "name: ana\nprofile: [web\n"})
    history.commit("Fix ana", {"ana": ANA})
    result = plan(history, "--base", "HEAD~1")
    assert result.exit_code == 1
    assert "workspaces/ana.yml:" in result.stderr
    assert "error: --base HEAD~1 is invalid" in result.stderr


def test_plan_unknown_revision_fails(history: History) -> None:
    result = plan(history, "--base", "no-such-branch")
    assert result.exit_code == 1
    assert "revision 'no-such-branch' not found" in result.stderr
    assert "git fetch origin no-such-branch" in result.stderr


def test_plan_outside_repository_fails(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["plan", "--repo", str(tmp_path), "--base", "main"])
    assert result.exit_code == 1
    assert "is not inside a git repository" in result.stderr


def test_plan_skips_symbolic_links(history: History, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yml"
    outside.write_text(workspace_text("eve", ssh_port=2305, app_port=8305), encoding="utf-8")
    (history.root / "workspaces" / "eve.yml").symlink_to(outside)
    history.commit("Link a workspace from outside the repository", {})
    result = plan(history, "--base", "HEAD~1")
    assert result.exit_code == 0, result.stderr
    assert "eve" not in result.stdout
    assert "skipping symbolic link workspaces/eve.yml" in result.stderr


def test_plan_command_in_real_process(history: History) -> None:
    history.commit("Add cleo", {"cleo": workspace_text("cleo", ssh_port=2303, app_port=8303)})
    completed = subprocess.run(
        [sys.executable, "-m", "winalux", "plan", "--base", "HEAD~1", "--format", "json"],
        cwd=history.root, capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["summary"]["created"] == 1


def test_markdown_diff_fence_outgrows_backticks() -> None:
    lines = report._markdown_diff("--- a/x\n+++ b/x\n+Description=````quoted````\n")
    assert lines[2] == "`````diff"
    assert lines[4] == "`````"


def test_markdown_diff_cut_short(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report, "MAX_MARKDOWN_DIFF", 40)
    diff = "--- a/x\n+++ b/x\n" + "".join(f"+line {i}\n" for i in range(20))
    lines = report._markdown_diff(diff)
    text = "\n".join(lines)
    assert "+line 19" not in text
    assert "The diff is cut short here; the job's plan/ artifact has all of it." in text
