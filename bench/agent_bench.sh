#!/usr/bin/env bash
# The agent's figures on the demo's company (scripts/lib/company.sh), real parts:
#   - sign-in to the first byte from an app (ztnactl login with the scripted
#     browser, then curl http://hr.corp.test/ until it answers);
#   - revocation: `ztna-admin users disable` to the first failed fetch of an app;
#   - per-app micro-tunnel set-up inside the agent (peer, address, routes, nftables);
#   - ztna-agentd idle CPU and RSS with two open micro-tunnels, beside an idle
#     wireguard-go with two peers, measured in the same run (the anchor).
#   sudo bench/agent_bench.sh [--rounds N] [--idle-seconds S] [--markdown]
# Needs the binaries (cmake --build --preset default) and scripts/lib/idp/node_modules.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source scripts/lib/company.sh
rounds=5 idle=60 markdown=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) rounds=$2; shift ;;
    --idle-seconds) idle=$2; shift ;;
    --markdown) markdown=1 ;;
    *) echo "usage: $0 [--rounds N] [--idle-seconds S] [--markdown]" >&2; exit 2 ;;
  esac
  shift
done
[[ $(id -u) -eq 0 ]] || { echo "$0: needs root" >&2; exit 1; }
keep=0
company_init $(( 120 + rounds * 30 + idle ))
(cd scripts/lib/idp && { [[ -d node_modules/oidc-provider ]] || npm ci --silent --no-audit --no-fund >/dev/null; })
company_up 300 >/dev/null || exit 1
POSTURE_INTERVAL_S=60 laptop_up >/dev/null || exit 1
agent_start || exit 1
wait_for 20 phase_is signed_out || { echo "no enrollment" >&2; exit 1; }
hr_ok() { in_lap curl -sf --max-time 1 http://hr.corp.test/ >/dev/null; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else if (NR%2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }
p90() { sort -n | awk '{a[NR]=$1} END {i=int(NR*0.9+0.999); if (i<1) i=1; print a[i]}'; }

signin=() firstbyte=() revoke=()
for r in $(seq 1 "$rounds"); do
  t0=$(date +%s%N)
  laptop_login alice alice-pw >/dev/null || exit 1
  t1=$(date +%s%N)
  for _ in $(seq 1 1000); do hr_ok && break; sleep 0.01; done
  hr_ok || { echo "hr never answered after sign-in (round $r)" >&2; exit 1; }
  t2=$(date +%s%N)
  signin+=($(( (t2 - t0) / 1000000 ))); firstbyte+=($(( (t2 - t1) / 1000000 )))
  wait_for 10 in_lap curl -sf --max-time 1 http://10.20.0.11/ || { echo "files never answered (round $r)" >&2; exit 1; }
  cut_probe 10.20.0.11 "$T/cut.$r"
  t0=$(date +%s%N)
  admin users disable alice@corp.test >/dev/null
  cut_ms "$t0" "$T/cut.$r" && revoke+=("$cut")
  admin users enable alice@corp.test >/dev/null
  ctl logout >/dev/null
done
mapfile -t setup < <(grep -o 'set up in [0-9.]* ms' "$T/agentd.log" | awk '{print $4}')

# Idle: signed in, two tunnels open, nothing to do but keepalives, renewals and posture.
laptop_login alice alice-pw >/dev/null && wait_for 10 hr_ok
pid=$(pgrep -f "ztna-agentd --managed $T/laptop-etc/managed.json" | head -1)
# The anchor: wireguard-go with two peers, idle, in the laptop namespace.
wgi=wq$tag
in_lap wireguard-go "$wgi" >/dev/null 2>&1
wgpid=$(pgrep -f "wireguard-go $wgi" | head -1)
umask 077; wg genkey >"$T/anchor.key"; umask 022
in_lap wg set "$wgi" private-key "$T/anchor.key" listen-port 0 \
  peer "$(wg genkey | wg pubkey)" endpoint 10.99.0.2:51999 allowed-ips 10.21.0.1/32 persistent-keepalive 25 \
  peer "$(wg genkey | wg pubkey)" endpoint 10.99.0.2:51998 allowed-ips 10.21.0.2/32 persistent-keepalive 25
in_lap ip link set "$wgi" up
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
a0=$(ticks "$pid"); w0=$(ticks "$wgpid"); s0=$(date +%s%N)
sleep "$idle"
a1=$(ticks "$pid"); w1=$(ticks "$wgpid"); s1=$(date +%s%N)
hz=$(getconf CLK_TCK)
secs=$(( (s1 - s0) / 1000000 ))
cpu() { awk -v t="$1" -v hz="$hz" -v ms="$secs" 'BEGIN {printf "%.3f", 100 * (t / hz) / (ms / 1000)}'; }
agent_cpu=$(cpu $(( a1 - a0 ))) wg_cpu=$(cpu $(( w1 - w0 )))
agent_rss=$(rss "$pid") wg_rss=$(rss "$wgpid")
kill "$wgpid" 2>/dev/null
rm -f "/var/run/wireguard/$wgi.sock"

fmt() { printf '%s' "$*" | tr ' ' ','; }
if [[ $markdown -eq 1 ]]; then
  echo "| figure | median | p90 | runs |"
  echo "|---|---|---|---|"
  echo "| sign-in started (\`ztnactl login\`, scripted browser) to the first byte from hr | $(printf '%s\n' "${signin[@]}" | median) ms | $(printf '%s\n' "${signin[@]}" | p90) ms | $rounds |"
  echo "| sign-in completed to the first byte from hr | $(printf '%s\n' "${firstbyte[@]}" | median) ms | $(printf '%s\n' "${firstbyte[@]}" | p90) ms | $rounds |"
  echo "| \`ztna-admin users disable\` started to the first failed fetch of files | $(printf '%s\n' "${revoke[@]}" | median) ms | $(printf '%s\n' "${revoke[@]}" | p90) ms | ${#revoke[@]} |"
  echo "| micro-tunnel set-up in the agent (peer, address, route, nftables) | $(printf '%s\n' "${setup[@]}" | median) ms | $(printf '%s\n' "${setup[@]}" | p90) ms | ${#setup[@]} |"
  echo
  echo "Idle for ${secs} ms, signed in with two micro-tunnels (posture every 60 s), beside wireguard-go with two peers in the same run:"
  echo
  echo "| | ztna-agentd | wireguard-go | ratio |"
  echo "|---|---|---|---|"
  echo "| CPU | ${agent_cpu}% | ${wg_cpu}% | $(awk -v a="$agent_cpu" -v b="$wg_cpu" 'BEGIN {if (b > 0) printf "%.1f", a / b; else print "n/a"}') |"
  echo "| RSS | $(( agent_rss / 1024 )) MiB ($agent_rss KiB) | $(( wg_rss / 1024 )) MiB ($wg_rss KiB) | $(awk -v a="$agent_rss" -v b="$wg_rss" 'BEGIN {printf "%.2f", a / b}') |"
else
  echo "sign-in to first byte (ms): $(fmt "${signin[@]}")"
  echo "after sign-in to first byte (ms): $(fmt "${firstbyte[@]}")"
  echo "revocation (ms): $(fmt "${revoke[@]}")"
  echo "tunnel set-up (ms): $(fmt "${setup[@]}")"
  echo "idle ${secs} ms: ztna-agentd CPU ${agent_cpu}% RSS ${agent_rss} KiB; wireguard-go CPU ${wg_cpu}% RSS ${wg_rss} KiB"
fi
