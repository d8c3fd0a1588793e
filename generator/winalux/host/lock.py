"""The lock that lets only one sync, token change or purge run at a time for a user.

It is an flock(2) on a file in the agent's state folder: the kernel drops it when the
holding process exits, killed or not, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

POLL_INTERVAL = 0.2


class LockBusy(Exception):
    """Another process kept the lock for longer than the caller would wait."""

    def __init__(self, path: Path, holder: str, waited: float) -> None:
        self.path = path
        self.holder = holder
        self.waited = waited
        who = f"process {holder}" if holder else "another process"
        super().__init__(
            f"another sync is running ({who} holds {path}); waited {waited:g} s. "
            "Run again later, or pass a longer --wait"
        )


@contextlib.contextmanager
def hold(path: Path, wait: float) -> Iterator[None]:
    """Hold the lock at path, waiting at most `wait` seconds for another holder to finish."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # O_NOFOLLOW: a link planted at the lock's path must not make the sync truncate its target.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        _acquire(fd, path, wait)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        # Closing the descriptor releases the flock.
        os.close(fd)


def _acquire(fd: int, path: Path, wait: float) -> None:
    deadline = time.monotonic() + wait
    logged = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockBusy(path, _holder(fd), wait) from None
        if not logged:
            holder = _holder(fd)
            logger.info("lock %s is held by process %s; waiting up to %g s", path, holder, wait)
            logged = True
        time.sleep(POLL_INTERVAL)


def _holder(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode(errors="replace").strip()
    except OSError:
        return ""
