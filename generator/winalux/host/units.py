"""The unit folders of the agent: staging, the swap into place, and drift detection.

The agent writes a complete new folder (staging), checks it, then exchanges it with the live
folder in one renameat2(RENAME_EXCHANGE) call, so systemd never reads a mix of old and new
files. Where the kernel or file system cannot exchange, it falls back to replacing files one
by one, each atomically.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import logging
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from winalux.host.state import FileMark
from winalux.spec.names import PREFIX

logger = logging.getLogger(__name__)

# Unit kinds Podman's Quadlet generator reads (podman 5.x).
QUADLET_SUFFIXES = (".container", ".pod", ".volume", ".network", ".kube", ".image", ".build")
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def workspace_of(unit_file: str) -> str:
    """Return the workspace a unit file belongs to: winalux-alice.home.volume -> alice."""
    stem = unit_file.removeprefix(PREFIX)
    return stem.split(".", 1)[0]


def is_agent_file(name: str) -> bool:
    return name.startswith(PREFIX) and name.endswith(QUADLET_SUFFIXES)


def read_folder(folder: Path) -> dict[str, str]:
    """Return the agent's unit files in folder by name; other files are left out."""
    if not folder.is_dir():
        return {}
    files = {}
    for entry in sorted(os.scandir(folder), key=lambda entry: entry.name):
        if entry.is_file(follow_symlinks=False) and is_agent_file(entry.name):
            files[entry.name] = Path(entry.path).read_text(encoding="utf-8")
    return files


def foreign_files(folder: Path) -> list[str]:
    """Return names in folder that the agent did not write and must keep."""
    if not folder.is_dir():
        return []
    return sorted(name for name in os.listdir(folder) if not is_agent_file(name))


def write_folder(files: Mapping[str, str], folder: Path) -> None:
    """Create folder afresh holding exactly files, every byte on disk before it returns."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, text in sorted(files.items()):
        path = folder / name
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    _fsync(folder)


def copy_foreign(source: Path, target: Path, names: Iterable[str]) -> None:
    for name in names:
        path = source / name
        if path.is_dir() and not path.is_symlink():
            shutil.copytree(path, target / name, symlinks=True)
        else:
            shutil.copy2(path, target / name, follow_symlinks=False)


def swap(staging: Path, live: Path) -> None:
    """Put staging's files in place of live's; live's old files end up in staging."""
    live.parent.mkdir(parents=True, exist_ok=True)
    if not live.exists():
        staging.rename(live)
        staging.mkdir()
        _fsync(live.parent)
        return
    try:
        _exchange(staging, live)
    except OSError as err:
        if err.errno not in {errno.EXDEV, errno.EINVAL, errno.ENOSYS}:
            raise
        logger.info(
            "cannot exchange %s and %s (%s); replacing files one by one", staging, live, err
        )
        _replace_files(staging, live)
    _fsync(live.parent)


def _exchange(first: Path, second: Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available")
    result = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(first), None, str(second))


def _replace_files(staging: Path, live: Path) -> None:
    """Move every file of staging into live by rename and delete live's agent files not in it.

    The old contents move into staging, so the result matches an exchange.
    """
    backup = staging.with_name(staging.name + ".old")
    if backup.exists():
        shutil.rmtree(backup)
    backup.mkdir()
    new_names = set(os.listdir(staging))
    for name in os.listdir(live):
        if is_agent_file(name) or name in new_names:
            shutil.copy2(live / name, backup / name)
    for name in sorted(new_names):
        os.replace(staging / name, live / name)
    for name in os.listdir(live):
        if is_agent_file(name) and name not in new_names:
            (live / name).unlink()
    shutil.rmtree(staging)
    backup.rename(staging)


def marks(folder: Path, names: Iterable[str]) -> dict[str, FileMark]:
    """Return the digest and stat fields of each named file in folder."""
    result = {}
    for name in names:
        path = folder / name
        data = path.read_bytes()
        status = path.stat()
        digest = hashlib.sha256(data).hexdigest()
        result[name] = FileMark(sha256=digest, size=status.st_size, mtime_ns=status.st_mtime_ns)
    return result


def find_drift(folder: Path, expected: Mapping[str, FileMark]) -> dict[str, str]:
    """Compare the agent's files in folder with what it last wrote; return file -> change.

    A file whose size and mtime still match is taken as unchanged without reading it, which
    keeps a sync that changes nothing cheap. The change is edited, missing or unexpected.
    """
    present = set()
    if folder.is_dir():
        present = {name for name in os.listdir(folder) if is_agent_file(name)}
    drift = {name: "unexpected" for name in present - set(expected)}
    for name, mark in expected.items():
        if name not in present:
            drift[name] = "missing"
        elif _edited(folder / name, mark):
            drift[name] = "edited"
    return dict(sorted(drift.items()))


def _edited(path: Path, mark: FileMark) -> bool:
    status = path.stat()
    if status.st_size == mark.size and status.st_mtime_ns == mark.mtime_ns:
        return False
    return hashlib.sha256(path.read_bytes()).hexdigest() != mark.sha256


def _fsync(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
