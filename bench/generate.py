"""Measure how `winalux render` scales with the number of workspaces.

For each size N the script builds a throw-away repository of N valid workspace files in a
temporary folder. It then times these whole processes: `winalux render --out DIR` into a
fresh folder, the same command again when nothing changed, and podman's `quadlet -dryrun
-user` on the result. Two floors come first: `python -c pass` and `python -c "import
winalux.cli"`. The machine facts and markdown tables go to stdout.

Each measurement starts the command under GNU time (`/usr/bin/time -f %M`, package `time`),
which reports the command's peak resident memory. The wall time is taken around that call
with time.perf_counter, so it includes GNU time's own fork and exec (about 1 ms). Reading
ru_maxrss of RUSAGE_CHILDREN in a Python parent would not do, because Linux keeps the peak
RSS a forked child had before exec: under a Python parent holding 200 MB, `true` reports
about 200 MB.

Usage: python bench/generate.py [--sizes 10,100,1000,5000] [--repeat 5] [--tmp DIR]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import random
import shutil
import statistics
import struct
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from winalux import __version__
from winalux.run import run

PROJECT = Path(__file__).resolve().parent.parent
GNU_TIME = "/usr/bin/time"
WORKSPACES_PER_HOST = 500
FIRST_HOST_PORT = 10000
PORTS_PER_WORKSPACE = 5
TARGET_SIZE = 1000
TARGET_SECONDS = 0.5
LIBRARIES = ("requests>=2.32", "django-debug-toolbar>=4.4", "polars==1.17.1", "rich",
             "scikit-learn>=1.5; python_version >= '3.11'", "httpx[http2]>=0.27")
SIDECAR_SETS = ((), ("redis",), ("postgres", "memcached"), (), ("memcached",))
EXTRA_CONTAINER_PORTS = ("7420", "11211", "5353/udp")


@dataclass(frozen=True)
class Sample:
    seconds: float
    max_rss_kb: int


@dataclass(frozen=True)
class Summary:
    median_s: float
    min_s: float
    median_rss_mb: float

    @classmethod
    def of(cls, samples: list[Sample]) -> Summary:
        seconds = [sample.seconds for sample in samples]
        rss = [sample.max_rss_kb / 1024 for sample in samples]
        return cls(statistics.median(seconds), min(seconds), statistics.median(rss))

    def cell(self) -> str:
        return f"{self.median_s:.3f} ({self.min_s:.3f})"


def ssh_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def public_key(rng: random.Random, index: int) -> str:
    """Return a well-formed public key line: mostly ed25519, every seventh a 3072-bit RSA."""
    if index % 7 == 6:
        modulus = b"\x00" + bytes([0x80 | rng.randrange(128)]) + rng.randbytes(383)
        blob = ssh_string(b"ssh-rsa") + ssh_string(b"\x01\x00\x01") + ssh_string(modulus)
        key_type = "ssh-rsa"
    else:
        blob = ssh_string(b"ssh-ed25519") + ssh_string(rng.randbytes(32))
        key_type = "ssh-ed25519"
    return f"{key_type} {base64.b64encode(blob).decode()} dev{index}@laptop"


def yaml_list(field: str, items: list[str]) -> list[str]:
    if not items:
        return []
    return [f"{field}:", *(f"  - {json.dumps(item)}" for item in items)]


def workspace_text(index: int, rng: random.Random) -> str:
    """Return the YAML of workspace number index, whose host and ports follow from the index."""
    host_number, slot = divmod(index, WORKSPACES_PER_HOST)
    port = FIRST_HOST_PORT + slot * PORTS_PER_WORKSPACE
    extra_count = index % (len(EXTRA_CONTAINER_PORTS) + 1)
    extra = [f"{port + 2 + n}:{EXTRA_CONTAINER_PORTS[n]}" for n in range(extra_count)]
    libraries = list(LIBRARIES[index % 4 : index % 4 + index % 3])
    lines = [
        f"name: dev-{index:05d}",
        f"profile: {'data' if index % 3 == 2 else 'web'}",
        f"host: devbox-{host_number + 1}",
        f"ssh_port: {port}",
        f"app_port: {port + 1}",
        f"public_key: {public_key(rng, index)}",
        *yaml_list("libraries", libraries),
        *yaml_list("extra_ports", extra),
        *yaml_list("sidecars", list(SIDECAR_SETS[index % len(SIDECAR_SETS)])),
    ]
    lines += limit_lines(index)
    return "\n".join(lines) + "\n"


def limit_lines(index: int) -> list[str]:
    lines = [f"disk_limit_gb: {5 + index % 50}"]
    if index % 2:
        lines += [f"memory_limit_gb: {1 + index % 8}", f"cpus: {0.5 + index % 4}"]
    if index % 5 == 4:
        lines.append("allow_tcp_forwarding: false")
    if index % 11 == 10:
        lines.append("image: registry.example.com/team/custom-web:1.2.0")
    return lines


def build_repository(root: Path, count: int) -> None:
    """Lay out a repository at root with the project's templates and `count` workspace files."""
    shutil.copytree(PROJECT / "templates", root / "templates")
    (root / "images").mkdir()
    shutil.copy2(PROJECT / "images" / "profiles.yml", root / "images" / "profiles.yml")
    folder = root / "workspaces"
    folder.mkdir()
    rng = random.Random(count)
    for index in range(count):
        (folder / f"dev-{index:05d}.yml").write_text(workspace_text(index, rng), encoding="utf-8")


