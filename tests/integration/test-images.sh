#!/bin/bash
# The image store through stage0c: import of every compression (one ID, idempotent), two
# concurrent imports of one file, the corpus of bad images (named error, store unchanged),
# list/inspect/rm with names, labels and ID prefixes (ambiguous too), render with
# dependencies and a whitelist against trees extracted by GNU tar, verify before and after
# tampering, gc, and a kill -9 of stage0d in the middle of an import.
. "$TESTS_LIB"
: "${TEST_IMAGES:?}"

I=$TEST_IMAGES
C() { "$STAGE0C" --timeout 60 "$@"; }
# The bomb expands to 10 MiB; every good image here is far smaller, but for the big one of
# the crash test, which gets a daemon without this limit.
SMALL_LIMIT=$((8 * 1024 * 1024))

id_of() { awk -F'\t' -v f="$1" '$1 == f { print $2 }' "$I/ids.tsv"; }
key_of() { echo "${1:0:71}"; }        # sha512- and 64 hex digits
blob_of() { local k; k=$(key_of "$1"); echo "$DATA/images/blobs/sha512/${k:7:2}/$k"; }

# What the store holds on disk, as one listing: files with size and mtime, directories by
# name only (an import of a stored image still passes a temp file through tmp/).
store_snapshot() {
        (cd "$DATA/images" && find blobs tmp \( -type d -printf '%p d\n' \) -o -printf '%p %y %s %T@\n' |
                LC_ALL=C sort)
}
# List's images without lastUsedUsec, which an import of a stored image may move on.
list_stable() { C --json image list | jq -S '[.images[] | del(.lastUsedUsec)]'; }
tmp_empty() { [ -z "$(ls -A "$DATA/images/tmp")" ]; }
n_images() { C --json image list "$@" | jq '.images | length'; }

# expect_error OUT ERROR: the --json output of a refused call names ERROR.
expect_error() {
        [ "$(jq -r .error "$1" 2>/dev/null)" = "io.stage0.Images.$2" ] || {
                echo "wanted io.stage0.Images.$2, got: $(head -c 400 "$1")" >&2
                return 1
        }
}

# tree_listing DIR: every entry with type, mode, owner, size, link target and, for a regular
# file, its content hash. Directory mtimes are left out: a render may touch them.
tree_listing() {
        (cd "$1" && find . -mindepth 1 -printf '%P|%y|%m|%U:%G|%l|' -a \( -type f -exec md5sum {} \; -o -printf '\n' \) |
                sed 's| \./.*||' | LC_ALL=C sort)
}

# extract_rootfs ACI DIR: the rootfs of ACI extracted over DIR by GNU tar, the reference.
extract_rootfs() {
        mkdir -p "$2"
        tar -C "$2" --strip-components=1 --same-owner --same-permissions --xattrs \
                -xf "$1" rootfs
}

# --- a daemon with an image size limit small enough for the bomb ---
start_daemon --max-image-size "$SMALL_LIMIT"
arch=$(jq -r '.labels[] | select(.name == "arch") | .value' \
        <(tar -xOf "$I/busybox.aci" manifest))

# --- every compression gives the same ID; a second import changes nothing ---
bb=$(id_of busybox.aci)
first=1
for f in busybox.aci busybox.aci.tar.gz busybox.aci.tar.bz2 busybox.aci.tar.xz busybox.aci.tar.zst; do
        want_stored=$([ "$first" = 1 ] && echo false || echo true)
        if C --json image import "$I/$f" >"$T/out" 2>"$T/err" &&
           [ "$(jq -r .image.id "$T/out")" = "$bb" ] &&
           [ "$(jq -r .alreadyStored "$T/out")" = "$want_stored" ]; then
                pass "import $f: $bb, alreadyStored $want_stored"
        else
                fail "import $f: $(cat "$T/out" "$T/err")"
        fi
        first=0
done
before=$(store_snapshot)
list_before=$(list_stable)
C image import "$I/busybox.aci" >"$T/out" 2>"$T/err"
check "a second import prints the ID on stdout" [ "$(cat "$T/out")" = "$bb" ]
check "a second import says already stored" grep -q "busybox.aci: already stored" "$T/err"
check "a second import leaves the blobs and temp dir as they were" \
        diff <(echo "$before") <(store_snapshot)
