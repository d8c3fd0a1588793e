"""Rendered units run through podman's real quadlet generator in dry-run mode.

Quadlet's output changes between podman releases, so these tests check what it contains
(ExecStart arguments, dependencies), never its bytes.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tests.support.repo import EXAMPLES, PROJECT, make_repository
from winalux.quadlet import render
from winalux.quadlet.dryrun import QuadletError, dry_run, parse_services
from winalux.quadlet.write import write_units
from winalux.spec import WorkspaceNames, load_repository


def _services(repository_root: Path, out: Path, quadlet: Path) -> dict[str, str]:
    write_units(render(load_repository(repository_root)), out)
    return dry_run(out, quadlet)


def _exec_start(unit: str, key: str = "ExecStart=") -> list[str]:
    lines = [line for line in unit.splitlines() if line.startswith(key)]
    assert len(lines) == 1, f"expected one {key} line, got {lines}"
    return shlex.split(lines[0][len(key) :])


@pytest.fixture(scope="module")
def example_services(tmp_path_factory: pytest.TempPathFactory, quadlet: Path) -> dict[str, str]:
    return _services(PROJECT, tmp_path_factory.mktemp("units"), quadlet)


def test_every_unit_becomes_service(example_services: dict[str, str]) -> None:
    units = render(load_repository(PROJECT))
    assert len(example_services) == len(units.files)


def test_ports_published_only_by_pod(example_services: dict[str, str]) -> None:
    for name, unit in example_services.items():
        if name.endswith("-pod.service"):
            continue
        argv = _exec_start(unit)
        assert "--publish" not in argv, name
        assert "-p" not in argv, name
    pod_create = _exec_start(example_services["winalux-alice-pod.service"], "ExecStartPre=")
    published = [pod_create[i + 1] for i, arg in enumerate(pod_create) if arg == "--publish"]
    assert published == ["2225:2222", "8002:8000", "7430:7420", "7439:7419", "11211:11211"]
    assert pod_create[pod_create.index("--name") + 1] == "winalux-alice"


def test_workspace_container_wiring(example_services: dict[str, str]) -> None:
    names = WorkspaceNames("alice")
    unit = example_services[names.container_service]
    argv = _exec_start(unit)
    assert argv[argv.index("--name") + 1] == names.container_name
    assert "winalux-alice.home:/home/developer" in argv
    assert "winalux-alice.sshd:/var/lib/winalux/sshd" in argv
    secret = argv[argv.index("--secret") + 1]
    assert secret.startswith("winalux-alice.token,type=mount,target=/run/secrets/winalux-token,")
    assert "mode=0400" in secret
    assert f"BindsTo={names.pod_service}" in unit
    assert "Requires=winalux-alice.home-volume.service" in unit
    assert "registry.example.com/platform/winalux-web:0.1.0" in argv
    assert "--cap-drop" in argv


def test_pod_limits_reach_pod_create(example_services: dict[str, str]) -> None:
    pod_create = _exec_start(example_services["winalux-carol-pod.service"], "ExecStartPre=")
    assert "--memory=8192m" in pod_create
    assert "--cpus=2" in pod_create


def test_sidecar_joins_pod_with_own_volume(example_services: dict[str, str]) -> None:
    unit = example_services["winalux-carol.postgres.service"]
    argv = _exec_start(unit)
    assert "BindsTo=winalux-carol-pod.service" in unit
    assert "winalux-carol.postgres-data:/var/lib/postgresql/data" in argv
    assert "winalux-carol.token,type=env,target=POSTGRES_PASSWORD" in argv
    assert "--publish" not in argv


def test_home_volume_has_explicit_name(example_services: dict[str, str]) -> None:
    argv = _exec_start(example_services["winalux-bob.home-volume.service"])
    assert argv[-1] == "winalux-bob.home"
    assert "create" in argv


def test_special_characters_survive_into_exec_start(tmp_path: Path, quadlet: Path) -> None:
    root = make_repository(tmp_path / "repo", [EXAMPLES / "valid" / "ecdsa-key.yml"])
    services = _services(root, tmp_path / "out", quadlet)
    argv = _exec_start(services["winalux-ecdsa-key.workspace.service"])
    key_values = [arg for arg in argv if arg.startswith("WINALUX_PUBLIC_KEY=")]
    assert len(key_values) == 1
    # systemd turns %% into % and $$ into $ when it runs the line.
    assert key_values[0].endswith('percent%%50 $$HOME \\ "quoted"')


def test_quadlet_suffix_names_stay_distinct(tmp_path: Path, quadlet: Path) -> None:
    folder = EXAMPLES / "sets" / "valid" / "quadlet-suffix-names"
    root = make_repository(tmp_path / "repo", sorted(folder.iterdir()))
    services = _services(root, tmp_path / "out", quadlet)
    assert "winalux-alice-pod.service" in services
    assert "winalux-alice-pod-pod.service" in services
    assert "winalux-alice-pod.workspace.service" in services
    assert "winalux-alice.redis.service" in services
    assert "winalux-alice-redis.workspace.service" in services
    assert "winalux-alice.home-volume.service" in services
    assert "winalux-alice-home-volume.workspace.service" in services
    units = render(load_repository(root))
    assert len(services) == len(units.files)


def test_quadlet_rejection_is_reported(tmp_path: Path, quadlet: Path) -> None:
    (tmp_path / "broken.container").write_text("[Container]\nNoSuchKey=1\n")
    with pytest.raises(QuadletError, match="unsupported key 'NoSuchKey'"):
        dry_run(tmp_path, quadlet)


def test_parse_services_splits_blocks() -> None:
    output = "---a.service---\n[Unit]\nX=1\n\n---b-pod.service---\n[Service]\nY=2\n"
    services = parse_services(output)
    assert services == {"a.service": "[Unit]\nX=1\n", "b-pod.service": "[Service]\nY=2\n"}


def test_extra_port_address_reaches_publish(tmp_path: Path, quadlet: Path) -> None:
    root = make_repository(tmp_path / "repo", [EXAMPLES / "valid" / "full-web.yml"])
    services = _services(root, tmp_path / "out", quadlet)
    pod_create = _exec_start(services["winalux-full-web-pod.service"], "ExecStartPre=")
    published = [pod_create[i + 1] for i, arg in enumerate(pod_create) if arg == "--publish"]
    assert "127.0.0.1:7001:7001" in published
    assert "5353:53/udp" in published
    assert "--exit-policy=continue" in pod_create
