#!/usr/bin/env bash
# Builds the membershipd a node runs: release, with the Swift runtime linked in statically, so a
# Debian 12 node needs no Swift toolchain. Then checks what the binary still loads at run time:
# only Debian libraries from the allow-list below, and no RUNPATH into a toolchain.
#
#   scripts/build-release.sh                  # → .build-release/release/membershipd
#   scripts/build-release.sh --check BINARY   # only the check (the test suite's static debug build)
#
# Environment: RELEASE_SCRATCH_PATH (default .build-release).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--check" ]; then
  binary="${2:?--check needs the binary}"
else
  scratch="${RELEASE_SCRATCH_PATH:-.build-release}"
  swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product membershipd >&2
  binary="$(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)/membershipd"
fi

# Debian 12 packages a node installs anyway (libc6, libstdc++6, libgcc-s1, zlib1g, libnats3.4,
# libssl3 via libnats, libsqlite3-0 is not needed: GRDB links the system SQLite from libsqlite3-0).
allowed='^(linux-vdso|ld-linux-x86-64|libc|libm|libdl|libpthread|librt|libutil|libstdc\+\+|libgcc_s|libz|libnats|libssl|libcrypto|libsqlite3|libprotobuf-c|libsodium)\.so'
status=0
if readelf -d "$binary" | grep -E 'RUNPATH|RPATH' | grep -q -E 'swift|toolchain|/opt/'; then
  echo "error: $binary has a RUNPATH into the build machine's toolchain:" >&2
  readelf -d "$binary" | grep -E 'RUNPATH|RPATH' >&2
  status=1
fi
while read -r lib; do
  [ -z "$lib" ] && continue
  if ! [[ "$lib" =~ $allowed ]]; then
    echo "error: $binary needs $lib, which is not on the Debian allow-list" >&2
    status=1
  fi
done < <(ldd "$binary" | awk '{print $1}' | sed 's|.*/||')
if [ "$status" = 0 ]; then
  echo "$binary: Swift runtime linked statically; it loads only: $(ldd "$binary" | awk '{print $1}' | sed 's|.*/||' | tr '\n' ' ')"
fi
exit "$status"
