"""Telling someone that a sync failed: a command of the operator's, or a webhook."""

from __future__ import annotations

import json
import logging
import shlex

from winalux.run import CommandError, run

logger = logging.getLogger(__name__)

TIMEOUT = 20


def notify(error: str, host: str, commit: str | None, command: str | None, url: str | None) -> None:
    """Send error to the configured command and webhook; a failure to notify is only logged."""
    payload = {"event": "sync-failed", "host": host, "commit": commit or "", "error": error}
    if command:
        _run_command(command, payload)
    if url:
        _post(url, payload)


def _run_command(command: str, payload: dict[str, str]) -> None:
    """Run the command with the error on standard input and in WINALUX_SYNC_ERROR."""
    environment = {
        "WINALUX_SYNC_ERROR": payload["error"],
        "WINALUX_SYNC_HOST": payload["host"],
        "WINALUX_SYNC_COMMIT": payload["commit"],
    }
    try:
        run(shlex.split(command), input=payload["error"] + "\n", env=environment, timeout=TIMEOUT)
    except (CommandError, ValueError) as err:
        logger.error("notify command failed: %s", str(err).splitlines()[0])


def _post(url: str, payload: dict[str, str]) -> None:
    """POST the payload as JSON; http and https only."""
    # Imported here: loading urllib.request adds about 13 ms (python -X importtime) to the
    # start-up of every sync, most of which never notify.
    import urllib.request
    from urllib.error import URLError

    if not url.startswith(("http://", "https://")):
        logger.error("notify URL is not http or https; nothing sent")
        return
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "winalux-sync"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            response.read(1024)
    except (URLError, OSError) as err:
        logger.error("notify webhook failed: %s", err)
