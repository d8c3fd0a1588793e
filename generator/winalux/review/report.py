"""Readable forms of the plan between two revisions: plain text, GitLab Markdown and JSON.

Every form lists, per host and workspace, whether it is created, changed (with the fields
that changed), removed (its home volume is kept) or unchanged, and which services start,
restart and stop. The unit diff is added when requested.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from winalux.plan import CHANGE, CREATE, REMOVE, SAME, Plan, WorkspaceChange
from winalux.quadlet import Render
from winalux.review.revision import RevisionRender
from winalux.spec import WorkspaceNames
from winalux.spec.names import service_of

ACTION_WORDS = {CREATE: "created", CHANGE: "changed", REMOVE: "removed", SAME: "unchanged"}
# The first line of every Markdown plan; ci/post-note.sh finds its earlier note by it.
NOTE_MARKER = "<!-- winalux-plan -->"
# GitLab rejects a note longer than 1,000,000 characters; the summary needs far less.
MAX_MARKDOWN_DIFF = 500_000
KEPT_VOLUME_NOTE = "home volume kept"
TEMPLATE_ONLY = "no workspace field; the templates or the sidecar catalogue changed"


@dataclass(frozen=True)
class Services:
    """Services of one workspace that the host agent starts, restarts or stops."""

    start: tuple[str, ...] = ()
    restart: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Review:
    """A plan with the two revisions it compares and, when requested, the unit diff."""

    base: RevisionRender
    head: RevisionRender
    plan: Plan
    diff: str | None = None

    def hosts(self) -> dict[str, list[WorkspaceChange]]:
        """Return the changes grouped by host, hosts sorted, changes in order of importance."""
        order = {CREATE: 0, CHANGE: 1, REMOVE: 2, SAME: 3}
        grouped: dict[str, list[WorkspaceChange]] = {}
        for change in sorted(self.plan.changes, key=lambda c: (c.host, order[c.action], c.name)):
            grouped.setdefault(change.host, []).append(change)
        return grouped

    def counts(self) -> dict[str, int]:
        return {word: len(self.plan.by_action(action)) for action, word in ACTION_WORDS.items()}

    def summary(self) -> str:
        counts = self.counts()
        return ", ".join(f"{count} {word}" for word, count in counts.items())


def services_of(change: WorkspaceChange) -> Services:
    """Return the services a change starts, restarts or stops, as winalux.plan.compare does."""
    pod = WorkspaceNames(change.name).pod_service
    removed = _removed_services(change)
    if change.action == CREATE:
        return Services(start=(pod,))
    if change.action == CHANGE:
        return Services(restart=(pod,), stop=removed)
    if change.action == REMOVE:
        return Services(stop=removed)
    return Services()


def _removed_services(change: WorkspaceChange) -> tuple[str, ...]:
    services = set()
    for entry in change.unit_changes:
        action, _, file = entry.partition(" ")
        if action == "remove":
            services.add(service_of(file))
    return tuple(sorted(services))


def describe(change: WorkspaceChange) -> str:
    """Return the action in words, with the changed fields or the kept volume."""
    word = ACTION_WORDS[change.action]
    if change.action == CHANGE:
        return f"{word}: {', '.join(change.changed_fields) or TEMPLATE_ONLY}"
    if change.action == REMOVE:
        volumes = ", ".join(WorkspaceNames(change.name).volume_names)
        return f"{word}, {KEPT_VOLUME_NOTE} ({volumes})"
    return word


def notes_of(change: WorkspaceChange) -> tuple[str, ...]:
    """Return the plan's notes, without the kept-volume note that describe() already gives."""
    return tuple(note for note in change.notes if not note.startswith(KEPT_VOLUME_NOTE))


def unit_diff(old: Render, new: Render) -> str:
    """Return the unified diff from old's unit files to new's, file by file in name order."""
    chunks = []
    for name in sorted(set(old.files) | set(new.files)):
        before = old.files.get(name, "")
        after = new.files.get(name, "")
        if before == after:
            continue
        old_label = f"a/{name}" if name in old.files else "/dev/null"
        new_label = f"b/{name}" if name in new.files else "/dev/null"
        lines = difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True), old_label, new_label
        )
        chunks.append("".join(_terminated(lines)))
    return "".join(chunks)


def _terminated(lines: Iterator[str]) -> Iterator[str]:
    for line in lines:
        yield line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"


def format_text(review: Review) -> str:
    lines = [
        f"winalux plan: {_revision(review.base)} -> {_revision(review.head)}",
        review.summary(),
    ]
    if not review.plan.changes:
        lines.append("no workspaces at either revision")
    for host, changes in review.hosts().items():
        lines += ["", f"host {host}:"]
        for change in changes:
            lines += list(_text_change(change))
    if review.diff is not None:
        lines += ["", "unit diff:" if review.diff else "unit diff: none"]
        return "\n".join(lines) + "\n" + review.diff
    return "\n".join(lines) + "\n"


