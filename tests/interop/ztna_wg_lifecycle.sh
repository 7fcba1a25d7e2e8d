#!/usr/bin/env bash
# Privileged smoke test of the ztna-wg command line and UAPI, using only the stock `wg` tool:
#   - `ztna-wg -f IF` creates TUN device IF and the socket /var/run/wireguard/IF.sock
#   - `wg show` works; `wg setconf FILE` works; `wg showconf` round-trips private key,
#     listen port, fwmark, peers, allowed IPs, preshared keys, endpoints, keepalive
#   - `wg set ... remove`, a second `wg setconf` replaces the peers
#   - SIGTERM removes the device and the socket, exit status 0
#   - without -f it daemonizes: the parent exits 0 and the device appears
# Everything runs in a private network namespace.
#
#   ztna_wg_lifecycle.sh [IMPL]   IMPL = path to ztna-wg (default $ZTNA_WG or build/bin/ztna-wg);
#                                 `wireguard-go` also works (validates the test itself).
# Exit: 0 all passed, 1 a check failed, 77 skipped (not root / binary missing).

set -u -o pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/wgnet.sh
source "$HERE/../lib/wgnet.sh"

IMPL=${1:-${ZTNA_WG:-$HERE/../../build/bin/ztna-wg}}
if [[ $EUID -ne 0 ]]; then echo "SKIP: needs root (network namespaces, TUN)"; exit 77; fi
command -v "$IMPL" >/dev/null || { echo "SKIP: implementation not found: $IMPL"; exit 77; }
command -v wg >/dev/null || { echo "SKIP: wg (wireguard-tools) not installed"; exit 77; }
[[ $IMPL == */* ]] && IMPL="$(cd "$(dirname "$IMPL")" && pwd)/$(basename "$IMPL")"

NPASS=0; NFAIL=0; FAILED=()
pass() { NPASS=$((NPASS + 1)); printf 'PASS  %-44s %s\n' "$1" "${2-}"; }
fail() { NFAIL=$((NFAIL + 1)); FAILED+=("$1"); printf 'FAIL  %-44s %s\n' "$1" "${2-}"; }
check() { local n=$1 d=$2; shift 2; if "$@" >/dev/null 2>&1; then pass "$n" "$d"; else fail "$n" "$d"; fi; }
indent() { sed 's/^/        /'; }
oneline() { tr '\n' ' ' | sed 's/  */ /g; s/ $//'; }

# normalize_conf: a wg config (file or `wg showconf`) -> sorted "Section|peer|Key=value" lines,
# one per allowed IP, so that peer order and allowed-IP order do not matter.
normalize_conf() {
    awk '
        function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
        /^[ \t]*(#|$)/ { next }
        /^\[Interface\]/ { sec = "Interface"; n++; id[n] = ""; delete_pending = 0; next }
        /^\[Peer\]/ { sec = "Peer"; n++; next }
        {
            i = index($0, "="); k = trim(substr($0, 1, i - 1)); v = trim(substr($0, i + 1))
            if (k == "PublicKey") peer[n] = v
            if (k == "AllowedIPs") { m = split(v, a, ","); for (j = 1; j <= m; j++) line[++L] = n SUBSEP k "=" trim(a[j]) }
            else line[++L] = n SUBSEP k "=" v
        }
        END {
            for (x = 1; x <= L; x++) {
                split(line[x], p, SUBSEP)
                who = (p[1] in peer) ? "Peer " peer[p[1]] : "Interface"
                print who "|" p[2]
            }
        }' "$@" | sort
}

wgnet_init
wgnet_watchdog "${WGNET_DEADLINE:-50}"   # below the CTest TIMEOUT (60 s)
NS="wgl-$WGNET_TAG"
IF="wl$WGNET_TAG"
IF2="wd$WGNET_TAG"
SOCK="$WGNET_SOCK_DIR/$IF.sock"
SOCK2="$WGNET_SOCK_DIR/$IF2.sock"
WGNET_SOCKS+=("$SOCK" "$SOCK2")
wgnet_ns_add "$NS" || { echo "FAIL: cannot create namespace $NS"; exit 1; }
nsx() { ip netns exec "$NS" "$@"; }

echo "ztna-wg lifecycle: IMPL=$IMPL  netns=$NS  IF=$IF IF2=$IF2"
echo
echo "=== foreground (-f) ==="
LOG="$WGNET_TMP/fg.log"
# Make sure a WG_PROCESS_FOREGROUND from the caller does not change what -f means.
env -u WG_PROCESS_FOREGROUND LOG_LEVEL="${LOG_LEVEL:-error}" ip netns exec "$NS" "$IMPL" -f "$IF" >"$LOG" 2>&1 &
PID=$!
WGNET_PIDS+=("$PID")
if wgnet_wait_sock "$IF" "$PID" 10; then
    pass "socket appears and answers" "$(ls -l "$SOCK" | awk '{print $1, $NF}')"
else
    fail "socket appears and answers" "no answering $SOCK within 10 s; log:"; indent <"$LOG"
    echo "=== summary: $NPASS passed, $NFAIL failed ==="; exit 1
fi
check "process stays in foreground" "pid $PID running" kill -0 "$PID"
out=$(nsx ip -d link show "$IF" 2>&1)
check "device $IF exists in netns" "$(head -1 <<<"$out" | cut -c1-90)" grep -q "$IF" <<<"$out"
check "device is a TUN device" "$(grep -o 'tun type tun[^ ]*' <<<"$out" | head -1)" grep -q 'tun type tun' <<<"$out"
out=$(wg show "$IF" 2>&1); rc=$?
check "wg show IF" "rc=$rc: $(oneline <<<"$out")" [ "$rc" = 0 ]
check "wg show IF names the interface" "" grep -q "interface: $IF" <<<"$out"
out=$(wg show interfaces 2>&1)
check "wg show interfaces lists IF" "" grep -qw "$IF" <<<"$out"
out=$(wg show "$IF" dump 2>&1); rc=$?
check "wg show IF dump (unconfigured)" "rc=$rc: $(oneline <<<"$out")" [ "$rc" = 0 ]

# `wg showconf | wg setconf` on a device whose port the kernel picked (no listen-port ever
# set), as `wg syncconf` and `wg-quick save` do: must succeed and change nothing.
K0="$WGNET_TMP/self.key"; (umask 077; wg genkey >"$K0")
nsx wg set "$IF" private-key "$K0"
nsx wg showconf "$IF" >"$WGNET_TMP/self.conf"
out=$(nsx wg setconf "$IF" "$WGNET_TMP/self.conf" 2>&1); rc=$?
check "wg setconf of its own showconf (kernel-picked port)" "rc=$rc $(oneline <<<"$out")" [ "$rc" = 0 ]
check "... leaves the configuration as it was" "" diff <(nsx wg showconf "$IF") "$WGNET_TMP/self.conf"

# --- wg setconf / showconf round trip ------------------------------------------------------
K=$(wg genkey); PUB=$(wg pubkey <<<"$K")
P1K=$(wg genkey); P1=$(wg pubkey <<<"$P1K"); PSK1=$(wg genpsk)
P2K=$(wg genkey); P2=$(wg pubkey <<<"$P2K")
P3K=$(wg genkey); P3=$(wg pubkey <<<"$P3K"); PSK3=$(wg genpsk)
CONF="$WGNET_TMP/$IF.conf"
cat >"$CONF" <<EOF
[Interface]
PrivateKey = $K
ListenPort = 51999
FwMark = 0x2a

[Peer]
PublicKey = $P1
PresharedKey = $PSK1
AllowedIPs = 10.9.0.0/24, 10.9.1.5/32, fd00:9::/64
Endpoint = 192.168.50.1:51820
PersistentKeepalive = 25

[Peer]
PublicKey = $P2
AllowedIPs = 10.10.0.0/16, fd00:10::1/128, 0.0.0.0/1
Endpoint = [fd00:50::2]:4500
EOF
out=$(wg setconf "$IF" "$CONF" 2>&1); rc=$?
check "wg setconf IF FILE" "rc=$rc $(oneline <<<"$out")" [ "$rc" = 0 ]
SHOW="$WGNET_TMP/$IF.showconf"
wg showconf "$IF" >"$SHOW" 2>&1; rc=$?
check "wg showconf IF" "rc=$rc" [ "$rc" = 0 ]
if diff <(normalize_conf "$CONF") <(normalize_conf "$SHOW") >"$WGNET_TMP/diff" 2>&1; then
    pass "showconf round-trips setconf" "key, listen-port, fwmark, 2 peers, psk, allowed-ips, endpoints (v4+v6), keepalive"
else
    fail "showconf round-trips setconf" "normalized diff (< set, > shown):"
    indent <"$WGNET_TMP/diff"
    echo "        --- wg showconf output ---"; indent <"$SHOW"
fi
v=$(wg show "$IF" public-key 2>&1)
check "wg show public-key derived from private key" "got $v" [ "$v" = "$PUB" ]
v=$(wg show "$IF" listen-port 2>&1)
check "wg show listen-port" "got $v" [ "$v" = 51999 ]
v=$(nsx ss -ulnH "sport = :51999" 2>&1 | wc -l)
check "UDP socket bound on listen-port" "$v socket(s) on :51999" [ "$v" -ge 1 ]
v=$(wg show "$IF" fwmark 2>&1)
check "wg show fwmark" "got $v" [ "$v" = 0x2a ]
v=$(wg show "$IF" peers 2>&1 | sort | oneline)
check "wg show peers" "$(wc -w <<<"$v") peers" [ "$v" = "$(printf '%s\n' "$P1" "$P2" | sort | oneline)" ]
v=$(wg show "$IF" persistent-keepalive 2>&1 | awk -v p="$P1" '$1 == p {print $2}')
check "wg show persistent-keepalive" "P1: $v" [ "$v" = 25 ]
v=$(wg show "$IF" latest-handshakes 2>&1 | awk '{print $2}' | sort -u | oneline)
check "wg show latest-handshakes (none yet)" "got '$v'" [ "$v" = 0 ]
# The namespace has no route to either endpoint, so no packet can have been sent: any
# nonzero tx counts a datagram that sendmsg() refused (kernel WireGuard and wireguard-go
# count only datagrams that were sent).
v=$(wg show "$IF" transfer 2>&1 | awk '{print $2, $3}' | sort -u | oneline)
check "wg show transfer 0 (no route, nothing sent)" \
    "$(wg show "$IF" transfer 2>&1 | awk '{printf "%s..: rx %s tx %s; ", substr($1, 1, 6), $2, $3}')" [ "$v" = "0 0" ]

out=$(wg set "$IF" peer "$P2" remove 2>&1); rc=$?
v=$(wg show "$IF" peers 2>&1 | oneline)
check "wg set peer remove" "rc=$rc peers now: ${v:0:12}..." [ "$rc:$v" = "0:$P1" ]
out=$(wg set "$IF" fwmark 0 listen-port 52001 2>&1); rc=$?
v="$(wg show "$IF" fwmark) $(wg show "$IF" listen-port)"
check "wg set fwmark 0 listen-port 52001" "rc=$rc got '$v'" [ "$v" = "off 52001" ]

CONF2="$WGNET_TMP/$IF.conf2"
cat >"$CONF2" <<EOF
[Interface]
PrivateKey = $K
ListenPort = 52002

[Peer]
PublicKey = $P3
PresharedKey = $PSK3
AllowedIPs = 10.11.0.0/24
PersistentKeepalive = 10
EOF
out=$(wg setconf "$IF" "$CONF2" 2>&1); rc=$?
wg showconf "$IF" >"$SHOW" 2>&1
if [[ $rc == 0 ]] && diff <(normalize_conf "$CONF2") <(normalize_conf "$SHOW") >"$WGNET_TMP/diff" 2>&1; then
    pass "second setconf replaces peers and settings" "only P3 left, fwmark off, port 52002"
else
    fail "second setconf replaces peers and settings" "rc=$rc $(oneline <<<"$out"); normalized diff:"
    indent <"$WGNET_TMP/diff"
fi

# --- SIGTERM -------------------------------------------------------------------------------
kill -TERM "$PID"
st=""
for ((i = 0; i < 100; i++)); do
    if ! kill -0 "$PID" 2>/dev/null; then wait "$PID"; st=$?; break; fi
    sleep 0.05
done
if [[ -n $st ]]; then
    check "SIGTERM: process exits with status 0" "exit status $st" [ "$st" = 0 ]
else
    fail "SIGTERM: process exits with status 0" "still running 5 s after SIGTERM"
    wgnet_kill "$PID" 1
fi
check "SIGTERM: socket removed" "$(ls "$SOCK" 2>&1)" [ ! -e "$SOCK" ]
sleep 0.1
check "SIGTERM: device removed" "$(nsx ip link show "$IF" 2>&1 | head -1)" bash -c "! ip -n '$NS' link show '$IF' >/dev/null 2>&1"
if [[ -s $LOG ]]; then echo "      --- output of $IMPL -f $IF ---"; tail -n 20 "$LOG" | indent; fi

# --- daemonize (no -f) ---------------------------------------------------------------------
echo
echo "=== daemonize (no -f) ==="
LOG2="$WGNET_TMP/daemon.log"
t0=$(date +%s.%N)
env -u WG_PROCESS_FOREGROUND LOG_LEVEL="${LOG_LEVEL:-error}" timeout 15 ip netns exec "$NS" "$IMPL" "$IF2" >"$LOG2" 2>&1 </dev/null
rc=$?
t1=$(date +%s.%N)
check "parent exits 0" "rc=$rc after $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s" [ "$rc" = 0 ]
DPIDS=""
if wgnet_wait_sock "$IF2" "" 10; then
    pass "daemon: socket appears and answers" "$SOCK2"
else
    fail "daemon: socket appears and answers" "no answering $SOCK2 within 10 s"
fi
check "daemon: device $IF2 exists" "$(nsx ip link show "$IF2" 2>&1 | head -1 | cut -c1-80)" ip -n "$NS" link show "$IF2"
# The daemon is whatever now runs in our private namespace (the foreground one is gone).
DPIDS=$(ip netns pids "$NS" 2>/dev/null | oneline)
check "daemon: a process keeps running" "pids in $NS: ${DPIDS:-none}" [ -n "$DPIDS" ]
out=$(wg show "$IF2" 2>&1); rc=$?
check "daemon: wg show IF2" "rc=$rc" [ "$rc" = 0 ]
for p in $DPIDS; do WGNET_PIDS+=("$p"); kill -TERM "$p" 2>/dev/null; done
for ((i = 0; i < 100; i++)); do
    [[ -z $(ip netns pids "$NS" 2>/dev/null) ]] && break
    sleep 0.05
done
check "daemon: SIGTERM stops it" "left: $(ip netns pids "$NS" 2>/dev/null | oneline)" [ -z "$(ip netns pids "$NS" 2>/dev/null)" ]
check "daemon: SIGTERM removes socket" "" [ ! -e "$SOCK2" ]
check "daemon: SIGTERM removes device" "" bash -c "! ip -n '$NS' link show '$IF2' >/dev/null 2>&1"
if [[ -s $LOG2 ]]; then echo "      --- output of $IMPL $IF2 (parent) ---"; tail -n 20 "$LOG2" | indent; fi

echo
echo "=== summary: $NPASS passed, $NFAIL failed (IMPL=$IMPL) ==="
if (( NFAIL > 0 )); then printf '  failed: %s\n' "${FAILED[@]}"; exit 1; fi
exit 0
