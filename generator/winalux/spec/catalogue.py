"""The sidecar catalogue (templates/sidecars.yml) and the profile images (images/profiles.yml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from winalux.spec.load import Document, LoadError, format_path, load_document
from winalux.spec.model import Sidecar
from winalux.spec.names import RESERVED_PARTS
from winalux.spec.problems import Problem
from winalux.spec.schema import schema_errors

CATALOGUE_FILE = "templates/sidecars.yml"
PROFILES_FILE = "images/profiles.yml"

_IMAGE = (
    r"^[a-z0-9][a-z0-9._/:-]*[a-z0-9]"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)
_ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"

_CATALOGUE_SCHEMA = {
    "type": "object",
    "propertyNames": {"pattern": "^[a-z][a-z0-9]*$"},
    "additionalProperties": {
        "type": "object",
        "additionalProperties": False,
        "required": ["image", "ports"],
        "properties": {
            "description": {"type": "string"},
            "image": {"type": "string", "pattern": _IMAGE},
            "ports": {
                "type": "array",
                "items": {"type": "integer", "minimum": 1, "maximum": 65535},
                "uniqueItems": True,
            },
            "environment": {
                "type": "object",
                "propertyNames": {"pattern": _ENV_NAME},
                "additionalProperties": {"type": "string"},
            },
            "data": {"type": "string", "pattern": "^/[^\\s:]*$"},
            "token_env": {"type": "string", "pattern": _ENV_NAME},
            "command": {"type": "array", "items": {"type": "string"}},
        },
    },
}

_PROFILES_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["web", "data"],
    "properties": {
        "web": {"type": "string", "pattern": _IMAGE},
        "data": {"type": "string", "pattern": _IMAGE},
    },
}


def load_catalogue(root: Path) -> tuple[dict[str, Sidecar], list[Problem]]:
    """Load the sidecar catalogue; return the sidecars by name and any problems."""
    document, problems = _load(root, CATALOGUE_FILE, _CATALOGUE_SCHEMA)
    if problems or document is None:
        return {}, problems
    catalogue = {}
    for name, entry in document.data.items():
        if name in RESERVED_PARTS:
            line, column = document.where((name,))
            problems.append(
                Problem(
                    CATALOGUE_FILE,
                    line,
                    column,
                    name,
                    "",
                    "this name is reserved for a part of every workspace",
                    "rename the sidecar",
                )
            )
            continue
        catalogue[name] = Sidecar(
            name=name,
            image=entry["image"],
            ports=tuple(entry["ports"]),
            description=entry.get("description", ""),
            environment=tuple(sorted(entry.get("environment", {}).items())),
            data=entry.get("data"),
            token_env=entry.get("token_env"),
            command=tuple(entry.get("command", ())),
        )
    for problem in _unpinned((name, s.image) for name, s in catalogue.items()):
        problems.append(_at(document, CATALOGUE_FILE, (problem[0], "image"), problem[1]))
    return catalogue, problems


def load_profile_images(root: Path) -> tuple[dict[str, str], list[Problem]]:
    """Load the image reference of each profile; return them and any problems."""
    document, problems = _load(root, PROFILES_FILE, _PROFILES_SCHEMA)
    if problems or document is None:
        return {}, problems
    images = dict(document.data)
    for profile, message in _unpinned(images.items()):
        problems.append(_at(document, PROFILES_FILE, (profile,), message))
    return images, problems


def image_pin_problem(image: str) -> str | None:
    """Return why an image reference is not pinned, or None when it is."""
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "image has no tag, so podman would pull latest"
    if last.endswith(":latest"):
        return "image tag latest is not a pin"
    return None


def _unpinned(pairs: Any) -> list[tuple[str, str]]:
    found = []
    for name, image in pairs:
        message = image_pin_problem(image)
        if message:
            found.append((name, message))
    return found


def _at(document: Document, shown: str, key: tuple[str, ...], message: str) -> Problem:
    line, column = document.where(key)
    return Problem(
        shown,
        line,
        column,
        format_path(key),
        document.written(key) or "",
        message,
        "pin a version tag or a digest, e.g. name:1.2.3 or name@sha256:...",
    )


def _load(
    root: Path, relative: str, schema: dict[str, Any]
) -> tuple[Document | None, list[Problem]]:
    path = root / relative
    if not path.is_file():
        return None, [Problem(relative, 1, 1, "", "", "file not found", f"create {relative}")]
    try:
        document = load_document(path, relative)
    except LoadError as err:
        return None, [err.problem]
    problems = []
    for error in schema_errors(schema, document.data):
        key = tuple(error.absolute_path)
        line, column = document.where(key)
        problems.append(
            Problem(
                relative,
                line,
                column,
                format_path(key),
                "",
                error.message,
                "see the comment at the top of the file",
            )
        )
    return document, problems
