#!/bin/sh
# Renders a report's playback with headless Chromium to PNGs at two slider
# positions, and checks that the page loaded without console errors and that its
# script finished (it sets data-playback="ready" on <html>).
#
# Usage: scripts/report-screenshot.sh REPORT.html OUT_DIR [FRAGMENT1 [FRAGMENT2]]
#   FRAGMENTs select the time, as after the page's address: t=SECONDS or frame=K
#   (0 to 199); defaults frame=60 and frame=140.
# Writes OUT_DIR/playback-1.png and OUT_DIR/playback-2.png. Exit status: 0 on
# success, 1 if the page failed, 3 if no Chromium was found (CHROMIUM=path
# overrides the search for `chromium` and `chromium-browser`; WINDOW=W,H sets the
# window size, default 1300,1500).
set -eu
[ $# -ge 2 ] || { echo "usage: $0 REPORT.html OUT_DIR [FRAGMENT1 [FRAGMENT2]]" >&2; exit 2; }
report=$1
out=$2
f1=${3:-frame=60}
f2=${4:-frame=140}
[ -f "$report" ] || { echo "$0: no such file: $report" >&2; exit 2; }
browser=${CHROMIUM:-}
if [ -z "$browser" ]; then
    for b in chromium chromium-browser; do
        if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
    done
fi
[ -n "$browser" ] || { echo "$0: no chromium found" >&2; exit 3; }
mkdir -p "$out"
abs=$(cd "$(dirname "$report")" && pwd)/$(basename "$report")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
n=0
for frag in "$f1" "$f2"; do
    n=$((n + 1))
    url="file://$abs#$frag&view=playback"
    # A new, empty profile each time; no network, no background services.
    set -- --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --enable-logging=stderr --v=0 --virtual-time-budget=5000
    timeout 120 "$browser" "$@" --user-data-dir="$work/profile-dom-$n" --dump-dom "$url" \
        >"$work/dom-$n.html" 2>"$work/log-$n.txt" || true
    timeout 120 "$browser" "$@" --user-data-dir="$work/profile-png-$n" --window-size="${WINDOW:-1300,1500}" \
        --screenshot="$out/playback-$n.png" "$url" >/dev/null 2>>"$work/log-$n.txt" || true
    if grep -E 'CONSOLE.*(Uncaught|Error|error)' "$work/log-$n.txt" >&2; then
        echo "$0: console errors at #$frag" >&2
        status=1
    fi
    if ! grep -q 'data-playback="ready"' "$work/dom-$n.html"; then
        echo "$0: the playback did not report ready at #$frag" >&2
        status=1
    fi
    if [ ! -s "$out/playback-$n.png" ]; then
        echo "$0: no screenshot at #$frag" >&2
        status=1
    fi
done
[ $status -eq 0 ] && echo "$out/playback-1.png ($f1), $out/playback-2.png ($f2): page ready, no console errors"
exit $status
