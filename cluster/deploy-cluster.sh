#!/usr/bin/env bash
# Installs membershipd on the three nodes of cluster/nodes.env over ssh. DRY RUN unless --yes: it
# prints every command it would run, locally and on each node, and changes nothing (the dry run
# needs neither the build nor the certificates).
# --yes needs the binary (scripts/build-release.sh links the Swift runtime in statically, so nodes
# need no toolchain), the material of cluster/README.md section 2 (cluster/generate-cluster-certs.sh
# plus <pki>/<node>/internal.id for each node), and on each node SSH_USER=root or sudo for SSH_USER.
#
# Usage: cluster/deploy-cluster.sh [options]
#   --env FILE         the nodes (default: cluster/nodes.env)
#   --pki DIR          the material (default: cluster/pki)
#   --binary PATH      membershipd to install (default: .build-release/release/membershipd)
#   --ssh-config FILE  passed to ssh and scp as -F FILE (identity, known hosts, jump hosts)
#   --no-start         install everything (unit and drop-in included) but do not reload systemd
#                      nor enable or start membershipd-cluster
#   --yes              do it (without: dry run)
# On a node it installs the missing Debian packages, disables Debian's nats-server.service,
# creates the unibus user, installs /usr/local/bin/membershipd, /etc/unibus (certificates, keys
# and internal.id 0600 owned by unibus; directories root:unibus 0750), /etc/unibus/node.env, the
# unit and its drop-in, then (unless --no-start) enables and starts the unit.
# Exit status: 0 done (or the dry run printed), 1 failed, 2 usage error.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
env_file="$here/nodes.env"
pki="$here/pki"
binary="$(dirname "$here")/.build-release/release/membershipd"
ssh_config=""
run=0
start=1

die() { echo "error: $*" >&2; exit 1; }
usage_error() { echo "error: $*" >&2; echo "see: $0 --help" >&2; exit 2; }
need_value() { [ "$2" -ge 2 ] || usage_error "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --env) need_value "$1" $#; env_file="$2"; shift 2 ;;
    --pki) need_value "$1" $#; pki="$2"; shift 2 ;;
    --binary) need_value "$1" $#; binary="$2"; shift 2 ;;
    --ssh-config) need_value "$1" $#; ssh_config="$2"; shift 2 ;;
    --no-start) start=0; shift ;;
    --yes) run=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) usage_error "unknown option $1" ;;
  esac
done
# shellcheck source=cluster/lib.sh
. "$here/lib.sh"
load_nodes "$env_file"
for v in CLUSTER_NAME NODE1_NAME NODE1_HOST NODE2_NAME NODE2_HOST NODE3_NAME NODE3_HOST SSH_USER \
  NATS_PORT HTTP_PORT CLUSTER_PORT; do
  [ -n "${!v:-}" ] || die "$env_file does not set $v"
done
# These go into paths and into the commands run on the nodes: keep them plain.
for i in 1 2 3; do
  name_var="NODE${i}_NAME"; host_var="NODE${i}_HOST"
  [[ "${!name_var}" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "$name_var='${!name_var}' in $env_file: use letters, digits, '.', '_', '-'"
  [[ "${!host_var}" =~ ^[A-Za-z0-9][A-Za-z0-9.:-]*$ ]] || die "$host_var='${!host_var}' in $env_file is not a host name or address"
done
[[ "$SSH_USER" =~ ^[A-Za-z_][A-Za-z0-9_.-]*$ ]] || die "SSH_USER='$SSH_USER' in $env_file is not a user name"
for v in NATS_PORT HTTP_PORT CLUSTER_PORT; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v='${!v}' in $env_file is not a port number"
done
ssh_opts=()
if [ -n "$ssh_config" ]; then
  [ -f "$ssh_config" ] || die "--ssh-config $ssh_config: no such file"
  ssh_opts=(-F "$ssh_config")
fi

# The files each node receives, by the name they have in the node's staging directory.
staged_names=(membershipd membershipd-cluster.service nats-monitor.conf ca.crt server.crt server.key
  node.crt node.key route-ca.crt route.pass internal.id node.env install.sh)
# source_of NAME NODE: where a staged file comes from (node.env and install.sh are written here).
source_of() {
  case "$1" in
    membershipd) echo "$binary" ;;
    membershipd-cluster.service) echo "$here/membershipd-cluster.service" ;;
    nats-monitor.conf) echo "$here/membershipd-cluster.service.d/nats-monitor.conf" ;;
    ca.crt|server.crt|server.key|internal.id) echo "$pki/$2/$1" ;;
    node.crt) echo "$pki/routes/$2.crt" ;;
    node.key) echo "$pki/routes/$2.key" ;;
    route-ca.crt|route.pass) echo "$pki/routes/$1" ;;
    *) echo "(written by deploy-cluster.sh)" ;;
  esac
}

