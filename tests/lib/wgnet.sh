# shellcheck shell=bash disable=SC2034  # the WGNET_* globals are for the sourcing script
# wgnet.sh - two network namespaces joined by a veth pair, each running a userspace
# WireGuard implementation (wireguard-go or ztna-wg) configured only by the stock `wg` tool.
#
# Source it from bash (it is not executable). Needs root, iproute2, wireguard-tools.
# Used by tests/interop/*.sh and by the benchmarks.
#
# Typical use:
#   source tests/lib/wgnet.sh
#   wgnet_init                            # unique tag, temp dir, cleanup trap (EXIT INT TERM)
#   wgnet_pair_up wireguard-go /path/to/ztna-wg   # namespaces, veth, both daemons, keys,
#                                         # psk, `wg set` on both sides, tunnel addresses, links up
#   wgnet_exec A ping -c1 "$WGNET_TUN4_B"
#   wgnet_pair_down                       # optional: cleanup runs at exit anyway
#
# Sides are called A and B. After wgnet_pair_create these globals are set (X = A or B):
#   WGNET_NS_X     network namespace name
#   WGNET_VETH_X   veth end inside WGNET_NS_X          (underlay)
#   WGNET_UL4_X    underlay IPv4 address on WGNET_VETH_X (WGNET_UL4_A=192.168.241.1, B=.2, /24)
#   WGNET_IF_X     WireGuard (TUN) interface name in WGNET_NS_X
#   WGNET_TUN4_X   tunnel IPv4 (10.241.0.1 / 10.241.0.2, /24)
#   WGNET_TUN6_X   tunnel IPv6 (fd00:241::1 / fd00:241::2, /64)
#   WGNET_PORT_X   UDP listen port (51820 / 51821)
# After wgnet_keys: WGNET_KEY_X (private key file), WGNET_PUB_X (public key), WGNET_PSK (file).
# After wgnet_start X IMPL: WGNET_PID_X (daemon pid), WGNET_IMPL_X, WGNET_LOG_X (its stdout+stderr).
#
# Knobs (environment, read when the functions run):
#   WG_IMPL_A / WG_IMPL_B   implementation per side: "wireguard-go" or a path to ztna-wg
#                           (default wireguard-go); overridden by function arguments
#   WGNET_MTU               tunnel MTU set with `ip link` (default 1420)
#   WGNET_SOCK_TIMEOUT      seconds to wait for the UAPI socket (default 10)
#   WGNET_KEEP              1 = do not clean up at exit (debugging; prints what is left)
#   WGNET_VERBOSE           1 = echo every `ip`/`wg` command run through wgnet_run
#   LOG_LEVEL               passed to the daemons (wireguard-go: verbose|error|silent; default error)

WGNET_SOCK_DIR=${WGNET_SOCK_DIR:-/var/run/wireguard}

# ---------------------------------------------------------------------------------------------
# bookkeeping

WGNET_TAG=""
WGNET_TMP=""
WGNET_PIDS=()      # every background process started through wgnet_start / wgnet_bg
WGNET_NSS=()       # every namespace created
WGNET_SOCKS=()     # every UAPI socket path we caused to exist
WGNET_CLEANED=0
WGNET_WATCHDOG_PID=""
WGNET_PAIR_SEQ=0

wgnet_log() { printf '[wgnet] %s\n' "$*" >&2; }
wgnet_die() { printf '[wgnet] ERROR: %s\n' "$*" >&2; exit 1; }

# wgnet_run CMD...: run a command, echoing it when WGNET_VERBOSE=1; on failure print it.
wgnet_run() {
    [[ ${WGNET_VERBOSE:-0} == 1 ]] && printf '[wgnet] + %s\n' "$*" >&2
    local out rc
    out=$("$@" 2>&1); rc=$?
    if (( rc != 0 )); then
        printf '[wgnet] command failed (rc=%d): %s\n%s\n' "$rc" "$*" "$out" >&2
    elif [[ -n $out ]]; then
        printf '%s\n' "$out"
    fi
    return "$rc"
}

