#!/usr/bin/env bash
# Runs the whole suite. Needs the packages .ci/run installs (nats-server, libnats-dev, sqlite3,
# openssl) and the Python peers in scripts/requirements-test.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
swift format lint --strict -r Sources Tests
# Package.swift declares exactly what each target imports.
scripts/check-imports.py
swift build --build-tests
# The binary nodes run (release, Swift runtime linked in statically, libraries checked against
# the Debian allow-list): the rollout test at the end deploys it to hosts without a toolchain.
# Its own scratch path: objects built for a static runtime must never reach the debug build.
scripts/build-release.sh
# Python test peers (nats-py, nkeys, the newer nats-server) come from the venv setup-debian.sh made.
if [ -x .venv/bin/python3 ]; then export UNIBUS_PYTHON="$PWD/.venv/bin/python3"; fi
# One suite at a time: most suites start real nats-server/membershipd processes, and on a 2-core
# machine running them side by side made timing bounds (KV waits, nonce max age, connect
# timeouts) fail by contention rather than by bugs. Each suite is also marked .serialized.
swift test --skip-build --no-parallel "$@"
# No process started by the suite may outlive it (give fixtures being released a moment).
for _ in $(seq 1 50); do pgrep -f 'unibus-test' >/dev/null 2>&1 || break; sleep 0.2; done
if pgrep -f 'unibus-test' >/dev/null 2>&1; then
  echo "error: processes started by the test suite are still running:" >&2
  pgrep -af 'unibus-test' >&2
  exit 1
fi
# schemathesis against a live node, every request signed: answers as docs/openapi.yaml says (~35 s).
scripts/fuzz-api.sh .build/debug/membershipd
# The cluster rollout from the repo (cluster/deploy-cluster.sh) on three namespace hosts, over ssh,
# deploying the release binary built above to hosts where the Swift toolchain is hidden.
# Needs root and network namespaces; prints SKIP otherwise.
Tests/Deploy/rollout-test.sh --binary .build-release/release/membershipd
