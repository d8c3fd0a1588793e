"""Host checks against prepared file trees, the real podman lookup, and real sockets."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from winalux.host import doctor
from winalux.host.podman import Podman

USER = "dev"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A file tree with everything a host needs, for the checks to read under Facts.root."""
    files = {
        "sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory pids\n",
        f"var/lib/systemd/linger/{USER}": "",
        "etc/subuid": f"other:100000:65536\n{USER}:165536:65536\n",
        "etc/subgid": f"{USER}:165536:65536\n",
        "usr/bin/pasta": "",
        "dev/net/tun": "",
        "proc/sys/net/ipv4/ip_unprivileged_port_start": "1024\n",
        "usr/libexec/podman/quadlet": "",
        "usr/lib/systemd/user-generators/podman-user-generator": "",
    }
    for relative, text in files.items():
        path = tmp_path / "root" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path / "root"


@pytest.fixture
def runtime_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "run-user"
    folder.mkdir(mode=0o700)
    bus = socket.socket(socket.AF_UNIX)
    bus.bind(str(folder / "bus"))
    yield folder
    bus.close()


def _facts(root: Path, runtime_dir: Path | None = None, **changes: object) -> doctor.Facts:
    environ = {"XDG_RUNTIME_DIR": str(runtime_dir)} if runtime_dir else {}
    values: dict[str, object] = {"root": root, "user": USER, "uid": os.getuid(), "environ": environ}
    values.update(changes)
    return doctor.Facts(**values)  # type: ignore[arg-type]


def test_prepared_host_passes(root: Path, runtime_dir: Path) -> None:
    facts = _facts(root, runtime_dir, ports=(2222, 8000))
    for check in doctor.CHECKS[1:]:
        result = check(facts)
        assert result.ok, result


def test_missing_podman_says_how_to_fix(root: Path) -> None:
    result = doctor.check_podman(_facts(root, podman=Podman(binary="podman-not-installed")))
    assert not result.ok
    assert "not found" in result.detail
    assert "podman 5.0" in result.fix


def test_cgroup_v1_fails(root: Path) -> None:
    (root / "sys/fs/cgroup/cgroup.controllers").unlink()
    result = doctor.check_cgroup_v2(_facts(root))
    assert not result.ok
    assert "systemd.unified_cgroup_hierarchy=1" in result.fix


def test_linger_missing_fails(root: Path) -> None:
    (root / f"var/lib/systemd/linger/{USER}").unlink()
    result = doctor.check_linger(_facts(root))
    assert not result.ok
    assert result.fix == f"sudo loginctl enable-linger {USER}"


def test_short_subuid_range_fails(root: Path) -> None:
    (root / "etc/subgid").write_text(f"{USER}:165536:1000\n")
    result = doctor.check_subordinate_ids(_facts(root))
    assert not result.ok
    assert "/etc/subgid gives dev 1000 ids" in result.detail
    assert "usermod --add-subuids" in result.fix


def test_subuid_by_uid_counts(root: Path) -> None:
    uid = os.getuid()
    (root / "etc/subuid").write_text(f"{uid}:100000:65536\n")
    (root / "etc/subgid").write_text(f"{uid}:100000:65536\n")
    assert doctor.check_subordinate_ids(_facts(root, user="someone")).ok


def test_no_network_helper_fails(root: Path) -> None:
    (root / "usr/bin/pasta").unlink()
    result = doctor.check_network(_facts(root))
    assert not result.ok
    assert "passt" in result.fix


def test_missing_tun_fails(root: Path) -> None:
    (root / "dev/net/tun").unlink()
    assert "modprobe tun" in doctor.check_network(_facts(root)).fix


def test_low_port_fails(root: Path) -> None:
    result = doctor.check_ports(_facts(root, ports=(2222, 80, 443)))
    assert not result.ok
    assert "ports 80, 443 are below 1024" in result.detail
    assert "ip_unprivileged_port_start=80" in result.fix


def test_missing_quadlet_fails(root: Path) -> None:
    (root / "usr/libexec/podman/quadlet").unlink()
    result = doctor.check_quadlet(_facts(root))
    assert not result.ok
    assert "quadlet binary not found" in result.detail


def test_runtime_dir_unset_fails(root: Path) -> None:
    result = doctor.check_runtime_dir(_facts(root))
    assert not result.ok
    assert "XDG_RUNTIME_DIR=/run/user/" in result.fix


def test_runtime_dir_of_other_user_fails(root: Path, runtime_dir: Path) -> None:
    result = doctor.check_runtime_dir(_facts(root, runtime_dir, uid=os.getuid() + 1))
    assert not result.ok
    assert "not a folder owned by uid" in result.detail


def test_bus_file_not_socket_fails(root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "fake-run"
    folder.mkdir()
    (folder / "bus").write_text("")
    result = doctor.check_user_bus(_facts(root, folder))
    assert not result.ok
    assert "no socket at" in result.detail


def test_image_check_without_podman_warns(root: Path) -> None:
    facts = _facts(root, podman=Podman(binary="podman-not-installed"))
    result = doctor.check_image(facts, "localhost/base:1")
    assert not result.ok
    assert not result.required
    assert "podman login" in result.fix
