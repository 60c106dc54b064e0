#!/usr/bin/env bash
# Makes the certificates of a 3-node cluster:
#   data plane: the client CA (tls/generate-certs.sh), one server certificate per node covering
#               its host, and an operator client certificate;
#   routes:     a SEPARATE route CA and one route certificate per node (serverAuth + clientAuth,
#               each node is both ends of a route), plus a route password file (0600).
# Usage: cluster/generate-cluster-certs.sh [--env cluster/nodes.env] [--out cluster/pki]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
env_file="$here/nodes.env"
out="$here/pki"
while [ $# -gt 0 ]; do
  case "$1" in
    --env) env_file="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
# shellcheck source=cluster/lib.sh
. "$here/lib.sh"
load_nodes "$env_file"
umask 077
mkdir -p "$out"

# One client CA for the whole cluster: made with node 1's material, reused for nodes 2 and 3.
for i in 1 2 3; do
  name_var="NODE${i}_NAME"; host_var="NODE${i}_HOST"
  d="$out/${!name_var}"
  mkdir -p "$d"
  if [ -f "$out/ca.key" ]; then cp "$out/ca.crt" "$out/ca.key" "$d/"; fi
  "$here/../tls/generate-certs.sh" --out "$d" --san "${!host_var}" --san 127.0.0.1 --client operator >/dev/null
  [ -f "$out/ca.key" ] || cp "$d/ca.crt" "$d/ca.key" "$out/"
  rm -f "$d/ca.key"   # nodes never need the CA key
done

route="$out/routes"
mkdir -p "$route"
if [ ! -f "$route/route-ca.key" ]; then
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$route/route-ca.key"
  openssl req -x509 -new -key "$route/route-ca.key" -subj "/CN=unibus route CA ${CLUSTER_NAME}" -days 3650 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out "$route/route-ca.crt"
fi
for i in 1 2 3; do
  name_var="NODE${i}_NAME"; host_var="NODE${i}_HOST"
  n="${!name_var}"; h="${!host_var}"
  if [[ "$h" =~ ^[0-9.]+$ ]]; then san="IP:$h,IP:127.0.0.1"; else san="DNS:$h,IP:127.0.0.1"; fi
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$route/$n.key"
  openssl req -new -key "$route/$n.key" -subj "/CN=$n" -out "$route/$n.csr"
  openssl x509 -req -in "$route/$n.csr" -CA "$route/route-ca.crt" -CAkey "$route/route-ca.key" -CAcreateserial \
    -days 825 -out "$route/$n.crt" \
    -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\n' "$san") 2>/dev/null
  rm -f "$route/$n.csr"
done
[ -f "$route/route.pass" ] || openssl rand -hex 24 > "$route/route.pass"
chmod 600 "$route"/*.key "$route/route.pass" "$out"/*.key
echo "wrote $out: client CA, per-node server and operator certificates; $route: route CA, route certificates, route.pass"
