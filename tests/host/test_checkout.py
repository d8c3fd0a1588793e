"""The agent's checkout against real git repositories: a bare remote and a host clone."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import git
import pytest

from tests.support import require
from winalux.host.checkout import (
    CheckoutError,
    current_commit,
    redact,
    update_checkout,
    verify_signature,
)


def _git(cwd: Path, *argv: str) -> str:
    result = subprocess.run(["git", *argv], cwd=cwd, check=True, capture_output=True, text=True)
    return result.stdout.strip()


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """An empty bare repository whose initial branch is main."""
    bare = tmp_path / "remote.git"
    _git(tmp_path, "init", "--bare", "--initial-branch=main", str(bare))
    return bare


@pytest.fixture
def author(tmp_path: Path, remote: Path) -> Path:
    """A clone where the test makes commits and pushes them to the remote."""
    work = tmp_path / "author"
    _git(tmp_path, "clone", str(remote), str(work))
    _git(work, "config", "user.email", "platform@example.org")
    _git(work, "config", "user.name", "Platform Team")
    _git(work, "checkout", "-b", "main")
    _commit(work, {"workspaces/alice.yml": "name: alice\n"}, "Add alice")
    _git(work, "push", "origin", "main")
    return work


def _commit(work: Path, files: dict[str, str | None], message: str) -> str:
    for name, text in files.items():
        path = work / name
        if text is None:
            _git(work, "rm", "-q", name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        _git(work, "add", name)
    _git(work, "commit", "-q", "-m", message)
    return _git(work, "rev-parse", "HEAD")


def _push(work: Path, files: dict[str, str | None], message: str) -> str:
    commit = _commit(work, files, message)
    _git(work, "push", "-q", "origin", "main")
    return commit


def test_first_update_clones_remote_head(tmp_path: Path, remote: Path, author: Path) -> None:
    checkout = tmp_path / "host" / "checkout"
    commit = update_checkout(str(remote), "main", checkout)
    assert commit == _git(author, "rev-parse", "HEAD")
    assert (checkout / "workspaces" / "alice.yml").read_text() == "name: alice\n"
    assert current_commit(checkout) == commit


def test_update_follows_added_changed_removed(tmp_path: Path, remote: Path, author: Path) -> None:
    checkout = tmp_path / "checkout"
    update_checkout(str(remote), "main", checkout)
    _push(author, {"workspaces/bob.yml": "name: bob\n"}, "Add bob")
    _push(author, {"workspaces/alice.yml": "name: alice\nprofile: data\n"}, "Change alice")
    head = _push(author, {"workspaces/bob.yml": None}, "Remove bob")

    assert update_checkout(str(remote), "main", checkout) == head
    assert (checkout / "workspaces" / "alice.yml").read_text() == "name: alice\nprofile: data\n"
    assert not (checkout / "workspaces" / "bob.yml").exists()


def test_dirty_checkout_is_discarded(tmp_path: Path, remote: Path, author: Path) -> None:
    checkout = tmp_path / "checkout"
    update_checkout(str(remote), "main", checkout)
    (checkout / "workspaces" / "alice.yml").write_text("edited on the host\n")
    (checkout / "workspaces" / "stray.yml").write_text("name: stray\n")
    (checkout / "notes.txt").write_text("untracked\n")
    head = _push(author, {"workspaces/carol.yml": "name: carol\n"}, "Add carol")

    assert update_checkout(str(remote), "main", checkout) == head
    assert (checkout / "workspaces" / "alice.yml").read_text() == "name: alice\n"
    assert not (checkout / "workspaces" / "stray.yml").exists()
    assert not (checkout / "notes.txt").exists()
    assert _git(checkout, "status", "--porcelain", "--ignored") == ""


def test_diverged_checkout_moves_to_remote(tmp_path: Path, remote: Path, author: Path) -> None:
    checkout = tmp_path / "checkout"
    update_checkout(str(remote), "main", checkout)
    _git(checkout, "-c", "user.email=h@example.org", "-c", "user.name=Host",
         "commit", "-q", "--allow-empty", "-m", "local commit on the host")
    head = _push(author, {"workspaces/dave.yml": "name: dave\n"}, "Add dave")

    assert update_checkout(str(remote), "main", checkout) == head
    log = _git(checkout, "log", "--format=%s")
    assert "local commit on the host" not in log
    assert _git(checkout, "rev-parse", "HEAD") == head


def test_force_pushed_remote_is_followed(tmp_path: Path, remote: Path, author: Path) -> None:
    checkout = tmp_path / "checkout"
    first = update_checkout(str(remote), "main", checkout)
    _push(author, {"workspaces/erin.yml": "name: erin\n"}, "Add erin")
    update_checkout(str(remote), "main", checkout)
    _git(author, "reset", "-q", "--hard", first)
    _git(author, "push", "-q", "--force", "origin", "main")

    assert update_checkout(str(remote), "main", checkout) == first
    assert not (checkout / "workspaces" / "erin.yml").exists()


def test_unreachable_remote_keeps_checkout(tmp_path: Path, remote: Path, author: Path) -> None:
    checkout = tmp_path / "checkout"
    commit = update_checkout(str(remote), "main", checkout)
    with pytest.raises(CheckoutError, match="cannot update branch 'main'"):
        update_checkout(str(tmp_path / "gone.git"), "main", checkout)
    assert current_commit(checkout) == commit
    assert (checkout / "workspaces" / "alice.yml").exists()


def test_missing_branch_is_reported(tmp_path: Path, remote: Path, author: Path) -> None:
    with pytest.raises(CheckoutError, match="'release'"):
        update_checkout(str(remote), "release", tmp_path / "checkout")
    assert current_commit(tmp_path / "checkout") is None


def test_remote_url_change_is_followed(tmp_path: Path, remote: Path, author: Path) -> None:
    checkout = tmp_path / "checkout"
    update_checkout(str(remote), "main", checkout)
    mirror = tmp_path / "mirror.git"
    _git(tmp_path, "clone", "-q", "--bare", str(remote), str(mirror))
    _git(author, "remote", "add", "mirror", str(mirror))
    _commit(author, {"workspaces/frank.yml": "name: frank\n"}, "Add frank")
    _git(author, "push", "-q", "mirror", "main")

    update_checkout(str(mirror), "main", checkout)
    assert git.Repo(checkout).remotes.origin.url == str(mirror)
    assert (checkout / "workspaces" / "frank.yml").exists()


def test_broken_checkout_is_recreated(tmp_path: Path, remote: Path, author: Path) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "leftover").write_text("not a repository\n")
    commit = update_checkout(str(remote), "main", checkout)
    assert commit == _git(author, "rev-parse", "HEAD")
    assert not (checkout / "leftover").exists()


def test_redact_drops_credentials() -> None:
    assert redact("https://deploy:s3cret@git.example.org/team/ws.git") == (
        "https://git.example.org/team/ws.git"
    )
    assert redact("/srv/git/ws.git") == "/srv/git/ws.git"


def _signing_key(tmp_path: Path, name: str) -> tuple[Path, str]:
    key = tmp_path / f"{name}_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)],
                   check=True)
    return key, (tmp_path / f"{name}_ed25519.pub").read_text().strip()


@pytest.fixture
def signed_author(tmp_path: Path, author: Path) -> tuple[Path, Path]:
    """The author clone signing with an SSH key, and an allowed-signers file naming it."""
    require(shutil.which("ssh-keygen"), "ssh-keygen is not installed (openssh-client)")
    key, public = _signing_key(tmp_path, "platform")
    _git(author, "config", "gpg.format", "ssh")
    _git(author, "config", "user.signingkey", str(key))
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"platform@example.org {public}\n")
    return author, allowed


def test_signed_head_verifies(tmp_path: Path, remote: Path,
                              signed_author: tuple[Path, Path]) -> None:
    author, allowed = signed_author
    _git(author, "commit", "-q", "-S", "--allow-empty", "-m", "Signed change")
    _git(author, "push", "-q", "origin", "main")
    checkout = tmp_path / "checkout"
    commit = update_checkout(str(remote), "main", checkout)
    verify_signature(checkout, commit, allowed)


def test_unsigned_head_is_rejected(tmp_path: Path, remote: Path,
                                   signed_author: tuple[Path, Path]) -> None:
    author, allowed = signed_author
    _git(author, "commit", "-q", "--no-gpg-sign", "--allow-empty", "-m", "Unsigned change")
    _git(author, "push", "-q", "origin", "main")
    checkout = tmp_path / "checkout"
    commit = update_checkout(str(remote), "main", checkout)
    with pytest.raises(CheckoutError, match="is not signed by a key in"):
        verify_signature(checkout, commit, allowed)


def test_head_signed_by_other_key_is_rejected(tmp_path: Path, remote: Path,
                                              signed_author: tuple[Path, Path]) -> None:
    author, allowed = signed_author
    other, _ = _signing_key(tmp_path, "intruder")
    _git(author, "-c", f"user.signingkey={other}", "commit", "-q", "-S", "--allow-empty",
         "-m", "Signed by someone else")
    _git(author, "push", "-q", "origin", "main")
    checkout = tmp_path / "checkout"
    commit = update_checkout(str(remote), "main", checkout)
    with pytest.raises(CheckoutError, match="is not signed by a key in"):
        verify_signature(checkout, commit, allowed)


def test_credentials_never_in_errors(tmp_path: Path) -> None:
    url = "http://deploy:s3cret-token@127.0.0.1:9/workspaces.git"
    with pytest.raises(CheckoutError) as caught:
        update_checkout(url, "main", tmp_path / "checkout")
    assert "s3cret-token" not in str(caught.value)
    assert "127.0.0.1:9/workspaces.git" in str(caught.value)