check "a second import leaves the index as it was (but lastUsedUsec)" \
        [ "$list_before" = "$(list_stable)" ]
check "the stored blob is the uncompressed tar" cmp -s "$(blob_of "$bb")" "$I/busybox.aci"

# A fresh import off a terminal prints the ID and nothing else.
C image import "$I/base.aci" >"$T/out" 2>"$T/err"
check "import off a terminal: the ID on stdout, nothing on stderr" \
        eval '[ "$(cat "$T/out")" = "$(id_of base.aci)" ] && [ ! -s "$T/err" ]'
C image import "$T/no-such.aci" >"$T/out" 2>"$T/err" && rc=0 || rc=$?
check "a missing file is a usage error" \
        eval '[ "$rc" = 2 ] && grep -q "no-such.aci: No such file" "$T/err"'

# --- two clients importing the same file at once ---
mkdir -p "$T/mid/rootfs"
head -c $((6 * 1024 * 1024)) /dev/urandom >"$T/mid/rootfs/data"
cat >"$T/mid/manifest" <<EOF
{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "stage0.io/test/mid",
 "labels": [{"name": "os", "value": "linux"}, {"name": "arch", "value": "$arch"}]}
EOF
tar -C "$T/mid" -cf "$T/mid.aci" manifest rootfs
mid=sha512-$(sha512sum <"$T/mid.aci" | cut -d' ' -f1)
C --json image import "$T/mid.aci" >"$T/c1" 2>&1 & p1=$!
C --json image import "$T/mid.aci" >"$T/c2" 2>&1 & p2=$!
rc1=0; rc2=0
wait "$p1" || rc1=$?
wait "$p2" || rc2=$?
if [ "$rc1" = 0 ] && [ "$rc2" = 0 ] && [ "$(jq -r .image.id "$T/c1")" = "$mid" ] &&
   [ "$(jq -r .image.id "$T/c2")" = "$mid" ]; then
        pass "two concurrent imports of one file both succeed"
else
        fail "concurrent imports: $rc1 $rc2 $(cat "$T/c1" "$T/c2")"
fi
check "the concurrent imports stored one blob" \
        [ "$(find "$DATA/images/blobs" -type f -name "$(key_of "$mid")*" | wc -l)" = 1 ]
check "the concurrent imports left one index entry" \
        [ "$(n_images --name-prefix stage0.io/test/mid)" = 1 ]
check "the concurrent imports left no temp file" tmp_empty

# --- every bad image is refused with its error, and leaves the store as it was ---
before=$(store_snapshot)
list_before=$(list_stable)
n_bad=0
while IFS=$'\t' read -r file error where note; do
        case "$file" in '#'* | '') continue ;; esac
        n_bad=$((n_bad + 1))
        C --json image import "$I/bad/$file" >"$T/out" 2>"$T/err" && rc=0 || rc=$?
        case "$error" in
        InvalidImage) param=path ;;
        InvalidManifest) param=field ;;
        LimitExceeded) param=limit ;;
        *) param= ;;
        esac
        got=$(jq -r --arg p "$param" '.parameters[$p] // "-"' "$T/out" 2>/dev/null || true)
        want=$where
        [ "$want" = "(manifest)" ] && want=""
        if [ "$rc" = 1 ] && expect_error "$T/out" "$error" &&
           { [ "$where" = "-" ] || [ "$got" = "$want" ]; }; then
                pass "bad/$file: $error $where ($note)"
        else
                fail "bad/$file: wanted $error $param=$where, exit $rc: $(head -c 300 "$T/out")"
        fi
        tmp_empty || fail "bad/$file left a temp file: $(ls "$DATA/images/tmp")"
done <"$I/bad/expected.tsv"
check "the bad corpus is there ($n_bad images)" [ "$n_bad" -ge 40 ]
check "the bad images left the blobs and temp dir as they were" \
        diff <(echo "$before") <(store_snapshot)
check "the bad images left the index as it was" [ "$list_before" = "$(list_stable)" ]
for f in chardev.aci blockdev.aci; do
        check "bad/$f is accepted with --allow-device-nodes" \
                C image import --allow-device-nodes "$I/bad/$f" >/dev/null
done

