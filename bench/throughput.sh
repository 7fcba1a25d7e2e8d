#!/usr/bin/env bash
# Throughput, CPU cost, idle memory and handshake time of ztna-wg beside
# wireguard-go, in the same run, in the same kind of namespaces (tests/lib/wgnet.sh):
# ztna-wg <-> ztna-wg against wireguard-go <-> wireguard-go, each row measured
# for both, alternating, ROUNDS times; the best round of each is kept.
#
#   sudo bench/throughput.sh [--seconds N] [--rounds N] [--markdown] [ZTNA_WG]
#
# Prints a table with the ratio ztna-wg / wireguard-go for every row (higher is
# better for throughput; lower is better for CPU, RSS and time rows).
set -uo pipefail  # no -e: the cleanup trap of tests/lib/wgnet.sh must always run
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
SECONDS_PER_TEST=10
ROUNDS=2
MARKDOWN=0
ZTNA_WG="$root/build/bin/ztna-wg"
while (($#)); do
  case $1 in
    --seconds) SECONDS_PER_TEST=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --markdown) MARKDOWN=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) ZTNA_WG=$1; shift ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "bench/throughput.sh: run as root (network namespaces, TUN)" >&2; exit 1; }
[[ -x $ZTNA_WG ]] || { echo "bench/throughput.sh: $ZTNA_WG not built; run scripts/test or cmake --build --preset default" >&2; exit 1; }
for t in iperf3 wireguard-go wg python3; do
  command -v "$t" >/dev/null || { echo "bench/throughput.sh: $t is missing (apt-get install iperf3 wireguard-go wireguard-tools python3)" >&2; exit 1; }
done

