#!/usr/bin/env bash
# Makes a throw-away certificate authority and the certificates nats/tls.conf and a Tributary
# node need for TLS with client verification, with openssl (for development and tests; in
# production use your own CA, cert-manager, or your NATS provider's certificates).
#
#   scripts/nats-tls-certs.sh DIR [SERVER_NAMES]    SERVER_NAMES default: localhost,127.0.0.1
#
# Writes DIR/ca.pem (+ ca-key.pem), DIR/server-cert.pem + server-key.pem (subjectAltName: the
# server names) and DIR/client-cert.pem + client-key.pem (CN tributary), then prints the
# environment nats/tls.conf reads and the node's nats.tls settings. Keys are unencrypted
# P-256 keys, readable by the owner only.
set -euo pipefail
dir=${1:?usage: scripts/nats-tls-certs.sh DIR [SERVER_NAMES]}
names=${2:-localhost,127.0.0.1}
mkdir -p "$dir"
cd "$dir"
umask 077
san=$(echo "$names" | tr ',' '\n' | while read -r n; do
  if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then echo "IP:$n"; else echo "DNS:$n"; fi
done | paste -sd, -)
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key ca-key.pem
openssl req -x509 -new -key ca-key.pem -out ca.pem -days 365 -subj "/CN=tributary-dev-ca" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
sign() { # NAME CN EXT
  key "$1-key.pem"
  openssl req -new -key "$1-key.pem" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out "$1-cert.pem" -days 365 -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
sign server "${names%%,*}" "subjectAltName=$san
extendedKeyUsage=serverAuth"
sign client tributary "extendedKeyUsage=clientAuth"
chmod 644 ca.pem server-cert.pem client-cert.pem
abs=$(pwd)
cat <<OUT
# nats-server -c nats/tls.conf, with:
export NATS_TLS_CA=$abs/ca.pem NATS_TLS_CERT=$abs/server-cert.pem NATS_TLS_KEY=$abs/server-key.pem
# a Tributary node's config:
#   nats: { servers: ["tls://127.0.0.1:4443"], tls: { ca: $abs/ca.pem, cert: $abs/client-cert.pem, key: $abs/client-key.pem } }
OUT
