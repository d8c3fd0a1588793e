"""The renderer's self-check of its own output.

Quadlet itself rejects a `Pod=` naming a missing `.pod`, but not a malformed `PublishPort`,
a `Secret=` naming a missing secret or the same mount target twice: podman only fails on
those when the unit starts. This check catches them, and every other reference that does
not resolve within the render, before anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from winalux.quadlet.render import HEADER_PREFIX, Render, RenderError
from winalux.spec import WorkspaceNames

# The keys whose values refer to other units, secrets, mounts or ports.
# systemd allows whitespace around the key and the "=", so the check must too.
_CHECKED_KEYS = re.compile(r"^[ \t]*(Pod|Volume|Secret|PublishPort)[ \t]*=(.*)$", re.MULTILINE)
_PUBLISH = re.compile(r"(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}:)?[0-9]{1,5}:[0-9]{1,5}(?:/(?:tcp|udp))?")


def check_render(render: Render) -> None:
    """Raise RenderError listing every unresolved reference or unsafe line of the render."""
    problems: list[str] = []
    for workspace, files in render.workspaces.items():
        for file_name in files:
            problems.extend(
                f"{file_name}: {message}"
                for message in _check_unit(file_name, render.files[file_name], workspace, render)
            )
    if problems:
        raise RenderError("rendered units failed the self-check:\n  " + "\n  ".join(problems))


def _check_unit(file_name: str, text: str, workspace: str, render: Render) -> Iterator[str]:
    if not text.startswith(HEADER_PREFIX):
        yield "the first line is not the winalux header"
    kind = file_name.rsplit(".", 1)[-1]
    targets: dict[str, str] = {}
    for key, value in _entries(text):
        if key == "Pod" and value not in render.files:
            yield f"Pod={value} is not part of the render"
        elif key == "Volume":
            yield from _check_volume(value, targets, render)
        elif key == "Secret":
            yield from _check_secret(value, workspace, targets)
        elif key == "PublishPort":
            if kind != "pod":
                yield "PublishPort outside the .pod: containers in a pod must not publish"
            elif not _PUBLISH.fullmatch(value):
                yield f"PublishPort={value} is not host:container[/tcp|udp]"


def _check_volume(value: str, targets: dict[str, str], render: Render) -> Iterator[str]:
    source, _, rest = value.partition(":")
    target = rest.split(":", 1)[0]
    if source.endswith(".volume") and source not in render.files:
        yield f"Volume={value} names {source}, which is not part of the render"
    yield from _claim_target(target, f"Volume={value}", targets)


def _check_secret(value: str, workspace: str, targets: dict[str, str]) -> Iterator[str]:
    name, *options = value.split(",")
    if name != WorkspaceNames(workspace).secret:
        yield f"Secret={value} is not the workspace's own token secret"
    settings = dict(option.split("=", 1) for option in options if "=" in option)
    if settings.get("type", "mount") == "mount":
        target = settings.get("target", f"/run/secrets/{name}")
        yield from _claim_target(target, f"Secret={value}", targets)


def _claim_target(target: str, entry: str, targets: dict[str, str]) -> Iterator[str]:
    if target in targets:
        yield f"{entry} mounts {target}, already used by {targets[target]}"
    targets[target] = entry


def _entries(text: str) -> Iterator[tuple[str, str]]:
    for match in _CHECKED_KEYS.finditer(text):
        yield match.group(1), match.group(2).strip()
