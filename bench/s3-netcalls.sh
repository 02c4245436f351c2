#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What s3fs's supervisor costs per network call: bench/netcalls.c times connect (UDP: the system
# call alone; TCP: with a handshake), sendto and sendmsg (UDP) to the mount's endpoint (s3rver on
# loopback, which the node allows as a private endpoint), once run directly and once as nbmountd's
# s3fs (its sandbox, its filter, every call judged and made by its supervisor). Prints microseconds
# per call, medians of 5 passes of N (N/10 for TCP).
# Usage: bench/s3-netcalls.sh [N] (default 2000). Root; needs runc, busybox-static, jq, s3fs, node,
# cc and tests/s3 (./setup.sh). NBMOUNT=... NBMOUNTD=... measure other builds (no make).
set -uo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
. bench/lib/prelude.sh
bench_prelude bench/s3-netcalls.sh
work=$(mktemp -d /tmp/nbmount-netcalls.XXXXXX)
run_dir=/run/nbmount-netcalls-$$
MOUNTD_LOG=$work/mountd.log
program=$(dirname "$NBMOUNT")/bench/netcalls
cleanup() {
        mountd_stop KILL
        bundle_cleanup
        s3_server_stop
        grep -q " $run_dir/keys " /proc/self/mountinfo && umount -l "$run_dir/keys"
        rm -rf "$run_dir" "$work"
}
trap cleanup EXIT
fail() { echo "bench/s3-netcalls.sh: $*" >&2; exit 1; }
mkdir -p "$(dirname "$program")"
bundle_init "$work" "$NBMOUNT" >"$work/init.log" 2>&1 || fail "bundle_init failed: $(cat "$work/init.log")"
s3_server_start "$work/s3" acme-data >/dev/null || fail "s3rver did not start"
cc -O2 -DNETCALLS="\"127.0.0.1 $S3_PORT $n\"" -o "$program" bench/netcalls.c || fail "cannot build bench/netcalls.c"
node=$work/node
make_sample_node "$node"
sed -i "s|^mountd_socket: .*|mountd_socket: $run_dir/mountd.sock|; s|^quota: .*|quota: {enforce: off}|;
        s|^s3: .*|s3: {allow_http: true, allow_private_endpoints: true, mount_timeout: 60}|" "$node/node.yaml"
# the program's result comes back as the reason the start is refused: the strict mode says it on stderr
echo "settings: {on_error: refuse}" >>"$node/node.yaml"
printf 'S3RVER\n' >"$node/secrets/acme/key" && chmod 600 "$node/secrets/acme/key"
cat >"$node/notebooks/acme/nb1/.gradient/settings.yaml" <<EOT
bucket:
  type: s3
  url: s3://acme-data
  accessKeyId: S3RVER
  secretAccessKey: secret:key
  endpoint: $S3_ENDPOINT
EOT
alone=$("$program" 2>&1 || true) # it exits 1 always, as an s3fs that gives up would
alone=$(grep -o 'udpconnect=[0-9.]* sendto=[0-9.]* sendmsg=[0-9.]* tcpconnect=[0-9.]*' <<<"$alone") || fail "netcalls alone gave no result"
echo "alone:        $alone"
mountd_start "$node/node.yaml" --s3fs "$program" || fail "nbmountd did not start: $(tail -3 "$MOUNTD_LOG")"
make_bundle "$work/b" --identity acme nb1 alice --config "$node/node.yaml" --user 1000:1000
BB_TIMEOUT=300 run_runc "$work/b"
result=$(grep -o 'netcalls: udpconnect=[0-9.]* sendto=[0-9.]* sendmsg=[0-9.]* tcpconnect=[0-9.]*' <<<"$run_err" | head -1)
[ -n "$result" ] || fail "no result from the supervised run (runc exit $run_rc): $run_err"
echo "supervised:   ${result#netcalls: }"
