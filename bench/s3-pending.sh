#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Container start time with a dead S3 endpoint against the same container without an S3 entry, side
# by side in one hyperfine run (issue 13: a bucket that does not answer holds the start for
# s3.start_wait at most, then it is pending):
#   dead    settings.yaml has one S3 entry whose endpoint is a loopback port nothing listens on
#   three   three S3 entries (three buckets) on that dead port: the hook sends the three requests
#           before it reads an answer, so their start_waits run at once
#   none    settings.yaml has no entry
# Both get /notebooks and /storage; both run `true` under runc with the hook (createRuntime and
# poststop), a real nbmountd and s3fs. Each run is `runc run` to the end, then `runc delete`.
# Usage: [START_WAIT=S] bench/s3-pending.sh [RUNS] (RUNS default 10; START_WAIT default 2, the
# node.yaml default). Root; needs runc, busybox-static, jq, s3fs, hyperfine (./setup.sh).
# NBMOUNT=... NBMOUNTD=... measure other builds (no make).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
start_wait=${START_WAIT:-2}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench/s3-pending.sh [RUNS]" >&2; exit 2; }
command -v hyperfine >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
. bench/lib/prelude.sh
bench_prelude bench/s3-pending.sh runc busybox jq s3fs hyperfine python3

work=$(mktemp -d /tmp/nbmount-bench-s3p.XXXXXX)
run_dir=/run/nbmount-bench-s3p-$$
MOUNTD_LOG=$work/mountd.log
node=$work/node
cleanup() {
        set +e
        bundle_cleanup
        mountd_stop KILL
        mountd_leftovers_remove "$run_dir"
        rm -rf "$run_dir" "$work"
}
trap cleanup EXIT
trap 'echo "# interrupted" >&2; exit 1' INT TERM HUP PIPE

bundle_init "$work/bb" "$NBMOUNT" >"$work/init.log" 2>&1 || { cat "$work/init.log" >&2; exit 1; }
make_sample_node "$node"
config=$node/node.yaml
dead_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -i "s|^mountd_socket: .*|mountd_socket: $run_dir/mountd.sock|; s|^quota: .*|quota: {enforce: off}|;
        s|^s3: .*|s3: {allow_http: true, allow_private_endpoints: true, start_wait: $start_wait}|" "$config"
printf 'bench-secret-%s\n' "$RANDOM$RANDOM" >"$node/secrets/acme/s3key"
chmod 600 "$node/secrets/acme/s3key"
mkdir -p "$node/notebooks/acme/nbdead/.gradient" "$node/notebooks/acme/nbthree/.gradient" "$node/notebooks/acme/nbnone/.gradient"
for b in one two three; do
        echo "$b: {type: s3, url: s3://bench-$b/nb, accessKeyId: S3RVER, secretAccessKey: secret:s3key, endpoint: http://127.0.0.1:$dead_port}"
done >"$node/notebooks/acme/nbthree/.gradient/settings.yaml"
cat >"$node/notebooks/acme/nbdead/.gradient/settings.yaml" <<EOT
data:
  type: s3
  url: s3://bench-data/nb
  accessKeyId: S3RVER
  secretAccessKey: secret:s3key
  endpoint: http://127.0.0.1:$dead_port
EOT
make_bundle "$work/b-dead" --identity acme nbdead alice --user 1000:1000 --config "$config" --cmd true
make_bundle "$work/b-three" --identity acme nbthree alice --user 1000:1000 --config "$config" --cmd true
make_bundle "$work/b-none" --identity acme nbnone alice --user 1000:1000 --config "$config" --cmd true
mountd_start "$config" || exit 1

# one.sh KIND: one `runc run` of KIND's bundle to the end (a fresh container id), then its delete.
cat >"$work/one.sh" <<EOT
#!/bin/bash
id=nbbench-s3p-\$1-\$\$-\$RANDOM
runc --root "$BB_WORK/state/runc" run --bundle "$work/b-\$1" "\$id" </dev/null >/dev/null 2>"$work/\$1.err" || { cat "$work/\$1.err" >&2; exit 1; }
runc --root "$BB_WORK/state/runc" delete -f "\$id" >/dev/null 2>&1
EOT
chmod +x "$work/one.sh"
echo "# start_wait: $start_wait s, dead endpoint http://127.0.0.1:$dead_port, $runs runs each" >&2
hyperfine -N --warmup 1 --runs "$runs" --export-markdown "$work/table.md" \
        -n "dead S3 endpoint" "$work/one.sh dead" -n "three dead S3 endpoints" "$work/one.sh three" \
        -n "no S3 entry" "$work/one.sh none" >&2
cat "$work/table.md"
echo
echo "status entry of the dead one: $(grep '^/datasets/data ' "$node/notebooks/acme/nbdead/.gradient/mounts.status" | sed 's/  */ /g')"
echo "s3fs left after the runs: $(pgrep -f "^/usr/bin/s3fs .* $run_dir/mounts/" | wc -l) (within 2 s: $(sleep 2; pgrep -f "^/usr/bin/s3fs .* $run_dir/mounts/" | wc -l))"
