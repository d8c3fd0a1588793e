"""Strict YAML loading that keeps every value as written and where it was written.

PyYAML follows YAML 1.1, which turns `22:22` into 1342 (base 60), `no` into False, `010`
into 8 and `3.10` into 3.1. This loader composes the node tree with a resolver that only
resolves YAML 1.2's core forms, without leading zeros, so such scalars stay strings and the
schema reports them. Floats stay floats, but each value's source text is kept so that an
error can show `3.10` rather than 3.1. Duplicate keys, merge keys, aliases and custom
tags are errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from winalux.spec.problems import Problem

PathKey = tuple[str | int, ...]


class LoadError(Exception):
    """A file cannot be read as strict YAML; `problem` gives where and why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.format())
        self.problem = problem


def _error(
    display: str, line: int, column: int, field: str, value: str, message: str, fix: str
) -> LoadError:
    return LoadError(Problem(display, line, column, field, value, message, fix))


_IMPLICIT = tuple(
    (tag, re.compile(pattern))
    for tag, pattern in (
        ("tag:yaml.org,2002:null", r"(?:~|null|Null|NULL|)"),
        ("tag:yaml.org,2002:bool", r"(?:true|True|TRUE|false|False|FALSE)"),
        ("tag:yaml.org,2002:int", r"[-+]?(?:0|[1-9][0-9]*)"),
        ("tag:yaml.org,2002:float", r"[-+]?(?:0|[1-9][0-9]*)?\.[0-9]+(?:[eE][-+]?[0-9]+)?"),
    )
)


class _CoreResolver(yaml.resolver.BaseResolver):
    """Implicit types of YAML 1.2's core schema, minus octal-looking and base-60 forms."""

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        # Only a plain scalar gets an implicit type; a quoted one is always a string.
        if kind is ScalarNode and implicit[0]:
            for tag, pattern in _IMPLICIT:
                if pattern.fullmatch(value):
                    return tag
            return str(self.DEFAULT_SCALAR_TAG)
        if kind is ScalarNode:
            return str(self.DEFAULT_SCALAR_TAG)
        if kind is SequenceNode:
            return str(self.DEFAULT_SEQUENCE_TAG)
        return str(self.DEFAULT_MAPPING_TAG)


# libyaml's parser is about fifteen times faster than PyYAML's pure-Python one; both apply
# the resolver above. PyYAML's wheels ship libyaml, so the fallback is rarely used.
_Parser: Any
try:
    from yaml.cyaml import CParser as _Parser  # type: ignore[attr-defined]
except ImportError:

    class _Parser(  # type: ignore[no-redef]
        yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer
    ):
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)


class _StrictLoader(_Parser, _CoreResolver):  # type: ignore[misc, valid-type]
    def __init__(self, stream: str) -> None:
        _Parser.__init__(self, stream)
        _CoreResolver.__init__(self)


@dataclass
class Document:
    """A loaded YAML file: its data, and the line and column of every value in it."""

    path: Path
    data: Any
    positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    source: dict[PathKey, str] = field(default_factory=dict)

    def where(self, key: PathKey) -> tuple[int, int]:
        """Return the 1-based line and column of the value at key, or of its nearest parent."""
        while key not in self.positions and key:
            key = key[:-1]
        return self.positions.get(key, (1, 1))

    def written(self, key: PathKey) -> str | None:
        """Return the scalar at key exactly as written in the file, if it was a scalar."""
        return self.source.get(key)


_TAGS: dict[str, Callable[[str], Any]] = {
    "tag:yaml.org,2002:null": lambda text: None,
    "tag:yaml.org,2002:bool": lambda text: text.lower() == "true",
    "tag:yaml.org,2002:int": int,
    "tag:yaml.org,2002:float": float,
    "tag:yaml.org,2002:str": str,
}


