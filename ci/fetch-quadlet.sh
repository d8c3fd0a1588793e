#!/usr/bin/env bash
# Fetch podman's quadlet binary from Debian's podman package (trixie by default) into a per-user
# cache, without installing podman or changing the machine's apt state. Prints the binary's path.
set -euo pipefail
shopt -s inherit_errexit

usage() {
  cat <<'EOF'
Usage: ci/fetch-quadlet.sh [--suite SUITE] [--link] [--refresh]

Downloads Debian's podman package for SUITE (default: trixie) with a private apt
configuration, extracts it under the cache and prints the absolute path of its
usr/libexec/podman/quadlet on stdout. Progress goes to stderr. A cached binary is
reused without network access.

  --suite SUITE  Debian suite to take podman from, for example sid (default: trixie).
  --link         Point the stable link CACHE/quadlet/quadlet at this suite's binary.
                 Fetching trixie sets the link when it is missing or still follows trixie.
  --refresh      Download the package again even when a working binary is cached.

Environment:
  WINALUX_CACHE_DIR   cache root (default: ${XDG_CACHE_HOME:-$HOME/.cache}/winalux)
  WINALUX_DEBIAN_URI  Debian archive URI to use instead of the machine's apt sources
EOF
}

log() {
  printf 'fetch-quadlet: %s\n' "$*" >&2
}

die() {
  log "error: $*"
  exit 1
}

default_suite=trixie
suite=$default_suite
link=false
refresh=false
while [ $# -gt 0 ]; do
  case "$1" in
    --suite)
      [ $# -ge 2 ] || die "--suite needs a value, for example --suite sid"
      suite=$2
      shift 2
      ;;
    --suite=*)
      suite=${1#--suite=}
      shift
      ;;
    --link) link=true; shift ;;
    --refresh) refresh=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
case "$suite" in
  '' | *[!a-z0-9-]*) die "invalid suite name: '$suite' (expected a Debian suite such as trixie or sid)" ;;
esac

cache_root="${WINALUX_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/winalux}/quadlet"
mkdir -p "$cache_root"
cache_root=$(cd "$cache_root" && pwd -P)
binary_in_package=usr/libexec/podman/quadlet
stable_link="$cache_root/quadlet"
suite_link="$cache_root/quadlet-$suite"

# Print the archive URIs of the machine's Debian release entries (no -updates or -security
# suites), one per line, from deb822 .sources files and one-line .list files.
machine_debian_uris() {
  local file
  for file in /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    awk '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && enabled != "no" && suites ~ /(^| )[a-z]+( |$)/) print uris
        types = ""; uris = ""; suites = ""; enabled = ""
      }
      /^[[:space:]]*#/ { next }
      /^[[:space:]]*$/ { flush(); next }
      tolower($1) == "types:" { $1 = ""; types = $0 " " }
      tolower($1) == "uris:" { $1 = ""; uris = $0 }
      tolower($1) == "suites:" { $1 = ""; suites = $0 " " }
      tolower($1) == "enabled:" { enabled = tolower($2) }
      END { flush() }
    ' "$file" | tr ' ' '\n'
  done
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$file" ] || continue
    # One-line format: deb [options] URI SUITE COMPONENT...
    sed -E -e 's/#.*//' -e 's/\[[^]]*\]//' "$file" |
      awk '$1 == "deb" && $3 ~ /^[a-z]+$/ { print $2 }'
  done
}

debian_uris() {
  if [ -n "${WINALUX_DEBIAN_URI:-}" ]; then
    printf '%s\n' "$WINALUX_DEBIAN_URI"
    return
  fi
  # Another distribution's archive (Ubuntu's, say) has no Debian suites to switch to.
  local distribution
  distribution=$(sed -n 's/^ID=//p' /etc/os-release 2>/dev/null | tr -d '"' || true)
  [ "$distribution" = debian ] ||
    die "this machine runs '${distribution:-unknown}', not Debian: set WINALUX_DEBIAN_URI to a Debian archive URI"
  machine_debian_uris | { grep -E '^[a-z+]+://' || true; } | awk '!seen[$0]++'
}

