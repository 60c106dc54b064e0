#!/usr/bin/env bash
# Installs membershipd on the three nodes of cluster/nodes.env over ssh. DRY RUN unless --yes:
# it prints every command it would run. Needs: the release build (scripts/build-release.sh: the
# Swift runtime linked in statically, so nodes need no toolchain), the
# material from cluster/generate-cluster-certs.sh, and sudo for $SSH_USER on each node.
# Usage: cluster/deploy-cluster.sh [--env cluster/nodes.env] [--pki cluster/pki] [--yes]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
env_file="$here/nodes.env"; pki="$here/pki"; run=0
while [ $# -gt 0 ]; do
  case "$1" in
    --env) env_file="$2"; shift 2 ;;
    --pki) pki="$2"; shift 2 ;;
    --yes) run=1; shift ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
# shellcheck source=cluster/lib.sh
. "$here/lib.sh"
load_nodes "$env_file"
binary="$here/../.build-release/release/membershipd"
[ -x "$binary" ] || { echo "error: $binary not found; run: scripts/build-release.sh" >&2; exit 1; }
[ -f "$pki/routes/route.pass" ] || { echo "error: $pki has no route material; run cluster/generate-cluster-certs.sh" >&2; exit 1; }

do_run() { if [ "$run" = 1 ]; then "$@"; else printf 'would run:'; printf ' %q' "$@"; printf '\n'; fi; }

routes=""
for i in 1 2 3; do h="NODE${i}_HOST"; routes="${routes:+$routes,}nats-route://${!h}:${CLUSTER_PORT}"; done

for i in 1 2 3; do
  name_var="NODE${i}_NAME"; host_var="NODE${i}_HOST"
  n="${!name_var}"; h="${!host_var}"; target="$SSH_USER@$h"
  node_env=$(mktemp); trap 'rm -f "$node_env"' EXIT
  printf 'NODE_NAME=%s\nNODE_HOST=%s\nCLUSTER_NAME=%s\nROUTES=%s\nNATS_PORT=%s\nHTTP_PORT=%s\nCLUSTER_PORT=%s\n' \
    "$n" "$h" "$CLUSTER_NAME" "$routes" "$NATS_PORT" "$HTTP_PORT" "$CLUSTER_PORT" > "$node_env"
  echo "== $n ($h)"
  do_run ssh "$target" "sudo mkdir -p /tmp/unibus-deploy && sudo chown $SSH_USER /tmp/unibus-deploy"
  do_run scp -q "$binary" "$here/membershipd-cluster.service" "$here/membershipd-cluster.service.d/nats-monitor.conf" \
    "$pki/$n/server.crt" "$pki/$n/server.key" "$pki/$n/ca.crt" \
    "$pki/routes/$n.crt" "$pki/routes/$n.key" "$pki/routes/route-ca.crt" "$pki/routes/route.pass" "$node_env" \
    "$target:/tmp/unibus-deploy/"
  do_run ssh "$target" "set -e; cd /tmp/unibus-deploy
    sudo apt-get install -y nats-server libnats3.4 libsqlite3-0
    sudo systemctl disable --now nats-server.service || true
    id unibus >/dev/null 2>&1 || sudo useradd --system --home /var/lib/unibus --shell /usr/sbin/nologin unibus
    sudo install -d -o unibus -g unibus -m 0700 /var/lib/unibus /etc/unibus /etc/unibus/tls /etc/unibus/routes
    sudo install -m 0755 membershipd /usr/local/bin/membershipd
    sudo install -o unibus -g unibus -m 0644 server.crt ca.crt /etc/unibus/tls/ && sudo install -o unibus -g unibus -m 0600 server.key /etc/unibus/tls/
    sudo install -o unibus -g unibus -m 0644 $n.crt /etc/unibus/routes/node.crt && sudo install -o unibus -g unibus -m 0600 $n.key /etc/unibus/routes/node.key
    sudo install -o unibus -g unibus -m 0644 route-ca.crt /etc/unibus/routes/ && sudo install -o unibus -g unibus -m 0600 route.pass /etc/unibus/routes/
    sudo install -m 0644 $(basename "$node_env") /etc/unibus/node.env
    sudo install -m 0644 membershipd-cluster.service /etc/systemd/system/
    sudo install -d /etc/systemd/system/membershipd-cluster.service.d
    sudo install -m 0644 nats-monitor.conf /etc/systemd/system/membershipd-cluster.service.d/
    sudo systemctl daemon-reload && sudo systemctl enable --now membershipd-cluster.service
    rm -rf /tmp/unibus-deploy"
done
[ "$run" = 1 ] || echo "dry run: nothing was changed; add --yes to deploy"
