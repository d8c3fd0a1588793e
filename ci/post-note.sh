#!/usr/bin/env bash
# Post a Markdown file as a note on this pipeline's merge request through the GitLab API, or
# update the note an earlier run posted (the one whose first line matches the file's).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

usage() {
  cat <<'USAGE'
Usage: ci/post-note.sh FILE

Environment:
  WINALUX_PLAN_NOTE_TOKEN  access token with the api scope (required; never printed)
  WINALUX_GITLAB_API_URL   API base URL (default: $CI_API_V4_URL)
  CI_PROJECT_ID, CI_MERGE_REQUEST_IID  set by GitLab in merge request pipelines
USAGE
}

[ $# -eq 1 ] || { usage >&2; exit 2; }
file=$1
[ -f "$file" ] || die "$file not found"
require_commands curl python3

token=${WINALUX_PLAN_NOTE_TOKEN:-}
api=${WINALUX_GITLAB_API_URL:-${CI_API_V4_URL:-}}
project=${CI_PROJECT_ID:-}
request=${CI_MERGE_REQUEST_IID:-}
[ -n "$token" ] || die "WINALUX_PLAN_NOTE_TOKEN is not set"
[ -n "$api" ] || die "neither WINALUX_GITLAB_API_URL nor CI_API_V4_URL is set"
[[ "$project" =~ ^[0-9]+$ ]] || die "CI_PROJECT_ID must be a project number, not '$project'"
[[ "$request" =~ ^[0-9]+$ ]] || die "CI_MERGE_REQUEST_IID must be a number, not '$request'"
api=${api%/}
notes_url="$api/projects/$project/merge_requests/$request/notes"
marker=$(head -n 1 "$file")

response=$(mktemp)
trap 'rm -f "$response"' EXIT

# Call the API with the token in a header read from standard input, so that it appears in
# neither the process list nor the job log. Prints the response body; fails on HTTP errors.
call_api() {
  local method=$1 url=$2 status
  shift 2
  status=$(printf 'PRIVATE-TOKEN: %s\n' "$token" |
    curl --silent --show-error --max-time 30 --header @- --request "$method" \
      --output "$response" --write-out '%{http_code}' "$@" "$url") ||
    die "$method $url failed: curl could not complete the request"
  if [ "$status" -lt 200 ] || [ "$status" -ge 300 ]; then
    log "response: $(head -c 500 "$response")"
    die "$method $url failed with HTTP status $status"
  fi
  cat "$response"
}

# Print the id of the newest note by user $1 whose first line is the marker, if any.
find_note() {
  python3 -c '
import json, sys
user, marker = sys.argv[1], sys.argv[2]
for note in json.load(sys.stdin):
    if note.get("author", {}).get("username") == user and note.get("body", "").split("\n")[0] == marker:
        print(note["id"])
        break
' "$1" "$marker"
}

user=$(call_api GET "$api/user" | python3 -c 'import json, sys; print(json.load(sys.stdin)["username"])')
note=$(call_api GET "$notes_url?per_page=100&sort=desc&order_by=updated_at" | find_note "$user")
if [ -n "$note" ]; then
  call_api PUT "$notes_url/$note" --data-urlencode "body@$file" >/dev/null
  log "updated note $note on merge request !$request"
else
  call_api POST "$notes_url" --data-urlencode "body@$file" >/dev/null
  log "posted a note on merge request !$request"
fi
