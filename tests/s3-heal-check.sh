#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# S3 mounts that heal under running notebooks (issue 14): an s3fs killed (kill -9) or frozen (SIGSTOP)
# under running containers is replaced, and the new mount swapped in inside every container that holds
# it, without restarting anything; a rotated secret is swapped in the same way; a rotation to a key the
# server refuses keeps the old mount serving and says so. Real runc containers, nbmountd, s3fs and s3rver.
# Usage: tests/s3-heal-check.sh [NBMOUNT [NBMOUNTD]]. Prints "ok - s3-heal ..." / "not ok - s3-heal ...:
# why" lines; always exits 0. Needs root, runc, busybox, jq, s3fs, node.
set -u
cd "$(dirname "$0")/.."
NBMOUNT=$(realpath "${1:-build/nbmount}")
NBMOUNTD=$(realpath "${2:-$(dirname "$NBMOUNT")/nbmountd}")
. tests/lib/sample-node.sh
. tests/lib/bundle.sh
. tests/lib/s3.sh

. tests/lib/testlib.sh
testlib_init s3-heal

need_tools runc busybox jq s3fs node curl pgrep python3
[ -e "$S3RVER_JS" ] || { not_ok "prerequisites" "$S3RVER_JS is missing (run ./setup.sh)"; exit 0; }
need_root "the S3 tests need root"

work=$(mktemp -d /tmp/nbmount-s3h.XXXXXX)
run_dir=/run/nbmount-s3htest-$$
MOUNTD_LOG=$work/mountd.log
MOUNT_TIMEOUT=5 # the readiness deadline: a frozen s3fs is found within it (and the 2 s between probes)
BB_TIMEOUT=600
servers=()
trap 's3_suite_cleanup s3-heal' EXIT
trap 'echo "# interrupted"; exit 1' INT TERM
bundle_init "$work" "$NBMOUNT" >"$work/init.log" 2>&1 || { not_ok "harness: bundle_init" "$(cat "$work/init.log")"; exit 0; }

# s3rver (which does not check SigV4 signatures) behind tests/lib/s3auth.js on $port, which takes only
# the keys whose labels $work/accept lists, and logs which key signed each request ($work/access.log).
first_secret=first-secret-$$ second_secret=second-secret-$$ revoked_secret=revoked-secret-$$
printf 'first %s\nsecond %s\nrevoked %s\n' "$first_secret" "$second_secret" "$revoked_secret" >"$work/keys"
echo first >"$work/accept"
serve() {
        node "$S3RVER_JS" -d "$work/s3-data" -p "$2" -a 127.0.0.1 --configure-bucket acme-data --allow-mismatched-signatures \
                >>"$work/s3.log" 2>&1 &
        servers+=("$!")
        node tests/lib/s3auth.js "$1" "$2" "$work/keys" "$work/accept" "$work/access.log" >>"$work/s3.log" 2>&1 &
        servers+=("$!")
        wait_until 10 curl -s -o /dev/null "http://127.0.0.1:$2/" && wait_until 10 curl -s -o /dev/null "http://127.0.0.1:$1/"
}
# signed_since LINE: the labels of the keys that signed requests logged after line LINE, in order of first use.
signed_since() { tail -n +"$(($1 + 1))" "$work/access.log" | awk '$3 != "unsigned" { print $3 "-" $4 }' | awk '!seen[$0]++' | paste -sd' '; }
log_lines() { wc -l <"$work/access.log"; }
put() { echo "$2" | curl -s -o /dev/null -X PUT --data-binary @- "http://127.0.0.1:$port/acme-data/$1"; }

node=$work/node
make_sample_node "$node"
config=$node/node.yaml
sed -i "s|^mountd_socket: .*|mountd_socket: $run_dir/mountd.sock|; s|^quota: .*|quota: {enforce: off}|;
        s|^s3: .*|s3: {allow_http: true, allow_private_endpoints: true, mount_timeout: $MOUNT_TIMEOUT}|" "$config"
secret_file=$node/secrets/acme/s3key
printf '%s\n' "$first_secret" >"$secret_file"
chmod 600 "$secret_file"
port=$(free_port)
serve "$port" "$(free_port)" || { not_ok "harness: s3rver" "did not start: $(tail -3 "$work/s3.log")"; exit 0; }
put nb/hello.txt hello

