#!/usr/bin/env bash
# CI job "render": render every workspace into rendered/ and check the units with podman's
# own Quadlet generator (fetched by ci/fetch-quadlet.sh) in dry-run mode.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

out=${WINALUX_RENDER_DIR:-rendered}
require_commands winalux

WINALUX_QUADLET=$(ci/fetch-quadlet.sh)
export WINALUX_QUADLET
log "checking with $WINALUX_QUADLET ($("$WINALUX_QUADLET" -version))"
winalux render --out "$out" --check
