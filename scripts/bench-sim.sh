#!/usr/bin/env bash
# Simulator benchmarks: wall time of `sim run experiments/nopreempt-flap.toml` (target: under
# 10 s) and the simulated-time / wall-time ratio of the seed lab (target: at least 100,000x).
# Prints a Markdown table for BENCHMARKS.md. Usage: scripts/bench-sim.sh [repeats]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
cargo build --release -q -p vrrp-sim
sim=target/release/sim
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "| run | wall (s) | simulated (s) | simulated / wall |"
echo "|---|---|---|---|"
for i in $(seq 1 "$repeats"); do
    line=$("$sim" run experiments/nopreempt-flap.toml --out "$out/flap" | tail -n 1)
    # "<runs> runs, <sim> s simulated in <wall> s wall (<ratio>x real time); ..."
    read -r _ _ simulated _ _ _ wall _ _ ratio _ <<<"$line"
    echo "| nopreempt-flap.toml (5 variants x 200 seeds x 1 h) #$i | $wall | $simulated | ${ratio#(} |"
done
for i in $(seq 1 "$repeats"); do
    line=$("$sim" run experiments/seed-lab.toml --seeds 5000 --no-plots --out "$out/lab" | tail -n 1)
    read -r _ _ simulated _ _ _ wall _ _ ratio _ <<<"$line"
    echo "| seed-lab.toml x 5000 seeds (60 s each) #$i | $wall | $simulated | ${ratio#(} |"
done
