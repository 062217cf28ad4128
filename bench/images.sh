#!/bin/bash
# The image store on a ~100 MB image against the tools that do one part of its work, all on
# tmpfs (BENCH_TMP, default /dev/shm; stage0d's data dir is there too), interleaved round by
# round by bench-timer so that every row sees the same load. Usage:
#   bench/images.sh [BUILD_DIR]        env: RUNS (rounds, default 7), REPEAT (invocations, 1)
#
# The image: a manifest and, under rootfs/, /usr/lib/python3.11, /usr/share/perl and
# /usr/lib/x86_64-linux-gnu/perl of this machine plus busybox (the tree of
# ../shared/reference/peers.md, ~97 MB as a tar), and that tar gzip'd (-6).
# Rows, each timed as the whole stage0c or tool command:
#   sha512sum, openssl-sha512    hash of the plain tar (coreutils; libcrypto for reference)
#   import-tar, import-gz        stage0c image import (the image is removed before each, untimed)
#   gzip-dc                      gzip -dc of the .gz to /dev/null
#   tar-xf                       tar -xf of the plain tar into an empty dir
#   prepare-render               stage0c prepare of a pod with the image, its tree removed first:
#                                the tree store renders it (blob re-hashed, extracted, tree hash)
#   prepare-rendered             the same with the tree already rendered: the rest of Prepare
#   image-render-dir             stage0c image render --rootfs-only into an empty dir (re-checks
#                                the rendered tree's hash, then renders from the blob again)
# render = prepare-render - prepare-rendered is the tree store's render, compared with tar-xf.
set -euo pipefail

BUILD=$(realpath "${1:-build}")
. "$(dirname "$0")/lib.sh"
bench_need "$STAGE0D" "$STAGE0C" "$STAGE1_ACI" "$BUSYBOX_ACI" "$TIMER"
bench_install gzip gzip openssl openssl busybox busybox-static jq jq

BIG_NAME=bench.stage0.io/big
# stage0c call rather than `stage0c prepare IMAGE --exec`: the same call, and the reply names the
# pod for the setup that removes it.
prepare_json() {
        printf '{"spec":{"apps":[{"image":{"name":"%s"},"exec":"/bin/true"}],"overlay":true}}' "$1"
}
bench_start_daemon
W="$T/work"
mkdir -p "$W/aci/rootfs/usr/lib/x86_64-linux-gnu" "$W/aci/rootfs/usr/share" "$W/aci/rootfs/bin"
cp -a /usr/lib/python3.11 "$W/aci/rootfs/usr/lib/"
cp -a /usr/share/perl "$W/aci/rootfs/usr/share/"
cp -a /usr/lib/x86_64-linux-gnu/perl "$W/aci/rootfs/usr/lib/x86_64-linux-gnu/"
cp "$(command -v busybox)" "$W/aci/rootfs/bin/busybox"
ln -s busybox "$W/aci/rootfs/bin/true"
cat >"$W/aci/manifest" <<EOF
{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "$BIG_NAME",
 "labels": [{"name": "version", "value": "1.0.0"}, {"name": "os", "value": "linux"},
            {"name": "arch", "value": "amd64"}],
 "app": {"exec": ["/bin/true"], "user": "0", "group": "0"}}
EOF
tar --numeric-owner -C "$W/aci" -cf "$W/big.aci" manifest rootfs
gzip -6 -c "$W/big.aci" >"$W/big.aci.gz"
rm -rf "$W/aci"

# A prepared busybox pod keeps the stage1 tree in use, so `image gc` below only removes the big
# image's tree and prepare-render does not also render stage1.
s0c image import "$BUSYBOX_ACI" >/dev/null
s0c call io.stage0.Pods.Prepare "$(prepare_json "$BUSYBOX_NAME")" >/dev/null
KEEP_TREES=$(ls "$T/data/images/trees" | grep -c '^deps-[^.]*$')

