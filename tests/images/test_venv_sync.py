"""venv-sync: the workspace's venv in the home, filled by the real uv from a local wheel."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.images.conftest import uv_binary
from tests.images.workspace_root import ROOTFS
from tests.support import require

VENV_SYNC = ROOTFS / "usr" / "local" / "libexec" / "winalux" / "venv-sync"


def build_wheel(folder: Path, name: str, version: str) -> None:
    """Write a minimal pure-Python wheel whose module prints its version."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": f"VERSION = {version!r}\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
                         "Tag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = "\n".join(record) + "\n"
    with zipfile.ZipFile(folder / f"{name}-{version}-py3-none-any.whl", "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    require(Path("/usr/bin/python3").exists(), "needs /usr/bin/python3, the image's interpreter")
    uv = uv_binary()
    require(uv, "uv not installed (pip install uv)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copy2(str(uv), bin_dir / "uv")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    build_wheel(wheels, "winalux_probe", "1.0")
    build_wheel(wheels, "winalux_extra", "2.0")
    (tmp_path / "home").mkdir()
    yield tmp_path / "home"


def sync(home: Path, libraries: list[str] | str, *args: str) -> subprocess.CompletedProcess:
    text = libraries if isinstance(libraries, str) else json.dumps(libraries)
    env = {
        "HOME": str(home), "PATH": f"{home.parent / 'bin'}:/usr/bin:/bin",
        "WINALUX_LIBRARIES": text, "UV_OFFLINE": "1", "UV_NO_INDEX": "1",
        "UV_FIND_LINKS": str(home.parent / "wheels"), "UV_CACHE_DIR": str(home / ".cache/uv"),
    }
    return subprocess.run([str(VENV_SYNC), *args], capture_output=True, text=True, env=env,
                          timeout=120)


def venv_python(home: Path, code: str) -> str:
    return subprocess.run([str(home / ".venv/bin/python"), "-c", code], capture_output=True,
                          text=True, check=True).stdout.strip()


def test_creates_venv_and_installs(home: Path) -> None:
    result = sync(home, ["winalux_probe==1.0"])
    assert result.returncode == 0, result.stderr
    assert venv_python(home, "import winalux_probe; print(winalux_probe.VERSION)") == "1.0"
    stamp = json.loads((home / ".venv/.winalux-libraries.json").read_text())
    assert stamp["libraries"] == ["winalux_probe==1.0"]


def test_venv_sees_system_packages(home: Path) -> None:
    # The image installs its profile's packages into the system Python. Debian's PyYAML is
    # such a package on this machine.
    system = Path("/usr/lib/python3/dist-packages")
    require((system / "yaml").is_dir(), "python3-yaml not installed system-wide")
    sync(home, [])
    assert venv_python(home, "import yaml; print(yaml.__file__)").startswith(str(system))


def test_unchanged_list_installs_nothing(home: Path) -> None:
    sync(home, ["winalux_probe"])
    stamp = home / ".venv/.winalux-libraries.json"
    before = stamp.stat().st_mtime_ns
    result = sync(home, ["winalux_probe"])
    assert "libraries unchanged (1), nothing to install" in result.stderr
    assert stamp.stat().st_mtime_ns == before


def test_changed_list_installs(home: Path) -> None:
    sync(home, ["winalux_probe"])
    result = sync(home, ["winalux_probe", "winalux_extra"])
    assert "installing 2 libraries" in result.stderr
    assert venv_python(home, "import winalux_extra; print(winalux_extra.VERSION)") == "2.0"


def test_new_python_recreates_venv(home: Path) -> None:
    sync(home, ["winalux_probe"])
    config = home / ".venv/pyvenv.cfg"
    lines = [line for line in config.read_text().splitlines()
             if not line.startswith(("version_info", "version "))]
    config.write_text("\n".join([*lines, "version_info = 3.0.0"]) + "\n")
    result = sync(home, ["winalux_probe"])
    assert "creating the virtual environment" in result.stderr
    assert "installing 1 libraries" in result.stderr


@pytest.mark.parametrize("text", ['{"a": 1}', "[1]", "not json", '["--index-url=x"]'])
def test_invalid_list_rejected(home: Path, text: str) -> None:
    result = sync(home, text)
    assert result.returncode == 1
    assert "WINALUX_LIBRARIES is invalid" in result.stderr


def test_failed_install_keeps_stamp(home: Path) -> None:
    sync(home, ["winalux_probe"])
    result = sync(home, ["winalux_missing"])
    assert result.returncode == 1
    stamp = json.loads((home / ".venv/.winalux-libraries.json").read_text())
    assert stamp["libraries"] == ["winalux_probe"]
