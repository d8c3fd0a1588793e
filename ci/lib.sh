#!/usr/bin/env bash
# Functions shared by the CI job scripts, which source this file. Moves to the repository root and
# puts this checkout's generator first on PYTHONPATH, so a job checks the code it was given.
# shellcheck disable=SC2034 # variables are used by the scripts that source this file
set -euo pipefail

ci_name=$(basename "$0" .sh)
ci_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ci_root" || exit 1
export PYTHONPATH="$ci_root/generator${PYTHONPATH:+:$PYTHONPATH}"

log() {
  printf '%s: %s\n' "$ci_name" "$*" >&2
}

die() {
  log "error: $*"
  exit 1
}

# Fail unless every named command is on PATH, naming what to install.
require_commands() {
  local command missing=()
  for command in "$@"; do
    command -v "$command" >/dev/null 2>&1 || missing+=("$command")
  done
  [ "${#missing[@]}" -eq 0 ] ||
    die "missing commands: ${missing[*]}; run ci/setup-job.sh or ci/install-test-deps.sh"
}

# Print the repository's tracked and untracked (not ignored) files, NUL-separated.
repository_files() {
  git ls-files -z --cached --others --exclude-standard
}