# shellcheck source=../tests/lib/wgnet.sh
source "$root/tests/lib/wgnet.sh"
wgnet_init

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() {  # utime + stime of a pid, all threads
  awk '{print $14 + $15}' "/proc/$1/stat"
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
anon_kib() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status"; }

# iperf3 from A to B; prints "bits_per_second lost_percent" of the receiver.
run_iperf() {  # run_iperf ARGS...
  local out
  wgnet_exec B iperf3 -s -1 -D -p 5201 >/dev/null 2>&1
  sleep 0.3
  out=$(wgnet_exec A iperf3 -c "$WGNET_TUN4_B" -p 5201 -t "$SECONDS_PER_TEST" -J "$@" 2>/dev/null) || { echo "0 100"; return; }
  python3 -c '
import json,sys
d=json.loads(sys.stdin.read())
e=d["end"]
if d["start"]["test_start"]["protocol"] == "UDP":
  # "sum" is the receiver-side view reported back to the client: loss and the rate offered.
  s=e["sum"]; loss=s.get("lost_percent",0)
  print(s["bits_per_second"]*(1-loss/100), loss)
else:
  print(e["sum_received"]["bits_per_second"], 0)
' <<<"$out"
}

declare -A RESULT
measure_impl() {  # measure_impl NAME IMPL
  local name=$1 impl=$2
  wgnet_pair_up "$impl" "$impl" 0 >/dev/null || { echo "setup failed for $name" >&2; return 1; }
  # Handshake: the first ping waits for it; later pings show the round trip alone.
  local first rest
  first=$(wgnet_exec A ping -c 1 -W 5 "$WGNET_TUN4_B" | awk -F'time=' '/time=/ {print $2+0}')
  rest=$(wgnet_exec A ping -c 5 -i 0.2 -W 2 "$WGNET_TUN4_B" | awk -F'/' '/^rtt/ {print $5}')
  sleep 2
  local rss_a rss_b
  rss_a=$(rss_kib "$WGNET_PID_A"); rss_b=$(rss_kib "$WGNET_PID_B")
  RESULT[$name,handshake_ms]=$(python3 -c "print(round(max(0.0, $first - $rest), 2))")
  RESULT[$name,idle_rss_kib]=$(( (rss_a > rss_b) ? rss_a : rss_b ))
  rss_a=$(anon_kib "$WGNET_PID_A"); rss_b=$(anon_kib "$WGNET_PID_B")
  RESULT[$name,idle_anon_kib]=$(( (rss_a > rss_b) ? rss_a : rss_b ))

  local c0 c1 bps lost bytes
  c0=$(( $(cpu_ticks "$WGNET_PID_A") + $(cpu_ticks "$WGNET_PID_B") ))
  read -r bps lost < <(run_iperf)
  c1=$(( $(cpu_ticks "$WGNET_PID_A") + $(cpu_ticks "$WGNET_PID_B") ))
  RESULT[$name,tcp1]=$bps
  bytes=$(python3 -c "print($bps * $SECONDS_PER_TEST / 8)")
  RESULT[$name,cpu_s_per_gb]=$(python3 -c "print(round(($c1 - $c0) / $CLK_TCK / max($bytes / 1e9, 1e-9), 2))")
  read -r bps lost < <(run_iperf -P 4)
  RESULT[$name,tcp4]=$bps
  read -r bps lost < <(run_iperf -u -b 0 -l 1372)
  RESULT[$name,udp]=$bps
  RESULT[$name,udp_loss]=$lost
  wgnet_pair_down
}

better() {  # better NAME KEY VALUE: keep the best of rounds (max, or min with "min")
  local k="$1,$2" v=$3 mode=${4:-max}
  if [[ -z ${BEST[$k]:-} ]]; then BEST[$k]=$v; return; fi
  if python3 -c "import sys; a,b=float('$v'),float('${BEST[$k]}'); sys.exit(0 if (a>b if '$mode'=='max' else a<b) else 1)"; then
    BEST[$k]=$v
  fi
}

declare -A BEST
for ((r = 1; r <= ROUNDS; r++)); do
  for name in wireguard-go ztna-wg; do
    impl=wireguard-go; [[ $name == ztna-wg ]] && impl=$ZTNA_WG
    echo "round $r/$ROUNDS: $name <-> $name ..." >&2
    measure_impl "$name" "$impl"
    for k in tcp1 tcp4 udp; do better "$name" "$k" "${RESULT[$name,$k]}"; done
    better "$name" udp_loss "${RESULT[$name,udp_loss]}" min
    for k in cpu_s_per_gb idle_rss_kib idle_anon_kib handshake_ms; do better "$name" "$k" "${RESULT[$name,$k]}" min; done
  done
done

python3 - "$MARKDOWN" "$SECONDS_PER_TEST" "$ROUNDS" <<PY
import sys
md = sys.argv[1] == "1"
best = {$(for k in "${!BEST[@]}"; do printf '"%s": %s, ' "$k" "${BEST[$k]}"; done)}
rows = [
  ("TCP, 1 stream (Gbit/s)", "tcp1", 1e-9, "higher"),
  ("TCP, 4 streams (Gbit/s)", "tcp4", 1e-9, "higher"),
  ("UDP, unthrottled, delivered (Gbit/s)", "udp", 1e-9, "higher"),
  ("UDP loss (%)", "udp_loss", 1, "lower"),
  ("CPU seconds per GB, both daemons (TCP 1 stream)", "cpu_s_per_gb", 1, "lower"),
  ("Idle RSS (MiB)", "idle_rss_kib", 1/1024, "lower"),
  ("Idle RSS, private (anonymous) memory (MiB)", "idle_anon_kib", 1/1024, "lower"),
  ("Handshake (first ping minus RTT, ms)", "handshake_ms", 1, "lower"),
]
if md:
  print("| measure | wireguard-go | ztna-wg | ratio ztna-wg / wireguard-go | better is |")
  print("|---|---:|---:|---:|---|")
else:
  print(f"{'measure':50} {'wireguard-go':>13} {'ztna-wg':>10} {'ratio':>7}  better")
for label, key, scale, better in rows:
  g = best.get(f"wireguard-go,{key}", 0) * scale
  z = best.get(f"ztna-wg,{key}", 0) * scale
  ratio = (z / g) if g else float("nan")
  if md: print(f"| {label} | {g:.2f} | {z:.2f} | {ratio:.2f} | {better} |")
  else: print(f"{label:50} {g:13.2f} {z:10.2f} {ratio:7.2f}  {better}")
print()
print(f"({sys.argv[3]} rounds of {sys.argv[2]} s per test, alternating implementations; best round kept)")
PY
