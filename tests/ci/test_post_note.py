"""ci/post-note.sh against a local stand-in for GitLab's notes API."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

import pytest

from tests.ci.notes_server import NotesApi, notes_api
from tests.support import require
from winalux.run import Result, run

SCRIPT = Path(__file__).resolve().parents[2] / "ci" / "post-note.sh"
MARKER = "<!-- winalux-plan -->"
NOTES = "/api/v4/projects/42/merge_requests/7/notes"


@pytest.fixture(autouse=True)
def _curl() -> None:
    require(shutil.which("curl"), "curl not found: apt-get install curl")


@pytest.fixture
def token() -> str:
    return secrets.token_hex(20)


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    path = tmp_path / "plan.md"
    path.write_text(f"{MARKER}\n### Winalux plan\n\n| `dave` | created & started |\n",
                    encoding="utf-8")
    return path


def post(plan_file: Path, url: str, token: str, **overrides: str) -> Result:
    env = {
        "WINALUX_PLAN_NOTE_TOKEN": token,
        "WINALUX_GITLAB_API_URL": url,
        "CI_PROJECT_ID": "42",
        "CI_MERGE_REQUEST_IID": "7",
        **overrides,
    }
    return run([str(SCRIPT), str(plan_file)], env=env, check=False, timeout=60, secrets=[token])


def test_post_note_creates_note(plan_file: Path, token: str) -> None:
    api = NotesApi(token=token)
    with notes_api(api) as url:
        result = post(plan_file, url, token)
    assert result.returncode == 0, result.stderr
    assert [(r.method, r.path) for r in api.requests] == [
        ("GET", "/api/v4/user"), ("GET", NOTES), ("POST", NOTES)]
    assert api.notes[0]["body"] == plan_file.read_text(encoding="utf-8")
    assert "posted a note on merge request !7" in result.stderr


def test_post_note_sends_token_header(plan_file: Path, token: str) -> None:
    api = NotesApi(token=token)
    with notes_api(api) as url:
        post(plan_file, url, token)
    assert api.requests
    assert all(request.token == token for request in api.requests)


def test_post_note_never_prints_token(plan_file: Path, token: str) -> None:
    api = NotesApi(token=token, fail_status=500)
    with notes_api(api) as url:
        failed = post(plan_file, url, token)
    api = NotesApi(token=token)
    with notes_api(api) as url:
        passed = post(plan_file, url, token)
    for result in (failed, passed):
        assert token not in result.stdout
        assert token not in result.stderr


def test_post_note_updates_own_note(plan_file: Path, token: str) -> None:
    api = NotesApi(token=token, notes=[
        {"id": 11, "body": f"{MARKER}\nold plan", "author": {"username": "plan-bot"}},
        {"id": 12, "body": "looks good to me", "author": {"username": "plan-bot"}},
    ])
    with notes_api(api) as url:
        result = post(plan_file, url, token)
    assert result.returncode == 0, result.stderr
    assert api.requests[-1].method == "PUT"
    assert api.requests[-1].path == f"{NOTES}/11"
    assert api.notes[0]["body"] == plan_file.read_text(encoding="utf-8")
    assert len(api.notes) == 2
    assert "updated note 11" in result.stderr


def test_post_note_ignores_others_notes(plan_file: Path, token: str) -> None:
    # A reviewer quoting the plan must not have their note overwritten.
    api = NotesApi(token=token, notes=[
        {"id": 11, "body": f"{MARKER}\nquoted plan", "author": {"username": "reviewer"}},
    ])
    with notes_api(api) as url:
        result = post(plan_file, url, token)
    assert result.returncode == 0, result.stderr
    assert api.requests[-1].method == "POST"
    assert api.notes[0]["body"] == f"{MARKER}\nquoted plan"
    assert len(api.notes) == 2


def test_post_note_fails_on_rejected_token(plan_file: Path, token: str) -> None:
    api = NotesApi(token=token)
    with notes_api(api) as url:
        result = post(plan_file, url, "wrong-" + token)
    assert result.returncode == 1
    assert "failed with HTTP status 401" in result.stderr
    assert api.notes == []


def test_post_note_fails_on_server_error(plan_file: Path, token: str) -> None:
    api = NotesApi(token=token, fail_status=500)
    with notes_api(api) as url:
        result = post(plan_file, url, token)
    assert result.returncode == 1
    assert f"GET {url}/user failed with HTTP status 500" in result.stderr


def test_post_note_fails_when_unreachable(plan_file: Path, token: str) -> None:
    # Nothing listens on port 9 of the loopback address, so the connection is refused.
    result = post(plan_file, "http://127.0.0.1:9/api/v4", token)
    assert result.returncode == 1
    assert "curl could not complete the request" in result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"WINALUX_PLAN_NOTE_TOKEN": ""}, "WINALUX_PLAN_NOTE_TOKEN is not set"),
        ({"CI_PROJECT_ID": "group/project"}, "CI_PROJECT_ID must be a project number"),
        ({"CI_MERGE_REQUEST_IID": ""}, "CI_MERGE_REQUEST_IID must be a number"),
        ({"WINALUX_GITLAB_API_URL": "", "CI_API_V4_URL": ""}, "nor CI_API_V4_URL is set"),
    ],
)
def test_post_note_rejects_bad_settings(plan_file: Path, token: str, overrides: dict[str, str],
                                        message: str) -> None:
    api = NotesApi(token=token)
    with notes_api(api) as url:
        result = post(plan_file, url, token, **overrides)
    assert result.returncode == 1
    assert message in result.stderr
    assert api.requests == []


def test_post_note_requires_file(tmp_path: Path, token: str) -> None:
    result = post(tmp_path / "missing.md", "http://127.0.0.1:9/api/v4", token)
    assert result.returncode == 1
    assert "missing.md not found" in result.stderr
