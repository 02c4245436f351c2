#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `make demo` (scripts/demo.sh) runs to the end and shows what it promises.
# Prints "ok - demo ..." / "not ok - demo ...: why" lines.
set -u
cd "$(dirname "$0")/.."
out=$(bash scripts/demo.sh 2>&1)
rc=$?
check() {
        if grep -qF -- "$2" <<<"$out"; then echo "ok - demo $1"; else echo "not ok - demo $1: no «$2» in its output"; fi
}
if [ "$rc" -eq 0 ]; then echo "ok - demo exits 0"; else echo "not ok - demo exits 0: exit $rc"; fi
check "container sees its notebook file" "   hello from notebook nb1"
check "container sees the team storage" "   shared by team acme"
check "container sees the pinned dataset version" "   quarterly report, version 1"
check "dataset mount is read-only" "/datasets/mnist ro,nosuid,nodev"
check "a write to a dataset fails" "can't create /datasets/mnist/x: Read-only file system"
check "a write to /storage lands on the host" "   written in the container"
check "a non-member is refused with the reason" \
        "/notebooks refused: user carol is not a member of team acme; ask the team's admin to add carol"
check "the operator's plan table" "/datasets/images             dataset"
check "container reads the team's S3 bucket" "   dataset shard 0 from the bucket"
check "the bucket is a read-only fuse.s3fs mount" "   /datasets/my-bucket-data ro,nosuid,nodev,relatime fuse.s3fs"
check "df -h /storage is shown with a note" "(df shows the whole disk: this kernel has no project quotas"
check "a typo in settings.yaml: the notebook starts, its status file names the fault" \
        "/datasets/typo           skipped  .gradient/settings.yaml:20:3: unknown key \"versoin\" in mount \"typo\" (allowed: type, id, version)"
check "a deleted dataset: skipped with the reason" \
        "/datasets/gone           skipped  dataset dsdeleted is neither a dataset of team acme nor a public dataset; check its id in settings.yaml"
check "nbmount mounts shows one s3fs shared by two containers (healthy, no restart, key generation 1)" "ok          0        1   nbmount-demo-holder1,nbmount-demo-holder2"
check "the operator's quota view" "== nbmount quota: every team's use, plan and overage"
# leftovers: folders, mounts and processes of the demo
leftovers() {
        ls -d /tmp/nbmount-demo.* /run/nbmount-demo-* 2>/dev/null
        grep -E " (/tmp/nbmount-demo\.|/run/nbmount-demo-)" /proc/self/mountinfo | cut -d" " -f5
        pgrep -af "nbmountd --config /tmp/nbmount-demo|s3rver.js -d /tmp/nbmount-demo|s3fs .*/run/nbmount-demo-"
}
left=$(leftovers)
if [ -z "$left" ]; then echo "ok - demo cleans up everything"; else echo "not ok - demo cleans up everything: $left"; fi
# Interrupted while its first container runs with the bucket mounted: still nothing left. (SIGTERM:
# a background job of a non-interactive shell ignores SIGINT; the demo traps both alike.)
bash scripts/demo.sh >/dev/null 2>&1 &
demo_pid=$!
for i in $(seq 1 300); do grep -q " /run/nbmount-demo-[^ ]*/mounts/" /proc/self/mountinfo && break; sleep 0.1; done
kill -TERM $demo_pid
wait $demo_pid
demo_rc=$?
sleep 1
if [ "$demo_rc" -ne 0 ]; then echo "ok - demo interrupted: it stops (exit $demo_rc)"; else echo "not ok - demo interrupted: it stops: it ran to the end"; fi
left=$(leftovers)
if [ -z "$left" ]; then echo "ok - demo interrupted with its bucket mounted cleans up everything"; else echo "not ok - demo interrupted with its bucket mounted cleans up everything: $(echo $left)"; fi
exit 0
