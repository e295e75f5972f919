#!/usr/bin/env bash
# `sim swarm` speed: one-minute schedules of the seed lab per minute of wall time (target: at
# least 10,000), on all cores and on one thread, and the shipped experiments once each.
# Prints a Markdown table with the commands for BENCHMARKS.md.
# Usage: scripts/bench-swarm.sh [repeats] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
runs=${2:-100000}
cargo build --release -q -p vrrp-sim
sim=target/release/sim
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

row() {
    local label=$1
    shift
    local cmd="$sim swarm $* --out $out/swarm"
    # stderr's last line: "<cases> case(s), <sim> s simulated in <wall> s wall (<n> cases/s, ...)"
    local line
    line=$($cmd 2>&1 >/dev/null | tail -n 1)
    local cases wall
    read -r cases _ _ _ _ _ wall _ <<<"$line"
    local per_min
    per_min=$(awk -v c="$cases" -v w="$wall" 'BEGIN { printf "%.0f", c / w * 60 }')
    echo "| $label | \`${cmd/$out/\$OUT}\` | $cases | $wall | $per_min |"
}

echo "| run | command | schedules | wall (s) | schedules / minute |"
echo "|---|---|---|---|---|"
for i in $(seq 1 "$repeats"); do
    row "seed lab, all cores #$i" experiments/seed-lab.toml --runs "$runs" --seed "$i"
done
for i in $(seq 1 "$repeats"); do
    row "seed lab, one thread #$i" experiments/seed-lab.toml --runs "$((runs / 10))" --seed "$i" --threads 1
done
for f in experiments/*.toml; do
    row "$(basename "$f" .toml)" "$f" --runs 10000
done
