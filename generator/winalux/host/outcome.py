"""Options and report of a sync, and the recording of its result in the state file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from winalux import __version__
from winalux.host import state, units
from winalux.host.paths import HostPaths
from winalux.host.podman import Podman
from winalux.host.systemctl import Systemctl

if TYPE_CHECKING:
    from winalux.plan import Plan


@dataclass(frozen=True)
class SyncOptions:
    """Settings of one `winalux sync` run."""

    repository: str
    host: str
    branch: str = "main"
    dry_run: bool = False
    retry: bool = False
    lock_wait: float = 60
    active_timeout: float = 300
    notify_command: str | None = None
    notify_url: str | None = None
    allowed_signers: Path | None = None


@dataclass(frozen=True)
class Tools:
    """The programs a sync drives; tests of faults point these at other binaries."""

    systemctl: Systemctl = field(default_factory=Systemctl)
    podman: Podman = field(default_factory=Podman)
    quadlet: Path | None = None


@dataclass
class SyncReport:
    """Findings and actions of a sync, for the command line to print."""

    commit: str
    host: str
    plan: Plan | None = None
    drift: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    applied: bool = False


class SyncFailed(Exception):
    """A sync stopped; running workspaces are as they were before it, or rolled back."""

    def __init__(self, message: str, journal: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.journal = journal or {}


def record_success(
    record: state.State,
    paths: HostPaths,
    host: str,
    files: Mapping[str, str] | None = None,
    workspaces: dict[str, state.WorkspaceStatus] | None = None,
) -> None:
    """Record a sync that ended with the attempted commit applied; files are its units."""
    record.result = "ok"
    record.last_error = ""
    record.rejected_commit = None
    record.applied_commit = record.attempted_commit
    record.applied_version = __version__
    record.applied_host = host
    record.finished_at = record.last_success_at = state.now()
    if files is not None:
        record.files = units.marks(paths.units, files) if files else {}
    if workspaces is not None:
        record.workspaces = workspaces
    state.save(paths.state_file, record)


def record_failure(record: state.State, paths: HostPaths, error: str) -> None:
    record.result = "failed"
    record.last_error = error
    record.finished_at = state.now()
    state.save(paths.state_file, record)
