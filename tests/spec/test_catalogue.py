"""The sidecar catalogue, the profile images and the repository settings file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.repo import make_repository, workspace_text
from winalux.spec import ValidationFailed, load_repository


def _report(root: Path) -> str:
    with pytest.raises(ValidationFailed) as failed:
        load_repository(root)
    return failed.value.report()


def test_catalogue_sidecars_load(tmp_path: Path) -> None:
    repository = load_repository(make_repository(tmp_path))
    assert {"redis", "memcached", "postgres"} <= set(repository.catalogue)
    postgres = repository.catalogue["postgres"]
    assert postgres.ports == (5432,)
    assert postgres.token_env == "POSTGRES_PASSWORD"
    assert postgres.data == "/var/lib/postgresql/data"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("workspace:\n  image: x.io/a:1\n  ports: [1]\n", "workspace: this name is reserved"),
        (
            "cache:\n  image: x.io/a:latest\n  ports: [1]\n",
            "cache.image: 'x.io/a:latest': image tag latest",
        ),
        ("cache:\n  image: x.io/a\n  ports: [1]\n", "cache.image: 'x.io/a': image has no tag"),
        ("cache:\n  image: redis:7\n  ports: [1]\n", "cache.image: 'redis:7': invalid format"),
        ("my-cache:\n  image: x.io/a:1\n  ports: [1]\n", "my-cache: invalid sidecar name"),
        ("c" * 33 + ":\n  image: x.io/a:1\n  ports: [1]\n", "invalid sidecar name"),
        ("cache:\n  image: x.io/a:1\n", "cache: required key ports is missing"),
        ("cache:\n  image: x.io/a:1\n  ports: [1]\n  volume: /x\n", "cache: unknown key"),
        (
            "cache:\n  image: x.io/a:1\n  ports: [1]\n  data: /d%h$X\n",
            "cache.data: '/d%h$X': invalid format",
        ),
        (
            'cache:\n  image: x.io/a:1\n  ports: [1]\n  environment: {A: "x\\ny"}\n',
            "cache.environment: a value contains a line break",
        ),
        ("cache: [1]\n", "cache: must be of type object"),
    ],
)
def test_catalogue_errors_name_entry(tmp_path: Path, entry: str, message: str) -> None:
    root = make_repository(tmp_path)
    (root / "templates" / "sidecars.yml").write_text(entry)
    report = _report(root)
    assert "templates/sidecars.yml:" in report
    assert message in report


def test_sidecar_port_clash_with_app(tmp_path: Path) -> None:
    root = make_repository(tmp_path)
    (root / "templates" / "sidecars.yml").write_text(
        "devserver:\n  image: x.io/dev:1\n  ports: [8000]\n"
    )
    (root / "workspaces" / "alpha.yml").write_text(workspace_text("alpha", sidecars="[devserver]"))
    report = _report(root)
    assert "workspaces/alpha.yml:7:12: sidecars[0]: 'devserver': " in report
    assert "sidecar devserver listens on port 8000, as does the web app" in report


def test_sidecar_port_does_not_clash_with_other_profile(tmp_path: Path) -> None:
    root = make_repository(tmp_path)
    (root / "templates" / "sidecars.yml").write_text(
        "devserver:\n  image: x.io/dev:1\n  ports: [8000]\n"
    )
    text = workspace_text("alpha", profile="data", sidecars="[devserver]")
    (root / "workspaces" / "alpha.yml").write_text(text)
    assert list(load_repository(root).workspaces) == ["alpha"]


def test_missing_profiles_file(tmp_path: Path) -> None:
    root = make_repository(tmp_path)
    (root / "images" / "profiles.yml").unlink()
    assert "images/profiles.yml:1:1: file not found; create images/profiles.yml" in _report(root)


def test_unpinned_profile_image(tmp_path: Path) -> None:
    root = make_repository(tmp_path)
    (root / "images" / "profiles.yml").write_text("web: x.io/web:latest\ndata: x.io/data:1\n")
    assert (
        "images/profiles.yml:1:6: web: 'x.io/web:latest': image tag latest is not a pin"
        in _report(root)
    )


def test_profile_image_used_unless_overridden(tmp_path: Path) -> None:
    root = make_repository(tmp_path)
    (root / "workspaces" / "alpha.yml").write_text(workspace_text("alpha"))
    (root / "workspaces" / "beta.yml").write_text(
        workspace_text("beta", ssh_port=2301, app_port=8301, image="localhost/custom:2")
    )
    repository = load_repository(root)
    assert repository.workspaces["alpha"].image == repository.profile_images["web"]
    assert repository.workspaces["beta"].image == "localhost/custom:2"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('min_version: "0.2.0"\n', None),
        ("min_version: 0.2\n", "min_version: '0.2': must be a version string"),
        ('min_version: "soon"\n', "min_version: 'soon': not a version number"),
        ("max_version: 1\n", "max_version: unknown setting"),
    ],
)
def test_settings_file(tmp_path: Path, text: str, expected: str | None) -> None:
    root = make_repository(tmp_path)
    (root / "winalux.yml").write_text(text)
    if expected is None:
        assert load_repository(root).min_version == "0.2.0"
    else:
        assert expected in _report(root)


def test_broken_entry_keeps_others(tmp_path: Path) -> None:
    root = make_repository(tmp_path)
    catalogue = root / "templates" / "sidecars.yml"
    catalogue.write_text(catalogue.read_text() + "broken:\n  image: redis:7\n  ports: [1]\n")
    (root / "workspaces" / "alpha.yml").write_text(workspace_text("alpha", sidecars="[redis]"))
    report = _report(root)
    assert "templates/sidecars.yml:" in report
    assert "unknown sidecar" not in report


def test_schema_and_catalogue_share_image_pattern() -> None:
    from winalux.spec.catalogue import IMAGE_PATTERN
    from winalux.spec.schema import workspace_schema

    assert workspace_schema()["properties"]["image"]["pattern"] == IMAGE_PATTERN
