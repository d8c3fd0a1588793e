#!/usr/bin/env bash
# Install everything the test suite needs on a bare Debian machine with Python 3.11 and pip.
# Runs as root (apt-get, npm --global); safe to run again. Used by the README's test command
# and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
apt_packages=(
  git
  # The systemd-nspawn test guest (ci/guest.sh); procps gives it ps.
  debootstrap systemd-container procps
  # ssh and ssh-keygen, for the signed-commit tests and the workspace image's logins.
  openssh-client
  # The workspace image's sshd, gatekeeper and shells run on this machine (tests/images):
  # sshd and sftp-server, a terminal to type into, and setpriv/nsenter/unshare.
  openssh-server tmux util-linux
  # The image's scripts run on Debian's /usr/bin/python3, whose venv-sync reads YAML.
  python3-yaml
  # The GitLab pipeline's tests (tests/ci): curl for the merge request note, qemu-user-static
  # so that the image build can run arm64 steps, and a registry with htpasswd logins.
  curl qemu-user-static binfmt-support docker-registry apache2-utils
)
# gitlab-ci-local runs the pipeline's jobs; versions from 4.74 on need Node.js 22.
command -v npm >/dev/null 2>&1 || apt_packages+=(nodejs npm)

if [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
  npm install --global --silent --no-fund --no-audit gitlab-ci-local@4.73.0 >/dev/null
else
  echo "install-test-deps: not root, skipping apt packages and gitlab-ci-local:" \
    "${apt_packages[*]}" >&2
fi

python3 -m pip install --quiet --disable-pip-version-check -e '.[test,ci]'

ci/fetch-quadlet.sh >/dev/null
