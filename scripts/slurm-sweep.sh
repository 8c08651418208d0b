#!/usr/bin/env bash
# Runs a swarmsim sweep on a Slurm cluster: a job array with one shard per task, then
# a merge job that starts when every shard has finished, and writes the same
# runs.csv, points.csv and d_vs_n.png one machine would.
#
# Usage: scripts/slurm-sweep.sh SCENARIO SHARDS [OUT] [-- extra sbatch options]
#   e.g. scripts/slurm-sweep.sh scenarios/dcs-vs-dp2p.toml 16 results/dcs-vs-dp2p -- --partition=short
# Needs: swarmsim built (cargo build --release) in a folder every node can read, and
# OUT on a shared file system. A failed or cancelled shard can be finished with the
# same command it ran plus --resume (see the log in OUT/logs/); then run the merge.
set -euo pipefail

if [[ $# -lt 2 ]]; then
    sed -n '2,12p' "$0" >&2
    exit 2
fi
scenario=$1
shards=$2
name=$(basename "$scenario" .toml)
out=${3:-results/$name}
shift $(( $# >= 3 ? 3 : 2 ))
[[ ${1:-} == "--" ]] && shift
extra=("$@")

bin=${SWARMSIM:-$(pwd)/target/release/swarmsim}
if [[ ! -x $bin ]]; then
    echo "error: $bin not found; run cargo build --release or set SWARMSIM" >&2
    exit 2
fi
if ! [[ $shards =~ ^[1-9][0-9]*$ ]]; then
    echo "error: SHARDS must be a whole number from 1, got $shards" >&2
    exit 2
fi
# Check the scenario (every grid point) before queueing anything.
"$bin" check "$scenario" >/dev/null
mkdir -p "$out/logs"

# One task per shard; each uses the cores Slurm gives it. A requeued task resumes
# its shard instead of starting it again.
shard_cmd="dir=\"$out/shard-\$SLURM_ARRAY_TASK_ID\"
resume=; [ -f \"\$dir/sweep.toml\" ] && resume=--resume
exec \"$bin\" sweep \"$scenario\" --shard \$SLURM_ARRAY_TASK_ID/$shards \\
    --jobs \$SLURM_CPUS_PER_TASK --out \"\$dir\" \$resume"
array_id=$(sbatch --parsable "${extra[@]}" \
    --job-name="sweep-$name" \
    --array="1-$shards" \
    --cpus-per-task="${CPUS_PER_TASK:-4}" \
    --output="$out/logs/shard-%a.log" \
    --wrap="$shard_cmd")

# The merge runs only if every task of the array succeeded.
dirs=()
for k in $(seq 1 "$shards"); do dirs+=("$out/shard-$k"); done
merge_id=$(sbatch --parsable "${extra[@]}" \
    --job-name="merge-$name" \
    --dependency="afterok:$array_id" \
    --output="$out/logs/merge.log" \
    --wrap="\"$bin\" merge ${dirs[*]} --out \"$out\"")

echo "submitted shards as job array $array_id (1-$shards) and the merge as job $merge_id"
echo "results will be in $out/runs.csv, points.csv and d_vs_n.png"
