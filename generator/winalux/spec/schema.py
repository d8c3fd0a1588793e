"""The workspace JSON Schema and the translation of its errors into problems."""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterator
from importlib import resources
from typing import TYPE_CHECKING, Any

import fastjsonschema

from winalux.spec.load import Document, PathKey, format_path
from winalux.spec.problems import Problem

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

_JSON_TYPES = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "a mapping",
    type(None): "empty",
}


def schema_text() -> str:
    return resources.files("winalux.spec").joinpath("workspace.schema.json").read_text("utf-8")


@functools.cache
def workspace_schema() -> dict[str, Any]:
    return json.loads(schema_text())  # type: ignore[no-any-return]


def schema_errors(schema: dict[str, Any], data: Any) -> list[ValidationError]:
    """Return every error of data against a draft 2020-12 schema, in jsonschema's terms.

    fastjsonschema's compiled check handles the common case, valid data, about twenty
    times faster. Only invalid data pays for importing jsonschema and its full report,
    which lists every error where fastjsonschema stops at the first.
    """
    try:
        _compiled(schema)(data)
    except fastjsonschema.JsonSchemaException:
        pass
    else:
        return []
    import jsonschema

    return list(jsonschema.Draft202012Validator(schema).iter_errors(data))


_COMPILED: dict[int, tuple[dict[str, Any], Any]] = {}


def _compiled(schema: dict[str, Any]) -> Any:
    # Keyed by identity: the schemas are module-level constants, kept alive in the entry.
    entry = _COMPILED.get(id(schema))
    if entry is None or entry[0] is not schema:
        entry = (schema, fastjsonschema.compile(schema))
        _COMPILED[id(schema)] = entry
    return entry[1]


def schema_problems(document: Document, display: str) -> list[Problem]:
    """Return one problem for every schema error in the document."""
    problems: dict[Problem, None] = {}
    for error in schema_errors(workspace_schema(), document.data):
        # jsonschema reports `required` once per missing field; each translation lists all.
        problems.update(dict.fromkeys(_translate(error, document, display)))
    return list(problems)


def _translate(error: ValidationError, document: Document, display: str) -> Iterator[Problem]:
    key: PathKey = tuple(error.absolute_path)
    line, column = document.where(key)
    value = _shown_value(document, key, error.instance)
    fix = _fix_for(key)
    keyword = error.validator

    if keyword == "required":
        for missing in _missing_fields(error):
            fix = _fix_for((missing,)) or "add it"
            yield Problem(
                display,
                line,
                column,
                missing,
                "",
                "required field is missing",
                f"add {missing}: ...; {fix}",
            )
    elif keyword == "additionalProperties":
        yield from _unknown_fields(error, document, display)
    elif keyword == "type":
        yield Problem(
            display, line, column, format_path(key), value, _type_message(error, document, key), fix
        )
    elif keyword == "enum":
        allowed = ", ".join(str(option) for option in error.validator_value)
        yield Problem(
            display, line, column, format_path(key), value, f"must be one of: {allowed}", fix
        )
    elif keyword in ("minimum", "maximum", "exclusiveMinimum"):
        schema = error.schema
        high = schema.get("maximum")
        if "exclusiveMinimum" in schema:
            bounds = f"greater than {schema['exclusiveMinimum']} and at most {high}"
        else:
            bounds = f"from {schema.get('minimum')} to {high}"
        yield Problem(
            display, line, column, format_path(key), value, f"out of range: must be {bounds}", fix
        )
    elif keyword == "uniqueItems":
        yield Problem(
            display,
            line,
            column,
            format_path(key),
            "",
            "the list contains the same item twice",
            "remove the repeated item",
        )
    elif keyword == "pattern":
        yield Problem(display, line, column, format_path(key), value, "invalid format", fix)
    elif keyword in ("maxLength", "minLength"):
        yield Problem(
            display,
            line,
            column,
            format_path(key),
            value,
            f"invalid length: {keyword} is {error.validator_value}",
            fix,
        )
    else:
        yield Problem(display, line, column, format_path(key), value, error.message, fix)


def _missing_fields(error: ValidationError) -> list[str]:
    return [str(name) for name in error.validator_value if name not in error.instance]


def _unknown_fields(error: ValidationError, document: Document, display: str) -> Iterator[Problem]:
    known = sorted(error.schema.get("properties", {}))
    allowed = error.schema.get("properties", {})
    parent: PathKey = tuple(error.absolute_path)
    for name in sorted(error.instance):
        if name in allowed:
            continue
        line, column = document.where((*parent, name))
        close = difflib.get_close_matches(name, known, n=1)
        fix = f"did you mean {close[0]}?" if close else "remove it"
        yield Problem(
            display,
            line,
            column,
            format_path((*parent, name)),
            "",
            f"unknown field (known fields: {', '.join(known)})",
            fix,
        )


def _type_message(error: ValidationError, document: Document, key: PathKey) -> str:
    expected = error.validator_value
    expected_text = " or ".join(expected) if isinstance(expected, list) else expected
    actual = _JSON_TYPES.get(type(error.instance), type(error.instance).__name__)
    written = document.written(key)
    message = f"must be {_article(expected_text)}, not {actual}"
    if expected_text == "string" and written is not None and not isinstance(error.instance, str):
        message += f" (YAML read {written} as {actual}: put it in quotes to keep it as text)"
    if expected_text == "boolean" and isinstance(error.instance, str):
        message += " (only true and false are booleans here; yes, no, on and off are text)"
    if expected_text in ("integer", "number") and isinstance(error.instance, str):
        message += " (numbers are written without quotes and without leading zeros)"
    return message


def _article(type_name: str) -> str:
    return {"integer": "an integer", "array": "a list", "object": "a mapping"}.get(
        type_name, f"a {type_name}"
    )


def _fix_for(key: PathKey) -> str:
    """Return the schema's x-fix text for the field at key."""
    schema: dict[str, Any] = workspace_schema()
    for part in key:
        if isinstance(part, int):
            schema = schema.get("items", {})
        else:
            schema = schema.get("properties", {}).get(part, {})
    return str(schema.get("x-fix", ""))


def _shown_value(document: Document, key: PathKey, instance: Any) -> str:
    written = document.written(key)
    if written is not None:
        return written
    if isinstance(instance, (dict, list)):
        return ""
    return str(instance)
