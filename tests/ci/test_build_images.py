"""ci/build-images.sh: its argument checks on this machine, and a real multi-arch build in the
systemd-nspawn guest with rootless podman, FROM local base images, logged in and pushed to a
real registry on 127.0.0.1, as the CI job pushes to GitLab's.

The guest boots on the host's network so that it reaches that registry on the loopback
address. It contacts nothing else, because the base images are local. arm64 steps run
through qemu-user-static, registered in the host's binfmt_misc with the F flag so that the
guest, which shares the kernel, finds the emulator. Where it cannot be registered only
amd64 is built and the arm64 checks skip (fail under WINALUX_TESTS_STRICT=1).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ci.foreign_base import busybox_tarball
from tests.ci.pipeline import cache_dir
from tests.ci.registry import LIST_TYPES, Registry, registry
from tests.support import require
from tests.support.guest import BASE_IMAGE, Guest, booted_guest, unavailable_reason, unique_name
from winalux.run import Result, run

PROJECT = Path(__file__).resolve().parents[2]
SCRIPT = PROJECT / "ci" / "build-images.sh"
BINFMT = Path("/proc/sys/fs/binfmt_misc")
BASES = "localhost/winalux-ci-bases"
LAYOUT = "/home/dev/out/winalux-web"
COMMIT = "0123abcd"
# Not a real certificate: the build only counts its lines.
CA_BUNDLE = "-----BEGIN CERTIFICATE-----\nd2luYWx1eCB0ZXN0\n-----END CERTIFICATE-----\n"
CONTAINERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE} AS base
RUN uname -m > /arch
RUN --mount=type=secret,id=ca-bundle,required=false \
    busybox wc -l < /run/secrets/ca-bundle > /ca-lines

FROM base AS web
RUN echo web > /profile

FROM base AS data
RUN echo data > /profile
"""


def build(*args: str, **env: str) -> Result:
    return run([str(SCRIPT), *args], cwd=PROJECT, env=env, check=False, timeout=60)


def test_build_requires_three_arguments() -> None:
    result = build("images/Containerfile", "web")
    assert result.returncode == 1
    assert "expected CONTAINERFILE PROFILE PLATFORMS, got 2 arguments" in result.stderr
    assert "Usage: ci/build-images.sh" in result.stderr


def test_build_rejects_push_in_merge_request(tmp_path: Path) -> None:
    containerfile = tmp_path / "Containerfile"
    containerfile.write_text(CONTAINERFILE, encoding="utf-8")
    result = build("--push", "--build-arg", "BASE_IMAGE=base", str(containerfile), "web",
                   "linux/amd64", CI_PIPELINE_SOURCE="merge_request_event")
    assert result.returncode == 1
    assert "--push is not allowed in a merge request pipeline" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing/Containerfile", "web", "linux/amd64"],
         "Containerfile missing/Containerfile not found"),
        (["{cf}", "Web", "linux/amd64"], "invalid profile 'Web'"),
        (["{cf}", "desktop", "linux/amd64"],
         "profile 'desktop' is not listed in images/profiles.yml"),
        (["{cf}", "web", "linux/amd64,arm64"], "invalid platform 'arm64'"),
        (["{cf}", "web", ""], "no platform given"),
        (["--build-arg", "BASE IMAGE=x", "{cf}", "web", "linux/amd64"], "invalid build argument"),
        (["--engine", "docker", "--build-arg", "BASE_IMAGE=base", "{cf}", "web", "linux/amd64"],
         "unknown engine 'docker'"),
        (["{cf}", "web", "linux/amd64"], "needs --build-arg BASE_IMAGE=VALUE (not empty)"),
        (["--build-arg", "BASE_IMAGE=", "{cf}", "web", "linux/amd64"],
         "needs --build-arg BASE_IMAGE=VALUE (not empty)"),
        (["--context", "/nonexistent", "{cf}", "web", "linux/amd64"], "is not a folder"),
        (["--shout", "{cf}", "web", "linux/amd64"], "unknown option: --shout"),
    ],
)
def test_build_rejects_bad_arguments(tmp_path: Path, args: list[str], message: str) -> None:
    containerfile = tmp_path / "Containerfile"
    containerfile.write_text(CONTAINERFILE, encoding="utf-8")
    result = build(*(arg.replace("{cf}", str(containerfile)) for arg in args))
    assert result.returncode == 1
    assert message in result.stderr


