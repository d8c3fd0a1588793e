"""Calls to rootless podman for secrets and volumes, each one argv through winalux.run.

Secret values travel on standard input only: an argv is readable by every local user.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from winalux.run import CommandError, run

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Podman:
    """The user's podman, reached through the given binary."""

    binary: str = "podman"
    timeout: float = 120

    def secret_names(self) -> set[str]:
        result = run((self.binary, "secret", "ls", "--format", "{{.Name}}"), timeout=self.timeout)
        return {line.strip() for line in result.stdout.splitlines() if line.strip()}

    def secret_exists(self, name: str) -> bool:
        result = run((self.binary, "secret", "exists", name), check=False, timeout=self.timeout)
        return result.returncode == 0

    def create_secret(self, name: str, value: str, *, replace: bool = False) -> None:
        argv = [self.binary, "secret", "create"]
        if replace:
            argv.append("--replace")
        argv += [name, "-"]
        run(argv, input=value, secrets=(value,), timeout=self.timeout)

    def reveal_secret(self, name: str) -> str:
        argv = (self.binary, "secret", "inspect", "--showsecret", "--format", "{{.SecretData}}")
        try:
            result = run((*argv, name), timeout=self.timeout)
        except CommandError as err:
            # The error carries podman's output, which contains the value on some failures.
            raise CommandError(err.argv, err.returncode, "", err.stderr, err.reason) from None
        return result.stdout.rstrip("\n")

    def remove_secret(self, name: str) -> None:
        run((self.binary, "secret", "rm", "--ignore", name), timeout=self.timeout)

    def volume_names(self) -> list[str]:
        result = run((self.binary, "volume", "ls", "--format", "{{.Name}}"), timeout=self.timeout)
        return sorted(line.strip() for line in result.stdout.splitlines() if line.strip())

    def remove_volume(self, name: str) -> None:
        run((self.binary, "volume", "rm", name), timeout=self.timeout)

    def image_exists(self, image: str) -> bool:
        result = run((self.binary, "image", "exists", image), check=False, timeout=self.timeout)
        return result.returncode == 0

    def pull(self, image: str, timeout: float) -> None:
        run((self.binary, "pull", "--quiet", image), timeout=timeout)

    def version(self) -> str:
        result = run((self.binary, "version", "--format", "{{.Client.Version}}"), timeout=30)
        return result.stdout.strip()
