"""The full sync: load and render the commit, plan against the applied units, and apply."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from packaging.version import InvalidVersion, Version

from winalux import __version__
from winalux.host import checkout, doctor, state, tokens, units
from winalux.host.apply import ApplyFailed, apply
from winalux.host.outcome import (
    SyncFailed,
    SyncOptions,
    SyncReport,
    Tools,
    record_success,
)
from winalux.host.paths import HostPaths
from winalux.plan import CHANGE, CREATE, REMOVE, SAME, Plan, compare
from winalux.quadlet.render import Render, RenderError, render
from winalux.run import CommandError
from winalux.spec import (
    Repository,
    ValidationFailed,
    Workspace,
    WorkspaceNames,
    load_repository,
)

logger = logging.getLogger(__name__)

_OUTCOMES = {CREATE: "started", CHANGE: "restarted", SAME: "unchanged", REMOVE: "removed"}


def plan_and_apply(
    options: SyncOptions,
    paths: HostPaths,
    tools: Tools,
    record: state.State,
    report: SyncReport,
    drift: dict[str, str],
) -> SyncReport:
    """Plan the fetched commit against the applied units and, unless a dry run, apply it."""
    commit = report.commit
    repository = _load(paths.checkout, commit)
    new = _render(repository, options.host)
    old = _old_render(paths, record, new)
    report.plan = compare(old, new)
    if old is not None and not report.plan.empty and record.applied_commit:
        # Loaded only now: the old commit's models add which fields changed, and renames.
        old = _with_models(old, _old_models(paths.checkout, record.applied_commit, options.host))
        report.plan = compare(old, new)
    report.notes = _moved_away(report.plan, repository, options.host)
    if options.dry_run:
        return report
    if report.plan.empty and not drift:
        record_success(record, paths, options.host, new.files, _statuses(report.plan))
        return report

    _check_host(tools, new)
    _apply(old, new, report.plan, drift, options, paths, tools, record)
    report.applied = True
    return report


def _load(root: Path, commit: str) -> Repository:
    try:
        repository = load_repository(root)
    except ValidationFailed as err:
        raise SyncFailed(
            f"commit {commit[:12]} does not validate ({err}); running workspaces are "
            f"unchanged:\n{err.report()}"
        ) from err
    _check_version(repository.min_version, commit)
    return repository


def _check_version(required: str | None, commit: str) -> None:
    if required is None:
        return
    try:
        too_old = Version(__version__) < Version(required)
    except InvalidVersion as err:
        raise SyncFailed(f"winalux.yml: min_version {required!r} is not a version") from err
    if too_old:
        raise SyncFailed(
            f"commit {commit[:12]} needs winalux {required} or later, and this host runs "
            f"{__version__}: install winalux {required} or later; running workspaces are unchanged"
        )


def _render(repository: Repository, host: str) -> Render:
    try:
        return render(repository, host)
    except RenderError as err:
        raise SyncFailed(f"render failed; running workspaces are unchanged: {err}") from err


def _old_render(paths: HostPaths, record: state.State, new: Render) -> Render | None:
    """Return the units of the last successful sync.

    Every applied workspace ran on this host, which is all the plan needs of a model to
    classify it, so each takes the new render's model until the old ones are loaded.
    """
    if record.applied_commit is None:
        return None
    files = units.read_folder(paths.applied)
    groups: dict[str, list[str]] = {}
    for name in files:
        groups.setdefault(units.workspace_of(name), []).append(name)
    models = {name: new.models[name] for name in groups if name in new.models}
    workspaces = {name: tuple(sorted(group)) for name, group in sorted(groups.items())}
    return Render(files=files, workspaces=workspaces, models=models)


def _with_models(old: Render, loaded: dict[str, Workspace]) -> Render:
    models = {**old.models, **{name: ws for name, ws in loaded.items() if name in old.workspaces}}
    return Render(files=old.files, workspaces=old.workspaces, models=models)


def _old_models(folder: Path, commit: str, host: str) -> dict[str, Workspace]:
    with tempfile.TemporaryDirectory(prefix="winalux-applied-") as target:
        try:
            checkout.export_tree(folder, commit, Path(target))
            return load_repository(Path(target)).on_host(host)
        except Exception as err:  # noqa: BLE001 - any failure only loses the plan's details
            logger.info("workspaces of applied commit %s not loaded: %s", commit[:12], err)
            return {}


def _moved_away(plan: Plan, repository: Repository, host: str) -> list[str]:
    notes = []
    for change in plan.by_action(REMOVE):
        moved = repository.workspaces.get(change.name)
        if moved is not None and moved.host != host:
            notes.append(
                f"{change.name} moves to host {moved.host}: its home volume stays on "
                f"{host}; delete it there with `winalux purge {change.name}`"
            )
    return notes


def _check_host(tools: Tools, new: Render) -> None:
    ports = tuple(port.host for ws in new.models.values() for port in ws.published_ports)
    facts = doctor.Facts(podman=tools.podman, ports=ports)
    failures = [check for check in doctor.run_checks(facts) if check.required and not check.ok]
    if failures:
        lines = [f"{check.name}: {check.detail}; fix: {check.fix}" for check in failures]
        raise SyncFailed(
            "this host fails checks the sync needs; running workspaces are "
            "unchanged:\n" + "\n".join(lines)
        )


def _apply(
    old: Render | None,
    new: Render,
    plan: Plan,
    drift: dict[str, str],
    options: SyncOptions,
    paths: HostPaths,
    tools: Tools,
    record: state.State,
) -> None:
    old = old or Render(files={}, workspaces={})
    try:
        tokens.ensure_tokens(tools.podman, new.workspaces)
        apply(old, new, plan, drift, paths, tools.systemctl, tools.quadlet, options.active_timeout)
    except ApplyFailed as err:
        if err.rolled_back:
            record.rejected_commit = record.attempted_commit
            record.files = units.marks(paths.units, old.files)
        for name in err.workspaces:
            record.workspaces[name] = state.WorkspaceStatus("failed", detail=str(err))
        raise SyncFailed(_with_journal(str(err), err.journal), err.journal) from err
    except CommandError as err:
        raise SyncFailed(f"apply failed: {err}") from err
    _save_applied(paths, new)
    record_success(record, paths, options.host, new.files, _statuses(plan))
    _remove_tokens(tools, plan)


def _remove_tokens(tools: Tools, plan: Plan) -> None:
    """Remove the tokens of removed workspaces; a failure leaves only an unused secret."""
    for change in plan.by_action(REMOVE):
        try:
            tokens.remove_token(tools.podman, change.name)
        except CommandError as err:
            logger.error("token of removed workspace %s not removed: %s", change.name, err)


def _with_journal(message: str, journal: dict[str, list[str]]) -> str:
    lines = [message]
    for service, entries in sorted(journal.items()):
        lines.append(f"journal of {service}:")
        lines.extend(f"  {entry}" for entry in entries)
    return "\n".join(lines)


def _save_applied(paths: HostPaths, new: Render) -> None:
    staging = paths.state_dir / "applied.new"
    units.write_folder(new.files, staging)
    units.swap(staging, paths.applied)
    units.write_folder({}, staging)
    staging.rmdir()


def _statuses(plan: Plan) -> dict[str, state.WorkspaceStatus]:
    return {
        change.name: state.WorkspaceStatus(
            _OUTCOMES[change.action],
            services=[WorkspaceNames(change.name).pod_service],
            detail="; ".join(change.notes),
        )
        for change in plan.changes
    }