# wgnet_init: pick a unique tag, make a temp dir, install the cleanup trap.
wgnet_init() {
    [[ $EUID -eq 0 ]] || wgnet_die "must run as root (network namespaces, TUN)"
    local c
    for c in ip wg; do command -v "$c" >/dev/null || wgnet_die "missing command: $c"; done
    # pid in hex (<= 6 chars) + 2 random hex chars: <= 8 chars; names add <= 4 more.
    WGNET_TAG=$(printf '%x%02x' "$$" "$((RANDOM % 256))")
    WGNET_TMP=$(mktemp -d "/tmp/wgnet.${WGNET_TAG}.XXXXXX") || wgnet_die "mktemp failed"
    mkdir -p "$WGNET_SOCK_DIR"
    trap 'wgnet_cleanup' EXIT
    trap 'wgnet_cleanup; trap - INT; kill -INT $$' INT
    trap 'wgnet_cleanup; exit 143' TERM
}

# wgnet_descendants PID: every descendant pid of PID (children first level first).
wgnet_descendants() {
    local c
    for c in $(pgrep -P "$1" 2>/dev/null); do
        echo "$c"
        wgnet_descendants "$c"
    done
}

# wgnet_watchdog SECONDS: after SECONDS, SIGTERM this script's descendants and the script,
# so the cleanup trap still runs when something hangs (CTest's own TIMEOUT sends SIGKILL,
# which would leave namespaces and sockets behind). Set it below the CTest TIMEOUT.
wgnet_watchdog() {
    local secs=$1 main=$$
    (
        trap - EXIT INT TERM
        sleep "$secs"
        echo "[wgnet] WATCHDOG: still running after ${secs}s; terminating (cleanup follows)" >&2
        self=$BASHPID
        victims=$(wgnet_descendants "$main" | grep -vx "$self")
        kill -TERM "$main" 2>/dev/null
        # shellcheck disable=SC2086
        [[ -n $victims ]] && kill -TERM $victims 2>/dev/null
    ) </dev/null >&2 &
    WGNET_WATCHDOG_PID=$!
}

# wgnet_bg NS CMD...: start CMD in namespace NS in the background; register its pid for
# cleanup; the pid is left in WGNET_LAST_PID. stdout/stderr go where the caller redirects.
# (`ip netns exec` execs the command, so the pid is the command's own pid.)
wgnet_bg() {
    local ns=$1; shift
    ip netns exec "$ns" "$@" &
    WGNET_LAST_PID=$!
    WGNET_PIDS+=("$WGNET_LAST_PID")
}

# wgnet_kill PID [GRACE_SECONDS]: SIGTERM, wait up to GRACE (default 3), then SIGKILL.
# Returns 0 if it exited after SIGTERM, 1 if it needed SIGKILL, 2 if it was already gone.
wgnet_kill() {
    local pid=$1 grace=${2:-3} i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 2; }
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < grace * 20; i++)); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 1
}

