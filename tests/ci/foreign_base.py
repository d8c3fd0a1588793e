"""A tiny base image root for a foreign architecture: Debian's busybox-static for that arch.

The image build test needs a local base image for each platform it builds, because the
test guest reaches no registry. The package is downloaded with a private apt configuration:
the machine's own Debian sources, another architecture, and separate lists and cache. So
the machine's apt state does not change. The tarball is cached between runs.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
from pathlib import Path

from winalux.run import run

SOURCE_FILES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
# The applets the test's Containerfile runs, linked to busybox like its installer would.
APPLETS = ("sh", "cat", "echo", "uname", "mkdir", "ls")


def busybox_tarball(arch: str, cache: Path) -> Path:
    """Return a tarball of a root with busybox for the Debian architecture arch."""
    target = cache / f"busybox-root-{arch}.tar"
    if target.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".busybox-") as folder:
        work = Path(folder)
        deb = _download(work, f"busybox-static:{arch}")
        run(["dpkg-deb", "-x", str(deb), str(work / "package")])
        staging = target.with_suffix(".tmp")
        _write_root(work / "package" / "bin" / "busybox", staging)
        staging.replace(target)
    return target


def _download(work: Path, package: str) -> Path:
    arch = package.split(":")[1]
    config = _write_apt_config(work, arch)
    env = {"APT_CONFIG": str(config)}
    run(["apt-get", "-q", "update"], env=env, timeout=600)
    run(["apt-get", "-q", "download", package], env=env, cwd=work, timeout=600)
    debs = sorted(work.glob("busybox-static_*.deb"))
    if not debs:
        raise FileNotFoundError(f"apt-get download {package} left no .deb in {work}")
    return debs[0]


def _write_apt_config(work: Path, arch: str) -> Path:
    parts = work / "parts"
    for folder in (parts, work / "lists" / "partial", work / "cache" / "archives" / "partial"):
        folder.mkdir(parents=True)
    for source in SOURCE_FILES:
        files = sorted(source.glob("*.sources")) + sorted(source.glob("*.list")) \
            if source.is_dir() else [source]
        for path in files:
            if path.is_file():
                name = path.name if path.parent != Path("/etc/apt") else "machine.list"
                shutil.copy(path, parts / name)
    config = work / "apt.conf"
    config.write_text("\n".join([
        'Dir::Etc::SourceList "/dev/null";',
        f'Dir::Etc::SourceParts "{parts}";',
        f'Dir::State::Lists "{work / "lists"}";',
        'Dir::State::status "/dev/null";',
        f'Dir::Cache "{work / "cache"}";',
        'Dir::Cache::pkgcache "";',
        'Dir::Cache::srcpkgcache "";',
        f'APT::Architecture "{arch}";',
        f'APT::Architectures {{ "{arch}"; }};',
        'Acquire::Languages "none";',
        'APT::Sandbox::User "root";',
        "#clear APT::Update::Post-Invoke;",
        "#clear APT::Update::Post-Invoke-Success;",
        "",
    ]), encoding="utf-8")
    return config


def _write_root(busybox: Path, target: Path) -> None:
    with tarfile.open(target, "w") as archive:
        _add_dir(archive, "bin")
        _add_dir(archive, "tmp", mode=0o1777)
        info = archive.gettarinfo(str(busybox), arcname="bin/busybox")
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        with busybox.open("rb") as stream:
            archive.addfile(info, stream)
        for applet in APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            archive.addfile(link)
        passwd = b"root:x:0:0:root:/root:/bin/sh\n"
        entry = tarfile.TarInfo("etc/passwd")
        entry.size = len(passwd)
        _add_dir(archive, "etc")
        archive.addfile(entry, io.BytesIO(passwd))


def _add_dir(archive: tarfile.TarFile, name: str, mode: int = 0o755) -> None:
    entry = tarfile.TarInfo(name)
    entry.type = tarfile.DIRTYPE
    entry.mode = mode
    archive.addfile(entry)
