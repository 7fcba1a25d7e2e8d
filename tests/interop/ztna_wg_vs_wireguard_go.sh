#!/usr/bin/env bash
# Interop: ztna-wg (side A) against unmodified wireguard-go (side B), both configured only
# by the stock `wg` tool. See README.md and wg_interop_scenario.sh.
#   ztna_wg_vs_wireguard_go.sh [PATH_TO_ZTNA_WG]   (default: $ZTNA_WG or build/bin/ztna-wg)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ZTNA_WG=${1:-${ZTNA_WG:-$HERE/../../build/bin/ztna-wg}}
if [[ ! -x $ZTNA_WG ]]; then echo "SKIP: ztna-wg not found at $ZTNA_WG"; exit 77; fi
command -v wireguard-go >/dev/null || { echo "SKIP: wireguard-go not installed"; exit 77; }
exec "$HERE/wg_interop_scenario.sh" "$(cd "$(dirname "$ZTNA_WG")" && pwd)/$(basename "$ZTNA_WG")" wireguard-go
