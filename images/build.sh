#!/usr/bin/env bash
# Build a workspace profile image for linux/amd64 and linux/arm64 into one manifest, named by
# the reference pinned in images/profiles.yml. Runs where podman builds (rootless is fine).
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: BASE_IMAGE=IMAGE@sha256:DIGEST images/build.sh PROFILE [--push]

  PROFILE     web, data or minimal (minimal has no tag in profiles.yml: pass TAG=...)
  --push      push the manifest and both images to the registry of the reference

Environment:
  BASE_IMAGE  Debian image to build on, pinned by digest (required)
  CA_BUNDLE   PEM bundle of a TLS-inspecting proxy; handed to pip and uv as a build
              secret, never stored in the image (optional)
  PLATFORMS   default linux/amd64,linux/arm64; arm64 on amd64 needs qemu-user-static
              and binfmt_misc
  TAG         image reference to build instead of the one in profiles.yml
USAGE
  exit 2
}

[ $# -ge 1 ] || usage
profile="$1"
push="${2:-}"
here="$(cd "$(dirname "$0")" && pwd)"
: "${BASE_IMAGE:?BASE_IMAGE is not set; see images/build.sh without arguments}"
platforms="${PLATFORMS:-linux/amd64,linux/arm64}"

reference="${TAG:-$(sed -n "s/^${profile}:[[:space:]]*//p" "$here/profiles.yml")}"
[ -n "$reference" ] || { echo "build: no image for profile '$profile' in profiles.yml" >&2; exit 1; }
case "$reference" in
  *:latest | *:latest@*) echo "build: $reference uses the moving tag latest; pin a version" >&2; exit 1 ;;
esac

# An empty bundle keeps the build's secret mount in place when no proxy is in the way.
bundle="${CA_BUNDLE:-}"
if [ -z "$bundle" ]; then
  bundle="$(mktemp)"
  trap 'rm -f "$bundle"' EXIT
fi

if podman manifest exists "$reference"; then
  podman manifest rm "$reference" >/dev/null
fi
podman build --platform "$platforms" --manifest "$reference" --target "$profile" \
  --build-arg "BASE_IMAGE=$BASE_IMAGE" --secret "id=ca-bundle,src=$bundle" \
  --file "$here/Containerfile" "$here"

if [ "$push" = --push ]; then
  podman manifest push --all "$reference" "docker://$reference"
fi
echo "$reference"
