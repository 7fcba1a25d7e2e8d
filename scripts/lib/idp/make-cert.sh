#!/usr/bin/env bash
# make-cert.sh OUTDIR NAME_OR_IP...
#
# Creates a throw-away CA and a TLS server certificate signed by it, for the demo IdP:
#   OUTDIR/ca.pem  OUTDIR/ca.key  OUTDIR/cert.pem  OUTDIR/key.pem   (keys 0600)
# Every NAME_OR_IP becomes a subjectAltName (IP:... for IPv4/IPv6 addresses, DNS:... otherwise);
# the first one is also the subject CN. Keys are P-256, certificates valid for 2 days.
# Existing files are overwritten.
set -euo pipefail

if [ "$#" -lt 2 ]; then
    echo "usage: $0 OUTDIR NAME_OR_IP... (e.g. $0 /tmp/idp-tls 127.0.0.1 localhost)" >&2
    exit 2
fi
if ! command -v openssl >/dev/null 2>&1; then
    echo "make-cert.sh: the openssl command is missing; install it (apt-get install -y --no-install-recommends openssl)" >&2
    exit 2
fi

outdir=$1
shift
mkdir -p "$outdir" || { echo "make-cert.sh: cannot create directory $outdir" >&2; exit 2; }

san=""
for name in "$@"; do
    if [[ $name =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ || $name == *:* ]]; then
        entry="IP:$name"
    elif [[ $name =~ ^[A-Za-z0-9*]([A-Za-z0-9.*-]*[A-Za-z0-9])?$ ]]; then
        entry="DNS:$name"
    else
        echo "make-cert.sh: '$name' is neither an IP address nor a DNS name" >&2
        exit 2
    fi
    san="${san:+$san,}$entry"
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077

run() {
    local out
    if ! out=$("$@" 2>&1); then
        echo "make-cert.sh: '$*' failed: $out" >&2
        exit 1
    fi
}

# CA
run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/ca.key"
run openssl req -x509 -new -key "$work/ca.key" -sha256 -days 2 \
    -subj "/CN=ZTNA demo IdP test CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$work/ca.pem"

# Server certificate
cat >"$work/ext.cnf" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$san
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/key.pem"
run openssl req -new -key "$work/key.pem" -subj "/CN=$1" -out "$work/cert.csr"
run openssl x509 -req -in "$work/cert.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
    -CAcreateserial -CAserial "$work/ca.srl" -days 2 -sha256 \
    -extfile "$work/ext.cnf" -out "$work/cert.pem"

install -m 0600 "$work/ca.key" "$outdir/ca.key"
install -m 0600 "$work/key.pem" "$outdir/key.pem"
install -m 0644 "$work/ca.pem" "$outdir/ca.pem"
install -m 0644 "$work/cert.pem" "$outdir/cert.pem"
echo "make-cert.sh: wrote $outdir/{ca.pem,ca.key,cert.pem,key.pem} for $san"