# Write a private apt configuration under $1 whose only source is $suite's main component.
write_apt_config() {
  local work=$1 keyring=/usr/share/keyrings/debian-archive-keyring.gpg uris
  [ -r "$keyring" ] || die "$keyring not found: install the debian-archive-keyring package"
  uris=$(debian_uris | tr '\n' ' ')
  uris=${uris% }
  [ -n "$uris" ] || die "no Debian archive found in /etc/apt/sources.list{,.d}: set WINALUX_DEBIAN_URI"
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/parts"
  cat >"$work/winalux.sources" <<EOF
Types: deb
URIs: $uris
Suites: $suite
Components: main
Signed-By: $keyring
EOF
  # apt still reads the machine's apt.conf.d, so its proxy settings apply. The update and dpkg
  # hooks are cleared because some of them delete or refresh the machine's own package caches.
  # Downloads run as the calling user, because apt's _apt sandbox user cannot enter a cache
  # under a private home folder. apt checks the InRelease signature either way.
  cat >"$work/apt.conf" <<EOF
Dir::Etc::SourceList "/dev/null";
Dir::Etc::SourceParts "$work/parts";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "$work/parts";
Dir::State::Lists "$work/lists";
Dir::State::status "/dev/null";
Dir::Cache "$work/cache";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
APT::Sandbox::User "$(id -un)";
#clear APT::Update::Pre-Invoke;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
#clear DPkg::Pre-Invoke;
#clear DPkg::Post-Invoke;
EOF
  mv "$work/winalux.sources" "$work/parts/winalux.sources"
  log "using $uris with suite $suite"
}

# Download podman from $suite with the private configuration and print the .deb's path.
download_podman_deb() {
  local work=$1
  # apt-get falls back to the machine's configuration when APT_CONFIG names no file.
  [ -f "$work/apt.conf" ] || die "$work/apt.conf is missing"
  export APT_CONFIG="$work/apt.conf"
  log "apt-get update (private lists under $work)"
  apt-get -q --error-on=any update >&2 ||
    die "apt-get update failed for suite $suite: check the suite name and that the Debian archive is reachable"
  log "apt-get download podman/$suite"
  (cd "$work" && apt-get -q download "podman/$suite" >&2) ||
    die "apt-get download podman/$suite failed"
  unset APT_CONFIG
  local deb
  for deb in "$work"/podman_*.deb; do
    [ -f "$deb" ] || die "apt-get download left no podman .deb in $work"
    printf '%s\n' "$deb"
    return
  done
}

# Check that $1 runs, and log its version.
verify_binary() {
  local binary=$1 output
  [ -x "$binary" ] || die "$binary is missing or not executable"
  if ! output=$("$binary" -version 2>&1); then
    die "'$binary -version' failed (the podman package may need a newer glibc than this machine has): $output"
  fi
  log "quadlet $output"
}

# Extract the .deb $1 into a folder named after its version, and print the binary's path.
extract_deb() {
  local deb=$1 version target staging
  version=$(dpkg-deb --field "$deb" Version)
  [ -n "$version" ] || die "cannot read the version of $deb"
  target="$cache_root/${version//:/_}"
  staging="$apt_work/extract"
  log "extracting podman $version into $target"
  dpkg -x "$deb" "$staging"
  [ -f "$staging/$binary_in_package" ] || die "podman $version contains no $binary_in_package"
  verify_binary "$staging/$binary_in_package"
  rm -rf "$target"
  mv "$staging" "$target"
  printf '%s\n' "$target/$binary_in_package"
}

# Point symlink $1 at $2 atomically.
point_link() {
  ln -sfn "$2" "$1.new"
  mv -T "$1.new" "$1"
}

apt_work=
fetch() {
  local deb binary
  apt_work=$(mktemp -d "$cache_root/.apt-$suite.XXXXXX")
  # Removed on exit, also when a later step fails.
  trap 'rm -rf "$apt_work"' EXIT
  write_apt_config "$apt_work"
  deb=$(download_podman_deb "$apt_work")
  binary=$(extract_deb "$deb")
  rm -rf "$apt_work"
  trap - EXIT
  printf '%s\n' "$binary"
}

# Decide whether the stable link should move to the $suite binary $1. The previous target of
# the suite link is $2.
should_link() {
  local binary=$1 previous=$2 current
  $link && return 0
  [ "$suite" = "$default_suite" ] || return 1
  current=$(readlink "$stable_link" 2>/dev/null) || return 0
  [ -x "$stable_link" ] || return 0
  [ "$current" = "$previous" ] || [ "$current" = "$binary" ]
}

main() {
  # Serialises concurrent runs (for example parallel test workers) on the same cache.
  exec 9>"$cache_root/.lock"
  flock 9

  local binary previous
  previous=$(readlink "$suite_link" 2>/dev/null || true)
  if ! $refresh && [ -n "$previous" ] && [ -x "$previous" ] && "$previous" -version >/dev/null 2>&1; then
    binary=$previous
    log "cached: $binary"
  else
    binary=$(fetch)
    point_link "$suite_link" "$binary"
  fi
  if should_link "$binary" "$previous" && [ "$(readlink "$stable_link" || true)" != "$binary" ]; then
    point_link "$stable_link" "$binary"
    log "$stable_link -> $binary"
  fi
  printf '%s\n' "$binary"
}

main
