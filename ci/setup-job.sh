#!/usr/bin/env bash
# Prepare a CI job's container: install winalux with its test and CI tools from PyPI.
# Does nothing when WINALUX_CI_SKIP_SETUP=1, as in the local pipeline tests.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

if [ "${WINALUX_CI_SKIP_SETUP:-}" = 1 ]; then
  log "WINALUX_CI_SKIP_SETUP=1: using the tools already installed"
  exit 0
fi
require_commands python3 git
python3 -m pip install --quiet --editable '.[test,ci]'
log "installed $(winalux --version)"
