#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# S3 at start never holds the notebook hostage (issue 13): a bucket not ready within s3.start_wait is
# pending, the container starts, and nbmountd attaches the bucket into the RUNNING container once it
# answers, or marks it skipped after s3.mount_timeout; a container that stops first leaves nothing.
# Real runc containers, nbmountd, s3fs and s3rver on loopback ports that are dead at the start.
# Usage: tests/s3-pending-check.sh [NBMOUNT [NBMOUNTD]]. Prints "ok - s3-pending ..." /
# "not ok - s3-pending ...: why" lines; always exits 0. Needs root, runc, busybox, jq, s3fs, node.
set -u
cd "$(dirname "$0")/.."
NBMOUNT=$(realpath "${1:-build/nbmount}")
NBMOUNTD=$(realpath "${2:-$(dirname "$NBMOUNT")/nbmountd}")
. tests/lib/sample-node.sh
. tests/lib/bundle.sh
. tests/lib/s3.sh

. tests/lib/testlib.sh
testlib_init s3-pending

need_tools runc busybox jq s3fs node curl pgrep python3 nsenter
[ -e "$S3RVER_JS" ] || { not_ok "prerequisites" "$S3RVER_JS is missing (run ./setup.sh)"; exit 0; }
need_root "the S3 tests need root"

work=$(mktemp -d /tmp/nbmount-s3p.XXXXXX)
run_dir=/run/nbmount-s3ptest-$$
MOUNTD_LOG=$work/mountd.log
START_WAIT=1
MOUNT_TIMEOUT=15
BB_TIMEOUT=150 # the containers run the whole suite (tests/lib/bundle.sh)
servers=()
trap 's3_suite_cleanup s3-pending' EXIT
trap 'echo "# interrupted"; exit 1' INT TERM
bundle_init "$work" "$NBMOUNT" >"$work/init.log" 2>&1 || { not_ok "harness: bundle_init" "$(cat "$work/init.log")"; exit 0; }

# serve PORT BUCKET [KEY CONTENT]: s3rver on PORT with BUCKET (and the object KEY), in the background.
serve() {
        local dir=$work/s3-$1
        S3_PORT=$1 s3_server_start "$dir" "$2" || return 1
        servers+=("$S3_PID")
        [ -z "${3:-}" ] || echo "$4" | curl -s -o /dev/null -X PUT --data-binary @- "http://127.0.0.1:$1/$2/$3"
}

node=$work/node
make_sample_node "$node"
config=$node/node.yaml
sed -i "s|^mountd_socket: .*|mountd_socket: $run_dir/mountd.sock|; s|^quota: .*|quota: {enforce: off}|;
        s|^s3: .*|s3: {allow_http: true, allow_private_endpoints: true, mount_timeout: $MOUNT_TIMEOUT, start_wait: $START_WAIT}|" "$config"
refuse_config=$work/node-refuse.yaml
{ cat "$config"; echo "settings: {on_error: refuse}"; } >"$refuse_config"
printf 'S3RVER-secret\n' >"$node/secrets/acme/s3key"
chmod 600 "$node/secrets/acme/s3key"

port_later=$(free_port)  # s3rver comes up here once the containers run
port_never=$(free_port)  # nothing ever listens here
port_gone=$(free_port)   # comes up once its container has stopped

