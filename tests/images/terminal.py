"""A real terminal for interactive tests: a program under tmux, typed into and read back."""

from __future__ import annotations

import shlex
import subprocess
import time
import uuid
from types import TracebackType


class Terminal:
    """Run argv in a detached tmux session on a private server; type keys and read the screen."""

    def __init__(self, argv: list[str], width: int = 120, height: int = 50) -> None:
        self.socket = f"winalux-test-{uuid.uuid4().hex[:12]}"
        self.argv = argv
        self.size = (str(width), str(height))

    def __enter__(self) -> Terminal:
        command = shlex.join(self.argv) + "; sleep 30"
        self._tmux("new-session", "-d", "-s", "main", "-x", self.size[0], "-y", self.size[1],
                   command)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)

    def type(self, text: str) -> None:
        for index, part in enumerate(text.split("\n")):
            if index:
                self._tmux("send-keys", "-t", "main", "Enter")
            if part:
                self._tmux("send-keys", "-t", "main", "-l", part)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "main", "-S", "-200").stdout

    def wait_for(self, text: str, timeout: float = 30) -> str:
        """Return the screen once it shows `text`; fail with the screen after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"terminal never showed {text!r}; screen:\n{screen}")
            time.sleep(0.1)

    def _tmux(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, check=True)
