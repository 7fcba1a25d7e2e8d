#!/usr/bin/env bash
# WireGuard interop scenario between two userspace implementations, each in its own
# network namespace, configured only by the stock `wg` tool (wireguard-tools).
#
#   wg_interop_scenario.sh [IMPL_A] [IMPL_B]
#   (or WG_IMPL_A=... WG_IMPL_B=... wg_interop_scenario.sh)
#
# IMPL is "wireguard-go" or a path to ztna-wg (anything taking `-f IFNAME`).
# Two rounds, each on a fresh pair of namespaces/daemons:
#   round 1: side A initiates; TCP A->B over IPv4; side B roams
#   round 2: side B initiates; TCP B->A over IPv6; side A roams
# plus a negative check: mismatched preshared keys must not complete a handshake.
# Prints PASS/FAIL per check; exits 0 only if every check passed (77 = skipped).
#
# Knobs: WGNET_XFER_MIB (default 64), WGNET_DEADLINE (watchdog, default 150 s),
#        WGNET_KEEP=1 (leave everything for debugging),
#        WGNET_ROAM_RESET_ENDPOINT=0 (roaming side does not re-set its peer endpoint after
#        moving; wireguard-go then keeps sending from the stale "sticky" source and fails),
#        WGNET_VERBOSE=1 (echo ip/wg commands), LOG_LEVEL=verbose (wireguard-go logging).

set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/wgnet.sh
source "$HERE/../lib/wgnet.sh"

WG_IMPL_A=${1:-${WG_IMPL_A:-wireguard-go}}
WG_IMPL_B=${2:-${WG_IMPL_B:-wireguard-go}}
XFER_MIB=${WGNET_XFER_MIB:-64}
TCP_PORT=5201

if [[ $EUID -ne 0 ]]; then echo "SKIP: needs root (network namespaces, TUN)"; exit 77; fi
for c in ip wg nc ping sha256sum timeout; do
    command -v "$c" >/dev/null || { echo "SKIP: missing command $c"; exit 77; }
done
for impl in "$WG_IMPL_A" "$WG_IMPL_B"; do
    command -v "$impl" >/dev/null || { echo "SKIP: implementation not found: $impl"; exit 77; }
done

NPASS=0
NFAIL=0
FAILED=()
pass() { NPASS=$((NPASS + 1)); printf 'PASS  %-46s %s\n' "$1" "${2-}"; }
fail() { NFAIL=$((NFAIL + 1)); FAILED+=("$1"); printf 'FAIL  %-46s %s\n' "$1" "${2-}"; }
check() {  # check NAME DETAIL CONDITION-COMMAND...
    local name=$1 detail=$2; shift 2
    if "$@"; then pass "$name" "$detail"; else fail "$name" "$detail"; fi
}
indent() { sed 's/^/        /'; }

side_name() {  # "A (impl)" for messages
    local v="WG_IMPL_$1"
    printf '%s(%s)' "$1" "$(basename "${!v}")"
}
other() { [[ $1 == A ]] && echo B || echo A; }
var() { local v="$1"; printf '%s' "${!v}"; }

# do_ping NAME FROM_SIDE DEST [FAMILY]: 3 echo requests within 10 s.
do_ping() {
    local name=$1 from=$2 dest=$3 out rc
    out=$(wgnet_exec "$from" ping -n -q -c 3 -i 0.2 -w 10 "$dest" 2>&1); rc=$?
    local summary
    summary=$(grep -E 'packets transmitted|rtt' <<<"$out" | tr '\n' ' ')
    if (( rc == 0 )); then pass "$name" "$summary"; else fail "$name" "rc=$rc: ${summary:-$out}"; fi
    return "$rc"
}

# daemons_alive TAG: both daemons still running (a crash would otherwise show up as timeouts)
daemons_alive() {
    local s pid
    for s in A B; do
        pid=$(var "WGNET_PID_$s")
        if kill -0 "$pid" 2>/dev/null; then
            pass "$1: $(side_name "$s") daemon alive" "pid $pid"
        else
            wait "$pid" 2>/dev/null
            fail "$1: $(side_name "$s") daemon alive" "pid $pid exited (status $?); log tail:"
            tail -n 20 "$(var "WGNET_LOG_$s")" | indent
        fi
    done
}

