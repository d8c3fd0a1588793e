#!/usr/bin/env bash
# CI job "build-images": build one profile's image for several platforms into one manifest list
# with buildah (or podman) and, with --push, push it tagged with the commit and any git tag.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

usage() {
  cat <<'USAGE'
Usage: ci/build-images.sh [OPTIONS] CONTAINERFILE PROFILE PLATFORMS

Builds CONTAINERFILE for each platform of PLATFORMS (comma-separated, for example
linux/amd64,linux/arm64) into one manifest list. When the Containerfile has a stage named
PROFILE, that stage is built. With --push, the manifest list and all its images are pushed
as IMAGE_REPOSITORY:COMMIT and, in a tag pipeline, also as IMAGE_REPOSITORY:TAG (without
a leading "v"). Digests of what was pushed are written under build/images/.

Options:
  --push               push the result (never allowed in a merge request pipeline)
  --build-arg KEY=VAL  pass a build argument; may be repeated. An ARG without a default
                       before the first FROM must be given a non-empty value.
  --secret SPEC        pass a build secret, as podman build --secret takes it
  --context DIR        build context (default: the folder of CONTAINERFILE)
  --engine NAME        buildah or podman (default: buildah when installed, else podman)

Environment:
  IMAGE_REPOSITORY     repository to push to (default: $CI_REGISTRY_IMAGE/winalux-PROFILE)
  IMAGE_TRANSPORT      transport of the push destination (default: docker://)
  CI_REGISTRY, CI_REGISTRY_USER, CI_REGISTRY_PASSWORD
                       registry login for a docker:// push, as GitLab sets them
  CI_COMMIT_SHORT_SHA, CI_COMMIT_TAG
                       commit and tag names, as GitLab sets them (default: git rev-parse)
  WINALUX_BUILD_DIR    folder for the digest files (default: build/images)
  WINALUX_CA_BUNDLE    PEM file of a TLS-inspecting proxy's CA, handed to the build as
                       the secret "ca-bundle"; a secret never ends up in the image
USAGE
}

push=false
engine=
context=
build_args=()
build_secrets=()

parse_arguments() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --push) push=true; shift ;;
      --build-arg)
        [ $# -ge 2 ] || die "--build-arg needs KEY=VALUE"
        [[ "$2" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "invalid build argument '$2': expected KEY=VALUE"
        build_args+=(--build-arg "$2")
        shift 2
        ;;
      --secret)
        [ $# -ge 2 ] || die "--secret needs id=NAME,src=FILE"
        build_secrets+=(--secret "$2")
        shift 2
        ;;
      --context) [ $# -ge 2 ] || die "--context needs a folder"; context=$2; shift 2 ;;
      --engine) [ $# -ge 2 ] || die "--engine needs buildah or podman"; engine=$2; shift 2 ;;
      -h | --help) usage; exit 0 ;;
      -*) usage >&2; die "unknown option: $1" ;;
      *) break ;;
    esac
  done
  [ $# -eq 3 ] || { usage >&2; die "expected CONTAINERFILE PROFILE PLATFORMS, got $# arguments"; }
  containerfile=$1
  profile=$2
  platforms=$3
}

check_arguments() {
  [ -f "$containerfile" ] || die "Containerfile $containerfile not found"
  context=${context:-$(dirname "$containerfile")}
  [ -d "$context" ] || die "build context $context is not a folder"
  [[ "$profile" =~ ^[a-z][a-z0-9-]*$ ]] ||
    die "invalid profile '$profile': use lower-case letters, digits and hyphens"
  if [ -f images/profiles.yml ] && ! grep -Eq "^$profile:" images/profiles.yml; then
    die "profile '$profile' is not listed in images/profiles.yml"
  fi
  local platform
  IFS=, read -r -a platform_list <<<"$platforms"
  [ "${#platform_list[@]}" -gt 0 ] || die "no platform given: use for example linux/amd64,linux/arm64"
  for platform in "${platform_list[@]}"; do
    [[ "$platform" =~ ^[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?$ ]] ||
      die "invalid platform '$platform': expected OS/ARCH[/VARIANT], for example linux/arm64"
  done
  check_required_build_args
  if [ -n "${WINALUX_CA_BUNDLE:-}" ]; then
    [ -r "$WINALUX_CA_BUNDLE" ] || die "WINALUX_CA_BUNDLE $WINALUX_CA_BUNDLE is not a readable file"
    build_secrets+=(--secret "id=ca-bundle,src=$WINALUX_CA_BUNDLE")
  fi
  if $push && [ "${CI_PIPELINE_SOURCE:-}" = merge_request_event ]; then
    die "--push is not allowed in a merge request pipeline; the default branch and tags push"
  fi
  case "${engine:=$(default_engine)}" in
    buildah | podman)
      command -v "$engine" >/dev/null 2>&1 || die "$engine not found: install buildah or podman" ;;
    *) die "unknown engine '$engine': use buildah or podman" ;;
  esac
}

