#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Upgrades never interrupt a running container's reads (issue 14): nbmountd gets SIGTERM and a new
# one starts (as `dpkg -i` of a newer package does through systemd) while a container reads a file of
# its bucket in a loop. Three restarts: the same binary; a copy at a new path with the old one
# removed (a new package); and the state at the old location only (STATE/mountd.json, as an
# nbmountd from before the state moved to the run folder left it). After each: no read error, the
# mount adopted with its container, a second container shares the same s3fs; at the end the
# reader's poststop, served by the last nbmountd, releases and unmounts it.
# Real runc containers, nbmountd, s3fs and s3rver on loopback.
# Usage: tests/s3-upgrade-check.sh [NBMOUNT [NBMOUNTD]]. Prints "ok - s3-upgrade ..." /
# "not ok - s3-upgrade ...: why" lines; always exits 0. Needs root, runc, busybox, jq, s3fs, node.
set -u
cd "$(dirname "$0")/.."
NBMOUNT=$(realpath "${1:-build/nbmount}")
NBMOUNTD=$(realpath "${2:-$(dirname "$NBMOUNT")/nbmountd}")
. tests/lib/sample-node.sh
. tests/lib/bundle.sh
. tests/lib/s3.sh

. tests/lib/testlib.sh
testlib_init s3-upgrade

need_tools runc busybox jq s3fs node curl pgrep
[ -e "$S3RVER_JS" ] || { not_ok "prerequisites" "$S3RVER_JS is missing (run ./setup.sh)"; exit 0; }
need_root "the S3 tests need root"

work=$(mktemp -d /tmp/nbmount-s3u.XXXXXX)
run_dir=/run/nbmount-s3utest-$$
MOUNTD_LOG=$work/mountd.log
servers=()
trap 's3_suite_cleanup s3-upgrade' EXIT
trap 'echo "# interrupted"; exit 1' INT TERM
bundle_init "$work" "$NBMOUNT" >"$work/init.log" 2>&1 || { not_ok "harness: bundle_init" "$(cat "$work/init.log")"; exit 0; }
s3_server_start "$work/s3" acme-data || { not_ok "harness: s3rver" "did not start"; exit 0; }
servers+=("$S3_PID")
content="upgrade-$RANDOM$RANDOM"
echo "$content" | curl -s -o /dev/null -X PUT --data-binary @- "$S3_ENDPOINT/acme-data/nb/hello.txt"

node=$work/node
make_sample_node "$node"
config=$node/node.yaml
sed -i "s|^mountd_socket: .*|mountd_socket: $run_dir/mountd.sock|; s|^quota: .*|quota: {enforce: off}|;
        s|^s3: .*|s3: {allow_http: true, allow_private_endpoints: true, mount_timeout: 10}|" "$config"
echo "settings: {on_error: refuse}" >>"$config"
printf 'S3RVER-secret\n' >"$node/secrets/acme/s3key"
chmod 600 "$node/secrets/acme/s3key"
cat >"$node/notebooks/acme/nb1/.gradient/settings.yaml" <<EOT
bucket:
  type: s3
  url: s3://acme-data/nb
  accessKeyId: S3RVER
  secretAccessKey: secret:s3key
  endpoint: $S3_ENDPOINT
EOT

BB_CONFIG=$config # start_bg, wait_rc, out_of, in_container: tests/lib/bundle.sh
s3fs_pids() { pgrep -f "^/usr/bin/s3fs .* $run_dir/mounts/"; }
s3_mounts() { grep -c " $run_dir/mounts/" /proc/self/mountinfo; }
# holders: "bucket: container,container" of each mount `nbmount mounts` lists, with its health.
holders() {
        "$NBMOUNT" mounts --json --config "$config" 2>&1 |
                jq -r '.[] | "\(.spec.bucket) \(.s3fs_alive) \(.mounted): \([.containers[].id] | sort | join(","))"' 2>&1
}
errors() { grep -c '^error' "$work/out/reader.out"; }
reads() { sed -n 's/^reads \([0-9]*\)$/\1/p' "$work/out/reader.out" | tail -1; }
# nbmountd runs from its own folder, as from a package's: the folder can go, as dpkg replaces files.
install_mountd() {
        mkdir -p "$1"
        cp "$NBMOUNTD" "$1/nbmountd"
        [ -x "$(dirname "$NBMOUNTD")/nbmount-fusermount" ] && cp "$(dirname "$NBMOUNTD")/nbmount-fusermount" "$1/"
        NBMOUNTD=$1/nbmountd
}

