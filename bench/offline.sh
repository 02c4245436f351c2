#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The poststop hook's time with the offline copy configured against the same hook without it, side by
# side in one hyperfine run (issue 18: a stop is never slowed by the copy):
#   copy     node.yaml has bucket_storage: poststop releases the container's S3 references and asks
#            nbmountd for the notebook's offline copy (answered at once; the copy runs after)
#   no copy  the same node.yaml without bucket_storage: poststop only releases
# One real nbmountd (with bucket_storage, s3rver as the platform bucket) serves both; the notebook
# holds 200 .md files and a 20 MB .ipynb, so every asked copy has work to do while the next runs
# are timed. Each run is `nbmount hook poststop` with the OCI state of a stopped container on stdin.
# Usage: bench/offline.sh [RUNS] (default 30). Root; needs jq, node, hyperfine (./setup.sh).
# NBMOUNT=... NBMOUNTD=... measure other builds (no make).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench/offline.sh [RUNS]" >&2; exit 2; }
command -v hyperfine >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
. bench/lib/prelude.sh
bench_prelude bench/offline.sh jq node hyperfine python3

work=$(mktemp -d /tmp/nbmount-bench-offline.XXXXXX)
run_dir=/run/nbmount-bench-offline-$$
MOUNTD_LOG=$work/mountd.log
node=$work/node
cleanup() {
        set +e
        mountd_stop KILL
        s3_server_stop
        mountd_leftovers_remove "$run_dir"
        rm -rf "$run_dir" "$work"
}
trap cleanup EXIT
trap 'echo "# interrupted" >&2; exit 1' INT TERM HUP PIPE

s3_server_start "$work/s3" nbm-offline >/dev/null
make_sample_node "$node"
sed -i "s|^mountd_socket: .*|mountd_socket: $run_dir/mountd.sock|; s|^quota: .*|quota: {enforce: off}|" "$node/node.yaml"
cp "$node/node.yaml" "$work/off.yaml"
cat >>"$node/node.yaml" <<EOT
bucket_storage: {bucket: nbm-offline, endpoint: "$S3_ENDPOINT", access_key_id: S3RVER, secret: offline-key}
EOT
mkdir -p "$node/secrets/.node"
printf 'bench-secret-%s\n' "$RANDOM$RANDOM" >"$node/secrets/.node/offline-key"
chmod 600 "$node/secrets/.node/offline-key"
nb=$node/notebooks/acme/nb1
for i in $(seq 1 200); do echo "# page $i" >"$nb/p$i.md"; done
head -c 20000000 /dev/urandom >"$nb/big.ipynb"
chown -R 1000:1000 "$nb"
mkdir -p "$work/bundle"
jq -n '{ociVersion: "1.0.2", process: {user: {uid: 1000, gid: 1000}, args: ["true"]}, root: {path: "rootfs"},
        annotations: {"io.nbmount.team": "acme", "io.nbmount.notebook": "nb1", "io.nbmount.user": "alice"}}' \
        >"$work/bundle/config.json"
jq -n --arg b "$work/bundle" '{ociVersion: "1.0.2", id: "nbbench-offline", status: "stopped", bundle: $b}' >"$work/state.json"
mountd_start "$node/node.yaml" || exit 1

cat >"$work/one.sh" <<EOT
#!/bin/bash
exec "$NBMOUNT" hook poststop --config "\$1" <"$work/state.json"
EOT
chmod +x "$work/one.sh"
echo "# $runs runs each; nbmountd with bucket_storage, s3rver at $S3_ENDPOINT" >&2
hyperfine -N --warmup 3 --runs "$runs" --export-markdown "$work/table.md" \
        -n "poststop, offline copy configured" "$work/one.sh $node/node.yaml" \
        -n "poststop, no offline copy" "$work/one.sh $work/off.yaml" >&2
cat "$work/table.md"
echo
echo "copies asked: $((runs + 3)); made by the end of the runs: $(grep -c 'offline copy of acme/nb1: ' "$MOUNTD_LOG")"
sleep 5
echo "copy state 5 s later: $(jq -r '"\(.state), \(.objects) objects, \(.bytes) bytes"' "$node/state/offline/notebooks/acme/nb1.json")"
