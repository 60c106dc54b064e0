#!/usr/bin/env bash
# Installs what unibus needs on Debian 12 (run as root, or it uses sudo): the system libraries and
# nats-server, and the Python test peers. Safe to re-run. The Swift toolchain is expected on PATH.
#   scripts/setup-debian.sh                   everything
#   scripts/setup-debian.sh --print-packages  only list the Debian packages (for .ci/run)
#   scripts/setup-debian.sh --skip-apt        only the rest (Debian's own service, the Python venv)
set -euo pipefail
cd "$(dirname "$0")/.."
# The rollout test (Tests/Deploy/rollout-test.sh) also needs an sshd and client, sudo, curl and
# systemd's tools (systemctl, systemd-analyze; systemd need not run).
PACKAGES="libsqlite3-dev sqlite3 libnats-dev libssl-dev nats-server openssl iproute2 util-linux python3-venv \
openssh-server openssh-client sudo curl systemd"
case "${1:-}" in
  --print-packages) echo "$PACKAGES"; exit 0 ;;
  --skip-apt|"") ;;
  *) echo "error: unknown option $1" >&2; exit 2 ;;
esac
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ "${1:-}" != "--skip-apt" ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update
  # shellcheck disable=SC2086
  $SUDO apt-get install -y $PACKAGES
fi
# Debian enables its own nats-server.service on 127.0.0.1:4222. unibus never uses that port,
# but a node should not run a second, unauthenticated server: stop it where systemd runs.
$SUDO systemctl disable --now nats-server.service 2>/dev/null || true
# Test peers live in a project venv (Debian's Python is externally managed); the suite uses it.
[ -x .venv/bin/python3 ] || python3 -m venv .venv
.venv/bin/python3 -m pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
