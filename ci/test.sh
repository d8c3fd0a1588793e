#!/usr/bin/env bash
# CI job "test": install what the test suite needs, then run it with a JUnit report for the
# merge request widget. Tests whose component is missing skip unless WINALUX_TESTS_STRICT=1.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

ci/install-test-deps.sh
mkdir -p reports
python3 -m pytest --junitxml=reports/junit.xml "$@"
