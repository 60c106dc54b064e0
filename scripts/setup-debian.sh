#!/usr/bin/env bash
# Installs what unibus needs on Debian 12 (run as root, or it uses sudo): the system libraries and
# nats-server, and the Python test peers. Safe to re-run. The Swift toolchain is expected on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y libsqlite3-dev sqlite3 libnats-dev libssl-dev nats-server openssl iproute2 util-linux python3-venv
# Debian enables its own nats-server.service on 127.0.0.1:4222. unibus never uses that port,
# but a node should not run a second, unauthenticated server: stop it where systemd runs.
$SUDO systemctl disable --now nats-server.service 2>/dev/null || true
# Test peers live in a project venv (Debian's Python is externally managed); the suite uses it.
[ -x .venv/bin/python3 ] || python3 -m venv .venv
.venv/bin/python3 -m pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
