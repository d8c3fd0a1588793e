"""Locations of the agent's units, checkout, state and lock on a host.

Everything follows the XDG base directories of the user the agent runs as, so one user's
agent never reads or writes another user's files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

UNIT_FOLDER = "winalux"


def _xdg(variable: str, default: str) -> Path:
    value = os.environ.get(variable, "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / default


@dataclass(frozen=True)
class HostPaths:
    """Folders and files of the agent for one user."""

    config_home: Path
    state_home: Path

    @classmethod
    def from_environment(cls) -> HostPaths:
        return cls(
            config_home=_xdg("XDG_CONFIG_HOME", ".config"),
            state_home=_xdg("XDG_STATE_HOME", ".local/state"),
        )

    @property
    def quadlet_root(self) -> Path:
        """Podman's user Quadlet folder, which it also searches in subfolders."""
        return self.config_home / "containers" / "systemd"

    @property
    def units(self) -> Path:
        """The folder the agent owns inside the Quadlet folder; it writes nowhere else there."""
        return self.quadlet_root / UNIT_FOLDER

    @property
    def systemd_user(self) -> Path:
        """Where `winalux host install` writes the agent's own service and timer."""
        return self.config_home / "systemd" / "user"

    @property
    def state_dir(self) -> Path:
        return self.state_home / "winalux"

    @property
    def checkout(self) -> Path:
        return self.state_dir / "checkout"

    @property
    def applied(self) -> Path:
        """Copy of the units of the last sync that ended with every service active."""
        return self.state_dir / "applied"

    @property
    def staging(self) -> Path:
        # Outside the Quadlet folder, because Podman's generator reads its subfolders too.
        return self.state_dir / "staging"

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def lock_file(self) -> Path:
        return self.state_dir / "sync.lock"
