"""Commands of the host agent: sync, status, token, purge, host install/uninstall, doctor."""

from __future__ import annotations

import json
import re
import socket
import sys
from pathlib import Path

import click

from winalux.cli import EXIT_STATUS_HELP, UserError
from winalux.host import state
from winalux.host.journal import use_journal_format
from winalux.host.lock import LockBusy, hold
from winalux.host.paths import HostPaths
from winalux.host.podman import Podman
from winalux.host.report import format_report, format_status
from winalux.host.sync import SyncFailed, SyncOptions, Tools, sync
from winalux.host.systemctl import Systemctl
from winalux.run import CommandError

# The other commands import their modules (Jinja2, the workspace loader, the host checks)
# when they run, so that the timer's sync, which usually changes nothing, starts fast.

LOCK_WAIT = 60
# The schema's pattern for the name field of a workspace file.
_WORKSPACE_NAME = re.compile(r"[a-z](?:-?[a-z0-9])*")


def _workspace_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not _WORKSPACE_NAME.fullmatch(value):
        raise click.BadParameter(
            f"{value!r} is not a workspace name: start with a lower-case letter and use "
            "lower-case letters, digits and single hyphens, as in a workspace file's name field"
        )
    return value


def _default_host() -> str:
    return socket.gethostname().split(".")[0]


@click.command("sync", epilog=EXIT_STATUS_HELP)
@click.option(
    "--repo",
    "repository",
    required=True,
    envvar="WINALUX_REPO",
    metavar="URL",
    help="Git URL or path of the workspace repository [env: WINALUX_REPO].",
)
@click.option(
    "--branch",
    default="main",
    show_default=True,
    envvar="WINALUX_BRANCH",
    help="Branch whose head the host applies [env: WINALUX_BRANCH].",
)
@click.option(
    "--host",
    default=_default_host,
    envvar="WINALUX_HOST",
    metavar="NAME",
    help="Apply the workspaces whose host field is NAME (default: the short host "
    "name) [env: WINALUX_HOST].",
)
@click.option("--dry-run", is_flag=True, help="Print the plan and change nothing on the host.")
@click.option("--retry", is_flag=True, help="Apply a commit that failed and was rolled back.")
@click.option(
    "--wait",
    "lock_wait",
    type=click.FloatRange(min=0),
    default=LOCK_WAIT,
    show_default=True,
    help="Seconds to wait for another sync to finish.",
)
@click.option(
    "--timeout",
    "active_timeout",
    type=click.FloatRange(min=1),
    default=300,
    show_default=True,
    help="Seconds to wait for the new services to be active.",
)
@click.option(
    "--notify-command",
    envvar="WINALUX_NOTIFY_COMMAND",
    metavar="COMMAND",
    help="Command run on failure, the error on stdin and in $WINALUX_SYNC_ERROR "
    "[env: WINALUX_NOTIFY_COMMAND].",
)
@click.option(
    "--notify-url",
    envvar="WINALUX_NOTIFY_URL",
    metavar="URL",
    help="Webhook that receives a JSON POST on failure [env: WINALUX_NOTIFY_URL].",
)
@click.option(
    "--allowed-signers",
    envvar="WINALUX_ALLOWED_SIGNERS",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Apply only commits with an SSH signature by a key in this git "
    "allowed-signers file [env: WINALUX_ALLOWED_SIGNERS].",
)
def sync_command(
    repository: str,
    branch: str,
    host: str,
    dry_run: bool,
    retry: bool,
    lock_wait: float,
    active_timeout: float,
    notify_command: str | None,
    notify_url: str | None,
    allowed_signers: Path | None,
) -> None:
    """Bring this host's workspaces in line with the head of the repository's branch.

    Fetches and hard-resets the agent's checkout, renders the workspaces of this host, and
    applies the difference as one transaction with `systemctl --user`, rolling back to the
    last good units if the new ones do not become active. The plan goes to stdout.
    """
    use_journal_format()
    options = SyncOptions(
        repository=repository,
        host=host,
        branch=branch,
        dry_run=dry_run,
        retry=retry,
        lock_wait=lock_wait,
        active_timeout=active_timeout,
        notify_command=notify_command,
        notify_url=notify_url,
        allowed_signers=allowed_signers,
    )
    try:
        report = sync(options, HostPaths.from_environment(), Tools())
    except (SyncFailed, LockBusy) as err:
        raise UserError(str(err)) from err
    click.echo(format_report(report, branch, dry_run))


