"""The `winalux plan` command: what merging one revision into another changes on the hosts."""

from __future__ import annotations

from pathlib import Path

import click
import git

from winalux.cli import UserError
from winalux.plan import compare
from winalux.review.report import FORMATTERS, Review, unit_diff
from winalux.review.revision import (
    RevisionError,
    RevisionRender,
    open_repository,
    render_revision,
)
from winalux.spec import ValidationFailed

PLAN_EPILOG = (
    "Exit status: 0 plan printed (with or without changes), 1 a revision was not found or "
    "does not validate, 2 usage error, 3 unexpected error."
)


@click.command("plan", epilog=PLAN_EPILOG)
@click.option(
    "--base",
    required=True,
    metavar="REV",
    help="Revision the hosts run now: the target branch or the merge base.",
)
@click.option(
    "--head",
    default="HEAD",
    show_default=True,
    metavar="REV",
    help="Revision to compare with --base: the merge request's head.",
)
@click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Git repository to read both revisions from; its work tree is never read.",
)
@click.option("--host", metavar="NAME", help="Only the workspaces of this host (default: all).")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(FORMATTERS)),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--diff", "with_diff", is_flag=True, help="Add the unified diff of the rendered unit files."
)
def plan_command(
    base: str, head: str, repo: Path, host: str | None, output_format: str, with_diff: bool
) -> None:
    """Show per host and workspace what merging --head into --base changes.

    Both revisions are read from git and rendered. The output lists the workspaces created,
    changed (with the fields that changed), removed (their home volume is kept) and
    unchanged. It also lists the pod services that start, restart and stop.
    """
    try:
        repository = open_repository(repo)
        old = _render_side(repository, base, host, "--base")
        new = _render_side(repository, head, host, "--head")
    except RevisionError as err:
        raise UserError(str(err)) from err
    diff = unit_diff(old.render, new.render) if with_diff else None
    review = Review(base=old, head=new, plan=compare(old.render, new.render), diff=diff)
    click.echo(FORMATTERS[output_format](review), nl=False)


def _render_side(
    repository: git.Repo, revision: str, host: str | None, option: str
) -> RevisionRender:
    try:
        return render_revision(repository, revision, host)
    except ValidationFailed as failed:
        click.echo(failed.report(), err=True)
        raise UserError(f"{option} {revision} is invalid: {failed}") from failed


COMMANDS = [plan_command]
