#!/usr/bin/env bash
# CI job "plan": render the merge request's base and head, write what merging changes on each
# host into plan/, and post it as a merge request note when WINALUX_PLAN_NOTE_TOKEN is set.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

require_commands git winalux

# The merge base shows the merge request's own changes. A merged results pipeline tests the
# merge of the head into the target branch's tip, so its base is that tip.
default_base=${CI_MERGE_REQUEST_DIFF_BASE_SHA:-}
if [ "${CI_MERGE_REQUEST_EVENT_TYPE:-}" = merged_result ]; then
  default_base=${CI_MERGE_REQUEST_TARGET_BRANCH_SHA:-$default_base}
fi
base=${WINALUX_PLAN_BASE:-$default_base}
head=${WINALUX_PLAN_HEAD:-${CI_COMMIT_SHA:-HEAD}}
out=${WINALUX_PLAN_DIR:-plan}
[ -n "$base" ] ||
  die "no base revision: run in a merge request pipeline or set WINALUX_PLAN_BASE to a revision"

# A shallow or single-branch clone may lack the base commit. Fetch the target branch then.
ensure_commit() {
  local revision=$1 branch=${CI_MERGE_REQUEST_TARGET_BRANCH_NAME:-}
  git cat-file -e "$revision^{commit}" 2>/dev/null && return
  [ -n "$branch" ] ||
    die "revision $revision is not in this clone and no target branch is known: fetch it first"
  log "fetching $branch for $revision"
  git fetch --quiet origin "+refs/heads/$branch:refs/remotes/origin/$branch"
  git cat-file -e "$revision^{commit}" 2>/dev/null ||
    die "revision $revision is not on origin/$branch; set GIT_DEPTH to 0 for this job"
}

ensure_commit "$base"
ensure_commit "$head"
mkdir -p "$out"
plan=(winalux plan --base "$base" --head "$head")
"${plan[@]}" --format text
"${plan[@]}" --format text --diff >"$out/plan.txt"
"${plan[@]}" --format markdown --diff >"$out/plan.md"
"${plan[@]}" --format json --diff >"$out/plan.json"
log "wrote $out/plan.txt, $out/plan.md and $out/plan.json"

if [ -z "${WINALUX_PLAN_NOTE_TOKEN:-}" ]; then
  log "WINALUX_PLAN_NOTE_TOKEN is not set: the plan is in the job's artifacts only"
  exit 0
fi
ci/post-note.sh "$out/plan.md"
