"""Failure notifications to a loopback webhook and a command, and journald log lines."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from winalux.host.journal import JournalFormatter
from winalux.host.notify import notify


class _Recorder(BaseHTTPRequestHandler):
    received: list[dict[str, str]] = []

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        length = int(self.headers["Content-Length"])
        _Recorder.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    _Recorder.received = []
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_webhook_receives_error(webhook: str) -> None:
    notify("commit abc does not validate", "devbox-1", "abc123", None, webhook)
    assert _Recorder.received == [{
        "event": "sync-failed", "host": "devbox-1", "commit": "abc123",
        "error": "commit abc does not validate",
    }]


def test_unreachable_webhook_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        notify("failed", "devbox-1", None, None, "http://127.0.0.1:9/hook")
    assert "notify webhook failed" in caplog.text


def test_non_http_webhook_is_rejected(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    target = tmp_path / "written"
    with caplog.at_level(logging.ERROR):
        notify("failed", "devbox-1", None, None, f"file://{target}")
    assert "not http or https" in caplog.text
    assert not target.exists()


def test_notify_command_gets_stdin_and_env(tmp_path: Path) -> None:
    output = tmp_path / "out.txt"
    command = f"sh -c 'cat > {output}; echo \"$WINALUX_SYNC_COMMIT\" >> {output}'"
    notify("line one\nline two", "devbox-1", "abc123", command, None)
    assert output.read_text() == "line one\nline two\nabc123\n"


def test_failing_notify_command_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        notify("failed", "devbox-1", None, "sh -c 'exit 3'", None)
    assert "notify command failed" in caplog.text


def test_journal_lines_carry_priority() -> None:
    formatter = JournalFormatter("%(name)s: %(message)s")
    record = logging.LogRecord("winalux.host.sync", logging.ERROR, __file__, 1,
                               "sync failed: %s", ("first\nsecond",), None)
    assert formatter.format(record) == "<3>winalux.host.sync: sync failed: first | second"
    record.levelno = logging.INFO
    assert formatter.format(record).startswith("<6>")