def sample(argv: list[str], env: dict[str, str] | None = None) -> Sample:
    """Run argv once under GNU time and return its wall time and peak RSS."""
    with tempfile.NamedTemporaryFile("r", prefix="winalux-bench-rss-") as rss:
        start = time.perf_counter()
        run([GNU_TIME, "-f", "%M", "-o", rss.name, *argv], env=env, timeout=900)
        seconds = time.perf_counter() - start
        max_rss_kb = int(rss.read().split()[-1])
    return Sample(seconds, max_rss_kb)


def winalux_command() -> list[str]:
    """Return the console script beside this interpreter, skipping any pyenv-style shim."""
    script = Path(sys.executable).parent / "winalux"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from winalux.cli import main; sys.exit(main())"]


def measure_size(count: int, repeat: int, quadlet: str, work: Path) -> dict[str, Summary]:
    """Return the summaries of validate, fresh render, unchanged render and dry run for count.

    `winalux validate` loads, validates and renders in memory without writing, which is the
    work that the render commands add file writes to.
    """
    repo = work / f"repo-{count}"
    build_repository(repo, count)
    validate = [*winalux_command(), "validate", "--repo", str(repo)]
    render = [*winalux_command(), "render", "--repo", str(repo), "--out"]
    runs: dict[str, list[Sample]] = {"validate": [], "fresh": [], "unchanged": [], "quadlet": []}
    for attempt in range(repeat):
        runs["validate"].append(sample(validate))
        out = work / f"out-{count}-{attempt}"
        runs["fresh"].append(sample([*render, str(out)]))
        runs["unchanged"].append(sample([*render, str(out)]))
        env = {"QUADLET_UNIT_DIRS": str(out)}
        runs["quadlet"].append(sample([quadlet, "-dryrun", "-user"], env))
        shutil.rmtree(out)
    shutil.rmtree(repo)
    return {name: Summary.of(samples) for name, samples in runs.items()}


def measure_floors(repeat: int) -> dict[str, Summary]:
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import winalux.cli'": [sys.executable, "-c", "import winalux.cli"],
    }
    return {
        label: Summary.of([sample(argv) for _ in range(repeat)])
        for label, argv in commands.items()
    }


def machine_facts(quadlet: str) -> list[str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    quadlet_version = run([quadlet, "-version"]).stdout.strip()
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores",
        f"- OS: {platform.platform()}",
        f"- Python: {platform.python_version()} ({sys.executable})",
        f"- winalux: {__version__}; quadlet: {quadlet_version} ({quadlet})",
    ]


