"""A real container registry (Debian's docker-registry, the CNCF distribution server) on
127.0.0.1 with htpasswd login, started by a test and stopped by its process id."""

from __future__ import annotations

import base64
import json
import secrets
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from winalux.run import run

START_TIMEOUT = 20.0
# Media types a manifest list or index may be served as.
LIST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


@dataclass(frozen=True)
class Registry:
    """Address and credentials of a running registry."""

    address: str
    user: str
    password: str

    def get(self, path: str, accept: tuple[str, ...] = ()) -> Any:
        request = urllib.request.Request(f"http://{self.address}/v2/{path}")
        pair = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {pair}")
        if accept:
            request.add_header("Accept", ", ".join(accept))
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _write_config(folder: Path, port: int, user: str, password: str) -> Path:
    # The distribution server reads bcrypt entries only (-B); -i takes the password on stdin.
    htpasswd = folder / "htpasswd"
    entry = run(["htpasswd", "-n", "-B", "-i", user], input=password, secrets=[password])
    htpasswd.write_text(entry.stdout.strip() + "\n", encoding="utf-8")
    config = folder / "config.yml"
    config.write_text(
        "version: 0.1\n"
        f"storage:\n  filesystem:\n    rootdirectory: {folder / 'storage'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
        f"auth:\n  htpasswd:\n    realm: winalux-tests\n    path: {htpasswd}\n",
        encoding="utf-8",
    )
    return config


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"docker-registry exited: {log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"docker-registry did not listen on 127.0.0.1:{port} in {START_TIMEOUT} s")


@contextmanager
def registry(folder: Path) -> Iterator[Registry]:
    """Run a registry with one random user and password until the block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    user, password = "ci-builder", secrets.token_urlsafe(24)
    config = _write_config(folder, port, user, password)
    log = folder / "registry.log"
    with log.open("wb") as output:
        # A long-running server: the one subprocess that cannot go through winalux.run.run.
        process = subprocess.Popen(["docker-registry", "serve", str(config)],
                                   stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_for(port, process, log)
        yield Registry(f"127.0.0.1:{port}", user, password)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
