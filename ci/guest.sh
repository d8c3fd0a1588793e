#!/usr/bin/env bash
# Build, boot and drive a Debian trixie guest under systemd-nspawn: a real systemd user
# manager with rootless podman 5 for the end-to-end tests. Runs as root. See docs/testing.md.
set -euo pipefail

CACHE_DIR="${WINALUX_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/winalux}"
GUEST_DIR="$CACHE_DIR/guest"
ROOTFS="$GUEST_DIR/rootfs"
READY="$GUEST_DIR/rootfs.ready"
BOOTS="$GUEST_DIR/boots"
BOOT_TIMEOUT="${WINALUX_GUEST_BOOT_TIMEOUT:-90}"
STOP_TIMEOUT="${WINALUX_GUEST_STOP_TIMEOUT:-20}"
SUITE=trixie
BASE_IMAGE=localhost/winalux-test-base:latest
BASE_TARBALL=/var/lib/winalux/base-image.tar
GUEST_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
DEV_UID=1000

PACKAGES=(
  systemd systemd-sysv dbus dbus-user-session libpam-systemd
  podman uidmap passt crun nftables aardvark-dns catatonit busybox-static
  iproute2 procps login passwd ca-certificates
  python3 python3-venv git openssh-client
)

usage() {
  cat <<'EOF'
usage: ci/guest.sh create
       ci/guest.sh boot NAME [--shared-network]
       ci/guest.sh exec NAME -- CMD...      (as root in the guest)
       ci/guest.sh user NAME -- CMD...      (as dev, with the user bus)
       ci/guest.sh copy-in NAME SRC DEST
       ci/guest.sh stop NAME
       ci/guest.sh status
EOF
}

die() {
  echo "guest: $*" >&2
  exit 1
}

log() {
  echo "guest: $*" >&2
}

require_host() {
  [ "$(id -u)" -eq 0 ] || die "must run as root, because systemd-nspawn and debootstrap need it"
  local missing=()
  command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v nsenter >/dev/null || missing+=(util-linux)
  if [ "${#missing[@]}" -gt 0 ]; then
    die "missing host tools. Install them with: apt-get install ${missing[*]}"
  fi
}

check_name() {
  [[ "$1" =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]] || die "invalid machine name '$1': use a-z, 0-9 and -"
}

# --- create -----------------------------------------------------------------------------

cmd_create() {
  mkdir -p "$GUEST_DIR"
  exec 9>"$GUEST_DIR/create.lock"
  flock 9
  if [ -f "$READY" ] && [ -d "$ROOTFS" ]; then
    log "reusing $ROOTFS"
    return
  fi
  local new="$GUEST_DIR/rootfs.new"
  rm -f "$READY"
  rm -rf "$ROOTFS" "$new"
  log "debootstrap $SUITE into $new"
  local include
  include="$(IFS=,; echo "${PACKAGES[*]}")"
  debootstrap --variant=minbase --include="$include" "$SUITE" "$new" >"$GUEST_DIR/debootstrap.log" 2>&1 ||
    die "debootstrap failed. See $GUEST_DIR/debootstrap.log"
  configure_rootfs "$new"
  make_base_tarball "$new"
  prime_user_store "$new"
  mv "$new" "$ROOTFS"
  touch "$READY"
  log "ready: $ROOTFS"
}

configure_rootfs() {
  local root="$1"
  chroot "$root" useradd -m -u "$DEV_UID" -s /bin/bash dev
  mkdir -p "$root/var/lib/systemd/linger"
  touch "$root/var/lib/systemd/linger/dev"
  mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
  ln -sf /usr/lib/systemd/system/network-online.target \
    "$root/etc/systemd/system/multi-user.target.wants/network-online.target"
  mkdir -p "$root/etc/containers/containers.conf.d"
  cat >"$root/etc/containers/containers.conf.d/50-winalux-guest.conf" <<'EOF'
# nspawn gives no pids controller, a read-only /proc/sys and a seccomp filter that denies keyctl.
[containers]
pids_limit = 0
default_sysctls = []
keyring = false
EOF
  write_tun_unit "$root"
  chroot "$root" git config --system --add safe.directory '*'
  echo winalux-guest >"$root/etc/hostname"
  # Nothing logs in on the guest's console, so it needs no getty.
  chroot "$root" systemctl mask console-getty.service >/dev/null 2>&1
}