# An ARG without a default before the first FROM (the base image, say) has no sensible
# empty value, and the engine's own error about an empty FROM does not name it.
check_required_build_args() {
  local line name given argument
  while IFS= read -r line; do
    [[ "$line" =~ ^[[:space:]]*FROM[[:space:]] ]] && break
    [[ "$line" =~ ^[[:space:]]*ARG[[:space:]]+([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*$ ]] || continue
    name=${BASH_REMATCH[1]}
    given=false
    for argument in "${build_args[@]}"; do
      if [[ "$argument" == "$name="?* ]]; then
        given=true
      fi
    done
    $given || die "$containerfile needs --build-arg $name=VALUE (not empty)"
  done <"$containerfile"
}

default_engine() {
  if command -v buildah >/dev/null 2>&1; then
    echo buildah
  else
    echo podman
  fi
}

# Tags: the short commit id always, and the git tag (without a leading v) in tag pipelines.
image_tags() {
  local commit=${CI_COMMIT_SHORT_SHA:-} tag=${CI_COMMIT_TAG:-}
  [ -n "$commit" ] || commit=$(git rev-parse --short=8 HEAD)
  echo "$commit"
  if [ -n "$tag" ]; then
    [[ "$tag" =~ ^v[0-9] ]] && tag=${tag#v}
    echo "$tag"
  fi
}

check_tag() {
  [[ "$1" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] ||
    die "invalid image tag '$1': use at most 128 letters, digits, '_', '.' and '-'"
}

build_manifest() {
  local manifest=$1 target=()
  if grep -Eiq "^FROM[[:space:]].*[[:space:]]AS[[:space:]]+${profile}[[:space:]]*$" "$containerfile"; then
    target=(--target "$profile")
  fi
  "$engine" manifest rm "$manifest" >/dev/null 2>&1 || true
  "$engine" manifest create "$manifest" >/dev/null
  log "building $containerfile (profile $profile) for $platforms with $engine"
  "$engine" build --platform "$platforms" --manifest "$manifest" --file "$containerfile" \
    "${target[@]}" "${build_args[@]}" "${build_secrets[@]}" \
    --label "io.winalux.profile=$profile" \
    --label "org.opencontainers.image.revision=${CI_COMMIT_SHA:-$(git rev-parse HEAD)}" \
    --label "org.opencontainers.image.source=${CI_PROJECT_URL:-local}" \
    "$context"
}

# Fail unless the manifest list contains an image for the architecture of every platform.
check_manifest() {
  local manifest=$1 listed platform arch
  listed=$("$engine" manifest inspect "$manifest" | tr -d ' \n\t')
  for platform in "${platform_list[@]}"; do
    arch=$(cut -d/ -f2 <<<"$platform")
    grep -q "\"architecture\":\"$arch\"" <<<"$listed" ||
      die "the manifest list has no $arch image; is qemu-user-static registered for it?"
  done
  log "manifest list $manifest contains ${#platform_list[@]} platform images"
}

login() {
  local transport=$1
  [ "$transport" = docker:// ] || return 0
  [ -n "${CI_REGISTRY_PASSWORD:-}" ] || { log "CI_REGISTRY_PASSWORD not set: pushing without login"; return 0; }
  [ -n "${CI_REGISTRY:-}" ] && [ -n "${CI_REGISTRY_USER:-}" ] ||
    die "CI_REGISTRY_PASSWORD is set but CI_REGISTRY or CI_REGISTRY_USER is not"
  printf '%s' "$CI_REGISTRY_PASSWORD" |
    "$engine" login --username "$CI_REGISTRY_USER" --password-stdin "$CI_REGISTRY" >/dev/null
  log "logged in to $CI_REGISTRY as $CI_REGISTRY_USER"
}

push_manifest() {
  local manifest=$1 transport=${IMAGE_TRANSPORT:-docker://} repository out tag digest
  repository=${IMAGE_REPOSITORY:-${CI_REGISTRY_IMAGE:+$CI_REGISTRY_IMAGE/winalux-$profile}}
  [ -n "$repository" ] || die "set IMAGE_REPOSITORY or CI_REGISTRY_IMAGE to push"
  out=${WINALUX_BUILD_DIR:-build/images}
  mkdir -p "$out"
  : >"$out/$profile.refs"
  login "$transport"
  # Local layouts (used by the tests) need their parent folder.
  case "$transport" in
    oci: | oci-archive: | dir:) mkdir -p "$(dirname "$repository")" ;;
  esac
  for tag in $(image_tags); do
    check_tag "$tag"
    "$engine" manifest push --all --digestfile "$out/$profile.digest" \
      "$manifest" "$transport$repository:$tag"
    digest=$(cat "$out/$profile.digest")
    echo "$repository:$tag@$digest" >>"$out/$profile.refs"
    log "pushed $transport$repository:$tag ($digest)"
  done
}

main() {
  parse_arguments "$@"
  check_arguments
  local manifest tag
  tag=$(image_tags | head -n 1)
  check_tag "$tag"
  manifest="localhost/winalux-build-$profile:$tag"
  build_manifest "$manifest"
  check_manifest "$manifest"
  if $push; then
    push_manifest "$manifest"
  else
    log "built $manifest; not pushed (no --push)"
  fi
}

main "$@"
