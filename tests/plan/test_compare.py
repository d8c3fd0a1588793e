"""Comparing two renders: workspace changes and the services they start, restart and stop."""

from __future__ import annotations

from pathlib import Path

from tests.support.repo import make_repository, workspace_text
from winalux.plan import CHANGE, CREATE, REMOVE, SAME, compare
from winalux.quadlet import Render, render
from winalux.spec import load_repository


def _render(root: Path) -> Render:
    return render(load_repository(root))


def _repo(tmp_path: Path) -> Path:
    root = make_repository(tmp_path / "repo")
    (root / "workspaces" / "alpha.yml").write_text(workspace_text("alpha", sidecars="[redis]"))
    (root / "workspaces" / "beta.yml").write_text(
        workspace_text("beta", ssh_port=2301, app_port=8301)
    )
    return root


def _actions(plan: object) -> dict[str, str]:
    return {change.name: change.action for change in plan.changes}  # type: ignore[attr-defined]


def test_first_render_creates_everything(tmp_path: Path) -> None:
    plan = compare(None, _render(_repo(tmp_path)))
    assert _actions(plan) == {"alpha": CREATE, "beta": CREATE}
    assert plan.start == ("winalux-alpha-pod.service", "winalux-beta-pod.service")
    assert plan.restart == ()
    assert plan.stop == ()


def test_same_render_is_empty(tmp_path: Path) -> None:
    units = _render(_repo(tmp_path))
    plan = compare(units, units)
    assert plan.empty
    assert _actions(plan) == {"alpha": SAME, "beta": SAME}
    assert plan.start == plan.restart == plan.stop == ()


def test_change_restarts_only_changed_pod(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    old = _render(root)
    (root / "workspaces" / "beta.yml").write_text(
        workspace_text("beta", ssh_port=2302, app_port=8301, libraries="[requests]")
    )
    plan = compare(old, _render(root))
    assert _actions(plan) == {"alpha": SAME, "beta": CHANGE}
    beta = plan.by_action(CHANGE)[0]
    assert beta.changed_fields == ("ssh_port", "libraries")
    assert "update winalux-beta.pod" in beta.unit_changes
    assert plan.restart == ("winalux-beta-pod.service",)
    assert plan.start == ()


def test_removed_sidecar_is_stopped(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    old = _render(root)
    (root / "workspaces" / "alpha.yml").write_text(workspace_text("alpha"))
    plan = compare(old, _render(root))
    alpha = plan.by_action(CHANGE)[0]
    assert alpha.changed_fields == ("sidecars",)
    assert "remove winalux-alpha.redis.container" in alpha.unit_changes
    assert "winalux-alpha.redis.service" in plan.stop
    assert plan.restart == ("winalux-alpha-pod.service",)


def test_removal_stops_all_and_keeps_volumes(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    old = _render(root)
    (root / "workspaces" / "alpha.yml").unlink()
    plan = compare(old, _render(root))
    alpha = plan.by_action(REMOVE)[0]
    assert "winalux-alpha.home" in alpha.notes[0]
    assert "winalux-alpha.redis-data" in alpha.notes[0]
    assert alpha.notes[0].startswith("home volume kept")
    assert "winalux-alpha-pod.service" in plan.stop
    assert "winalux-alpha.workspace.service" in plan.stop
    assert "winalux-alpha.redis.service" in plan.stop


def test_host_move_is_removal_and_creation(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    old = _render(root)
    (root / "workspaces" / "beta.yml").write_text(
        workspace_text("beta", ssh_port=2301, app_port=8301, host="devbox-2")
    )
    plan = compare(old, _render(root))
    beta = {(change.host, change.action) for change in plan.changes if change.name == "beta"}
    assert beta == {("devbox-1", REMOVE), ("devbox-2", CREATE)}
    created = [c for c in plan.changes if c.name == "beta" and c.action == CREATE][0]
    assert "moved from host devbox-1" in created.notes[0]


def test_rename_is_noted(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    old = _render(root)
    (root / "workspaces" / "beta.yml").unlink()
    (root / "workspaces" / "gamma.yml").write_text(
        workspace_text("gamma", ssh_port=2301, app_port=8301)
    )
    plan = compare(old, _render(root))
    gamma = [c for c in plan.changes if c.name == "gamma"][0]
    assert gamma.action == CREATE
    assert any("probable rename of beta" in note for note in gamma.notes)
