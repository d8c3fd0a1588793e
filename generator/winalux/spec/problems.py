"""Problems found in workspace files, each pointing at a file, line, field and value."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One invalid value: where it is, what is wrong with it, and what to write instead."""

    file: str
    line: int
    column: int
    field: str
    value: str
    message: str
    fix: str

    def format(self) -> str:
        """Format as `file:line:column: field: 'value': message; fix`."""
        parts = [f"{_printable(self.file)}:{self.line}:{self.column}"]
        if self.field:
            parts.append(_printable(self.field))
        if self.value:
            parts.append(_shown(self.value))
        text = ": ".join(parts) + f": {_printable(self.message)}"
        if self.fix:
            text += f"; {self.fix}"
        return text


class ValidationFailed(Exception):
    """One or more workspace files are invalid; `problems` lists every one found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems)
        count = len(self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in workspace files")

    def report(self) -> str:
        return "\n".join(problem.format() for problem in self.problems)


def _shown(value: str) -> str:
    # A private key pasted where the public one belongs must not reach a CI log.
    if "PRIVATE KEY" in value:
        return "<private key, not shown>"
    if len(value) > 80:
        value = value[:77] + "..."
    return repr(value)


def _printable(text: str) -> str:
    """Escape control characters so that one problem always prints as one line."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
