#!/usr/bin/env bash
# generate-certs.sh — TLS material for a unibus node: a client CA, a server
# certificate and client certificates signed by it. Uses the openssl CLI only.
# See tls/README.md. Safe to re-run: existing keys are kept unless --force.
set -euo pipefail

prog=${0##*/}

usage() {
    cat <<EOF
Usage: $prog [options]

Creates, in the output directory:
  ca.crt, ca.key           the client CA (reused when present)
  server.crt, server.key   server certificate signed by the CA (serverAuth, clientAuth)
  NAME.crt, NAME.key       one client certificate per --client NAME (CN=NAME, clientAuth)

Options:
  --out DIR        output directory (default: ./local_files/tls; created 0700)
  --san NAME       server subjectAltName, DNS name or IP address, repeatable
                   (default: 127.0.0.1, localhost and the host name)
  --client NAME    client certificate to create, repeatable (default: client)
  --days N         validity of server and client certificates in days (default: 825)
  --ca-days N      validity of the CA certificate in days (default: 3650)
  --force          replace every key and certificate, the CA included
                   (certificates issued by the old CA stop verifying)
  -h, --help       print this help

Keys are ECDSA P-256, mode 0600; certificates are 0644. Without --force an
existing key is never replaced: a missing, expiring (within 30 days), mismatched
or insufficient certificate is re-issued for the key it already has.

Exit status: 0 done, 1 failed (bad value, openssl error), 2 usage error.
EOF
}

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

usage_error() {
    printf 'error: %s\n' "$*" >&2
    printf "Run '%s --help' for usage.\n" "$prog" >&2
    exit 2
}

out_dir=./local_files/tls
leaf_days=825
ca_days=3650
force=0
sans=()
clients=()

need_value() {
    # $1 option, $2 number of remaining arguments (including the option)
    if [ "$2" -lt 2 ]; then
        usage_error "$1 needs a value"
    fi
}

while [ $# -gt 0 ]; do
    case $1 in
        -h | --help)
            usage
            exit 0
            ;;
        --out)
            need_value "$1" $#
            out_dir=$2
            shift 2
            ;;
        --out=*)
            out_dir=${1#*=}
            shift
            ;;
        --san)
            need_value "$1" $#
            sans+=("$2")
            shift 2
            ;;
        --san=*)
            sans+=("${1#*=}")
            shift
            ;;
        --client)
            need_value "$1" $#
            clients+=("$2")
            shift 2
            ;;
        --client=*)
            clients+=("${1#*=}")
            shift
            ;;
        --days)
            need_value "$1" $#
            leaf_days=$2
            shift 2
            ;;
        --days=*)
            leaf_days=${1#*=}
            shift
            ;;
        --ca-days)
            need_value "$1" $#
            ca_days=$2
            shift 2
            ;;
        --ca-days=*)
            ca_days=${1#*=}
            shift
            ;;
        --force)
            force=1
            shift
            ;;
        *)
            usage_error "unknown option '$1'"
            ;;
    esac
done

# --- validation -------------------------------------------------------------

[ -n "$out_dir" ] || die "--out needs a directory name"

