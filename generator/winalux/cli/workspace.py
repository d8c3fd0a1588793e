"""Commands for one workspace and its telemetry: ssh-config, collect."""

from __future__ import annotations

from pathlib import Path

import click

from winalux.cli import EXIT_STATUS_HELP, UserError

SSH_USER = "developer"
TOKEN_VARIABLE = "LC_WINALUX_TOKEN"  # noqa: S105 (a variable name, not a secret)


def ssh_config_block(name: str, hostname: str, port: int) -> str:
    """Return the ~/.ssh/config block of a workspace, with the token left for the developer."""
    return "\n".join(
        [
            f"# Winalux workspace {name}. Paste your access token after {TOKEN_VARIABLE}= below,",
            "# and keep this file private: chmod 600 ~/.ssh/config.",
            f"Host winalux-{name}",
            f"    HostName {hostname}",
            f"    Port {port}",
            f"    User {SSH_USER}",
            "    # IdentityFile ~/.ssh/id_ed25519",
            f"    SetEnv {TOKEN_VARIABLE}=",
            "    ServerAliveInterval 30",
            "",
        ]
    )


@click.command("ssh-config", epilog=EXIT_STATUS_HELP)
@click.argument("name")
@click.option("--hostname", required=True, help="Host name or address developers connect to.")
@click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Repository root holding workspaces/.",
)
def ssh_config(name: str, hostname: str, repo: Path) -> None:
    """Print the ~/.ssh/config block for workspace NAME, for terminals and VS Code."""
    if not hostname or any(char.isspace() for char in hostname):
        raise UserError(f"--hostname {hostname!r}: expected a host name without spaces")
    from winalux.cli.generate import load_or_fail

    workspace = load_or_fail(repo).workspaces.get(name)
    if workspace is None:
        raise UserError(f"no workspace named {name} in {repo / 'workspaces'}")
    click.echo(ssh_config_block(name, hostname, workspace.ssh_port), nl=False)


@click.command("collect", epilog=EXIT_STATUS_HELP)
@click.option(
    "--interval",
    type=click.FloatRange(min=1),
    default=10.0,
    show_default=True,
    help="Seconds between samples.",
)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of the per-workspace folders [default: $XDG_STATE_HOME/winalux/telemetry].",
)
@click.option("--podman", default="podman", show_default=True, help="podman binary.")
@click.option("--once", is_flag=True, help="Take two samples, print them as JSON and exit.")
def collect(interval: float, output: Path | None, podman: str, once: bool) -> None:
    """Measure every workspace pod of this user and write its figures for the dashboard.

    This is the collector that `winalux host install` runs as a user service.
    """
    from winalux.host.telemetry.__main__ import main

    argv = ["--interval", str(interval), "--podman", podman]
    if output is not None:
        argv += ["--output", str(output)]
    if once:
        argv.append("--once")
    status = main(argv)
    if status:
        raise UserError("the collector failed; see the messages above")


COMMANDS = [ssh_config, collect]