# wgnet_cleanup: kill every process started, delete namespaces (which deletes the veths and
# TUN devices in them), sockets and temp files. Idempotent; safe from traps.
wgnet_cleanup() {
    local rc=$?
    # Runs from traps, also in callers that use `set -e`: no failed kill or wait may stop it.
    set +e
    (( WGNET_CLEANED )) && return "$rc"
    WGNET_CLEANED=1
    local pid ns s
    if [[ -n $WGNET_WATCHDOG_PID ]]; then
        # Stop the watchdog subshell first (so it cannot fire), then its sleep.
        local wd_children
        wd_children=$(pgrep -P "$WGNET_WATCHDOG_PID" 2>/dev/null)
        kill -TERM "$WGNET_WATCHDOG_PID" 2>/dev/null
        for pid in $wd_children; do kill -TERM "$pid" 2>/dev/null; done
        wait "$WGNET_WATCHDOG_PID" 2>/dev/null
    fi
    if [[ ${WGNET_KEEP:-0} == 1 ]]; then
        wgnet_log "WGNET_KEEP=1: leaving pids=(${WGNET_PIDS[*]}) netns=(${WGNET_NSS[*]}) tmp=$WGNET_TMP"
        return "$rc"
    fi
    for pid in "${WGNET_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${WGNET_PIDS[@]}"; do
        wgnet_kill "$pid" 2 >/dev/null 2>&1
    done
    # Anything still running inside our namespaces (e.g. a daemonized child) is ours too.
    for ns in "${WGNET_NSS[@]}"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null
        done
    done
    for ns in "${WGNET_NSS[@]}"; do
        ip netns del "$ns" 2>/dev/null
    done
    for s in "${WGNET_SOCKS[@]}"; do
        rm -f "$s"
    done
    [[ -n $WGNET_TMP && -d $WGNET_TMP ]] && rm -rf "$WGNET_TMP"
    return "$rc"
}

# ---------------------------------------------------------------------------------------------
# topology

wgnet_ns_add() {   # wgnet_ns_add NAME: create a namespace, bring lo up, register for cleanup
    ip netns add "$1" || return 1
    WGNET_NSS+=("$1")
    ip -n "$1" link set lo up
}

# wgnet_exec SIDE CMD...: run CMD in the namespace of side A or B.
wgnet_exec() {
    local ns_var="WGNET_NS_$1"; shift
    ip netns exec "${!ns_var}" "$@"
}

