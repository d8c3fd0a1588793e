"""The booted systemd-nspawn guest, shared by the tests of this folder that ask for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import require
from tests.support.guest import Guest, booted_guest, unavailable_reason, unique_name


@pytest.fixture(scope="session")
def guest() -> Iterator[Guest]:
    """Yield one guest with a private network for the test session, and stop it at the end."""
    reason = unavailable_reason()
    require(reason is None, reason or "")
    with booted_guest(unique_name("wx-session")) as booted:
        yield booted
