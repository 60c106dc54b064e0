# Sourced by the certificate wrappers: sets $membershipd to a built membershipd.
# Order: $MEMBERSHIPD, the debug build, the release build (scripts/build-release.sh), PATH.
# shellcheck shell=bash disable=SC2034  # membershipd is read by the scripts that source this
find_membershipd() {
  local repo="$1" candidate
  for candidate in "${MEMBERSHIPD:-}" "$repo/.build/debug/membershipd" "$repo/.build-release/release/membershipd" \
    "$(command -v membershipd 2>/dev/null || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then membershipd="$candidate"; return 0; fi
  done
  echo "error: no membershipd binary: build it first (swift build, or scripts/build-release.sh), or set MEMBERSHIPD=PATH" >&2
  exit 1
}