# --- list ---
for f in base.aci app-with-dep.aci app-with-dep-by-id.aci whitelist.aci noapp.aci special.aci \
         fake-stage1.aci; do
        C image import "$I/$f" >/dev/null 2>&1 || fail "import $f"
done
check "list shows every image (11)" [ "$(n_images)" = 11 ]
check "list --name-prefix" [ "$(C --json image list --name-prefix stage0.io/test/app- |
        jq -c '[.images[].name] | sort')" = '["stage0.io/test/app-with-dep","stage0.io/test/app-with-dep-by-id"]' ]
check "list --label version=1.0.0 keeps the test images" \
        [ "$(n_images --label version=1.0.0)" -ge 8 ]
check "list with two labels" [ "$(C --json image list --label version=1.0.0 --label "arch=$arch" \
        --name-prefix stage0.io/test/busy | jq -r '.images[].id')" = "$bb" ]
check "list with a label nobody has" \
        [ "$(n_images --label version=9)" = 0 ]
C image list >"$T/out"
check "list's table has a header" grep -q '^ID  *NAME  *VERSION  *SIZE  *IMPORTED$' "$T/out"
check "list's table shows rkt's trimmed ID, name, version and size" \
        grep -Eq "^${bb:0:19}  +stage0.io/test/busybox  +1\.0\.0  +1\.[0-9] MiB  +[0-9]+ seconds? ago$" "$T/out"
check "list --full shows full IDs" grep -q "^$bb " <(C image list --full)

# --- inspect: by ID prefix, name, name:version; ambiguous prefixes ---
for ref in "${bb:0:12}" "$bb" stage0.io/test/busybox stage0.io/test/busybox:1.0.0; do
        check "inspect $ref" [ "$(C --json image inspect "$ref" | jq -r .image.id)" = "$bb" ]
done
check "inspect --label" [ "$(C --json image inspect stage0.io/test/busybox --label "arch=$arch" |
        jq -r .image.id)" = "$bb" ]
check "inspect shows the manifest" [ "$(C --json image inspect "${bb:0:12}" | jq -r .manifest.name)" = stage0.io/test/busybox ]
check "inspect shows the check digest" \
        eval '[[ "$(C --json image inspect "${bb:0:12}" | jq -r .image.checkDigest)" =~ ^sha256-[0-9a-f]{64}$ ]]'
check "inspect prints the check digest" eval 'C image inspect "${bb:0:12}" | grep -Eq "^checked by: +sha256-[0-9a-f]{64}$"'
C image inspect stage0.io/test/busybox >"$T/out"
check "inspect's text" grep -q "^name: *stage0.io/test/busybox$" "$T/out"
C --json image inspect stage0.io/test/busybox:2.0 >"$T/out" 2>/dev/null && rc=0 || rc=$?
check "inspect of a missing version: NoSuchImage, exit 1" \
        eval '[ "$rc" = 1 ] && expect_error "$T/out" NoSuchImage'
C image inspect sha512-x1 >/dev/null 2>&1 && rc=0 || rc=$?
check "an ID that is not hex is a usage error" [ "$rc" = 2 ]

# No two test images share the first two hex digits of their IDs, so make two that do:
# tiny images differing in a label, until two IDs (with the stored ones) collide.
declare -A seen=()
while read -r id; do seen[${id:7:2}]=$id; done < <(C --json image list | jq -r '.images[].id')
amb_a=; amb_b=
mkdir -p "$T/tiny/rootfs"
for n in $(seq 1 400); do
        cat >"$T/tiny/manifest" <<EOF
{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "stage0.io/test/tiny",
 "labels": [{"name": "version", "value": "$n"}, {"name": "os", "value": "linux"},
            {"name": "arch", "value": "$arch"}]}
EOF
        tar -C "$T/tiny" --mtime=@0 --owner=0 --group=0 -cf "$T/tiny-$n.aci" manifest rootfs
        id=sha512-$(sha512sum <"$T/tiny-$n.aci" | cut -d' ' -f1)
        if [ -n "${seen[${id:7:2}]:-}" ]; then
                amb_a=${seen[${id:7:2}]}
                amb_b=$id
                C image import "$T/tiny-$n.aci" >/dev/null || fail "import tiny-$n.aci"
                break
        fi
        seen[${id:7:2}]=$id
        rm "$T/tiny-$n.aci"
