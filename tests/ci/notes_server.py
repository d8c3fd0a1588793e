"""A stand-in for the part of GitLab's REST API that ci/post-note.sh calls, on 127.0.0.1.

The tests cannot reach a GitLab server, so this one records each request and responds to
the four calls the script makes. They read the token's user and the merge request's notes,
add a note and edit a note. A request without the expected PRIVATE-TOKEN header gets 401, as
from GitLab.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

NOTES_PATH = re.compile(r"^/api/v4/projects/(\d+)/merge_requests/(\d+)/notes(?:/(\d+))?$")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    token: str | None
    form: dict[str, list[str]]


@dataclass
class NotesApi:
    """The server's responses and the requests it received."""

    token: str
    username: str = "plan-bot"
    notes: list[dict[str, Any]] = field(default_factory=list)
    # When set, the server responds to every request with this HTTP status and an error body.
    fail_status: int | None = None
    requests: list[Request] = field(default_factory=list)
    next_id: int = 100

    def handle(self, request: Request) -> tuple[int, Any]:
        self.requests.append(request)
        if self.fail_status is not None:
            return self.fail_status, {"message": "failure requested by the test"}
        if request.token is None or not hmac.compare_digest(request.token, self.token):
            return 401, {"message": "401 Unauthorized"}
        if request.path == "/api/v4/user" and request.method == "GET":
            return 200, {"id": 7, "username": self.username}
        match = NOTES_PATH.match(request.path)
        if not match:
            return 404, {"message": "404 Not Found"}
        return self._notes(request, match.group(3))

    def _notes(self, request: Request, note_id: str | None) -> tuple[int, Any]:
        if request.method == "GET" and note_id is None:
            return 200, list(reversed(self.notes))
        body = request.form.get("body", [""])[0]
        if request.method == "POST" and note_id is None:
            note = {"id": self.next_id, "body": body, "author": {"username": self.username}}
            self.next_id += 1
            self.notes.append(note)
            return 201, note
        if request.method == "PUT" and note_id is not None:
            for note in self.notes:
                if note["id"] == int(note_id):
                    note["body"] = body
                    return 200, note
            return 404, {"message": "404 Note Not Found"}
        return 405, {"message": "405 Method Not Allowed"}


def _handler(api: NotesApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8") if length else ""
            request = Request(self.command, url.path, parse_qs(url.query),
                              self.headers.get("PRIVATE-TOKEN"), parse_qs(raw))
            status, payload = api.handle(request)
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def notes_api(api: NotesApi) -> Iterator[str]:
    """Serve api on a free port of 127.0.0.1; yield the API base URL ending in /api/v4."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v4"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
