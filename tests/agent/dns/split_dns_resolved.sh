#!/usr/bin/env bash
# Runs split_dns_test against a real systemd-resolved, without touching the
# machine's own resolver: a network namespace, and in it a private mount
# namespace with
#   - a private system bus (dbus-daemon) at the usual /run/dbus/system_bus_socket,
#   - systemd-resolved from the Debian package, unpacked by scripts/lib/deps.sh
#     into .deps/systemd-resolved (ZTNA_RESOLVED_ROOT overrides), with its
#     user systemd-resolve in a private /etc/passwd,
#   - its global DNS server at 127.0.0.99 (the test's "existing resolver"),
#   - a LAN link (veth) with a default route,
#   - /etc/resolv.conf -> nameserver 127.0.0.53 (resolved's stub).
# Usage: split_dns_resolved.sh TEST_BINARY [RESOLVED_ROOT]
set -euo pipefail
test_bin=$(readlink -f "$1")
root=${ZTNA_RESOLVED_ROOT:-${2:-}}
if [ -z "$root" ] || [ ! -x "$root/lib/systemd/systemd-resolved" ] || [ ! -x "$root/usr/bin/resolvectl" ]; then
  echo "FAIL: systemd-resolved is not unpacked in '${root}' (scripts/lib/deps.sh does it: ztna_unpack_resolved)" >&2
  exit 1
fi
command -v dbus-daemon >/dev/null || { echo "FAIL: dbus-daemon is not installed (apt-get install dbus-daemon)" >&2; exit 1; }

ns=ztna-sd-$$
ifname=zsd$$
work=$(mktemp -d /tmp/ztna-split-dns.XXXXXX)
cleanup() {
  local pids
  pids=$(ip netns pids "$ns" 2>/dev/null || true)
  [ -n "$pids" ] && kill -9 $pids 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cp /etc/passwd "$work/passwd"; cp /etc/group "$work/group"
getent passwd systemd-resolve >/dev/null || echo 'systemd-resolve:x:63953:63953::/:/usr/sbin/nologin' >>"$work/passwd"
getent group systemd-resolve >/dev/null || echo 'systemd-resolve:x:63953:' >>"$work/group"
echo 'nameserver 127.0.0.53' >"$work/resolv.conf"
printf '[Resolve]\nDNS=127.0.0.99\nLLMNR=no\nMulticastDNS=no\nDNSStubListener=yes\n' >"$work/ztna-test.conf"
cat >"$work/bus.conf" <<'XML'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
XML
mkdir -p /run/systemd /run/dbus   # mount points only; the namespace mounts its own over them

ip netns add "$ns"
ip netns exec "$ns" unshare -m --propagation private bash -euo pipefail -c '
  work=$1 root=$2 test_bin=$3 ifname=$4
  mount -t tmpfs tmpfs /run/systemd
  mount -t tmpfs tmpfs /run/dbus
  mount -t tmpfs tmpfs /usr/local/bin
  mount --bind "$work/passwd" /etc/passwd
  mount --bind "$work/group" /etc/group
  mount --bind "$work/resolv.conf" /etc/resolv.conf
  mkdir -p /run/systemd/resolved.conf.d
  cp "$work/ztna-test.conf" /run/systemd/resolved.conf.d/
  cp "$root/usr/bin/resolvectl" /usr/local/bin/resolvectl
  ip link set lo up
  # The LAN: resolved uses its global DNS server only while some link is routable.
  ip link add lan0 type veth peer name lan1
  ip address add 192.168.77.2/24 dev lan0
  ip link set lan0 up; ip link set lan1 up
  ip route add default via 192.168.77.1
  dbus-daemon --config-file="$work/bus.conf" --fork
  "$root/lib/systemd/systemd-resolved" >"$work/resolved.log" 2>&1 &
  for _ in $(seq 50); do resolvectl status >/dev/null 2>&1 && break; sleep 0.1; done
  if ! resolvectl status >/dev/null 2>&1; then
    echo "FAIL: systemd-resolved did not come up; its log:" >&2; cat "$work/resolved.log" >&2; exit 1
  fi
  ZTNA_SPLIT_IF=$ifname "$test_bin" || { echo "--- resolved log:" >&2; cat "$work/resolved.log" >&2; exit 1; }
' split-dns "$work" "$root" "$test_bin" "$ifname"
