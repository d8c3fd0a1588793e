"""The typed workspace model, independent of any output format."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SSH_CONTAINER_PORT = 2222
APP_CONTAINER_PORTS = {"web": 8000, "data": 8888}


@dataclass(frozen=True, order=True)
class PortMapping:
    """A port published by the pod: host port to container port, on one or all addresses."""

    host: int
    container: int
    protocol: str = "tcp"
    # Host address to listen on, e.g. 127.0.0.1; empty for every address.
    address: str = ""

    def __str__(self) -> str:
        prefix = f"{self.address}:" if self.address else ""
        suffix = "" if self.protocol == "tcp" else f"/{self.protocol}"
        return f"{prefix}{self.host}:{self.container}{suffix}"


@dataclass(frozen=True)
class Sidecar:
    """A service from the catalogue that runs in a developer's pod."""

    name: str
    image: str
    ports: tuple[int, ...]
    description: str = ""
    environment: tuple[tuple[str, str], ...] = ()
    # Folder inside the sidecar kept in a volume of its own, or None for no persistence.
    data: str | None = None
    # Environment variable that receives the workspace's access token, e.g. a password.
    token_env: str | None = None
    command: tuple[str, ...] = ()


@dataclass(frozen=True)
class Workspace:
    """One developer's workspace, as validated from workspaces/<name>.yml."""

    name: str
    profile: str
    host: str
    ssh_port: int
    app_port: int
    public_key: str
    image: str
    libraries: tuple[str, ...] = ()
    disk_limit_gb: int = 10
    memory_limit_gb: float | None = None
    cpus: float | None = None
    allow_tcp_forwarding: bool = True
    extra_ports: tuple[PortMapping, ...] = ()
    sidecars: tuple[Sidecar, ...] = ()
    # Path of the source file relative to the repository, shown in unit headers and errors.
    source: str = ""

    @property
    def app_container_port(self) -> int:
        return APP_CONTAINER_PORTS[self.profile]

    @property
    def published_ports(self) -> tuple[PortMapping, ...]:
        """Every port the pod publishes: SSH, the app, then the extra ports."""
        return (
            PortMapping(self.ssh_port, SSH_CONTAINER_PORT),
            PortMapping(self.app_port, self.app_container_port),
            *self.extra_ports,
        )


@dataclass(frozen=True)
class Repository:
    """Every workspace of a repository with the catalogue and images they use."""

    root: Path
    workspaces: dict[str, Workspace]
    catalogue: dict[str, Sidecar]
    profile_images: dict[str, str]
    min_version: str | None = None
    templates: Path = field(default=Path("templates"))

    def on_host(self, host: str | None) -> dict[str, Workspace]:
        """Return the workspaces that the given host runs, or all of them for None."""
        if host is None:
            return dict(self.workspaces)
        return {name: ws for name, ws in self.workspaces.items() if ws.host == host}
