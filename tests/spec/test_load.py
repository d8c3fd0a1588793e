"""Strict YAML loading: no silent YAML 1.1 conversions, positions kept, bad input located."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.repo import make_repository
from winalux.spec import ValidationFailed, load_repository
from winalux.spec.load import LoadError, load_document, parse_document


def parse(text: str) -> object:
    return parse_document(text, Path("x.yml"), "x.yml").data


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 22:22", {"a": "22:22"}),
        ("a: no", {"a": "no"}),
        ("a: yes", {"a": "yes"}),
        ("a: on", {"a": "on"}),
        ("a: 0755", {"a": "0755"}),
        ("a: 0x1F", {"a": "0x1F"}),
        ("a: 1_000", {"a": "1_000"}),
        ("a: 3.10", {"a": 3.1}),
        ("a: !!str 3.10", {"a": "3.10"}),
        ('a: "3.10"', {"a": "3.10"}),
        ("a: true", {"a": True}),
        ("a: 2225", {"a": 2225}),
        ("a: -1", {"a": -1}),
        ("a: 0", {"a": 0}),
        ("a: .inf", {"a": ".inf"}),
        ("a: ~", {"a": None}),
        ("a:", {"a": None}),
        ("a: 2001-12-14", {"a": "2001-12-14"}),
    ],
)
def test_scalars_resolve_as_yaml_core(text: str, expected: object) -> None:
    assert parse(text) == expected


def test_float_keeps_source_text() -> None:
    document = parse_document("libraries:\n  - 3.10\n", Path("x.yml"), "x.yml")
    assert document.data == {"libraries": [3.1]}
    assert document.written(("libraries", 0)) == "3.10"
    assert document.where(("libraries", 0)) == (2, 5)


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("a: 1\na: 2\n", "duplicate key (first set on line 1)", 2),
        ("a: &x 1\nb: *x\n", "anchors and aliases are not supported", 1),
        ("<<: {a: 1}\n", "merge keys (<<) are not supported", 1),
        ("a: !!binary aGk=\n", "YAML tags are not supported", 1),
        ("a: !custom x\n", "YAML tags are not supported", 1),
        ("a: !!int nope\n", "does not match its tag", 1),
        ("a: [1, 2\n", "invalid YAML", 2),
        ("a: 1\n---\nb: 2\n", "invalid YAML", 2),
        ("? [a, b]\n: 1\n", "keys must be plain names, not lists or mappings", 1),
        ("? {a: 1}\n: 1\n", "keys must be plain names, not lists or mappings", 1),
    ],
)
def test_rejected_yaml_names_line(text: str, message: str, line: int) -> None:
    with pytest.raises(LoadError) as raised:
        parse(text)
    assert message in raised.value.problem.message
    assert raised.value.problem.line == line


def test_non_utf8_file_rejected(tmp_path: Path) -> None:
    path = tmp_path / "latin.yml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(LoadError, match="not UTF-8"):
        load_document(path)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "- a\n- b\n", "just text\n"])
def test_file_without_mapping_rejected(tmp_path: Path, text: str) -> None:
    root = make_repository(tmp_path)
    (root / "workspaces" / "odd.yml").write_text(text)
    with pytest.raises(ValidationFailed) as failed:
        load_repository(root)
    assert "the file must contain a mapping of fields" in failed.value.report()


def test_billion_laughs_rejected_without_expanding(tmp_path: Path) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for index in range(1, 9):
        previous = chr(ord("a") + index - 1)
        current = chr(ord("a") + index)
        lines.append(f"{current}: &{current} [{', '.join(['*' + previous] * 9)}]")
    with pytest.raises(LoadError, match="aliases"):
        parse("\n".join(lines))


def test_fast_and_full_schema_checks_agree() -> None:
    """The compiled fast path must not pass anything that jsonschema rejects."""
    import fastjsonschema
    import jsonschema

    from tests.support.repo import EXAMPLES
    from winalux.spec.load import LoadError, load_document
    from winalux.spec.schema import workspace_schema

    full = jsonschema.Draft202012Validator(workspace_schema())
    fast = fastjsonschema.compile(workspace_schema())
    checked = 0
    for path in sorted(EXAMPLES.rglob("*.y*ml")):
        try:
            data = load_document(path).data
        except LoadError:
            continue
        try:
            fast(data)
            fast_valid = True
        except fastjsonschema.JsonSchemaException:
            fast_valid = False
        # Where the two differ, the full check decides, so fast must never pass what full rejects.
        if fast_valid:
            assert full.is_valid(data), path.name
        checked += 1
    assert checked > 50
