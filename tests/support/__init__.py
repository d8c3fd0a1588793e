"""Helpers shared by the test suite."""

from __future__ import annotations

import os

import pytest

# CI sets this so that a test which cannot reach a real component fails instead of skipping.
STRICT = os.environ.get("WINALUX_TESTS_STRICT") == "1"


def require(condition: object, reason: str) -> None:
    """Skip the calling test with `reason` unless `condition` holds; fail instead under CI."""
    if condition:
        return
    if STRICT:
        pytest.fail(f"required component missing (WINALUX_TESTS_STRICT=1): {reason}")
    pytest.skip(reason)
