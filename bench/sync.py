"""Benchmark of `winalux sync` on a host: a sync that changes nothing, at 10 to 1000 workspaces.

Each row is the median of --runs whole `winalux sync` processes (wall time, peak resident
memory of the process), beside the floor measured in the same run: a bare Python start-up
plus a bare `git fetch` of the same local remote. Two cases:

  applied   the head is the applied commit and no unit was edited: the agent stops after
            the fetch and the drift check.
  new head  a commit that touches no workspace of the host: the agent loads, validates and
            renders everything, plans, and finds nothing to change.

No case calls systemctl: the units and state of a successful sync are written by the same
functions the agent uses, so no systemd is needed. Run from the project root:

    python3 bench/sync.py [--sizes 10,100,1000] [--runs 5]

With --guest it also measures, in the systemd-nspawn guest of ci/guest.sh, the time from a
push to the changed pod being active under the installed timer.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT), str(PROJECT / "generator")]

from tests.host.guest_agent import (  # noqa: E402
    GUEST_HOST,
    Agent,
    booted,
    import_test_image,
    install_winalux,
    unavailable_reason,
)
from tests.host.workspace_repo import WorkspaceRepo, git, workspace_yaml  # noqa: E402

from winalux import __version__  # noqa: E402
from winalux.host import state, units  # noqa: E402
from winalux.host.checkout import update_checkout  # noqa: E402
from winalux.host.paths import HostPaths  # noqa: E402
from winalux.quadlet.render import render  # noqa: E402
from winalux.spec import load_repository  # noqa: E402

HOST = "bench-host"
GNU_TIME = "/usr/bin/time"


def measure(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Run argv once; return its wall time in seconds and peak resident memory in MB.

    GNU time reports the peak RSS of the command itself. getrusage of a child from this
    parent would count the pages the child had before exec, which are this parent's.
    """
    started = time.perf_counter()
    result = subprocess.run([GNU_TIME, "-f", "%M", *argv], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{result.stderr}")
    return elapsed, int(result.stderr.strip().splitlines()[-1]) // 1024


def median_of(runs: int, argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    results = [measure(argv, env) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def make_repository(folder: Path, size: int) -> WorkspaceRepo:
    repo = WorkspaceRepo.create(folder / "repo")
    for index in range(size):
        name = f"ws{index:04d}"
        repo.write(f"workspaces/{name}.yml",
                   workspace_yaml(name, HOST, 10000 + 2 * index, image="localhost/bench:1"))
    repo.push(f"Add {size} workspaces")
    return repo


def seed_applied(repo: WorkspaceRepo, paths: HostPaths) -> None:
    """Leave the units and state a successful sync of the head would leave."""
    commit = update_checkout(str(repo.remote), "main", paths.checkout)
    new = render(load_repository(paths.checkout), HOST)
    units.write_folder(new.files, paths.units)
    units.write_folder(new.files, paths.applied)
    record = state.State(result="ok", applied_commit=commit, attempted_commit=commit,
                         applied_version=__version__, applied_host=HOST,
                         files=units.marks(paths.units, new.files))
    state.save(paths.state_file, record)


def bench_size(size: int, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="winalux-bench-") as temporary:
        folder = Path(temporary)
        repo = make_repository(folder, size)
        paths = HostPaths(config_home=folder / "config", state_home=folder / "state")
        seed_applied(repo, paths)
        env = {**os.environ, "XDG_CONFIG_HOME": str(paths.config_home),
               "XDG_STATE_HOME": str(paths.state_home),
               "PYTHONPATH": str(PROJECT / "generator")}
        sync = [sys.executable, "-c", "from winalux.cli import main; main()", "sync",
                "--repo", str(repo.remote), "--host", HOST]
        applied = median_of(runs, sync, env)

        python_floor = median_of(runs, [sys.executable, "-c", "pass"], env)
        import_floor = median_of(runs, [sys.executable, "-c", "import winalux.cli"], env)
        fetch_floor = median_of(runs, ["git", "-C", str(paths.checkout), "fetch", "-q",
                                       "origin"], env)

        new_head = []
        for run in range(runs):
            repo.write("README.md", f"bench run {run}\n")
            repo.push(f"Touch the README ({run})")
            new_head.append(measure(sync, env))
        log = git(paths.state_home, "-C", str(paths.checkout), "log", "-1", "--format=%s")
        assert log.startswith("Touch the README"), log
    return {
        "size": size,
        "applied": applied,
        "new_head": (statistics.median(r[0] for r in new_head), max(r[1] for r in new_head)),
        "floor": python_floor[0] + fetch_floor[0],
        "floor_mb": max(python_floor[1], fetch_floor[1]),
        "import": import_floor,
    }


def bench_guest(runs: int, interval: int) -> None:
    """Print the time from a push to the changed pod active, under the installed timer."""
    reason = unavailable_reason()
    if reason:
        raise SystemExit(f"guest benchmark skipped: {reason}")
    with tempfile.TemporaryDirectory() as temporary, booted(f"bench-{os.getpid()}") as guest:
        install_winalux(guest, Path(temporary))
        import_test_image(guest)
        agent = Agent.create(guest)
        agent.repo.set_workspaces({"pia": workspace_yaml("pia", GUEST_HOST, 2600)}, "Add pia")
        agent.sync(check=True)
        agent.winalux("host", "install", "--repo", agent.remote_in_guest, "--host", GUEST_HOST,
                      "--interval", f"{interval}s", check=True)
        latencies = [_push_to_active(agent, run) for run in range(runs)]
    print()
    print("| timer interval | runs | push to changed pod active: median / max s | target |")
    print("| ---: | ---: | ---: | ---: |")
    print(f"| {interval} s | {runs} | {statistics.median(latencies):.1f} / {max(latencies):.1f} "
          f"| {interval + 5} s |")


def _push_to_active(agent: Agent, run: int) -> float:
    before = agent.container_id("winalux-pia.workspace")
    agent.repo.set_workspaces(
        {"pia": workspace_yaml("pia", GUEST_HOST, 2600, extra=f"disk_limit_gb: {11 + run}\n")},
        f"Resize pia ({run})",
    )
    pushed = time.monotonic()
    while time.monotonic() - pushed < 600:
        current = agent.container_id("winalux-pia.workspace")
        if current and current != before and agent.is_active("winalux-pia-pod.service") == "active":
            return time.monotonic() - pushed
        time.sleep(0.1)
    raise SystemExit("the changed pod did not come up within 600 s")


def print_table(rows: list[dict[str, Any]]) -> None:
    print("| workspaces | no-op, applied head: s / MB | no-op, new head: s / MB "
          "| floor, python + git fetch: s / MB | `import winalux.cli`: s / MB |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        applied, new_head, imported = row["applied"], row["new_head"], row["import"]
        print(f"| {row['size']} | {applied[0]:.3f} / {applied[1]} "
              f"| {new_head[0]:.3f} / {new_head[1]} "
              f"| {row['floor']:.3f} / {row['floor_mb']} "
              f"| {imported[0]:.3f} / {imported[1]} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--guest", action="store_true",
                        help="also measure push-to-active in the nspawn guest (root only)")
    parser.add_argument("--interval", type=int, default=10,
                        help="timer interval in seconds for --guest")
    options = parser.parse_args()
    rows = [bench_size(int(size), options.runs) for size in options.sizes.split(",")]
    print_table(rows)
    if options.guest:
        bench_guest(options.runs, options.interval)


if __name__ == "__main__":
    main()
