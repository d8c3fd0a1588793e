#!/usr/bin/env bash
# Install everything the test suite needs on a bare Debian machine with Python 3.11 and pip.
# Runs as root (apt-get); safe to run again. Used by the README's test command and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
apt_packages=(
  git
  # The systemd-nspawn test guest (ci/guest.sh); procps gives it ps.
  debootstrap systemd-container procps
  # ssh-keygen, for the sync agent's signed-commit tests.
  openssh-client
  # The workspace image's sshd, gatekeeper and shells run on this machine (tests/images):
  # sshd and sftp-server, a terminal to type into, and setpriv/nsenter/unshare.
  openssh-server tmux util-linux
  # A system-wide Python package for the venv test (tests/images/test_venv_sync.py).
  python3-yaml
)
if [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
else
  echo "install-test-deps: not root, skipping apt packages: ${apt_packages[*]}" >&2
fi

python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'

ci/fetch-quadlet.sh >/dev/null

# The GitLab pipeline's tests (tests/ci): the job tools from the "ci" extra, curl for the
# merge request note, gitlab-ci-local (4.74 and newer need Node.js 22) to run the jobs,
# qemu-user-static so that the image build test can run arm64 steps, and a registry with
# htpasswd logins for it to push to.
ci_apt_packages=(curl qemu-user-static binfmt-support docker-registry apache2-utils)
command -v npm >/dev/null 2>&1 || ci_apt_packages+=(nodejs npm)
if [ "$(id -u)" -eq 0 ]; then
  apt-get install -y -qq --no-install-recommends "${ci_apt_packages[@]}" >/dev/null
  npm install --global --silent --no-fund --no-audit gitlab-ci-local@4.73.0 >/dev/null
else
  echo "install-test-deps: not root, skipping: ${ci_apt_packages[*]} gitlab-ci-local" >&2
fi
python3 -m pip install --quiet --disable-pip-version-check -e '.[ci]'