def test_build_rejects_missing_ca_bundle(tmp_path: Path) -> None:
    containerfile = tmp_path / "Containerfile"
    containerfile.write_text(CONTAINERFILE, encoding="utf-8")
    result = build("--build-arg", "BASE_IMAGE=base", str(containerfile), "web", "linux/amd64",
                   WINALUX_CA_BUNDLE=str(tmp_path / "missing.pem"))
    assert result.returncode == 1
    assert "missing.pem is not a readable file" in result.stderr


def register_qemu() -> str:
    """Register qemu-aarch64 in binfmt_misc; return why it cannot be, or an empty string."""
    if os.geteuid() != 0:
        return "registering qemu-user-static needs root"
    if not shutil.which("update-binfmts") or not Path("/usr/share/binfmts/qemu-aarch64").exists():
        return "qemu-user-static is not installed (apt-get install qemu-user-static binfmt-support)"
    if not (BINFMT / "register").exists():
        mounted = run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], check=False)
        if mounted.returncode != 0:
            return f"binfmt_misc cannot be mounted: {mounted.stderr.strip()}"
    enabled = run(["update-binfmts", "--enable", "qemu-aarch64"], check=False)
    entry = BINFMT / "qemu-aarch64"
    if enabled.returncode != 0 or not entry.exists():
        return f"update-binfmts --enable qemu-aarch64 failed: {enabled.stderr.strip()}"
    text = entry.read_text(encoding="utf-8")
    if not text.startswith("enabled"):
        return "qemu-aarch64 is registered but disabled"
    flags = next((line.split()[1] for line in text.splitlines() if line.startswith("flags:")), "")
    if "F" not in flags:
        return "qemu-aarch64 lacks binfmt's F flag, so the guest cannot open the emulator"
    return ""


@dataclass
class Build:
    """The outcome of the build script in the guest, and the registry it pushed to."""

    guest: Guest
    result: Result
    platforms: list[str]
    registry: Registry
    qemu_problem: str

    @property
    def repository(self) -> str:
        return f"{self.registry.address}/platform/winalux-web"

    @property
    def rootfs(self) -> Path:
        return self.guest.rootfs

    def user(self, *argv: str, check: bool = True) -> Result:
        return self.guest.run_user(argv, check=check, timeout=300)


def _prepare_guest(guest: Guest, work: Path, arm64: bool, address: str) -> None:
    _copy_build_inputs(guest, work)
    # Let podman in the guest use the test registry, which speaks plain HTTP.
    guest.write_file("/etc/containers/registries.conf.d/50-winalux-tests.conf",
                     f'[[registry]]\nlocation = "{address}"\ninsecure = true\n')
    _make_base_images(guest, arm64)


def _copy_build_inputs(guest: Guest, work: Path) -> None:
    """Copy the build script, a test Containerfile and a CA bundle into dev's home."""
    project = work / "project"
    (project / "ci").mkdir(parents=True)
    (project / "images").mkdir()
    for name in ("build-images.sh", "lib.sh"):
        shutil.copy2(PROJECT / "ci" / name, project / "ci" / name)
    shutil.copy(PROJECT / "images" / "profiles.yml", project / "images" / "profiles.yml")
    guest.copy_in(project, "/home/dev/project")

    context = work / "context"
    context.mkdir()
    (context / "Containerfile").write_text(CONTAINERFILE, encoding="utf-8")
    guest.copy_in(context, "/home/dev/context")
    guest.write_file("/home/dev/ca.pem", CA_BUNDLE)
    guest.run(["chown", "-R", "dev:dev", "/home/dev"])


