"""Property tests: any valid workspace renders into units quadlet accepts, any broken one
is rejected with a clean, located error."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.repo import PUBLIC_KEY, make_repository
from winalux.cli import cli
from winalux.quadlet import render
from winalux.quadlet.dryrun import dry_run
from winalux.quadlet.write import write_units
from winalux.spec import load_repository

NAMES = st.from_regex(r"[a-z](?:-?[a-z0-9]){0,15}", fullmatch=True)
PORTS = st.integers(min_value=1024, max_value=65535)
REQUIREMENTS = st.sampled_from(
    [
        "requests",
        "requests>=2.32",
        "django-debug-toolbar==4.4.6",
        "numpy<3,>=1.26",
        "uvicorn[standard]",
        "tomli; python_version < '3.11'",
        "Flask~=3.0",
    ]
)
COMMENTS = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FF, exclude_characters="\x7f"),
    max_size=30,
)
PROBLEM_LINE = re.compile(r"^workspaces/[^:]+\.yml:\d+:\d+: .+")


@st.composite
def workspaces(draw: st.DrawFn) -> dict[str, object]:
    ports = draw(st.lists(PORTS, min_size=2, max_size=6, unique=True))
    profile = draw(st.sampled_from(["web", "data"]))
    app_container = 8000 if profile == "web" else 8888
    container_ports = draw(
        st.lists(
            st.integers(min_value=1, max_value=65535).filter(
                lambda p: p not in (2222, app_container)
            ),
            min_size=len(ports) - 2,
            max_size=len(ports) - 2,
            unique=True,
        )
    )
    sidecars = draw(st.lists(st.sampled_from(["redis", "memcached", "postgres"]), unique=True))
    sidecar_ports = {"redis": 6379, "memcached": 11211, "postgres": 5432}
    container_ports = [p for p in container_ports if p not in sidecar_ports.values()] or []
    data: dict[str, object] = {
        "name": draw(NAMES),
        "profile": profile,
        "host": draw(st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)),
        "ssh_port": ports[0],
        "app_port": ports[1],
        "public_key": PUBLIC_KEY.rsplit(" ", 1)[0] + " " + draw(COMMENTS).strip(),
        "libraries": draw(
            st.lists(
                REQUIREMENTS, unique_by=lambda r: re.split(r"[<>=~;\[ ]", r)[0].lower(), max_size=4
            )
        ),
        "disk_limit_gb": draw(st.integers(min_value=1, max_value=100000)),
        "allow_tcp_forwarding": draw(st.booleans()),
        "extra_ports": [f"{h}:{c}" for h, c in zip(ports[2:], container_ports, strict=False)],
        "sidecars": sidecars,
    }
    if draw(st.booleans()):
        data["memory_limit_gb"] = draw(
            st.floats(min_value=0.25, max_value=64, allow_nan=False).map(lambda v: round(v, 2))
        )
    if draw(st.booleans()):
        data["cpus"] = draw(st.sampled_from([0.5, 1, 1.5, 2, 4, 16]))
    data["public_key"] = str(data["public_key"]).strip()
    return data


def _write(root: Path, data: dict[str, object]) -> None:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    (root / "workspaces" / f"{data['name']}.yml").write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repository(tmp_path_factory.mktemp("base"))


def _fresh(base: Path, tmp: Path) -> Path:
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(base, tmp)
    return tmp


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=workspaces())
def test_valid_workspace_renders_and_quadlet_accepts(
    base: Path, tmp_path: Path, quadlet: Path, data: dict[str, object]
) -> None:
    root = _fresh(base, tmp_path / "repo")
    _write(root, data)
    units = render(load_repository(root))
    out = tmp_path / "out"
    shutil.rmtree(out, ignore_errors=True)
    write_units(units, out)
    services = dry_run(out, quadlet)
    assert len(services) == len(units.files)


BREAKAGES = [
    ("ssh_port", st.integers(min_value=-5, max_value=1023)),
    ("app_port", st.integers(min_value=65536, max_value=10**6)),
    ("profile", st.text(max_size=8).filter(lambda t: t not in ("web", "data"))),
    (
        "name",
        st.text(min_size=1, max_size=12).filter(
            lambda t: not re.fullmatch(r"[a-z](?:-?[a-z0-9])*", t)
        ),
    ),
    ("public_key", st.text(max_size=40)),
    (
        "libraries",
        st.lists(
            st.sampled_from(["-e .", "--pre", "a @ https://127.0.0.1/a.whl", "x;;", ""]), min_size=1
        ),
    ),
    (
        "extra_ports",
        st.lists(st.sampled_from(["80:80", "1:2:3", "x:y", "7000:0", "7000"]), min_size=1),
    ),
    ("sidecars", st.lists(st.sampled_from(["mongodb", "Redis", "workspace"]), min_size=1)),
    ("disk_limit_gb", st.sampled_from([0, -1, "ten", 1.5, True])),
    ("allow_tcp_forwarding", st.sampled_from(["no", "yes", "on", 0, 1])),
    ("colour", st.just("blue")),
]


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=workspaces(), breakage=st.sampled_from(BREAKAGES), choice=st.data())
def test_invalid_workspace_rejected_cleanly(
    base: Path, tmp_path: Path, data: dict[str, object], breakage: tuple, choice: st.DataObject
) -> None:
    field, strategy = breakage
    data[field] = choice.draw(strategy)
    root = _fresh(base, tmp_path / "repo")
    file_name = "broken.yml" if field == "name" else f"{data['name']}.yml"
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    (root / "workspaces" / file_name).write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", "--repo", str(root)], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if not line.startswith("error:")]
    assert lines
    for line in lines:
        assert PROBLEM_LINE.match(line), line
    assert "Traceback" not in result.stderr
