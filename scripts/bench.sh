#!/usr/bin/env bash
# Runs the end-to-end benchmark scenarios (scenarios/bench/*.toml) one after
# the other, each under /usr/bin/time -v, and prints a Markdown table: wall time,
# CPU time (user + sys: on a shared machine the fairer figure), simulated chunk
# transfers per second, events per second (both per wall second) and peak RSS,
# then each swarm's scaling exponent over its fast-model rows (least-squares slope
# of log CPU time against log(peers x chunks); needs at least two of its rows).
#
# Usage: scripts/bench.sh [PATTERN ...]
#   PATTERN selects scenarios by file-name substring (default: all of them), e.g.
#   scripts/bench.sh 1k 10k        # skip the 100,000-peer rows
# Environment: SWARMSIM=path/to/binary (default: target/release/swarmsim, built with
#   `cargo build --release` first), OUT=folder for outputs (default: results/bench).
#
# "chunk transfers" counts useful chunk deliveries: (bytes downloaded - bytes wasted)
# summed over peers (peers.csv), divided by the chunk size. "events" is the events
# column of summary.csv (protocol events, samples not counted).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SWARMSIM:-target/release/swarmsim}
OUT=${OUT:-results/bench}
if [ -z "${SWARMSIM:-}" ]; then cargo build --release --quiet; fi
[ -x /usr/bin/time ] || { echo "bench.sh: needs GNU time at /usr/bin/time" >&2; exit 2; }

files=()
fits=()
for f in scenarios/bench/*.toml; do
  if [ $# -eq 0 ]; then files+=("$f"); continue; fi
  for p in "$@"; do
    case "$(basename "$f")" in *"$p"*) files+=("$f"); break;; esac
  done
done

# csv_col FILE COLUMN: the values of a named column (header on line 1).
csv_col() {
  awk -F, -v col="$2" 'NR==1{for(i=1;i<=NF;i++) if($i==col) c=i; next} {print $c}' "$1"
}

printf '| scenario | peers | model | status | sim. time (s) | wall (s) | CPU (s) | chunk transfers/s | events/s | peak RSS (MiB) |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
for f in "${files[@]}"; do
  name=$(basename "$f" .toml)
  dir="$OUT/$name"
  log="$dir.time"
  mkdir -p "$OUT"
  /usr/bin/time -v "$BIN" run "$f" --out "$dir" > "$dir.log" 2> "$log"
  wall=$(csv_col "$dir/summary.csv" wall_s)
  events=$(csv_col "$dir/summary.csv" events)
  peers=$(csv_col "$dir/summary.csv" peers)
  model=$(csv_col "$dir/summary.csv" network_model)
  status=$(csv_col "$dir/summary.csv" status)
  simt=$(csv_col "$dir/summary.csv" end_time_s)
  chunk=$(csv_col "$dir/summary.csv" chunk_bytes)
  useful=$(awk -F, 'NR==1{for(i=1;i<=NF;i++){if($i=="bytes_downloaded")d=i; if($i=="bytes_wasted")w=i}; next} {s+=$d-$w} END{printf "%.0f", s}' "$dir/peers.csv")
  rss=$(awk -F: '/Maximum resident set size/{gsub(/ /,"",$2); print $2}' "$log")
  cpu=$(awk -F: '/User time|System time/{s+=$2} END{print s}' "$log")
  awk -v n="$name" -v p="$peers" -v m="$model" -v st="$status" -v t="$simt" -v w="$wall" -v cpu="$cpu" \
      -v e="$events" -v u="$useful" -v c="$chunk" -v r="$rss" 'BEGIN{
    printf "| %s | %d | %s | %s | %.0f | %.2f | %.2f | %.0f | %.0f | %.1f |\n",
      n, p, m, st, t, w, cpu, (u/c)/w, e/w, r/1024 }'
  chunks=$(csv_col "$dir/summary.csv" chunks)
  # Fast-model rows, for the scaling exponents below: swarm (file-name prefix),
  # peers x chunks, CPU seconds.
  if [ "$model" = fast ]; then fits+=("${name%%-*} $((peers * chunks)) $cpu"); fi
done

# Scaling exponent per swarm: the least-squares slope of log(CPU time) against
# log(peers x chunks) over the swarm's fast-model rows (with the 1k, 10k and 100k
# rows, equally spaced in log, it is log10(CPU_100k / CPU_1k) / 2).
if [ ${#fits[@]} -gt 0 ]; then
  slopes=$(printf '%s\n' "${fits[@]}" | awk '
    { k = $1; n[k]++; x = log($2); y = log($3)
      sx[k] += x; sy[k] += y; sxx[k] += x * x; sxy[k] += x * y }
    END {
      for (k in n) {
        d = n[k] * sxx[k] - sx[k] * sx[k]
        if (n[k] < 2 || d <= 0) continue
        printf "  %s: %.2f over %d rows\n", k, (n[k] * sxy[k] - sx[k] * sy[k]) / d, n[k]
      }
    }' | sort)
  if [ -n "$slopes" ]; then
    printf '\nscaling exponent (CPU time against peers x chunks, fast model):\n%s\n' "$slopes"
  fi
fi