@click.command("status", epilog=EXIT_STATUS_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the state file as JSON.")
def status_command(as_json: bool) -> None:
    """Print the result of the last sync: applied commit, workspaces and last error.

    Exits 1 when the last sync failed.
    """
    paths = HostPaths.from_environment()
    record = state.load(paths.state_file)
    if as_json:
        data = record.to_json()
        data.pop("files", None)
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        click.echo(format_status(record))
    if record.result == "failed":
        sys.exit(1)


@click.group("token")
def token_group() -> None:
    """Show or rotate a workspace's access token."""


@token_group.command("show", epilog=EXIT_STATUS_HELP)
@click.argument("name", callback=_workspace_name)
@click.option("--force", is_flag=True, help="Write the token even when stdout is not a terminal.")
def token_show(name: str, force: bool) -> None:
    """Print the access token of workspace NAME.

    To keep it out of logs and files, it is written only to a terminal unless --force.
    """
    from winalux.host import tokens

    if not sys.stdout.isatty() and not force:
        raise UserError("stdout is not a terminal; pass --force to write the token to a pipe")
    try:
        token = tokens.show_token(Podman(), name)
    except CommandError as err:
        raise UserError(
            f"no token for workspace {name!r}: is it applied on this host? "
            f"({err.reason or err.returncode})"
        ) from err
    click.echo(token)


@token_group.command("rotate", epilog=EXIT_STATUS_HELP)
@click.argument("name", callback=_workspace_name)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=300,
    show_default=True,
    help="Seconds to wait for the restarted pod to be active.",
)
def token_rotate(name: str, timeout: float) -> None:
    """Give workspace NAME a new access token and restart its pod to use it."""
    from winalux.host import tokens
    from winalux.spec.names import WorkspaceNames

    paths = HostPaths.from_environment()
    podman = Podman()
    try:
        with hold(paths.lock_file, LOCK_WAIT):
            if not podman.secret_exists(WorkspaceNames(name).secret):
                raise UserError(f"workspace {name!r} has no token on this host; is it applied?")
            tokens.rotate_token(podman, Systemctl(), name, timeout)
    except (LockBusy, tokens.TokenError, CommandError) as err:
        raise UserError(str(err)) from err
    click.echo(f"token of {name} rotated; show it with `winalux token show {name}`", err=True)


@click.command("purge", epilog=EXIT_STATUS_HELP)
@click.argument("name", callback=_workspace_name)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def purge_command(name: str, yes: bool) -> None:
    """Delete the volumes (home, SSH host keys, sidecar data) a removed workspace left.

    This deletes the developer's files for good. It fails while NAME is still applied here.
    """
    from winalux.host import purge

    paths = HostPaths.from_environment()
    podman = Podman()
    try:
        with hold(paths.lock_file, LOCK_WAIT):
            purge.check_removed(paths, name)
            volumes = purge.leftover_volumes(podman, name)
            if not volumes:
                click.echo(f"no volumes of workspace {name} on this host", err=True)
                return
            click.echo("volumes to delete: " + ", ".join(volumes), err=True)
            if not yes:
                click.confirm("Delete them and the data in them?", abort=True, err=True)
            purge.purge(podman, name, volumes)
    except (LockBusy, purge.PurgeRejected, CommandError) as err:
        raise UserError(str(err)) from err
    click.echo(f"deleted {len(volumes)} volumes of {name}", err=True)


@click.group("host")
def host_group() -> None:
    """Install or remove the sync agent's user service and timer."""


