"""Workspace repositories for agent tests: a bare remote and an author clone, both real git."""

from __future__ import annotations

import base64
import hashlib
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
TEST_IMAGE = "localhost/winalux-test-base:1"


def public_key(name: str) -> str:
    """Return a well-formed ssh-ed25519 public key line, different for each name."""
    body = hashlib.sha256(name.encode()).digest()
    kind = b"ssh-ed25519"
    blob = struct.pack(">I", len(kind)) + kind + struct.pack(">I", len(body)) + body
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} {name}@example.org"


def workspace_yaml(name: str, host: str, port: int, image: str = TEST_IMAGE,
                   extra: str = "") -> str:
    return (
        f"name: {name}\n"
        "profile: web\n"
        f"host: {host}\n"
        f"ssh_port: {port}\n"
        f"app_port: {port + 1}\n"
        f"public_key: {public_key(name)}\n"
        f"image: {image}\n"
        f"{extra}"
    )


def git(cwd: Path, *argv: str) -> str:
    result = subprocess.run(["git", *argv], cwd=cwd, check=True, capture_output=True, text=True)
    return result.stdout.strip()


@dataclass
class WorkspaceRepo:
    """A bare remote at `remote` and the clone at `work` where tests commit and push."""

    remote: Path
    work: Path

    @classmethod
    def create(cls, folder: Path) -> WorkspaceRepo:
        remote = folder / "remote.git"
        work = folder / "author"
        folder.mkdir(parents=True, exist_ok=True)
        git(folder, "init", "-q", "--bare", "--initial-branch=main", str(remote))
        git(folder, "init", "-q", "--initial-branch=main", str(work))
        git(work, "config", "user.email", "platform@example.org")
        git(work, "config", "user.name", "Platform Team")
        git(work, "remote", "add", "origin", str(remote))
        shutil.copytree(PROJECT / "templates", work / "templates")
        (work / "images").mkdir()
        shutil.copy(PROJECT / "images" / "profiles.yml", work / "images" / "profiles.yml")
        (work / "workspaces").mkdir()
        repo = cls(remote, work)
        repo.push("Start the workspace repository", all_files=True)
        return repo

    def write(self, relative: str, text: str | None) -> None:
        path = self.work / relative
        if text is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    def push(self, message: str, all_files: bool = True) -> str:
        git(self.work, "add", "--all")
        git(self.work, "commit", "-q", "--allow-empty", "-m", message)
        git(self.work, "push", "-q", "origin", "main")
        return git(self.work, "rev-parse", "HEAD")

    def set_workspaces(self, workspaces: dict[str, str | None], message: str) -> str:
        """Write (text) or delete (None) workspaces/NAME.yml files, commit and push."""
        for name, text in workspaces.items():
            self.write(f"workspaces/{name}.yml", text)
        return self.push(message)