# tcp_transfer NAME FROM TO FAMILY(4|6)
tcp_transfer() {
    local name=$1 from=$2 to=$3 fam=$4
    local dest out="$WGNET_TMP/recv.$RANDOM" rpid rc t0 t1
    dest=$(var "WGNET_TUN${fam}_$to")
    WGNET_LAST_PID=""
    wgnet_bg "$(var "WGNET_NS_$to")" timeout 60 nc "-$fam" -l -N "$dest" "$TCP_PORT" <"/dev/null" >"$out" 2>"$out.err"
    rpid=$WGNET_LAST_PID
    local i
    for ((i = 0; i < 100; i++)); do
        wgnet_exec "$to" ss -ltnH "sport = :$TCP_PORT" 2>/dev/null | grep -q LISTEN && break
        sleep 0.05
    done
    t0=$(date +%s.%N)
    timeout 60 ip netns exec "$(var "WGNET_NS_$from")" nc "-$fam" -N -w 20 "$dest" "$TCP_PORT" <"$XFER_FILE" 2>"$out.senderr"
    rc=$?
    wait "$rpid"
    local rrc=$?
    t1=$(date +%s.%N)
    local got size rate
    got=$(sha256sum <"$out" | cut -d' ' -f1)
    size=$(stat -c %s "$out")
    rate=$(awk -v s="$size" -v a="$t0" -v b="$t1" 'BEGIN { if (b > a) printf "%.1f", s / 1048576 / (b - a); else print "?" }')
    if (( rc == 0 && rrc == 0 )) && [[ $got == "$XFER_SHA" ]]; then
        pass "$name" "${XFER_MIB} MiB to [$dest]:$TCP_PORT, sha256 ok, ${rate} MiB/s"
    else
        fail "$name" "sender rc=$rc receiver rc=$rrc received $size of $((XFER_MIB * 1048576)) bytes sha256 ${got:0:16}.. want ${XFER_SHA:0:16}.. $(cat "$out.senderr" "$out.err" 2>/dev/null | tr '\n' ' ')"
    fi
    rm -f "$out" "$out.err" "$out.senderr"
}

# wg_show_checks TAG RECEIVER_SIDE: handshake + byte counters on both sides.
wg_show_checks() {
    local tag=$1 receiver=$2 s hs rx tx now
    now=$(date +%s)
    for s in A B; do
        hs=$(wgnet_peer_field "$s" latest-handshakes)
        if [[ $hs =~ ^[0-9]+$ ]] && (( hs > 0 && hs <= now + 5 && now - hs < 600 )); then
            pass "$tag: $(side_name "$s") wg show latest-handshakes" "$hs ($((now - hs)) s ago)"
        else
            fail "$tag: $(side_name "$s") wg show latest-handshakes" "got '${hs}' (now $now)"
        fi
        rx=$(wgnet_peer_field "$s" transfer 2)
        tx=$(wgnet_peer_field "$s" transfer 3)
        if [[ $rx =~ ^[0-9]+$ && $tx =~ ^[0-9]+$ ]] && (( rx > 0 && tx > 0 )); then
            pass "$tag: $(side_name "$s") wg show transfer nonzero" "rx=$rx tx=$tx"
        else
            fail "$tag: $(side_name "$s") wg show transfer nonzero" "rx='$rx' tx='$tx'"
        fi
        if [[ $s == "$receiver" ]]; then
            local want=$((XFER_MIB * 1048576))
            if [[ $rx =~ ^[0-9]+$ ]] && (( rx >= want )); then
                pass "$tag: $(side_name "$s") rx counts the TCP transfer" "rx=$rx >= $want"
            else
                fail "$tag: $(side_name "$s") rx counts the TCP transfer" "rx='$rx' < $want"
            fi
        fi
    done
}

