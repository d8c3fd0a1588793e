"""Quoting of values for systemd unit files and the ExecStart lines Quadlet makes of them."""

from __future__ import annotations

import re

_SAFE = re.compile(r"[A-Za-z0-9_@+=:,./-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UnsafeValue(ValueError):
    """A value contains a line break or control character, which a unit file cannot carry."""


def word(value: object) -> str:
    """Quote one value as a single word of a systemd command line or Environment= list.

    `%` becomes `%%` and `$` becomes `$$`, because systemd expands specifiers and variables
    in the ExecStart line that Quadlet copies the value into (checked with quadlet 5.4.2,
    which passes both through). A value with any other character outside a plain set is
    wrapped in double quotes with backslash and double quote escaped. Line breaks and
    other control characters raise UnsafeValue: a unit file has no way to carry them.
    """
    text = str(value)
    if _CONTROL.search(text):
        raise UnsafeValue(f"value {text!r} contains a line break or control character")
    text = text.replace("%", "%%").replace("$", "$$")
    if text and _SAFE.fullmatch(text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