# Every notebook of acme mounts the same bucket read-write at /datasets/bucket.
settings() {
        mkdir -p "$node/notebooks/acme/$1/.gradient"
        cat >"$node/notebooks/acme/$1/.gradient/settings.yaml" <<EOT
bucket:
  type: s3
  url: s3://acme-data/nb
  accessKeyId: S3RVER
  secretAccessKey: secret:s3key
  endpoint: http://127.0.0.1:$port
  readOnly: false
EOT
}
start_nb() {
        settings "$2"
        make_bundle "$work/b-$1" --identity acme "$2" alice --config "$config" --user 1000:1000 \
                --cmd "echo ready; i=0; while [ ! -e /storage/stop ] && [ \$i -lt 6000 ]; do sleep 0.1; i=\$((i+1)); done" || return 1
        (run_runc "$work/b-$1" "$1"; echo "$run_rc" >"$work/out/$1.rc") &
}
cexec() { local c=$1; shift; timeout 10 runc --root "$work/state/runc" exec "$c" "$@" 2>&1; }
pid_of() { runc --root "$work/state/runc" state "$1" 2>/dev/null | jq -r .pid; }
s3fs_pids() { pgrep -f "^/usr/bin/s3fs .* $run_dir/mounts/" | sort | paste -sd' '; }
ms() { date +%s%3N; }
# reads_again SECONDS CONTAINER...: milliseconds until every container reads hello.txt again (or "timeout").
reads_again() {
        local limit=$1 t0 c ok
        shift
        t0=$(ms)
        while (($(ms) - t0 < limit * 1000)); do
                ok=1
                for c in "$@"; do [ "$(cexec "$c" cat /datasets/bucket/hello.txt)" = hello ] || { ok=0; break; }; done
                ((ok)) && { echo $(($(ms) - t0)); return; }
                sleep 0.05
        done
        echo timeout
}
s3_mounts_in() { grep -c fuse.s3fs "/proc/$(pid_of "$1")/mountinfo"; }
host_s3_mounts() { grep -c " $run_dir/mounts/.* fuse.s3fs " /proc/self/mountinfo; }
state_refs() { jq -r '[.mounts[] | select(.state == "ready") | .containers[] | .id] | sort | join(" ")' "$run_dir/mountd.json"; }
mounts_json() { "$NBMOUNT" mounts --config "$config" --json 2>&1; }

mountd_start "$config" --sweep-interval 1 || { not_ok "harness: nbmountd" "$(tail -5 "$MOUNTD_LOG")"; exit 0; }
mkdir -p "$node/storage/east-1/acme"
start_nb h1 nb1
start_nb h2 nb2
wait_until 20 in_container h1
wait_until 20 in_container h2
expect_eq "start: both containers read the bucket through one s3fs" "hello hello 1" \
        "$(cexec h1 cat /datasets/bucket/hello.txt) $(cexec h2 cat /datasets/bucket/hello.txt) $(s3fs_pids | wc -w)"

# --- kill -9 s3fs under two running containers ----------------------------------------------------------------
old=$(s3fs_pids)
kill -9 "$old"
t_kill=$(ms)
heal_ms=$(reads_again 15 h1 h2)
expect_match "kill -9: both running containers read again within 5 s ($heal_ms ms)" '^[0-9]+$' \
        "$( [ "$heal_ms" != timeout ] && ((heal_ms <= 5000)) && echo "$heal_ms" || echo "no: $heal_ms")"
echo "# kill -9 to reads again in both containers: $heal_ms ms"
expect_eq "kill -9: both write again (a file one writes, the other reads)" "w1" \
        "$(cexec h1 sh -c 'echo w1 > /datasets/bucket/w1.txt' >/dev/null; sleep 0.3; cexec h2 cat /datasets/bucket/w1.txt)"
wait_until 5 sh -c "[ \"\$(pgrep -f '^/usr/bin/s3fs .* $run_dir/mounts/' | wc -l)\" = 1 ]"
new=$(s3fs_pids)
expect_eq "kill -9: one new s3fs, the old one gone" "1 yes" "$(wc -w <<<"$new") $([ "$new" != "$old" ] && echo yes)"
expect_eq "kill -9: no mount left behind (one on the host, one in each container)" "1 1 1" \
        "$(host_s3_mounts) $(s3_mounts_in h1) $(s3_mounts_in h2)"
