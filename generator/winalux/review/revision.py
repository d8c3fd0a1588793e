"""Rendering the workspaces of a git revision without touching the repository's work tree.

The inputs of a render (workspace files, templates, profile images and repository settings)
are read from git's object database at the given commit and written into a temporary
folder, which is loaded and rendered like a checkout and then deleted. The work tree, the
index and HEAD are never read or written, so uncommitted edits do not leak into a plan.
"""

from __future__ import annotations

import logging
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import git

from winalux.quadlet import Render, RenderError, render
from winalux.spec import load_repository

logger = logging.getLogger(__name__)

# Everything in a repository that load_repository and render read.
INPUT_PATHS = ("workspaces", "templates", "images/profiles.yml", "winalux.yml")


class RevisionError(Exception):
    """A revision cannot be read, or its workspaces do not validate or render."""


@dataclass(frozen=True)
class RevisionRender:
    """The units rendered from one commit, with the revision name it was asked for."""

    revision: str
    commit: str
    render: Render

    @property
    def short(self) -> str:
        return self.commit[:12]


def open_repository(path: Path) -> git.Repo:
    """Open the git repository that contains path."""
    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as err:
        raise RevisionError(f"{path} is not inside a git repository; pass --repo DIR") from err


def resolve(repo: git.Repo, revision: str) -> git.Commit:
    """Return the commit that revision names (a branch, tag, commit id or expression)."""
    try:
        return repo.commit(revision)
    except (git.BadName, git.BadObject, ValueError) as err:
        raise RevisionError(
            f"revision {revision!r} not found in {repo.git_dir}; fetch it first, "
            f"for example: git fetch origin {revision}"
        ) from err


def export_inputs(commit: git.Commit, folder: Path) -> int:
    """Write the render inputs of commit under folder; return the number of files written."""
    count = 0
    for path in INPUT_PATHS:
        try:
            item = commit.tree / path
        except KeyError:
            continue
        items = item.traverse() if isinstance(item, git.Tree) else [item]
        for entry in items:
            if isinstance(entry, git.Blob) and _write_blob(entry, folder):
                count += 1
    return count


def _write_blob(blob: git.Blob, folder: Path) -> bool:
    # A symbolic link is stored as its target text, and following it while loading could
    # read files outside the revision, so links are left out.
    if stat.S_ISLNK(blob.mode):
        logger.warning("skipping symbolic link %s in the revision", blob.path)
        return False
    relative = PurePosixPath(blob.path)
    if relative.is_absolute() or ".." in relative.parts:
        raise RevisionError(f"unexpected path {blob.path!r} in the revision's tree")
    target = folder.joinpath(*relative.parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as stream:
        blob.stream_data(stream)
    return True


def render_revision(repo: git.Repo, revision: str, host: str | None = None) -> RevisionRender:
    """Validate and render the workspaces of revision, for one host or all (None).

    Raise ValidationFailed with every problem of the revision's workspace files, whose
    paths are relative to the repository, as `winalux validate` prints them.
    """
    commit = resolve(repo, revision)
    with tempfile.TemporaryDirectory(prefix="winalux-revision-") as folder:
        count = export_inputs(commit, Path(folder))
        logger.debug("exported %d files of %s into %s", count, commit.hexsha[:12], folder)
        repository = load_repository(Path(folder))
        try:
            units = render(repository, host)
        except RenderError as err:
            label = f"{revision} ({commit.hexsha[:12]})"
            raise RevisionError(f"{label} does not render: {err}") from err
    return RevisionRender(revision=revision, commit=commit.hexsha, render=units)
