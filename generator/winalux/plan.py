"""The difference between two renders and what it means for systemd services.

A plan lists, per workspace and host, whether it is created, changed, unchanged or removed,
which workspace fields changed, and which services to start, restart and stop. A changed
workspace restarts its `-pod.service`, which recreates the pod with its new ports and limits
and restarts every container in it. A workspace moved to another host is a removal on one
host and a creation on the other, and its old home volume stays where it was.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from winalux.quadlet.render import Render
from winalux.spec import PortMapping, Sidecar, Workspace, WorkspaceNames
from winalux.spec.names import service_of

CREATE = "create"
CHANGE = "change"
SAME = "same"
REMOVE = "remove"


@dataclass(frozen=True)
class WorkspaceChange:
    """The change to one workspace on one host."""

    name: str
    host: str
    action: str
    # Workspace fields whose value differs; empty when either side's model is unknown.
    changed_fields: tuple[str, ...] = ()
    # Unit files created, updated or removed, each as "create NAME", "update NAME", "remove NAME".
    unit_changes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """Per-workspace changes and the services to stop, start and restart, in that order."""

    changes: tuple[WorkspaceChange, ...]
    stop: tuple[str, ...]
    start: tuple[str, ...]
    restart: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return all(change.action == SAME for change in self.changes)

    def by_action(self, action: str) -> list[WorkspaceChange]:
        return [change for change in self.changes if change.action == action]

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def compare(old: Render | None, new: Render) -> Plan:
    """Compare the render now in place (None: nothing yet) with the new one."""
    old = old or Render(files={}, workspaces={})
    changes = []
    stop: list[str] = []
    start: list[str] = []
    restart: list[str] = []
    for key in sorted(_keys(old) | _keys(new)):
        change = _compare_workspace(key, old, new)
        changes.append(change)
        name = key[1]
        pod = WorkspaceNames(name).pod_service
        if change.action == CREATE:
            start.append(pod)
        elif change.action == CHANGE:
            restart.append(pod)
            stop.extend(_removed_services(change))
        elif change.action == REMOVE:
            stop.extend(sorted({service_of(file) for file in old.workspaces.get(name, ())}))
    changes = _note_renames(changes, old, new)
    return Plan(tuple(changes), tuple(stop), tuple(start), tuple(restart))


def _keys(render: Render) -> set[tuple[str, str]]:
    return {(_host(render, name), name) for name in render.workspaces}


def _host(render: Render, name: str) -> str:
    model = render.models.get(name)
    return model.host if model else ""


def _compare_workspace(key: tuple[str, str], old: Render, new: Render) -> WorkspaceChange:
    host, name = key
    in_old = name in old.workspaces and _host(old, name) == host
    in_new = name in new.workspaces and _host(new, name) == host
    if not in_old:
        units = tuple(f"create {file}" for file in new.workspaces[name])
        return WorkspaceChange(
            name, host, CREATE, unit_changes=units, notes=_moved_note(name, old, new)
        )
    if not in_new:
        units = tuple(f"remove {file}" for file in old.workspaces[name])
        volumes = [
            file.removesuffix(".volume")
            for file in old.workspaces[name]
            if file.endswith(".volume")
        ]
        notes = ("home volume kept: " + ", ".join(volumes),)
        return WorkspaceChange(name, host, REMOVE, unit_changes=units, notes=notes)
    units = tuple(_unit_changes(old, new, name))
    fields = _changed_fields(old.models.get(name), new.models.get(name))
    action = CHANGE if units else SAME
    return WorkspaceChange(
        name, host, action, changed_fields=fields if units else (), unit_changes=units
    )


def _unit_changes(old: Render, new: Render, name: str) -> Iterator[str]:
    old_files = set(old.workspaces[name])
    new_files = set(new.workspaces[name])
    for file in sorted(old_files | new_files):
        if file not in old_files:
            yield f"create {file}"
        elif file not in new_files:
            yield f"remove {file}"
        elif old.files[file] != new.files[file]:
            yield f"update {file}"


def _removed_services(change: WorkspaceChange) -> Iterator[str]:
    for entry in change.unit_changes:
        action, _, file = entry.partition(" ")
        if action == "remove":
            yield service_of(file)


def _changed_fields(old: Workspace | None, new: Workspace | None) -> tuple[str, ...]:
    if old is None or new is None:
        return ()
    changed = []
    for field in dataclasses.fields(Workspace):
        if field.name == "source":
            continue
        if _shown(getattr(old, field.name)) != _shown(getattr(new, field.name)):
            changed.append(field.name)
    return tuple(changed)


def _shown(value: Any) -> Any:
    """Return a comparable form: sidecars and port mappings compare by all their fields."""
    if isinstance(value, tuple):
        return tuple(_shown(item) for item in value)
    if isinstance(value, (Sidecar, PortMapping)):
        return dataclasses.astuple(value)
    return value


def _moved_note(name: str, old: Render, new: Render) -> tuple[str, ...]:
    if name in old.workspaces and _host(old, name) != _host(new, name):
        return (f"moved from host {_host(old, name)}: its home volume stays on that host",)
    return ()


def _note_renames(
    changes: list[WorkspaceChange], old: Render, new: Render
) -> list[WorkspaceChange]:
    """Mark a removal and a creation with the same public key as a probable rename."""
    removed = {}
    for change in changes:
        key = _key_of(old, change.name)
        if change.action == REMOVE and key is not None:
            removed[key] = change.name
    result = []
    for change in changes:
        key = _key_of(new, change.name)
        previous = removed.get(key) if change.action == CREATE and key is not None else None
        if previous and previous != change.name:
            note = (
                f"probable rename of {previous}: the new workspace starts with an empty home; "
                f"{previous}'s volumes stay until `winalux purge {previous}`"
            )
            change = dataclasses.replace(change, notes=(*change.notes, note))
        result.append(change)
    return result


def _key_of(render: Render, name: str) -> str | None:
    model = render.models.get(name)
    return model.public_key if model else None
