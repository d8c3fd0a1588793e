"""Commands that work on a repository of workspace files: validate, render, diff, schema."""

from __future__ import annotations

import difflib
import sys
import tempfile
from pathlib import Path

import click

from winalux.cli import EXIT_STATUS_HELP, UserError
from winalux.quadlet import Render, RenderError, render
from winalux.quadlet.dryrun import QuadletError, dry_run
from winalux.quadlet.write import WriteConflict, owned_units, write_units
from winalux.spec import Repository, ValidationFailed, load_repository
from winalux.spec.schema import schema_text

REPO_OPTION = click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Repository root holding workspaces/, templates/ and images/profiles.yml.",
)
HOST_OPTION = click.option(
    "--host", metavar="NAME", help="Only the workspaces whose host field is NAME (default: all)."
)


def load_or_fail(root: Path, paths: tuple[Path, ...] = ()) -> Repository:
    """Load and validate the repository; print every problem and raise UserError if invalid."""
    try:
        return load_repository(root, paths)
    except ValidationFailed as failed:
        click.echo(failed.report(), err=True)
        raise UserError(f"{failed}; nothing was written") from failed


def render_or_fail(repository: Repository, host: str | None) -> Render:
    try:
        return render(repository, host)
    except RenderError as err:
        raise UserError(str(err)) from err


@click.command(epilog=EXIT_STATUS_HELP)
@REPO_OPTION
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def validate(repo: Path, paths: tuple[Path, ...]) -> None:
    """Validate every workspace file, plus PATHS if given, and the rules across files.

    Every problem of every file is printed on stderr as FILE:LINE:COLUMN: FIELD: VALUE:
    what is wrong; what to write instead.
    """
    repository = load_or_fail(repo, paths)
    render_or_fail(repository, None)
    count = len(repository.workspaces)
    click.echo(f"{count} workspace file{'s' if count != 1 else ''} valid", err=True)


@click.command("render", epilog=EXIT_STATUS_HELP)
@REPO_OPTION
@HOST_OPTION
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the units into; stale winalux units in it are removed.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Also run podman's quadlet generator in dry-run mode on the written units.",
)
def render_command(repo: Path, host: str | None, out: Path, check: bool) -> None:
    """Render the workspaces into Quadlet units in the --out folder.

    Only changed files are rewritten. Each file's status (create, update, same, remove) is
    printed on stdout. With --check, quadlet checks the units in a temporary folder first,
    so that rejected units never reach --out.
    """
    repository = load_or_fail(repo)
    units = render_or_fail(repository, host)
    if host is not None and not units.workspaces:
        hosts = ", ".join(sorted({ws.host for ws in repository.workspaces.values()})) or "none"
        click.echo(f"warning: no workspace has host {host} (hosts in use: {hosts})", err=True)
    if check:
        services = quadlet_check(units)
        click.echo(f"quadlet accepted {len(units.files)} units ({services} services)", err=True)
    try:
        statuses = write_units(units, out)
    except WriteConflict as err:
        raise UserError(str(err)) from err
    except OSError as err:
        raise UserError(f"cannot write into {out}: {err.strerror}") from err
    for name, status in statuses.items():
        click.echo(f"{status:<7} {out / name}")


def quadlet_check(units: Render) -> int:
    """Run podman's quadlet generator on the units in a scratch folder; return the services."""
    with tempfile.TemporaryDirectory(prefix="winalux-check-") as scratch:
        write_units(units, Path(scratch))
        try:
            return len(dry_run(Path(scratch)))
        except QuadletError as err:
            raise UserError(f"{err}\nnothing was written") from err


@click.command(epilog="Exit status: 0 no differences, 1 differences, 2 trouble (as diff(1)).")
@REPO_OPTION
@HOST_OPTION
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
def diff(repo: Path, host: str | None, folder: Path) -> None:
    """Show how a fresh render differs from the winalux units in FOLDER, as a unified diff."""
    try:
        repository = load_repository(repo)
        units = render(repository, host)
    except ValidationFailed as failed:
        click.echo(failed.report(), err=True)
        click.echo(f"error: {failed}", err=True)
        sys.exit(2)
    except RenderError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)
    current = owned_units(folder)
    different = False
    for name in sorted(set(current) | set(units.files)):
        before = current.get(name, "")
        after = units.files.get(name, "")
        if before == after:
            continue
        different = True
        old_label = f"a/{name}" if name in current else "/dev/null"
        new_label = f"b/{name}" if name in units.files else "/dev/null"
        lines = difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True), old_label, new_label
        )
        click.echo("".join(lines), nl=False)
    sys.exit(1 if different else 0)


@click.command()
def schema() -> None:
    """Print the workspace file's JSON Schema (draft 2020-12)."""
    click.echo(schema_text(), nl=False)


COMMANDS = [validate, render_command, diff, schema]
