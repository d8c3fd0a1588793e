"""Entries of workspaces/ that are not plain workspace files are reported, never skipped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.repo import make_repository, workspace_text
from winalux.quadlet import RenderError, render
from winalux.spec import ValidationFailed, load_repository


def _report(root: Path) -> str:
    with pytest.raises(ValidationFailed) as failed:
        load_repository(root)
    return failed.value.report()


def test_symlinked_workspace_rejected_unread(tmp_path: Path) -> None:
    outside = tmp_path / "credentials"
    outside.write_text("name: FAKE-SECRET-123\n")
    root = make_repository(tmp_path / "repo")
    os.symlink(outside, root / "workspaces" / "zz.yml")
    report = _report(root)
    assert "workspaces/zz.yml:1:1: symbolic links are not allowed" in report
    assert "FAKE-SECRET-123" not in report


def test_symlinked_valid_file_rejected(tmp_path: Path) -> None:
    root = make_repository(tmp_path / "repo")
    target = tmp_path / "alpha.yml"
    target.write_text(workspace_text("alpha"))
    os.symlink(target, root / "workspaces" / "alpha.yml")
    assert "symbolic links are not allowed" in _report(root)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("alpha.YML", "the suffix must be .yml or .yaml in lower case"),
        (".yml", "hidden files are not read"),
        (".alpha.yml", "hidden files are not read"),
    ],
)
def test_odd_file_names_reported(tmp_path: Path, name: str, message: str) -> None:
    root = make_repository(tmp_path / "repo")
    (root / "workspaces" / name).write_text(workspace_text("alpha"))
    assert f"workspaces/{name}:1:1: {message}" in _report(root)


def test_folder_named_like_file_reported(tmp_path: Path) -> None:
    root = make_repository(tmp_path / "repo")
    (root / "workspaces" / "alpha.yml").mkdir()
    assert "workspaces/alpha.yml:1:1: not a regular file" in _report(root)


def test_other_files_ignored(tmp_path: Path) -> None:
    root = make_repository(tmp_path / "repo")
    (root / "workspaces" / "README.md").write_text("# Workspaces\n")
    assert load_repository(root).workspaces == {}


@pytest.mark.parametrize("relative", ["templates/sidecars.yml", "images/profiles.yml"])
def test_symlinked_settings_files_rejected(tmp_path: Path, relative: str) -> None:
    root = make_repository(tmp_path / "repo")
    moved = tmp_path / "moved.yml"
    (root / relative).rename(moved)
    os.symlink(moved, root / relative)
    assert f"{relative}:1:1: symbolic links are not allowed" in _report(root)


def test_symlinked_template_rejected(tmp_path: Path) -> None:
    root = make_repository(tmp_path / "repo", with_examples=True)
    template = root / "templates" / "quadlet" / "pod.j2"
    moved = tmp_path / "pod.j2"
    template.rename(moved)
    os.symlink(moved, template)
    with pytest.raises(RenderError, match="pod.j2 is a symbolic link"):
        render(load_repository(root))