# wgnet_pair_create: two namespaces + veth pair + underlay IPv4 addresses; sets the globals.
# Each call makes a fresh pair with fresh names (suffix = sequence number).
wgnet_pair_create() {
    [[ -n $WGNET_TAG ]] || wgnet_die "call wgnet_init first"
    WGNET_PAIR_SEQ=$((WGNET_PAIR_SEQ + 1))
    local t="${WGNET_TAG}${WGNET_PAIR_SEQ}"
    WGNET_NS_A="wgnA-$t";  WGNET_NS_B="wgnB-$t"
    WGNET_VETH_A="va$t";   WGNET_VETH_B="vb$t"
    WGNET_IF_A="wa$t";     WGNET_IF_B="wb$t"
    (( ${#WGNET_IF_A} <= 15 )) || wgnet_die "interface name too long: $WGNET_IF_A"
    WGNET_UL4_A=192.168.241.1;  WGNET_UL4_B=192.168.241.2
    WGNET_TUN4_A=10.241.0.1;    WGNET_TUN4_B=10.241.0.2
    WGNET_TUN6_A=fd00:241::1;   WGNET_TUN6_B=fd00:241::2
    WGNET_PORT_A=51820;         WGNET_PORT_B=51821
    WGNET_PID_A="";             WGNET_PID_B=""

    wgnet_ns_add "$WGNET_NS_A" || return 1
    wgnet_ns_add "$WGNET_NS_B" || return 1
    wgnet_run ip link add "$WGNET_VETH_A" netns "$WGNET_NS_A" type veth \
        peer name "$WGNET_VETH_B" netns "$WGNET_NS_B" || return 1
    local s
    for s in A B; do
        local ns_v="WGNET_NS_$s" veth_v="WGNET_VETH_$s" ul_v="WGNET_UL4_$s"
        # promote_secondaries: deleting the primary address (roaming) keeps the secondary.
        ip netns exec "${!ns_v}" sysctl -qw net.ipv4.conf.all.promote_secondaries=1 \
            "net.ipv4.conf.${!veth_v}.promote_secondaries=1" >/dev/null
        wgnet_run ip -n "${!ns_v}" addr add "${!ul_v}/24" dev "${!veth_v}" || return 1
        wgnet_run ip -n "${!ns_v}" link set "${!veth_v}" up || return 1
    done
}

# wgnet_wait_sock IFNAME PID [TIMEOUT]: wait until the UAPI socket answers `wg show`.
wgnet_wait_sock() {
    local ifname=$1 pid=$2 timeout=${3:-${WGNET_SOCK_TIMEOUT:-10}} i
    local sock="$WGNET_SOCK_DIR/$ifname.sock"
    for ((i = 0; i < timeout * 20; i++)); do
        if [[ -S $sock ]] && wg show "$ifname" >/dev/null 2>&1; then
            return 0
        fi
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
            wgnet_log "process $pid for $ifname exited before its UAPI socket answered"
            return 1
        fi
        sleep 0.05
    done
    wgnet_log "timeout (${timeout}s) waiting for $sock"
    return 1
}

# wgnet_start SIDE [IMPL]: start IMPL (default $WG_IMPL_<SIDE>, else wireguard-go) in the
# foreground (-f) in the side's namespace, creating WGNET_IF_<SIDE>; wait for its UAPI socket.
wgnet_start() {
    local side=$1 impl_var="WG_IMPL_$1"
    local impl=${2:-${!impl_var:-wireguard-go}}
    local ns_v="WGNET_NS_$side" if_v="WGNET_IF_$side"
    local ns=${!ns_v} ifname=${!if_v}
    local log="$WGNET_TMP/$ifname.log"
    command -v "$impl" >/dev/null || { wgnet_log "implementation not found: $impl"; return 1; }
    WGNET_SOCKS+=("$WGNET_SOCK_DIR/$ifname.sock")
    # WG_PROCESS_FOREGROUND=1 also silences wireguard-go's banner; -f is the real switch.
    WG_PROCESS_FOREGROUND=1 LOG_LEVEL=${LOG_LEVEL:-error} wgnet_bg "$ns" "$impl" -f "$ifname" >"$log" 2>&1
    local pid=$WGNET_LAST_PID
    printf -v "WGNET_PID_$side" '%s' "$pid"
    printf -v "WGNET_IMPL_$side" '%s' "$impl"
    printf -v "WGNET_LOG_$side" '%s' "$log"
    if ! wgnet_wait_sock "$ifname" "$pid"; then
        wgnet_log "--- log of $impl -f $ifname ---"; cat "$log" >&2
        return 1
    fi
    ip -n "$ns" link show "$ifname" >/dev/null 2>&1 \
        || { wgnet_log "$impl did not create device $ifname in $ns"; return 1; }
}

# wgnet_stop SIDE: SIGTERM the side's daemon (SIGKILL after 3 s). Returns wgnet_kill's code.
wgnet_stop() {
    local pid_v="WGNET_PID_$1"
    [[ -n ${!pid_v} ]] || return 2
    wgnet_kill "${!pid_v}" 3
}

# wgnet_keys: private/public key per side and one preshared key.
wgnet_keys() {
    local s
    for s in A B; do
        local f="$WGNET_TMP/$s$WGNET_PAIR_SEQ.key"
        (umask 077; wg genkey >"$f") || return 1
        printf -v "WGNET_KEY_$s" '%s' "$f"
        printf -v "WGNET_PUB_$s" '%s' "$(wg pubkey <"$f")"
    done
    WGNET_PSK="$WGNET_TMP/psk$WGNET_PAIR_SEQ"
    (umask 077; wg genpsk >"$WGNET_PSK") || return 1
}

# wgnet_configure SIDE [PSKFILE] [EXTRA_PEER_ARGS...]: `wg set` the side's device:
# private key, listen port, the other side as peer with its tunnel /32 + /128 and its
# underlay endpoint. PSKFILE "" = no preshared key; EXTRA_PEER_ARGS e.g. persistent-keepalive 25.
wgnet_configure() {
    local side=$1 psk=${2-} other
    shift; (( $# )) && shift
    [[ $side == A ]] && other=B || other=A
    local ns_v="WGNET_NS_$side" if_v="WGNET_IF_$side" key_v="WGNET_KEY_$side" port_v="WGNET_PORT_$side"
    local pub_v="WGNET_PUB_$other" t4_v="WGNET_TUN4_$other" t6_v="WGNET_TUN6_$other"
    local ul_v="WGNET_UL4_$other" oport_v="WGNET_PORT_$other"
    local psk_args=()
    [[ -n $psk ]] && psk_args=(preshared-key "$psk")
    wgnet_run ip netns exec "${!ns_v}" wg set "${!if_v}" \
        private-key "${!key_v}" listen-port "${!port_v}" \
        peer "${!pub_v}" "${psk_args[@]}" allowed-ips "${!t4_v}/32,${!t6_v}/128" \
        endpoint "${!ul_v}:${!oport_v}" "$@"
}

# wgnet_addr_up SIDE: tunnel addresses (IPv4 /24, IPv6 /64 nodad), MTU, link up.
wgnet_addr_up() {
    local side=$1
    local ns_v="WGNET_NS_$side" if_v="WGNET_IF_$side" t4_v="WGNET_TUN4_$side" t6_v="WGNET_TUN6_$side"
    local ns=${!ns_v} ifname=${!if_v}
    wgnet_run ip -n "$ns" link set "$ifname" mtu "${WGNET_MTU:-1420}" || return 1
    wgnet_run ip -n "$ns" addr add "${!t4_v}/24" dev "$ifname" || return 1
    wgnet_run ip -n "$ns" addr add "${!t6_v}/64" dev "$ifname" nodad || return 1
    wgnet_run ip -n "$ns" link set "$ifname" up || return 1
}

# wgnet_pair_up [IMPL_A] [IMPL_B] [PSK: 1|0 (default 1)] [EXTRA_PEER_ARGS...]:
# the whole thing: pair, both daemons, keys, `wg set` both sides, addresses, links up.
wgnet_pair_up() {
    local ia=${1:-${WG_IMPL_A:-wireguard-go}} ib=${2:-${WG_IMPL_B:-wireguard-go}} use_psk=${3:-1}
    if (( $# >= 3 )); then shift 3; else shift $#; fi
    wgnet_pair_create || return 1
    wgnet_start A "$ia" || return 1
    wgnet_start B "$ib" || return 1
    wgnet_keys || return 1
    local psk=""
    [[ $use_psk == 1 ]] && psk=$WGNET_PSK
    wgnet_configure A "$psk" "$@" || return 1
    wgnet_configure B "$psk" "$@" || return 1
    wgnet_addr_up A || return 1
    wgnet_addr_up B || return 1
}

# wgnet_pair_down: stop both daemons and delete the pair's namespaces (and so its veths).
wgnet_pair_down() {
    [[ ${WGNET_KEEP:-0} == 1 ]] && return 0  # keep it for debugging; the exit report lists it
    local s ns_v
    for s in A B; do wgnet_stop "$s" >/dev/null 2>&1; done
    for s in A B; do
        ns_v="WGNET_NS_$s"
        [[ -n ${!ns_v:-} ]] && ip netns del "${!ns_v}" 2>/dev/null
    done
    local if_v
    for s in A B; do
        if_v="WGNET_IF_$s"
        [[ -n ${!if_v:-} ]] && rm -f "$WGNET_SOCK_DIR/${!if_v}.sock"
    done
    return 0
}

# ---------------------------------------------------------------------------------------------
# inspection helpers

# wgnet_show SIDE FIELD: `wg show IF FIELD` in the side's namespace (e.g. endpoints,
# latest-handshakes, transfer, preshared-keys, listen-port).
wgnet_show() {
    local ns_v="WGNET_NS_$1" if_v="WGNET_IF_$1"
    ip netns exec "${!ns_v}" wg show "${!if_v}" "$2"
}

# wgnet_peer_field SIDE FIELD [COLUMN]: the value for the (only) peer, column 2 by default
# (transfer: column 2 = rx bytes, column 3 = tx bytes).
wgnet_peer_field() {
    wgnet_show "$1" "$2" | awk -v c="${3:-2}" 'NR==1 {print $c}'
}
