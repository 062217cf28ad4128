#!/bin/bash
# make-images.sh OUTDIR [STAMP]: builds the test ACIs from Debian's busybox-static into OUTDIR,
# and the corpus of bad images into OUTDIR/bad (indexed by OUTDIR/bad/expected.tsv). The tars
# are reproducible (sorted, mtime 0, owner 0:0, GNU format), so image IDs only change when this
# script does; OUTDIR/ids.tsv lists "file<TAB>image ID" for the good ones. STAMP, when given,
# is touched last, so a half-built OUTDIR never looks done.
#
# Environment: BUSYBOX (default /bin/busybox, a static busybox), PYTHON (default python3).
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
        echo "usage: $0 OUTDIR [STAMP]" >&2
        exit 2
fi
out=$1
stamp=${2:-}
busybox=${BUSYBOX:-/bin/busybox}
python=${PYTHON:-python3}
here=$(cd "$(dirname "$0")" && pwd)

if [ ! -x "$busybox" ]; then
        echo "$0: $busybox not found; install busybox-static" >&2
        exit 1
fi

umask 022
export LC_ALL=C
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "$out/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
rm -f "$stamp" "$out"/*.aci "$out"/*.aci.* "$out/ids.tsv"
rm -rf "$out/bad"

# appc's name for this machine's architecture (appc-rkt.md §4.5).
appc_arch() {
        case "$(uname -m)" in
        x86_64) echo amd64 ;;
        i?86) echo i386 ;;
        aarch64 | arm64) echo aarch64 ;;
        armv7*) echo armv7l ;;
        armv6* | arm) echo armv6l ;;
        ppc64le) echo ppc64le ;;
        ppc64) echo ppc64 ;;
        s390x) echo s390x ;;
        *) echo "$0: no appc arch for $(uname -m)" >&2; return 1 ;;
        esac
}
arch=$(appc_arch)
labels='{"name": "version", "value": "1.0.0"},
    {"name": "os", "value": "linux"},
    {"name": "arch", "value": "'"$arch"'"}'

applets="sh true false echo cat ls env id sleep hostname mkdir rm touch test [ printf pwd wc
         grep head tail stat ps kill readlink ln cp mv chmod chown date uname tee sed mount
         umount cut sort uniq find xargs"

# A rootfs with busybox, its applets, and root plus "app" (1000:1000) as users.
make_busybox_rootfs() {
        local root=$1/rootfs

        mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root" "$root/home/app"
        chmod 1777 "$root/tmp"
        chmod 0700 "$root/root"
        cp "$busybox" "$root/bin/busybox"
        chmod 0755 "$root/bin/busybox"
        for a in $applets; do
                ln -s busybox "$root/bin/$a"
        done
        printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' \
                >"$root/etc/passwd"
        printf 'root:x:0:\napp:x:1000:\n' >"$root/etc/group"
}

# pack DIR NAME: DIR/{manifest,rootfs} as OUTDIR/NAME.
pack() {
        tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
                -C "$1" -cf "$out/$2" manifest rootfs
}

image_id() {
        echo "sha512-$(sha512sum <"$1" | cut -d' ' -f1)"
}

# --- busybox.aci, and the same tar in every compression ---
d=$work/busybox
make_busybox_rootfs "$d"
cat >"$d/manifest" <<EOF
{
  "acKind": "ImageManifest",
  "acVersion": "0.8.11",
  "name": "stage0.io/test/busybox",
  "labels": [
    $labels
  ],
  "app": {
    "exec": ["/bin/sh", "-c", "echo hello from busybox"],
    "user": "0",
    "group": "0"
  },
  "annotations": [
    {"name": "created", "value": "1970-01-01T00:00:00Z"},
    {"name": "homepage", "value": "https://busybox.net"}
  ]
}
EOF
pack "$d" busybox.aci
# In the background, while the rest is built; each is waited for (and checked) at the end.
compressors=()
gzip -n -1 -c "$out/busybox.aci" >"$out/busybox.aci.tar.gz" & compressors+=($!)
bzip2 -1 -c "$out/busybox.aci" >"$out/busybox.aci.tar.bz2" & compressors+=($!)
xz -0 -T1 -c "$out/busybox.aci" >"$out/busybox.aci.tar.xz" & compressors+=($!)
zstd -q -1 -c "$out/busybox.aci" >"$out/busybox.aci.tar.zst" & compressors+=($!)

# --- base.aci: what the dependent images below build on ---
d=$work/base
make_busybox_rootfs "$d"
mkdir -p "$d/rootfs/usr/share/base"
echo base >"$d/rootfs/etc/base-release"
echo "from base" >"$d/rootfs/etc/overridden"
echo a >"$d/rootfs/usr/share/base/file-a"
echo b >"$d/rootfs/usr/share/base/file-b"
cat >"$d/manifest" <<EOF
{
  "acKind": "ImageManifest",
  "acVersion": "0.8.11",
  "name": "stage0.io/test/base",
  "labels": [
    $labels
  ]
}
EOF
pack "$d" base.aci
base_id=$(image_id "$out/base.aci")

# app-with-dep.aci: depends on base by name and labels, adds a file, overrides one of base's.
d=$work/app-with-dep
mkdir -p "$d/rootfs/etc"
echo "from app" >"$d/rootfs/etc/overridden"
echo app >"$d/rootfs/etc/app-file"
cat >"$d/manifest" <<EOF
{
  "acKind": "ImageManifest",
  "acVersion": "0.8.11",
  "name": "stage0.io/test/app-with-dep",
  "labels": [
    $labels
  ],
  "app": {
    "exec": ["/bin/cat", "/etc/overridden", "/etc/app-file", "/etc/base-release"],
    "user": "0",
    "group": "0"
  },
  "dependencies": [
    {"imageName": "stage0.io/test/base", "labels": [{"name": "version", "value": "1.0.0"}]}
  ]
}
EOF
pack "$d" app-with-dep.aci

# app-with-dep-by-id.aci: the same dependency, by image ID.
d=$work/app-with-dep-by-id
mkdir -p "$d/rootfs/etc"
echo "from app by id" >"$d/rootfs/etc/overridden"
cat >"$d/manifest" <<EOF
{
  "acKind": "ImageManifest",
  "acVersion": "0.8.11",
  "name": "stage0.io/test/app-with-dep-by-id",
  "labels": [
    $labels
  ],
  "app": {
    "exec": ["/bin/cat", "/etc/overridden"],
    "user": "0",
    "group": "0"
  },
  "dependencies": [
    {"imageName": "stage0.io/test/base", "imageID": "$base_id"}
  ]
}
EOF
pack "$d" app-with-dep-by-id.aci

# whitelist.aci: over base, keeping only the listed files (its own included); base's
# /etc/overridden, /usr/share/base/* and most applet links are dropped.
d=$work/whitelist
mkdir -p "$d/rootfs/etc"
echo whitelisted >"$d/rootfs/etc/whitelist-file"
echo "not whitelisted" >"$d/rootfs/etc/not-whitelisted"
cat >"$d/manifest" <<EOF
{
  "acKind": "ImageManifest",
  "acVersion": "0.8.11",
  "name": "stage0.io/test/whitelist",
  "labels": [
    $labels
  ],
  "app": {
    "exec": ["/bin/cat", "/etc/whitelist-file", "/etc/base-release"],
    "user": "0",
    "group": "0"
  },
  "dependencies": [
    {"imageName": "stage0.io/test/base", "imageID": "$base_id"}
  ],
  "pathWhitelist": [
    "/bin/busybox", "/bin/sh", "/bin/cat", "/etc/passwd", "/etc/group",
    "/etc/base-release", "/etc/whitelist-file"
  ]
}
EOF
pack "$d" whitelist.aci

# noapp.aci: an image without an app section.
d=$work/noapp
mkdir -p "$d/rootfs/etc"
echo noapp >"$d/rootfs/etc/noapp"
cat >"$d/manifest" <<EOF
{
  "acKind": "ImageManifest",
  "acVersion": "0.8.11",
  "name": "stage0.io/test/noapp",
  "labels": [
    $labels
  ]
}
EOF
pack "$d" noapp.aci

# fake-stage1.aci: a stage1 whose entrypoints record how they were called into the pod
# directory (their working directory) and succeed.
d=$work/fake-stage1
make_busybox_rootfs "$d"
# run writes fake-stage1-args and fake-stage1-env; gc and stop fake-stage1-gc-args, ...
for e in run gc stop; do
        prefix=fake-stage1
        [ "$e" = run ] || prefix=fake-stage1-$e
        cat >"$d/rootfs/$e.sh" <<EOF
#!/bin/sh
# The fake stage1's $e entrypoint: records its argv (one per line) and environment.
for a in "\$0" "\$@"; do printf '%s\n' "\$a"; done >"\$PWD/$prefix-args"
env >"\$PWD/$prefix-env"
exit 0
EOF
        chmod 0755 "$d/rootfs/$e.sh"
done
cat >"$d/manifest" <<EOF
{
  "acKind": "ImageManifest",
  "acVersion": "0.8.11",
  "name": "stage0.io/test/fake-stage1",
  "labels": [
    $labels
  ],
  "annotations": [
    {"name": "coreos.com/rkt/stage1/run", "value": "/run.sh"},
    {"name": "coreos.com/rkt/stage1/gc", "value": "/gc.sh"},
    {"name": "coreos.com/rkt/stage1/stop", "value": "/stop.sh"},
    {"name": "coreos.com/rkt/stage1/interface-version", "value": "6"}
  ]
}
EOF
pack "$d" fake-stage1.aci

# The bad corpus, and special.aci (a good image with every kind of entry the renderer must
# keep as it is).
"$python" "$here/make-bad-images.py" "$out" "$arch" "$out/busybox.aci"

for pid in "${compressors[@]}"; do
        wait "$pid"
done
for f in busybox.aci base.aci app-with-dep.aci app-with-dep-by-id.aci whitelist.aci noapp.aci \
         fake-stage1.aci special.aci; do
        printf '%s\t%s\n' "$f" "$(image_id "$out/$f")"
done >"$out/ids.tsv"

if [ -n "$stamp" ]; then
        touch "$stamp"
fi
