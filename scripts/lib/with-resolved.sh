#!/usr/bin/env bash
# with-resolved.sh RESOLVED_ROOT [--dns ADDR] -- CMD...
# Runs CMD in a private mount namespace (of the current network namespace)
# beside its own systemd-resolved, as on a laptop whose system resolver is
# resolved, without touching this machine's resolver:
#   - a private system bus (dbus-daemon) at the usual /run/dbus/system_bus_socket,
#   - systemd-resolved from RESOLVED_ROOT (the Debian package, unpacked by
#     scripts/lib/deps.sh: ztna_unpack_resolved), with its user
#     systemd-resolve in a private /etc/passwd, LLMNR and mDNS off, and
#     ADDR (--dns) as its global DNS server,
#   - /etc/resolv.conf -> nameserver 127.0.0.53 (resolved's stub), and
#     resolvectl on PATH (/usr/local/bin, beside what was there).
# Other programs in the network namespace reach resolved at 127.0.0.53.
# SIGTERM and SIGINT go to CMD; when CMD ends, resolved and the bus are
# stopped and CMD's exit status is returned. CMD and the bus die with this
# script even when it is killed (SIGKILL: parent-death signal); resolved does
# not then, because it changes user at start, which clears that signal: whoever
# SIGKILLs this script kills what is left in the network namespace (the demo's
# cleanup does: ip netns pids).
# On the host it only makes /run/systemd and /run/dbus if they are missing
# (mount points; everything else lives in the namespace's own tmpfs).
set -euo pipefail
root=${1:?usage: with-resolved.sh RESOLVED_ROOT [--dns ADDR] -- CMD...}; shift
dns=
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case $1 in --dns) dns=$2; shift 2 ;; *) echo "with-resolved.sh: unknown option $1" >&2; exit 2 ;; esac
done
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "with-resolved.sh: no command" >&2; exit 2; }
if [ ! -x "$root/lib/systemd/systemd-resolved" ] || [ ! -x "$root/usr/bin/resolvectl" ]; then
  echo "with-resolved.sh: systemd-resolved is not unpacked in '$root' (scripts/lib/deps.sh: ztna_unpack_resolved)" >&2
  exit 1
fi
command -v dbus-daemon >/dev/null || { echo "with-resolved.sh: dbus-daemon is not installed (apt-get install dbus-daemon)" >&2; exit 1; }

if [ -z "${ZTNA_WITH_RESOLVED_INNER:-}" ]; then
  mkdir -p /run/systemd /run/dbus  # mount points only: the namespace mounts its own over them
  ZTNA_WITH_RESOLVED_INNER=1 exec unshare -m --propagation private "$0" "$root" ${dns:+--dns "$dns"} -- "$@"
fi
unset ZTNA_WITH_RESOLVED_INNER

helpers=()
cmd_pid=
stopping=0
finish() {
  local p
  for p in "${helpers[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${helpers[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap finish EXIT
trap 'stopping=1; [ -n "$cmd_pid" ] && kill -TERM "$cmd_pid" 2>/dev/null' TERM INT
# Children die with this script, whatever kills it: each is started as
# `setpriv --pdeathsig KILL -- ... &` (a direct child, not through a function,
# whose subshell would be the parent that must die).

resolv_link=$(readlink /etc/resolv.conf || true)
# Everything of ours lives on the namespace's own tmpfs: nothing to clean on the host.
mount -t tmpfs tmpfs /run/systemd
work=/run/systemd/.with-resolved
mkdir -p "$work/bin" "$work/usr-local-bin"
cp /etc/passwd "$work/passwd"; cp /etc/group "$work/group"
getent passwd systemd-resolve >/dev/null || echo 'systemd-resolve:x:63953:63953::/:/usr/sbin/nologin' >>"$work/passwd"
getent group systemd-resolve >/dev/null || echo 'systemd-resolve:x:63953:' >>"$work/group"
echo 'nameserver 127.0.0.53' >"$work/resolv.conf"
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
mount -t tmpfs tmpfs /run/dbus
mount --bind "$work/passwd" /etc/passwd
mount --bind "$work/group" /etc/group
# A resolv.conf that links into /run/systemd/resolve (a host with resolved) needs
# nothing: our resolved writes its stub-resolv.conf there.
[[ $resolv_link == */run/systemd/resolve/* ]] || mount --bind "$work/resolv.conf" /etc/resolv.conf
mkdir -p /run/systemd/resolved.conf.d
printf '[Resolve]\nDNS=%s\nLLMNR=no\nMulticastDNS=no\n' "$dns" >/run/systemd/resolved.conf.d/ztna-test.conf
# resolvectl beside whatever /usr/local/bin already holds (the agent runs tools with a fixed PATH).
mount --bind /usr/local/bin "$work/usr-local-bin"
for f in "$work"/usr-local-bin/*; do
  if [ -e "$f" ]; then ln -s "$f" "$work/bin/${f##*/}"; fi
done
cp "$root/usr/bin/resolvectl" "$work/bin/resolvectl"
mount --bind "$work/bin" /usr/local/bin
ip link set lo up

setpriv --pdeathsig KILL -- dbus-daemon --config-file="$work/bus.conf" --nofork --nosyslog >"$work/dbus.log" 2>&1 &
helpers+=($!)
for _ in $(seq 50); do [ -S /run/dbus/system_bus_socket ] && break; sleep 0.1; done
setpriv --pdeathsig KILL -- "$root/lib/systemd/systemd-resolved" >"$work/resolved.log" 2>&1 &
helpers=($! "${helpers[@]}")  # resolved stops before its bus
for _ in $(seq 50); do resolvectl status >/dev/null 2>&1 && break; sleep 0.1; done
if ! resolvectl status >/dev/null 2>&1; then
  echo "with-resolved.sh: systemd-resolved did not come up; its log:" >&2
  cat "$work/resolved.log" "$work/dbus.log" >&2
  exit 1
fi
[ "$stopping" -eq 0 ] || exit 143  # told to stop while starting up
setpriv --pdeathsig KILL -- "$@" &
cmd_pid=$!
status=0
wait "$cmd_pid" || status=$?
# A signal interrupts the first wait (status 128+n): wait again for CMD's own
# end and status (bash keeps the status of a child it already reaped).
if [ "$stopping" -eq 1 ]; then status=0; wait "$cmd_pid" || status=$?; fi
if [ "$status" -ne 0 ] && [ -n "${ZTNA_RESOLVED_LOG_ON_FAILURE:-}" ]; then
  echo "--- systemd-resolved's log:" >&2; cat "$work/resolved.log" >&2
fi
exit "$status"
