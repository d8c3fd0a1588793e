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


def owned_units(folder: Path) -> list[Path]:
    """Return the unit files in folder that carry the winalux header."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        if path.suffix in UNIT_SUFFIXES and path.is_file() and _is_ours(path):
            found.append(path)
    return found


def write_units(render: Render, folder: Path, dry_run: bool = False) -> dict[str, str]:
    """Make folder hold exactly the render's units; return each file's status.

    Statuses are create, update, same and remove. A file is replaced by rename, so a reader
    never sees half of it; an unchanged file is not touched; only files carrying the
    winalux header are removed, so units written by hand stay.
    """
    if not dry_run:
        folder.mkdir(parents=True, exist_ok=True)
    statuses: dict[str, str] = {}
    foreign = [
        name for name in render.files if (folder / name).exists() and not _is_ours(folder / name)
    ]
    if foreign:
        raise WriteConflict(
            f"{folder} already holds {', '.join(foreign)} without the winalux header; "
            "move those files away or render into another folder"
        )
    for name, text in render.files.items():
        path = folder / name
        status = _status(path, text)
        statuses[name] = status
        if status != "same" and not dry_run:
            write_atomic(path, text)
    for path in owned_units(folder):
        if path.name not in render.files:
            statuses[path.name] = "remove"
            if not dry_run:
                path.unlink()
    return dict(sorted(statuses.items()))


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace path with text through a temporary file in the same folder."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _status(path: Path, text: str) -> str:
    try:
        current = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return "create"
    except UnicodeDecodeError:
        return "update"
    return "same" if current == text else "update"


def _is_ours(path: Path) -> bool:
    try:
        with path.open("r", encoding="utf-8") as handle:
            return handle.readline().startswith(HEADER_PREFIX)
    except (OSError, UnicodeDecodeError):
        return False