@host_group.command("install", epilog=EXIT_STATUS_HELP)
@click.option(
    "--repo",
    "repository",
    required=True,
    metavar="URL",
    help="Git URL or path of the workspace repository.",
)
@click.option("--branch", default="main", show_default=True, help="Branch the host applies.")
@click.option(
    "--host",
    metavar="NAME",
    help="Host name in workspace files (default: short host name, read at each sync).",
)
@click.option(
    "--interval",
    default="1min",
    show_default=True,
    help="Time between syncs, as a systemd span: 30s, 1min, 1h.",
)
@click.option("--notify-command", metavar="COMMAND", help="Command run when a sync fails.")
@click.option("--notify-url", metavar="URL", help="Webhook POSTed to when a sync fails.")
@click.option(
    "--allowed-signers",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Apply only commits signed by a key in this allowed-signers file.",
)
@click.option(
    "--executable",
    metavar="PATH",
    help="winalux command the service runs (default: the one on PATH).",
)
def host_install(
    repository: str,
    branch: str,
    host: str | None,
    interval: str,
    notify_command: str | None,
    notify_url: str | None,
    allowed_signers: Path | None,
    executable: str | None,
) -> None:
    """Write and start the user service and timer that run `winalux sync`."""
    from winalux.host import install
    from winalux.host.checkout import redact

    options = install.InstallOptions(
        repository=repository,
        branch=branch,
        host=host,
        interval=interval,
        notify_command=notify_command,
        notify_url=notify_url,
        allowed_signers=allowed_signers.resolve() if allowed_signers else None,
        executable=executable,
    )
    try:
        written = install.install(options, HostPaths.from_environment(), Systemctl())
    except (install.InstallError, CommandError) as err:
        raise UserError(str(err)) from err
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"timer started: syncs {redact(repository)} ({branch}) every {interval}", err=True)


@host_group.command("uninstall", epilog=EXIT_STATUS_HELP)
@click.option(
    "--remove-workspaces",
    is_flag=True,
    help="Also stop every workspace and remove its units and token; volumes stay.",
)
def host_uninstall(remove_workspaces: bool) -> None:
    """Stop and remove the agent's service and timer; workspaces keep running unless asked."""
    from winalux.host import install

    paths = HostPaths.from_environment()
    systemctl = Systemctl()
    try:
        removed = install.uninstall(paths, systemctl)
        if remove_workspaces:
            with hold(paths.lock_file, LOCK_WAIT):
                stopped = install.remove_workspaces(paths, systemctl, Podman())
    except (CommandError, LockBusy) as err:
        raise UserError(str(err)) from err
    for path in removed:
        click.echo(f"removed {path}")
    if remove_workspaces:
        names = ", ".join(stopped) or "none"
        click.echo(f"stopped and removed workspaces: {names}; their volumes are kept", err=True)


@click.command("doctor", epilog=EXIT_STATUS_HELP)
@click.option(
    "--repo",
    "repo_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Repository checkout whose ports and images to check (default: the "
    "agent's checkout, if any).",
)
@click.option(
    "--host",
    default=_default_host,
    metavar="NAME",
    help="Host name in workspace files (default: the short host name).",
)
@click.option("--no-pull", is_flag=True, help="Do not pull images that are not present.")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
def doctor_command(repo_dir: Path | None, host: str, no_pull: bool, as_json: bool) -> None:
    """Check what this host needs to run workspaces, and print the fix for each failure.

    Exits 1 when a check fails.
    """
    from winalux.host import doctor

    ports, images = _workspace_needs(repo_dir or HostPaths.from_environment().checkout, host)
    checks = doctor.run_checks(doctor.Facts(ports=ports, images=images, pull=not no_pull))
    if as_json:
        click.echo(json.dumps([vars(check) for check in checks], indent=2))
    else:
        for check in checks:
            mark = "ok  "
            if not check.ok:
                mark = "FAIL" if check.required else "warn"
            click.echo(f"{mark} {check.name}: {check.detail}")
            if not check.ok:
                click.echo(f"     fix: {check.fix}")
    if not all(check.ok for check in checks):
        sys.exit(1)


def _workspace_needs(root: Path, host: str) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Return the host ports and images of the host's workspaces in the repository at root."""
    from winalux.spec import ValidationFailed, load_repository

    if not (root / "workspaces").is_dir():
        return (), ()
    try:
        workspaces = load_repository(root).on_host(host)
    except ValidationFailed as err:
        raise UserError(f"{root}: {err}; run `winalux validate --repo {root}`") from err
    ports = tuple(port.host for ws in workspaces.values() for port in ws.published_ports)
    images = {ws.image for ws in workspaces.values()}
    images |= {sidecar.image for ws in workspaces.values() for sidecar in ws.sidecars}
    return ports, tuple(sorted(images))


COMMANDS = [sync_command, status_command, token_group, purge_command, host_group, doctor_command]
