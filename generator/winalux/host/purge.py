"""`winalux purge NAME`: delete the volumes a removed workspace left behind.

Removing a workspace file never deletes its data. This is the only command that does, and
it works only for a workspace whose units are no longer applied on this host.
"""

from __future__ import annotations

import logging

from winalux.host import units
from winalux.host.paths import HostPaths
from winalux.host.podman import Podman
from winalux.spec.names import WorkspaceNames

logger = logging.getLogger(__name__)


class PurgeRejected(Exception):
    """The workspace is still applied on this host, so its data is in use."""


def leftover_volumes(podman: Podman, workspace: str) -> list[str]:
    """Return the podman volumes of the workspace: home, SSH host keys and sidecar data."""
    prefix = WorkspaceNames(workspace).base + "."
    return [name for name in podman.volume_names() if name.startswith(prefix)]


def check_removed(paths: HostPaths, workspace: str) -> None:
    applied = {units.workspace_of(name) for name in units.read_folder(paths.units)}
    if workspace in applied:
        raise PurgeRejected(
            f"workspace {workspace} still runs on this host; remove workspaces/{workspace}.yml "
            "from the repository and let the sync remove it first"
        )


def purge(podman: Podman, workspace: str, volumes: list[str]) -> None:
    """Remove the given volumes and any token left in the secret store."""
    for volume in volumes:
        podman.remove_volume(volume)
        logger.warning("purge workspace=%s volume=%s removed", workspace, volume)
    podman.remove_secret(WorkspaceNames(workspace).secret)