def _make_base_images(guest: Guest, arm64: bool) -> None:
    """Create one local manifest list of base images, so that FROM finds one per platform."""
    bases = [BASE_IMAGE]
    if arm64:
        tarball = busybox_tarball("arm64", cache_dir() / "ci")
        guest.copy_in(tarball, "/home/dev/busybox-arm64.tar")
        guest.run(["chown", "dev:dev", "/home/dev/busybox-arm64.tar"])
        bases.append("localhost/winalux-ci-base-arm64")
        guest.run_user(["podman", "import", "--quiet", "--arch", "arm64", "--change",
                        'CMD ["/bin/sh"]', "/home/dev/busybox-arm64.tar", bases[1]])
    guest.run_user(["podman", "manifest", "create", BASES])
    for base in bases:
        guest.run_user(["podman", "manifest", "add", BASES, f"containers-storage:{base}"])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Build]:
    reason = unavailable_reason()
    require(not reason, reason or "")
    require(shutil.which("docker-registry") and shutil.which("htpasswd"),
            "docker-registry or htpasswd not found: apt-get install docker-registry apache2-utils")
    qemu_problem = register_qemu()
    platforms = ["linux/amd64"] + ([] if qemu_problem else ["linux/arm64"])
    work = tmp_path_factory.mktemp("build-images")
    # The guest shares the host's network only to reach the registry on 127.0.0.1.
    with registry(work / "registry") as served, \
            booted_guest(unique_name("ci-images"), shared_network=True) as guest:
        _prepare_guest(guest, work, arm64=not qemu_problem, address=served.address)
        result = _build_and_push(guest, served, platforms)
        yield Build(guest, result, platforms, served, qemu_problem)


def _build_and_push(guest: Guest, served: Registry, platforms: list[str]) -> Result:
    # The job's variables, as GitLab sets them; the password stays out of every argv.
    variables = {
        "CI_COMMIT_SHORT_SHA": COMMIT,
        "CI_COMMIT_SHA": COMMIT + "0" * 32,
        "CI_COMMIT_TAG": "v0.2.0",
        "CI_PROJECT_URL": "https://example.invalid/winalux",
        "CI_REGISTRY": served.address,
        "CI_REGISTRY_USER": served.user,
        "CI_REGISTRY_PASSWORD": served.password,
        "CI_REGISTRY_IMAGE": f"{served.address}/platform",
        "WINALUX_BUILD_DIR": "/home/dev/build",
        "WINALUX_CA_BUNDLE": "/home/dev/ca.pem",
    }
    text = "".join(f"{key}={shlex.quote(value)}\n" for key, value in variables.items())
    guest.write_file("/home/dev/job.env", text, owner="dev", mode="600")
    script = 'set -a; . /home/dev/job.env; set +a; exec project/ci/build-images.sh "$@"'
    argv = ["sh", "-c", script, "sh", "--push", "--build-arg", f"BASE_IMAGE={BASES}",
            "/home/dev/context/Containerfile", "web", ",".join(platforms)]
    return guest.run_user(argv, check=False, timeout=600)


def test_build_succeeds(built: Build) -> None:
    assert built.result.returncode == 0, built.result.stderr
    assert f"contains {len(built.platforms)} platform images" in built.result.stderr


def test_build_never_prints_password(built: Build) -> None:
    assert built.registry.password not in built.result.stdout
    assert built.registry.password not in built.result.stderr
    assert f"logged in to {built.registry.address} as ci-builder" in built.result.stderr


def test_build_pushes_commit_and_release_tags(built: Build) -> None:
    tags = built.registry.get("platform/winalux-web/tags/list")["tags"]
    assert sorted(tags) == sorted([COMMIT, "0.2.0"])
    refs = (built.rootfs / "home/dev/build/web.refs").read_text(encoding="utf-8").splitlines()
    digest = (built.rootfs / "home/dev/build/web.digest").read_text(encoding="utf-8").strip()
    assert refs == [f"{built.repository}:{COMMIT}@{digest}", f"{built.repository}:0.2.0@{digest}"]