# roam TAG SIDE: SIDE moves to a new underlay address, then to a new listen port; the other
# side must learn each new endpoint from authenticated packets and traffic must keep flowing.
roam() {
    local tag=$1 s=$2 o
    o=$(other "$s")
    local ns veth ifname old new port oep
    ns=$(var "WGNET_NS_$s"); veth=$(var "WGNET_VETH_$s"); ifname=$(var "WGNET_IF_$s")
    old=$(var "WGNET_UL4_$s"); port=$(var "WGNET_PORT_$s")
    oep="$(var "WGNET_UL4_$o"):$(var "WGNET_PORT_$o")"
    [[ $s == A ]] && new=192.168.241.11 || new=192.168.241.12

    local before
    before=$(wgnet_peer_field "$o" endpoints)
    check "$tag: $(side_name "$o") endpoint before roaming" "$before" [ "$before" = "$old:$port" ]

    # 1. New address: add it, then drop the old one (promote_secondaries keeps the new one),
    #    so the kernel can only pick $new as source. Re-set the peer endpoint on the roaming
    #    side: implementations with "sticky" source addresses (wireguard-go remembers the
    #    local address it last received on) forget the stale source and let the kernel choose.
    wgnet_run ip -n "$ns" addr add "$new/24" dev "$veth" || { fail "$tag: roam setup" "addr add"; return; }
    wgnet_run ip -n "$ns" addr del "$old/24" dev "$veth" || { fail "$tag: roam setup" "addr del"; return; }
    printf -v "WGNET_UL4_$s" '%s' "$new"
    local how="did not touch its wg config"
    if [[ ${WGNET_ROAM_RESET_ENDPOINT:-1} == 1 ]]; then
        wgnet_run wgnet_exec "$s" wg set "$ifname" peer "$(var "WGNET_PUB_$o")" endpoint "$oep" \
            || { fail "$tag: roam setup" "wg set endpoint"; return; }
        how="re-set its peer endpoint $oep"
    fi
    echo "      $(side_name "$s") moved $old -> $new ($(ip -n "$ns" -4 -br addr show dev "$veth" | awk '{print $3, $4}')), $how"

    # The roaming side talks first; the other side learns the new endpoint.
    do_ping "$tag: roam addr: ping $s->$o IPv4" "$s" "$(var "WGNET_TUN4_$o")"
    local after
    after=$(wgnet_peer_field "$o" endpoints)
    check "$tag: $(side_name "$o") endpoint follows new address" "got $after, want $new:$port" \
        [ "$after" = "$new:$port" ]
    do_ping "$tag: roam addr: ping $o->$s IPv4" "$o" "$(var "WGNET_TUN4_$s")"
    do_ping "$tag: roam addr: ping $o->$s IPv6" "$o" "$(var "WGNET_TUN6_$s")"

    # 2. New listen port on the roaming side (`wg set listen-port`: the implementation
    #    rebinds its UDP socket); the other side must follow to the new port.
    local nport=$((port + 100))
    wgnet_run wgnet_exec "$s" wg set "$ifname" listen-port "$nport" \
        || { fail "$tag: roam setup" "wg set listen-port"; return; }
    printf -v "WGNET_PORT_$s" '%s' "$nport"
    local lp
    lp=$(wgnet_exec "$s" wg show "$ifname" listen-port)
    check "$tag: $(side_name "$s") wg show listen-port after change" "got $lp, want $nport" [ "$lp" = "$nport" ]
    do_ping "$tag: roam port: ping $s->$o IPv6" "$s" "$(var "WGNET_TUN6_$o")"
    after=$(wgnet_peer_field "$o" endpoints)
    check "$tag: $(side_name "$o") endpoint follows new port" "got $after, want $new:$nport" \
        [ "$after" = "$new:$nport" ]
    do_ping "$tag: roam port: ping $o->$s IPv4" "$o" "$(var "WGNET_TUN4_$s")"
}