write_tun_unit() {
  local root="$1"
  cat >"$root/etc/systemd/system/winalux-tun-mode.service" <<'EOF'
[Unit]
Description=Let rootless pasta open /dev/net/tun
DefaultDependencies=no
Before=sysinit.target
ConditionPathExists=/dev/net/tun

[Service]
Type=oneshot
ExecStart=/bin/chmod 0666 /dev/net/tun

[Install]
WantedBy=sysinit.target
EOF
  mkdir -p "$root/etc/systemd/system/sysinit.target.wants"
  ln -sf ../winalux-tun-mode.service "$root/etc/systemd/system/sysinit.target.wants/"
}

# A base image for `podman import`: busybox-static and a link for each of its applets.
make_base_tarball() {
  local root="$1"
  # shellcheck disable=SC2016 # expanded by the guest's shell
  chroot "$root" /bin/sh -euc '
    tree=$(mktemp -d)
    mkdir -p "$tree/bin" "$tree/etc" "$tree/tmp" "$(dirname "$1")"
    cp /bin/busybox "$tree/bin/busybox"
    for applet in $("$tree/bin/busybox" --list); do
      [ -e "$tree/bin/$applet" ] || ln -s busybox "$tree/bin/$applet"
    done
    echo "root:x:0:0:root:/root:/bin/sh" >"$tree/etc/passwd"
    echo "root:x:0:" >"$tree/etc/group"
    chmod 1777 "$tree/tmp"
    tar -C "$tree" -cf "$1" .
    rm -rf "$tree"
  ' sh "$BASE_TARBALL"
}

# Boot the new root filesystem once to import the base image and build podman's pause image
# into dev's store, so that every throw-away copy starts with both.
prime_user_store() {
  local root="$1" name="winalux-create-$$"
  start_guest "$name" "$root" --private-network
  user_cmd "$name" podman import --quiet --change 'CMD ["/bin/sh"]' "$BASE_TARBALL" "$BASE_IMAGE" >/dev/null
  user_cmd "$name" podman pod create --name winalux-prime >/dev/null
  user_cmd "$name" podman pod rm --force winalux-prime >/dev/null
  stop_guest "$name"
  # Every boot copies the tree, so drop what only apt needs: about 165 MB of 630.
  rm -rf "$root/var/log/journal/"* "$root/var/tmp/"* "$root/var/lib/apt/lists/"*
  rm -f "$root/var/cache/apt/archives/"*.deb "$root/var/cache/apt/"*.bin
}

# --- boot and stop ------------------------------------------------------------------------

cmd_boot() {
  local name="${1:-}" network=--private-network
  [ -n "$name" ] || die "boot needs a NAME"
  check_name "$name"
  shift
  case "${1:-}" in
    --shared-network) network="" ;;
    "") ;;
    *) die "unknown boot option '$1'" ;;
  esac
  [ -f "$READY" ] || die "no guest root filesystem yet; run: ci/guest.sh create"
  local state="$BOOTS/$name"
  [ ! -e "$state" ] || die "guest '$name' exists ($state); stop it first"
  mkdir -p "$state"
  cp -a "$ROOTFS" "$state/rootfs"
  start_guest "$name" "$state/rootfs" "$network"
}

