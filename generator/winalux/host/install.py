"""`winalux host install` and `uninstall`: the agent's systemd user service and timer.

The settings (repository URL, branch, host name, notifications) go into an environment file
readable by the user only, because a URL may carry a deploy token.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jinja2

from winalux.host import tokens, units
from winalux.host.checkout import redact
from winalux.host.paths import HostPaths
from winalux.host.podman import Podman
from winalux.host.systemctl import Systemctl
from winalux.host.telemetry import collector_exec_start, telemetry_root
from winalux.quadlet.quote import word
from winalux.spec.names import service_of

logger = logging.getLogger(__name__)

SERVICE = "winalux-sync.service"
TIMER = "winalux-sync.timer"
COLLECTOR = "winalux-collector.service"
COLLECTOR_TEMPLATE = "winalux-collector.service.j2"
ENVIRONMENT_FILE = "sync.env"
_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "hours": 3600,
}
_SPAN = re.compile(r"(\d+)\s*([a-z]*)")


class InstallError(Exception):
    """The agent's units could not be installed or removed."""


@dataclass(frozen=True)
class InstallOptions:
    """Settings that `winalux host install` writes for the agent's service."""

    repository: str
    branch: str = "main"
    host: str | None = None
    interval: str = "1min"
    notify_command: str | None = None
    notify_url: str | None = None
    allowed_signers: Path | None = None
    executable: str | None = None


def parse_timespan(text: str) -> int:
    """Return the seconds of a systemd time span made of s, min and h parts, e.g. "1h 30min"."""
    stripped = text.strip().lower()
    parts = _SPAN.findall(stripped)
    total = 0
    for number, unit in parts:
        if unit not in {"", *_UNITS}:
            raise InstallError(f"invalid interval {text!r}: unknown unit {unit!r}; use s, min or h")
        total += int(number) * _UNITS.get(unit, 1)
    if not parts or _SPAN.sub("", stripped).strip() or total <= 0:
        raise InstallError(f"invalid interval {text!r}: write a span such as 30s, 1min or 1h")
    return total


def package_templates() -> Path:
    """Return the folder of the templates shipped with winalux (wheel or source tree)."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "_templates", package.parents[1] / "templates"):
        if (candidate / "host").is_dir():
            return candidate
    raise InstallError(f"templates of winalux not found beside {package}; reinstall winalux")


def install(options: InstallOptions, paths: HostPaths, systemctl: Systemctl) -> list[Path]:
    """Write the agent's environment file, service and timer, then start the timer."""
    interval = parse_timespan(options.interval)
    environment_file = paths.config_home / "winalux" / ENVIRONMENT_FILE
    written = [_write(environment_file, environment_text(options))]
    units = _render_units(options, interval, environment_file)
    collector = _render_collector(options)
    if collector is not None:
        units[COLLECTOR] = collector
    for name, text in units.items():
        written.append(_write(paths.systemd_user / name, text))
    systemctl.daemon_reload()
    systemctl.enable_now([TIMER, *([COLLECTOR] if collector is not None else [])])
    logger.info("installed %s every %s", TIMER, options.interval)
    return written


def uninstall(paths: HostPaths, systemctl: Systemctl) -> list[Path]:
    """Stop and remove the agent's timer, service and collector; return the files removed."""
    systemctl.disable_now([TIMER, SERVICE, COLLECTOR])
    removed = []
    for path in (
        paths.systemd_user / TIMER,
        paths.systemd_user / SERVICE,
        paths.systemd_user / COLLECTOR,
        paths.config_home / "winalux" / ENVIRONMENT_FILE,
    ):
        if path.exists():
            path.unlink()
            removed.append(path)
    systemctl.daemon_reload()
    return removed