# round N INITIATOR FAMILY_FOR_TCP
round() {
    local n=$1 i=$2 fam=$3 r tag
    r=$(other "$i")
    tag="r$n"
    echo
    echo "=== round $n: $(side_name "$i") initiates; TCP $i->$r over IPv$fam; $(side_name "$r") roams ==="
    if ! wgnet_pair_up "$WG_IMPL_A" "$WG_IMPL_B" 1; then
        fail "$tag: set up pair" "see messages above"
        wgnet_pair_down
        return
    fi
    pass "$tag: set up pair" "A=$WGNET_NS_A/$WGNET_IF_A  B=$WGNET_NS_B/$WGNET_IF_B  (psk, wg set only)"

    local s hs
    for s in A B; do
        hs=$(wgnet_peer_field "$s" latest-handshakes)
        check "$tag: $(side_name "$s") no handshake before traffic" "latest-handshakes=$hs" [ "$hs" = 0 ]
    done
    for s in A B; do
        local got want
        got=$(wgnet_peer_field "$s" preshared-keys)
        want=$(cat "$WGNET_PSK")
        check "$tag: $(side_name "$s") wg show preshared-keys" \
            "$([ "$got" = "$want" ] && echo "matches psk file" || echo "got '$got'")" [ "$got" = "$want" ]
    done

    do_ping "$tag: ping $i->$r IPv4 (first packet, $i initiates)" "$i" "$(var "WGNET_TUN4_$r")"
    do_ping "$tag: ping $i->$r IPv6" "$i" "$(var "WGNET_TUN6_$r")"
    do_ping "$tag: ping $r->$i IPv4" "$r" "$(var "WGNET_TUN4_$i")"
    do_ping "$tag: ping $r->$i IPv6" "$r" "$(var "WGNET_TUN6_$i")"

    tcp_transfer "$tag: TCP $i->$r IPv$fam ${XFER_MIB} MiB sha256" "$i" "$r" "$fam"

    roam "$tag" "$r"

    wg_show_checks "$tag" "$r"
    daemons_alive "$tag"

    echo "      --- wg show, side A ($WG_IMPL_A) ---"
    wgnet_exec A wg show "$WGNET_IF_A" 2>&1 | indent
    echo "      --- wg show, side B ($WG_IMPL_B) ---"
    wgnet_exec B wg show "$WGNET_IF_B" 2>&1 | indent
    wgnet_pair_down
}

# Mismatched preshared keys: the handshake must not complete (proves the psk is used).
psk_mismatch() {
    local tag="psk-mismatch"
    echo
    echo "=== $tag: A and B configured with different preshared keys ==="
    if ! { wgnet_pair_create && wgnet_start A "$WG_IMPL_A" && wgnet_start B "$WG_IMPL_B" && wgnet_keys; }; then
        fail "$tag: set up pair" "see messages above"; wgnet_pair_down; return
    fi
    local psk2="$WGNET_TMP/psk-other"
    (umask 077; wg genpsk >"$psk2")
    if ! { wgnet_configure A "$WGNET_PSK" && wgnet_configure B "$psk2" && wgnet_addr_up A && wgnet_addr_up B; }; then
        fail "$tag: set up pair" "see messages above"; wgnet_pair_down; return
    fi
    local out rc
    out=$(wgnet_exec A ping -n -q -c 1 -w 3 "$WGNET_TUN4_B" 2>&1); rc=$?
    check "$tag: ping A->B fails" "ping rc=$rc ($(grep -E 'packets transmitted' <<<"$out"))" [ "$rc" -ne 0 ]
    local s hs
    for s in A B; do
        hs=$(wgnet_peer_field "$s" latest-handshakes)
        check "$tag: $(side_name "$s") no completed handshake" "latest-handshakes=$hs" [ "$hs" = 0 ]
    done
    daemons_alive "$tag"
    wgnet_pair_down
}

wgnet_init
wgnet_watchdog "${WGNET_DEADLINE:-150}"   # below the CTest TIMEOUT (170 s)
echo "WireGuard interop: A=$WG_IMPL_A  B=$WG_IMPL_B  (tag $WGNET_TAG, tmp $WGNET_TMP)"
XFER_FILE="$WGNET_TMP/xfer.bin"
head -c "$((XFER_MIB * 1048576))" /dev/urandom >"$XFER_FILE"
XFER_SHA=$(sha256sum <"$XFER_FILE" | cut -d' ' -f1)

round 1 A 4
round 2 B 6
psk_mismatch

echo
echo "=== summary: $NPASS passed, $NFAIL failed (A=$WG_IMPL_A, B=$WG_IMPL_B) ==="
if (( NFAIL > 0 )); then
    printf '  failed: %s\n' "${FAILED[@]}"
    exit 1
fi
exit 0
