#!/usr/bin/env bash
# generate-certs.sh — TLS material for a single unibus node: a client CA, a server certificate
# and client certificates signed by it. A thin wrapper over `membershipd certs dev` (made in
# Swift; no openssl needed). See tls/README.md and `membershipd certs dev --help`.
#   tls/generate-certs.sh [--out DIR] [--san NAME]... [--client NAME]... [--days N] [--ca-days N] [--force]
# Exit status: 0 done, 1 failed, 2 usage error.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/membershipd-binary.sh
. "$repo/scripts/membershipd-binary.sh"
find_membershipd "$repo"
exec "$membershipd" certs dev "$@"
