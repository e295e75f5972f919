#!/usr/bin/env bash
# Simulator cost against the number of nodes: the event queue on one thread, one VRID,
# 1 s adverts, N nodes of distinct priorities on a lossless LAN without faults (one Master
# from about 3.6 s on), for N = 2, 10, 50, 200. Reports the wall time of `sim run` (its own
# figure: the runs, not parsing or writing) per delivered packet. Every advert reaches every
# other node here (no loss, no fault, every node up), so delivered = adverts_sent x (N - 1),
# with adverts_sent summed from runs.csv (the few still in flight at the end are counted too).
# Smaller LANs run more seeds (seeds x 199 / (N - 1)) so that every row delivers about as many
# packets and takes seconds, not milliseconds.
#
# Usage: scripts/bench-sim-nodes.sh [seeds] [duration] [other sim binary...]
#   defaults: 10 seeds (of the 200-node LAN), 1h. Each other binary (e.g. a build of an older commit) runs the
#   same files right after this tree's build, node count by node count, so before and after
#   share one run of the machine. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-10}
duration=${2:-1h}
shift $(($# < 2 ? $# : 2))
cargo build --release -q -p vrrp-sim
builds=(target/release/sim "$@")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# experiment N: N nodes, priorities spread over 254..2, one VRID, advert_int 1.
experiment() {
    local n=$1
    printf 'name = "nodes-%s"\nduration = "%s"\nseeds = %s\n\n' "$n" "$duration" \
        $(((seeds * 199 + n - 2) / (n - 1)))
    printf '[network]\nlatency = { min = "50us", max = "500us" }\n'
    for i in $(seq 1 "$n"); do
        cat <<EOF

[[nodes]]
name = "n$i"
address = "10.0.$((i / 250)).$((i % 250 + 1))"
config = '''
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority $((254 - (i - 1) * 252 / n))
    advert_int 1
    virtual_ipaddress {
        10.255.0.100/24
    }
}
'''
EOF
    done
}

echo "| build | nodes | runs | delivered packets | wall (s) | wall per packet (ns) | CPU (s) | CPU per packet (ns) | CPU per packet / 2 nodes |"
echo "|---|---|---|---|---|---|---|---|---|"
declare -A base
for n in 2 10 50 200; do
    experiment "$n" >"$out/n$n.toml"
    for b in "${builds[@]}"; do
        rm -rf "$out/run"
        line=$(/usr/bin/time -f "%U %S" -o "$out/cpu" \
            "$b" run "$out/n$n.toml" --threads 1 --no-plots --out "$out/run" | tail -n 1)
        cpu=$(awk '{ printf "%.3f", $1 + $2 }' "$out/cpu")
        # "<runs> runs, <sim> s simulated in <wall> s wall (<ratio>x real time); ..."
        read -r runs _ _ _ _ _ wall _ <<<"$line"
        sent=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "adverts_sent") c = i; next }
                        { s += $c } END { print s }' "$out/run/runs.csv")
        delivered=$((sent * (n - 1)))
        per=$(awk -v w="$wall" -v d="$delivered" 'BEGIN { printf "%.0f", w / d * 1e9 }')
        per_cpu=$(awk -v w="$cpu" -v d="$delivered" 'BEGIN { printf "%.0f", w / d * 1e9 }')
        [ "$n" = 2 ] && base[$b]=$per_cpu
        ratio=$(awk -v p="$per_cpu" -v b="${base[$b]}" 'BEGIN { printf "%.2f", p / b }')
        echo "| \`$b\` | $n | $runs | $delivered | $wall | $per | $cpu | $per_cpu | $ratio |"
    done
done
echo
echo "Command: \`scripts/bench-sim-nodes.sh $seeds $duration $*\`"
