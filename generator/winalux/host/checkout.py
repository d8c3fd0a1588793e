"""The agent's checkout of the repository, moved to the remote branch head on every sync.

The checkout belongs to the agent: local commits, edits and untracked files in it are
discarded, because a host must never apply a mix of its own state and the repository's.
It is fetched and hard-reset, never merged.
"""

from __future__ import annotations

import logging
import re
import shutil
import tarfile
import tempfile
from pathlib import Path

import git

logger = logging.getLogger(__name__)

# A fetch that waits on a dead remote must not hold the sync lock for ever.
FETCH_TIMEOUT = 120
# git would otherwise ask on the terminal for a password, which a timer has not got.
GIT_ENVIRONMENT = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"}
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


class CheckoutError(Exception):
    """The remote could not be fetched or the checkout could not be moved to its head."""


def redact(url: str) -> str:
    """Return url without the user and password part, which may hold a deploy token."""
    return _USERINFO.sub("", url)


def update_checkout(url: str, branch: str, folder: Path) -> str:
    """Fetch `branch` from url and make folder's work tree match its head; return the commit."""
    try:
        repo = _open_or_init(folder)
        _set_origin(repo, url)
        remote_ref = _fetch(repo, branch)
        return _reset(repo, branch, remote_ref)
    except git.GitCommandError as err:
        raise CheckoutError(_describe(err, url, branch)) from err


def current_commit(folder: Path) -> str | None:
    """Return the commit the checkout is at, or None when there is no usable checkout."""
    try:
        return git.Repo(folder).head.commit.hexsha
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
        return None


def verify_signature(folder: Path, commit: str, allowed_signers: Path) -> None:
    """Raise CheckoutError unless commit carries an SSH signature by a key in allowed_signers."""
    repo = git.Repo(folder)
    try:
        with repo.git.custom_environment(**GIT_ENVIRONMENT):
            repo.git.execute(
                [
                    "git",
                    "-c",
                    "gpg.format=ssh",
                    "-c",
                    f"gpg.ssh.allowedSignersFile={allowed_signers}",
                    "verify-commit",
                    commit,
                ]
            )
    except git.GitCommandError as err:
        detail = _first_line(err.stderr) or "no valid signature"
        raise CheckoutError(
            f"commit {commit[:12]} is not signed by a key in {allowed_signers}: {detail}"
        ) from err


def _open_or_init(folder: Path) -> git.Repo:
    try:
        return git.Repo(folder)
    except git.NoSuchPathError:
        pass
    except git.InvalidGitRepositoryError:
        logger.warning("checkout %s is not a git repository; starting it again", folder)
        shutil.rmtree(folder)
    return _init(folder)


def _init(folder: Path) -> git.Repo:
    """Create an empty repository under a temporary name and rename it into place.

    A sync killed before the rename leaves only a hidden temporary folder, never a checkout
    that looks usable. The first fetch and reset then fill the work tree.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=".checkout-", dir=folder.parent))
    try:
        git.Repo.init(partial)
        partial.rename(folder)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    logger.info("checkout created at %s", folder)
    return git.Repo(folder)


def _set_origin(repo: git.Repo, url: str) -> None:
    if "origin" not in [remote.name for remote in repo.remotes]:
        repo.create_remote("origin", url)
    elif repo.remotes.origin.url != url:
        logger.info("origin of the checkout changes to %s", redact(url))
        repo.remotes.origin.set_url(url)


def _fetch(repo: git.Repo, branch: str) -> str:
    remote_ref = f"refs/remotes/origin/{branch}"
    with repo.git.custom_environment(**GIT_ENVIRONMENT):
        repo.git.fetch(
            "--no-tags",
            "--force",
            "origin",
            f"+refs/heads/{branch}:{remote_ref}",
            kill_after_timeout=FETCH_TIMEOUT,
        )
    return remote_ref


def _reset(repo: git.Repo, branch: str, remote_ref: str) -> str:
    # -B moves a diverged local branch; --force and clean drop edits and untracked files.
    repo.git.checkout("--force", "-B", branch, remote_ref)
    repo.git.reset("--hard", remote_ref)
    repo.git.clean("-ffdx")
    return repo.head.commit.hexsha


def _describe(err: git.GitCommandError, url: str, branch: str) -> str:
    detail = _first_line(redact(str(err.stderr))) or f"git exited with status {err.status}"
    return f"cannot update branch {branch!r} from {redact(url)}: {detail}"


def _first_line(text: object) -> str:
    for line in str(text or "").splitlines():
        line = line.strip().removeprefix("stderr:").strip().strip("'").strip()
        if line:
            return line
    return ""


def export_tree(folder: Path, commit: str, target: Path) -> None:
    """Write the files of commit into target, without touching the checkout's work tree."""
    repo = git.Repo(folder)
    with tempfile.TemporaryFile() as archive:
        repo.archive(archive, treeish=commit, format="tar")
        archive.seek(0)
        with tarfile.open(fileobj=archive) as tar:
            tar.extractall(target, filter="data")
