"""Running podman's own Quadlet generator in dry-run mode on a folder of units."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from winalux.run import CommandError, run

# Cache folder of ci/fetch-quadlet.sh, which extracts quadlet from Debian's podman package.
_CACHE = Path(
    os.environ.get("WINALUX_CACHE_DIR")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "winalux"
)
_SYSTEM_PATHS = ("/usr/libexec/podman/quadlet", "/usr/lib/podman/quadlet")
_BLOCK = re.compile(r"^---(?P<name>[^\n]+)---$", re.MULTILINE)


class QuadletError(Exception):
    """The Quadlet generator is missing or rejected the units."""


def find_quadlet() -> Path | None:
    """Return the quadlet binary to use, or None if there is none.

    Order: $WINALUX_QUADLET, the cache of ci/fetch-quadlet.sh, podman's install paths.
    """
    configured = os.environ.get("WINALUX_QUADLET")
    if configured:
        return Path(configured)
    candidates = [_CACHE / "quadlet" / "quadlet", *map(Path, _SYSTEM_PATHS)]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("quadlet")
    return Path(found) if found else None


def dry_run(folder: Path, quadlet: Path | None = None, user: bool = True) -> dict[str, str]:
    """Run `quadlet -dryrun` on folder; return the generated services by name.

    Raise QuadletError with quadlet's own messages when it rejects a unit or when any unit
    of the folder produced no service.
    """
    binary = quadlet or find_quadlet()
    if binary is None:
        raise QuadletError(
            "podman's quadlet binary was not found; run ci/fetch-quadlet.sh, install podman "
            ">= 5.0, or set WINALUX_QUADLET to its path"
        )
    argv = [str(binary), "-dryrun"] + (["-user"] if user else [])
    try:
        result = run(
            argv, env={"QUADLET_UNIT_DIRS": str(folder.resolve())}, check=False, timeout=60
        )
    except CommandError as err:
        raise QuadletError(str(err)) from err
    messages = [
        line for line in result.stderr.splitlines() if "Loading source unit file" not in line
    ]
    if result.returncode != 0:
        raise QuadletError("quadlet rejected the units:\n  " + "\n  ".join(messages))
    services = parse_services(result.stdout)
    _check_complete(folder, services)
    return services


def parse_services(output: str) -> dict[str, str]:
    """Split quadlet's dry-run output into service name -> unit text."""
    services = {}
    matches = list(_BLOCK.finditer(output))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(output)
        services[match.group("name")] = output[match.end() : end].strip("\n") + "\n"
    return services


def _check_complete(folder: Path, services: dict[str, str]) -> None:
    from winalux.spec.names import service_of

    expected = {
        service_of(path.name)
        for path in folder.iterdir()
        if path.suffix in (".pod", ".container", ".volume")
    }
    missing = sorted(expected - services.keys())
    if missing:
        raise QuadletError("quadlet produced no service for: " + ", ".join(missing))
