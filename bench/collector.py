"""Benchmark the telemetry collector: CPU and memory per workspace, and a storage scan.

Run as root on a host with a writable cgroup2 mount (it makes real cgroups there, each with
real sleeping processes, and removes them afterwards):

    python3 bench/collector.py [--workspaces 1,5,20] [--samples 30] [--files 100000]

Part 1 runs the collector's own process (`python -I -S launch.py`, as its unit does) over N
workspaces, N pods of Quadlet's layout, and reports the CPU time of one sample per workspace
as a share of one core at the 10 s cadence, and the process's peak resident memory. This
host has no podman, so the targets are handed in instead of discovered. Part 2 times a
storage scan of a home with --files files against `du -s` of the same tree. Prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "generator"))

from winalux.host.telemetry.cgroups import find_cgroup2_mount  # noqa: E402
from winalux.host.telemetry.storage import scan  # noqa: E402

CADENCE_S = 10.0
PROCESSES_PER_POD = 4

# The child imports only what the collector's unit loads, then samples the given targets.
CHILD = r"""
import json, os, sys, time, resource
sys.path.insert(0, sys.argv[1])
from pathlib import Path
import winalux.host.telemetry.__main__
from winalux.host.telemetry.collector import Collector
from winalux.host.telemetry.discover import Target
from winalux.host.telemetry.storage import Scanner
spec = json.loads(sys.argv[2])
targets = {name: Target(name, pod_id, tuple(paths), None, None)
           for name, (pod_id, paths) in spec["targets"].items()}
collector = Collector(Path(spec["output"]), lambda: dict(targets), Path(spec["mount"]),
                      Scanner(rootless=False))
collector.sample_all()
started = time.process_time()
for _ in range(spec["samples"]):
    collector.sample_all()
cpu = (time.process_time() - started) / spec["samples"]
status = open("/proc/self/status").read()
rss = {line.split(":")[0]: int(line.split()[1]) for line in status.splitlines()
       if line.startswith(("VmRSS", "VmHWM"))}
print(json.dumps({"cpu_per_sample": cpu, "rss_kb": rss["VmRSS"], "hwm_kb": rss["VmHWM"]}))
"""


def make_pods(mount: Path, base: str, count: int) -> tuple[dict, list[subprocess.Popen]]:
    targets, processes = {}, []
    for index in range(count):
        pod_id = uuid.uuid4().hex * 2
        pod_slice = f"{base}/user.slice/user-libpod_pod_{pod_id}.slice"
        payload = f"{base}/app.slice/winalux-w{index}.workspace.service/libpod-payload-{index}"
        for path in (f"{pod_slice}/libpod-infra{index}.scope/container", payload):
            (mount / path.lstrip("/")).mkdir(parents=True)
        for slot in range(PROCESSES_PER_POD):
            cgroup = payload if slot else f"{pod_slice}/libpod-infra{index}.scope/container"
            process = subprocess.Popen(["sleep", "3600"])
            (mount / cgroup.lstrip("/") / "cgroup.procs").write_text(str(process.pid))
            processes.append(process)
        targets[f"w{index}"] = (pod_id, [pod_slice, payload])
    return targets, processes


def remove_pods(mount: Path, base: str, processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.kill()
        process.wait()
    root = mount / base.lstrip("/")
    for folder in sorted(root.glob("**/"), key=lambda path: -len(path.parts)):
        folder.rmdir()


def measure_collector(mount: Path, count: int, samples: int) -> dict:
    base = f"/winalux-bench-{os.getpid()}"
    targets, processes = make_pods(mount, base, count)
    output = tempfile.mkdtemp(prefix="winalux-bench-")
    try:
        spec = {"targets": targets, "mount": str(mount), "output": output, "samples": samples}
        completed = subprocess.run(
            [sys.executable, "-I", "-S", "-c", CHILD, str(REPO / "generator"), json.dumps(spec)],
            capture_output=True, text=True, check=True)
        return json.loads(completed.stdout)
    finally:
        remove_pods(mount, base, processes)
        shutil.rmtree(output)


def bare_interpreter_kb() -> int:
    code = "print(open('/proc/self/status').read().split('VmRSS:')[1].split()[0])"
    completed = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True,
                               text=True, check=True)
    return int(completed.stdout)


def make_home(root: Path, files: int) -> None:
    per_folder = 1000
    for index in range(files):
        folder = root / f"d{index // per_folder:03d}"
        if index % per_folder == 0:
            folder.mkdir(parents=True)
        (folder / f"f{index}").write_bytes(b"x" * (index % 4096))


def timed(action: object) -> tuple[float, float]:
    """Return wall and CPU seconds (children included) of one call."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    action()  # type: ignore[operator]
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure_scan(files: int, rounds: int) -> dict:
    root = Path(tempfile.mkdtemp(prefix="winalux-bench-home-"))
    try:
        make_home(root, files)
        du = ["du", "-s", str(root)]
        subprocess.run(du, capture_output=True, check=True)
        ours, theirs = [], []
        for _ in range(rounds):
            ours.append(timed(lambda: scan(root, rootless=False)))
            theirs.append(timed(lambda: subprocess.run(du, capture_output=True, check=True)))
        return {
            "scan_wall": statistics.median(wall for wall, _ in ours),
            "scan_cpu": statistics.median(cpu for _, cpu in ours),
            "du_wall": statistics.median(wall for wall, _ in theirs),
            "du_cpu": statistics.median(cpu for _, cpu in theirs),
        }
    finally:
        shutil.rmtree(root)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspaces", default="1,5,20")
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    mount = find_cgroup2_mount()
    if mount is None or not os.access(mount, os.W_OK):
        print("needs root and a writable cgroup2 mount", file=sys.stderr)
        return 1
    print(f"Bare `python3 -I -S`: {bare_interpreter_kb() / 1024:.1f} MB resident.\n")
    print("| workspaces | CPU per sample | per workspace, share of one core at 10 s "
          "| RSS | peak RSS |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for count in (int(item) for item in options.workspaces.split(",")):
        result = measure_collector(mount, count, options.samples)
        share = result["cpu_per_sample"] / count / CADENCE_S * 100
        print(f"| {count} | {result['cpu_per_sample'] * 1000:.2f} ms | {share:.4f} % "
              f"| {result['rss_kb'] / 1024:.1f} MB | {result['hwm_kb'] / 1024:.1f} MB |")
    scan_result = measure_scan(options.files, options.rounds)
    ratio = scan_result["scan_wall"] / scan_result["du_wall"]
    print(f"\n| storage scan of {options.files} files | wall | CPU |")
    print("| --- | ---: | ---: |")
    print(f"| collector's scan | {scan_result['scan_wall']:.3f} s "
          f"| {scan_result['scan_cpu']:.3f} s |")
    print(f"| `du -s` | {scan_result['du_wall']:.3f} s | {scan_result['du_cpu']:.3f} s |")
    print(f"| ratio | {ratio:.2f} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
