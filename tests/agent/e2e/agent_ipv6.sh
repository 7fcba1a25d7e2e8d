#!/usr/bin/env bash
# IPv6 apps through IPv6 micro-tunnels, on the small company of scripts/demo
# (scripts/lib/company.sh with COMPANY_V6=1): the apps at fd00:20::10..12, the
# gateway's tunnel network fd00:64::/120, the outer WireGuard packets still over
# IPv4. alice signs in; the agent's DNS stub answers AAAA for her apps; hr and
# files answer by name through their tunnels; accounting is refused by DNS and
# unreachable by address; disabling alice cuts both tunnels.
# Exits 0 only when every check held; cleans up whatever happens.
set -uo pipefail
cd "$(dirname "$0")/../../.."
root=$(pwd)
source scripts/lib/company.sh
company_test_init 240
COMPANY_V6=1 company_up || exit 1
laptop_up || exit 1
agent_start || { bad "ztna-agentd did not start"; cat "$T/agentd.log"; exit 1; }
wait_for 20 phase_is signed_out || { bad "no enrollment"; cat "$T/agentd.log"; exit 1; }
laptop_login alice alice-pw || exit 1

step "IPv6 apps through their micro-tunnels"
get() { in_lap curl -sf -g --max-time 2 "$1"; }
if wait_for 15 get http://hr.corp.test/; then
  ok "curl http://hr.corp.test/ -> \"$(get http://hr.corp.test/)\" over $(in_lap getent ahosts hr.corp.test | awk 'NR==1{print $1}')"
else
  bad "hr.corp.test did not answer over IPv6"; in_lap getent ahosts hr.corp.test; ctl apps; tail -20 "$T/agentd.log"
fi
[[ $(in_lap getent ahostsv6 hr.corp.test | awk 'NR==1{print $1}') == fd00:20::10 ]] && ok "the agent's DNS answers hr's AAAA: fd00:20::10" \
  || bad "no AAAA fd00:20::10 for hr.corp.test"
wait_for 10 get 'http://[fd00:20::11]/' && ok "files by address: $(get 'http://[fd00:20::11]/')" || bad "files did not answer at [fd00:20::11]"
in_lap getent hosts accounting.corp.test >/dev/null && bad "accounting.corp.test resolves for alice" || ok "accounting.corp.test refused by DNS"
get 'http://[fd00:20::12]/' >/dev/null && bad "accounting answered by address" || ok "accounting unreachable by address"
allowed=$(in_lap wg show "$agent_if" allowed-ips | awk '{print $2}' | sort | tr '\n' ' ')
[[ $allowed == "fd00:20::10/128 fd00:20::11/128 " ]] && ok "wg show $agent_if: one peer per app, allowed IPs $allowed" \
  || bad "allowed IPs on $agent_if: '$allowed'"
routes=$(in_lap ip -6 route show dev "$agent_if")  # not piped into grep -q: with pipefail, ip's SIGPIPE would fail it
[[ $routes =~ fd00:20::10\ [^$'\n']*src\ fd00:64:: ]] && ok "route: ${BASH_REMATCH[0]}" \
  || bad "no IPv6 route for hr with a tunnel source: $routes"

step "Disabling alice cuts the IPv6 tunnels"
admin users disable alice@corp.test >/dev/null
no_peers() { [[ -z $(in_lap wg show "$agent_if" peers) ]]; }
wait_for 5 no_peers && ok "the agent removed both peers" || bad "peers remain after disabling alice"
get 'http://[fd00:20::10]/' >/dev/null && bad "hr still answers" || ok "hr unreachable"

[[ $failed -eq 0 ]] && printf '\n\033[1mipv6: every check held.\033[0m\n' || printf '\n\033[1mipv6: some checks FAILED.\033[0m Logs: %s\n' "$T"
exit $failed
