#!/usr/bin/env bash
# vrrpd-real -C vs keepalived -C with 100 virtual servers x 10 real servers (TCP_CHECK,
# delay_loop 1) in one QEMU VM with IPVS, side by side: CPU, RSS, probes/s. Merges its section
# into BENCHMARKS.md (other sections kept).
#
# Usage: scripts/bench-lvs.sh [--window SECS]   (default 30 s per daemon; about 3 minutes)
# Needs what scripts/test.sh installs for the VM tests (qemu-system-x86, busybox-static, kmod,
# ipvsadm, lz4, keepalived) and root (the kernel cache in /var/cache/vrrp-ipvs-vm).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "bench-lvs.sh: needs root" >&2
    exit 1
fi
cargo build --release -q -p vrrp-real --bin vrrpd-real --example bench_lvs --example lvs_sink
BENCH_ARGS="$*" target/release/examples/bench_lvs --vrrpd target/release/vrrpd-real \
    --sink target/release/examples/lvs_sink --out BENCHMARKS.md "$@"