valid_days() {
    [[ $1 =~ ^[0-9]+$ ]] && [ "$((10#$1))" -ge 1 ] && [ "$((10#$1))" -le 36500 ]
}
valid_days "$leaf_days" || die "--days must be a whole number of days from 1 to 36500, got '$leaf_days'"
valid_days "$ca_days" || die "--ca-days must be a whole number of days from 1 to 36500, got '$ca_days'"
leaf_days=$((10#$leaf_days))
ca_days=$((10#$ca_days))

# Prints "IP:<v>" or "DNS:<lowercased v>" for a subjectAltName value; fails if invalid.
san_entry() {
    local v=$1 octet a b c d
    if [[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
        IFS=. read -r a b c d <<<"$v"
        for octet in "$a" "$b" "$c" "$d"; do
            if [ ${#octet} -gt 3 ] || [ "$((10#$octet))" -gt 255 ]; then
                return 1
            fi
        done
        printf 'IP:%s\n' "$v"
    elif [[ $v == *:* ]]; then
        [[ $v =~ ^[0-9A-Fa-f:.]+$ ]] || return 1
        printf 'IP:%s\n' "$v"
    else
        v=${v%.}
        local label='[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?'
        [[ $v =~ ^(\*\.)?${label}(\.${label})*$ ]] && [ ${#v} -le 253 ] || return 1
        printf 'DNS:%s\n' "$(printf '%s' "$v" | tr '[:upper:]' '[:lower:]')"
    fi
}

san_entries=()
add_san() {
    # $1 value, $2 "required" or "optional"
    local entry existing
    if ! entry=$(san_entry "$1"); then
        if [ "$2" = required ]; then
            die "--san '$1' is neither an IP address nor a valid DNS name"
        fi
        printf 'warning: host name %s is not a valid DNS name; left out of the server certificate\n' "'$1'" >&2
        return 0
    fi
    if [ ${#san_entries[@]} -gt 0 ]; then
        for existing in "${san_entries[@]}"; do
            [ "$existing" = "$entry" ] && return 0
        done
    fi
    san_entries+=("$entry")
}

if [ ${#sans[@]} -gt 0 ]; then
    for s in "${sans[@]}"; do
        add_san "$s" required
    done
else
    add_san 127.0.0.1 required
    add_san localhost required
    host=$(hostname 2>/dev/null || uname -n)
    if [ -n "$host" ]; then
        add_san "$host" optional
    fi
fi

if [ ${#clients[@]} -eq 0 ]; then
    clients=(client)
fi
client_names=()
for c in "${clients[@]}"; do
    [[ $c =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] ||
        die "--client '$c' must be 1-64 characters of letters, digits, '.', '_' or '-' (used as the file name and CN)"
    case $c in
        ca | server) die "--client '$c' is reserved: $c.crt is another file" ;;
    esac
    dup=0
    if [ ${#client_names[@]} -gt 0 ]; then
        for existing in "${client_names[@]}"; do
            [ "$existing" = "$c" ] && dup=1
        done
    fi
    [ "$dup" -eq 1 ] || client_names+=("$c")
done

command -v openssl >/dev/null 2>&1 ||
    die "openssl not found on PATH; install it (Debian/Ubuntu: apt-get install openssl)"

# --- setup ------------------------------------------------------------------

# Every file and directory created from here on is private; certificates are
# opened up to 0644 explicitly.
umask 077
case $out_dir in
    -*) out_dir=./$out_dir ;;
esac
mkdir -p -- "$out_dir" || die "cannot create directory $out_dir"
[ -w "$out_dir" ] || die "cannot write to $out_dir"
out_dir=${out_dir%/}
[ -n "$out_dir" ] || out_dir=/

stage=$(mktemp -d "$out_dir/.generate-certs.XXXXXX") || die "cannot create a temporary directory in $out_dir"
cleanup() { rm -rf -- "$stage"; }
trap cleanup EXIT

now=$(date +%s)
ca_margin=$((30 * 86400))
# Renew leaves within 30 days of expiry (within half the lifetime for short --days).
leaf_margin_days=$((leaf_days / 2 < 30 ? leaf_days / 2 : 30))
leaf_attime=$((now + leaf_margin_days * 86400))

# "created", "kept", "reissued (reason)" lines, printed once everything is in place.
report=()
# Staged files to move into $out_dir: "name" entries.
staged=()

# Fails unless $1 has no permission bits for group or others.
check_private() {
    local mode
    # GNU stat, then BSD/macOS stat.
    mode=$(stat -L -c %a -- "$1" 2>/dev/null || stat -L -f %Lp -- "$1") ||
        die "cannot read the mode of $1"
    if (((8#$mode & 8#077) != 0)); then
        die "$1 is accessible by group or others (mode 0$mode); run: chmod 600 $1"
    fi
}

openssl_quiet() {
    # Runs openssl; on failure prints its stderr and exits 1.
    local err
    if ! err=$(openssl "$@" 2>&1 >/dev/null); then
        printf 'error: openssl %s failed:\n%s\n' "$1" "$err" >&2
        exit 1
    fi
}

new_key() {
    openssl_quiet genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 \
        -pkeyopt ec_param_enc:named_curve -out "$1"
}

public_key_of_key() { openssl pkey -in "$1" -pubout 2>/dev/null; }
public_key_of_cert() { openssl x509 -in "$1" -noout -pubkey 2>/dev/null; }

serial() { printf '0x%s' "$(openssl rand -hex 16)"; }

# Writes a config for `req -new` and `x509 -extfile`: $1 file, $2 CN, $3 extension lines.
write_config() {
    printf '[req]\nprompt = no\ndistinguished_name = dn\n[dn]\nCN = %s\n[ext]\n%s\n' "$2" "$3" >"$1"
}

# Issues $1 (cert path) for key $2 with CN $3, extensions $4, days $5, signed by
# CA cert $6 / key $7 (both empty: self-signed).
issue() {
    local cert=$1 key=$2 cn=$3 ext=$4 days=$5 ca_cert=$6 ca_key=$7
    local cfg="$stage/issue.cnf" csr="$stage/issue.csr"
    write_config "$cfg" "$cn" "$ext"
    openssl_quiet req -new -config "$cfg" -key "$key" -out "$csr"
    if [ -z "$ca_cert" ]; then
        openssl_quiet x509 -req -in "$csr" -signkey "$key" -days "$days" -sha256 \
            -set_serial "$(serial)" -extfile "$cfg" -extensions ext -out "$cert"
    else
        openssl_quiet x509 -req -in "$csr" -CA "$ca_cert" -CAkey "$ca_key" -days "$days" -sha256 \
            -set_serial "$(serial)" -extfile "$cfg" -extensions ext -out "$cert"
    fi
    chmod 644 "$cert"
    rm -f -- "$cfg" "$csr"
}

# Makes sure key $1 (a base name) exists; sets key_path and key_new.
ensure_key() {
    local name=$1
    if [ "$force" -eq 0 ] && [ -e "$out_dir/$name" ]; then
        check_private "$out_dir/$name"
        public_key_of_key "$out_dir/$name" >/dev/null ||
            die "$out_dir/$name is not a readable private key; fix or remove it (or use --force)"
        key_path="$out_dir/$name"
        key_new=0
        report+=("kept      $out_dir/$name")
    else
        new_key "$stage/$name"
        staged+=("$name")
        key_path="$stage/$name"
        key_new=1
        if [ -e "$out_dir/$name" ]; then
            report+=("replaced  $out_dir/$name (--force)")
        else
            report+=("created   $out_dir/$name")
        fi
    fi
}

# Records that certificate $1 (base name) was written to the stage: $2 reason.
staged_cert() {
    staged+=("$1")
    if [ -e "$out_dir/$1" ]; then
        report+=("reissued  $out_dir/$1 ($2)")
    else
        report+=("created   $out_dir/$1")
    fi
}

# --- the CA -----------------------------------------------------------------

ca_ext='basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash'

if [ "$force" -eq 0 ] && [ -e "$out_dir/ca.crt" ] && [ ! -e "$out_dir/ca.key" ]; then
    die "$out_dir/ca.crt exists but $out_dir/ca.key is missing: restore ca.key, or remove ca.crt to create a new CA (or use --force)"
fi
ensure_key ca.key
ca_key=$key_path
ca_cert="$out_dir/ca.crt"
reason=""
if [ "$key_new" -eq 1 ]; then
    reason="new key"
elif [ ! -e "$ca_cert" ]; then
    reason="missing"
elif [ "$(public_key_of_cert "$ca_cert")" != "$(public_key_of_key "$ca_key")" ]; then
    reason="did not match ca.key"
elif ! openssl x509 -in "$ca_cert" -noout -text 2>/dev/null | grep -q 'CA:TRUE'; then
    reason="was not a CA certificate"
elif ! openssl x509 -in "$ca_cert" -noout -checkend "$ca_margin" >/dev/null 2>&1; then
    reason="expired or expiring within 30 days"
fi
if [ -n "$reason" ]; then
    ca_cert="$stage/ca.crt"
    issue "$ca_cert" "$ca_key" "unibus client CA" "$ca_ext" "$ca_days" "" ""
    staged_cert ca.crt "$reason"
else
    report+=("kept      $out_dir/ca.crt")
fi

# --- leaves -----------------------------------------------------------------

# Prints why certificate $1 (path) with key $2 needs re-issuing, or nothing.
# $3 purpose (sslserver|sslclient); further arguments: SAN entries to cover.
leaf_problem() {
    local cert=$1 key=$2 purpose=$3 entry check
    shift 3
    if [ "$(public_key_of_cert "$cert")" != "$(public_key_of_key "$key")" ]; then
        echo "did not match its key"
        return
    fi
    if ! openssl verify -CAfile "$ca_cert" -purpose "$purpose" "$cert" >/dev/null 2>&1; then
        echo "not valid for $purpose under ca.crt"
        return
    fi
    if ! openssl verify -CAfile "$ca_cert" -attime "$leaf_attime" "$cert" >/dev/null 2>&1; then
        echo "expires within $leaf_margin_days days"
        return
    fi
    for entry in "$@"; do
        case $entry in
            IP:*) check=-verify_ip ;;
            *) check=-verify_hostname ;;
        esac
        if ! openssl verify -CAfile "$ca_cert" "$check" "${entry#*:}" "$cert" >/dev/null 2>&1; then
            echo "did not cover ${entry#*:}"
            return
        fi
    done
}

# $1 base name, $2 CN, $3 extensions, $4 purpose, further: SAN entries.
ensure_leaf() {
    local name=$1 cn=$2 ext=$3 purpose=$4 reason=""
    shift 4
    ensure_key "$name.key"
    if [ "$key_new" -eq 1 ]; then
        reason="new key"
    elif [ ! -e "$out_dir/$name.crt" ]; then
        reason="missing"
    else
        reason=$(leaf_problem "$out_dir/$name.crt" "$key_path" "$purpose" "$@")
    fi
    if [ "$name" = server ]; then
        server_reissued=$reason
    fi
    if [ -n "$reason" ]; then
        issue "$stage/$name.crt" "$key_path" "$cn" "$ext" "$leaf_days" "$ca_cert" "$ca_key"
        staged_cert "$name.crt" "$reason"
    else
        report+=("kept      $out_dir/$name.crt")
    fi
}

leaf_common='basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid'

server_reissued=""
san_list=$(
    IFS=,
    printf '%s' "${san_entries[*]}"
)
ensure_leaf server "unibus server" "$leaf_common
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = $san_list" sslserver "${san_entries[@]}"

for c in "${client_names[@]}"; do
    ensure_leaf "$c" "$c" "$leaf_common
extendedKeyUsage = clientAuth" sslclient
done

# --- commit -----------------------------------------------------------------

if [ ${#staged[@]} -gt 0 ]; then
    for f in "${staged[@]}"; do
        mv -f -- "$stage/$f" "$out_dir/$f" || die "cannot move $f into $out_dir"
    done
fi

printf '%s\n' "${report[@]}"
if [ -n "$server_reissued" ]; then
    printf 'server certificate names: %s\n' "$san_list"
else
    printf 'server certificate already covers: %s\n' "$san_list"
fi
