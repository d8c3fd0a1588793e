"""The one gateway through which winalux starts other programs.

Every call takes an argv sequence (never a shell string), logs it at DEBUG with the values
of `secrets` masked, and raises CommandError with the command, exit status and output when
the program fails, is missing or times out.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

logger = logging.getLogger(__name__)

MASK = "********"


class CommandError(Exception):
    """A program run through `run` failed, was not found or timed out."""

    def __init__(
        self,
        argv: Sequence[str],
        returncode: int | None,
        stdout: str,
        stderr: str,
        reason: str = "",
    ) -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.reason = reason
        super().__init__(self._describe())

    def _describe(self) -> str:
        command = " ".join(self.argv)
        if self.reason:
            head = f"command {command!r} {self.reason}"
        else:
            head = f"command {command!r} failed with exit status {self.returncode}"
        parts = [head]
        for label, text in (("stdout", self.stdout), ("stderr", self.stderr)):
            if text.strip():
                indented = "\n".join("    " + line for line in text.rstrip().splitlines())
                parts.append(f"  {label}:\n{indented}")
        return "\n".join(parts)


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def mask(argv: Sequence[str], secrets: Sequence[str]) -> list[str]:
    """Return argv with every occurrence of a secret value replaced by a mask."""
    masked = []
    for arg in argv:
        for secret in secrets:
            if secret:
                arg = arg.replace(secret, MASK)
        masked.append(arg)
    return masked


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    input: str | bytes | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = 120,
    secrets: Sequence[str] = (),
) -> Result:
    """Run argv to completion and return its exit status and decoded output.

    `env` entries are added to the current environment. `input` goes to standard input,
    which is the only way a secret should reach a child: argv is visible to every local
    user in /proc. With `check`, a non-zero exit raises CommandError. The masked argv,
    stdout and stderr are what the error and the DEBUG log show.
    """
    shown = mask(argv, secrets)
    logger.debug("run %s", " ".join(shown))
    full_env = None
    if env is not None:
        full_env = {**os.environ, **env}
    text = not isinstance(input, bytes)
    try:
        completed = subprocess.run(
            list(argv),
            input=input,
            capture_output=True,
            env=full_env,
            cwd=cwd,
            timeout=timeout,
            check=False,
            text=text,
        )
    except FileNotFoundError as err:
        raise CommandError(shown, None, "", "", reason="not found: is it installed?") from err
    except OSError as err:
        raise CommandError(shown, None, "", "", reason=f"cannot be run: {err.strerror}") from err
    except subprocess.TimeoutExpired as err:
        raise CommandError(
            shown,
            None,
            _decode(err.stdout),
            _decode(err.stderr),
            reason=f"timed out after {timeout} s",
        ) from err
    stdout = _decode(completed.stdout)
    stderr = _decode(completed.stderr)
    result = Result(tuple(argv), completed.returncode, stdout, stderr)
    if check and completed.returncode != 0:
        raise CommandError(
            shown,
            completed.returncode,
            "\n".join(mask([stdout], secrets)),
            "\n".join(mask([stderr], secrets)),
        )
    return result


def _decode(data: str | bytes | None) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return data
