#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The demo: a sample node in a temporary folder (team acme on the pro plan, member alice, notebook
# nb1, two dataset versions, a public dataset, a local S3 server with a bucket and a team secret),
# nbmountd, then a real runc container whose storage the nbmount hook mounts, seen from inside;
# then the operator's view with `nbmount plan`, `nbmount mounts` and `nbmount quota`. Cleans up
# everything it started, also when interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/sample-node.sh
. tests/lib/bundle.sh
. tests/lib/s3.sh

nbmount=${NBMOUNT:-$PWD/build/nbmount}
work=$(mktemp -d /tmp/nbmount-demo.XXXXXX)
run_dir=/run/nbmount-demo-$$
holders=()
cleanup() {
        # containers started in the background: let them end (their barrier file) before removing them
        [ -d "$work/node/notebooks/acme/nb1" ] && touch "$work/node/notebooks/acme/nb1/.demo-done"
        local holder
        for holder in "${holders[@]}"; do wait "$holder" 2>/dev/null || true; done
        bundle_cleanup >/dev/null 2>&1 || true
        mountd_stop TERM
        s3_server_stop
        local mp
        for mp in $(grep -o " $run_dir/[^ ]*" /proc/self/mountinfo | sort -r); do umount -l "$mp" 2>/dev/null; done
        pkill -KILL -f "s3fs .* $run_dir/mounts/" 2>/dev/null || true
        # a runtime interrupted mid-start may still be writing its state: try again until it is gone
        local try
        for try in 1 2 3 4 5 6 7 8 9 10; do
                rm -rf --one-file-system "$work" "$run_dir" 2>/dev/null
                [ -e "$work" ] || [ -e "$run_dir" ] || break
                sleep 0.3
        done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

node=$work/node
make_sample_node "$node"
bundle_init "$work/runtime" "$nbmount"
# This machine's kernel has no project quotas (see the quota issue): plan none rather than refuse.
sed -i 's/^quota: .*/quota: {enforce: off}/' "$node/node.yaml"
# A local S3 server (s3rver on loopback, so the node allows http and private endpoints) with the
# team's bucket, the team's secret, and nbmountd to mount it.
s3_server_start "$work/s3" acme-bucket >/dev/null
printf 'dataset shard 0 from the bucket\n' >"$work/shard.txt"
curl -s --max-time 10 -X PUT --data-binary @"$work/shard.txt" "$S3_ENDPOINT/acme-bucket/my-data/shard-0.txt" >/dev/null
sed -i "s|^mountd_socket: .*|mountd_socket: $run_dir/mountd.sock|;
        s|^s3: .*|s3: {allow_http: true, allow_private_endpoints: true, mount_timeout: 15}|" "$node/node.yaml"
printf 'S3RVER\n' >"$node/secrets/acme/my-bucket-secret-key"
sed -i "s|url: s3://my-bucket/my-data|url: s3://acme-bucket/my-data|; s|accessKeyId: AK123|accessKeyId: S3RVER|;
        /  region: us-west-1/d; s|endpoint: \"\"|endpoint: $S3_ENDPOINT|" "$node/notebooks/acme/nb1/.gradient/settings.yaml"
MOUNTD_LOG=$work/nbmountd.log mountd_start "$node/node.yaml"
echo "hello from notebook nb1" >"$node/notebooks/acme/nb1/hello.txt"
echo "shared by team acme" >"$node/storage/east-1/acme/team.txt"
echo "quarterly report, version 1" >"$node/datasets/dsr8k5qzn401lb5/v1/report.txt"
echo "quarterly report, version 2" >"$node/datasets/dsr8k5qzn401lb5/v2/report.txt"

echo "== A node in $work: team acme (plan pro), member alice, notebook nb1"
echo "-- $node/notebooks/acme/nb1/.gradient/settings.yaml (written by the user):"
sed 's/^/   /' "$node/notebooks/acme/nb1/.gradient/settings.yaml"
echo

inside='echo "-- mounts (target, options, file system):"
grep -E " /(notebooks|storage|datasets)" /proc/self/mountinfo | awk "{ for (i = 7; \$i != \"-\"; i++); print \$5, \$6, \$(i + 1) }"
echo "-- files:"; cat /notebooks/hello.txt /storage/team.txt /datasets/quarterly-reports/report.txt
cat /datasets/my-bucket-data/shard-0.txt
ls /datasets
echo "-- a write to /storage:"; echo "written in the container" > /storage/from-container.txt && echo ok
echo "-- a write to a dataset:"; { echo x > /datasets/mnist/x; } 2>&1 || true
echo "-- df -h /storage:"; df -h /storage'
make_bundle "$work/bundle" --identity acme nb1 alice --config "$node/node.yaml" --cmd "$inside"
echo "== runc run: a busybox container with the hook in config.json, as user alice"
run_runc "$work/bundle" nbmount-demo
echo "$run_out" | sed 's/^/   /'
[ "$run_rc" -eq 0 ] || { echo "the container failed (exit $run_rc): $run_err" >&2; exit 1; }
echo "   (df shows the whole disk: this kernel has no project quotas, so no plan size applies;"
echo "    where the filesystem enforces them, df shows the plan's 15 GB)"
echo "-- on the host, $node/storage/east-1/acme/from-container.txt:"
sed 's/^/   /' "$node/storage/east-1/acme/from-container.txt"
echo

make_bundle "$work/refused" --identity acme nb1 carol --config "$node/node.yaml" --cmd true
echo "== the same for carol, who is not a member of team acme: runc refuses to start it"
run_runc "$work/refused" nbmount-demo-carol || true
echo "   runc exit $run_rc; its error ends with:"
echo "$run_err" | grep -o 'stderr: nbmount:.*' | sed 's/^stderr: /   /; s/\\n"$//'
echo

settings=$node/notebooks/acme/nb1/.gradient/settings.yaml
cp "$settings" "$work/settings.good"
cat >>"$settings" <<'EOT'
typo:
  type: dataset
  id: dsr8k5qzn401lb5
  versoin: v1
gone:
  type: dataset
  id: dsdeleted
EOT
echo "== a typo in settings.yaml and a dataset a teammate deleted: alice's notebook still starts"
make_bundle "$work/typo" --identity acme nb1 alice --config "$node/node.yaml" \
        --cmd 'echo "-- /notebooks/.gradient/mounts.status, beside the file to fix:"; cat /notebooks/.gradient/mounts.status'
run_runc "$work/typo" nbmount-demo-typo
echo "$run_out" | sed 's/^/   /'
[ "$run_rc" -eq 0 ] || { echo "the container failed (exit $run_rc): $run_err" >&2; exit 1; }
echo "   (with settings.on_error: refuse in node.yaml, the operator gets the old all-or-nothing start)"
echo
cp "$work/settings.good" "$settings"

echo "== The operator's view: nbmount plan --team acme --notebook nb1 --user alice"
"$nbmount" plan --config "$node/node.yaml" --team acme --notebook nb1 --user alice
echo

echo "== nbmount mounts: the S3 mounts nbmountd shares, while two containers of acme run"
for holder in 1 2; do
        make_bundle "$work/holder$holder" --identity acme nb1 alice --config "$node/node.yaml" \
                --cmd 'i=0; while [ ! -e /notebooks/.demo-done ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done'
        (run_runc "$work/holder$holder" "nbmount-demo-holder$holder" >/dev/null 2>&1) &
        holders+=($!)
done
for i in $(seq 1 100); do
        [ "$("$nbmount" mounts --config "$node/node.yaml" --json | jq '[.[].containers[]] | length')" = 2 ] && break
        sleep 0.1
done
"$nbmount" mounts --config "$node/node.yaml" | sed 's/^/   /'
touch "$node/notebooks/acme/nb1/.demo-done"
wait "${holders[@]}"
echo "-- after both stopped:"
"$nbmount" mounts --config "$node/node.yaml" | sed 's/^/   /'
echo "-- nbmountd's log:"
sed 's/^/   /' "$work/nbmountd.log"
echo
echo "== nbmount quota: every team's use, plan and overage"
"$nbmount" quota --config "$node/node.yaml" 2>&1 | sed 's/^/   /' || true
echo "   (this machine's kernel has no project quotas; make check runs the quota tests in User-Mode Linux)"
