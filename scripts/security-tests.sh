#!/usr/bin/env bash
# Runs issue #9's adversarial suite (Tests/MembershipdTests/AttackSuiteTests*.swift, which drives
# Tests/Peers/attack_probe.py) and writes its table to docs/SECURITY-TESTS.md.
# The same suite also runs in `make test`; this script only keeps the table.
# Usage: scripts/security-tests.sh        (exit status: the suite's)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
# The Python peers (nats-py, nkeys, http-message-signatures, the newer nats-server) live in the
# venv scripts/setup-debian.sh made.
if [ -x .venv/bin/python3 ]; then export UNIBUS_PYTHON="$PWD/.venv/bin/python3"; fi
python="${UNIBUS_PYTHON:-python3}"
table="$(mktemp)"
trap 'rm -f "$table"' EXIT
start=$(date +%s)
status=0
UNIBUS_SECURITY_REPORT="$table" swift test --skip-build --filter AttackSuite || status=$?
seconds=$(($(date +%s) - start))
newer="$("$python" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/nats-server"
version() { if [ -x "$1" ]; then "$1" --version 2>&1 | head -1; else echo "not installed"; fi; }
peers="$("$python" -m pip list --format=freeze 2>/dev/null | grep -iE '^(nats-py|nkeys|http-message-signatures|requests|cryptography)==' | tr '\n' ' ')"
{
    echo "# Security tests (issue #9)"
    echo
    echo "An attacker's view of a node, kept current by \`scripts/security-tests.sh\` (which runs"
    echo "\`UNIBUS_SECURITY_REPORT=<file> swift test --skip-build --filter AttackSuite\` and writes this file)."
    echo "The same cases run in \`make test\`. How each hole worked and what closes it: [threat-model.md](threat-model.md)."
    echo
    echo "- Run: $(date -u "+%Y-%m-%d %H:%M UTC"), ${seconds} s for the suite (swift test), exit status ${status}"
    echo "- nats-server: Debian \`$(version /usr/sbin/nats-server)\`; PyPI \`$(version "$newer")\`"
    echo "- Clients nobody here wrote: ${peers:-see scripts/requirements-test.txt}"
    echo "- Nodes: \`sqlite · V\` is \`membershipd serve\` with the SQLite store, \`kv · V\` with \`--store kv\`, on nats-server V."
    echo "  The data plane runs on all four; keys and control plane on both stores (2.9.10: the HTTP layer does not"
    echo "  depend on the nats-server version); slow connections and the process cases once."
    echo "- Cast: \`mallory\` (attacker, member of room \`m\`), \`ana\` (victim, sole owner of \`secret\`), \`bob\`"
    echo "  (honest member of \`m\` answering every request on \`unibus.room.m.svc\`: the confused deputy), \`root\` (admin),"
    echo "  \`ghost\` (the identity point, a small-order key, planted in the store as an active admin)."
    echo
    if [ -s "$table" ]; then cat "$table"; else echo "(the suite produced no table: see its output)"; fi
} > docs/SECURITY-TESTS.md
echo "wrote docs/SECURITY-TESTS.md (suite exit status $status)"
exit "$status"
