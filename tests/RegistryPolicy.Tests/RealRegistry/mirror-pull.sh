#!/usr/bin/env bash
# Runs inside a private network namespace (unshare --net). Starts a plain-HTTP docker-registry on 127.0.0.1:5000, pushes a
# tiny OCI image as 127.0.0.1:5000/mirror/docker.io/library/tiny:1, then pulls docker.io/library/tiny:1 through the
# rendered mirror configuration: skopeo with $W/registries.conf, and ctr (against its own containerd: root, state and socket
# in $W) with --hosts-dir $W/certs.d. Prints "RESULT <name> <value>" lines.
# Usage: mirror-pull.sh WORKDIR
set -u
W=$1
cd "$W" || exit 90
ip link set lo up || exit 91
mkdir -p data ctd/root ctd/state
cat > reg.yml <<YML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $W/data
http:
  addr: 127.0.0.1:5000
  secret: harness-not-secret
YML
docker-registry serve reg.yml > registry.log 2>&1 &
REG=$!
cleanup() { kill "${CTD:-}" 2>/dev/null; wait "${CTD:-}" 2>/dev/null; kill $REG 2>/dev/null; wait $REG 2>/dev/null; }
trap cleanup EXIT
for _ in $(seq 1 200); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:5000/v2/ 2>/dev/null)" = "200" ] && break
  sleep 0.05
done
( umoci init --layout oci && umoci new --image oci:tiny && umoci unpack --image oci:tiny bundle \
  && echo "hello through a mirror" > bundle/rootfs/hello.txt && umoci repack --image oci:tiny bundle \
  && umoci gc --layout oci ) > umoci.log 2>&1 || { echo "umoci failed"; cat umoci.log; exit 95; }
skopeo copy --dest-tls-verify=false oci:oci:tiny docker://127.0.0.1:5000/mirror/docker.io/library/tiny:1 > push.out 2>&1
echo "RESULT push $?"

skopeo copy --registries-conf "$W/registries.conf" docker://docker.io/library/tiny:1 oci:"$W/pulled:tiny" > skopeo.out 2>&1
echo "RESULT skopeo $?"
[ -s skopeo.out ] && tail -3 skopeo.out | sed 's/^/  /'

cat > ctd/config.toml <<TOML
version = 2
root = "$W/ctd/root"
state = "$W/ctd/state"
[grpc]
  address = "$W/ctd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "native"
TOML
containerd -c ctd/config.toml > ctd/containerd.log 2>&1 &
CTD=$!
for _ in $(seq 1 200); do
  ctr --address "$W/ctd/containerd.sock" version > /dev/null 2>&1 && break
  sleep 0.05
done
ctr --address "$W/ctd/containerd.sock" -n harness images pull --snapshotter native --hosts-dir "$W/certs.d" docker.io/library/tiny:1 > ctr.out 2>&1
echo "RESULT ctr $?"
tail -3 ctr.out | sed 's/^/  /'
# The registry's access log: skopeo's requests, and containerd's (which add ?ns=docker.io).
echo "RESULT served $(grep -c '/v2/mirror/docker.io/library/tiny/manifests/1' registry.log)"
echo "RESULT served-containerd $(grep -c '/v2/mirror/docker.io/library/tiny/manifests/1?ns=docker.io' registry.log)"