def remove_workspaces(paths: HostPaths, systemctl: Systemctl, podman: Podman) -> list[str]:
    """Stop every workspace the agent applied and remove its units and token.

    The volumes stay, as after a removal by sync. The state and the copy of the applied
    units go too, so that a later install starts afresh. Return the workspaces stopped.
    """
    files = units.read_folder(paths.units)
    workspaces = sorted({units.workspace_of(name) for name in files})
    systemctl.stop([service_of(name) for name in sorted(files)])
    for name in files:
        (paths.units / name).unlink()
    systemctl.daemon_reload()
    for workspace in workspaces:
        tokens.remove_token(podman, workspace)
    shutil.rmtree(paths.applied, ignore_errors=True)
    paths.state_file.unlink(missing_ok=True)
    return workspaces


def environment_text(options: InstallOptions) -> str:
    values = {
        "WINALUX_REPO": options.repository,
        "WINALUX_BRANCH": options.branch,
        "WINALUX_HOST": options.host,
        "WINALUX_NOTIFY_COMMAND": options.notify_command,
        "WINALUX_NOTIFY_URL": options.notify_url,
        "WINALUX_ALLOWED_SIGNERS": options.allowed_signers and str(options.allowed_signers),
    }
    lines = ["# Settings of the winalux sync agent, written by `winalux host install`."]
    lines += [f"{key}={_env_quote(value)}" for key, value in values.items() if value]
    return "\n".join(lines) + "\n"


def _env_quote(value: str) -> str:
    """Quote a value for a systemd EnvironmentFile, where $ in double quotes expands."""
    if "\n" in value or "\r" in value:
        raise InstallError("settings cannot contain line breaks")
    if "'" not in value:
        return f"'{value}'"
    escaped = re.sub(r'([\\"$`])', r"\\\1", value)
    return f'"{escaped}"'


def _render_units(options: InstallOptions, interval: int, environment_file: Path) -> dict[str, str]:
    environment = _environment()
    values = {
        "repository_shown": redact(options.repository),
        "branch": options.branch,
        "environment_file": word(str(environment_file)),
        "exec_start": " ".join(word(arg) for arg in (_executable(options), "-v", "sync")),
        "timeout_seconds": 3600,
        "interval": f"{interval}s",
        "boot_delay": f"{min(interval, 60)}s",
        "randomized_delay": f"{max(1, interval // 5)}s",
    }
    return {
        SERVICE: environment.get_template("winalux-sync.service.j2").render(values),
        TIMER: environment.get_template("winalux-sync.timer.j2").render(values),
    }


def _render_collector(options: InstallOptions) -> str | None:
    """Render the telemetry collector's service when this winalux ships its template."""
    template = package_templates() / "host" / COLLECTOR_TEMPLATE
    if not template.is_file():
        logger.info("no %s in this winalux; the collector is not installed", COLLECTOR_TEMPLATE)
        return None
    # The collector runs under this installation's Python, through the command line its
    # own package builds, and loads neither click nor the generator.
    values = {
        "exec_start": collector_exec_start(sys.executable),
        "python": word(sys.executable),
        "executable": word(_executable(options)),
        "telemetry_root": word(str(telemetry_root())),
    }
    try:
        return _environment().get_template(COLLECTOR_TEMPLATE).render(values)
    except jinja2.TemplateError as err:
        raise InstallError(f"templates/host/{COLLECTOR_TEMPLATE}: {err}") from err


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(package_templates() / "host"),
        undefined=jinja2.StrictUndefined,
        # Unit files, not HTML: values are quoted for systemd by the `word` function.
        autoescape=False,  # noqa: S701
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _executable(options: InstallOptions) -> str:
    if options.executable:
        return options.executable
    found = shutil.which("winalux")
    if found:
        return str(Path(found).resolve())
    argv0 = Path(sys.argv[0])
    if argv0.name == "winalux" and argv0.exists():
        return str(argv0.resolve())
    raise InstallError("the winalux command is not on PATH; pass --executable PATH")


def _write(path: Path, text: str) -> Path:
    """Write text to path atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    logger.info("wrote %s", path)
    return path
