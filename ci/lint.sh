#!/usr/bin/env bash
# CI job "lint": yamllint on every YAML file, ruff and mypy on the Python code, shellcheck on every
# shell script and hadolint on every Containerfile. Runs them all and fails when any fails.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

require_commands git yamllint ruff mypy shellcheck hadolint

yaml_files=()
shell_files=()
container_files=()

# Sort the repository's files into the three kinds by name, and by shebang for scripts
# without a .sh suffix. Jinja templates (*.j2) are not valid YAML or shell until rendered.
classify_files() {
  local path first_line
  while IFS= read -r -d '' path; do
    [ -f "$path" ] || continue
    case "$path" in
      # Outputs of other jobs and caches, present in a job's folder but never committed.
      .cache/* | .gitlab-ci-local/* | build/* | plan/* | rendered/* | reports/*) continue ;;
      *.j2) continue ;;
      *.yml | *.yaml) yaml_files+=("$path"); continue ;;
      *.sh) shell_files+=("$path"); continue ;;
    esac
    case "$(basename "$path")" in
      Containerfile* | Dockerfile*) container_files+=("$path"); continue ;;
    esac
    IFS= read -r first_line <"$path" || true
    if [[ "$first_line" =~ ^#!.*[/[:space:]](ba)?sh([[:space:]]|$) ]]; then
      shell_files+=("$path")
    fi
  done < <(repository_files)
}

failed=()

# Run one linter, log its name and remember its failure without stopping.
run_linter() {
  local name=$1
  shift
  log "running $name"
  if ! "$@"; then
    failed+=("$name")
  fi
}

classify_files
log "${#yaml_files[@]} YAML files, ${#shell_files[@]} shell scripts, ${#container_files[@]} Containerfiles"

if [ "${#yaml_files[@]}" -gt 0 ]; then
  run_linter yamllint yamllint --strict --format parsable "${yaml_files[@]}"
fi
run_linter ruff ruff check --no-cache --output-format concise .
# pyproject.toml names the files and the strictness.
run_linter mypy mypy
if [ "${#shell_files[@]}" -gt 0 ]; then
  # .shellcheckrc makes it follow `source` lines relative to each script.
  run_linter shellcheck shellcheck "${shell_files[@]}"
fi
if [ "${#container_files[@]}" -gt 0 ]; then
  run_linter hadolint hadolint "${container_files[@]}"
fi

if [ "${#failed[@]}" -gt 0 ]; then
  die "these linters failed (their messages are above): ${failed[*]}"
fi
log "all linters passed"
