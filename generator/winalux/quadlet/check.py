"""The renderer's self-check of its own output.

Templates live in the workspace repository, so a merge could make them write any unit
directive: a bind mount of the host user's home, an ExecStartPre that deletes volumes, a
privileged container. The check below, which ships with winalux rather than with the
repository, allows only the sections and keys the project's units need, and only safe
values for the keys that reach the host: volume sources, PodmanArgs flags, ExecStartPre.

It also catches what quadlet's dry run lets through and podman only rejects at start (a
malformed PublishPort, a Secret= naming another secret, the same mount target twice), and
every reference that does not resolve within the render.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from winalux.quadlet.render import HEADER_PREFIX, Render, RenderError
from winalux.spec import WorkspaceNames

_COMMON = {
    "Unit": {"Description", "Documentation", "Wants", "Requires", "After", "Before"},
    "Service": {"Restart", "RestartSec", "TimeoutStartSec", "TimeoutStopSec", "ExecStartPre"},
    "Install": {"WantedBy"},
}
ALLOWED_KEYS: dict[str, dict[str, set[str]]] = {
    "pod": {**_COMMON, "Pod": {"PodName", "PublishPort", "PodmanArgs"}},
    "container": {
        **_COMMON,
        "Container": {
            "ContainerName",
            "Image",
            "Pod",
            "Volume",
            "Secret",
            "Environment",
            "Label",
            "Annotation",
            "Exec",
            "NoNewPrivileges",
            "DropCapability",
            "StopTimeout",
            "StopSignal",
            "RunInit",
            "WorkingDir",
            "HealthCmd",
            "HealthInterval",
            "Pull",
        },
    },
    "volume": {
        "Unit": _COMMON["Unit"],
        "Install": _COMMON["Install"],
        "Volume": {"VolumeName", "Label"},
    },
}
_PODMAN_ARGS = re.compile(
    r"--exit-policy=(?:continue|stop)|--memory=[0-9]+m|--cpus=[0-9]+(?:\.[0-9]+)?"
)
_PUBLISH = re.compile(r"(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}:)?[0-9]{1,5}:[0-9]{1,5}(?:/(?:tcp|udp))?")
# A broken template fails every workspace alike; the first problems tell the story.
MAX_SHOWN = 20


def check_render(render: Render) -> None:
    """Raise RenderError listing every disallowed, unresolved or unsafe line of the render."""
    problems: list[str] = []
    for workspace, files in render.workspaces.items():
        for file_name in files:
            problems.extend(
                f"{file_name}: {message}"
                for message in _check_unit(file_name, render.files[file_name], workspace, render)
            )
    if problems:
        listed = problems[:MAX_SHOWN]
        if len(problems) > MAX_SHOWN:
            listed.append(f"... and {len(problems) - MAX_SHOWN} more")
        raise RenderError("rendered units failed the self-check:\n  " + "\n  ".join(listed))


def _check_unit(file_name: str, text: str, workspace: str, render: Render) -> Iterator[str]:
    if not text.startswith(HEADER_PREFIX):
        yield "the first line is not the winalux header"
    kind = file_name.rsplit(".", 1)[-1]
    allowed = ALLOWED_KEYS.get(kind, {})
    names = WorkspaceNames(workspace)
    targets: dict[str, str] = {}
    privileges = False
    for section, key, value in _entries(text):
        if section is None:
            yield f"{key}= outside a section"
        elif section not in allowed:
            yield f"section [{section}] is not allowed in a .{kind} unit"
        elif key not in allowed[section]:
            yield f"{key}= is not allowed in [{section}] of a .{kind} unit"
        elif key == "Pod" and value not in render.files:
            yield f"Pod={value} is not part of the render"
        elif key == "Volume" and section == "Container":
            yield from _check_volume(value, names, targets, render)
        elif key == "Secret":
            yield from _check_secret(value, names, targets)
        elif key == "PublishPort" and not _PUBLISH.fullmatch(value):
            yield f"PublishPort={value} is not host:container[/tcp|udp]"
        elif key == "PodmanArgs":
            yield from (
                f"PodmanArgs flag {flag} is not allowed"
                for flag in value.split()
                if not _PODMAN_ARGS.fullmatch(flag)
            )
        elif key == "ExecStartPre" and value != f"mkdir -p {names.telemetry_dir}":
            yield f"ExecStartPre={value} is not allowed: only creating the telemetry folder is"
        privileges = privileges or (key == "NoNewPrivileges" and value == "true")
    if kind == "container" and not privileges:
        yield "every container must set NoNewPrivileges=true"


def _check_volume(
    value: str, names: WorkspaceNames, targets: dict[str, str], render: Render
) -> Iterator[str]:
    source, _, rest = value.partition(":")
    target, _, options = rest.partition(":")
    if source.endswith(".volume"):
        if source not in render.files:
            yield f"Volume={value} names {source}, which is not part of the render"
    elif source != names.telemetry_dir or options != "ro":
        yield (
            f"Volume={value} is not allowed: sources are the render's .volume units and "
            f"{names.telemetry_dir}, read-only"
        )
    yield from _claim_target(target, f"Volume={value}", targets)


def _check_secret(value: str, names: WorkspaceNames, targets: dict[str, str]) -> Iterator[str]:
    name, *options = value.split(",")
    if name != names.secret:
        yield f"Secret={value} is not the workspace's own token secret"
    settings = dict(option.split("=", 1) for option in options if "=" in option)
    if settings.get("type", "mount") == "mount":
        target = settings.get("target", f"/run/secrets/{name}")
        yield from _claim_target(target, f"Secret={value}", targets)


def _claim_target(target: str, entry: str, targets: dict[str, str]) -> Iterator[str]:
    if target in targets:
        yield f"{entry} mounts {target}, already used by {targets[target]}"
    targets[target] = entry


def _entries(text: str) -> Iterator[tuple[str | None, str, str]]:
    """Yield (section, key, value) of each setting, as systemd reads them.

    systemd ignores blank lines and lines starting with # or ;, joins lines ending in a
    backslash with the next one, and allows whitespace around the key and the "=". Only
    "\\n" ends a line: str.splitlines() would also split on U+0085 and U+2028, which may
    appear inside quoted values.
    """
    if "\\\n" in text:
        text = text.replace("\\\n", " ")
    section: str | None = None
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped[0] == "[" and stripped[-1] == "]":
            section = stripped[1:-1]
            continue
        key, equals, value = stripped.partition("=")
        if not equals:
            yield section, stripped, ""
        else:
            yield section, key.rstrip(), value.lstrip()