expect_eq "kill -9: the state holds one ready mount, held by both" "1|h1 h2" \
        "$(jq '[.mounts[]] | length' "$run_dir/mountd.json")|$(state_refs)"
expect_eq "kill -9: nbmount mounts shows 1 restart, the cause, key generation 1, both containers" \
        "1|s3fs (pid $old) died|1|h1 h2" \
        "$(mounts_json | jq -r '.[0] | "\(.restarts)|\(.last_failure)|\(.key_generation)|\([.containers[].id] | sort | join(" "))"')"
expect_has "kill -9: nbmountd logs the swap in each container" "$(cat "$MOUNTD_LOG")" "swapped in for the old mount in container h1"

# A process with its cwd in the dead mount gets an error, and works again once it re-enters the path.
chown 1000:1000 "$node/notebooks/acme/nb1"
runc --root "$work/state/runc" exec --user 1000:1000 h1 sh -c 'cd /datasets/bucket && echo in > /notebooks/cwd-ready && while [ ! -e /notebooks/cwd-go ]; do sleep 0.1; done; cat hello.txt > /notebooks/cwd-old 2>&1; cd /datasets/bucket && cat hello.txt > /notebooks/cwd-new 2>&1' >/dev/null &
cwd_job=$!
wait_until 5 cexec h1 test -e /notebooks/cwd-ready
kill -9 "$(s3fs_pids)"
reads_again 15 h1 >/dev/null
touch "$node/notebooks/acme/nb1/cwd-go"
wait "$cwd_job"
expect_match "cwd inside: the old cwd errs, re-entering the path works" '^cat: .*(not connected|No such).*\|hello$' \
        "$(cexec h1 cat /notebooks/cwd-old)|$(cexec h1 cat /notebooks/cwd-new)"

# --- SIGSTOP: a frozen s3fs is found by the probe and replaced within the readiness deadline ---------------------
frozen=$(s3fs_pids)
kill -STOP "$frozen"
t_stop=$(ms)
wait_until $((MOUNT_TIMEOUT + 10)) sh -c "! kill -0 $frozen 2>/dev/null"
stop_ms=$(reads_again 10 h1 h2)
total_ms=$(($(ms) - t_stop))
expect_match "SIGSTOP: detected and replaced within the deadline + the probe interval ($total_ms ms, mount_timeout $MOUNT_TIMEOUT s)" '^yes$' \
        "$( [ "$stop_ms" != timeout ] && ((total_ms <= (MOUNT_TIMEOUT + 2) * 1000 + 3000)) && echo yes || echo "no: $stop_ms / $total_ms ms")"
expect_has "SIGSTOP: the cause is told" "$(mounts_json | jq -r '.[0].last_failure')" "stopped answering"
expect_eq "SIGSTOP: one s3fs, the frozen one killed" "1 gone" "$(s3fs_pids | wc -w) $(kill -0 "$frozen" 2>/dev/null && echo alive || echo gone)"

# --- key rotation -------------------------------------------------------------------------------------------------
# The server takes the second key only from now on: the mount's first key is refused for anything s3fs has
# not cached; only a rotation makes the bucket readable again.
echo second >"$work/accept"
put nb/after.txt after-rotation
expect_ne "rotation: before it, the first key cannot read a new object" "after-rotation" "$(cexec h1 cat /datasets/bucket/after.txt)"
gen_before=$(mounts_json | jq -r '.[0].key_generation')
before=$(s3fs_pids)
line=$(log_lines)
printf '%s\n' "$second_secret" >"$secret_file.new" && chmod 600 "$secret_file.new" && mv "$secret_file.new" "$secret_file"
t_rot=$(ms)
wait_until 10 sh -c "[ \"\$(timeout 10 runc --root '$work/state/runc' exec h2 cat /datasets/bucket/after.txt 2>/dev/null)\" = after-rotation ]"
rot_ms=$(($(ms) - t_rot))
echo "# rotation (rename) to reads with the new key: $rot_ms ms"
expect_eq "rotation (atomic rename): both containers read with the new key" "after-rotation after-rotation" \
        "$(cexec h1 cat /datasets/bucket/after.txt) $(cexec h2 cat /datasets/bucket/after.txt)"
