#!/usr/bin/env bash
# CI job "validate": check every workspace file and the rules across files with the generator.
# Each problem is printed as FILE:LINE:COLUMN: FIELD: VALUE: what is wrong; what to write, and
# collected in reports/codequality.json for the merge request's code quality widget.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

require_commands winalux python3
mkdir -p reports
status=0
winalux validate 2>reports/validate.txt || status=$?
cat reports/validate.txt >&2
ci/codequality.py reports/validate.txt >reports/codequality.json
exit "$status"
