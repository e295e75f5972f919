#!/bin/bash
# Submit a sweep as a Slurm job array of N shards and a merge that runs after all of them:
#
#   deploy/slurm/submit.sh EXPERIMENT OUT N [sim run options...]
#   deploy/slurm/submit.sh experiments/nopreempt-flap.toml "$HOME/sweeps/flap" 16 --seeds 10000
#
# OUT must be on a filesystem every compute node sees. Relative paths are taken from the
# directory you submit from (sbatch runs the jobs there). Prints the two job ids.
# Extra sbatch options (partition, account): SBATCH_PARTITION, SBATCH_ACCOUNT, ... in the
# environment, as sbatch reads them.
set -euo pipefail

if (($# < 3)); then
    echo "usage: $0 EXPERIMENT OUT N [sim run options...]" >&2
    exit 2
fi
experiment=$1
out=$2
shards=$3
shift 3
if ! [[ $shards =~ ^[1-9][0-9]*$ ]]; then
    echo "N must be a whole number of shards, at least 1: $shards" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"

# --parsable prints "jobid" or "jobid;cluster".
sweep=$(sbatch --parsable --array="0-$((shards - 1))" \
    "$here/sweep.sbatch" "$experiment" "$out" "$@")
sweep=${sweep%%;*}
merge=$(sbatch --parsable --dependency="afterok:$sweep" --kill-on-invalid-dep=yes \
    "$here/merge.sbatch" "$out")
merge=${merge%%;*}
echo "sweep: job array $sweep (shards 0-$((shards - 1))); merge: job $merge after it"
echo "follow with: squeue -j $sweep,$merge; merged files will be in $out"
