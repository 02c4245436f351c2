#!/bin/bash
# The demo: a sample node in a temporary folder, then a real runc container whose storage the
# nbmount hook mounts, seen from inside; then the operator's view with `nbmount plan`. Cleans up
# everything it started, also when interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/sample-node.sh
. tests/lib/bundle.sh

nbmount=${NBMOUNT:-$PWD/build/nbmount}
work=$(mktemp -d /tmp/nbmount-demo.XXXXXX)
cleanup() {
        bundle_cleanup >/dev/null 2>&1 || true
        rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

node=$work/node
make_sample_node "$node"
bundle_init "$work/runtime" "$nbmount"
# This machine's kernel has no project quotas (see the quota issue): plan none rather than refuse.
sed -i 's/^quota: .*/quota: {enforce: off}/' "$node/node.yaml"
# The S3 entry needs nbmountd, which does not exist yet: the demo's notebook mounts datasets only.
sed -i '/^my-bucket-data:/,$d' "$node/notebooks/acme/nb1/.gradient/settings.yaml"
echo "hello from notebook nb1" >"$node/notebooks/acme/nb1/hello.txt"
echo "shared by team acme" >"$node/storage/east-1/acme/team.txt"
echo "quarterly report, version 1" >"$node/datasets/dsr8k5qzn401lb5/v1/report.txt"
echo "quarterly report, version 2" >"$node/datasets/dsr8k5qzn401lb5/v2/report.txt"

echo "== A node in $work: team acme (plan pro), member alice, notebook nb1"
echo "-- $node/notebooks/acme/nb1/.gradient/settings.yaml (written by the user):"
sed 's/^/   /' "$node/notebooks/acme/nb1/.gradient/settings.yaml"
echo

inside='echo "-- mounts:"; grep -E " /(notebooks|storage|datasets)" /proc/self/mountinfo | cut -d" " -f4,5,6
echo "-- files:"; cat /notebooks/hello.txt /storage/team.txt /datasets/quarterly-reports/report.txt
ls /datasets
echo "-- a write to /storage:"; echo "written in the container" > /storage/from-container.txt && echo ok
echo "-- a write to a dataset:"; { echo x > /datasets/mnist/x; } 2>&1 || true
echo "-- df -h /storage:"; df -h /storage'
make_bundle "$work/bundle" --identity acme nb1 alice --config "$node/node.yaml" --cmd "$inside"
echo "== runc run: a busybox container with the hook in config.json, as user alice"
run_runc "$work/bundle" nbmount-demo
echo "$run_out" | sed 's/^/   /'
[ "$run_rc" -eq 0 ] || { echo "the container failed (exit $run_rc): $run_err" >&2; exit 1; }
echo "   (df shows the whole disk: this kernel has no project quotas, so no plan size applies)"
echo "-- on the host, $node/storage/east-1/acme/from-container.txt:"
sed 's/^/   /' "$node/storage/east-1/acme/from-container.txt"
echo

make_bundle "$work/refused" --identity acme nb1 carol --config "$node/node.yaml" --cmd true
echo "== the same for carol, who is not a member of team acme: runc refuses to start it"
run_runc "$work/refused" nbmount-demo-carol || true
echo "   runc exit $run_rc; its error ends with:"
echo "$run_err" | grep -o 'stderr: nbmount:.*' | sed 's/^stderr: /   /; s/\\n"$//'
echo

echo "== The operator's view: nbmount plan --team acme --notebook nb1 --user alice"
"$nbmount" plan --config "$node/node.yaml" --team acme --notebook nb1 --user alice