def load_document(path: Path, display: str | None = None) -> Document:
    """Load one YAML file strictly; raise LoadError naming the file, line and fix."""
    display = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise _error(
            display,
            1,
            1,
            "",
            "",
            f"file is not UTF-8 text ({err.reason})",
            "save the file as UTF-8",
        ) from err
    return parse_document(text, path, display)


def parse_document(text: str, path: Path, display: str) -> Document:
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = err.problem or err.context or "invalid YAML"
        raise _error(
            display,
            line,
            column,
            "",
            "",
            f"invalid YAML: {message}",
            "fix the YAML syntax at this position",
        ) from err
    except yaml.YAMLError as err:
        raise LoadError(
            Problem(display, 1, 1, "", "", f"invalid YAML: {err}", "fix the YAML syntax")
        ) from err
    finally:
        loader.dispose()

    document = Document(path=path, data=None)
    if node is not None:
        document.data = _convert(node, (), document, display, set())
    return document


def _convert(node: Node, key: PathKey, document: Document, display: str, seen: set[int]) -> Any:
    line, column = node.start_mark.line + 1, node.start_mark.column + 1
    # An alias makes the composer return the anchored node again; reject it before any
    # expansion, so that nested aliases cannot blow up in size.
    if id(node) in seen:
        raise _error(
            display,
            line,
            column,
            format_path(key),
            "",
            "YAML anchors and aliases are not supported",
            "write the value out in full",
        )
    seen.add(id(node))
    document.positions[key] = (line, column)
    if isinstance(node, MappingNode):
        return _convert_mapping(node, key, document, display, seen)
    if isinstance(node, SequenceNode):
        _reject_custom_tag(node, "tag:yaml.org,2002:seq", key, line, column, display)
        return [
            _convert(item, (*key, i), document, display, seen) for i, item in enumerate(node.value)
        ]
    assert isinstance(node, ScalarNode)
    constructor = _TAGS.get(node.tag)
    if constructor is None:
        _reject_custom_tag(node, "tag:yaml.org,2002:str", key, line, column, display)
    document.source[key] = node.value
    assert constructor is not None
    try:
        return constructor(node.value)
    except ValueError as err:
        raise _error(
            display,
            line,
            column,
            format_path(key),
            node.value,
            f"value does not match its tag {node.tag}",
            "remove the tag and write a plain value",
        ) from err


def _convert_mapping(
    node: MappingNode, key: PathKey, document: Document, display: str, seen: set[int]
) -> Any:
    line, column = node.start_mark.line + 1, node.start_mark.column + 1
    _reject_custom_tag(node, "tag:yaml.org,2002:map", key, line, column, display)
    mapping: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key_line, key_column = key_node.start_mark.line + 1, key_node.start_mark.column + 1
        if not isinstance(key_node, ScalarNode):
            raise _error(
                display,
                key_line,
                key_column,
                format_path(key),
                "",
                "keys must be plain names, not lists or mappings",
                "write the key as a plain word",
            )
        if key_node.value == "<<" and not key_node.style:
            raise _error(
                display,
                key_line,
                key_column,
                format_path(key),
                "",
                "merge keys (<<) are not supported",
                "write each key and value out in full",
            )
        name = key_node.value
        if name in mapping:
            first_line = document.positions[(*key, name)][0]
            raise _error(
                display,
                key_line,
                key_column,
                format_path((*key, name)),
                name,
                f"duplicate key (first set on line {first_line})",
                "keep one of the two entries",
            )
        mapping[name] = _convert(value_node, (*key, name), document, display, seen)
    return mapping


def _reject_custom_tag(
    node: Node, expected: str, key: PathKey, line: int, column: int, display: str
) -> None:
    if node.tag != expected:
        raise _error(
            display,
            line,
            column,
            format_path(key),
            str(node.tag),
            "YAML tags are not supported",
            "remove the tag and write a plain value",
        )


def format_path(key: PathKey) -> str:
    """Format a data path as `extra_ports[1]` or `sidecars[0]`."""
    text = ""
    for part in key:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text