install_mountd "$work/pkg-1"
mountd_start "$config" --sweep-interval 1 || { not_ok "harness: nbmountd" "$(tail -5 "$MOUNTD_LOG")"; exit 0; }

# The reader compares every read with the object's content and prints each mismatch, and its count
# every 20 reads, until the test creates /notebooks/go.
start_bg reader acme 'echo ready; n=0; while [ ! -e /notebooks/go ]; do
        c=$(cat /datasets/bucket/hello.txt 2>&1); [ "$c" = "'"$content"'" ] || echo "error at read $n: $c"
        n=$((n + 1)); [ $((n % 20)) = 0 ] && echo "reads $n"; done; echo "reads $n"'
wait_until 20 in_container reader
wait_until 10 test -n "$(reads)"
expect_eq "before: the reader reads its bucket without error" "0" "$(errors)"
s3fs_pid=$(s3fs_pids)
expect_match "before: one s3fs" '^[0-9]+$' "$s3fs_pid"

# restart WHAT: SIGTERM, 1 s with no nbmountd at all (the reader must go on reading), then the
# nbmountd of $NBMOUNTD starts; BEFORE_START runs in between when set.
reads_moved() { [ "$(reads)" != "$down_reads" ]; }
restart() {
        local what=$1 log_lines
        mountd_stop TERM
        expect_eq "$what: the mount stays after SIGTERM" 1 "$(s3_mounts)"
        down_reads=$(reads)
        sleep 1
        wait_until 5 reads_moved
        expect_ne "$what: the reader reads on while no nbmountd runs" "$down_reads" "$(reads)"
        [ -n "${BEFORE_START:-}" ] && $BEFORE_START
        log_lines=$(wc -l <"$MOUNTD_LOG")
        mountd_start "$config" --sweep-interval 1 || not_ok "$what: nbmountd starts" "$(tail -5 "$MOUNTD_LOG")"
        expect_eq "$what: the new nbmountd adopts the mount" 1 \
                "$(tail -n +$((log_lines + 1)) "$MOUNTD_LOG" | grep -c "adopted the live mount of acme-data (s3fs pid $s3fs_pid, 1 containers)")"
        expect_eq "$what: nbmount mounts lists it with its container" "acme-data true true: reader" "$(holders)"
}

# share WHAT: a second container started now reads through the same s3fs, and ends.
share() {
        local name=$2
        start_bg "$name" acme 'echo ready; cat /datasets/bucket/hello.txt'
        expect_eq "$1: a container started after the restart reads the bucket" "0 ready|$content" \
                "$(wait_rc "$name") $(out_of "$name" | tr '\n' '|' | sed 's/|$//')"
        expect_eq "$1: it shared the one s3fs" "$s3fs_pid" "$(s3fs_pids | paste -sd,)"
        expect_eq "$1: its poststop gave back its reference only" "acme-data true true: reader" "$(holders)"
        expect_eq "$1: no read error so far" "0" "$(errors)"
}

restart "same binary"
share "same binary" s1

install_mountd "$work/pkg-2"
rm -rf "$work/pkg-1"
restart "new package"
share "new package" s2

old_state_only() { mv "$run_dir/mountd.json" "$node/state/mountd.json"; }
BEFORE_START=old_state_only restart "state at the old location"
expect_eq "state at the old location: moved to the run folder" "reader: gone" \
        "$(jq -r '[.mounts[].containers[].id] | join(",")' "$run_dir/mountd.json"): $(test -e "$node/state/mountd.json" && echo there || echo gone)"
expect_eq "state at the old location: the move is logged" 1 "$(grep -c "moved the state from $node/state/mountd.json" "$MOUNTD_LOG")"
share "state at the old location" s3

touch "$node/notebooks/acme/nb1/go"
expect_eq "the reader ends well" 0 "$(wait_rc reader)"
expect_eq "no read error in the whole run ($(reads) reads)" "0" "$(errors)"
wait_until 10 test -z "$(s3fs_pids)"
expect_eq "the reader's poststop, served by the last nbmountd, unmounts: no s3fs, no mount, an empty state" \
        "0 0 0" "$(s3fs_pids | wc -l) $(s3_mounts) $(jq '.mounts | length' "$run_dir/mountd.json")"

# an ASan/UBSan build (make check's second pass) reports into nbmountd's log, at each exit too
mountd_stop TERM
expect_eq "nbmountd's log has no sanitizer report" "" "$(grep -E 'Sanitizer|runtime error:' "$MOUNTD_LOG" | head -3)"
