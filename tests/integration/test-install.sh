#!/usr/bin/env bash
# `meson install` lays out what shims and packagers need: libstage0 with its headers and
# pkg-config file (a program built against them talks to a real stage0d), the binaries, the
# interface files and the systemd units.
. "$TESTS_LIB"

DEST="$T/inst"
meson install -C "$BUILD_ROOT" --destdir "$DEST" --no-rebuild >"$T/install.log" 2>&1 ||
        { cat "$T/install.log"; fail "meson install"; finish; }
pass "meson install into a destdir"

pc=$(find "$DEST" -name libstage0.pc | head -n 1)
check "libstage0.pc is installed" test -n "$pc"
for h in varlink-server.h varlink-client.h varlink-idl.h varlink-channel.h; do
        check "header $h is installed" test -n "$(find "$DEST" -path "*/include/stage0/$h")"
done
for f in stage0d stage0c io.stage0.Pods.varlink io.stage0.Images.varlink stage0d.service stage0d.socket; do
        check "$f is installed" test -n "$(find "$DEST" -name "$f")"
done

cat >"$T/shim.c" <<'C'
#include <stdio.h>
#include <varlink-client.h>

int main(int argc, char **argv) {
        VarlinkClient *c;
        VarlinkReply reply = {};

        if (argc != 2 || varlink_client_connect(&c, argv[1]) < 0)
                return 2;
        if (varlink_client_call(c, "org.varlink.service.GetInfo", NULL, VARLINK_TIMEOUT_DEFAULT_USEC, &reply) < 0 || reply.error)
                return 1;
        puts(json_object_get_string(json_object_object_get(reply.parameters, "product")));
        varlink_reply_clear(&reply);
        varlink_client_free(c);
        return 0;
}
C
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$DEST"
check "a shim builds with pkg-config libstage0" \
        cc -std=gnu11 -Wall -Werror -o "$T/shim" "$T/shim.c" $(pkg-config --cflags --libs libstage0)

start_daemon
libdir=$(dirname "$(find "$DEST" -name 'libstage0.so*' | head -n 1)")
out=$(LD_LIBRARY_PATH="$libdir" "$T/shim" "unix:$SOCK" || true)
check "the shim talks to stage0d through the installed library" test "$out" = stage0d
check "stage0d stops cleanly" stop_daemon
finish