# start_guest NAME ROOTFS NETWORK-OPTION: boot in the background, wait for dev's manager.
start_guest() {
  local name="$1" root="$2" network="$3" state="$BOOTS/$1"
  mkdir -p "$state"
  echo "$root" >"$state/rootfs.path"
  # read-only forwards the console to the log. With passive, no process reads the console,
  # so PID 1 blocks on it once the buffer fills (seen at power-off).
  local args=(-b -D "$root" --register=no --keep-unit --console=read-only "--machine=$name")
  [ -z "$network" ] || args+=("$network")
  (
    close_extra_fds
    enter_own_cgroup "$name"
    SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 exec setsid systemd-nspawn "${args[@]}" \
      </dev/null >"$state/console.log" 2>&1
  ) &
  echo "$!" >"$state/nspawn.pid"
  local deadline=$((SECONDS + BOOT_TIMEOUT))
  wait_leader "$name" "$deadline"
  wait_until "$deadline" "the system manager of '$name'" system_up "$name"
  wait_until "$deadline" "dev's user manager in '$name'" user_up "$name"
}

# With --keep-unit nspawn puts the guest under its own cgroup, so guests started from one
# cgroup would share one tree and each would wait at power-off for the others' processes.
# Give each its own cgroup in the cgroup2 tree and, on a hybrid host, in name=systemd.
cgroup_dirs() {
  local mount
  for mount in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd /sys/fs/cgroup; do
    if [ -f "$mount/cgroup.procs" ]; then
      echo "$mount/winalux-guest-$1"
      [ "$mount" != /sys/fs/cgroup ] || return 0
    fi
  done
}

enter_own_cgroup() {
  local dir
  for dir in $(cgroup_dirs "$1"); do
    mkdir -p "$dir"
    echo "$BASHPID" >"$dir/cgroup.procs"
  done
}

remove_own_cgroup() {
  local dir
  for dir in $(cgroup_dirs "$1"); do
    [ ! -d "$dir" ] || find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

# The guest outlives this script: let it hold no pipe or lock of the caller's.
close_extra_fds() {
  local fd
  for fd in /proc/self/fd/*; do
    fd="${fd##*/}"
    if [ "$fd" -gt 2 ]; then
      eval "exec $fd>&-" 2>/dev/null || true
    fi
  done
}

wait_until() {
  local deadline="$1" what="$2"
  shift 2
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      die "timed out after ${BOOT_TIMEOUT}s waiting for $what; see $BOOTS/${2:-}/console.log"
    fi
    sleep 0.2
  done
}

# The guest's PID 1 is the child of the nspawn process once it has become systemd.
wait_leader() {
  local name="$1" deadline="$2" state="$BOOTS/$1" nspawn leader=""
  nspawn="$(cat "$state/nspawn.pid")"
  while [ -z "$leader" ]; do
    kill -0 "$nspawn" 2>/dev/null || die "systemd-nspawn exited; see $state/console.log"
    [ "$SECONDS" -lt "$deadline" ] || die "timed out waiting for the guest's PID 1"
    leader="$(find_leader "$nspawn")"
    [ -n "$leader" ] || sleep 0.1
  done
  echo "$leader" >"$state/leader.pid"
}

find_leader() {
  local pid
  for pid in $(ps -o pid= --ppid "$1"); do
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = systemd ]; then
      echo "$pid"
      return
    fi
  done
}

system_up() {
  local out
  out="$(root_cmd "$1" systemctl is-system-running --wait 2>/dev/null)" || true
  [ "$out" = running ] || [ "$out" = degraded ]
}

user_up() {
  local out
  out="$(user_cmd "$1" systemctl --user is-system-running --wait 2>/dev/null)" || true
  [ "$out" = running ] || [ "$out" = degraded ]
}

cmd_stop() {
  local name="${1:-}"
  [ -n "$name" ] || die "stop needs a NAME"
  check_name "$name"
  [ -d "$BOOTS/$name" ] || die "no guest '$name'"
  stop_guest "$name"
}

