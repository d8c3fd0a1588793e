#!/usr/bin/env python3
"""Convert `winalux validate` problem lines into a GitLab code quality report on stdout.

Each line FILE:LINE:COLUMN: MESSAGE becomes one issue, so that a merge request shows every
invalid field beside the line of the workspace file it is on. Other lines are ignored.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

PROBLEM = re.compile(r"^(?P<path>[^:\s][^:]*):(?P<line>\d+):(?P<column>\d+): (?P<message>.+)$")


def issues(text: str) -> list[dict[str, object]]:
    found = []
    for line in text.splitlines():
        match = PROBLEM.match(line)
        if not match:
            continue
        found.append({
            "description": match["message"],
            "check_name": "winalux-validate",
            # Stable across pipelines while the problem stays, as GitLab's diffing needs.
            "fingerprint": hashlib.sha256(line.encode("utf-8")).hexdigest(),
            "severity": "major",
            "location": {"path": match["path"], "lines": {"begin": int(match["line"])}},
        })
    return found


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: ci/codequality.py VALIDATE_OUTPUT", file=sys.stderr)
        return 2
    text = Path(sys.argv[1]).read_text(encoding="utf-8", errors="replace")
    json.dump(issues(text), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
