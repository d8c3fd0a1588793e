"""Sync up to its plan against real git repositories: dry run, refusals, the no-op path.

These paths stop before systemctl; applying is tested in the systemd guest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.host.workspace_repo import WorkspaceRepo, workspace_yaml
from winalux import __version__
from winalux.host import doctor, state, units
from winalux.host.checkout import update_checkout
from winalux.host.paths import HostPaths
from winalux.host.report import format_report
from winalux.host.sync import SyncFailed, SyncOptions, Tools, sync
from winalux.quadlet.render import render
from winalux.spec import load_repository

HOST = "devbox-1"


@pytest.fixture
def repo(tmp_path: Path) -> WorkspaceRepo:
    repository = WorkspaceRepo.create(tmp_path / "repo")
    repository.set_workspaces(
        {"alice": workspace_yaml("alice", HOST, 2300), "bob": workspace_yaml("bob", HOST, 2310),
         "zoe": workspace_yaml("zoe", "devbox-2", 2320)},
        "Add alice, bob and zoe",
    )
    return repository


@pytest.fixture
def paths(tmp_path: Path) -> HostPaths:
    return HostPaths(config_home=tmp_path / "config", state_home=tmp_path / "state")


def _options(repo: WorkspaceRepo, **changes: object) -> SyncOptions:
    values: dict[str, object] = {"repository": str(repo.remote), "host": HOST, "dry_run": True,
                                 "lock_wait": 0}
    values.update(changes)
    return SyncOptions(**values)  # type: ignore[arg-type]


def test_dry_run_plans_host_workspaces(repo: WorkspaceRepo, paths: HostPaths) -> None:
    report = sync(_options(repo), paths, Tools())
    assert report.plan is not None
    actions = {change.name: change.action for change in report.plan.changes}
    assert actions == {"alice": "create", "bob": "create"}
    assert report.plan.start == ("winalux-alice-pod.service", "winalux-bob-pod.service")
    assert not report.applied


def test_dry_run_touches_no_units(repo: WorkspaceRepo, paths: HostPaths) -> None:
    sync(_options(repo), paths, Tools())
    assert not paths.units.exists()
    assert not paths.applied.exists()
    assert not paths.state_file.exists()


def test_dry_run_report_names_services(repo: WorkspaceRepo, paths: HostPaths) -> None:
    report = sync(_options(repo), paths, Tools())
    text = format_report(report, "main", dry_run=True)
    assert "create  alice: start winalux-alice-pod.service" in text
    assert "zoe" not in text
    assert text.endswith("dry run: no unit, service, token or volume was changed")


def test_invalid_commit_is_reported(repo: WorkspaceRepo, paths: HostPaths) -> None:
    repo.write("workspaces/alice.yml", workspace_yaml("alice", HOST, 80))
    repo.push("Break alice")
    with pytest.raises(SyncFailed, match="does not validate") as caught:
        sync(_options(repo, dry_run=False), paths, Tools())
    assert "workspaces/alice.yml:" in str(caught.value)
    assert "running workspaces are unchanged" in str(caught.value)
    record = state.load(paths.state_file)
    assert record.result == "failed"
    assert record.applied_commit is None
    assert "does not validate" in record.last_error
    assert not paths.units.exists()


def test_unreachable_remote_is_recorded(tmp_path: Path, paths: HostPaths) -> None:
    options = SyncOptions(repository=str(tmp_path / "missing.git"), host=HOST, lock_wait=0)
    with pytest.raises(SyncFailed, match="cannot update branch 'main'"):
        sync(options, paths, Tools())
    assert state.load(paths.state_file).result == "failed"


def test_newer_min_version_is_rejected(repo: WorkspaceRepo, paths: HostPaths) -> None:
    repo.write("winalux.yml", 'min_version: "99.0"\n')
    repo.push("Require winalux 99")
    with pytest.raises(SyncFailed, match=r"needs winalux 99.0 or later.*install winalux 99.0"):
        sync(_options(repo, dry_run=False), paths, Tools())


def test_older_min_version_is_accepted(repo: WorkspaceRepo, paths: HostPaths) -> None:
    repo.write("winalux.yml", f'min_version: "{__version__}"\n')
    repo.push("Require this winalux")
    report = sync(_options(repo), paths, Tools())
    assert report.plan is not None


def test_failed_sync_runs_notify_command(repo: WorkspaceRepo, paths: HostPaths,
                                         tmp_path: Path) -> None:
    repo.write("workspaces/bob.yml", "name: bob\n")
    repo.push("Break bob")
    output = tmp_path / "notified.txt"
    command = f"sh -c 'cat > {output}; echo \"$WINALUX_SYNC_HOST\" >> {output}'"
    with pytest.raises(SyncFailed):
        sync(_options(repo, dry_run=False, notify_command=command), paths, Tools())
    text = output.read_text()
    assert "does not validate" in text
    assert text.splitlines()[-1] == HOST


def test_repeated_failure_notifies_once(repo: WorkspaceRepo, paths: HostPaths,
                                        tmp_path: Path) -> None:
    repo.write("workspaces/bob.yml", "name: bob\n")
    repo.push("Break bob")
    output = tmp_path / "count.txt"
    command = f"sh -c 'echo failed >> {output}'"
    for _ in range(2):
        with pytest.raises(SyncFailed):
            sync(_options(repo, dry_run=False, notify_command=command), paths, Tools())
    assert output.read_text().splitlines() == ["failed"]


def test_empty_host_sync_is_recorded(repo: WorkspaceRepo, paths: HostPaths) -> None:
    report = sync(_options(repo, host="devbox-9", dry_run=False), paths, Tools())
    assert report.plan is not None and report.plan.empty
    record = state.load(paths.state_file)
    assert record.result == "ok"
    assert record.applied_host == "devbox-9"
    again = sync(_options(repo, host="devbox-9", dry_run=False), paths, Tools())
    assert again.plan is None


def _seed_applied(repo: WorkspaceRepo, paths: HostPaths) -> None:
    """Leave the units and state that a successful sync of the remote head leaves."""
    commit = update_checkout(str(repo.remote), "main", paths.checkout)
    new = render(load_repository(paths.checkout), HOST)
    units.write_folder(new.files, paths.units)
    units.write_folder(new.files, paths.applied)
    state.save(paths.state_file, state.State(
        result="ok", applied_commit=commit, attempted_commit=commit, applied_host=HOST,
        applied_version=__version__, files=units.marks(paths.units, new.files)))


def test_rename_is_removal_and_creation(repo: WorkspaceRepo, paths: HostPaths) -> None:
    _seed_applied(repo, paths)
    text = workspace_yaml("alice", HOST, 2300).replace("name: alice", "name: alicia")
    repo.set_workspaces({"alice": None, "alicia": text}, "Rename alice to alicia")
    report = sync(_options(repo), paths, Tools())
    assert report.plan is not None
    actions = {change.name: change for change in report.plan.changes}
    assert actions["alice"].action == "remove"
    assert actions["alicia"].action == "create"
    assert any("probable rename of alice" in note for note in actions["alicia"].notes)
    assert any("home volume kept" in note for note in actions["alice"].notes)
    assert actions["bob"].action == "same"


def test_move_to_other_host_warns(repo: WorkspaceRepo, paths: HostPaths) -> None:
    _seed_applied(repo, paths)
    repo.set_workspaces({"bob": workspace_yaml("bob", "devbox-2", 2310)}, "Move bob")
    report = sync(_options(repo), paths, Tools())
    text = format_report(report, "main", dry_run=True)
    assert "remove  bob: stop winalux-bob-pod.service" in text
    assert "bob moves to host devbox-2: its home volume stays on devbox-1" in text
    assert "winalux purge bob" in text


def test_changed_fields_are_named(repo: WorkspaceRepo, paths: HostPaths) -> None:
    _seed_applied(repo, paths)
    repo.set_workspaces({"bob": workspace_yaml("bob", HOST, 2310, extra="cpus: 2\n")}, "CPU")
    report = sync(_options(repo), paths, Tools())
    text = format_report(report, "main", dry_run=True)
    assert "change  bob (cpus): restart winalux-bob-pod.service" in text
    assert "same    alice" in text


def test_dry_run_reports_drift(repo: WorkspaceRepo, paths: HostPaths) -> None:
    _seed_applied(repo, paths)
    (paths.units / "winalux-bob.pod").write_text("edited by hand\n")
    report = sync(_options(repo), paths, Tools())
    assert report.drift == {"winalux-bob.pod": "edited"}
    assert (paths.units / "winalux-bob.pod").read_text() == "edited by hand\n"


def test_failing_host_checks_block_apply(repo: WorkspaceRepo, paths: HostPaths) -> None:
    failing = [check for check in doctor.run_checks(doctor.Facts())
               if check.required and not check.ok]
    if not failing:
        pytest.skip("this machine passes every host check, so the sync would apply")
    with pytest.raises(SyncFailed, match="this host fails checks the sync needs"):
        sync(_options(repo, dry_run=False), paths, Tools())
    assert not paths.units.exists()
    assert state.load(paths.state_file).result == "failed"
