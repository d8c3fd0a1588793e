"""Parsing `systemctl --user show` output, as captured from systemd 257 in the guest."""

from __future__ import annotations

from winalux.host.systemctl import _parse_show

# Properties come in systemd's own order, not the order requested.
SHOWN = """Id=winalux-alice-pod.service
ActiveState=active
SubState=running
Job=128

Id=winalux-alice.workspace.service
ActiveState=deactivating
SubState=stop
Job=149

Id=winalux-alice.home-volume.service
LoadState=loaded
ActiveState=active
SubState=exited
Job=
"""


def test_pending_job_is_not_active() -> None:
    names = ["winalux-alice-pod.service", "winalux-alice.workspace.service",
             "winalux-alice.home-volume.service"]
    states = _parse_show(names, SHOWN)
    assert not states["winalux-alice-pod.service"].active
    assert states["winalux-alice-pod.service"].job == "128"
    assert not states["winalux-alice.workspace.service"].active
    assert states["winalux-alice.home-volume.service"].active
    assert "job 128 pending" in states["winalux-alice-pod.service"].describe()


def test_not_found_unit_counts_as_failed() -> None:
    shown = "Id=winalux-x-pod.service\nLoadState=not-found\nActiveState=inactive\nSubState=dead\n"
    state = _parse_show(["winalux-x-pod.service"], shown)["winalux-x-pod.service"]
    assert state.failed
    assert not state.active
