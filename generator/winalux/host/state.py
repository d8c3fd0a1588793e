"""The agent's record of its last sync, kept as JSON for `winalux status` and the next sync.

The file is replaced atomically (write, fsync, rename), so a sync killed while saving leaves
the previous record whole. It contains names, commit ids and unit digests, never a token.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

FORMAT = 1


@dataclass
class WorkspaceStatus:
    """Outcome of the last sync for one workspace."""

    status: str  # created, changed, unchanged, removed, failed
    services: list[str] = field(default_factory=list)
    detail: str = ""


@dataclass
class FileMark:
    """Digest of one unit file the agent wrote, with the stat fields to notice edits fast."""

    sha256: str
    size: int
    mtime_ns: int


@dataclass
class State:
    """Result of the last sync, and what the last successful one applied."""

    format: int = FORMAT
    result: str = "never"  # never, ok, failed
    applied_commit: str | None = None
    applied_version: str | None = None
    applied_host: str | None = None
    attempted_commit: str | None = None
    # A commit whose units failed to come up and were rolled back; skipped until it changes.
    rejected_commit: str | None = None
    repository: str = ""
    branch: str = ""
    started_at: str = ""
    finished_at: str = ""
    last_error: str = ""
    last_success_at: str = ""
    workspaces: dict[str, WorkspaceStatus] = field(default_factory=dict)
    files: dict[str, FileMark] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        # Built by hand: dataclasses.asdict deep-copies every field, which costs tens of
        # milliseconds per sync at a thousand workspaces.
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["workspaces"] = {name: vars(entry) for name, entry in self.workspaces.items()}
        data["files"] = {
            name: [mark.sha256, mark.size, mark.mtime_ns] for name, mark in self.files.items()
        }
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        known = {key: value for key, value in data.items() if key in cls.__dataclass_fields__}
        known["workspaces"] = {
            name: WorkspaceStatus(**entry) for name, entry in data.get("workspaces", {}).items()
        }
        known["files"] = {name: _mark(value) for name, value in data.get("files", {}).items()}
        return cls(**known)


def _mark(value: list[Any] | dict[str, Any]) -> FileMark:
    """Read a file mark, stored as [sha256, size, mtime_ns] or, by earlier builds, as a mapping."""
    if isinstance(value, dict):
        return FileMark(**value)
    return FileMark(*value)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def load(path: Path) -> State:
    """Read the state file; a missing or unreadable one counts as no sync yet."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return State.from_json(data)
    except FileNotFoundError:
        return State()
    except (OSError, ValueError, TypeError) as err:
        logger.warning("state file %s is unreadable (%s); treating it as no sync yet", path, err)
        return State()


def save(path: Path, state: State) -> None:
    """Replace the state file atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(state.to_json(), indent=1, sort_keys=True) + "\n"
    fd, temporary = tempfile.mkstemp(prefix=".state-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
