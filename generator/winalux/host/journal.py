"""Log lines for journald: one event per line, with a syslog priority prefix journald reads."""

from __future__ import annotations

import logging
import os
import sys

# sd-daemon(3) priorities: a line starting "<N>" is stored at priority N.
_PRIORITIES = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


class JournalFormatter(logging.Formatter):
    """Format a record as "<priority>name: message", with line breaks folded into " | "."""

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record).replace("\n", " | ")
        return f"<{_PRIORITIES.get(record.levelno, 6)}>{message}"


def stderr_is_journal() -> bool:
    """Return whether stderr is the journal stream systemd connected (JOURNAL_STREAM)."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    device, _, inode = stream.partition(":")
    try:
        status = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return f"{status.st_dev}:{status.st_ino}" == f"{device}:{inode}"


def use_journal_format(logger_name: str = "winalux") -> None:
    """Switch the handlers of logger_name to the journal format when stderr is the journal."""
    if not stderr_is_journal():
        return
    for handler in logging.getLogger(logger_name).handlers:
        handler.setFormatter(JournalFormatter("%(name)s: %(message)s"))