if [ "$run" = 1 ]; then
  { [ -f "$binary" ] && [ -x "$binary" ]; } || die "$binary not found or not executable; build it with scripts/build-release.sh or pass --binary"
  missing=()
  for n in "$NODE1_NAME" "$NODE2_NAME" "$NODE3_NAME"; do
    for f in "${staged_names[@]}"; do
      case "$f" in membershipd|node.env|install.sh) continue ;; esac
      src="$(source_of "$f" "$n")"
      [ -f "$src" ] || [[ " ${missing[*]:-} " == *" $src "* ]] || missing+=("$src")
    done
  done
  if [ ${#missing[@]} -gt 0 ]; then
    die "the material is incomplete (cluster/README.md section 2); missing: ${missing[*]}"
  fi
fi

routes=""
for i in 1 2 3; do h="NODE${i}_HOST"; routes="${routes:+$routes,}nats-route://${!h}:${CLUSTER_PORT}"; done

node_env() { # NAME HOST
  printf 'NODE_NAME=%s\nNODE_HOST=%s\nCLUSTER_NAME=%s\nROUTES=%s\nNATS_PORT=%s\nHTTP_PORT=%s\nCLUSTER_PORT=%s\n' \
    "$1" "$2" "$CLUSTER_NAME" "$routes" "$NATS_PORT" "$HTTP_PORT" "$CLUSTER_PORT"
}

# Checked on every node before anything changes on any node (and again by install.sh).
preflight_checks() { # NAME
  printf 'node=%q\nstart=%q\n' "$1" "$start"
  cat <<'EOF'
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
  echo "error: $node: $(id -un) is not root and sudo is not installed there" >&2; exit 1
fi
if [ "$start" = 1 ] && [ ! -d /run/systemd/system ]; then
  echo "error: $node: systemd is not running there (no /run/systemd/system), so membershipd-cluster cannot be started; rerun with --no-start to install without starting" >&2; exit 1
fi
command -v dpkg-query >/dev/null || { echo "error: $node: not a Debian system (no dpkg-query)" >&2; exit 1; }
EOF
}

# What runs on a node (as SSH_USER, from its staging directory, which it removes on exit).
install_script() { # NAME
  printf '#!/usr/bin/env bash\n# membershipd-cluster install for node %s (written by cluster/deploy-cluster.sh)\n' "$1"
  echo 'set -euo pipefail'
  preflight_checks "$1"
  cat <<'EOF'
stage="$(cd "$(dirname "$0")" && pwd)"
trap 'rm -rf -- "$stage"' EXIT
cd "$stage"
if [ "$(id -u)" -eq 0 ]; then as_root() { "$@"; }; else as_root() { sudo "$@"; }; fi
missing=""
for p in nats-server libnats3.4 libsqlite3-0; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -qx 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "$node: installing$missing"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update
  # shellcheck disable=SC2086
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y $missing
fi
# Debian's nats-server.service listens on 127.0.0.1:4222 without our ACLs: never run it beside ours.
# (Without a running systemd, systemctl edits the links under /etc only.)
if command -v systemctl >/dev/null && systemctl list-unit-files nats-server.service >/dev/null 2>&1; then
  if [ -d /run/systemd/system ]; then
    as_root systemctl disable --now nats-server.service
  else
    as_root systemctl disable nats-server.service
  fi
fi
getent group unibus >/dev/null || as_root groupadd --system unibus
id -u unibus >/dev/null 2>&1 || as_root useradd --system --gid unibus --home-dir /var/lib/unibus --no-create-home --shell /usr/sbin/nologin unibus
as_root install -d -o unibus -g unibus -m 0700 /var/lib/unibus
as_root install -d -o root -g unibus -m 0750 /etc/unibus /etc/unibus/tls /etc/unibus/routes
# Keep the binary this replaces for a rollback (cluster/README.md section 11).
if [ -f /usr/local/bin/membershipd ] && ! cmp -s membershipd /usr/local/bin/membershipd; then
  as_root cp -p /usr/local/bin/membershipd /usr/local/bin/membershipd.previous
fi
as_root install -o root -g root -m 0755 membershipd /usr/local/bin/membershipd
as_root install -o root -g unibus -m 0644 ca.crt server.crt /etc/unibus/tls/
as_root install -o unibus -g unibus -m 0600 server.key /etc/unibus/tls/server.key
as_root install -o root -g unibus -m 0644 node.crt route-ca.crt /etc/unibus/routes/
as_root install -o unibus -g unibus -m 0600 node.key route.pass /etc/unibus/routes/
as_root install -o unibus -g unibus -m 0600 internal.id /etc/unibus/internal.id
as_root install -o root -g root -m 0644 node.env /etc/unibus/node.env
as_root install -o root -g root -m 0644 membershipd-cluster.service /etc/systemd/system/membershipd-cluster.service
as_root install -d -o root -g root -m 0755 /etc/systemd/system/membershipd-cluster.service.d
as_root install -o root -g root -m 0644 nats-monitor.conf /etc/systemd/system/membershipd-cluster.service.d/nats-monitor.conf
if [ "$start" = 1 ]; then
  as_root systemctl daemon-reload
  as_root systemctl enable membershipd-cluster.service
  as_root systemctl restart membershipd-cluster.service
  echo "$node: membershipd-cluster enabled and (re)started"
else
  echo "$node: installed; not started (--no-start)"
fi
EOF
}

# Prints a command, shell-quoted; <placeholders> (known only when it runs) are printed as they are.
show() {
  printf 'would run:'
  for a in "$@"; do
    if [[ "$a" =~ ^[A-Za-z0-9_./:@=,+-]+$ ]] || [[ "$a" == *"<"*">"* ]]; then printf ' %s' "$a"
    elif [[ "$a" != *"'"* ]]; then printf " '%s'" "$a"
    else printf ' %q' "$a"; fi
  done
  printf '\n'
}

work=""
remote_target=""
remote_dir=""
cleanup() {
  # shellcheck disable=SC2029  # remote_dir is mktemp's answer, checked to be /tmp/unibus-deploy.X
  if [ -n "$remote_dir" ]; then ssh "${ssh_opts[@]}" "$remote_target" "rm -rf -- $remote_dir" >/dev/null 2>&1 || true; fi
  if [ -n "$work" ]; then rm -rf -- "$work"; fi
}
trap cleanup EXIT
if [ "$run" = 1 ]; then work="$(mktemp -d "${TMPDIR:-/tmp}/unibus-deploy.XXXXXX")"; fi

echo "== preflight (every node, before anything changes)"
for i in 1 2 3; do
  name_var="NODE${i}_NAME"; host_var="NODE${i}_HOST"
  n="${!name_var}"; h="${!host_var}"; target="$SSH_USER@$h"
  if [ "$run" = 0 ]; then
    show ssh "${ssh_opts[@]}" "$target" "bash -s" "<" "<preflight of $n>"
    continue
  fi
  preflight_checks "$n" | ssh "${ssh_opts[@]}" "$target" "bash -s" || die "$n: the preflight on $target failed (see above); nothing was changed"
  echo "$n: ok"
done
if [ "$run" = 0 ]; then
  echo "  preflight of <node>:"
  preflight_checks "<node>" | sed 's/^/    | /'
fi

for i in 1 2 3; do
  name_var="NODE${i}_NAME"; host_var="NODE${i}_HOST"
  n="${!name_var}"; h="${!host_var}"; target="$SSH_USER@$h"
  echo "== $n ($h)"
  mk_remote=(ssh "${ssh_opts[@]}" "$target" "mktemp -d /tmp/unibus-deploy.XXXXXX")
  if [ "$run" = 0 ]; then
    show "${mk_remote[@]}"
    echo "  staging directory <stage> (a local temporary directory, removed at exit), for $target:<tmp>:"
    for f in "${staged_names[@]}"; do printf '    %-28s <- %s\n' "$f" "$(source_of "$f" "$n")"; done
    echo "  node.env:"
    node_env "$n" "$h" | sed 's/^/    /'
    show scp -q "${ssh_opts[@]}" "<stage>/*" "$target:<tmp>/"
    show ssh "${ssh_opts[@]}" "$target" "bash <tmp>/install.sh"
    echo "  install.sh:"
    install_script "$n" | sed 's/^/    | /'
    continue
  fi
  stage="$work/$n"
  mkdir "$stage"
  for f in "${staged_names[@]}"; do
    case "$f" in
      node.env) node_env "$n" "$h" > "$stage/$f" ;;
      install.sh) install_script "$n" > "$stage/$f" ;;
      *) src="$(source_of "$f" "$n")"; [[ "$src" = /* ]] || src="$PWD/$src"; ln -s "$src" "$stage/$f" ;;
    esac
  done
  remote_target="$target"
  remote_dir="$("${mk_remote[@]}")" || die "$n: cannot reach $target over ssh (or mktemp failed there)"
  [[ "$remote_dir" =~ ^/tmp/unibus-deploy\.[A-Za-z0-9]+$ ]] || die "$n: unexpected answer from mktemp on $target: $remote_dir"
  scp -q "${ssh_opts[@]}" "$stage"/* "$target:$remote_dir/" || die "$n: copying the files to $target:$remote_dir failed"
  # A terminal (when there is one) lets sudo ask for a password.
  tty_opt=()
  if [ -t 0 ]; then tty_opt=(-t); fi
  # shellcheck disable=SC2029
  ssh "${tty_opt[@]}" "${ssh_opts[@]}" "$target" "bash $remote_dir/install.sh" || die "$n: the install on $target failed (see above)"
  remote_dir=""   # install.sh removed it
  rm -rf -- "$stage"
done
if [ "$run" = 1 ]; then
  if [ "$start" = 1 ]; then echo "deployed and started on 3 nodes"; else echo "deployed on 3 nodes; not started (--no-start)"; fi
else
  echo "dry run: nothing was changed; add --yes to deploy"
fi
