# The small company of scripts/demo and the agent's end-to-end tests, in
# network namespaces on this machine (sourced, not run):
#   laptop (zd-lap-TAG)   ztna-agentd, a host firewall, and as the resolver the agent's DNS stub,
#                         or systemd-resolved when LAPTOP_RESOLVED names an unpacked one
#   corp   (zd-corp-TAG)  the identity provider (oidc-provider), ztna-controller, ztna-gateway
#   apps   (zd-apps-TAG)  hr 10.20.0.10, files 10.20.0.11, accounting 10.20.0.12 (HTTP, port 80);
#                         with COMPANY_V6=1, fd00:20::10..12 behind IPv6 tunnels
# The laptop reaches 10.99.0.2 (the company's public side) and nothing behind it
# except through the gateway. Every name is unique to the run (TAG), and
# company_cleanup (an EXIT trap set by company_init) removes every namespace,
# process and file it made, even when a step fails or hangs.
#
#   company_init SECONDS           names, temp dir $T, cleanup trap, watchdog
#   company_test_init SECONDS      the same for test scripts: root check, KEEP=1, npm packages
#   company_up [GRANT_TTL_S] [SESSION_LIFETIME_S]   the networks, apps, identity provider, controller, gateway
#   laptop_up                      managed settings with a fresh enrollment token, firewall, resolver
#   agent_start / agent_stop       ztna-agentd in the laptop namespace
#   laptop_fw / laptop_fw_off      the laptop's host firewall (the posture check "firewall")
# Helpers: step ok say bad ms_since in_lap in_corp admin ctl bg wait_for json_field.
# Globals: T LAP CORP APPS bin agent_if gw_if failed keep pids token

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
say() { printf '   %s\n' "$*"; }
failed=0
bad() { printf '   \033[1mFAILED\033[0m: %s\n' "$*"; failed=1; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
json_field() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d[k]
print(d)' "$1" 2>/dev/null; }

in_lap() { ip netns exec "$LAP" "$@"; }
in_corp() { ip netns exec "$CORP" "$@"; }
admin() { ip netns exec "$CORP" "$bin/ztna-admin" "$@"; }  # the admin API is on the company side
bg() {  # bg NS LOG CMD...: start CMD in namespace NS, output to LOG; killed at cleanup
  local ns=$1 log=$2; shift 2
  ip netns exec "$ns" "$@" >"$log" 2>&1 &
  pids+=($!)
}
wait_for() {  # wait_for SECONDS CMD...: until CMD succeeds
  local secs=$1; shift
  local end=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    [[ $(date +%s) -ge $end ]] && return 1
    sleep 0.1
  done
}
where_to_look() { say "look at: $*"; }

company_cleanup() {
  local p ns
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  for ns in "$LAP" "$CORP" "$APPS"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "/etc/netns/$LAP"
  rm -f "/var/run/wireguard/$agent_if.sock" "/var/run/wireguard/$gw_if.sock"
  if [[ $keep -eq 1 || $failed -ne 0 ]]; then echo "   logs kept in $T"; else rm -rf "$T"; fi
}

# For test scripts: needs root; KEEP=1 keeps the logs; company_init LIMIT; the provider's npm packages.
company_test_init() {
  [[ $(id -u) -eq 0 ]] || { echo "$0: needs root (network namespaces)" >&2; exit 1; }
  keep=${KEEP:-0}
  company_init "$1"
  (cd scripts/lib/idp && { [[ -d node_modules/oidc-provider ]] || npm ci --silent --no-audit --no-fund >/dev/null; }) \
    || { echo "$0: npm ci failed in scripts/lib/idp (the npm registry must be reachable)" >&2; exit 1; }
}

company_init() {
  local limit=${1:-300}
  tag=$(printf '%x%02x' "$$" "$((RANDOM % 256))")
  LAP=zd-lap-$tag CORP=zd-corp-$tag APPS=zd-apps-$tag
  T=$(mktemp -d "/tmp/ztna-demo.$tag.XXXXXX") && chmod 755 "$T"  # the IPC socket lives here: any local user may connect
  pids=()
  keep=${keep:-0}
  bin=${ZTNA_BIN_DIR:-$root/build/bin}
  # The demo shows the real name, ztna0, unless another agent has it; tests use unique names.
  agent_if=zt$tag
  [[ ${ZTNA_DEMO_IF:-} == ztna0 && ! -e /var/run/wireguard/ztna0.sock ]] && agent_if=ztna0
  gw_if=zg$tag
  export ZTNA_SOCKET=$T/agentd.sock
  trap 'failed=1; exit 130' INT
  trap 'failed=1; [[ -e $T/watchdog-fired ]] && echo "$0: still running after $limit s: stopped (cleanup follows)" >&2; exit 143' TERM
  # A hung step must not leave namespaces behind: stop after $limit s, cleanup included.
  # The watchdog holds none of our output pipes (a test runner waits for them to close).
  ( trap - EXIT; sleep "$limit"; touch "$T/watchdog-fired"; pkill -TERM -P $$; kill -TERM $$ ) </dev/null >/dev/null 2>&1 &
  watchdog=$!
  trap 'pkill -P $watchdog 2>/dev/null; kill $watchdog 2>/dev/null; company_cleanup' EXIT
}
ctl() { ip netns exec "$LAP" "$bin/ztnactl" "$@"; }  # ztnactl on the laptop

company_up() {
local grant_ttl=${1:-300} session_lifetime=${2:-28800}
# COMPANY_V6=1: the apps and the tunnels are IPv6 (fd00:20::10..12, tunnel network fd00:64::/120);
# the laptop still reaches the company's public side over IPv4.
if [[ ${COMPANY_V6:-0} == 1 ]]; then
  app_ip() { echo "fd00:20::$1"; }; app_len=128 app_net_gw=fd00:20::1/64 tun_net=fd00:64::/120 tun_gw=fd00:64::1/120
  nodad=nodad  # usable at once, no duplicate address detection
else
  app_ip() { echo "10.20.0.$1"; }; app_len=32 app_net_gw=10.20.0.1/24 tun_net=100.64.0.0/24 tun_gw=100.64.0.1/24
  nodad=
fi
# The networks: the laptop reaches the company's public side (10.99.0.2) only; the apps
# (10.20.0.0/24) sit behind it and are reachable from the laptop only through the gateway.
for ns in "$LAP" "$CORP" "$APPS"; do ip netns add "$ns" && ip -n "$ns" link set lo up; done
ip link add "zl$tag" netns "$LAP" type veth peer name "zc$tag" netns "$CORP"
ip link add "za$tag" netns "$CORP" type veth peer name "zb$tag" netns "$APPS"
ip -n "$LAP" addr add 10.99.0.1/24 dev "zl$tag" && ip -n "$LAP" link set "zl$tag" up
ip -n "$CORP" addr add 10.99.0.2/24 dev "zc$tag" && ip -n "$CORP" link set "zc$tag" up
ip -n "$CORP" addr add "$app_net_gw" dev "za$tag" $nodad && ip -n "$CORP" link set "za$tag" up
ip -n "$APPS" link set "zb$tag" up && ip -n "$APPS" route add default via "${app_net_gw%/*}" dev "zb$tag" 2>/dev/null
for a in 10 11 12; do ip -n "$APPS" addr add "$(app_ip $a)/${app_net_gw#*/}" dev "zb$tag" $nodad; done
# The company's edge: nothing from the internet side is forwarded to the apps (only the gateway's tunnel is).
printf 'table inet corp_edge {\n chain edge {\n  type filter hook forward priority filter; policy accept;\n  iifname "zc%s" counter drop\n }\n}\n' "$tag" | in_corp nft -f - \
  || { echo "$0: could not set up the namespaces (see above)" >&2; exit 1; }
for app in hr:10 files:11 accounting:12; do
  name=${app%%:*}
  mkdir -p "$T/www-$name" && echo "hello from $name" >"$T/www-$name/index.html"
  bg "$APPS" "$T/app-$name.log" python3 -m http.server 80 --bind "$(app_ip "${app#*:}")" --directory "$T/www-$name"
done

# The identity provider, with users in two groups and MFA claims.
scripts/lib/idp/make-cert.sh "$T/idp-tls" 10.99.0.2 >/dev/null || { echo "$0: make-cert.sh failed" >&2; exit 1; }
cat >"$T/users.json" <<'EOF'
{"users": [
  {"login": "alice", "password": "alice-pw", "sub": "alice", "email": "alice@corp.test", "name": "Alice",
   "groups": ["hr", "staff"], "amr": ["pwd", "otp"]},
  {"login": "bob", "password": "bob-pw", "sub": "bob", "email": "bob@corp.test", "name": "Bob",
   "groups": ["finance", "staff"], "amr": ["pwd"]}
]}
EOF
bg "$CORP" "$T/idp.log" node scripts/lib/idp/idp.mjs --issuer https://10.99.0.2:9443 --listen 10.99.0.2:9443 \
  --cert "$T/idp-tls/cert.pem" --key "$T/idp-tls/key.pem" --users "$T/users.json"

# The controller: CA, certificate, credentials; the identity provider trusted; the policy.
"$bin/ztna-admin" init --dir "$T/ctl" --name 10.99.0.2 --port 8443 --gateway gw1 >/dev/null \
  || { echo "$0: ztna-admin init failed" >&2; exit 1; }
python3 - "$T/ctl/controller.json" "$T/idp-tls/ca.pem" <<'EOF'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
c["oidc_issuers"] = [{"issuer": "https://10.99.0.2:9443", "client_ids": ["ztna-agent"], "groups_claim": "groups",
                      "email_claim": "email", "ca_certificate": sys.argv[2],
                      # oidc-provider leaves the nonce out of device-flow ID tokens (scripts/lib/idp/README.md)
                      "require_nonce": False}]
json.dump(c, open(p, "w"), indent=1)
EOF
umask 077; wg genkey >"$T/gw1.key"; umask 022
gw_pub=$(wg pubkey <"$T/gw1.key")
cat >"$T/ctl/policy.json" <<EOF
{
  "version": 1,
  "settings": {"grant_ttl_s": $grant_ttl, "session_lifetime_s": $session_lifetime, "posture_max_age_s": 120},
  "gateways": [{"id": "gw1", "endpoint": "10.99.0.2:51820", "public_key": "$gw_pub", "tunnel_network": "$tun_net"}],
  "apps": [
    {"name": "hr", "description": "People and payroll", "dns": ["hr.corp.test"], "addresses": ["$(app_ip 10)/$app_len"], "ports": ["tcp/80"], "gateway": "gw1"},
    {"name": "files", "description": "Shared files", "dns": ["files.corp.test"], "addresses": ["$(app_ip 11)/$app_len"], "ports": ["tcp/80"], "gateway": "gw1"},
    {"name": "accounting", "description": "Ledgers", "dns": ["accounting.corp.test"], "addresses": ["$(app_ip 12)/$app_len"], "ports": ["tcp/80"], "gateway": "gw1"}
  ],
  "rules": [
    {"name": "hr-staff", "groups": ["hr"], "apps": ["hr"], "posture": ["firewall"]},
    {"name": "everyone", "groups": ["staff"], "apps": ["files"], "require_mfa": true},
    {"name": "finance", "groups": ["finance"], "apps": ["accounting"]}
  ]
}
EOF
"$bin/ztna-admin" policy check "$T/ctl/policy.json" >/dev/null || bad "the demo's policy does not validate"
export ZTNA_CONTROLLER_DIR=$T/ctl
bg "$CORP" "$T/controller.log" "$bin/ztna-controller" --config "$T/ctl/controller.json"
controller_pid=$!
wait_for 15 in_corp curl -sf --max-time 2 --cacert "$T/ctl/ca.pem" https://10.99.0.2:8443/v1/health \
  || { bad "the controller did not start"; where_to_look "$T/controller.log"; exit 1; }

# The gateway.
cp "$T/ctl/ca.pem" "$T/ctl/gateway-gw1.token" "$T/"
cat >"$T/gateway.json" <<EOF
{"gateway_id": "gw1", "controller_url": "https://10.99.0.2:8443", "controller_ca": "$T/ca.pem",
 "token_file": "$T/gateway-gw1.token", "interface": "$gw_if", "listen_port": 51820,
 "private_key_file": "$T/gw1.key", "tunnel_address": "$tun_gw"}
EOF
bg "$CORP" "$T/gateway.log" "$bin/ztna-gateway" --config "$T/gateway.json"
wait_for 15 grep -q "resynchronized" "$T/gateway.log" || { bad "the gateway did not connect"; where_to_look "$T/gateway.log"; exit 1; }
wait_for 15 grep -q "idp ready" "$T/idp.log" || { bad "the identity provider did not start"; where_to_look "$T/idp.log"; exit 1; }
ok "company up: identity provider https://10.99.0.2:9443 (alice: hr, staff, MFA; bob: finance, staff), controller https://10.99.0.2:8443, gateway gw1 (10.99.0.2:51820), apps hr, files, accounting"
}

# laptop_up: a fresh enrollment token in managed settings (as an MDM pushes them), the
# laptop's firewall on, its resolver (see agent_start). Then agent_start.
laptop_up() {
token=$(admin tokens create --ttl 1h --label "demo laptop" --json | json_field token) \
  || { bad "could not create an enrollment token"; return 1; }
mkdir -p "$T/laptop-etc"
cp "$T/ctl/ca.pem" "$T/laptop-etc/controller-ca.pem"; cp "$T/idp-tls/ca.pem" "$T/laptop-etc/idp-ca.pem"
cat >"$T/laptop-etc/managed.json" <<EOF
{
  "controller_url": "https://10.99.0.2:8443",
  "controller_ca": "$T/laptop-etc/controller-ca.pem",
  "enrollment_token": "$token",
  "oidc": {"issuer": "https://10.99.0.2:9443", "client_id": "ztna-agent", "ca": "$T/laptop-etc/idp-ca.pem"},
  "interface": "$agent_if",
  "dns_listen": "127.0.0.153",
  "posture_interval_s": ${POSTURE_INTERVAL_S:-3},
  "session_refresh_before_s": ${SESSION_REFRESH_BEFORE_S:-600}
}
EOF
chmod 600 "$T/laptop-etc/managed.json"
laptop_fw || { bad "could not set the laptop's firewall"; return 1; }
# The laptop's resolver: systemd-resolved (127.0.0.53), to which the agent registers its
# stub for the apps' names, when LAPTOP_RESOLVED names an unpacked systemd-resolved;
# otherwise the agent's DNS stub itself (docs/agent.md, "Apps by name").
local resolver=127.0.0.153
[[ -n ${LAPTOP_RESOLVED:-} ]] && resolver=127.0.0.53
mkdir -p "/etc/netns/$LAP" && echo "nameserver $resolver" >"/etc/netns/$LAP/resolv.conf"
}

# The laptop's own firewall: incoming connections dropped (the posture check "firewall" reads it).
laptop_fw() {
  printf 'table inet laptop_fw {\n chain input {\n  type filter hook input priority filter; policy drop;\n  iif lo accept\n  ct state established,related accept\n }\n}\n' | in_lap nft -f -
}
laptop_fw_off() { in_lap nft delete table inet laptop_fw; }

# With LAPTOP_RESOLVED, the agent runs beside its own systemd-resolved (with-resolved.sh).
agent_start() {  # returns once the daemon answers on its socket
  local wrap=()
  [[ -n ${LAPTOP_RESOLVED:-} ]] && wrap=("$root/scripts/lib/with-resolved.sh" "$LAPTOP_RESOLVED" --)
  bg "$LAP" "$T/agentd.log" "${wrap[@]}" "$bin/ztna-agentd" --managed "$T/laptop-etc/managed.json" --local /nonexistent \
    --state-dir "$T/laptop-state" --socket "$ZTNA_SOCKET"
  agent_pid=$!
  wait_for 10 ctl status
}
agent_stop() {  # SIGTERM, as systemctl stop does; SIGKILL after 5 s
  kill -TERM "$agent_pid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$agent_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$agent_pid" 2>/dev/null
  wait "$agent_pid" 2>/dev/null
}
phase() { ctl status --json 2>/dev/null | json_field phase; }
phase_is() { [[ $(phase) == "$1" ]]; }

# laptop_login USER PASSWORD: ztnactl login, with the scripted browser at the provider's form.
laptop_login() {
  ctl login --no-browser >"$T/login.out" 2>&1 &
  local login_pid=$! url
  wait_for 10 grep -q "https://" "$T/login.out" || { bad "ztnactl login printed no sign-in link: $(cat "$T/login.out")"; return 1; }
  url=$(grep -o 'https://[^ ]*' "$T/login.out" | head -1)
  timeout 30 ip netns exec "$LAP" node scripts/lib/idp/browser.mjs --url "$url" --user "$1" --password "$2" --ca "$T/idp-tls/ca.pem" >>"$T/browser.out" 2>&1 \
    || { bad "the scripted browser could not sign in as $1: $(tail -1 "$T/browser.out")"; kill "$login_pid" 2>/dev/null; return 1; }
  wait "$login_pid" || { bad "sign-in failed: $(tail -2 "$T/login.out")"; return 1; }
}

# cut_probe ADDR OUT: in the laptop namespace, fetch http://ADDR/ every 20 ms until a
# fetch fails (200 ms timeout); write the Unix time in ns at which the failing one
# started to OUT. Started before the action it measures; cut_ms T0 OUT reads it (not in a subshell).
cut_probe() {
  in_lap python3 -c '
import socket, sys, time
addr, out = sys.argv[1], sys.argv[2]
deadline = time.time() + 30
while time.time() < deadline:
    t = time.time_ns()
    try:
        with socket.create_connection((addr, 80), timeout=0.2) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            if not s.recv(64): raise OSError("empty")
    except OSError:
        open(out, "w").write(str(t)); sys.exit(0)
    time.sleep(0.02)
sys.exit(1)' "$1" "$2" &
  probe_pid=$!
  sleep 0.3  # let it make a first successful fetch
}
cut_ms() {  # cut_ms T0_NS OUT: waits for the probe; sets $cut to the ms from T0 to the first failed fetch
  wait "$probe_pid" && [[ -s $2 ]] || return 1
  cut=$(( ($(cat "$2") - $1) / 1000000 ))
}
