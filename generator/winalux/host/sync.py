"""`winalux sync`: fetch the repository, plan against the last applied units, and apply.

A sync that finds the applied commit, host and winalux version unchanged and no unit edited
by hand stops after the fetch: nothing can have changed. That path imports neither the
workspace loader nor the renderer, which take most of a process's start-up time.
"""

from __future__ import annotations

import logging
import time

from winalux import __version__
from winalux.host import checkout, state, units
from winalux.host.lock import hold
from winalux.host.notify import notify
from winalux.host.outcome import (
    SyncFailed,
    SyncOptions,
    SyncReport,
    Tools,
    record_failure,
    record_success,
)
from winalux.host.paths import HostPaths

logger = logging.getLogger(__name__)

__all__ = ["SyncFailed", "SyncOptions", "SyncReport", "Tools", "sync"]


def sync(options: SyncOptions, paths: HostPaths, tools: Tools) -> SyncReport:
    """Run one sync under the lock; record the result and notify on failure."""
    with hold(paths.lock_file, options.lock_wait):
        record = state.load(paths.state_file)
        started = time.monotonic()
        record.started_at = state.now()
        logger.info(
            "sync start repository=%s branch=%s host=%s dry_run=%s",
            checkout.redact(options.repository),
            options.branch,
            options.host,
            options.dry_run,
        )
        try:
            report = _sync(options, paths, tools, record)
        except SyncFailed as err:
            logger.error("sync failed host=%s: %s", options.host, err)
            if not options.dry_run:
                repeated = record.result == "failed" and record.last_error == str(err)
                record_failure(record, paths, str(err))
                # The timer repeats a failure every interval; notify when it first appears.
                if not repeated:
                    notify(
                        str(err),
                        options.host,
                        record.attempted_commit,
                        options.notify_command,
                        options.notify_url,
                    )
            raise
        logger.info(
            "sync done commit=%s applied=%s seconds=%.2f",
            report.commit[:12],
            report.applied,
            time.monotonic() - started,
        )
        return report


def _sync(options: SyncOptions, paths: HostPaths, tools: Tools, record: state.State) -> SyncReport:
    commit = _fetch(options, paths)
    record.attempted_commit = commit
    record.repository = checkout.redact(options.repository)
    record.branch = options.branch
    drift = units.find_drift(paths.units, record.files)
    for name, change in drift.items():
        logger.warning("drift file=%s change=%s: it is put back by this sync", name, change)
    report = SyncReport(commit=commit, host=options.host, drift=drift)
    if _up_to_date(record, commit, options.host, drift):
        logger.info("sync commit=%s is applied and no unit was edited; nothing to do", commit[:12])
        if not options.dry_run:
            record_success(record, paths, options.host)
        return report
    _reject_known_failure(record, commit, options)

    from winalux.host.plan_apply import plan_and_apply

    return plan_and_apply(options, paths, tools, record, report, drift)


def _fetch(options: SyncOptions, paths: HostPaths) -> str:
    try:
        commit = checkout.update_checkout(options.repository, options.branch, paths.checkout)
        if options.allowed_signers:
            checkout.verify_signature(paths.checkout, commit, options.allowed_signers)
    except checkout.CheckoutError as err:
        raise SyncFailed(f"{err}; running workspaces are unchanged") from err
    logger.info("sync fetched commit=%s", commit[:12])
    return commit


def _up_to_date(record: state.State, commit: str, host: str, drift: dict[str, str]) -> bool:
    return (
        record.result == "ok"
        and record.applied_commit == commit
        and record.applied_host == host
        and record.applied_version == __version__
        and not drift
    )


def _reject_known_failure(record: state.State, commit: str, options: SyncOptions) -> None:
    """Stop a timer from restarting pods every interval for a commit that failed already."""
    if record.rejected_commit != commit or options.retry or options.dry_run:
        return
    raise SyncFailed(
        f"commit {commit[:12]} failed to apply before and was rolled back ({record.last_error}); "
        "push a fix, or run `winalux sync --retry` to try it again"
    )
