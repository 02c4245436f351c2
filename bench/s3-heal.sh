#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# How long running containers are without their bucket when s3fs dies, and when the team's key
# rotates (issue 14; goal: reads work again within 5 s of a kill). CONTAINERS runc containers of one
# team hold one shared S3 mount (real nbmountd, s3fs, s3rver on loopback); each round kills the
# s3fs (kill -9) and times, from the kill, until every container reads the bucket's file again
# (read from the host through /proc/PID/root every 10 ms, so that no `runc exec` is timed). Then
# ROTATIONS times a rename of the secret file until every container reads again through the new s3fs.
# Usage: bench/s3-heal.sh [KILLS [CONTAINERS [ROTATIONS]]] (default 20, 4, 5). Root; runc, busybox,
# jq, s3fs, node (./setup.sh). NBMOUNT=... NBMOUNTD=... measure other builds (no make).
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-20} containers=${2:-4} rotations=${3:-5}
for n in "$kills" "$containers" "$rotations"; do
        [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench/s3-heal.sh [KILLS [CONTAINERS [ROTATIONS]]]" >&2; exit 2; }
done
. bench/lib/prelude.sh
bench_prelude bench/s3-heal.sh runc busybox jq s3fs node python3 curl

work=$(mktemp -d /tmp/nbmount-bench-s3h.XXXXXX)
run_dir=/run/nbmount-bench-s3h-$$
MOUNTD_LOG=$work/mountd.log
node=$work/node
cleanup() {
        set +e
        touch "$node/storage/east-1/acme/stop" 2>/dev/null
        sleep 0.5
        bundle_cleanup
        mountd_stop KILL
        mountd_leftovers_remove "$run_dir"
        s3_server_stop
        rm -rf "$run_dir" "$work"
}
trap cleanup EXIT
trap 'echo "# interrupted" >&2; exit 1' INT TERM HUP PIPE

bundle_init "$work/bb" "$NBMOUNT" >"$work/init.log" 2>&1 || { cat "$work/init.log" >&2; exit 1; }
make_sample_node "$node"
config=$node/node.yaml
s3_server_start "$work/s3" acme-data >/dev/null
echo hello | curl -s -o /dev/null -X PUT --data-binary @- "$S3_ENDPOINT/acme-data/nb/hello.txt"
sed -i "s|^mountd_socket: .*|mountd_socket: $run_dir/mountd.sock|; s|^quota: .*|quota: {enforce: off}|;
        s|^s3: .*|s3: {allow_http: true, allow_private_endpoints: true}|" "$config"
printf 'bench-secret-%s\n' "$RANDOM$RANDOM" >"$node/secrets/acme/s3key"
chmod 600 "$node/secrets/acme/s3key"
mkdir -p "$node/storage/east-1/acme"
mountd_start "$config" || exit 1
pids=()
for ((i = 1; i <= containers; i++)); do
        mkdir -p "$node/notebooks/acme/nb$i/.gradient"
        echo "bucket: {type: s3, url: s3://acme-data/nb, accessKeyId: S3RVER, secretAccessKey: secret:s3key, endpoint: $S3_ENDPOINT}" \
                >"$node/notebooks/acme/nb$i/.gradient/settings.yaml"
        make_bundle "$BB_WORK/b$i" --identity acme "nb$i" alice --config "$config" --user 1000:1000 \
                --cmd 'echo ready; while [ ! -e /storage/stop ]; do sleep 0.2; done'
        (run_runc "$BB_WORK/b$i" "heal$i") &
done
for ((i = 1; i <= containers; i++)); do
        for ((t = 0; t < 200; t++)); do in_container "heal$i" && break; sleep 0.1; done
        pids+=("$(runc --root "$BB_WORK/state/runc" state "heal$i" | jq -r .pid)")
done
s3fs_pid() { pgrep -f "^/usr/bin/s3fs .* $run_dir/mounts/" | head -1; }
ms() { date +%s%3N; }
all_read() {
        local p
        for p in "${pids[@]}"; do [ "$(cat "/proc/$p/root/datasets/bucket/hello.txt" 2>/dev/null)" = hello ] || return 1; done
}
# until_read T0: milliseconds from T0 until every container reads again (polled every 10 ms; 30 s at most).
until_read() {
        local t0=$1
        while ! all_read; do
                (($(ms) - t0 > 30000)) && { echo 30000; return; }
                sleep 0.01
        done
        echo $(($(ms) - t0))
}
stats() { sort -n | awk '{ v[NR] = $1 } END { printf "median %d ms, p90 %d ms, max %d ms (n=%d)\n", v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.999)], v[NR], NR }'; }
all_read || { echo "the containers do not read the bucket: $(tail -3 "$MOUNTD_LOG")" >&2; exit 1; }

echo "# $containers containers of one team on one shared mount; $kills kills, $rotations rotations" >&2
for ((k = 1; k <= kills; k++)); do
        victim=$(s3fs_pid)
        t0=$(ms)
        kill -9 "$victim"
        while kill -0 "$victim" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$victim/stat" 2>/dev/null)" != Z ]; do sleep 0.001; done
        until_read "$t0"
        for ((t = 0; t < 100; t++)); do [ -n "$(s3fs_pid)" ] && [ "$(s3fs_pid)" != "$victim" ] && break; sleep 0.05; done
        sleep 0.2
done >"$work/kills"
for ((r = 1; r <= rotations; r++)); do
        before=$(s3fs_pid)
        printf 'bench-secret-%s\n' "$RANDOM$RANDOM" >"$node/secrets/acme/s3key.new"
        chmod 600 "$node/secrets/acme/s3key.new"
        t0=$(ms)
        mv "$node/secrets/acme/s3key.new" "$node/secrets/acme/s3key"
        for ((t = 0; t < 3000; t++)); do [ -n "$(s3fs_pid)" ] && [ "$(s3fs_pid)" != "$before" ] && all_read && break; sleep 0.01; done
        echo $(($(ms) - t0))
        sleep 0.3
done >"$work/rotations"
echo "kill -9 of s3fs to every container reading again: $(stats <"$work/kills")"
echo "secret renamed to every container reading through the new s3fs: $(stats <"$work/rotations")"
echo "restarts counted by nbmount mounts: $("$NBMOUNT" mounts --config "$config" --json | jq '.[0].restarts'), key generation: $("$NBMOUNT" mounts --config "$config" --json | jq '.[0].key_generation')"
echo "s3fs processes now: $(pgrep -fc "^/usr/bin/s3fs .* $run_dir/mounts/")"
