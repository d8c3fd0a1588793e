"""The sidecar catalogue (templates/sidecars.yml) and the profile images (images/profiles.yml)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from winalux.spec.load import Document, LoadError, format_path, load_document
from winalux.spec.model import Sidecar
from winalux.spec.names import RESERVED_PARTS
from winalux.spec.problems import Problem
from winalux.spec.schema import schema_errors

CATALOGUE_FILE = "templates/sidecars.yml"
PROFILES_FILE = "images/profiles.yml"

# A full image reference: a registry host (with a dot or port, or localhost), a path and a
# tag or digest. Short names like redis:7 depend on each host's registries.conf, so they are
# rejected.
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
IMAGE_PATTERN = (
    rf"^(?:localhost|{_LABEL}(?:\.{_LABEL})+|{_LABEL}:[0-9]{{1,5}})(?::[0-9]{{1,5}})?"
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)
_ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"
_SIDECAR_NAME = re.compile(r"[a-z][a-z0-9]{0,31}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PIN_FIX = "pin a version tag or a digest, e.g. name:1.2.3 or name@sha256:..."

_ENTRY_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["image", "ports"],
    "properties": {
        "description": {"type": "string"},
        "image": {"type": "string", "pattern": IMAGE_PATTERN},
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
        # Written into Volume= unquoted, so only characters without meaning to systemd.
        "data": {"type": "string", "pattern": "^/[A-Za-z0-9._/-]*$"},
        "token_env": {"type": "string", "pattern": _ENV_NAME},
        "command": {"type": "array", "items": {"type": "string"}},
    },
}

_PROFILES_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["web", "data"],
    "properties": {
        "web": {"type": "string", "pattern": IMAGE_PATTERN},
        "data": {"type": "string", "pattern": IMAGE_PATTERN},
    },
}


def load_catalogue(root: Path) -> tuple[dict[str, Sidecar], list[Problem]]:
    """Load the sidecar catalogue; return its valid sidecars by name and every problem.

    Each entry is checked on its own, so one broken entry does not hide the others from
    the workspaces that use them.
    """
    document, problems = _load(root, CATALOGUE_FILE, {"type": "object"})
    if problems or document is None:
        return {}, problems
    catalogue = {}
    for name, entry in document.data.items():
        entry_problems = _entry_problems(document, name, entry)
        problems.extend(entry_problems)
        if not entry_problems:
            catalogue[name] = _sidecar(name, entry)
    return catalogue, problems


def _entry_problems(document: Document, name: str, entry: Any) -> list[Problem]:
    problems = _schema_problems(document, CATALOGUE_FILE, _ENTRY_SCHEMA, entry, (name,))
    line, column = document.where((name,))
    if not _SIDECAR_NAME.fullmatch(name):
        problems.append(
            Problem(
                CATALOGUE_FILE,
                line,
                column,
                name,
                "",
                "invalid sidecar name",
                "use up to 32 lower-case letters and digits, starting with a letter",
            )
        )
    elif name in RESERVED_PARTS:
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
    if not problems:
        for text in entry.get("environment", {}).values():
            if _CONTROL.search(text):
                problems.append(
                    _at(
                        document,
                        CATALOGUE_FILE,
                        (name, "environment"),
                        "a value contains a line break or control character",
                        "write each value on one line",
                    )
                )
        pin = image_pin_problem(entry["image"])
        if pin:
            problems.append(_at(document, CATALOGUE_FILE, (name, "image"), pin, _PIN_FIX))
    return problems


def _sidecar(name: str, entry: dict[str, Any]) -> Sidecar:
    return Sidecar(
        name=name,
        image=entry["image"],
        ports=tuple(entry["ports"]),
        description=entry.get("description", ""),
        environment=tuple(sorted(entry.get("environment", {}).items())),
        data=entry.get("data"),
        token_env=entry.get("token_env"),
        command=tuple(entry.get("command", ())),
    )


def load_profile_images(root: Path) -> tuple[dict[str, str], list[Problem]]:
    """Load the image reference of each profile; return them and any problems."""
    document, problems = _load(root, PROFILES_FILE, _PROFILES_SCHEMA)
    if problems or document is None:
        return {}, problems
    images = dict(document.data)
    for profile, image in images.items():
        pin = image_pin_problem(image)
        if pin:
            problems.append(_at(document, PROFILES_FILE, (profile,), pin, _PIN_FIX))
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


def _at(document: Document, display: str, key: tuple[str, ...], message: str, fix: str) -> Problem:
    line, column = document.where(key)
    return Problem(
        display, line, column, format_path(key), document.written(key) or "", message, fix
    )


def _load(
    root: Path, relative: str, schema: dict[str, Any]
) -> tuple[Document | None, list[Problem]]:
    path = root / relative
    if path.is_symlink():
        return None, [
            Problem(
                relative, 1, 1, "", "", "symbolic links are not allowed", "commit the file itself"
            )
        ]
    if not path.is_file():
        return None, [Problem(relative, 1, 1, "", "", "file not found", f"create {relative}")]
    try:
        document = load_document(path, relative)
    except LoadError as err:
        return None, [err.problem]
    return document, _schema_problems(document, relative, schema, document.data, ())


def _schema_problems(
    document: Document, display: str, schema: dict[str, Any], data: Any, parent: tuple[str, ...]
) -> list[Problem]:
    problems = []
    for error in schema_errors(schema, data):
        key = (*parent, *error.absolute_path)
        line, column = document.where(key)
        value = document.written(key) or ""
        problems.append(
            Problem(
                display,
                line,
                column,
                format_path(key),
                value,
                _describe(error),
                "see the comment at the top of the file",
            )
        )
    return problems


def _describe(error: Any) -> str:
    """Describe a jsonschema error in the words the workspace errors use."""
    keyword = error.validator
    if keyword == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        return f"required key {', '.join(missing)} is missing"
    if keyword == "additionalProperties":
        known = ", ".join(sorted(error.schema.get("properties", {})))
        return f"unknown key (known keys: {known})"
    if keyword == "pattern":
        return "invalid format"
    if keyword == "type":
        return f"must be of type {error.validator_value}"
    return str(error.message)