wait_until 5 sh -c "[ \"\$(pgrep -f '^/usr/bin/s3fs .* $run_dir/mounts/' | wc -l)\" = 1 ]"
expect_eq "rotation (atomic rename): a new s3fs, the old one stopped after the swap; key generation +1" \
        "1 yes $((gen_before + 1))" "$(s3fs_pids | wc -w) $([ "$(s3fs_pids)" != "$before" ] && echo yes) $(mounts_json | jq -r '.[0].key_generation')"
expect_match "rotation: the server's log shows the new key signing (and the first refused before it)" \
        '(^| )second-taken( |$)' "$(signed_since "$line")"
line=$(log_lines)
cexec h1 cat /datasets/bucket/hello.txt >/dev/null; cexec h2 ls /datasets/bucket >/dev/null
expect_eq "rotation: since the swap, only the new key signs" "second-taken" "$(signed_since "$line")"

# in place: the same file written again (new times, same key)
before=$(s3fs_pids)
printf '%s\n' "$second_secret" >"$secret_file"
wait_until 10 sh -c "[ \"\$(pgrep -f '^/usr/bin/s3fs .* $run_dir/mounts/')\" != '$before' ] && [ \"\$(pgrep -f '^/usr/bin/s3fs .* $run_dir/mounts/' | wc -l)\" = 1 ]"
expect_eq "rotation (write in place): swapped again, both keep reading; key generation +2" "hello hello $((gen_before + 2))" \
        "$(cexec h1 cat /datasets/bucket/hello.txt) $(cexec h2 cat /datasets/bucket/hello.txt) $(mounts_json | jq -r '.[0].key_generation')"

# the key never appears in any argv, environ, log or state file (grep -f: nor in grep's own argv)
printf '%s\n%s\n' "$first_secret" "$second_secret" >"$work/secrets"
leaks=$(grep -l -a -F -f "$work/secrets" /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null | grep -v "^/proc/\\($$\\|self\\)/")
leaks+=$(grep -l -a -r -F -f "$work/secrets" "$run_dir/logs" "$node/state" "$MOUNTD_LOG" 2>/dev/null)
expect_eq "rotation: the key is in no argv, environ, log or state file" "" "$leaks"

# a rotation to a key the server refuses: the old mount keeps serving, the refusal is told
before=$(s3fs_pids)
printf '%s\n' "$revoked_secret" >"$secret_file.new" && chmod 600 "$secret_file.new" && mv "$secret_file.new" "$secret_file"
wait_until 15 sh -c "'$NBMOUNT' mounts --config '$config' --json | jq -r '.[0].last_failure' | grep -q refused"
expect_has "refused key: nbmount mounts tells the refusal and the cause" "$(mounts_json | jq -r '.[0].last_failure')" \
        "the changed secret s3key was refused; still serving with key generation $((gen_before + 2)): s3://acme-data/nb: cannot mount: the endpoint refused the access key or secret"
put nb/later.txt later
expect_eq "refused key: the old mount keeps serving in both containers (a new object too), the same s3fs" \
        "later later $before" "$(cexec h1 cat /datasets/bucket/later.txt) $(cexec h2 cat /datasets/bucket/later.txt) $(s3fs_pids)"
expect_has "refused key: syslog (nbmountd's log) tells it" "$(cat "$MOUNTD_LOG")" "the changed secret s3key was refused"
expect_match "refused key: the notebook's status file tells it" \
        '^/datasets/bucket +mounted +the changed secret s3key was refused' \
        "$(grep '^/datasets/bucket ' "$node/notebooks/acme/nb1/.gradient/mounts.status")"
expect_match "refused key: nbmount mounts (text) shows the failure under the mount" '^    last failure 20[0-9-]+T[0-9:]+Z: the changed secret s3key was refused' \
        "$("$NBMOUNT" mounts --config "$config" | grep 'last failure')"
sleep 3
expect_eq "refused key: not tried again while the file stays the same" "$before" "$(s3fs_pids)"
printf '%s\n' "$second_secret" >"$secret_file"
wait_until 10 sh -c "[ \"\$(pgrep -f '^/usr/bin/s3fs .* $run_dir/mounts/')\" != '$before' ] && [ \"\$(pgrep -f '^/usr/bin/s3fs .* $run_dir/mounts/' | wc -l)\" = 1 ]"
expect_eq "refused key, then a good one: swapped in" "later later 1" \
        "$(cexec h1 cat /datasets/bucket/later.txt) $(cexec h2 cat /datasets/bucket/later.txt) $(s3fs_pids | wc -w)"

