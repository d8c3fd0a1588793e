"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import require
from winalux.quadlet.dryrun import find_quadlet


@pytest.fixture(scope="session")
def quadlet() -> Path:
    """Return the quadlet binary fetched by ci/fetch-quadlet.sh, or skip without one."""
    binary = find_quadlet()
    require(
        binary is not None and binary.exists(),
        "podman's quadlet binary not found: run ci/fetch-quadlet.sh",
    )
    assert binary is not None
    return binary
