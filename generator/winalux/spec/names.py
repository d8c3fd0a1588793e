"""The one mapping from a workspace name to every name derived from it.

Workspace names are lower-case letters, digits and single hyphens, so they never contain
a dot. Each derived name is "winalux-" plus the workspace name, and every part that is not
the pod adds ".<part>". Quadlet turns `X.pod` into `X-pod.service` and `X.volume` into
`X-volume.service`. Because only pods produce a service name without a dot after the
workspace name, no two workspaces, and no two parts of one workspace, can produce the same
unit, service, container, volume or secret name.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "winalux-"
# Parts of a workspace that are not sidecars; a sidecar must not be named after one.
RESERVED_PARTS = frozenset({"workspace", "home", "sshd", "token"})
TELEMETRY_ROOT = "%h/.local/state/winalux/telemetry"
TOKEN_MOUNT = "/run/secrets/winalux-token"  # noqa: S105 (a path, not a secret)


@dataclass(frozen=True)
class WorkspaceNames:
    """Names of the units, services and podman objects of one workspace."""

    workspace: str

    @property
    def base(self) -> str:
        return PREFIX + self.workspace

    # Pod: winalux-alice.pod -> winalux-alice-pod.service, podman pod "winalux-alice".
    @property
    def pod_file(self) -> str:
        return f"{self.base}.pod"

    @property
    def pod_service(self) -> str:
        return f"{self.base}-pod.service"

    @property
    def pod_name(self) -> str:
        return self.base

    # The developer's container.
    @property
    def container_file(self) -> str:
        return self.part_file("workspace", "container")

    @property
    def container_service(self) -> str:
        return self.part_service("workspace")

    @property
    def container_name(self) -> str:
        return f"{self.base}.workspace"

    # Volumes: the home directory and the SSH host keys.
    @property
    def home_volume_file(self) -> str:
        return self.part_file("home", "volume")

    @property
    def home_volume_name(self) -> str:
        return f"{self.base}.home"

    @property
    def sshd_volume_file(self) -> str:
        return self.part_file("sshd", "volume")

    @property
    def sshd_volume_name(self) -> str:
        return f"{self.base}.sshd"

    @property
    def volume_names(self) -> tuple[str, ...]:
        """Podman volume names of this workspace, kept when the workspace is removed."""
        return (self.home_volume_name, self.sshd_volume_name)

    @property
    def secret(self) -> str:
        """Name of the access token in the user's podman secret store."""
        return f"{self.base}.token"

    @property
    def telemetry_dir(self) -> str:
        """Host folder, with systemd's %h for the home, where the collector writes figures."""
        return f"{TELEMETRY_ROOT}/{self.workspace}"

    def sidecar_file(self, sidecar: str) -> str:
        return self.part_file(sidecar, "container")

    def sidecar_service(self, sidecar: str) -> str:
        return self.part_service(sidecar)

    def sidecar_container_name(self, sidecar: str) -> str:
        return f"{self.base}.{sidecar}"

    def sidecar_volume_file(self, sidecar: str) -> str:
        return self.part_file(f"{sidecar}-data", "volume")

    def sidecar_volume_name(self, sidecar: str) -> str:
        return f"{self.base}.{sidecar}-data"

    def part_file(self, part: str, kind: str) -> str:
        return f"{self.base}.{part}.{kind}"

    def part_service(self, part: str) -> str:
        return f"{self.base}.{part}.service"


def service_of(unit_file: str) -> str:
    """Return the systemd service Quadlet generates for a unit file name."""
    stem, _, kind = unit_file.rpartition(".")
    if kind == "container":
        return f"{stem}.service"
    return f"{stem}-{kind}.service"