# settings NOTEBOOK PORT [BUCKET [KEY_ID]]: acme's notebook NOTEBOOK mounts one bucket at /datasets/bucket.
settings() {
        mkdir -p "$node/notebooks/acme/$1/.gradient"
        cat >"$node/notebooks/acme/$1/.gradient/settings.yaml" <<EOT
bucket:
  type: s3
  url: s3://${3:-acme-data}/nb
  accessKeyId: ${4:-S3RVER}
  secretAccessKey: secret:s3key
  endpoint: http://127.0.0.1:$2
EOT
}
status_entry() { grep "^/datasets/bucket " "$node/notebooks/acme/$1/.gradient/mounts.status" 2>/dev/null | sed 's/  */ /g'; }
# start_nb NAME NOTEBOOK CMD [CONFIG]: a container of acme's NOTEBOOK (user alice, uid 1000) in the background.
start_nb() {
        make_bundle "$BB_WORK/b-$1" --identity acme "$2" alice --config "${4:-$config}" --user 1000:1000 --cmd "$3" || return 1
        (run_runc "$BB_WORK/b-$1" "$1"; echo "$run_rc" >"$BB_WORK/out/$1.rc") &
}
pid_of() { runc --root "$work/state/runc" state "$1" 2>/dev/null | jq -r .pid; }
s3fs_for() { pgrep -f "^/usr/bin/s3fs .* $run_dir/mounts/.* url=http://127.0.0.1:$1( |\$)" | wc -l; }
refs() { jq -r '.mounts[] | .spec.endpoint as $e | .containers[] | "\(.id) \($e)"' "$run_dir/mountd.json" | sort; }
s3_mounts_in() { grep -c fuse.s3fs "/proc/$1/mountinfo"; }
# started_in NAME: milliseconds from now until container NAME printed "ready" (polled every 20 ms).
ms() { date +%s%3N; }
time_to_ready() {
        local t0 i
        t0=$(ms)
        for ((i = 0; i < 1500; i++)); do in_container "$1" && break; sleep 0.02; done
        echo $(($(ms) - t0))
}

mountd_start "$config" --sweep-interval 1 || { not_ok "harness: nbmountd" "$(tail -5 "$MOUNTD_LOG")"; exit 0; }

# Containers wait at $barrier until the test creates their NOTEBOOK/go, 120 s at most.
barrier='i=0; while [ ! -e /notebooks/go ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done'
look='echo "notebooks: $(test -d /notebooks && echo yes) storage: $(test -d /storage && echo yes) bucket: [$(ls -A /datasets/bucket 2>&1 | head -1)]"'
wait_file='i=0; while [ ! -e /datasets/bucket/hello.txt ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; echo "sees: $(cat /datasets/bucket/hello.txt 2>&1)"; grep " /datasets/bucket " /proc/self/mountinfo | cut -d" " -f5,6'

# --- the baseline: the same container without an S3 entry ---------------------------------------------
mkdir -p "$node/notebooks/acme/nb0/.gradient"
BB_WORK=$work
start_nb c0 nb0 'echo ready'
base_ms=$(time_to_ready c0)
wait_rc c0 >/dev/null

# --- a dead endpoint that comes up later: pending, then attached into the running container ----------
settings nb1 "$port_later"
start_nb c1 nb1 "echo ready; $look; $wait_file; $barrier"
c1_ms=$(time_to_ready c1)
expect_eq "dead endpoint: the container starts" yes "$(in_container c1 && echo yes)"
expect_match "dead endpoint: the start is delayed by no more than start_wait + 0.5 s (${c1_ms} ms vs ${base_ms} ms without S3)" \
        '^yes$' "$( ((c1_ms - base_ms <= START_WAIT * 1000 + 500)) && echo yes || echo "no: $((c1_ms - base_ms)) ms more")"
wait_until 5 grep -q '^notebooks' "$work/out/c1.out"
expect_eq "dead endpoint: /notebooks and /storage are there, /datasets/bucket is empty or absent" \
        "notebooks: yes storage: yes bucket: []" "$(grep '^notebooks' "$work/out/c1.out" | sed 's/\[ls: .*No such file or directory\]/[]/')"
expect_match "dead endpoint: the status file says pending" \
        "^/datasets/bucket pending s3://acme-data/nb did not answer within 1 s; nbmountd mounts it once it answers" "$(status_entry nb1)"

expect_eq "dead endpoint: meanwhile one s3fs keeps trying" 1 "$(s3fs_for "$port_later")"

# Three dead buckets in one notebook: their start_waits run at once, not one after the other (c10).
mkdir -p "$node/notebooks/acme/nb10/.gradient"
for b in dead-one dead-two dead-three; do
        echo "$b: {type: s3, url: s3://$b/nb, accessKeyId: S3RVER, secretAccessKey: secret:s3key, endpoint: http://127.0.0.1:$port_never}"
