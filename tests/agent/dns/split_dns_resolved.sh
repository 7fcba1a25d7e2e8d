#!/usr/bin/env bash
# Runs split_dns_test against a real systemd-resolved without touching the
# machine's own resolver: in a network namespace of its own, with a LAN link
# (veth, default route: resolved uses its global DNS server only while some
# link is routable), through scripts/lib/with-resolved.sh (a private mount
# namespace, a private system bus, resolved with 127.0.0.99 as its global DNS
# server: the test's "existing resolver").
# Usage: split_dns_resolved.sh TEST_BINARY RESOLVED_ROOT (ZTNA_RESOLVED_ROOT overrides)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
test_bin=$(readlink -f "$1")
root=${ZTNA_RESOLVED_ROOT:-${2:-}}
ns=ztna-sd-$$
cleanup() {
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" ip link add lan0 type veth peer name lan1
ip netns exec "$ns" ip address add 192.168.77.2/24 dev lan0
ip netns exec "$ns" ip link set lan0 up
ip netns exec "$ns" ip link set lan1 up
ip netns exec "$ns" ip route add default via 192.168.77.1
ZTNA_SPLIT_IF=zsd$$ ZTNA_RESOLVED_LOG_ON_FAILURE=1 \
  ip netns exec "$ns" "$here/../../../scripts/lib/with-resolved.sh" "$root" --dns 127.0.0.99 -- "$test_bin"
