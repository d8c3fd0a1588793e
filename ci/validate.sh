#!/usr/bin/env bash
# CI job "validate": check every workspace file and the rules across files with the generator.
# Each problem is printed as FILE:LINE:COLUMN: FIELD: VALUE: what is wrong; what to write.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

require_commands winalux
winalux validate
