#!/usr/bin/env bash
# Proves the cluster rollout from the repo on three test hosts:
#   1. three hosts, each a network namespace (its own address on a private bridge) with its own
#      mount namespace: private /etc (a copy), /usr/local/bin, /var/lib/unibus, /tmp, /var/tmp,
#      /run, /root, /var/log; the Swift toolchain hidden under an empty tmpfs; everything else
#      read-only, so the rollout cannot write to this machine;
#   2. an sshd per host (throwaway host and user keys) and an ssh client config for them;
#   3. a nodes.env, the cluster material, cluster/deploy-cluster.sh: the dry run (no build, no
#      material, nothing run, no temporary file), the refusal to start without systemd (nothing
#      changed), then --yes --no-start over ssh as root;
#   4. what it installed, file by file (owners, modes, contents, no temporary file, the binary
#      loads only Debian libraries); a re-run as a sudo user puts back what was removed;
#   5. membershipd started on each host with the installed unit's command line (ExecStart with
#      node.env and the drop-in's Environment=, User=/Group=, WorkingDirectory=; ProtectSystem=
#      strict, ReadWritePaths=, PrivateTmp=, ProtectHome=, NoNewPrivileges= emulated);
#   6. the cluster forms: /healthz 200 on all three; systemd-analyze verify on the unit;
#   7. the on-node CLI over ssh, from / with no store flags: the first admin (applied on 3/3
#      nodes), a member, the list, a refusal of a store the node does not use;
#   8. SIGTERM: each membershipd exits 0 and leaves nothing running. On any exit, everything the
#      test made is removed and checked gone.
# Needs root and namespaces; without them it prints SKIP and exits 0. Any failed check: exit 1.
#
# Usage: Tests/Deploy/rollout-test.sh [--binary PATH]
# Environment:
#   UNIBUS_DEPLOY_BINARY  membershipd to deploy (default .build-release/release/membershipd from
#                         scripts/build-release.sh: the hosts have no toolchain)
#   UNIBUS_ROLLOUT_NET    first three octets of the test hosts' /24 (default 10.231.77)
#   UNIBUS_PYTHON         python with nkeys (default .venv/bin/python3)
# shellcheck disable=SC2016  # the single-quoted scripts below run in the hosts, expanding there
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
binary="${UNIBUS_DEPLOY_BINARY:-$repo/.build-release/release/membershipd}"
net="${UNIBUS_ROLLOUT_NET:-10.231.77}"
python="${UNIBUS_PYTHON:-$repo/.venv/bin/python3}"
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) [ $# -ge 2 ] || { echo "error: --binary needs a value" >&2; exit 2; }; binary="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/{/^# shellcheck/d;/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$binary" = /* ]] || binary="$PWD/$binary"

prefix=ubrt                       # namespaces ubrt-h1..3, links ubrt-br, ubrt-v1..3
bridge="$prefix-br"
ports_http=8470
started=$SECONDS
say() { printf '[%3ds] %s\n' "$((SECONDS - started))" "$*"; }
ok() { printf '[%3ds]   ok: %s\n' "$((SECONDS - started))" "$*"; }
fail() { printf '[%3ds] FAIL: %s\n' "$((SECONDS - started))" "$*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 0; }

# --- may this machine run it? (only these cases skip) ---------------------------------------
[ "$(id -u)" -eq 0 ] || skip "not root: the test makes network and mount namespaces"
for tool in ip unshare nsenter; do
  command -v "$tool" >/dev/null || fail "$tool not found (Debian: iproute2, util-linux; see scripts/setup-debian.sh)"
done
probe_ns="$prefix-probe$$"
if ! err=$(ip netns add "$probe_ns" 2>&1); then skip "the kernel refused a network namespace: $err"; fi
probe_ok=1
err=$(ip netns exec "$probe_ns" unshare --mount --uts --propagation private true 2>&1) || probe_ok=0
if [ "$probe_ok" = 1 ]; then
  err=$(ip link add "${prefix}p$$" type veth peer name eth0 netns "$probe_ns" 2>&1) || probe_ok=0
fi
if [ "$probe_ok" = 1 ]; then
  err=$(ip link add "${prefix}b$$" type bridge 2>&1 && ip link del "${prefix}b$$") || probe_ok=0
fi
ip link del "${prefix}p$$" 2>/dev/null || true
ip netns del "$probe_ns"
[ "$probe_ok" = 1 ] || skip "the kernel refused a mount namespace, a veth or a bridge: $err"

# --- what the test needs (installed by scripts/setup-debian.sh) --------------------------------
for tool in /usr/sbin/sshd ssh scp ssh-keygen curl openssl setpriv systemd-analyze dpkg-query timeout; do
  command -v "$tool" >/dev/null || fail "$tool not found; run scripts/setup-debian.sh (it installs what this test needs)"
done
[ -x "$binary" ] || fail "$binary not found; build it (swift build --static-swift-stdlib --product membershipd) or pass --binary / UNIBUS_DEPLOY_BINARY"
[ -x "$python" ] || fail "$python not found (it makes the nodes' internal.id with nkeys); run scripts/setup-debian.sh or set UNIBUS_PYTHON"
for p in nats-server libnats3.4 libsqlite3-0; do
  # The hosts share this machine's /usr: the deploy must find the packages and install nothing.
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -qx 'install ok installed' ||
    fail "Debian package $p is not installed here; run scripts/setup-debian.sh"
done
[[ "$net" =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || fail "UNIBUS_ROLLOUT_NET=$net: give three octets, e.g. 10.231.77"
if ip -4 -o addr show | grep -qF " $net." || ip -4 route show | grep -q "^${net//./\\.}\."; then
  fail "$net.0/24 is already used on this machine; pick another with UNIBUS_ROLLOUT_NET"
fi
if ip netns list | grep -q "^$prefix-"; then
  fail "namespaces of an earlier run remain ($(ip netns list | grep "^$prefix-" | cut -d' ' -f1 | tr '\n' ' ')); remove them: ip netns del NAME"
fi
if ip -o link show | grep -q ": $prefix-"; then
  fail "interfaces of an earlier run remain; remove them: ip link del $bridge (and $prefix-v1..3)"
fi
# The Swift toolchain the hosts must not see: /opt/swift and wherever `swift` on PATH comes from.
hide=()
[ -d /opt/swift ] && hide+=(/opt/swift)
# A toolchain installed into /usr itself cannot be hidden; then the ldd check in step 4 (no
# library from a Swift directory, none missing) is what shows the binary does without it.
toolchain_note=""
if swift_path="$(command -v swift 2>/dev/null)"; then
  toolchain="$(readlink -f "$swift_path")"; toolchain="${toolchain%/usr/bin/*}"
  case "$toolchain" in
    /opt/swift) ;;
    ""|/|/usr|/usr/local|/bin) toolchain_note="the toolchain of $swift_path lives in /usr and stays visible" ;;
    /*) if [ -d "$toolchain" ]; then hide+=("$toolchain"); fi ;;
  esac
fi

# --- state, and the cleanup that runs on every exit --------------------------------------------
T=""
declare -a sshd_pid=() md_pid=() seen_pids=()
made_var_lib_unibus=0
# What the rollout would change on this machine if it escaped the hosts.
machine_state() {
  local p
  getent passwd unibus || true
  for p in /etc/unibus /usr/local/bin/membershipd /etc/systemd/system/membershipd-cluster.service /var/lib/unibus/local_files; do
    if [ -e "$p" ]; then echo "$p"; fi
  done
}
real_before="$(machine_state)"

alive() { [ -e "/proc/$1" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null; }
# Waits until none of the given pids is alive, up to $1 seconds; returns 1 if some still are.
wait_gone() {
  local limit=$1 p any; shift
  for _ in $(seq 1 $((limit * 10))); do
    any=0
    for p in "$@"; do if alive "$p"; then any=1; fi; done
    [ "$any" = 0 ] && return 0
    sleep 0.1
  done
  return 1
}
tails() {
  local f
  [ -n "$T" ] || return 0
  for f in "$T"/deploy.log "$T"/h?/membershipd.log "$T"/h?/sshd.log; do
    [ -s "$f" ] || continue
    echo "---- last lines of ${f#"$T"/} ----" >&2
    case "$f" in *sshd.log) tail -n 6 "$f" >&2 ;; *) tail -n 25 "$f" >&2 ;; esac
  done
}
cleanup() {
  local rc=$? i p pids left=""
  set +e
  trap - EXIT INT TERM
  [ "$rc" = 0 ] || tails
  # membershipd first (SIGTERM: it stops its nats-server), then anything else in the hosts, then sshd.
  for p in "${md_pid[@]}"; do alive "$p" && kill -TERM "$p"; done
  if [ ${#md_pid[@]} -gt 0 ] && ! wait_gone 35 "${md_pid[@]}"; then
    for p in "${md_pid[@]}"; do alive "$p" && { left="$left membershipd:$p"; kill -KILL "$p"; }; done
  fi
  for i in 1 2 3; do
    ip netns list | grep -q "^$prefix-h$i\b" || continue
    pids="$(ip netns pids "$prefix-h$i" 2>/dev/null | grep -vx "${sshd_pid[$i]:-none}")"
    for p in $pids; do seen_pids+=("$p"); kill -TERM "$p" 2>/dev/null; done
  done
  [ ${#seen_pids[@]} -eq 0 ] || wait_gone 5 "${seen_pids[@]}" || for p in "${seen_pids[@]}"; do alive "$p" && kill -KILL "$p"; done
  for p in "${sshd_pid[@]}"; do alive "$p" && kill -TERM "$p"; done
  [ ${#sshd_pid[@]} -eq 0 ] || wait_gone 5 "${sshd_pid[@]}" || for p in "${sshd_pid[@]}"; do alive "$p" && kill -KILL "$p"; done
  [ ${#sshd_pid[@]} -eq 0 ] || wait_gone 5 "${sshd_pid[@]}"
  for i in 1 2 3; do
    ip netns list | grep -q "^$prefix-h$i\b" || continue
    pids="$(ip netns pids "$prefix-h$i" 2>/dev/null)"
    for p in $pids; do left="$left ns$i:$p"; kill -KILL "$p" 2>/dev/null; done
    ip netns del "$prefix-h$i"
  done
  ip link del "$bridge" 2>/dev/null
  [ "$made_var_lib_unibus" = 1 ] && rmdir /var/lib/unibus
  [ -n "$T" ] && rm -rf -- "$T"
  # Nothing of the test may remain.
  ip netns list | grep "^$prefix-" && left="$left namespaces"
  ip -o link show | grep ": $prefix-" && left="$left interfaces"
  for p in "${md_pid[@]}" "${sshd_pid[@]}" "${seen_pids[@]}"; do alive "$p" && left="$left pid:$p"; done
  if [ -n "$left" ]; then
    echo "error: cleanup found what the test left running or had to kill hard:$left" >&2
    [ "$rc" = 0 ] && rc=1
  else
    say "cleanup: namespaces, interfaces, processes and temporary files of the test are gone"
  fi
  if [ "$rc" = 0 ]; then say "PASS ($((SECONDS - started)) s)"; else say "FAILED (exit $rc, $((SECONDS - started)) s)"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
T="$(mktemp -d "${TMPDIR:-/tmp}/unibus-rollout.XXXXXX")"

in_host() { local i=$1; shift; nsenter --target "${sshd_pid[$i]}" --mount --net --uts -- "$@"; }
ssh_cfg="$T/ssh/config"
on_node() { local i=$1; shift; timeout 60 ssh -F "$ssh_cfg" "root@$net.$i" "$@"; }

# --- 1. the hosts -----------------------------------------------------------------------------
say "1. three hosts on $net.0/24 (network + mount namespaces; toolchain hidden: ${hide[*]:-none found})"
if [ ! -e /var/lib/unibus ]; then mkdir /var/lib/unibus; made_var_lib_unibus=1; fi
mkdir -p "$T/ssh"
ssh-keygen -q -t ed25519 -N '' -C rollout-test -f "$T/ssh/id_ed25519"
ip link add "$bridge" type bridge
ip addr add "$net.254/24" dev "$bridge"
ip link set "$bridge" up
# Runs inside each host's new mount namespace, then becomes its sshd.
host_init='set -e
hostname "$1"
mount --bind "$2/etc" /etc
mount --bind "$2/usr-local-bin" /usr/local/bin
mount --bind "$2/var-lib-unibus" /var/lib/unibus
for d in $3; do mount -t tmpfs -o mode=0755,size=1m tmpfs "$d"; done
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -m 0755 /run/sshd
mount -t tmpfs -o mode=0700 tmpfs /root
mount -t tmpfs -o mode=0755 tmpfs /var/log
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -o remount,bind,ro /
exec /usr/sbin/sshd -D -e -f /etc/ssh/rollout-test/sshd_config'
for i in 1 2 3; do
  d="$T/h$i"; ns="$prefix-h$i"; addr="$net.$i"
  mkdir -p "$d/usr-local-bin" "$d/var-lib-unibus"
  cp -a /etc "$d/etc"
  sd="$d/etc/ssh/rollout-test"
  mkdir -m 0755 "$sd"
  ssh-keygen -q -t ed25519 -N '' -C "rollout-test-h$i" -f "$sd/ssh_host_ed25519_key"
  # sshd reads authorized keys as the user logging in: root and "deployer" (a sudo user).
  install -m 0644 "$T/ssh/id_ed25519.pub" "$sd/authorized_keys"
  # Only in the host's copy of /etc: its name, an unlocked root (key login only) and a sudo user.
  printf '%s rollout-h%s\n' "$addr" "$i" >> "$d/etc/hosts"
  sed -i 's/^root:![^:]*:/root:*:/' "$d/etc/shadow"
  echo 'deployer:x:2999:2999:rollout test sudo user:/var/tmp:/bin/bash' >> "$d/etc/passwd"
  echo 'deployer:x:2999:' >> "$d/etc/group"
  echo 'deployer:*:19000:0:99999:7:::' >> "$d/etc/shadow"
  mkdir -p "$d/etc/sudoers.d"
  echo 'deployer ALL=(ALL) NOPASSWD: ALL' > "$d/etc/sudoers.d/deployer"
  chmod 0440 "$d/etc/sudoers.d/deployer"
  printf '%s %s\n' "$addr" "$(cut -d' ' -f1,2 "$sd/ssh_host_ed25519_key.pub")" >> "$T/ssh/known_hosts"
  cat > "$sd/sshd_config" <<EOF
ListenAddress $addr
Port 22
HostKey /etc/ssh/rollout-test/ssh_host_ed25519_key
AuthorizedKeysFile /etc/ssh/rollout-test/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
PrintLastLog no
Subsystem sftp internal-sftp
EOF
  ip netns add "$ns"
  ip link add "$prefix-v$i" type veth peer name eth0 netns "$ns"
  ip link set "$prefix-v$i" master "$bridge" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip netns exec "$ns" unshare --mount --uts --propagation private /bin/sh -c "$host_init" host-init \
    "rollout-h$i" "$d" "${hide[*]:-}" >"$d/sshd.log" 2>&1 &
  sshd_pid[i]=$!
done
cat > "$ssh_cfg" <<EOF
Host $net.1 $net.2 $net.3
  User root
  IdentityFile $T/ssh/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $T/ssh/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 5
  ServerAliveInterval 5
  ServerAliveCountMax 3
  LogLevel ERROR
EOF

# --- 2. sshd on each host ---------------------------------------------------------------------
say "2. sshd on each host (throwaway host and user keys; StrictHostKeyChecking yes)"
for i in 1 2 3; do
  reached=0
  for _ in $(seq 1 40); do
    alive "${sshd_pid[$i]}" || fail "sshd of host $i exited: $(tail -n 5 "$T/h$i/sshd.log")"
    if on_node "$i" true 2>/dev/null; then reached=1; break; fi
    sleep 0.25
  done
  [ "$reached" = 1 ] || fail "ssh root@$net.$i did not answer within 10 s"
  ok "ssh root@$net.$i (hostname $(on_node "$i" hostname))"
done
in_host 1 timeout 5 bash -c "exec 3<>/dev/tcp/$net.2/22 && exec 3<>/dev/tcp/$net.3/22" ||
  fail "host 1 cannot reach hosts 2 and 3 (is bridged traffic filtered here? see net.bridge.bridge-nf-call-iptables)"
ok "host 1 reaches hosts 2 and 3"
for i in 1 2 3; do
  if in_host "$i" sh -c 'touch /rollout-probe 2>/dev/null'; then rm -f /rollout-probe; fail "host $i can write to this machine's /"; fi
  if [ -z "$toolchain_note" ] && in_host "$i" sh -c 'command -v swift' >/dev/null; then
    fail "host $i still sees a Swift toolchain ($(in_host "$i" sh -c 'command -v swift'))"
  fi
done
ok "hosts write only to their private /etc, /usr/local/bin, /var/lib/unibus, /tmp, /var/tmp, /run, /root, /var/log; ${toolchain_note:-no swift on PATH}"

# --- 3. nodes.env, material, the deploy -------------------------------------------------------
say "3. nodes.env, cluster material, cluster/deploy-cluster.sh"
envf="$T/nodes.env"
pki="$T/pki"
cat > "$envf" <<EOF
CLUSTER_NAME=rollout-test
NODE1_NAME=node1
NODE1_HOST=$net.1
NODE2_NAME=node2
NODE2_HOST=$net.2
NODE3_NAME=node3
NODE3_HOST=$net.3
SSH_USER=root
NATS_PORT=4250
HTTP_PORT=$ports_http
CLUSTER_PORT=6250
EOF
nodes=(node1 node2 node3)

# The cluster material: certificates and route password, and each node's internal identity.
# membershipd certs cluster (through its wrapper) with the binary under test.
make_material() { # ENV OUT
  MEMBERSHIPD="$binary" "$repo/cluster/generate-cluster-certs.sh" --env "$1" --out "$2" >/dev/null
}
make_material "$envf" "$pki"
ok "material in pki/: $(cd "$pki" && find . -type f | sort | tr '\n' ' ')"

deploy="$repo/cluster/deploy-cluster.sh"
# The dry run: no build, no material, no ssh, no temporary file.
mkdir "$T/stub" "$T/dry-tmp"
for tool in ssh scp; do
  printf '#!/bin/sh\necho "%s $*" >> "%s/stub-called"\nexit 1\n' "$tool" "$T" > "$T/stub/$tool"
  chmod +x "$T/stub/$tool"
done
rc=0
TMPDIR="$T/dry-tmp" PATH="$T/stub:$PATH" timeout 30 "$deploy" --env "$envf" --pki "$T/no-pki" \
  --binary "$T/no-binary" --ssh-config "$ssh_cfg" > "$T/dry-run.log" 2>&1 || rc=$?
[ "$rc" = 0 ] || { cat "$T/dry-run.log" >&2; fail "the dry run exited $rc"; }
grep -q '^dry run: nothing was changed' "$T/dry-run.log" || fail "the dry run did not say it changed nothing"
grep -q 'install -o unibus -g unibus -m 0600 internal.id /etc/unibus/internal.id' "$T/dry-run.log" ||
  fail "the dry run does not show the internal.id install"
[ ! -e "$T/stub-called" ] || fail "the dry run ran: $(cat "$T/stub-called")"
[ -z "$(ls -A "$T/dry-tmp")" ] || fail "the dry run left temporary files: $(ls -A "$T/dry-tmp")"
[ ! -e "$T/no-pki" ] || fail "the dry run created the material directory"
ok "dry run without build or material: $(grep -c '^would run:' "$T/dry-run.log") commands printed, nothing run, no temporary file"
rc=0
"$deploy" --env "$envf" --bogus >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "an unknown option exited $rc, not 2"
ok "usage error exits 2"

# Starting needs systemd; without it the deploy says so before it changes anything.
mkdir "$T/deploy-tmp"
rc=0
TMPDIR="$T/deploy-tmp" timeout 60 "$deploy" --env "$envf" --pki "$pki" --ssh-config "$ssh_cfg" \
  --binary "$binary" --yes > "$T/no-systemd.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat "$T/no-systemd.log" >&2; fail "deploying with start on hosts without systemd exited $rc, not 1"; }
grep -q '^error: node1: systemd is not running there' "$T/no-systemd.log" ||
  { cat "$T/no-systemd.log" >&2; fail "the refusal does not say that systemd is not running"; }
for i in 1 2 3; do
  in_host "$i" sh -c '[ ! -e /usr/local/bin/membershipd ] && [ ! -e /etc/unibus ] && [ -z "$(ls -A /tmp)" ]' ||
    fail "the refused deploy changed host $i"
done
[ -z "$(ls -A "$T/deploy-tmp")" ] || fail "the refused deploy left temporary files: $(ls -A "$T/deploy-tmp")"
ok "without --no-start on hosts without systemd: exit 1, '$(grep '^error:' "$T/no-systemd.log" | head -1 | cut -c1-80)...', nothing changed"

say "   deploy-cluster.sh --yes --no-start ($(du -h "$binary" | cut -f1) binary, over ssh)"
rc=0
TMPDIR="$T/deploy-tmp" timeout 150 "$deploy" --env "$envf" --pki "$pki" --ssh-config "$ssh_cfg" \
  --binary "$binary" --yes --no-start > "$T/deploy.log" 2>&1 || rc=$?
sed 's/^/    | /' "$T/deploy.log"
[ "$rc" = 0 ] || fail "deploy-cluster.sh --yes --no-start exited $rc"
[ -z "$(ls -A "$T/deploy-tmp")" ] || fail "the deploy left local temporary files: $(ls -A "$T/deploy-tmp")"
ok "deploy exited 0; no local temporary file left"

# --- 4. what the deploy installed -------------------------------------------------------------
say "4. what each host has now"
expected='750 root:unibus /etc/unibus
750 root:unibus /etc/unibus/tls
750 root:unibus /etc/unibus/routes
644 root:root /etc/unibus/node.env
600 unibus:unibus /etc/unibus/internal.id
644 root:unibus /etc/unibus/tls/ca.crt
644 root:unibus /etc/unibus/tls/server.crt
600 unibus:unibus /etc/unibus/tls/server.key
644 root:unibus /etc/unibus/routes/node.crt
600 unibus:unibus /etc/unibus/routes/node.key
644 root:unibus /etc/unibus/routes/route-ca.crt
600 unibus:unibus /etc/unibus/routes/route.pass
755 root:root /usr/local/bin/membershipd
700 unibus:unibus /var/lib/unibus
644 root:root /etc/systemd/system/membershipd-cluster.service
644 root:root /etc/systemd/system/membershipd-cluster.service.d/nats-monitor.conf'
paths="$(printf '%s\n' "$expected" | cut -d' ' -f3 | tr '\n' ' ')"
check_installed() {
  local i n got
  for i in 1 2 3; do
    n="${nodes[$((i - 1))]}"
    # shellcheck disable=SC2086
    got="$(in_host "$i" stat -c '%a %U:%G %n' $paths 2>&1)" || fail "host $i: missing files: $got"
    [ "$got" = "$expected" ] || fail "host $i: owners and modes differ:$(diff <(echo "$expected") <(echo "$got") | sed 's/^/ /')"
    in_host "$i" cmp -s /etc/unibus/internal.id /dev/stdin < "$pki/$n/internal.id" || fail "host $i: /etc/unibus/internal.id is not $n's"
    in_host "$i" cmp -s /usr/local/bin/membershipd /dev/stdin < "$binary" || fail "host $i: /usr/local/bin/membershipd is not the binary deployed"
    in_host "$i" cmp -s /etc/systemd/system/membershipd-cluster.service /dev/stdin < "$repo/cluster/membershipd-cluster.service" ||
      fail "host $i: the installed unit is not cluster/membershipd-cluster.service"
    in_host "$i" grep -qx "NODE_HOST=$net.$i" /etc/unibus/node.env || fail "host $i: node.env does not name its host"
    in_host "$i" sh -c '[ -z "$(ls -A /tmp)" ]' || fail "host $i: the deploy left files in /tmp: $(in_host "$i" ls -A /tmp)"
    in_host "$i" getent passwd unibus >/dev/null || fail "host $i: no unibus user"
    lddout="$(in_host "$i" ldd /usr/local/bin/membershipd 2>&1)" || fail "host $i: ldd failed: $lddout"
    if grep -qiE 'not found|swift' <<<"$lddout"; then fail "host $i: the binary needs what the host lacks: $(grep -iE 'not found|swift' <<<"$lddout")"; fi
  done
}
check_installed
ok "on all three: $(printf '%s\n' "$expected" | wc -l) paths with the expected owner and mode; internal.id, binary, unit match; /tmp empty"
ok "the binary loads only: $(awk '{print $1}' <<<"$lddout" | sed 's|.*/||' | tr '\n' ' ')"
[ "$real_before" = "$(machine_state)" ] || fail "the deploy changed this machine: before '$real_before', after '$(machine_state)'"
ok "this machine is unchanged (no unibus user, /etc/unibus, membershipd or unit added)"

say "   again, as a sudo user (SSH_USER=deployer): a re-run over an installed cluster"
sed 's/^SSH_USER=.*/SSH_USER=deployer/' "$envf" > "$T/nodes-sudo.env"
# Remove two files the re-run must put back, through sudo, with their owners and modes.
for i in 1 2 3; do on_node "$i" 'rm /usr/local/bin/membershipd /etc/unibus/internal.id'; done
rc=0
TMPDIR="$T/deploy-tmp" timeout 150 "$deploy" --env "$T/nodes-sudo.env" --pki "$pki" --ssh-config "$ssh_cfg" \
  --binary "$binary" --yes --no-start > "$T/deploy.log" 2>&1 || rc=$?
sed 's/^/    | /' "$T/deploy.log"
[ "$rc" = 0 ] || fail "deploy-cluster.sh --yes --no-start as deployer (sudo) exited $rc"
[ -z "$(ls -A "$T/deploy-tmp")" ] || fail "the deploy left local temporary files: $(ls -A "$T/deploy-tmp")"
check_installed
for i in 1 2 3; do
  grep -q 'Accepted publickey for deployer ' "$T/h$i/sshd.log" || fail "host $i: the re-run did not log in as deployer"
done
ok "the re-run as deployer (sudo) exited 0 and put back the removed binary and internal.id; owners, modes, contents as before; no temporary file left"

# --- 5. membershipd as the unit runs it -------------------------------------------------------
say "5. membershipd on each host with the installed unit's command line"
# The [Service] assignments of a unit on stdin, continuation lines joined, comments dropped.
service_lines() {
  awk '
    cont == "" && /^[ \t]*[#;]/ { next }
    { line = cont $0 }
    /\\$/ { cont = substr(line, 1, length(line) - 1) " "; next }
    { cont = "" }
    line ~ /^[ \t]*$/ { next }
    line ~ /^[ \t]*\[/ { section = line; next }
    section == "[Service]" { sub(/^[ \t]+/, "", line); print line }
  '
}
unit_path=/etc/systemd/system/membershipd-cluster.service
start_node() { # I
  local i=$1 svc val user group wd envfile exec protect rw privtmp home nnp word name
  local -a envs=() words=() argv=() assignments=()
  local -A vars=()
  svc="$(in_host "$i" cat "$unit_path" | service_lines)"
  svc+=$'\n'"$(in_host "$i" sh -c "cat $unit_path.d/*.conf" | service_lines)"
  get() { printf '%s\n' "$svc" | sed -n "s/^$1=//p" | tail -n 1; }
  user="$(get User)"; group="$(get Group)"; wd="$(get WorkingDirectory)"; envfile="$(get EnvironmentFile)"
  protect="$(get ProtectSystem)"; rw="$(get ReadWritePaths)"; privtmp="$(get PrivateTmp)"
  home="$(get ProtectHome)"; nnp="$(get NoNewPrivileges)"
  [ "$(printf '%s\n' "$svc" | grep -c '^ExecStart=')" = 1 ] || fail "the unit needs exactly one ExecStart="
  exec="$(get ExecStart)"
  if [ -z "$user" ] || [ -z "$group" ] || [ -z "$wd" ]; then fail "the unit lacks User=, Group= or WorkingDirectory="; fi
  [[ "$exec" =~ ^/ ]] || fail "ExecStart= with a prefix or a relative path is not handled by this test: $exec"
  [[ "$exec" != *[\"\'\\]* ]] || fail "ExecStart= with quotes or escapes is not handled by this test"
  # Environment= first, then EnvironmentFile= (which wins, as in systemd).
  while IFS= read -r val; do
    while IFS= read -r word; do assignments+=("$word"); done < <(printf '%s\n' "$val" | xargs -n 1 printf '%s\n')
  done < <(printf '%s\n' "$svc" | sed -n 's/^Environment=//p')
  if [ -n "$envfile" ]; then
    while IFS= read -r val; do
      [[ "$val" =~ ^[[:space:]]*(#|;|$) ]] && continue
      val="${val#"${val%%[![:space:]]*}"}"
      name="${val%%=*}"; word="${val#*=}"
      [[ "$word" =~ ^\"(.*)\"$ || "$word" =~ ^\'(.*)\'$ ]] && word="${BASH_REMATCH[1]}"
      assignments+=("$name=$word")
    done < <(in_host "$i" cat "${envfile#-}")
  fi
  for word in "${assignments[@]}"; do
    [[ "$word" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || fail "not an environment assignment in the unit: $word"
    vars["${word%%=*}"]="${word#*=}"
  done
  for name in "${!vars[@]}"; do envs+=("$name=${vars[$name]}"); done
  # ExecStart: ${VAR} is one word, a lone $VAR splits at whitespace (systemd.service(5)).
  read -r -a words <<<"$exec"
  for word in "${words[@]}"; do
    if [[ "$word" =~ ^\$([A-Za-z_][A-Za-z0-9_]*)$ ]]; then
      [ -n "${vars[${BASH_REMATCH[1]}]+x}" ] || fail "ExecStart uses \$${BASH_REMATCH[1]}, which nothing sets"
      # shellcheck disable=SC2206
      argv+=(${vars[${BASH_REMATCH[1]}]})
      continue
    fi
    while [[ "$word" =~ \$\{([A-Za-z_][A-Za-z0-9_]*)\} ]]; do
      name="${BASH_REMATCH[1]}"
      [ -n "${vars[$name]+x}" ] || fail "ExecStart uses \${$name}, which neither $envfile nor Environment= sets"
      word="${word//\$\{$name\}/${vars[$name]}}"
    done
    argv+=("$word")
  done
  local pw_home pw_shell
  pw_home="$(in_host "$i" getent passwd "$user" | cut -d: -f6)"
  pw_shell="$(in_host "$i" getent passwd "$user" | cut -d: -f7)"
  local -a priv=(setpriv "--reuid=$user" "--regid=$group" --init-groups)
  [ "$nnp" = true ] || [ "$nnp" = yes ] && priv+=(--no-new-privs)
  [ "$i" = 1 ] && {
    say "   User=$user Group=$group WorkingDirectory=$wd EnvironmentFile=$envfile Environment: $(printf '%s\n' "$svc" | sed -n 's/^Environment=//p' | tr '\n' ' ')"
    say "   sandbox: ProtectSystem=$protect ReadWritePaths=$rw PrivateTmp=$privtmp ProtectHome=$home NoNewPrivileges=$nnp"
    say "   host 1 runs: ${argv[*]}"
  }
  # As systemd would: a private mount namespace, everything read-only but the API file systems
  # and ReadWritePaths= (ProtectSystem=strict), a private /tmp and /var/tmp (PrivateTmp=), empty
  # homes (ProtectHome=), then the user, the working directory and exactly the unit's environment.
  local sandbox='set -e
rw=$1; protect=$2; privtmp=$3; home=$4; shift 4
if [ "$protect" = strict ]; then
  for p in $rw; do mount --bind "$p" "$p"; done
  for m in $(cut -d" " -f5 /proc/self/mountinfo | sort -u); do
    case "$m" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*) continue ;; esac
    keep=0; for p in $rw; do case "$m" in "$p"|"$p"/*) keep=1 ;; esac; done
    [ "$keep" = 1 ] && continue
    # A mount hidden under another (e.g. /run/netns, under the private /run) cannot be reached.
    mount -o remount,bind,ro "$m" 2>/dev/null || { [ -e "$m" ] && [ "$(stat -c %m "$m")" = "$m" ] && mount -o remount,bind,ro "$m"; } || true
  done
  for p in / /etc /usr/local/bin /run /var/log; do
    if touch "$p/.sandbox-probe" 2>/dev/null; then rm -f "$p/.sandbox-probe"; echo "sandbox: $p is writable" >&2; exit 1; fi
  done
fi
case "$privtmp" in true|yes) mount -t tmpfs -o mode=1777 tmpfs /tmp; mount -t tmpfs -o mode=1777 tmpfs /var/tmp ;; esac
case "$home" in true|yes) for h in /home /root; do [ -d "$h" ] && mount -t tmpfs -o ro,mode=0755 tmpfs "$h"; done ;; esac
exec "$@"'
  nsenter --target "${sshd_pid[$i]}" --mount --net --uts -- unshare --mount --propagation private -- \
    /bin/sh -c "$sandbox" sandbox "$rw" "$protect" "$privtmp" "$home" \
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin HOME="$pw_home" USER="$user" LOGNAME="$user" \
    SHELL="$pw_shell" "${envs[@]}" "${priv[@]}" -- /bin/sh -c 'cd "$1" && shift && exec "$@"' workdir "$wd" "${argv[@]}" \
    > "$T/h$i/membershipd.log" 2>&1 &
  md_pid[i]=$!
}
for i in 1 2 3; do start_node "$i"; done
sleep 1
for i in 1 2 3; do
  alive "${md_pid[$i]}" || fail "membershipd on host $i exited at once"
  [ "$(in_host "$i" stat -c %U "/proc/${md_pid[$i]}")" = unibus ] || fail "membershipd on host $i does not run as unibus"
done
ok "membershipd running as unibus on the three hosts (pids ${md_pid[*]})"

# --- 6. the cluster forms ---------------------------------------------------------------------
say "6. the cluster forms: https://<host>:$ports_http/healthz 200 with JetStream ready and 2 routes on all three (bound 90 s)"
deadline=$((SECONDS + 90))
declare -A healthy=()
while [ ${#healthy[@]} -lt 3 ]; do
  for i in 1 2 3; do
    [ -n "${healthy[$i]:-}" ] && continue
    alive "${md_pid[$i]}" || fail "membershipd on host $i exited while the cluster formed"
    code="$(curl -sS --max-time 3 --cacert "$pki/ca.crt" -o "$T/healthz$i" -w '%{http_code}' \
      "https://$net.$i:$ports_http/healthz" 2>/dev/null || true)"
    # 200, JetStream ready (cluster/README.md section 4) and routes to both other nodes.
    if [ "$code" = 200 ] && grep -q '"jetstream":"ready"' "$T/healthz$i" && grep -q '"routes":2[,}]' "$T/healthz$i"; then
      healthy[$i]=1
      ok "host $i /healthz 200, jetstream ready, 2 routes, after $((SECONDS - deadline + 90)) s: $(head -c 300 "$T/healthz$i")"
    fi
  done
  [ ${#healthy[@]} -eq 3 ] && break
  [ "$SECONDS" -lt "$deadline" ] || fail "/healthz not 200 with JetStream ready and 2 routes on all three within 90 s (healthy: ${!healthy[*]}; last answer from the others: $(for i in 1 2 3; do [ -n "${healthy[$i]:-}" ] || printf 'host %s: %s %s; ' "$i" "${code:-none}" "$(head -c 200 "$T/healthz$i" 2>/dev/null)"; done))"
  sleep 1
done
verify="$(in_host 1 timeout 60 systemd-analyze verify "$unit_path" 2>&1)" || fail "systemd-analyze verify $unit_path on host 1: $verify"
ok "systemd-analyze verify $unit_path on host 1: clean${verify:+ ($verify)}"

# --- 7. the on-node CLI over ssh, no store flags ----------------------------------------------
say "7. the on-node CLI over ssh, from / with no store flags"
ed25519_pub() { openssl genpkey -algorithm ed25519 2>/dev/null | openssl pkey -pubout -outform DER | tail -c 32 | od -An -tx1 | tr -d ' \n'; }
alice_pub="$(ed25519_pub)"; bob_pub="$(ed25519_pub)"
# The admin's key is kept: after seeding, the admin uses the signed API from outside the hosts.
(umask 077 && openssl genpkey -algorithm ed25519 -out "$T/admin.pem" 2>/dev/null)
admin_pub="$(openssl pkey -in "$T/admin.pem" -pubout -outform DER | tail -c 32 | od -An -tx1 | tr -d ' \n')"
(umask 077 && openssl pkey -in "$T/admin.pem" -outform DER | tail -c 32 | od -An -tx1 | tr -d ' \n' > "$T/admin.seed")
api() { "$binary" api "$@" --key-file "$T/admin.seed" --url "https://$net.3:$ports_http" --ca "$pki/ca.crt"; }
rc=0; api_out="$(api GET /v1/me 2>&1)" || rc=$?
{ [ "$rc" = 1 ] && grep -q '401 unknown-key' <<<"$api_out"; } || fail "before seeding, the admin's signed request should be refused 401 unknown-key (got exit $rc: $api_out)"
ok "before seeding, the admin's signed request is refused (401 unknown-key, host 3)"
cli() { # I EXPECTED-EXIT COMMAND...: runs "cd / && membershipd COMMAND" on host I
  local i=$1 want=$2 rc=0 out; shift 2
  say "   ssh $net.$i membershipd $*"
  out="$(on_node "$i" "cd / && membershipd $*" 2>&1)" || rc=$?
  printf '%s\n' "$out" | sed 's/^/    | /'
  [ "$rc" = "$want" ] || fail "host $i: 'membershipd $*' exited $rc, expected $want"
  cli_out="$out"
}
cli 1 0 user add --handle admin --sign-pub "$admin_pub" --role admin
grep -q 'applied on 3/3 nodes' <<<"$cli_out" || fail "the first admin was not confirmed 'applied on 3/3 nodes'"
ok "first admin added on host 1, applied on 3/3 nodes"
cli 2 0 user add --handle alice --sign-pub "$alice_pub" --role member
ok "alice added on host 2"
cli 3 0 user list
if ! grep -q admin <<<"$cli_out" || ! grep -q alice <<<"$cli_out"; then fail "host 3's user list does not show admin and alice"; fi
ok "host 3 lists admin and alice"
cli 1 1 user add --db /tmp/x.db --handle bob --sign-pub "$bob_pub" --role member
ok "a store the node does not use (--db /tmp/x.db) is refused with exit 1"
cli 2 0 cluster status
grep -q 'UNIBUS_users: replicas 3' <<<"$cli_out" || fail "cluster status on host 2 does not show the users bucket at 3 replicas"
[ "$(grep -c '^node .*current' <<<"$cli_out")" = 3 ] || fail "cluster status on host 2 does not show three nodes with a current ACL"
ok "cluster status on host 2: buckets at 3 replicas, three nodes current"
rc=0; api_out="$(api GET /v1/me 2>&1)" || rc=$?
{ [ "$rc" = 0 ] && grep -q '"admin"' <<<"$api_out"; } || fail "the seeded admin's signed GET /v1/me on host 3 failed (exit $rc): $api_out"
ok "the seeded admin's signed request is answered on host 3: $(head -c 200 <<<"$api_out")"

# --- 8. stop ----------------------------------------------------------------------------------
say "8. SIGTERM: membershipd stops its nats-server and exits 0"
for i in 1 2 3; do kill -TERM "${md_pid[$i]}"; done
wait_gone 35 "${md_pid[@]}" || fail "membershipd did not exit within 35 s of SIGTERM"
for i in 1 2 3; do
  rc=0; wait "${md_pid[$i]}" || rc=$?
  [ "$rc" = 0 ] || fail "membershipd on host $i exited $rc after SIGTERM"
  rest="$(ip netns pids "$prefix-h$i" | grep -vx "${sshd_pid[$i]}" || true)"
  [ -z "$rest" ] || fail "host $i still runs after membershipd stopped: $(for p in $rest; do tr '\0' ' ' < "/proc/$p/cmdline"; echo; done)"
done
ok "the three exited 0; nothing but sshd runs in the hosts"