done
if [ -z "$amb_b" ]; then
        fail "no two images with a common ID prefix after 400 tries"
else
        C --json image inspect "${amb_b:0:9}" >"$T/out" 2>/dev/null && rc=0 || rc=$?
        check "an ambiguous prefix: AmbiguousImage, exit 1" \
                eval '[ "$rc" = 1 ] && expect_error "$T/out" AmbiguousImage'
        check "AmbiguousImage names both matches" [ "$(jq -c '.parameters.matches | sort' "$T/out")" = \
                "$(jq -nc --arg a "$amb_a" --arg b "$amb_b" '[$a, $b] | sort')" ]
        check "one more digit resolves it" \
                [ "$(C --json image inspect "${amb_b:0:12}" | jq -r .image.id)" = "$amb_b" ]
fi

# --- rm ---
noapp=$(id_of noapp.aci)
C --json image rm stage0.io/test/noapp stage0.io/test/not-there >"$T/out" 2>/dev/null && rc=0 || rc=$?
check "rm with one missing image fails with NoSuchImage" \
        eval '[ "$rc" = 1 ] && expect_error "$T/out" NoSuchImage'
check "... and removes nothing" C image inspect stage0.io/test/noapp >/dev/null
check "rm by name" [ "$(C --json image rm stage0.io/test/noapp | jq -c .removed)" = "[\"$noapp\"]" ]
check "rm removed the index entry" [ "$(n_images --name-prefix stage0.io/test/noapp)" = 0 ]
check "rm removed the blob" [ ! -e "$(blob_of "$noapp")" ]
C image rm "$amb_b" >"$T/out"
check "rm's text" grep -q "^removed image $amb_b$" "$T/out"

# --- render: dependencies by name and by ID, a whitelist, special entries ---
# The reference: each image's rootfs extracted by GNU tar, dependencies first, so the image
# on top wins where they overlap.
render_check() {
        local image=$1 aci=$2 name=$3; shift 3
        local exp=$T/exp-$name out=$T/render-$name
        extract_rootfs "$I/base.aci" "$exp"
        extract_rootfs "$I/$aci" "$exp"
        "$@" "$exp"      # adjust the reference: the whitelist
        if C image render "$image" "$out" >"$T/out" 2>"$T/err"; then
                pass "render $image"
        else
                fail "render $image: $(cat "$T/err")"
                return
        fi
        if diff <(tree_listing "$exp") <(tree_listing "$out/rootfs") >"$T/diff"; then
                pass "render $image: the tree matches GNU tar's"
        else
                fail "render $image differs from GNU tar's tree: $(head -20 "$T/diff")"
        fi
        check "render $image: the manifest beside rootfs is the image's" \
                cmp -s <(tar -xOf "$I/$aci" manifest) "$out/manifest"
}
no_change() { :; }
whitelist_apply() {
        local keep="bin/busybox bin/sh bin/cat etc/passwd etc/group etc/base-release etc/whitelist-file"
        local own
        own=$(tar -tf "$I/whitelist.aci" | sed -n 's|^rootfs/\(.*[^/]\)/$|\1|p')
        (cd "$1" && find . ! -type d -printf '%P\n' | while read -r p; do
                case " $keep " in *" $p "*) ;; *) rm -f "$p" ;; esac
        done)
        # The top image's whitelist filters its dependencies' directories too; its own
        # directories stay, and so do those that lead to a kept file.
        local removed=1
        while [ "$removed" = 1 ]; do
                removed=0
                for d in $(cd "$1" && find . -mindepth 1 -type d -empty -printf '%P\n'); do
                        case " $(echo $own) " in *" $d "*) ;; *) rmdir "$1/$d"; removed=1 ;; esac
                done
        done
}
render_check stage0.io/test/app-with-dep app-with-dep.aci dep no_change
check "app-with-dep: its own file wins" [ "$(cat "$T/render-dep/rootfs/etc/overridden")" = "from app" ]
check "app-with-dep: the base's files are there" [ "$(cat "$T/render-dep/rootfs/etc/base-release")" = base ]
render_check stage0.io/test/app-with-dep-by-id app-with-dep-by-id.aci by-id no_change
check "app-with-dep-by-id: its own file wins" [ "$(cat "$T/render-by-id/rootfs/etc/overridden")" = "from app by id" ]
render_check stage0.io/test/whitelist whitelist.aci whitelist whitelist_apply
check "whitelist: a file not listed is dropped" [ ! -e "$T/render-whitelist/rootfs/etc/not-whitelisted" ]
check "whitelist: its own directories stay" [ -d "$T/render-whitelist/rootfs/etc" ]
check "whitelist: a dependency's directory not listed is dropped" \
        [ ! -e "$T/render-whitelist/rootfs/usr/share/base" ]

