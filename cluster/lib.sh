# Shared by the cluster scripts: load nodes.env and refuse placeholders.
# shellcheck shell=bash
load_nodes() {
  local env_file="$1"
  [ -f "$env_file" ] || { echo "error: $env_file not found" >&2; exit 1; }
  if grep -nE '^[^#]*<[A-Z0-9_]+>' "$env_file" >&2; then
    echo "error: $env_file still has <PLACEHOLDER> values (listed above); fill them in first" >&2
    exit 1
  fi
  # shellcheck disable=SC1090
  . "$env_file"
}
