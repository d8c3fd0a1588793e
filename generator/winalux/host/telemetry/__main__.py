"""Run the telemetry collector: `python -m winalux.host.telemetry [--once] [--interval S]`."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path

from winalux.host.telemetry import telemetry_root
from winalux.host.telemetry.cgroups import find_cgroup2_mount
from winalux.host.telemetry.collector import DEFAULT_INTERVAL_S, Collector
from winalux.host.telemetry.discover import discover_or_log
from winalux.host.telemetry.storage import Scanner

logger = logging.getLogger("winalux.host.telemetry")


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="winalux-collector",
        description="Measure every workspace pod of this user and write its figures.",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_INTERVAL_S,
        help="seconds between samples (default: %(default)s)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="folder of the per-workspace folders (default: $XDG_STATE_HOME/winalux/telemetry)",
    )
    parser.add_argument("--podman", default="podman", help="podman binary (default: podman)")
    parser.add_argument(
        "--once",
        action="store_true",
        help="take two samples one interval apart, print them as JSON, exit",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log more: -v for each discovery and scan, -vv for commands run",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse_arguments(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level={0: logging.WARNING, 1: logging.INFO}.get(options.verbose, logging.DEBUG),
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    mount = find_cgroup2_mount()
    if mount is None:
        logger.error(
            "no cgroup2 file system is mounted; the collector measures pods only through cgroup v2"
        )
        return 1
    collector = Collector(
        output=options.output or telemetry_root(),
        discover=lambda: discover_or_log(options.podman),
        mount=mount,
        scanner=Scanner(),
        interval=options.interval,
    )
    if options.once:
        return sample_twice(collector, options.interval)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    collector.run(stop)
    return 0


def sample_twice(collector: Collector, interval: float) -> int:
    collector.sample_all()
    threading.Event().wait(interval)
    # The first sample started the storage scans; their results belong in the output.
    collector.scanner.wait_idle(timeout=600)
    figures = collector.sample_all()
    json.dump(figures, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