done >"$node/notebooks/acme/nb10/.gradient/settings.yaml"
start_nb c10 nb10 'echo ready'
c10_ms=$(time_to_ready c10)
expect_match "three dead endpoints: the start is delayed by no more than start_wait + 0.5 s in all (${c10_ms} ms vs ${base_ms} ms)" \
        '^yes$' "$( ((c10_ms - base_ms <= START_WAIT * 1000 + 500)) && echo yes || echo "no: $((c10_ms - base_ms)) ms more")"
expect_eq "three dead endpoints: all three pending" "pending pending pending" \
        "$(grep '^/datasets/dead-' "$node/notebooks/acme/nb10/.gradient/mounts.status" | awk '{ print $2 }' | paste -sd' ')"
expect_eq "three dead endpoints: the container ran and ended" 0 "$(wait_rc c10)"

# The same bucket for three more containers, all pending: the image's /datasets is a symlink (c6); the
# container's root is replaced in its namespace before the attach (c7); it stops before (c3, below).
settings nb6 "$port_later"
make_bundle "$work/b-c6" --identity acme nb6 alice --config "$config" --user 1000:1000 --cmd "echo ready; $barrier"
mkdir -p "$work/b-c6/rootfs/tmp/elsewhere" && ln -s /tmp/elsewhere "$work/b-c6/rootfs/datasets"
(run_runc "$work/b-c6" c6; echo "$run_rc" >"$work/out/c6.rc") &
settings nb7 "$port_later"
start_nb c7 nb7 "echo ready; $barrier"
wait_until 10 in_container c6
wait_until 10 in_container c7
c7_pid=$(pid_of c7)
nsenter -t "$c7_pid" -m mount -t tmpfs -o size=1m nbmount-replaced-root / 2>"$work/nsenter.err"
expect_eq "races: the symlink image and the replaced root start too, pending" "pending pending" \
        "$(status_entry nb6 | cut -d' ' -f2) $(status_entry nb7 | cut -d' ' -f2)"

