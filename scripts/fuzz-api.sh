#!/usr/bin/env bash
# Fuzzes the control plane against docs/openapi.yaml (issue 13): starts a real single-node
# `membershipd serve` on free loopback ports in a temp dir (its development TLS material), seeds an
# admin and a spare member with `membershipd user add`, and runs schemathesis with every request
# signed (RFC 9421, Tests/Peers/schemathesis_hooks.py). Fails on a 5xx, a status, content type,
# header or body the spec does not describe, or a 2xx to data the spec does not allow. Bounded: a fixed seed, few examples per operation,
# and a wall-clock limit. The node is stopped and the temp dir removed however it ends.
#
# Usage: scripts/fuzz-api.sh [MEMBERSHIPD]      (default: $MEMBERSHIPD or .build/debug/membershipd)
# Environment:
#   UNIBUS_PYTHON          the venv python with schemathesis (default .venv/bin/python3)
#   FUZZ_MAX_EXAMPLES      test cases per operation and phase (default 10)
#   FUZZ_SEED              schemathesis seed (default 13)
#   FUZZ_TIME_LIMIT        seconds before schemathesis is stopped and the run fails (default 150)
#   FUZZ_CHECKS            schemathesis checks (default: no 5xx; status code, content type, headers
#                          and body as the spec says; data the spec does not allow is refused)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
bin="${1:-${MEMBERSHIPD:-.build/debug/membershipd}}"
python="${UNIBUS_PYTHON:-$repo/.venv/bin/python3}"
schemathesis="$(dirname "$python")/schemathesis"
fail() { echo "fuzz-api: $*" >&2; exit 1; }
[ -x "$bin" ] || fail "$bin is not an executable membershipd; build it (swift build) or pass its path"
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
[ -x "$schemathesis" ] || fail "$schemathesis not found; run scripts/setup-debian.sh (or set UNIBUS_PYTHON)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/unibus-fuzz.XXXXXX")"
node=""
stop() {
  local rc=$?
  if [ -n "$node" ] && kill -0 "$node" 2>/dev/null; then
    kill -TERM "$node" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$node" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$node" 2>/dev/null || true
    wait "$node" 2>/dev/null || true
  fi
  # membershipd stops its nats-server; make sure of it.
  local child
  child="$(cat "$tmp/local_files/nats-server.pid" 2>/dev/null || true)"
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then kill -KILL "$child" 2>/dev/null || true; fi
  if [ "$rc" -ne 0 ] && [ -f "$tmp/serve.log" ]; then
    echo "fuzz-api: membershipd log (last 20 lines):" >&2
    tail -20 "$tmp/serve.log" >&2
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap stop EXIT
trap 'exit 130' INT TERM

# Three free loopback ports (bound and released; a race with another process is unlikely).
read -r nats_port http_port cluster_port < <("$python" -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')

(cd "$tmp" && exec "$bin" serve --nats-port "$nats_port" --http-port "$http_port" --cluster-port "$cluster_port") \
  >"$tmp/serve.log" 2>&1 &
node=$!

# Ready when /healthz answers 200 over TLS verified against the development CA serve made.
"$python" - "$http_port" "$tmp/local_files/tls/ca.crt" <<'EOF' || fail "membershipd did not become ready in 30 s"
import os, sys, time, requests
port, ca = sys.argv[1:3]
deadline = time.time() + 30
while time.time() < deadline:
    try:
        if os.path.exists(ca) and requests.get(f"https://127.0.0.1:{port}/healthz", verify=ca, timeout=2).status_code == 200:
            sys.exit(0)
    except requests.RequestException:
        pass
    time.sleep(0.2)
sys.exit(1)
EOF

# The signer (an admin) and a spare member, each a fresh ed25519 key.
keys="$("$python" -c '
import secrets
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
for _ in range(2):
    seed = secrets.token_bytes(32)
    print(seed.hex(), Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw().hex())')"
read -r admin_seed admin_pub spare_seed spare_pub <<<"$(echo $keys)"
(umask 077 && echo "$admin_seed" >"$tmp/admin.seed")
"$bin" user add --handle fuzz-admin --sign-pub "$admin_pub" --role admin --db "$tmp/local_files/unibus.db" >/dev/null
"$bin" user add --handle fuzz-spare --sign-pub "$spare_pub" --role member --db "$tmp/local_files/unibus.db" >/dev/null

echo "fuzz-api: schemathesis against https://127.0.0.1:$http_port (membershipd pid $node)"
export PYTHONPATH="$repo/Tests/Peers" SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONDONTWRITEBYTECODE=1
export UNIBUS_FUZZ_SEED_FILE="$tmp/admin.seed" UNIBUS_FUZZ_SPARE_PUB="$spare_pub"
(cd "$tmp" && timeout --kill-after=10 "${FUZZ_TIME_LIMIT:-150}" "$schemathesis" run "$repo/docs/openapi.yaml" \
  --url "https://127.0.0.1:$http_port" --tls-verify "$tmp/local_files/tls/ca.crt" \
  --checks "${FUZZ_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,missing_required_header}" \
  --generation-with-security-parameters false \
  --max-examples "${FUZZ_MAX_EXAMPLES:-10}" --seed "${FUZZ_SEED:-13}" --generation-database none \
  --workers 1 --request-timeout 10 --no-color) || fail "schemathesis failed (or exceeded ${FUZZ_TIME_LIMIT:-150} s)"
kill -0 "$node" 2>/dev/null || fail "membershipd exited during the run"
echo "fuzz-api: ok"
