"""Loading and validating a whole repository of workspace files.

Validation runs in two passes and reports everything it finds: first each file on its own
(YAML, schema, per-file rules), then the rules across files (unique names and derived
names, host ports unique per host).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from winalux.spec.catalogue import load_catalogue, load_profile_images
from winalux.spec.load import Document, LoadError, load_document
from winalux.spec.model import Repository, Sidecar, Workspace
from winalux.spec.names import WorkspaceNames
from winalux.spec.problems import Problem, ValidationFailed
from winalux.spec.rules import FileRules, parse_port_mapping
from winalux.spec.schema import schema_problems

WORKSPACES_DIR = "workspaces"
SETTINGS_FILE = "winalux.yml"
SUFFIXES = (".yml", ".yaml")


def workspace_files(root: Path) -> tuple[list[Path], list[Problem]]:
    """Return the workspace files under root/workspaces and problems with entries there.

    A YAML entry that is a symbolic link, not a regular file, hidden, or has an upper-case
    suffix is a problem rather than silently skipped: a link could make the checkout read
    a file from outside the repository. Other files, such as a README, are ignored.
    """
    folder = root / WORKSPACES_DIR
    if folder.is_symlink():
        return [], [
            _entry_problem(WORKSPACES_DIR, "is a symbolic link", "commit the folder itself")
        ]
    if not folder.is_dir():
        return [], []
    files, problems = [], []
    for path in sorted(folder.iterdir(), key=lambda path: path.name):
        if not path.name.lower().endswith(SUFFIXES):
            continue
        display = f"{WORKSPACES_DIR}/{path.name}"
        if path.is_symlink():
            problems.append(
                _entry_problem(
                    display, "symbolic links are not allowed", "commit the workspace file itself"
                )
            )
        elif not path.is_file():
            problems.append(_entry_problem(display, "not a regular file", "remove it"))
        elif not path.name.endswith(SUFFIXES):
            problems.append(
                _entry_problem(
                    display,
                    "the suffix must be .yml or .yaml in lower case",
                    f"rename it to {path.stem}.yml",
                )
            )
        elif path.name.startswith("."):
            problems.append(
                _entry_problem(
                    display,
                    "hidden files are not read",
                    "rename it to NAME.yml, NAME being the workspace name",
                )
            )
        else:
            files.append(path)
    return files, problems


def _entry_problem(display: str, message: str, fix: str) -> Problem:
    return Problem(display, 1, 1, "", "", message, fix)


def load_repository(root: Path, paths: Sequence[Path] = ()) -> Repository:
    """Validate every workspace file of the repository at root (and any extra paths).

    Raise ValidationFailed listing every problem of every file; return the repository
    when there is none.
    """
    root = root.resolve()
    catalogue, problems = load_catalogue(root)
    profile_images, image_problems = load_profile_images(root)
    problems.extend(image_problems)
    min_version, settings_problems = _load_settings(root)
    problems.extend(settings_problems)

    found, entry_problems = workspace_files(root)
    problems.extend(entry_problems)
    files = _unique([*found, *(path.resolve() for path in paths)])
    loaded: list[tuple[Document, str]] = []
    for path in files:
        display = _display(path, root)
        document, file_problems = _check_file(path, display, catalogue)
        problems.extend(file_problems)
        if document is not None and not file_problems:
            loaded.append((document, display))

    workspaces = [
        _build(document, display, catalogue, profile_images) for document, display in loaded
    ]
    problems.extend(_across_files(workspaces, {display: doc for doc, display in loaded}))
    if problems:
        raise ValidationFailed(problems)
    return Repository(
        root=root,
        workspaces={ws.name: ws for ws in sorted(workspaces, key=lambda ws: ws.name)},
        catalogue=catalogue,
        profile_images=profile_images,
        min_version=min_version,
        templates=root / "templates",
    )


def _check_file(
    path: Path, display: str, catalogue: dict[str, Sidecar]
) -> tuple[Document | None, list[Problem]]:
    try:
        document = load_document(path, display)
    except LoadError as err:
        return None, [err.problem]
    except OSError as err:
        return None, [
            Problem(
                display,
                1,
                1,
                "",
                "",
                f"cannot read the file: {err.strerror}",
                "check that it exists and is readable",
            )
        ]
    if not isinstance(document.data, dict):
        return document, [
            Problem(
                display,
                1,
                1,
                "",
                "",
                "the file must contain a mapping of fields",
                "start with name: ... on the first line",
            )
        ]
    problems = schema_problems(document, display)
    # A list item's error spoils only that item; any other error spoils its top-level field.
    invalid = {
        problem.field
        if problem.field.count("[") == 1
        else problem.field.split(".")[0].split("[")[0]
        for problem in problems
    }
    problems.extend(FileRules(document, display, catalogue, invalid).problems())
    return document, problems


def _build(
    document: Document, display: str, catalogue: dict[str, Sidecar], profile_images: dict[str, str]
) -> Workspace:
    data: dict[str, Any] = document.data
    return Workspace(
        name=data["name"],
        profile=data["profile"],
        host=data["host"],
        ssh_port=data["ssh_port"],
        app_port=data["app_port"],
        public_key=data["public_key"],
        image=data.get("image") or profile_images.get(data["profile"], ""),
        libraries=tuple(data.get("libraries", ())),
        disk_limit_gb=data.get("disk_limit_gb", 10),
        memory_limit_gb=data.get("memory_limit_gb"),
        cpus=data.get("cpus"),
        allow_tcp_forwarding=data.get("allow_tcp_forwarding", True),
        extra_ports=tuple(parse_port_mapping(text) for text in data.get("extra_ports", ())),
        sidecars=tuple(catalogue[name] for name in data.get("sidecars", ())),
        source=display,
    )


def _across_files(workspaces: list[Workspace], documents: dict[str, Document]) -> Iterator[Problem]:
    yield from _duplicate_names(workspaces, documents)
    yield from _host_port_clashes(workspaces, documents)


def _duplicate_names(
    workspaces: list[Workspace], documents: dict[str, Document]
) -> Iterator[Problem]:
    """Names, and every unit, service, volume and secret name derived from them, are unique."""
    owners: dict[str, Workspace] = {}
    for ws in sorted(workspaces, key=_blame_order):
        for derived in sorted(set(derived_names(ws))):
            first = owners.setdefault(derived.lower(), ws)
            if first is ws:
                continue
            line, column = documents[ws.source].where(("name",))
            if first.name == ws.name:
                message = f"the name is already used by {first.source}"
            else:
                message = f"{derived} is also produced by {first.source}"
            yield Problem(
                ws.source,
                line,
                column,
                "name",
                ws.name,
                message,
                "give each workspace its own name",
            )
            break


def _blame_order(ws: Workspace) -> tuple[bool, str]:
    """Order files so that a clash is reported on the later one, and files passed on the
    command line from outside workspaces/ come last."""
    return (not ws.source.startswith(WORKSPACES_DIR + "/"), ws.source)


def derived_names(ws: Workspace) -> Iterator[str]:
    """Yield every systemd, podman and file name the workspace's units use."""
    names = WorkspaceNames(ws.name)
    yield from (
        names.pod_file,
        names.pod_service,
        names.pod_name,
        names.container_file,
        names.container_service,
        names.container_name,
        names.home_volume_file,
        names.home_volume_name,
        names.sshd_volume_file,
        names.sshd_volume_name,
        names.secret,
        names.telemetry_dir,
    )
    for sidecar in ws.sidecars:
        yield names.sidecar_file(sidecar.name)
        yield names.sidecar_service(sidecar.name)
        yield names.sidecar_container_name(sidecar.name)


