"""Rules a single workspace file must meet beyond its schema."""

from __future__ import annotations

import base64
import binascii
import functools
import re
import struct
from collections.abc import Iterator
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from winalux.spec.catalogue import image_pin_problem
from winalux.spec.load import Document, PathKey, format_path
from winalux.spec.model import APP_CONTAINER_PORTS, SSH_CONTAINER_PORT, PortMapping, Sidecar
from winalux.spec.problems import Problem

MIN_RSA_BITS = 2048
INTEGER_FIELDS = ("ssh_port", "app_port", "disk_limit_gb")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
NAME_PATTERN = re.compile(r"[a-z](?:-?[a-z0-9])*")
LOWEST_UNPRIVILEGED_PORT = 1024


class FileRules:
    """Checks of one loaded, schema-valid workspace document."""

    def __init__(
        self, document: Document, display: str, catalogue: dict[str, Sidecar], invalid: set[str]
    ) -> None:
        """Prepare checks of a document whose fields named in `invalid` failed the schema."""
        self.document = document
        self.data: dict[str, Any] = document.data
        self.display = display
        self.catalogue = catalogue
        self.invalid = invalid

    def problems(self) -> Iterator[Problem]:
        """Yield the problems of every rule whose fields passed the schema."""
        checks = (
            (("name",), self.file_name),
            (("public_key",), self.public_key),
            (("libraries",), self.libraries),
            (("extra_ports",), self.extra_ports),
            (("sidecars",), self.sidecars),
            (("profile", "sidecars", "extra_ports"), self.container_ports),
            (("image",), self.image),
            ((), self.whole_numbers),
            ((), self.control_characters),
        )
        for fields, check in checks:
            if self._usable(fields):
                yield from check()

    def _usable(self, fields: tuple[str, ...]) -> bool:
        required = {"name", "profile", "public_key"}
        for name in fields:
            if name in self.invalid or (name in required and name not in self.data):
                return False
        return True

    def _items(self, field: str) -> Iterator[tuple[int, str]]:
        """Yield the index and text of each list item that passed the schema."""
        for index, item in enumerate(self.data.get(field, [])):
            if isinstance(item, str) and f"{field}[{index}]" not in self.invalid:
                yield index, item

    def problem(self, key: PathKey, message: str, fix: str, value: str | None = None) -> Problem:
        line, column = self.document.where(key)
        if value is None:
            value = self.document.written(key) or ""
        return Problem(self.display, line, column, format_path(key), value, message, fix)

    def file_name(self) -> Iterator[Problem]:
        stem = self.document.path.name.rsplit(".", 1)[0]
        name = self.data["name"]
        if stem != name:
            fix = f"rename the file to {name}.yml"
            if NAME_PATTERN.fullmatch(stem):
                fix += f" or set name: {stem}"
            yield self.problem(
                ("name",), f"does not match the file name {self.document.path.name}", fix
            )

    def public_key(self) -> Iterator[Problem]:
        key_type, body = self.data["public_key"].split(" ")[:2]
        message = _public_key_problem(key_type, body)
        if message:
            yield self.problem(
                ("public_key",),
                message,
                "paste the single line of the developer's public key file, "
                "e.g. the output of cat ~/.ssh/id_ed25519.pub",
                value=f"{key_type} {body[:20]}...",
            )

    def libraries(self) -> Iterator[Problem]:
        seen: dict[str, int] = {}
        for index, text in self._items("libraries"):
            key = ("libraries", index)
            requirement, message = parse_requirement(text)
            if requirement is None:
                yield self.problem(key, message, "write a PyPI requirement such as requests>=2.32")
                continue
            name = canonicalize_name(requirement.name)
            if name in seen:
                yield self.problem(
                    key,
                    f"package {name} is already listed as libraries[{seen[name]}]",
                    "merge the two entries into one",
                )
            seen.setdefault(name, index)

    def extra_ports(self) -> Iterator[Problem]:
        for index, text in self._items("extra_ports"):
            key = ("extra_ports", index)
            mapping = parse_port_mapping(text)
            if not 1 <= mapping.container <= 65535:
                yield self.problem(
                    key,
                    f"container port {mapping.container} is out of range",
                    "use a container port from 1 to 65535",
                )
            if not LOWEST_UNPRIVILEGED_PORT <= mapping.host <= 65535:
                yield self.problem(
                    key,
                    f"host port {mapping.host} is out of range",
                    "use a host port from 1024 to 65535: rootless Podman cannot "
                    "bind ports below 1024",
                )

    def sidecars(self) -> Iterator[Problem]:
        for index, name in self._items("sidecars"):
            if name not in self.catalogue:
                known = ", ".join(sorted(self.catalogue)) or "none"
                yield self.problem(
                    ("sidecars", index),
                    "unknown sidecar",
                    f"use one of the catalogue's services ({known}) or add it "
                    "to templates/sidecars.yml",
                )

    def container_ports(self) -> Iterator[Problem]:
        """Two listeners in one pod cannot share a port, and ssh and the app are published once."""
        profile = self.data["profile"]
        listeners = {
            SSH_CONTAINER_PORT: "the SSH server",
            APP_CONTAINER_PORTS[profile]: f"the {profile} app",
        }
        for index, name in self._items("sidecars"):
            for port in self.catalogue.get(name, Sidecar(name, "", ())).ports:
                if port in listeners:
                    yield self.problem(
                        ("sidecars", index),
                        f"sidecar {name} listens on port {port}, as does {listeners[port]}",
                        "remove the sidecar or change its port in templates/sidecars.yml",
                    )
                listeners.setdefault(port, f"sidecar {name}")
        yield from self._extra_container_ports()

    def _extra_container_ports(self) -> Iterator[Problem]:
        profile = self.data["profile"]
        published = {
            (SSH_CONTAINER_PORT, "tcp"): "ssh_port",
            (APP_CONTAINER_PORTS[profile], "tcp"): "app_port",
        }
        for index, text in self._items("extra_ports"):
            mapping = parse_port_mapping(text)
            slot = (mapping.container, mapping.protocol)
            if slot in published:
                yield self.problem(
                    ("extra_ports", index),
                    f"container port {mapping.container} is already published by {published[slot]}",
                    "remove this entry or publish another container port",
                )
            published.setdefault(slot, f"extra_ports[{index}]")

    def whole_numbers(self) -> Iterator[Problem]:
        """JSON Schema counts 3000.0 as an integer; a port or a size in GB must be written whole."""
        for field in INTEGER_FIELDS:
            value = self.data.get(field)
            if field not in self.invalid and isinstance(value, float):
                yield self.problem(
                    (field,),
                    "must be a whole number",
                    f"write {int(value)} without a decimal point",
                )

    def control_characters(self) -> Iterator[Problem]:
        """No text may carry a line break, tab or other control character into a unit file."""
        for field, value in self.data.items():
            if field in self.invalid:
                continue
            items = enumerate(value) if isinstance(value, list) else [(None, value)]
            for index, item in items:
                if isinstance(item, str) and _CONTROL.search(item):
                    key: PathKey = (field,) if index is None else (field, index)
                    yield self.problem(
                        key,
                        "contains a line break, tab or other control character",
                        "write the value on one line, with spaces only",
                        value=item,
                    )

    def image(self) -> Iterator[Problem]:
        if "image" in self.data:
            message = image_pin_problem(self.data["image"])
            if message:
                yield self.problem(
                    ("image",),
                    message,
                    "pin a version tag or a digest, e.g. name:1.2.3 or name@sha256:...",
                )


