# Put the workspace's venv first on PATH in login shells, after /etc/profile has reset PATH.
# shellcheck shell=sh
if [ -d "$HOME/.venv/bin" ]; then
  VIRTUAL_ENV="$HOME/.venv"
  PATH="$VIRTUAL_ENV/bin:$PATH"
  export VIRTUAL_ENV PATH
fi