special=$(id_of special.aci)
C image render --rootfs-only "$special" "$T/render-special" >/dev/null
extract_rootfs "$I/special.aci" "$T/exp-special"
check "render --rootfs-only: special.aci matches GNU tar's tree" \
        diff <(tree_listing "$T/exp-special") <(tree_listing "$T/render-special")
check "render --rootfs-only: no manifest" [ ! -e "$T/render-special/manifest" ]
C --json image render "$special" "$T/render-special" >"$T/out" 2>/dev/null && rc=0 || rc=$?
check "render into a non-empty directory: InvalidPath" \
        eval '[ "$rc" = 1 ] && expect_error "$T/out" InvalidPath'
check "render --overwrite replaces it" eval 'C image render --overwrite "$special" "$T/render-special" >/dev/null'
check "render --overwrite: now with the manifest" [ -f "$T/render-special/manifest" ]
(cd "$T" && C image render "$special" rel-target >/dev/null)
check "render to a relative DIR renders under the working directory" [ -d "$T/rel-target/rootfs" ]

# --- verify, and a tampered tree ---
C --json image verify stage0.io/test/app-with-dep >"$T/out"
check "verify: ok, with its tree" eval '[ "$(jq -r .id "$T/out")" = "$(id_of app-with-dep.aci)" ] &&
        [ "$(jq ".trees | length" "$T/out")" -ge 1 ]'
tree_id=$(jq -r '.trees[0].id' "$T/out")
victim=$DATA/images/trees/$tree_id/rootfs/etc/app-file
if [ -f "$victim" ]; then
        echo tampered >"$victim"
        C --json image verify stage0.io/test/app-with-dep >"$T/out" 2>/dev/null && rc=0 || rc=$?
        check "verify of a tampered tree: ImageCorrupted, exit 1" \
                eval '[ "$rc" = 1 ] && expect_error "$T/out" ImageCorrupted'
        check "ImageCorrupted names the tree" [ "$(jq -r .parameters.treeId "$T/out")" = "$tree_id" ]
        C image render --overwrite stage0.io/test/app-with-dep "$T/render-dep" >/dev/null
        check "render after tampering hands out the image's content" \
                [ "$(cat "$T/render-dep/rootfs/etc/app-file")" = app ]
        check "verify after the render: ok again" C image verify stage0.io/test/app-with-dep >/dev/null
else
        fail "verify: no tree at $victim"
fi
# A tampered blob: the image itself.
printf 'X' | dd of="$(blob_of "$mid")" bs=1 seek=2000 conv=notrunc status=none
C --json image verify "$mid" >"$T/out" 2>/dev/null && rc=0 || rc=$?
check "verify of a tampered blob: ImageCorrupted without a tree" eval '[ "$rc" = 1 ] &&
        expect_error "$T/out" ImageCorrupted && [ "$(jq -r .parameters.treeId "$T/out")" = null ]'

# --- gc ---
C --json image gc --grace-period 24h >"$T/out"
check "gc keeps images used within the grace period" [ "$(jq '.removedImages | length' "$T/out")" = 0 ]
check "gc removes the trees no pod uses" \
        eval '[ "$(jq ".removedTrees | length" "$T/out")" -ge 1 ] && [ "$(jq .freedBytes "$T/out")" -gt 0 ]'
check "gc removed them from disk" [ -z "$(ls -A "$DATA/images/trees")" ]
C image gc --grace-period 1x >/dev/null 2>&1 && rc=0 || rc=$?
check "gc with a bad duration is a usage error" [ "$rc" = 2 ]
n_before=$(n_images)
sleep 2
C --json image gc --grace-period 1s >"$T/out"
check "gc past the grace period removes every image" \
        eval '[ "$(jq ".removedImages | length" "$T/out")" = "$n_before" ] && [ "$(n_images)" = 0 ]'
