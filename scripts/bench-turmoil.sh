#!/usr/bin/env bash
# turmoil backend speed next to the event queue's: simulated time / wall time of the seed lab
# (2 nodes, 60 s each) on one thread, and turmoil's cost per host per 1 ms tick (the constant
# `turmoil_backend::HOST_TICK_COST` behind the notice `sim run` prints before a long run).
# Prints a Markdown table with the commands. Usage: scripts/bench-turmoil.sh [seeds]
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-20}
cargo build --release -q -p vrrp-sim
sim=target/release/sim
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "| backend | command | runs | simulated (s) | wall (s) | simulated / wall | per host-tick (us) |"
echo "|---|---|---|---|---|---|---|"
for backend in event turmoil; do
    cmd="$sim run experiments/seed-lab.toml --backend $backend --seeds $seeds --threads 1 --no-plots --out $out/$backend"
    line=$($cmd 2>/dev/null | tail -n 1)
    # "<runs> runs, <sim> s simulated in <wall> s wall (<ratio>x real time); ..."
    read -r runs _ simulated _ _ _ wall _ _ ratio _ <<<"$line"
    # 2 hosts, one tick per simulated ms.
    per=$(awk -v w="$wall" -v s="$simulated" 'BEGIN { printf "%.2f", w / (2 * s * 1000) * 1e6 }')
    [ "$backend" = event ] && per="- (no ticks)"
    echo "| $backend | \`${cmd/$out/\$OUT}\` | $runs | $simulated | $wall | ${ratio#(} | $per |"
done
