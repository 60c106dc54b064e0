#!/usr/bin/env bash
# Makes the TLS material and identities of a 3-node cluster: a thin wrapper over
# `membershipd certs cluster` (made in Swift; no openssl needed):
#   data plane: the client CA, one server certificate per node covering its host and 127.0.0.1;
#   routes:     a SEPARATE route CA, one route certificate per node (serverAuth + clientAuth,
#               each node is both ends of a route), and a route password (0600);
#   identities: each node's internal nkey seed (<node>/internal.id, 0600).
# Safe to re-run; it never replaces a CA or re-issues a certificate with other names unless --force.
# Usage: cluster/generate-cluster-certs.sh [--env cluster/nodes.env] [--out cluster/pki] [--force]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/membershipd-binary.sh
. "$here/../scripts/membershipd-binary.sh"
find_membershipd "$here/.."
args=()
env_given=0 out_given=0
for a in "$@"; do case "$a" in --env|--env=*) env_given=1 ;; --out|--out=*) out_given=1 ;; esac; done
[ "$env_given" = 1 ] || args+=(--env "$here/nodes.env")
[ "$out_given" = 1 ] || args+=(--out "$here/pki")
exec "$membershipd" certs cluster "${args[@]}" "$@"
