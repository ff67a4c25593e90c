#!/usr/bin/env bash
# Runs inside a private network namespace (unshare --net): starts a TLS + htpasswd docker-registry on 127.0.0.1, builds a
# tiny OCI image offline, and pushes it once per authfile in $W/authfiles/*.json. Prints "RESULT <file> <exit code>" lines.
# Usage: registry-push.sh WORKDIR USERNAME PASSWORD
set -u
W=$1; USER_NAME=$2; USER_PASS=$3
cd "$W" || exit 90
ip link set lo up || exit 91
mkdir -p certs auth data certdir
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -keyout certs/registry.key -out certs/registry.crt >/dev/null 2>&1 || exit 92
htpasswd -Bbn "$USER_NAME" "$USER_PASS" > auth/htpasswd || exit 93
cat > reg.yml <<YML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $W/data
http:
  addr: 127.0.0.1:5443
  secret: harness-not-secret
  tls:
    certificate: $W/certs/registry.crt
    key: $W/certs/registry.key
auth:
  htpasswd:
    realm: harness-realm
    path: $W/auth/htpasswd
YML
docker-registry serve reg.yml > registry.log 2>&1 &
REG=$!
trap 'kill $REG 2>/dev/null; wait $REG 2>/dev/null' EXIT
ready=0
for _ in $(seq 1 200); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --cacert certs/registry.crt https://127.0.0.1:5443/v2/ 2>/dev/null)
  if [ "$code" = "401" ]; then ready=1; break; fi
  sleep 0.05
done
[ "$ready" = 1 ] || { echo "registry did not start"; cat registry.log; exit 94; }
cp certs/registry.crt certdir/ca.crt
( umoci init --layout oci && umoci new --image oci:tiny && umoci unpack --image oci:tiny bundle \
  && echo "hello from registry-policy" > bundle/rootfs/hello.txt && umoci repack --image oci:tiny bundle \
  && umoci gc --layout oci ) > umoci.log 2>&1 || { echo "umoci failed"; cat umoci.log; exit 95; }
for f in authfiles/*.json; do
  name=$(basename "$f" .json)
  skopeo copy --authfile "$f" --dest-cert-dir certdir oci:oci:tiny "docker://127.0.0.1:5443/library/tiny:$name" > "$name.out" 2>&1
  rc=$?
  echo "RESULT $name $rc"
  [ "$rc" = 0 ] || sed 's/^/  /' "$name.out" | tail -3
done