def _text_change(change: WorkspaceChange) -> Iterator[str]:
    yield f"  {change.name}: {describe(change)}"
    services = services_of(change)
    for verb, names in (
        ("start", services.start),
        ("restart", services.restart),
        ("stop", services.stop),
    ):
        for name in names:
            yield f"    {verb:<7} {name}"
    if change.action != SAME:
        for entry in change.unit_changes:
            yield f"    unit    {entry}"
    for note in notes_of(change):
        yield f"    note    {note}"


def _revision(side: RevisionRender) -> str:
    if side.commit.startswith(side.revision):
        return side.short
    return f"{side.revision} ({side.short})"


def format_markdown(review: Review) -> str:
    lines = [
        NOTE_MARKER,
        "### Winalux plan",
        "",
        f"From {_code(review.base.revision)} ({_code(review.base.short)}) "
        f"to {_code(review.head.revision)} ({_code(review.head.short)}): {review.summary()}.",
    ]
    for host, changes in review.hosts().items():
        lines += ["", f"#### Host {_code(host)}", ""]
        lines += ["| Workspace | Change | Services |", "| --- | --- | --- |"]
        lines += [_markdown_row(change) for change in changes]
        notes = [(change.name, note) for change in changes for note in notes_of(change)]
        if notes:
            lines.append("")
            lines += [f"- {_code(name)}: {_cell(note)}" for name, note in notes]
    if review.diff is not None:
        lines += ["", *_markdown_diff(review.diff)]
    return "\n".join(lines) + "\n"


def _markdown_row(change: WorkspaceChange) -> str:
    services = services_of(change)
    cells = [
        f"{verb} {_code(name)}"
        for verb, names in (("start", services.start), ("restart", services.restart))
        for name in names
    ]
    if services.stop:
        # A removal stops every unit's service; the pod is the one a reviewer looks for.
        pods = [name for name in services.stop if name.endswith("-pod.service")]
        others = len(services.stop) - len(pods)
        listed = ", ".join(_code(name) for name in pods)
        if others:
            listed += f"{' and ' if pods else ''}{others} unit service{'s' if others != 1 else ''}"
        cells.append(f"stop {listed}")
    return f"| {_code(change.name)} | {_cell(describe(change))} | {'<br>'.join(cells)} |"


def _markdown_diff(diff: str) -> list[str]:
    if not diff:
        return ["No unit file changes."]
    kept = diff
    note = ""
    if len(diff) > MAX_MARKDOWN_DIFF:
        kept = diff[:MAX_MARKDOWN_DIFF].rsplit("\n", 1)[0] + "\n"
        note = "\n\nThe diff is cut short here; the job's plan/ artifact has all of it."
    files = sum(1 for line in diff.splitlines() if line.startswith("+++ "))
    fence = "`" * max(3, _longest_backtick_run(kept) + 1)
    return [
        f"<details><summary>Unit diff ({files} file{'s' if files != 1 else ''})</summary>",
        "",
        f"{fence}diff",
        kept.rstrip("\n"),
        fence + note,
        "",
        "</details>",
    ]


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def _code(text: str) -> str:
    """Format text as inline code; backticks cannot occur inside a one-backtick span."""
    return "`" + text.replace("`", "'") + "`"


def _cell(text: str) -> str:
    """Keep a table cell on one line and its pipes from splitting the cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def format_json(review: Review) -> str:
    document: dict[str, Any] = {
        "base": {"revision": review.base.revision, "commit": review.base.commit},
        "head": {"revision": review.head.revision, "commit": review.head.commit},
        "summary": review.counts(),
        "hosts": [
            {"host": host, "workspaces": [_json_change(change) for change in changes]}
            for host, changes in review.hosts().items()
        ],
        "start": list(review.plan.start),
        "restart": list(review.plan.restart),
        "stop": list(review.plan.stop),
    }
    if review.diff is not None:
        document["diff"] = review.diff
    return json.dumps(document, indent=2) + "\n"


def _json_change(change: WorkspaceChange) -> dict[str, Any]:
    services = services_of(change)
    return {
        "name": change.name,
        "action": ACTION_WORDS[change.action],
        "changed_fields": list(change.changed_fields),
        "home_volume_kept": change.action == REMOVE,
        "unit_changes": list(change.unit_changes),
        "notes": list(change.notes),
        "services": {
            "start": list(services.start),
            "restart": list(services.restart),
            "stop": list(services.stop),
        },
    }


FORMATTERS = {"text": format_text, "markdown": format_markdown, "json": format_json}