check "gc removed every blob" [ -z "$(find "$DATA/images/blobs" -type f)" ]
stop_daemon || fail "stage0d did not stop cleanly"

# --- kill -9 in the middle of an import ---
mkdir -p "$T/big/rootfs"
head -c $((200 * 1024 * 1024)) /dev/urandom >"$T/big/rootfs/data"
sed 's|test/mid|test/big|' "$T/mid/manifest" >"$T/big/manifest"
tar -C "$T/big" -cf "$T/big.aci" manifest rootfs
rm -rf "$T/big"
big=sha512-$(sha512sum <"$T/big.aci" | cut -d' ' -f1)

# crash_import WHAT: starts importing big.aci, and once part of its blob is written kills
# -9 stage0d, and its workers too when WHAT is "workers"; then waits for every one of them.
crash_import() {
        local client workers w i alive
        C image import "$T/big.aci" >"$T/out" 2>"$T/err" & client=$!
        for i in $(seq 1 250); do
                [ -n "$(find "$DATA/images/tmp" -type f -size +8M 2>/dev/null)" ] && break
                sleep 0.02
        done
        workers=$(pgrep -P "$DAEMON_PID" || true)
        check "$1: the import is under way before the kill" \
                [ -n "$(find "$DATA/images/tmp" -type f)" ]
        if [ "$1" = workers ]; then
                kill -KILL "$DAEMON_PID" $workers
        else
                kill -KILL "$DAEMON_PID"
        fi
        wait "$DAEMON_PID" 2>/dev/null || true
        DAEMON_PID=
        wait "$client" && rc=0 || rc=$?
        check "$1: the client of the killed daemon fails with a connection error (3)" [ "$rc" = 3 ]
        # An orphaned worker may finish its import; it must not outlive it by much.
        for i in $(seq 1 200); do
                alive=
                for w in $workers; do kill -0 "$w" 2>/dev/null && alive="$alive $w"; done
                [ -z "$alive" ] && break
                sleep 0.05
        done
        check "$1: no worker is left running" [ -z "$alive" ]
}

# After the crash the store holds either the whole image or nothing of it.
check_consistent() {
        local n blobs
        start_daemon
        check "$1: nothing left in images/tmp after start" tmp_empty
        C --json image list >"$T/list" 2>&1 || true
        n=$(jq '.images | length' "$T/list" 2>/dev/null || echo "List failed: $(cat "$T/list")")
        blobs=$(find "$DATA/images/blobs" -type f | wc -l)
        case "$n" in
        0)
                check "$1: nothing stored: List empty, no blob" [ "$blobs" = 0 ]
                ;;
        1)
                check "$1: the whole image stored: one blob, and it verifies" \
                        eval '[ "$blobs" = 1 ] && C image verify "$big" >/dev/null'
                ;;
        *)
                fail "$1: List after the crash: $n"
                ;;
        esac
}

# stage0d alone: its worker is orphaned.
start_daemon
crash_import daemon
check_consistent daemon
C image rm "$big" >/dev/null 2>&1 || true
# stage0d and its workers, as in a power cut: the blob is half-written in tmp/.
crash_import workers
check_consistent workers
check "workers: nothing stored" [ "$(n_images)" = 0 ]

if command -v script >/dev/null; then
        # On a terminal, a progress bar on stderr; the ID still on stdout.
        script -qec "'$STAGE0C' --timeout 60 image import '$T/big.aci'" /dev/null >"$T/out" &&
                rc=0 || rc=$?
        check "after the crash: importing the file again succeeds" \
                eval '[ "$rc" = 0 ] && grep -q "$big" "$T/out"'
        check "on a terminal: a progress bar on stderr" grep -q "/ 200.0 MiB  " "$T/out"
else
        check "after the crash: importing the file again succeeds" \
                [ "$(C image import "$T/big.aci")" = "$big" ]
fi
check "after the crash: the re-imported image verifies" C image verify "$big" >/dev/null
stop_daemon || fail "stage0d did not stop cleanly"

finish
