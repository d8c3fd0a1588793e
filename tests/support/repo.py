"""Throw-away workspace repositories for tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
EXAMPLES = PROJECT / "tests" / "examples"
PUBLIC_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ622Ad6O2VYRHcUAc26nH7NFTWBHk4swpS4IVWutbk7 dev@laptop"
)


def make_repository(
    root: Path, workspace_files: Iterable[Path] = (), with_examples: bool = False
) -> Path:
    """Create a repository at root with the project's templates, profiles and given files."""
    shutil.copytree(PROJECT / "templates", root / "templates")
    (root / "images").mkdir(parents=True)
    shutil.copy(PROJECT / "images" / "profiles.yml", root / "images" / "profiles.yml")
    workspaces = root / "workspaces"
    workspaces.mkdir()
    if with_examples:
        for path in sorted((PROJECT / "workspaces").glob("*.yml")):
            shutil.copy(path, workspaces / path.name)
    for path in workspace_files:
        shutil.copy(path, workspaces / path.name)
    return root


def workspace_text(name: str, **fields: object) -> str:
    """Return a valid workspace file for name, with fields added or replaced."""
    values: dict[str, object] = {
        "name": name,
        "profile": "web",
        "host": "devbox-1",
        "ssh_port": 2300,
        "app_port": 8300,
        "public_key": PUBLIC_KEY,
    }
    values.update(fields)
    return "".join(f"{key}: {value}\n" for key, value in values.items())


def expectations(path: Path) -> list[str]:
    """Return the `# expect:` lines of an example file."""
    prefix = "# expect: "
    return [
        line[len(prefix) :].strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith(prefix)
    ]
