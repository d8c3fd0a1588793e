"""Access tokens of the workspaces, kept in the user's podman secret store.

A token is 256 random bits from the `secrets` module, URL-safe base64 encoded. It is
created once per workspace and kept across syncs until it is rotated; the sync agent
never logs or stores it anywhere else.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable

from winalux.host.podman import Podman
from winalux.host.systemctl import Systemctl
from winalux.spec.names import WorkspaceNames

logger = logging.getLogger(__name__)

TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def ensure_tokens(podman: Podman, workspaces: Iterable[str]) -> list[str]:
    """Create the secret of each workspace that has none; return the workspaces given one."""
    existing = podman.secret_names()
    created = []
    for workspace in sorted(workspaces):
        secret = WorkspaceNames(workspace).secret
        if secret in existing:
            continue
        podman.create_secret(secret, new_token())
        logger.info("token created workspace=%s secret=%s", workspace, secret)
        created.append(workspace)
    return created


class TokenError(Exception):
    """A token operation left the workspace without a running pod."""


def rotate_token(podman: Podman, systemctl: Systemctl, workspace: str, timeout: float) -> None:
    """Replace the workspace's token and restart its pod, which reads the secret at start."""
    names = WorkspaceNames(workspace)
    podman.create_secret(names.secret, new_token(), replace=True)
    logger.info("token rotated workspace=%s secret=%s", workspace, names.secret)
    systemctl.reset_failed([names.pod_service, names.container_service])
    systemctl.restart([names.pod_service])
    waiting = systemctl.wait_active([names.pod_service, names.container_service], timeout)
    if waiting:
        states = "; ".join(state.describe() for state in waiting.values())
        raise TokenError(f"token of {workspace} rotated, but its pod did not come back: {states}")


def show_token(podman: Podman, workspace: str) -> str:
    return podman.reveal_secret(WorkspaceNames(workspace).secret)


def remove_token(podman: Podman, workspace: str) -> None:
    podman.remove_secret(WorkspaceNames(workspace).secret)
    logger.info("token removed workspace=%s", workspace)
