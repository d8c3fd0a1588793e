"""Calls to the user's systemd manager and journal, each one argv through winalux.run."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from winalux.run import Result, run

logger = logging.getLogger(__name__)

POLL_INTERVAL = 0.5
JOURNAL_LINES = 20


@dataclass(frozen=True)
class ServiceState:
    """The manager's view of one unit, from `systemctl --user show`."""

    name: str
    load_state: str
    active_state: str
    sub_state: str
    # Id of a queued start, stop or restart job; a unit with one has not settled yet.
    job: str = ""

    @property
    def active(self) -> bool:
        return self.active_state == "active" and not self.job

    @property
    def failed(self) -> bool:
        return self.active_state == "failed" or self.load_state in {"not-found", "error"}

    def describe(self) -> str:
        pending = f", job {self.job} pending" if self.job else ""
        return f"{self.name} is {self.active_state} ({self.sub_state}, {self.load_state}{pending})"


@dataclass(frozen=True)
class Systemctl:
    """The user's systemd manager, reached through the given binaries."""

    systemctl: str = "systemctl"
    journalctl: str = "journalctl"
    timeout: float = 300

    def daemon_reload(self) -> None:
        logger.info("systemctl --user daemon-reload")
        self._call("daemon-reload")

    def start(self, services: Sequence[str]) -> None:
        self._jobs("start", services)

    def restart(self, services: Sequence[str]) -> None:
        self._jobs("restart", services)

    def stop(self, services: Sequence[str]) -> None:
        # Blocking, so that a removed workspace's files are deleted only after it stopped.
        if services:
            logger.info("systemctl --user stop %s", " ".join(services))
            self._call("stop", *services, check=False)

    def reset_failed(self, services: Sequence[str]) -> None:
        """Clear the failed state and the start rate counter of services.

        A rollback, or syncs in quick succession, can exceed systemd's default start limit
        (StartLimitBurst=5 in StartLimitIntervalSec=10s), after which systemd rejects a start.
        """
        if services:
            self._call("reset-failed", *services, check=False)

    def enable_now(self, units: Sequence[str]) -> None:
        self._call("enable", "--now", *units)

    def disable_now(self, units: Sequence[str]) -> None:
        self._call("disable", "--now", *units, check=False)

    def states(self, services: Iterable[str]) -> dict[str, ServiceState]:
        names = list(services)
        if not names:
            return {}
        properties = "--property=Id,LoadState,ActiveState,SubState,Job"
        result = self._call("show", properties, "--", *names)
        return _parse_show(names, result.stdout)

    def wait_active(self, services: Sequence[str], timeout: float) -> dict[str, ServiceState]:
        """Wait until every service is active; return those not active when it gave up.

        It gives up at the timeout, or as soon as one service has failed, because a failure
        decides the transaction whatever the others do.
        """
        deadline = time.monotonic() + timeout
        while True:
            states = self.states(services)
            waiting = {name: state for name, state in states.items() if not state.active}
            if not waiting or time.monotonic() >= deadline:
                return waiting
            if any(state.failed for state in waiting.values()):
                return waiting
            time.sleep(POLL_INTERVAL)

    def journal(self, service: str, lines: int = JOURNAL_LINES) -> list[str]:
        """Return the last lines the service logged, empty when the journal cannot be read."""
        argv = (
            self.journalctl,
            "--user",
            "--unit",
            service,
            "--lines",
            str(lines),
            "--no-pager",
            "--output",
            "short-iso",
        )
        result = run(argv, check=False, timeout=30)
        return [line for line in result.stdout.splitlines() if not line.startswith("-- ")]

    def _jobs(self, verb: str, services: Sequence[str]) -> None:
        # --no-block: the bounded wait_active decides how long a start may take.
        if services:
            logger.info("systemctl --user %s %s", verb, " ".join(services))
            self._call(verb, "--no-block", *services)

    def _call(self, *arguments: str, check: bool = True) -> Result:
        return run((self.systemctl, "--user", *arguments), check=check, timeout=self.timeout)


def _parse_show(names: list[str], text: str) -> dict[str, ServiceState]:
    blocks = [block for block in text.strip().split("\n\n") if block.strip()]
    states: dict[str, ServiceState] = {}
    for name, block in zip(names, blocks, strict=False):
        fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        states[name] = ServiceState(
            name=name,
            load_state=fields.get("LoadState", ""),
            active_state=fields.get("ActiveState", ""),
            sub_state=fields.get("SubState", ""),
            job=fields.get("Job", ""),
        )
    return states
