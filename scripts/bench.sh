#!/usr/bin/env bash
# Builds membershipd and unibus-bench in release mode and runs the benchmarks; the report is
# Markdown on stdout, progress on stderr. On demand only: nothing in the test suite calls this.
#
#   scripts/bench.sh                          # everything (about 3 minutes on 2 cores)
#   scripts/bench.sh pubsub --runs 5          # only benchmark 1
#   scripts/bench.sh revoke --sizes 10000     # only benchmark 2, one size
#   scripts/bench.sh engine                   # the ACL engine's table (issue 10), ~15 minutes
#   scripts/bench.sh cluster                  # three nodes through faults (issue 12), ~3 minutes
#   scripts/bench.sh --out /tmp/bench.md      # also write the report to a file
#
# Environment: NATS_SERVER (default /usr/sbin/nats-server), BENCH_SCRATCH_PATH (default
# .build-bench), BENCH_SKIP_BUILD=1 to run the binaries already built there as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${BENCH_SCRATCH_PATH:-.build-bench}"
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  # The first release build takes several minutes; later ones only rebuild what changed.
  swift build -c release --scratch-path "$scratch" --product membershipd >&2
  swift build -c release --scratch-path "$scratch" --product unibus-bench >&2
fi
bin="$(swift build -c release --scratch-path "$scratch" --show-bin-path)"
exec "$bin/unibus-bench" --nats-server "${NATS_SERVER:-/usr/sbin/nats-server}" --membershipd "$bin/membershipd" "$@"
