#!/usr/bin/env bash
# idp_smoke.sh - end-to-end check of the demo OpenID Connect provider (scripts/lib/idp).
#
# Starts idp.mjs on 127.0.0.1 with a fresh certificate and two users, then drives:
#   - the authorization code flow with PKCE S256, state, nonce and a loopback redirect on a
#     port that was never registered (browser.mjs as the user, curl as the client);
#   - refresh tokens (issued only with prompt=consent + offline_access; rotated on use);
#   - wrong password (browser.mjs and device.mjs exit 3);
#   - the device authorization grant (device.mjs as the user, curl polling the token endpoint);
#   - a restart with --keys-file keeps the signing key.
# Needs node (20+), npm (first run: npm ci), curl and openssl. Set IDP_SMOKE_KEEP=1 to keep
# the work directory. Exits non-zero with a message naming the failed check.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
IDP_DIR=$ROOT/scripts/lib/idp
T0=$(date +%s%N)

WORK=$(mktemp -d /tmp/idp_smoke.XXXXXX)
PIDS=()

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null
    done
    if [ "${IDP_SMOKE_KEEP:-0}" = 1 ]; then
        echo "idp_smoke: work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "idp_smoke: $*"; }
ok() { echo "idp_smoke: ok   $*"; }
fail() {
    echo "idp_smoke: FAIL $*" >&2
    if [ -s "$WORK/idp.err" ]; then
        echo "idp_smoke: --- last lines of the IdP's stderr ---" >&2
        tail -n 15 "$WORK/idp.err" >&2
    fi
    exit 1
}
# expect_eq WHAT ACTUAL EXPECTED
expect_eq() {
    if [ "$2" != "$3" ]; then
        fail "$1: got '$2', expected '$3'"
    fi
    ok "$1 = $3"
}

for tool in node npm curl openssl; do
    command -v "$tool" >/dev/null 2>&1 || fail "the '$tool' command is missing; install it first"
done

# ------------------------------------------------------------------ dependencies
if [ "$(node -p 'try { require(process.argv[1]).version } catch { "" }' \
        "$IDP_DIR/node_modules/oidc-provider/package.json" 2>/dev/null)" != 9.13.3 ]; then
    say "installing the IdP's dependencies (npm ci in $IDP_DIR)"
    (cd "$IDP_DIR" && npm ci --no-audit --no-fund --loglevel=error) >"$WORK/npm.log" 2>&1 \
        || { cat "$WORK/npm.log" >&2; fail "npm ci in $IDP_DIR failed"; }
fi

