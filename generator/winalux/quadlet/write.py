"""Writing rendered units into a folder: atomically, only when changed, and only our own."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from winalux.quadlet.render import HEADER_PREFIX, Render

logger = logging.getLogger(__name__)

UNIT_SUFFIXES = (".pod", ".container", ".volume")


class WriteConflict(Exception):
    """A file the render would write exists and was not written by winalux."""


def owned_units(folder: Path) -> dict[str, str]:
    """Return name -> text of the unit files in folder that carry the winalux header."""
    return {name: text for name, text in _read_units(folder).items() if _is_ours(text)}


def write_units(render: Render, folder: Path, dry_run: bool = False) -> dict[str, str]:
    """Make folder hold exactly the render's units; return each file's status.

    Statuses are create, update, same and remove. A file is replaced by rename, so a reader
    never sees half of it, and an unchanged file is not touched. Only files carrying the
    winalux header are removed, so units written by hand stay. Raise WriteConflict, before
    writing anything, if a file to write exists without that header.
    """
    current = _read_units(folder)
    foreign = [name for name in render.files if name in current and not _is_ours(current[name])]
    if foreign:
        raise WriteConflict(
            f"{folder} already contains {', '.join(foreign)} without the winalux header; "
            "move those files away or render into another folder"
        )
    statuses: dict[str, str] = {}
    for name, text in render.files.items():
        if name not in current:
            statuses[name] = "create"
        else:
            statuses[name] = "same" if current[name] == text else "update"
    for name, text in current.items():
        if name not in render.files and _is_ours(text):
            statuses[name] = "remove"
    if not dry_run:
        _apply(render, folder, statuses)
    return dict(sorted(statuses.items()))


def _apply(render: Render, folder: Path, statuses: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, status in statuses.items():
        if status in ("create", "update"):
            write_atomic(folder / name, render.files[name], sync=False)
        elif status == "remove":
            (folder / name).unlink()
    if any(status != "same" for status in statuses.values()):
        _sync_folder(folder)


def write_atomic(path: Path, text: str, mode: int = 0o644, sync: bool = True) -> None:
    """Replace path with text through a temporary file in the same folder.

    Without `sync` the data is not forced to disk: after a crash the file is either the
    old or the new version or empty, and a later write_units rewrites any file whose
    content differs.
    """
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            if sync:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _read_units(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    units = {}
    for path in sorted(folder.iterdir()):
        if path.suffix not in UNIT_SUFFIXES or not path.is_file():
            continue
        try:
            units[path.name] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            units[path.name] = ""
    return units


def _is_ours(text: str) -> bool:
    return text.startswith(HEADER_PREFIX)
