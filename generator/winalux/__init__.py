"""Winalux: rootless developer workspaces on Podman, kept in git."""

__version__ = "0.1.0"
