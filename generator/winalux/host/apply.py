"""Applying a plan to the host as one transaction, with rollback to the last good units.

Order: write the new units into staging and check them with Quadlet; stop the services
whose unit files go away (systemd keeps a deleted unit loaded as not-found otherwise); swap
the folders; one daemon-reload; start the pods of new workspaces and restart the pods of
changed ones (a Quadlet pod stops when its only container restarts, so the restart goes to
the pod, whose Wants= brings the containers back); wait, bounded, for every service of
those workspaces to be active. On failure the same steps run back to the old units.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from winalux.host import units
from winalux.host.paths import HostPaths
from winalux.host.systemctl import ServiceState, Systemctl
from winalux.plan import CHANGE, CREATE, SAME, Plan, compare
from winalux.quadlet.dryrun import QuadletError, dry_run
from winalux.quadlet.render import Render
from winalux.run import CommandError
from winalux.spec.names import WorkspaceNames, service_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Transition:
    """Unit files to put in place and the systemctl work that brings the host to them."""

    files: dict[str, str]
    stop: tuple[str, ...]
    start: tuple[str, ...]
    restart: tuple[str, ...]
    expect_active: tuple[str, ...]
    owners: dict[str, str]


def transition(
    plan: Plan, target: Render, drifted: Iterable[str] = (), stale: Iterable[str] = ()
) -> Transition:
    """Return the work of plan, also restarting the unchanged workspaces in drifted.

    Stale files are unit files in the live folder that neither side of the plan has, for
    example after the state file was lost. Their services are stopped too.
    """
    same = {change.name for change in plan.by_action(SAME)}
    redo = sorted(same & set(drifted))
    touched = {change.name for change in plan.changes if change.action in {CREATE, CHANGE}}
    touched |= set(redo)
    expect = [service_of(file) for name in sorted(touched) for file in target.workspaces[name]]
    return Transition(
        files=dict(target.files),
        stop=(*plan.stop, *(service_of(file) for file in stale if file not in target.files)),
        start=plan.start,
        restart=(*plan.restart, *(WorkspaceNames(name).pod_service for name in redo)),
        expect_active=tuple(expect),
        owners={service_of(file): units.workspace_of(file) for file in target.files},
    )


@dataclass
class ApplyFailed(Exception):
    """Failure of the new units to pass the Quadlet check or to come up.

    When rolled_back is set, the old units are in place and running again.
    """

    message: str
    journal: dict[str, list[str]] = field(default_factory=dict)
    rolled_back: bool = False
    workspaces: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.message


def apply(
    old: Render,
    new: Render,
    plan: Plan,
    drift: dict[str, str],
    paths: HostPaths,
    systemctl: Systemctl,
    quadlet: Path | None,
    timeout: float,
) -> None:
    """Move the host from the old units to the new; raise ApplyFailed, after rollback, if not.

    drift maps unit files of the live folder that differ from the last sync to how.
    """
    drifted = sorted({units.workspace_of(name) for name in drift})
    stale = [name for name in drift if name not in old.files]
    forward = transition(plan, new, drifted, stale)
    _stage(forward.files, paths, quadlet)
    restarted = [change.name for change in plan.by_action(CHANGE)] + drifted
    try:
        waiting = _run(forward, paths, systemctl, timeout)
    except CommandError as err:
        logger.error("apply failed: %s", err)
        rollback(old, new, restarted, paths, systemctl, timeout)
        raise ApplyFailed(f"{err}; restored the last good units", rolled_back=True) from err
    if not waiting:
        return
    journal = _journal(systemctl, waiting.values())
    logger.error("new units failed: %s", "; ".join(s.describe() for s in waiting.values()))
    rollback(old, new, restarted, paths, systemctl, timeout)
    failing = tuple(sorted({forward.owners.get(name, name) for name in waiting}))
    message = _failure_message(waiting.values(), forward.owners)
    raise ApplyFailed(message, journal, rolled_back=True, workspaces=failing)


def rollback(
    old: Render,
    new: Render,
    restarted: Iterable[str],
    paths: HostPaths,
    systemctl: Systemctl,
    timeout: float,
) -> None:
    """Put the old units back and bring their workspaces to where they were."""
    logger.warning("rollback to the last good units")
    backward = transition(compare(new, old), old, restarted)
    units.write_folder(backward.files, paths.staging)
    waiting = _run(backward, paths, systemctl, timeout)
    for state in waiting.values():
        logger.error("after rollback %s", state.describe())


def _run(
    step: Transition, paths: HostPaths, systemctl: Systemctl, timeout: float
) -> dict[str, ServiceState]:
    """Swap the staged units in and do the step's systemctl work; return what is not active."""
    units.copy_foreign(paths.units, paths.staging, units.foreign_files(paths.units))
    # Stopped before their files go: a deleted unit would stay loaded as not-found.
    systemctl.stop(list(step.stop))
    units.swap(paths.staging, paths.units)
    systemctl.daemon_reload()
    systemctl.reset_failed(sorted({*step.start, *step.restart, *step.expect_active}))
    systemctl.start(list(step.start))
    systemctl.restart(list(step.restart))
    return systemctl.wait_active(list(step.expect_active), timeout)


def _stage(files: dict[str, str], paths: HostPaths, quadlet: Path | None) -> None:
    units.write_folder(files, paths.staging)
    if not files:
        return
    try:
        dry_run(paths.staging, quadlet)
    except QuadletError as err:
        raise ApplyFailed(f"Quadlet rejected the new units; nothing was changed:\n{err}") from err


def _journal(systemctl: Systemctl, states: Iterable[ServiceState]) -> dict[str, list[str]]:
    return {state.name: systemctl.journal(state.name) for state in states}


def _failure_message(states: Iterable[ServiceState], owners: dict[str, str]) -> str:
    by_workspace: dict[str, list[str]] = {}
    for state in states:
        workspace = owners.get(state.name, state.name)
        by_workspace.setdefault(workspace, []).append(state.describe())
    parts = [
        f"workspace {name}: {', '.join(found)}" for name, found in sorted(by_workspace.items())
    ]
    return "new units did not become active; restored the last good units. " + "; ".join(parts)