# SIGTERM makes nspawn power the guest off; kill it when that takes too long.
stop_guest() {
  local name="$1" state="$BOOTS/$1" nspawn
  nspawn="$(cat "$state/nspawn.pid" 2>/dev/null || true)"
  if [ -n "$nspawn" ] && is_nspawn "$nspawn"; then
    kill -TERM "$nspawn"
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while is_nspawn "$nspawn" && [ "$SECONDS" -lt "$deadline" ]; do
      sleep 0.1
    done
    if is_nspawn "$nspawn"; then
      log "'$name' did not power off within ${STOP_TIMEOUT}s; killing it"
      kill -KILL "$nspawn"
      while is_nspawn "$nspawn"; do sleep 0.1; done
    fi
  fi
  remove_own_cgroup "$name"
  rm -rf "$state"
}

is_nspawn() {
  [ "$(cat "/proc/$1/comm" 2>/dev/null)" = systemd-nspawn ]
}

# --- commands inside a running guest ----------------------------------------------------

leader_of() {
  local state="$BOOTS/$1" leader
  leader="$(cat "$state/leader.pid" 2>/dev/null)" || die "guest '$1' is not booted"
  [ "$(cat "/proc/$leader/comm" 2>/dev/null)" = systemd ] || die "guest '$1' is not running"
  echo "$leader"
}

root_cmd() {
  local leader
  leader="$(leader_of "$1")"
  shift
  nsenter -t "$leader" -a -- env -i "PATH=$GUEST_PATH" LANG=C.UTF-8 HOME=/root "$@"
}

user_cmd() {
  local name="$1"
  shift
  root_cmd "$name" runuser -u dev -- env -C /home/dev \
    "XDG_RUNTIME_DIR=/run/user/$DEV_UID" \
    "DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/$DEV_UID/bus" "$@"
}

# split NAME -- CMD...: checks the separator and leaves the command in CMD.
split_command() {
  [ "$#" -ge 3 ] && [ "$2" = "--" ] || die "usage: $SUBCOMMAND NAME -- CMD..."
  check_name "$1"
  NAME="$1"
  shift 2
  CMD=("$@")
}

cmd_copy_in() {
  [ "$#" -eq 3 ] || die "usage: copy-in NAME SRC DEST"
  local name="$1" src="$2" dest="$3"
  check_name "$name"
  # shellcheck disable=SC2016 # expanded by the guest's shell
  if [ -d "$src" ]; then
    tar -C "$src" -cf - . | root_cmd "$name" sh -euc \
      'mkdir -p "$1"; tar -C "$1" --no-same-owner --no-overwrite-dir -xf -' sh "$dest"
  elif [ -f "$src" ]; then
    local mode
    mode="$(stat -c %a "$src")"
    # shellcheck disable=SC2016 # expanded by the guest's shell
    root_cmd "$name" sh -euc 'mkdir -p "$(dirname "$1")"; cat >"$1"; chmod "$2" "$1"' \
      sh "$dest" "$mode" <"$src"
  else
    die "copy-in: no file or folder '$src'"
  fi
}

cmd_status() {
  local state name leader
  [ -d "$BOOTS" ] || return 0
  for state in "$BOOTS"/*/; do
    [ -d "$state" ] || continue
    name="$(basename "$state")"
    leader="$(cat "$state/leader.pid" 2>/dev/null || echo -)"
    if [ "$leader" != - ] && [ "$(cat "/proc/$leader/comm" 2>/dev/null)" = systemd ]; then
      echo "$name running leader=$leader"
    else
      echo "$name stopped (stale state; run: ci/guest.sh stop $name)"
    fi
  done
}

main() {
  SUBCOMMAND="${1:-}"
  [ -n "$SUBCOMMAND" ] || { usage >&2; exit 2; }
  shift
  case "$SUBCOMMAND" in
    -h | --help) usage ;;
    create) require_host; cmd_create ;;
    boot) require_host; cmd_boot "$@" ;;
    exec) require_host; split_command "$@"; root_cmd "$NAME" "${CMD[@]}" ;;
    user) require_host; split_command "$@"; user_cmd "$NAME" "${CMD[@]}" ;;
    copy-in) require_host; cmd_copy_in "$@" ;;
    stop) require_host; cmd_stop "$@" ;;
    status) cmd_status ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
