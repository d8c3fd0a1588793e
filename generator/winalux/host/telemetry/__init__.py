"""The telemetry collector: one user service that measures every workspace pod of its user.

Only the host can read all of a pod's cgroups, sidecars included, so the collector runs there and
writes each workspace's figures into a folder that the workspace's units mount read-only at
/run/winalux/telemetry. It uses the standard library only, to stay small.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# The unit runs the collector through its launcher, not through the `winalux` command, so
# that it loads neither click nor the generator nor site-packages and stays small in memory.
LAUNCHER = Path(__file__).with_name("launch.py")


def telemetry_root(state_home: Path | None = None) -> Path:
    """Return the host folder that contains one telemetry folder per workspace."""
    if state_home is None:
        value = os.environ.get("XDG_STATE_HOME", "")
        state_home = Path(value) if os.path.isabs(value) else Path.home() / ".local" / "state"
    return state_home / "winalux" / "telemetry"


def telemetry_dir(workspace: str, state_home: Path | None = None) -> Path:
    """Return the folder of one workspace; it must exist before the workspace starts, since
    podman refuses to bind-mount a missing folder."""
    return telemetry_root(state_home) / workspace


def ensure_telemetry_dir(workspace: str, state_home: Path | None = None) -> Path:
    folder = telemetry_dir(workspace, state_home)
    folder.mkdir(mode=0o755, parents=True, exist_ok=True)
    return folder


def collector_argv(python: str | None = None) -> list[str]:
    """Return the collector's command line for its user unit."""
    return [python or sys.executable, "-I", "-S", str(LAUNCHER)]


def collector_exec_start(python: str | None = None) -> str:
    """Return collector_argv quoted for a systemd ExecStart= line."""
    return " ".join(_systemd_quote(arg) for arg in collector_argv(python))


def _systemd_quote(arg: str) -> str:
    escaped = arg.replace("%", "%%")
    if escaped and not any(char in escaped for char in " \t\n\"'\\;$"):
        return escaped
    escaped = escaped.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$")
    return f'"{escaped}"'
