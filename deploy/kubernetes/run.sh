#!/usr/bin/env bash
# Run the sweep of sweep-job.yaml on the cluster of the current kubectl context, merge the
# shards, and copy the merged files to ./results/<experiment>/ here.
#
#   deploy/kubernetes/run.sh            # after editing the image (and experiment) in the YAML
#
# RESULTS: the run's folder on the volume (the `--out` of sweep-job.yaml), default
# /results/nopreempt-flap. SWEEP_TIMEOUT: how long to wait for the shards, in seconds
# (default 86400). Exit status: the merge's (1 when a shard is missing or a run broke an
# invariant; the merged files are copied all the same).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
results=${RESULTS:-/results/nopreempt-flap}
sweep_timeout=${SWEEP_TIMEOUT:-86400}

# Wait until Job $1 has the condition Complete (return 0) or Failed (return 1), at most $2 s.
wait_job() {
    local job=$1 deadline=$((SECONDS + $2)) state
    while ((SECONDS < deadline)); do
        state=$(kubectl get "job/$job" \
            -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')
        case " $state " in
        *" Complete "*) return 0 ;;
        *" Failed "*) return 1 ;;
        esac
        sleep 10
    done
    echo "job/$job has not finished after $2 s" >&2
    return 1
}

kubectl apply -f "$here/results-pvc.yaml"
# A Job's pod template cannot be changed: start from fresh Jobs.
kubectl delete job vrrp-sweep vrrp-merge --ignore-not-found
kubectl apply -f "$here/sweep-job.yaml"
echo "waiting for the shards (kubectl get pods -l job-name=vrrp-sweep to follow them)"
if ! wait_job vrrp-sweep "$sweep_timeout"; then
    kubectl describe job/vrrp-sweep | tail -n 20 >&2
    echo "the sweep failed: see kubectl logs of its failed pods; nothing merged" >&2
    exit 1
fi

kubectl apply -f "$here/merge-job.yaml"
status=0
wait_job vrrp-merge 3600 || status=1
kubectl logs job/vrrp-merge || true

kubectl apply -f "$here/results-pod.yaml"
kubectl wait --for=condition=Ready --timeout=300s pod/vrrp-results
mkdir -p results
local_dir="results/$(basename "$results")"
rm -rf "$local_dir"
# The merged files only: the shard folders stay on the volume.
mkdir -p "$local_dir"
for f in $(kubectl exec vrrp-results -- sh -c "cd '$results' && ls -p | grep -v /"); do
    kubectl cp "vrrp-results:$results/$f" "$local_dir/$f"
done
kubectl delete pod vrrp-results --wait=false
echo "merged files in $local_dir"
exit "$status"