def _host_port_clashes(
    workspaces: list[Workspace], documents: dict[str, Document]
) -> Iterator[Problem]:
    used: dict[tuple[str, int, str], tuple[Workspace, str]] = {}
    for ws in sorted(workspaces, key=_blame_order):
        for key, mapping in _published(ws):
            slot = (ws.host, mapping.host, mapping.protocol)
            first = used.setdefault(slot, (ws, _field_name(key)))
            if first[0] is ws and first[1] == _field_name(key):
                continue
            other = "this file" if first[0] is ws else first[0].source
            line, column = documents[ws.source].where(key)
            yield Problem(
                ws.source,
                line,
                column,
                _field_name(key),
                str(mapping.host),
                f"host port {mapping.host} on host {ws.host} is already used by "
                f"{first[1]} of {other}",
                "choose a free host port",
            )


def _published(ws: Workspace) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    ports = ws.published_ports
    yield ("ssh_port",), ports[0]
    yield ("app_port",), ports[1]
    for index, mapping in enumerate(ports[2:]):
        yield ("extra_ports", index), mapping


def _field_name(key: tuple[str | int, ...]) -> str:
    return key[0] if len(key) == 1 else f"{key[0]}[{key[1]}]"  # type: ignore[return-value]


def _load_settings(root: Path) -> tuple[str | None, list[Problem]]:
    path = root / SETTINGS_FILE
    if path.is_symlink():
        return None, [
            _entry_problem(
                SETTINGS_FILE, "symbolic links are not allowed", "commit the file itself"
            )
        ]
    if not path.is_file():
        return None, []
    try:
        document = load_document(path, SETTINGS_FILE)
    except LoadError as err:
        return None, [err.problem]
    data = document.data or {}
    unknown = sorted(set(data) - {"min_version"}) if isinstance(data, dict) else ["(not a mapping)"]
    if unknown:
        return None, [
            Problem(
                SETTINGS_FILE,
                1,
                1,
                unknown[0],
                "",
                "unknown setting",
                "the only setting is min_version",
            )
        ]
    version = data.get("min_version")
    if version is not None and not isinstance(version, str):
        line, column = document.where(("min_version",))
        return None, [
            Problem(
                SETTINGS_FILE,
                line,
                column,
                "min_version",
                str(version),
                "must be a version string",
                'put it in quotes, e.g. "0.2.0"',
            )
        ]
    if version is not None:
        try:
            Version(version)
        except InvalidVersion:
            line, column = document.where(("min_version",))
            return None, [
                Problem(
                    SETTINGS_FILE,
                    line,
                    column,
                    "min_version",
                    version,
                    "not a version number",
                    'write a release such as "0.2.0"',
                )
            ]
    return version, []


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _unique(paths: Iterable[Path]) -> list[Path]:
    return list(dict.fromkeys(paths))