# --- 20 kills in a row under 10 containers --------------------------------------------------------------------------
for i in 3 4 5 6 7 8 9 10; do start_nb "h$i" "nb$i"; done
for i in 3 4 5 6 7 8 9 10; do wait_until 30 in_container "h$i"; done
all=(h1 h2 h3 h4 h5 h6 h7 h8 h9 h10)
expect_eq "10 containers: all read through one s3fs" "10 1" \
        "$(for c in "${all[@]}"; do cexec "$c" cat /datasets/bucket/hello.txt; done | grep -c '^hello$') $(s3fs_pids | wc -w)"
for k in $(seq 20); do
        victim=$(s3fs_pids)
        kill -9 $victim
        wait_until 10 sh -c "p=\$(pgrep -f '^/usr/bin/s3fs .* $run_dir/mounts/'); [ -n \"\$p\" ] && [ \"\$p\" != '$victim' ] && [ \"\$(jq '[.mounts[] | select(.state == \"ready\")] | length' '$run_dir/mountd.json')\" = 1 ]"
        sleep 0.3
done
sleep 1
reads=$(for c in "${all[@]}"; do cexec "$c" cat /datasets/bucket/hello.txt; done | grep -c '^hello$')
expect_eq "20 kills under 10 containers: every container reads, one s3fs, one mount each" "10 1 1 10" \
        "$reads $(s3fs_pids | wc -w) $(host_s3_mounts) $(for c in "${all[@]}"; do s3_mounts_in "$c"; done | grep -c '^1$')"
expect_eq "20 kills under 10 containers: the state file holds one ready mount with the 10 containers" \
        "1|h1 h10 h2 h3 h4 h5 h6 h7 h8 h9|/datasets/bucket" \
        "$(jq '.mounts | length' "$run_dir/mountd.json")|$(state_refs)|$(jq -r '[.mounts[0].containers[].targets[]] | unique | join(" ")' "$run_dir/mountd.json")"
expect_match "20 kills under 10 containers: nbmount mounts counts the restarts" '^2[0-9]$' "$(mounts_json | jq -r '.[0].restarts')"

# --- s3fs dies while nbmountd is stopped: the next nbmountd heals it at start -----------------------------------
mountd_stop TERM
victim=$(s3fs_pids)
kill -9 $victim
mountd_start "$config" --sweep-interval 1 || not_ok "harness: nbmountd restart" "$(tail -3 "$MOUNTD_LOG")"
back_ms=$(reads_again 15 "${all[@]}")
expect_match "died while nbmountd was stopped: healed at its start, all 10 read again ($back_ms ms)" '^[0-9]+$' "$back_ms"
expect_has "died while nbmountd was stopped: the log says so" "$(cat "$MOUNTD_LOG")" \
        "did not survive; a new one is swapped in for its 10 containers"
expect_eq "died while nbmountd was stopped: one s3fs, one mount each" "1 1 10" \
        "$(s3fs_pids | wc -w) $(host_s3_mounts) $(for c in "${all[@]}"; do s3_mounts_in "$c"; done | grep -c '^1$')"

# --- the end: every container stops, nothing stays --------------------------------------------------------------------
touch "$node/storage/east-1/acme/stop"
for c in "${all[@]}"; do wait_rc "$c" >/dev/null; done
wait_until 10 sh -c "[ \$(pgrep -f '^/usr/bin/s3fs .* $run_dir/mounts/' | wc -l) = 0 ]"
expect_eq "the end: no s3fs, no mount, no reference left; nbmountd up" "0 0 0 yes" \
        "$(s3fs_pids | wc -w) $(host_s3_mounts) $(jq '.mounts | length' "$run_dir/mountd.json") $(kill -0 "$MOUNTD_PID" 2>/dev/null && echo yes)"
expect_eq "nbmountd's log has no sanitizer report" "" "$(grep -E 'Sanitizer|runtime error:' "$MOUNTD_LOG" | head -3)"
testlib_end
