#!/bin/sh
# Runs one fuzz target at low priority on the stable toolchain and prints libFuzzer's
# final statistics. Usage (from the repository root):
#   fuzz/run.sh scenario 1800      # target name, seconds
# Targets: scenario, units, overrides. New corpus entries go to fuzz/corpus/TARGET
# (git-ignored); the committed seeds are read from fuzz/seeds/TARGET; crashes are
# written to fuzz/artifacts/TARGET (git-ignored).
set -eu
target=$1
secs=$2
case $target in
    units) dict=fuzz/dict/units.dict ;;
    *) dict=fuzz/dict/scenario.dict ;;
esac
mkdir -p "fuzz/corpus/$target"
# RUSTC_BOOTSTRAP=1 lets the stable compiler take cargo-fuzz's -Zsanitizer=address
# flag (there is no nightly toolchain here); nice keeps the shared machine usable.
RUSTC_BOOTSTRAP=1 exec nice -n 19 cargo fuzz run "$target" \
    "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
    -dict="$dict" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1