# Two entries of one bucket in one container share one mount and one reference: the image has a file at
# /datasets/b, so that entry's late attach fails; /datasets/a must keep the mount (c9).
mkdir -p "$node/notebooks/acme/nb9/.gradient"
cat >"$node/notebooks/acme/nb9/.gradient/settings.yaml" <<EOT
a: {type: s3, url: s3://acme-data/nb, accessKeyId: S3RVER, secretAccessKey: secret:s3key, endpoint: http://127.0.0.1:$port_later}
b: {type: s3, url: s3://acme-data/nb, accessKeyId: S3RVER, secretAccessKey: secret:s3key, endpoint: http://127.0.0.1:$port_later}
EOT
make_bundle "$work/b-c9" --identity acme nb9 alice --config "$config" --user 1000:1000 \
        --cmd "echo ready; j=0; while [ ! -e /datasets/a/hello.txt ] && [ \$j -lt 300 ]; do sleep 0.1; j=\$((j+1)); done; sleep 4; echo \"still: \$(cat /datasets/a/hello.txt 2>&1)\"; $barrier"
mkdir -p "$work/b-c9/rootfs/datasets" && echo file >"$work/b-c9/rootfs/datasets/b"
(run_runc "$work/b-c9" c9; echo "$run_rc" >"$work/out/c9.rc") &
wait_until 10 in_container c9

# --- never comes up: skipped with the cause after mount_timeout (meanwhile: the rest) ------------------
settings nb2 "$port_never"
start_nb c2 nb2 "echo ready; $barrier"
wait_until 10 in_container c2
t_never=$(ms)

# --- the endpoint comes up (checked below, once the rest is under way) ----------------------------------
serve "$port_later" acme-data nb/hello.txt hello-late || not_ok "harness: s3rver" "did not start"

# --- a container that stops while its bucket is pending: nothing stays --------------------------------
settings nb3 "$port_gone" gone-data
start_nb c3 nb3 'echo ready; sleep 1'
expect_eq "stopped first: the container ran and ended" 0 "$(wait_rc c3)"
wait_until 4 sh -c "[ \$(pgrep -f '^/usr/bin/s3fs .* $run_dir/mounts/.* url=http://127.0.0.1:$port_gone( |\$)' | wc -l) = 0 ]"
# every s3fs mount under nbmountd's folder is that of a live s3fs (the other buckets' still mounting)
expect_eq "stopped first: within seconds no s3fs, no reference, no mount is left" "0|0|$(pgrep -f "^/usr/bin/s3fs .* $run_dir/mounts/" | wc -l)" \
        "$(s3fs_for "$port_gone")|$(refs | grep -c ":$port_gone")|$(grep -c " $run_dir/mounts/.*fuse.s3fs" /proc/self/mountinfo)"
expect_eq "stopped first: nbmount mounts lists no mount of its bucket" "" \
        "$("$NBMOUNT" mounts --config "$config" 2>&1 | grep gone-data)"
expect_eq "stopped first: its status entry stays pending" pending "$(status_entry nb3 | cut -d' ' -f2)"
serve "$port_gone" gone-data || not_ok "harness: s3rver" "did not start"

# --- the endpoint comes up: the bucket appears inside the running container ----------------------------
wait_until 25 grep -q '^sees:' "$work/out/c1.out"
expect_eq "comes up: the bucket's file appears inside the running container, mounted ro,nosuid,nodev (readOnly by default)" \
        "sees: hello-late|/datasets/bucket ro,nosuid,nodev,relatime" "$(grep -A1 '^sees:' "$work/out/c1.out" | tr '\n' '|' | sed 's/|$//')"
wait_until 5 sh -c "grep -q '^/datasets/bucket  *mounted' '$node/notebooks/acme/nb1/.gradient/mounts.status'"
expect_eq "comes up: the status entry says mounted" "/datasets/bucket mounted" "$(status_entry nb1)"
expect_eq "comes up: one s3fs, the references of c1 and c9 (and none of the refused c6, c7)" \
        "1 c1 http://127.0.0.1:$port_later|c9 http://127.0.0.1:$port_later" \
        "$(s3fs_for "$port_later") $(refs | grep ":$port_later" | paste -sd'|')"
expect_has "comes up: nbmountd logs the attach" "$(cat "$MOUNTD_LOG")" \
        "container c1 (team acme, notebook nb1): /datasets/bucket: s3://acme-data/nb attached into the running container"

# --- one entry of two on one mount fails its attach: the other keeps the mount (c9) -----------------------
wait_until 20 grep -q '^still:' "$work/out/c9.out"
expect_eq "one of two entries on one mount fails: the other still reads it after sweeps" "still: hello-late" \
        "$(grep '^still:' "$work/out/c9.out")"
# both lines are rewritten by nbmountd, each by its own request's thread: neither may undo the other
wait_until 10 sh -c "grep -q '^/datasets/a  *mounted' '$node/notebooks/acme/nb9/.gradient/mounts.status' && grep -q '^/datasets/b  *skipped' '$node/notebooks/acme/nb9/.gradient/mounts.status'"
expect_eq "one of two entries on one mount fails: a mounted, b skipped with the reason" \
        "/datasets/a mounted|/datasets/b skipped cannot attach s3://acme-data/nb into the running container: /datasets/b: cannot make the mountpoint: the image has something other than a folder there" \
        "$(grep '^/datasets/[ab] ' "$node/notebooks/acme/nb9/.gradient/mounts.status" | sed 's/  */ /g' | paste -sd'|')"
expect_eq "one of two entries on one mount fails: c9 keeps its reference" "c9 http://127.0.0.1:$port_later" \
        "$(refs | grep "^c9 ")"

# --- races at the late attach ---------------------------------------------------------------------------
wait_until 5 sh -c "grep -q '^/datasets/bucket  *skipped' '$node/notebooks/acme/nb6/.gradient/mounts.status'"
expect_match "races: /datasets a symlink in the image: skipped with the reason" \
        "^/datasets/bucket skipped cannot attach s3://acme-data/nb into the running container: /datasets/bucket: cannot make the mountpoint: the image has a symlink there or on the way" \
        "$(status_entry nb6)"
expect_eq "races: nothing was mounted through the symlink (host folder empty, no s3fs mount in c6)" "0 " \
        "$(s3_mounts_in "$(pid_of c6)") $(ls -A "$work/b-c6/rootfs/tmp/elsewhere")"
wait_until 5 sh -c "grep -q '^/datasets/bucket  *skipped' '$node/notebooks/acme/nb7/.gradient/mounts.status'"
expect_match "races: the container's root replaced in its namespace: skipped with the reason" \
        "^/datasets/bucket skipped cannot attach s3://acme-data/nb into the running container: neither / nor [^ ]*/b-c7/rootfs is the container's root in the mount namespace of process $c7_pid \(was its root replaced\?\); nothing was mounted" \
        "$(status_entry nb7)"
expect_eq "races: nothing was mounted in c7's namespace (the replacing tmpfs is there, no /datasets mount)" "0 1 0" \
        "$(s3_mounts_in "$c7_pid") $(grep -c ' / .* - tmpfs nbmount-replaced-root ' "/proc/$c7_pid/mountinfo") $(grep -c ' /datasets' "/proc/$c7_pid/mountinfo")"
# our_mounts_elsewhere: mounts of this nbmountd's s3fs (by their device: another test's nbmountd may
# run meanwhile) anywhere on the host but under its own folder.
our_mounts_elsewhere() {
        local devs
        devs=$(awk -v d="$run_dir/mounts/" 'index($5, d) == 1 { print $3 }' /proc/self/mountinfo | sort -u | paste -sd'|')
        [ -n "$devs" ] || { echo 0; return; }
        awk -v d="$run_dir/mounts/" -v devs="^($devs)\$" '$3 ~ devs && index($5, d) != 1' /proc/self/mountinfo | wc -l
}
expect_eq "races: no mount of our s3fs outside nbmountd's folder on the host" 0 "$(our_mounts_elsewhere)"

# --- stopped first, and the endpoint up now: still nothing ------------------------------------------
sleep 5
expect_eq "stopped first: with its endpoint up, still no s3fs, no reference, no mount" "0|0|0" \
        "$(s3fs_for "$port_gone")|$(refs | grep -c ":$port_gone")|$(grep -c " $run_dir/mounts/.*gone" /proc/self/mountinfo)"

# --- fast failures within start_wait: skipped with nbmountd's reason, the container starts ------------------
settings nb4 "$port_later" no-such-bucket
start_nb c4 nb4 'echo ready'
c4_ms=$(time_to_ready c4)
settings nb5 "$port_later" acme-data WRONGKEY
start_nb c5 nb5 'echo ready'
c5_ms=$(time_to_ready c5)
wait_until 15 sh -c "grep -q '^/datasets/bucket  *skipped' '$node/notebooks/acme/nb4/.gradient/mounts.status' && grep -q '^/datasets/bucket  *skipped' '$node/notebooks/acme/nb5/.gradient/mounts.status'"
expect_eq "fast failure: no such bucket: the container starts" 0 "$(wait_rc c4)"
expect_eq "fast failure: no such bucket: skipped with nbmountd's reason" \
        "/datasets/bucket skipped s3://no-such-bucket/nb: cannot mount: the bucket does not exist (or the key may not see it)" "$(status_entry nb4)"
expect_eq "fast failure: a wrong key: the container starts" 0 "$(wait_rc c5)"
expect_eq "fast failure: a wrong key: skipped with nbmountd's reason" \
        "/datasets/bucket skipped s3://acme-data/nb: cannot mount: the endpoint refused the access key or secret" "$(status_entry nb5)"
expect_match "fast failure: both starts within start_wait + 0.5 s (${c4_ms}, ${c5_ms} ms)" '^yes$' \
        "$( ((c4_ms - base_ms <= START_WAIT * 1000 + 500 && c5_ms - base_ms <= START_WAIT * 1000 + 500)) && echo yes || echo no)"

# --- settings.on_error refuse: the old behaviour, a dead endpoint refuses the start after mount_timeout ----
settings nb8 "$port_never" refuse-data
t_refuse=$(ms)
start_nb c8 nb8 'echo started' "$refuse_config"
rc8=$(wait_rc c8)
refuse_s=$((($(ms) - t_refuse) / 1000))
expect_eq "on_error refuse: the start is refused, the container never ran" "1 " "$rc8 $(out_of c8)"
expect_match "on_error refuse: after mount_timeout ($refuse_s s), with the cause" \
        "^nbmount: container c8 \(team acme, notebook nb8, user alice\): /datasets/bucket: s3://refuse-data/nb: the bucket did not answer within $MOUNT_TIMEOUT s(: cannot connect to the endpoint)?$" \
        "$(hook_line_of c8)"
expect_match "on_error refuse: it waited the whole mount_timeout" '^yes$' "$( ((refuse_s >= MOUNT_TIMEOUT)) && echo yes || echo "no: $refuse_s s")"
expect_eq "on_error refuse: no status file is written" no "$(test -e "$node/notebooks/acme/nb8/.gradient/mounts.status" && echo yes || echo no)"

# --- never comes up: by now mount_timeout has passed ----------------------------------------------------------
wait_until 10 sh -c "grep -q '^/datasets/bucket  *skipped' '$node/notebooks/acme/nb2/.gradient/mounts.status'"
never_s=$((($(ms) - t_never) / 1000))
expect_match "never comes up: skipped with the cause after mount_timeout ($never_s s)" \
        "^/datasets/bucket skipped s3://acme-data/nb: the bucket did not answer within $MOUNT_TIMEOUT s(: cannot connect to the endpoint)?$" \
        "$(status_entry nb2)"
expect_eq "never comes up: no s3fs, no reference left; the container still runs" "0 0 running" \
        "$(s3fs_for "$port_never") $(refs | grep -c ":$port_never") $(runc --root "$work/state/runc" state c2 | jq -r .status)"

# --- connections that block (a pending one waits for its commit, a silent one for its request) ---------------
# Eight connections that never send keep eight of nbmountd's workers waiting (up to 5 s each); a
# request that comes meanwhile is served at once by a worker started for it.
python3 -c 'import socket, sys, time
conns = [socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) for i in range(8)]
for c in conns: c.connect(sys.argv[1])
print("connected", flush=True); time.sleep(4)' "$run_dir/mountd.sock" >"$work/silent.out" &
silent_pid=$!
wait_until 5 grep -q connected "$work/silent.out"
sleep 0.3
t_list=$(ms)
list_rc=0
"$NBMOUNT" mounts --config "$config" >/dev/null 2>&1 || list_rc=$?
list_ms=$(($(ms) - t_list))
expect_match "blocked connections: 8 silent ones hold up no request (nbmount mounts: exit $list_rc in $list_ms ms)" \
        '^yes$' "$( ((list_rc == 0 && list_ms < 1000)) && echo yes || echo no)"
wait "$silent_pid"
threads() { awk '$1 == "Threads:" { print $2 }' "/proc/$MOUNTD_PID/status"; }
few_threads() { (($(threads) <= 8)); }
wait_until 8 few_threads
expect_match "blocked connections: once they end, the workers beyond 4 idle ones end too ($(threads) threads: main, sweep, healer, leader, idle)" \
        '^yes$' "$(few_threads && echo yes || echo no)"

# --- the end: every container stops, nothing stays ------------------------------------------------------------
for nb in nb1 nb2 nb6 nb7 nb9; do touch "$node/notebooks/acme/$nb/go"; done
expect_eq "the end: every container ends well" "0 0 0 0 0" "$(wait_rc c1) $(wait_rc c2) $(wait_rc c6) $(wait_rc c7) $(wait_rc c9)"
wait_until 5 sh -c "[ \$(pgrep -f '^/usr/bin/s3fs .* $run_dir/mounts/' | wc -l) = 0 ]"
expect_eq "the end: no s3fs, no reference, no mount left" "0||0" \
        "$(pgrep -f "^/usr/bin/s3fs .* $run_dir/mounts/" | wc -l)|$(refs)|$(grep -c " $run_dir/mounts/" /proc/self/mountinfo)"
expect_eq "the end: nbmountd is still up" yes "$(kill -0 "$MOUNTD_PID" 2>/dev/null && echo yes)"