def timing_table(results: dict[int, dict[str, Summary]], floors: dict[str, Summary]) -> list[str]:
    lines = [
        "| workspaces | validate: s median (min) | MB | render, fresh out: s median (min) | MB"
        " | render, unchanged: s median (min) | MB | quadlet -dryrun: s median (min) | MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for count, row in results.items():
        cells = [f"{row[name].cell()} | {row[name].median_rss_mb:.1f}"
                 for name in ("validate", "fresh", "unchanged", "quadlet")]
        lines.append(f"| {count} | " + " | ".join(cells) + " |")
    for label, floor in floors.items():
        lines.append(f"| floor: `{label}` | {floor.cell()} | {floor.median_rss_mb:.1f}"
                     " | | | | | | |")
    return lines


def cost_table(results: dict[int, dict[str, Summary]], floor: Summary) -> list[str]:
    """Return the cost per workspace above the import floor, which should stay flat."""
    lines = [
        "| workspaces | validate: ms/workspace | fresh: ms/workspace | unchanged: ms/workspace"
        " | quadlet: ms/workspace | fresh: KB/workspace |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for count, row in results.items():
        validate = (row["validate"].median_s - floor.median_s) * 1000 / count
        fresh = (row["fresh"].median_s - floor.median_s) * 1000 / count
        unchanged = (row["unchanged"].median_s - floor.median_s) * 1000 / count
        quadlet = row["quadlet"].median_s * 1000 / count
        memory = (row["fresh"].median_rss_mb - floor.median_rss_mb) * 1024 / count
        lines.append(f"| {count} | {validate:.3f} | {fresh:.3f} | {unchanged:.3f} | {quadlet:.3f}"
                     f" | {memory:.1f} |")
    return lines


def verdicts(results: dict[int, dict[str, Summary]], floor: Summary) -> list[str]:
    lines = []
    if TARGET_SIZE in results:
        for name, what in (("validate", "validate and render in memory"),
                           ("fresh", "render into a fresh folder")):
            seconds = results[TARGET_SIZE][name].median_s
            met = "met" if seconds < TARGET_SECONDS else "missed"
            lines.append(f"Target {TARGET_SIZE} workspaces in under {TARGET_SECONDS} s "
                         f"({what}, whole process): {seconds:.3f} s, {met}.")
    counts = sorted(results)
    if len(counts) >= 2:
        small, large = counts[-2], counts[-1]
        ratios = []
        for name in ("validate", "fresh", "unchanged"):
            per_small = (results[small][name].median_s - floor.median_s) / small
            per_large = (results[large][name].median_s - floor.median_s) / large
            ratios.append(f"{name} {per_large / per_small:.2f}")
        memory_small = results[small]["fresh"].median_rss_mb - floor.median_rss_mb
        memory_large = results[large]["fresh"].median_rss_mb - floor.median_rss_mb
        # Below about 100 workspaces the growth over the floor is within the noise.
        if memory_small > 0:
            ratios.append(f"fresh memory {memory_large * small / (memory_small * large):.2f}")
        lines.append(f"Cost per workspace above the import floor, {large} against {small} "
                     f"(1.00 = linear): {', '.join(ratios)}.")
    return lines


def report(sizes: list[int], repeat: int, tmp: str | None) -> None:
    quadlet = run([str(PROJECT / "ci" / "fetch-quadlet.sh")]).stdout.strip()
    floors = measure_floors(repeat)
    results: dict[int, dict[str, Summary]] = {}
    with tempfile.TemporaryDirectory(prefix="winalux-bench-", dir=tmp) as folder:
        for count in sizes:
            print(f"measuring {count} workspaces", file=sys.stderr)
            results[count] = measure_size(count, repeat, quadlet, Path(folder))
    import_floor = floors["python -c 'import winalux.cli'"]
    print("\n".join(machine_facts(quadlet)))
    print(f"- Repositories and output folders under: {tmp or tempfile.gettempdir()}")
    print(f"\nWhole-process wall time and peak RSS, {repeat} runs each:\n")
    print("\n".join(timing_table(results, floors)))
    print("\nCost per workspace (render: above the `import winalux.cli` floor):\n")
    print("\n".join(cost_table(results, import_floor)))
    print()
    print("\n".join(verdicts(results, import_floor)))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,5000",
                        help="comma-separated workspace counts (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs per measurement; the table shows median and min (default: 5)")
    parser.add_argument("--tmp", metavar="DIR",
                        help="folder for the throw-away repositories and output folders, e.g. a "
                        "tmpfs to leave the disk out (default: the system's temporary folder)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    try:
        sizes = [int(size) for size in args.sizes.split(",")]
    except ValueError:
        sys.exit(f"error: invalid --sizes {args.sizes!r}; write counts such as 10,100,1000")
    if args.repeat < 1 or any(size < 1 for size in sizes):
        sys.exit("error: --sizes and --repeat take positive whole numbers")
    if not os.access(GNU_TIME, os.X_OK):
        sys.exit(f"error: {GNU_TIME} not found; install GNU time (Debian package time)")
    report(sizes, args.repeat, args.tmp)


if __name__ == "__main__":
    main()
