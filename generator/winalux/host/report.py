"""Plain-text forms of a sync report and of the state file, for the command line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from winalux.host.state import State
from winalux.spec.names import WorkspaceNames

if TYPE_CHECKING:
    from winalux.host.outcome import SyncReport
    from winalux.plan import WorkspaceChange

# The action names of winalux.plan, which is not imported here: it loads the renderer.
_VERBS = {"create": "start", "change": "restart", "remove": "stop"}


def format_report(report: SyncReport, branch: str, dry_run: bool) -> str:
    lines = [f"commit {report.commit[:12]} of branch {branch} for host {report.host}"]
    if report.plan is None:
        lines.append("nothing to do: this commit is applied and no unit was edited by hand")
    else:
        lines.extend(_change_line(change) for change in report.plan.changes)
        if report.plan.empty and not report.drift:
            lines.append("nothing to do: the units of this commit match the applied ones")
    for name, change in report.drift.items():
        lines.append(f"drift   {name} was {change} by hand: the sync puts it back")
    lines.extend(f"note    {note}" for note in report.notes)
    if dry_run:
        lines.append("dry run: no unit, service, token or volume was changed")
    return "\n".join(lines)


def _change_line(change: WorkspaceChange) -> str:
    line = f"{change.action:<7} {change.name}"
    if change.changed_fields:
        line += f" ({', '.join(change.changed_fields)})"
    if change.action in _VERBS:
        line += f": {_VERBS[change.action]} {WorkspaceNames(change.name).pod_service}"
    for note in change.notes:
        line += f"; {note}"
    return line


def format_status(record: State) -> str:
    lines = [f"result: {record.result}"]
    if record.applied_commit:
        lines.append(
            f"applied commit: {record.applied_commit} (host {record.applied_host}, "
            f"winalux {record.applied_version}, at {record.last_success_at})"
        )
    if record.attempted_commit:
        lines.append(
            f"last sync: commit {record.attempted_commit} of {record.repository} "
            f"{record.branch}, {record.started_at} to {record.finished_at}"
        )
    if record.rejected_commit:
        lines.append(
            f"rejected commit: {record.rejected_commit} (rolled back; push a fix or "
            "run `winalux sync --retry`)"
        )
    if record.last_error:
        lines.append("last error:")
        lines.extend(f"  {line}" for line in record.last_error.splitlines())
    if record.workspaces:
        lines.append("workspaces:")
        width = max(len(name) for name in record.workspaces)
        for name, entry in sorted(record.workspaces.items()):
            detail = f"  {entry.detail}" if entry.detail else ""
            lines.append(f"  {name:<{width}}  {entry.status}{detail}")
    return "\n".join(lines)
