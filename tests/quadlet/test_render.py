"""Rendering of workspaces into Quadlet units: goldens, determinism, writing, self-check."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.support.repo import PROJECT, make_repository, workspace_text
from winalux.quadlet import RenderError, render
from winalux.quadlet.check import check_render
from winalux.quadlet.render import HEADER_PREFIX, Render
from winalux.quadlet.write import WriteConflict, write_units
from winalux.spec import load_repository

GOLDEN = PROJECT / "tests" / "golden"


def test_examples_match_golden_files() -> None:
    """Set WINALUX_UPDATE_GOLDEN=1 to rewrite tests/golden after an intended change."""
    units = render(load_repository(PROJECT))
    if os.environ.get("WINALUX_UPDATE_GOLDEN") == "1":
        shutil.rmtree(GOLDEN, ignore_errors=True)
        GOLDEN.mkdir()
        for name, text in units.files.items():
            (GOLDEN / name).write_text(text, encoding="utf-8")
    golden = {path.name: path.read_bytes() for path in sorted(GOLDEN.iterdir())}
    rendered = {name: text.encode("utf-8") for name, text in units.files.items()}
    assert sorted(rendered) == sorted(golden)
    for name, data in rendered.items():
        assert data == golden[name], f"{name} differs from tests/golden/{name}"


def test_render_is_deterministic(tmp_path: Path) -> None:
    first = render(load_repository(PROJECT)).files
    copy = tmp_path / "copy"
    shutil.copytree(PROJECT / "workspaces", copy / "workspaces")
    shutil.copytree(PROJECT / "templates", copy / "templates")
    shutil.copytree(PROJECT / "images", copy / "images")
    # Files listed in another order must not change a byte.
    for path in sorted((copy / "workspaces").iterdir(), reverse=True):
        os.utime(path, (1, 1))
    second = render(load_repository(copy)).files
    assert first == second


def test_every_unit_has_header_naming_source() -> None:
    units = render(load_repository(PROJECT))
    for workspace, files in units.workspaces.items():
        for name in files:
            first_line = units.files[name].splitlines()[0]
            assert first_line.startswith(HEADER_PREFIX + f"workspaces/{workspace}.yml;")


def test_host_filter_keeps_only_that_host(tmp_path: Path) -> None:
    root = make_repository(tmp_path)
    (root / "workspaces" / "alpha.yml").write_text(workspace_text("alpha"))
    (root / "workspaces" / "beta.yml").write_text(workspace_text("beta", host="devbox-2"))
    repository = load_repository(root)
    assert list(render(repository, "devbox-2").workspaces) == ["beta"]
    assert list(render(repository, "devbox-3").workspaces) == []
    assert list(render(repository).workspaces) == ["alpha", "beta"]


def test_write_reports_status_and_keeps_unchanged(tmp_path: Path) -> None:
    units = render(load_repository(PROJECT))
    out = tmp_path / "out"
    first = write_units(units, out)
    assert set(first.values()) == {"create"}
    before = {path.name: path.stat().st_mtime_ns for path in out.iterdir()}
    inodes = {path.name: path.stat().st_ino for path in out.iterdir()}
    second = write_units(units, out)
    assert set(second.values()) == {"same"}
    assert {path.name: path.stat().st_mtime_ns for path in out.iterdir()} == before
    assert {path.name: path.stat().st_ino for path in out.iterdir()} == inodes


def test_write_updates_and_removes_only_own_files(tmp_path: Path) -> None:
    units = render(load_repository(PROJECT))
    out = tmp_path / "out"
    write_units(units, out)
    foreign = out / "mine.container"
    foreign.write_text("[Container]\nImage=localhost/mine:1\n")
    smaller = Render(
        files={name: text for name, text in units.files.items() if "bob" not in name},
        workspaces={k: v for k, v in units.workspaces.items() if k != "bob"},
    )
    statuses = write_units(smaller, out)
    assert statuses["winalux-bob.pod"] == "remove"
    assert not (out / "winalux-bob.pod").exists()
    assert foreign.exists()
    assert "mine.container" not in statuses


def test_write_refuses_to_overwrite_foreign_file(tmp_path: Path) -> None:
    units = render(load_repository(PROJECT))
    out = tmp_path / "out"
    out.mkdir()
    (out / "winalux-bob.pod").write_text("[Pod]\n")
    with pytest.raises(WriteConflict, match="winalux-bob.pod"):
        write_units(units, out)
    assert (out / "winalux-bob.pod").read_text() == "[Pod]\n"


def test_written_files_are_not_world_writable(tmp_path: Path) -> None:
    write_units(render(load_repository(PROJECT)), tmp_path)
    for path in tmp_path.iterdir():
        assert path.stat().st_mode & 0o002 == 0


def test_published_ports_only_on_pod() -> None:
    units = render(load_repository(PROJECT))
    for name, text in units.files.items():
        publishes = [line for line in text.splitlines() if line.startswith("PublishPort=")]
        if name.endswith(".pod"):
            assert publishes
        else:
            assert publishes == [], name
    alice = units.files["winalux-alice.pod"]
    for mapping in ("2225:2222", "8002:8000", "7430:7420", "7439:7419", "11211:11211"):
        assert f"PublishPort={mapping}\n" in alice


def _broken(units: Render, name: str, old: str, new: str) -> Render:
    files = dict(units.files)
    assert old in files[name]
    files[name] = files[name].replace(old, new)
    return Render(files=files, workspaces=units.workspaces)


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        (
            "winalux-bob.workspace.container",
            "Pod=winalux-bob.pod",
            "Pod=winalux-nobody.pod",
            "Pod=winalux-nobody.pod is not part of the render",
        ),
        (
            "winalux-bob.workspace.container",
            "Volume=winalux-bob.home.volume:",
            "Volume=winalux-bob.data.volume:",
            "names winalux-bob.data.volume, which is not part of the render",
        ),
        (
            "winalux-bob.workspace.container",
            "Secret=winalux-bob.token,",
            "Secret=winalux-alice.token,",
            "is not the workspace's own token secret",
        ),
        (
            "winalux-bob.workspace.container",
            ":/var/lib/winalux/sshd",
            ":/home/developer",
            "mounts /home/developer, already used by",
        ),
        (
            "winalux-bob.pod",
            "PublishPort=2224:2222",
            "PublishPort=2224-2222",
            "PublishPort=2224-2222 is not host:container",
        ),
        (
            "winalux-bob.workspace.container",
            "Label=",
            "PublishPort=9999:9999\nLabel=",
            "PublishPort= is not allowed in [Container] of a .container unit",
        ),
        (
            "winalux-bob.pod",
            HEADER_PREFIX,
            "# hand-written ",
            "the first line is not the winalux header",
        ),
        (
            "winalux-bob.workspace.container",
            "Label=",
            "  Secret = other-secret\nLabel=",
            "Secret=other-secret is not the workspace's own token secret",
        ),
        (
            "winalux-bob.workspace.container",
            "Label=",
            "Volume = foo:/home/developer\nLabel=",
            "mounts /home/developer, already used by",
        ),
        (
            "winalux-bob.pod",
            "PublishPort=2224:2222",
            "PublishPort = 22-22",
            "PublishPort=22-22 is not host:container",
        ),
        (
            "winalux-bob.workspace.container",
            "Label=",
            "Volume=%h:/mnt\nLabel=",
            "Volume=%h:/mnt is not allowed",
        ),
        (
            "winalux-bob.workspace.container",
            "Label=",
            "Volume=/home/dev/.local/state/winalux/telemetry/bob:/run/x\nLabel=",
            "is not allowed: sources are the render's .volume units",
        ),
        (
            "winalux-bob.workspace.container",
            "ExecStartPre=mkdir -p",
            "ExecStartPre=podman volume rm -a\nExecStartPre=mkdir -p",
            "ExecStartPre=podman volume rm -a is not allowed",
        ),
        (
            "winalux-bob.pod",
            "--exit-policy=continue",
            "--exit-policy=continue --privileged",
            "PodmanArgs flag --privileged is not allowed",
        ),
        (
            "winalux-bob.workspace.container",
            "Label=",
            "Privileged=true\nLabel=",
            "Privileged= is not allowed in [Container]",
        ),
        (
            "winalux-bob.workspace.container",
            "[Service]",
            "[X-Extra]\nKey=1\n[Service]",
            "section [X-Extra] is not allowed",
        ),
        (
            "winalux-bob.workspace.container",
            "NoNewPrivileges=true",
            "NoNewPrivileges=false",
            "every container must set NoNewPrivileges=true",
        ),
        (
            "winalux-bob.workspace.container",
            "Label=",
            "Secret=winalux-bob.token,\\\n  type=mount,target=/home/developer\nLabel=",
            "mounts /home/developer, already used by",
        ),
    ],
)
def test_self_check_rejects(file: str, old: str, new: str, message: str) -> None:
    units = render(load_repository(PROJECT))
    check_render(units)
    with pytest.raises(RenderError, match=re.escape(message)):
        check_render(_broken(units, file, old, new))


def test_broken_template_names_template(tmp_path: Path) -> None:
    root = make_repository(tmp_path, with_examples=True)
    template = root / "templates" / "quadlet" / "pod.j2"
    template.write_text(template.read_text() + "{{ workspace.no_such_field }}\n")
    with pytest.raises(RenderError, match="templates/quadlet/pod.j2"):
        render(load_repository(root))


def test_template_reference_outside_render_rejected(tmp_path: Path) -> None:
    root = make_repository(tmp_path, with_examples=True)
    template = root / "templates" / "quadlet" / "workspace.container.j2"
    text = template.read_text().replace("Pod={{ names.pod_file }}", "Pod=shared.pod")
    template.write_text(text)
    with pytest.raises(RenderError, match="Pod=shared.pod is not part of the render"):
        render(load_repository(root))


def test_template_sandbox_blocks_python(tmp_path: Path) -> None:
    root = make_repository(tmp_path, with_examples=True)
    marker = tmp_path / "escaped"
    template = root / "templates" / "quadlet" / "volume.j2"
    payload = "{{ cycler.__init__.__globals__.os.system('touch " + str(marker) + "') }}"
    template.write_text(template.read_text() + "# " + payload + "\n")
    with pytest.raises(RenderError, match="volume.j2"):
        render(load_repository(root))
    assert not marker.exists()


def test_nested_template_symlink_rejected(tmp_path: Path) -> None:
    root = make_repository(tmp_path / "repo", with_examples=True)
    secret = tmp_path / "outside-secret"
    secret.write_text("SECRET-FROM-OUTSIDE\n")
    (root / "templates" / "quadlet" / "inc").mkdir()
    (root / "templates" / "quadlet" / "inc" / "leak").symlink_to(secret)
    template = root / "templates" / "quadlet" / "volume.j2"
    template.write_text(template.read_text() + '# {% include "inc/leak" %}\n')
    with pytest.raises(RenderError, match="inc/leak is a symbolic link"):
        render(load_repository(root))