# Setups (untimed). Each checks that it did what the next timed command relies on.
cat >"$W/s0c" <<EOF
#!/bin/sh
exec "$STAGE0C" --socket "unix:$SOCK" "\$@"
EOF
cat >"$W/drop-pod.sh" <<EOF
#!/bin/sh
set -e
if [ -s "$W/pod.json" ]; then "$W/s0c" rm "\$(jq -r .uuid "$W/pod.json")" >/dev/null; fi
: >"$W/pod.json"
EOF
cat >"$W/drop-image.sh" <<EOF
#!/bin/sh
set -e
"$W/drop-pod.sh"
if "$W/s0c" image list --name-prefix "$BIG_NAME" | grep -q "$BIG_NAME"; then
        "$W/s0c" image rm "$BIG_NAME" >/dev/null
fi
EOF
cat >"$W/drop-tree.sh" <<EOF
#!/bin/sh
set -e
"$W/drop-pod.sh"
"$W/s0c" image gc --grace-period 1000h >/dev/null
[ "\$(ls "$T/data/images/trees" | grep -c '^deps-[^.]*\$')" -eq "$KEEP_TREES" ]
EOF
chmod +x "$W"/*.sh "$W/s0c"

bench_header "bench/images"
echo "# image: $(stat -c %s "$W/big.aci") B tar, $(stat -c %s "$W/big.aci.gz") B gzip -6," \
     "$(tar -tf "$W/big.aci" | wc -l) entries"
S0C=("$STAGE0C" --socket "unix:$SOCK")
RAW="$T/raw"
for i in $(seq 1 "${REPEAT:-1}"); do
        "$TIMER" --runs "${RUNS:-7}" --warmup 1 --raw "$RAW" \
                --name sha512sum sha512sum "$W/big.aci" \; \
                --name openssl-sha512 openssl dgst -sha512 "$W/big.aci" \; \
                --name import-tar --setup "$W/drop-image.sh" "${S0C[@]}" image import "$W/big.aci" \; \
                --name gzip-dc gzip -dc "$W/big.aci.gz" \; \
                --name import-gz --setup "$W/drop-image.sh" "${S0C[@]}" image import "$W/big.aci.gz" \; \
                --name tar-xf --setup "rm -rf '$W/x' && mkdir '$W/x'" tar -xf "$W/big.aci" -C "$W/x" \; \
                --name prepare-render --setup "$W/drop-tree.sh" --stdout "$W/pod.json" \
                        "${S0C[@]}" call io.stage0.Pods.Prepare "$(prepare_json "$BIG_NAME")" \; \
                --name prepare-rendered --setup "$W/drop-pod.sh" --stdout "$W/pod.json" \
                        "${S0C[@]}" call io.stage0.Pods.Prepare "$(prepare_json "$BIG_NAME")" \; \
                --name image-render-dir --setup "rm -rf '$W/r'" \
                        "${S0C[@]}" image render "$BIG_NAME" "$W/r" --rootfs-only \;
done

# Ratios of the medians over every timed run of every invocation.
med() { awk -v n="$1" '$1 == n { print $2 }' "$RAW" | bench_median; }
sha=$(med sha512sum) gz=$(med gzip-dc) tx=$(med tar-xf)
it=$(med import-tar) ig=$(med import-gz) pr=$(med prepare-render) pd=$(med prepare-rendered)
awk -v sha="$sha" -v gz="$gz" -v tx="$tx" -v it="$it" -v ig="$ig" -v pr="$pr" -v pd="$pd" 'BEGIN {
        render = pr - pd
        printf "# pooled medians (ms): sha512sum %.1f, gzip -dc %.1f, tar -xf %.1f\n", sha, gz, tx
        printf "import tar / sha512sum          %6.2f  (target <= 1.00)\n", it / sha
        printf "import gz / gzip -dc            %6.2f  (target <= 1.10)\n", ig / gz
        printf "render / tar -xf                %6.2f  (target <= 1.10; render = %.1f - %.1f ms)\n",
               render / tx, pr, pd
}'
