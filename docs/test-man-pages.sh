#!/bin/sh
# The man pages render without a single troff or man warning (meson test "docs-man").
# Usage: test-man-pages.sh PAGE...      Exit 77 (skip) when man(1) is not installed.
command -v man >/dev/null 2>&1 || { echo "SKIP: man is not installed"; exit 77; }
status=0
for page in "$@"; do
        warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
        if [ -n "$warnings" ]; then
                echo "FAIL: $page:"
                echo "$warnings"
                status=1
        else
                echo "ok: $page"
        fi
done
[ $# -gt 0 ] || { echo "FAIL: no pages given"; status=1; }
exit $status
