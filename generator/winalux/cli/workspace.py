"""Commands for one workspace and its telemetry: ssh-config, collect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import yaml

from winalux.cli import EXIT_STATUS_HELP, UserError

SSH_USER = "developer"
TOKEN_VARIABLE = "LC_WINALUX_TOKEN"  # noqa: S105 (a variable name, not a secret)


def read_workspace_file(path: Path) -> dict[str, Any]:
    """Return the fields of one workspace file that ssh-config needs."""
    # TODO: switch to winalux.spec.load_workspace(path) once the spec package offers it, so that
    # this command applies the same validation as `winalux validate`.
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise UserError(f"{path} is not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of workspace fields")
    port = data.get("ssh_port")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise UserError(f"{path}: ssh_port: {port!r}: expected a port number 1-65535")
    return data


def ssh_config_block(name: str, hostname: str, port: int) -> str:
    """Return the ~/.ssh/config block of a workspace, with the token left for the developer."""
    return "\n".join([
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
    ])


@click.command("ssh-config", epilog=EXIT_STATUS_HELP)
@click.argument("name")
@click.option("--hostname", required=True, help="Host name or address developers connect to.")
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Repository root holding workspaces/.")
def ssh_config(name: str, hostname: str, repo: Path) -> None:
    """Print the ~/.ssh/config block for workspace NAME, for terminals and VS Code."""
    if not hostname or any(char.isspace() for char in hostname):
        raise UserError(f"--hostname {hostname!r}: expected a host name without spaces")
    path = repo / "workspaces" / f"{name}.yml"
    if not path.is_file():
        raise UserError(f"no workspace file {path}; is NAME spelled as in workspaces/?")
    data = read_workspace_file(path)
    click.echo(ssh_config_block(name, hostname, data["ssh_port"]), nl=False)


@click.command("collect", epilog=EXIT_STATUS_HELP)
@click.option("--interval", type=click.FloatRange(min=1), default=10.0, show_default=True,
              help="Seconds between samples.")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of the per-workspace folders [default: "
                   "$XDG_STATE_HOME/winalux/telemetry].")
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
