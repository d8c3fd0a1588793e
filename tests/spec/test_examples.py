"""Every rule has a valid and an invalid example under tests/examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.repo import EXAMPLES, expectations, make_repository
from winalux.spec import ValidationFailed, load_repository

VALID = sorted((EXAMPLES / "valid").glob("*.yml"))
INVALID = sorted((EXAMPLES / "invalid").glob("*.yml"))
VALID_SETS = sorted((EXAMPLES / "sets" / "valid").iterdir())
INVALID_SETS = sorted((EXAMPLES / "sets" / "invalid").iterdir())


def _problems(root: Path) -> list[str]:
    with pytest.raises(ValidationFailed) as failed:
        load_repository(root)
    return [problem.format() for problem in failed.value.problems]


@pytest.mark.parametrize("path", VALID, ids=lambda path: path.stem)
def test_valid_example_loads(tmp_path: Path, path: Path) -> None:
    repository = load_repository(make_repository(tmp_path, [path]))
    assert list(repository.workspaces) == [path.stem]


@pytest.mark.parametrize("path", INVALID, ids=lambda path: path.stem)
def test_invalid_example_rejected(tmp_path: Path, path: Path) -> None:
    expected = expectations(path)
    assert expected, f"{path.name} has no '# expect:' line"
    problems = _problems(make_repository(tmp_path, [path]))
    for expectation in expected:
        wanted = f"workspaces/{path.name}:"
        matching = [p for p in problems if p.startswith(wanted) and _matches(p, expectation)]
        assert matching, f"no problem matches {expectation!r}; got:\n" + "\n".join(problems)


@pytest.mark.parametrize("folder", VALID_SETS, ids=lambda path: path.name)
def test_valid_set_loads(tmp_path: Path, folder: Path) -> None:
    files = sorted(folder.iterdir())
    repository = load_repository(make_repository(tmp_path, files))
    assert sorted(repository.workspaces) == sorted(path.stem for path in files)


@pytest.mark.parametrize("folder", INVALID_SETS, ids=lambda path: path.name)
def test_invalid_set_rejected(tmp_path: Path, folder: Path) -> None:
    problems = _problems(make_repository(tmp_path, sorted(folder.iterdir())))
    checked = 0
    for path in sorted(folder.iterdir()):
        for expectation in expectations(path):
            checked += 1
            matching = [
                p
                for p in problems
                if p.startswith(f"workspaces/{path.name}:") and _matches(p, expectation)
            ]
            assert matching, f"no problem matches {expectation!r}; got:\n" + "\n".join(problems)
    assert checked, f"{folder.name} has no '# expect:' line"


def _matches(problem: str, expectation: str) -> bool:
    """Match `FIELD: TEXT` against the field and message of a problem, or bare TEXT anywhere."""
    field, _, text = expectation.partition(": ")
    if not text:
        return expectation in problem
    after_position = problem.split(": ", 1)[1]
    return after_position.startswith(field) and text in problem


def test_examples_in_repository_are_valid() -> None:
    project = EXAMPLES.parents[1]
    repository = load_repository(project)
    assert sorted(repository.workspaces) == ["alice", "bob", "carol"]


def test_example_files_carry_schema_comment() -> None:
    project = EXAMPLES.parents[1]
    for path in sorted((project / "workspaces").glob("*.yml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert (
            first
            == "# yaml-language-server: $schema=../generator/winalux/spec/workspace.schema.json"
        )
