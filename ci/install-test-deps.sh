#!/usr/bin/env bash
# Install everything the test suite needs on a bare Debian machine with Python 3.11 and pip.
# Runs as root (apt-get); safe to run again. Used by the README's test command and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
apt_packages=(
  git
)
if [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
else
  echo "install-test-deps: not root, skipping apt packages: ${apt_packages[*]}" >&2
fi

python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'

ci/fetch-quadlet.sh >/dev/null