# ------------------------------------------------------------------ helpers (node one-liners)
# Each node start costs ~0.1 s, so a JSON document is read once into the associative array J:
# load_json FILE [idtoken] -> J[key] = value of each top-level key of the JSON object in FILE
# (strings raw, other values as JSON). With "idtoken", FILE is a token response and the keys are:
# J[hdr.alg], J[hdr.kid], J[sig] (ok/bad/nokey against $WORK/jwks.json) and every payload claim.
declare -A J
load_json() {
    local line key
    J=()
    while IFS= read -r line; do
        key=${line%%=*}
        J[$key]=${line#*=}
    done < <(node -e '
        const fs = require("fs"), crypto = require("crypto");
        const [file, mode, jwksFile] = process.argv.slice(1);
        let o;
        try { o = JSON.parse(fs.readFileSync(file, "utf8")); }
        catch (e) { console.log("_error=not JSON: " + file + ": " + e.message); process.exit(0); }
        const out = {};
        if (mode === "idtoken") {
            if (typeof o.id_token !== "string") { console.log("_error=no id_token in " + JSON.stringify(o)); process.exit(0); }
            const [h, p, s] = o.id_token.split(".");
            const header = JSON.parse(Buffer.from(h, "base64url"));
            out["hdr.alg"] = header.alg; out["hdr.kid"] = header.kid;
            const jwk = JSON.parse(fs.readFileSync(jwksFile, "utf8")).keys.find((k) => k.kid === header.kid);
            out.sig = !jwk ? "nokey" : crypto.verify("sha256", Buffer.from(h + "." + p),
                { key: crypto.createPublicKey({ key: jwk, format: "jwk" }), dsaEncoding: "ieee-p1363" },
                Buffer.from(s, "base64url")) ? "ok" : "bad";
            o = JSON.parse(Buffer.from(p, "base64url"));
            out["exp>iat"] = String(o.exp > o.iat && o.iat > 0);
        }
        for (const [k, v] of Object.entries(o)) out[k] = v;
        for (const [k, v] of Object.entries(out)) {
            const text = typeof v === "string" ? v : JSON.stringify(v);
            console.log(k + "=" + text.replace(/\n/g, " "));
        }
    ' "$1" "${2:-}" "$WORK/jwks.json")
    if [ -n "${J[_error]:-}" ]; then
        fail "${J[_error]}"
    fi
}
# j KEY: the value of KEY in the last load_json ('' when absent)
j() { printf '%s' "${J[$1]:-}"; }
urldecode() { local s=${1//+/ }; printf '%b' "${s//%/\\x}"; }
b64url_sha256() { printf %s "$1" | openssl dgst -sha256 -binary | openssl base64 -A | tr '+/' '-_' | tr -d '='; }
free_port() {
    node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# One-shot loopback listener standing in for the agent's redirect URI: answers the first
# GET /callback with 200, records its query string, and exits.
cat >"$WORK/callback.mjs" <<'EOF'
import fs from 'node:fs';
import http from 'node:http';
const [portFile, queryFile] = process.argv.slice(2);
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname !== '/callback') { res.statusCode = 404; res.end(); return; }
  fs.writeFileSync(queryFile, url.search.slice(1));
  res.setHeader('Connection', 'close');
  res.end('Signed in. You can close this window.\n', () => server.close());
});
server.listen(0, '127.0.0.1', () => fs.writeFileSync(portFile, String(server.address().port)));
setTimeout(() => process.exit(1), 20000).unref();
EOF
# start_listener NAME: sets CB_PORT; the query string lands in $WORK/NAME.query
start_listener() {
    local name=$1
    node "$WORK/callback.mjs" "$WORK/$name.port" "$WORK/$name.query" &
    PIDS+=($!)
    for _ in $(seq 1 100); do
        [ -s "$WORK/$name.port" ] && break
        sleep 0.05
    done
    [ -s "$WORK/$name.port" ] || fail "the loopback listener $name did not start"
    CB_PORT=$(cat "$WORK/$name.port")
}

# ------------------------------------------------------------------ set-up
bash "$IDP_DIR/make-cert.sh" "$WORK/tls" 127.0.0.1 >"$WORK/make-cert.log" 2>&1 \
    || { cat "$WORK/make-cert.log" >&2; fail "make-cert.sh failed"; }
CA=$WORK/tls/ca.pem
[ "$(stat -c %a "$WORK/tls/key.pem")" = 600 ] || fail "make-cert.sh: key.pem is not mode 0600"
ok "make-cert.sh created ca.pem, cert.pem and a 0600 key.pem for 127.0.0.1"

cat >"$WORK/users.json" <<'EOF'
{"users": [
  {"login": "alice", "password": "alice-Secret-1", "sub": "alice", "email": "alice@corp.test", "name": "Alice",
   "groups": ["hr", "staff"], "amr": ["pwd", "otp"]},
  {"login": "bob", "password": "bob-Secret-2", "sub": "bob", "email": "bob@corp.test", "name": "Bob",
   "groups": ["finance", "staff"], "amr": ["pwd"]}
]}
EOF

# A bad argument is a one-line error and exit 2.
node "$IDP_DIR/idp.mjs" --issuer https://127.0.0.1:1 --listen 127.0.0.1:1 --cert "$WORK/tls/cert.pem" \
    --key "$WORK/tls/key.pem" --users "$WORK/missing.json" >/dev/null 2>"$WORK/badarg.err"
rc=$?
expect_eq "idp.mjs exit code for an unreadable --users file" "$rc" 2
grep -q "cannot read --users $WORK/missing.json" "$WORK/badarg.err" || fail "unexpected error text: $(cat "$WORK/badarg.err")"

PORT=$(free_port)
ISSUER=https://127.0.0.1:$PORT
start_idp() {
    : >"$WORK/idp.out"
    node "$IDP_DIR/idp.mjs" --issuer "$ISSUER" --listen "127.0.0.1:$PORT" \
        --cert "$WORK/tls/cert.pem" --key "$WORK/tls/key.pem" --users "$WORK/users.json" \
        --keys-file "$WORK/jwks-private.json" >"$WORK/idp.out" 2>>"$WORK/idp.err" &
    IDP_PID=$!
    PIDS+=("$IDP_PID")
    local _
    for _ in $(seq 1 200); do
        grep -q '^idp ready ' "$WORK/idp.out" && break
        kill -0 "$IDP_PID" 2>/dev/null || fail "idp.mjs exited during start-up"
        sleep 0.05
    done
    grep -q '^idp ready ' "$WORK/idp.out" || fail "idp.mjs did not print 'idp ready' within 10 s"
    expect_eq "idp.mjs stdout" "$(cat "$WORK/idp.out")" "idp ready $ISSUER"
}
start_idp
[ "$(stat -c %a "$WORK/jwks-private.json")" = 600 ] || fail "--keys-file was not created with mode 0600"
ok "--keys-file created with mode 0600"

curl_idp() { curl -sS --max-time 10 --cacert "$CA" "$@"; }

# ------------------------------------------------------------------ discovery
curl_idp "$ISSUER/.well-known/openid-configuration" >"$WORK/discovery.json" || fail "discovery request failed"
load_json "$WORK/discovery.json"
expect_eq "discovery issuer" "$(j issuer)" "$ISSUER"
expect_eq "authorization_endpoint" "$(j authorization_endpoint)" "$ISSUER/auth"
expect_eq "token_endpoint" "$(j token_endpoint)" "$ISSUER/token"
expect_eq "device_authorization_endpoint" "$(j device_authorization_endpoint)" "$ISSUER/device/auth"
expect_eq "jwks_uri" "$(j jwks_uri)" "$ISSUER/jwks"
expect_eq "code_challenge_methods_supported" "$(j code_challenge_methods_supported)" '["S256"]'
expect_eq "id_token_signing_alg_values_supported" "$(j id_token_signing_alg_values_supported)" '["ES256"]'
AUTH_EP=$(j authorization_endpoint)
TOKEN_EP=$(j token_endpoint)
DEVICE_EP=$(j device_authorization_endpoint)
curl_idp "$(j jwks_uri)" >"$WORK/jwks.json" || fail "JWKS request failed"
load_json "$WORK/jwks.json"
KID=$(j keys | sed -n 's/.*"kid":"\([^"]*\)".*/\1/p')
[ -n "$KID" ] || fail "no kid in the JWKS: $(cat "$WORK/jwks.json")"

# ------------------------------------------------------------------ ID token checks
# check_id_token NAME TOKEN_RESPONSE SUB GROUPS_JSON AMR_JSON EMAIL NONCE ('-': not checked)
# Leaves the ID token's claims in J.
check_id_token() {
    local name=$1 resp=$2 sub=$3 groups=$4 amr=$5 email=$6 nonce=$7
    load_json "$resp" idtoken
    expect_eq "$name: header alg" "$(j hdr.alg)" ES256
    expect_eq "$name: signature checked with the JWKS" "$(j sig)" ok
    expect_eq "$name: iss" "$(j iss)" "$ISSUER"
    expect_eq "$name: aud" "$(j aud)" ztna-agent
    expect_eq "$name: sub" "$(j sub)" "$sub"
    expect_eq "$name: email" "$(j email)" "$email"
    expect_eq "$name: groups" "$(j groups)" "$groups"
    expect_eq "$name: amr" "$(j amr)" "$amr"
    expect_eq "$name: exp > iat" "$(j 'exp>iat')" true
    if [ "$nonce" != - ]; then
        expect_eq "$name: nonce" "$(j nonce)" "$nonce"
    fi
}

# ------------------------------------------------------------------ authorization code flow
# auth_code_flow NAME USER PASSWORD PROMPT(consent|'')  -> $WORK/NAME.token.json, LAST_NONCE
auth_code_flow() {
    local name=$1 user=$2 password=$3 prompt=$4
    local verifier challenge state nonce redirect url out
    verifier=$(openssl rand -hex 32)
    challenge=$(b64url_sha256 "$verifier")
    state=st-$(openssl rand -hex 8)
    nonce=n-$(openssl rand -hex 8)
    start_listener "$name"
    redirect=http://127.0.0.1:$CB_PORT/callback
    url="$AUTH_EP?client_id=ztna-agent&response_type=code&scope=openid%20email%20profile%20groups%20offline_access"
    url+="&redirect_uri=http%3A%2F%2F127.0.0.1%3A$CB_PORT%2Fcallback&state=$state&nonce=$nonce"
    url+="&code_challenge=$challenge&code_challenge_method=S256"
    [ -n "$prompt" ] && url+="&prompt=$prompt"
    say "$name: browser.mjs signs in $user (redirect_uri $redirect, registered without a port)"
    out=$(node "$IDP_DIR/browser.mjs" --url "$url" --user "$user" --password "$password" --ca "$CA" 2>&1) \
        || fail "$name: browser.mjs failed: $out"
    expect_eq "$name: browser.mjs output" "$out" "browser: redirected to $redirect (HTTP 200)"
    [ -s "$WORK/$name.query" ] || fail "$name: the loopback listener recorded no request"
    # Parse the recorded query string (code, state, iss) in bash.
    local -A q=()
    local kv
    local -a kvs
    IFS='&' read -r -a kvs <"$WORK/$name.query"
    for kv in "${kvs[@]}"; do q[${kv%%=*}]=${kv#*=}; done
    expect_eq "$name: callback state" "${q[state]:-}" "$state"
    expect_eq "$name: callback iss (RFC 9207)" "$(urldecode "${q[iss]:-}")" "$ISSUER"
    [ -n "${q[code]:-}" ] || fail "$name: no code in the callback: $(cat "$WORK/$name.query")"
    curl_idp "$TOKEN_EP" -d grant_type=authorization_code -d client_id=ztna-agent \
        -d "code=${q[code]}" --data-urlencode "redirect_uri=$redirect" \
        --data-urlencode "code_verifier=$verifier" >"$WORK/$name.token.json" || fail "$name: token request failed"
    grep -q '"id_token"' "$WORK/$name.token.json" || fail "$name: token response: $(cat "$WORK/$name.token.json")"
    ok "$name: code exchanged at the token endpoint (PKCE S256)"
    LAST_NONCE=$nonce
}

auth_code_flow alice alice alice-Secret-1 consent
check_id_token alice "$WORK/alice.token.json" alice '["hr","staff"]' '["pwd","otp"]' alice@corp.test "$LAST_NONCE"
load_json "$WORK/alice.token.json"
RT=$(j refresh_token)
[ -n "$RT" ] || fail "alice: no refresh_token although offline_access and prompt=consent were sent"
ok "alice: refresh_token issued (offline_access + prompt=consent)"
expect_eq "alice: granted scope" "$(j scope)" "openid email profile groups offline_access"

# Refresh token grant (public client: the refresh token rotates).
curl_idp "$TOKEN_EP" -d grant_type=refresh_token -d client_id=ztna-agent --data-urlencode "refresh_token=$RT" \
    >"$WORK/alice-refresh.token.json" || fail "refresh request failed"
check_id_token alice-refresh "$WORK/alice-refresh.token.json" alice '["hr","staff"]' '["pwd","otp"]' alice@corp.test -
load_json "$WORK/alice-refresh.token.json"
RT2=$(j refresh_token)
{ [ -n "$RT2" ] && [ "$RT2" != "$RT" ]; } || fail "refresh: expected a new (rotated) refresh token"
ok "refresh: new access token, ID token and a rotated refresh token"

# Without prompt=consent, oidc-provider drops offline_access: no refresh token.
auth_code_flow bob bob bob-Secret-2 ''
check_id_token bob "$WORK/bob.token.json" bob '["finance","staff"]' '["pwd"]' bob@corp.test "$LAST_NONCE"
load_json "$WORK/bob.token.json"
expect_eq "bob: refresh_token without prompt=consent" "$(j refresh_token)" ""
expect_eq "bob: granted scope (offline_access dropped)" "$(j scope)" "openid email profile groups"

# A redirect URI other than the registered one (different path) is refused, not redirected to.
CH=$(b64url_sha256 x-verifier-x)
status=$(curl_idp -o "$WORK/bad-redirect.html" -w '%{http_code}' \
    "$AUTH_EP?client_id=ztna-agent&response_type=code&scope=openid&redirect_uri=http%3A%2F%2F127.0.0.1%3A4444%2Fevil&state=s&nonce=n&code_challenge=$CH&code_challenge_method=S256")
expect_eq "unregistered redirect path http://127.0.0.1:4444/evil: HTTP status" "$status" 400
grep -q invalid_redirect_uri "$WORK/bad-redirect.html" || fail "expected invalid_redirect_uri, got: $(cat "$WORK/bad-redirect.html")"

# Wrong password: the login form comes back with an error; browser.mjs exits 3.
url="$AUTH_EP?client_id=ztna-agent&response_type=code&scope=openid&redirect_uri=http%3A%2F%2F127.0.0.1%3A4444%2Fcallback&state=s&nonce=n&code_challenge=$CH&code_challenge_method=S256"
out=$(node "$IDP_DIR/browser.mjs" --url "$url" --user alice --password wrong --ca "$CA" 2>&1)
rc=$?
expect_eq "browser.mjs exit code for a wrong password" "$rc" 3
expect_eq "browser.mjs message for a wrong password" "$out" "browser: login refused for alice: Invalid login or password."
out=$(node "$IDP_DIR/browser.mjs" --url "$url" --user mallory --password x --ca "$CA" 2>&1)
expect_eq "browser.mjs exit code for an unknown login" "$?" 3

# ------------------------------------------------------------------ device flow
# device_start NAME NONCE -> $WORK/NAME.da.json, DA_CODE, DA_USER_CODE, DA_URI
device_start() {
    curl_idp "$DEVICE_EP" -d client_id=ztna-agent -d "scope=openid email profile groups offline_access" \
        -d "nonce=$2" >"$WORK/$1.da.json" || fail "$1: device authorization request failed"
    load_json "$WORK/$1.da.json"
    DA_CODE=$(j device_code)
    DA_USER_CODE=$(j user_code)
    DA_URI=$(j verification_uri)
    { [ -n "$DA_CODE" ] && [ -n "$DA_USER_CODE" ]; } || fail "$1: device authorization response: $(cat "$WORK/$1.da.json")"
}
# device_poll NAME DEVICE_CODE -> $WORK/NAME.token.json
device_poll() {
    curl_idp "$TOKEN_EP" -d client_id=ztna-agent -d grant_type=urn:ietf:params:oauth:grant-type:device_code \
        -d "device_code=$2" >"$WORK/$1.token.json" || fail "$1: token endpoint poll failed"
}
# poll_error NAME: the "error" member of the last poll's answer
poll_error() { sed -n 's/.*"error":"\([^"]*\)".*/\1/p' "$WORK/$1.token.json"; }

DNONCE=dn-$(openssl rand -hex 8)
device_start device "$DNONCE"
expect_eq "device: verification_uri" "$DA_URI" "$ISSUER/device"
expect_eq "device: interval in the response" "$(j interval)" ""
device_poll device "$DA_CODE"
expect_eq "device: poll before approval" "$(poll_error device)" authorization_pending
say "device: device.mjs approves user code $DA_USER_CODE as alice"
out=$(node "$IDP_DIR/device.mjs" --verification-uri "$DA_URI" --user-code "$DA_USER_CODE" \
    --user alice --password alice-Secret-1 --ca "$CA" 2>&1) || fail "device.mjs failed: $out"
expect_eq "device.mjs output" "$out" "device: approved user code $DA_USER_CODE for alice"
device_poll device "$DA_CODE"
check_id_token device "$WORK/device.token.json" alice '["hr","staff"]' '["pwd","otp"]' alice@corp.test -
if [ -z "$(j nonce)" ]; then
    ok "device: ID token has no nonce (oidc-provider accepts nonce on /device/auth but does not echo it)"
else
    expect_eq "device: nonce" "$(j nonce)" "$DNONCE"
fi
grep -q '"refresh_token"' "$WORK/device.token.json" || fail "device: no refresh_token for offline_access"
ok "device: refresh_token issued (offline_access; no prompt=consent needed in the device flow)"
device_poll device "$DA_CODE"
expect_eq "device: second poll with the same device_code" "$(poll_error device)" invalid_grant

device_start device-bad x
out=$(node "$IDP_DIR/device.mjs" --verification-uri "$DA_URI" --user-code "$DA_USER_CODE" \
    --user bob --password wrong --ca "$CA" 2>&1)
rc=$?
expect_eq "device.mjs exit code for a wrong password" "$rc" 3
expect_eq "device.mjs message for a wrong password" "$out" "device: login refused for bob: Invalid login or password."

# ------------------------------------------------------------------ SIGTERM and restart with --keys-file
kill -TERM "$IDP_PID"
for _ in $(seq 1 60); do
    kill -0 "$IDP_PID" 2>/dev/null || break
    sleep 0.05
done
kill -0 "$IDP_PID" 2>/dev/null && fail "idp.mjs still running 3 s after SIGTERM"
wait "$IDP_PID"
expect_eq "idp.mjs exit status after SIGTERM" "$?" 0
start_idp
curl_idp "$ISSUER/jwks" >"$WORK/jwks2.json" || fail "JWKS request after restart failed"
expect_eq "signing key id after a restart with --keys-file" \
    "$(sed -n 's/.*"kid":"\([^"]*\)".*/\1/p' "$WORK/jwks2.json")" "$KID"

T1=$(date +%s%N)
say "all checks passed in $(( (T1 - T0) / 1000000 )) ms"