def parse_port_mapping(text: str) -> PortMapping:
    """Parse a schema-valid "[address:]host:container[/protocol]" string."""
    ports, _, protocol = text.partition("/")
    *address, host, container = ports.split(":")
    return PortMapping(int(host), int(container), protocol or "tcp", "".join(address))


@functools.lru_cache(maxsize=4096)
def parse_requirement(text: str) -> tuple[Requirement | None, str]:
    """Parse a PEP 508 requirement; return it, or None and why it is not accepted.

    Cached because packaging's parser is slow next to everything else here and the same
    requirements repeat across workspaces. Callers only read the result.
    """
    if text.strip() != text or text.startswith("-"):
        return None, "not a requirement: options and surrounding spaces are not allowed"
    try:
        requirement = Requirement(text)
    except InvalidRequirement as err:
        return None, f"not a valid PEP 508 requirement ({str(err).splitlines()[0]})"
    if requirement.url:
        return None, "direct URL references are not allowed"
    return requirement, ""


def _public_key_problem(key_type: str, body: str) -> str | None:
    """Return why a public key's base64 body does not hold a key of its type, or None."""
    try:
        blob = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return "the key body is not valid base64"
    fields = _ssh_strings(blob)
    if not fields or fields[0] != key_type.encode():
        return f"the key body is not an {key_type} key"
    if key_type == "ssh-rsa":
        if len(fields) < 3:
            return "the ssh-rsa key body is truncated"
        bits = int.from_bytes(fields[2], "big").bit_length()
        if bits < MIN_RSA_BITS:
            return f"the RSA key has {bits} bits, fewer than {MIN_RSA_BITS}"
    return None


def _ssh_strings(blob: bytes) -> list[bytes]:
    """Split an SSH wire-format blob into its length-prefixed strings; [] if malformed."""
    fields = []
    offset = 0
    while offset < len(blob):
        if offset + 4 > len(blob):
            return []
        (length,) = struct.unpack(">I", blob[offset : offset + 4])
        offset += 4
        if offset + length > len(blob):
            return []
        fields.append(blob[offset : offset + length])
        offset += length
    return fields
