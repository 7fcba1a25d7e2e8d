#!/usr/bin/env bash
# Runs every benchmark and prints the Markdown sections of docs/performance.md.
#   sudo bench/run_all.sh > /tmp/figures.md
# Builds with the default preset (RelWithDebInfo) first. Takes about 4 minutes;
# run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset default >/dev/null
cmake --build --preset default --target ztna-wg tunnel_bench drop_bench posture_bench revocation_bench >/dev/null
echo "## Machine"
echo
echo "- $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; $(uname -sr)"
echo "- $(wireguard-go --version 2>&1 | head -1); $(iperf3 --version | head -1)"
echo "- measured $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "## Per-packet cost beside raw ChaCha20-Poly1305 (build/bin/tunnel_bench --markdown)"
echo
build/bin/tunnel_bench --markdown
echo
echo "## Cost of hostile datagrams (build/bin/drop_bench --markdown)"
echo
build/bin/drop_bench --markdown
echo
echo "## ztna-wg beside wireguard-go, same run, same namespaces (bench/throughput.sh --markdown)"
echo
bench/throughput.sh --markdown --seconds 10 --rounds 2 build/bin/ztna-wg
echo
echo "## Posture collection on this machine (build/bin/posture_bench --markdown)"
echo
build/bin/posture_bench --runs 30 --markdown
echo
echo "## Revocation, controller side (build/bin/revocation_bench --markdown)"
echo
build/bin/revocation_bench --rounds 30 --markdown
echo
echo "## The agent end to end (bench/agent_bench.sh --markdown)"
echo
cmake --build --preset default --target ztna-agentd ztnactl ztna-controller ztna-gateway ztna-admin >/dev/null
bench/agent_bench.sh --markdown
