#!/usr/bin/env bash
# vrrpd-real vs keepalived on namespace LANs, side by side in one run (root only): takeover
# overhead after SIGKILL (v2 1 s, v3 50 ms, v3 10 ms) and CPU/RSS with 100 x 100 ms and
# 255 x 10 ms VRRPv3 instances. Merges its section into BENCHMARKS.md (other sections kept).
#
# Usage: scripts/bench-daemons.sh [--smoke] [--trials N] [--cpu-secs S] [--only gap|cpu]
#                                 [--adverts v2-1s,v3-50ms,v3-10ms] [--keep]
#   --smoke: 2 trials and a 3 s CPU window (a minute or two), for checking the harness.
#   --only gap|cpu: one part, written to a section of its own (bench-daemons-gap/-cpu).
#   --adverts: the takeover cases (default all three); the tail-latency run is
#     scripts/bench-daemons.sh --only gap --adverts v3-10ms --trials 30
# Needs: keepalived (2.2.7 is the reference), dumpcap and tshark, iproute2.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "bench-daemons.sh: needs root (network namespaces)" >&2
    exit 1
fi
for p in keepalived dumpcap tshark ip; do
    command -v "$p" >/dev/null || { echo "bench-daemons.sh: $p is missing" >&2; exit 1; }
done
cargo build --release -q -p vrrp-real --bin vrrpd-real --example bench_daemons
out=BENCHMARKS.md
case " $* " in *" --smoke "*) out=$(mktemp); trap 'rm -f "$out"' EXIT ;; esac
BENCH_COMMAND="scripts/bench-daemons.sh $*" target/release/examples/bench_daemons \
    --vrrpd target/release/vrrpd-real --out "$out" "$@"
