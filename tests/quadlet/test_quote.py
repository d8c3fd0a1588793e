"""Quoting of values for systemd unit files."""

from __future__ import annotations

import pytest

from winalux.quadlet.quote import UnsafeValue, word


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "plain"),
        ("KEY=value", "KEY=value"),
        ("a b", '"a b"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("50%", '"50%%"'),
        ("$HOME", '"$$HOME"'),
        ("", '""'),
        ('["a","b"]', '"[\\"a\\",\\"b\\"]"'),
        ("ünïcode", '"ünïcode"'),
    ],
)
def test_word_quotes(value: str, expected: str) -> None:
    assert word(value) == expected


@pytest.mark.parametrize(
    "value", ["line\nbreak", "carriage\rreturn", "nul\x00", "tab\there", "del\x7f"]
)
def test_word_rejects_control_characters(value: str) -> None:
    with pytest.raises(UnsafeValue):
        word(value)
