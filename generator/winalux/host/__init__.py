"""The host side: the sync agent that brings rootless Podman in line with the repository.

A sync fetches the repository, renders the workspaces of this host, plans the difference to
the units last applied, and applies it as one transaction through `systemctl --user`.
"""