def test_build_manifest_lists_platforms(built: Build) -> None:
    for tag in (COMMIT, "0.2.0"):
        manifest_list = built.registry.get(f"platform/winalux-web/manifests/{tag}", LIST_TYPES)
        assert manifest_list["mediaType"] in LIST_TYPES
        listed = sorted(f"{entry['platform']['os']}/{entry['platform']['architecture']}"
                        for entry in manifest_list["manifests"])
        assert listed == sorted(built.platforms)


def test_build_pushes_to_oci_layout(built: Build) -> None:
    # IMAGE_TRANSPORT selects another destination; the cached build makes this quick.
    env = ["env", f"CI_COMMIT_SHORT_SHA={COMMIT}", f"CI_COMMIT_SHA={COMMIT}" + "0" * 32,
           "CI_PROJECT_URL=https://example.invalid/winalux", "IMAGE_TRANSPORT=oci:",
           f"IMAGE_REPOSITORY={LAYOUT}", "WINALUX_BUILD_DIR=/home/dev/build-oci"]
    built.user(*env, "project/ci/build-images.sh", "--push", "--build-arg",
               f"BASE_IMAGE={BASES}", "/home/dev/context/Containerfile", "web",
               ",".join(built.platforms))
    index = json.loads((built.rootfs / LAYOUT.lstrip("/") / "index.json").read_text())
    names = [entry["annotations"]["org.opencontainers.image.ref.name"]
             for entry in index["manifests"]]
    assert names == [COMMIT]


def test_build_labels_and_profile_stage(built: Build) -> None:
    image = f"localhost/winalux-build-web:{COMMIT}"
    labels = json.loads(built.user("podman", "image", "inspect", "--format",
                                   "{{json .Labels}}", image).stdout)
    assert labels["io.winalux.profile"] == "web"
    assert labels["org.opencontainers.image.revision"] == COMMIT + "0" * 32
    assert labels["org.opencontainers.image.source"] == "https://example.invalid/winalux"
    output = built.user("podman", "run", "--rm", "--arch", "amd64", image, "cat", "/profile",
                        "/arch").stdout
    assert output.split() == ["web", "x86_64"]


def test_build_ca_bundle_is_build_secret(built: Build) -> None:
    image = f"localhost/winalux-build-web:{COMMIT}"
    # The RUN step read the bundle, and the image keeps no file of it.
    seen = built.user("podman", "run", "--rm", "--arch", "amd64", image, "cat", "/ca-lines")
    assert seen.stdout.strip() == "3"
    listed = built.user("podman", "run", "--rm", "--arch", "amd64", image, "ls", "/run/secrets",
                        check=False)
    assert "ca-bundle" not in listed.stdout
    history = built.user("podman", "image", "save", "--format", "oci-archive", "--output",
                         "/home/dev/web.tar", image)
    assert history.returncode == 0
    archive = (built.rootfs / "home/dev/web.tar").read_bytes()
    assert b"d2luYWx1eCB0ZXN0" not in archive


def test_build_arm64_image_runs_arm64(built: Build) -> None:
    require(not built.qemu_problem, built.qemu_problem)
    output = built.user("podman", "run", "--rm", "--arch", "arm64",
                        f"localhost/winalux-build-web:{COMMIT}", "cat", "/arch").stdout
    # uname -m ran in the arm64 build step, through qemu, so it reported aarch64.
    assert output.strip() == "aarch64"


def test_build_without_push_pushes_nothing(built: Build) -> None:
    env = ["env", "CI_COMMIT_SHORT_SHA=4567cdef", "CI_COMMIT_SHA=4567cdef",
           "IMAGE_TRANSPORT=oci:", "IMAGE_REPOSITORY=/home/dev/out/unpushed",
           "WINALUX_BUILD_DIR=/home/dev/build-unpushed"]
    result = built.user(*env, "project/ci/build-images.sh", "--build-arg",
                        f"BASE_IMAGE={BASES}", "/home/dev/context/Containerfile", "data",
                        ",".join(built.platforms))
    assert "built localhost/winalux-build-data:4567cdef; not pushed (no --push)" in result.stderr
    assert not (built.rootfs / "home/dev/out/unpushed").exists()
    assert not (built.rootfs / "home/dev/build-unpushed").exists()
