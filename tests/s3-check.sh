#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end tests of S3 mounts: real runc containers whose hook asks a real nbmountd, which runs
# real s3fs processes against a real S3 server (s3rver) on loopback.
# Usage: tests/s3-check.sh [NBMOUNT [NBMOUNTD]]. Prints "ok - s3 ..." / "not ok - s3 ...: why"
# lines; always exits 0. Needs root, runc, busybox, jq, s3fs, node (tests/s3 installed by setup.sh).
set -u
cd "$(dirname "$0")/.."
NBMOUNT=$(realpath "${1:-build/nbmount}")
NBMOUNTD=$(realpath "${2:-$(dirname "$NBMOUNT")/nbmountd}")
. tests/lib/sample-node.sh
. tests/lib/bundle.sh
. tests/lib/s3.sh
mountd_fusermount_option # MOUNTD_FUSERMOUNT

. tests/lib/testlib.sh
testlib_init s3

need_tools runc busybox jq s3fs node curl pgrep python3 unshare
[ -e "$S3RVER_JS" ] || { not_ok "prerequisites" "$S3RVER_JS is missing (run ./setup.sh)"; exit 0; }
need_root "the S3 tests need root"

work=$(mktemp -d /tmp/nbmount-s3.XXXXXX)
run_dir=/run/nbmount-s3test-$$
MOUNTD_LOG=$work/mountd.log
cleanup() {
        [ -f "$work/hosts.orig" ] && cat "$work/hosts.orig" >/etc/hosts
        mountd_stop KILL
        mkdir -p build/test-logs && cp "$MOUNTD_LOG" build/test-logs/s3-nbmountd.log 2>/dev/null
        bundle_cleanup
        s3_server_stop
        mountd_leftovers_remove "$run_dir"
        grep -q " $run_dir-dump/keys " /proc/self/mountinfo && umount -l "$run_dir-dump/keys"
        rm -rf "$run_dir" "$run_dir-dump" "$work"
}
trap cleanup EXIT
trap 'echo "# interrupted"; exit 1' INT TERM
bundle_init "$work" "$NBMOUNT" >"$work/init.log" 2>&1 || { not_ok "harness: bundle_init" "$(cat "$work/init.log")"; exit 0; }
s3_server_start "$work/s3" acme-data beta-data gamma-data || { not_ok "harness: s3rver" "did not start"; exit 0; }

# --- the node: team acme (secret s3key), team beta (secret beta-key), quotas off (no kernel support) ---
node=$work/node
make_sample_node "$node"
config=$node/node.yaml
secret_value="nbm-s3-secret-$RANDOM$RANDOM-do-not-leak"
printf '%s\n' "$secret_value" >"$work/secret.pattern"
sed -i "s|^mountd_socket: .*|mountd_socket: $run_dir/mountd.sock|; s|^quota: .*|quota: {enforce: off}|;
        s|^s3: .*|s3: {allow_http: true, allow_private_endpoints: true, mount_timeout: 6}|" "$config"
# a bucket that cannot be mounted refuses the start here (settings.on_error skip: tests/s3-pending-check.sh)
echo "settings: {on_error: refuse}" >>"$config"
printf '%s\n' "$secret_value" >"$node/secrets/acme/s3key"
chmod 600 "$node/secrets/acme/s3key"
mkdir -p "$node/secrets/beta" "$node/notebooks/beta/nb1/.gradient" "$node/notebooks/gamma/nb1/.gradient"
printf '%s\n' "$secret_value" >"$node/secrets/beta/beta-key"
chmod 600 "$node/secrets/beta/beta-key"
for team in beta gamma; do
        jq -c --arg t $team '.team = $t | .datasets = []' "$node/grants/acme.json" >"$node/grants/$team.json"
done
for team in acme beta gamma; do mkdir -p "$node/notebooks/$team/nb1/.gradient"; done

# settings TEAM [BUCKET [KEY_ID [SECRET [ENDPOINT [READ_ONLY]]]]]: one s3 entry "bucket".
settings() {
        local team=$1 bucket=${2:-$1-data} key=${3:-S3RVER} secret=${4:-} endpoint=${5:-$S3_ENDPOINT} ro=${6:-false}
        [ -n "$secret" ] || secret=$([ "$team" = acme ] && echo s3key || echo beta-key)
        cat >"$node/notebooks/$team/nb1/.gradient/settings.yaml" <<EOT
bucket:
  type: s3
  url: s3://$bucket/nb
  accessKeyId: $key
  secretAccessKey: secret:$secret
  endpoint: $endpoint
  readOnly: $ro
EOT
}
settings acme
settings beta
settings gamma gamma-data S3RVER beta-key
mkdir -p "$node/secrets/gamma" && cp -p "$node/secrets/beta/beta-key" "$node/secrets/gamma/beta-key"

BB_CONFIG=$config  # start_bg, wait_rc, out_of, hook_line_of, in_container: tests/lib/bundle.sh
# s3fs processes of this test's nbmountd (other runs on the machine may have their own)
s3fs_count() { pgrep -f "^/usr/bin/s3fs .* $run_dir/mounts/" | wc -l; }
s3fs_pids() { pgrep -f "^/usr/bin/s3fs .* $run_dir/mounts/"; }
s3_mounts() { grep -c " $run_dir/mounts/" /proc/self/mountinfo; }
# refs: "container-id bucket" lines of the state file, sorted.
refs() { jq -r '.mounts[] | .spec.bucket as $b | .containers[] | "\(.id) \($b)"' "$run_dir/mountd.json" | sort; }
no_s3fs() { [ "$(s3fs_count)" = 0 ]; }

mountd_start "$config" --sweep-interval 1 || { not_ok "harness: nbmountd" "$(tail -5 "$MOUNTD_LOG")"; exit 0; }
expect_eq "nbmountd: socket is root's, mode 0600" "600 root" "$(stat -c '%a %U' "$run_dir/mountd.sock")"
expect_eq "nbmountd: the passwd-file folder is a tmpfs, mode 0700" "tmpfs 700" \
        "$(stat -f -c %T "$run_dir/keys") $(stat -c %a "$run_dir/keys")"
# status_of PID FIELD: a field of /proc/PID/status
status_of() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
spawner_pid=$(pgrep -P "$MOUNTD_PID" -x nbmountd-spawn)
expect_eq "confinement: nbmountd runs under its seccomp filter, no new privileges" "2 1" \
        "$(status_of "$MOUNTD_PID" Seccomp) $(status_of "$MOUNTD_PID" NoNewPrivs)"
expect_eq "confinement: nbmountd keeps CAP_CHOWN, CAP_SETGID, CAP_SETUID, CAP_SYS_ADMIN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_KILL, CAP_SYS_CHROOT, CAP_SYS_PTRACE only" \
        "00000000002c00e7 00000000002c00e7" "$(status_of "$MOUNTD_PID" CapEff) $(status_of "$MOUNTD_PID" CapBnd)"
expect_eq "confinement: the spawner (the only process that starts s3fs) has no filter, a bounding set for the supervisors: CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID, CAP_SETPCAP" \
        "0 1 00000000002001c0" \
        "$(status_of "$spawner_pid" Seccomp) $(status_of "$spawner_pid" NoNewPrivs) $(status_of "$spawner_pid" CapBnd)"
expect_eq "nbmountd: uid 1000 cannot use the socket" "Permission denied" \
        "$(setpriv --reuid 1000 --regid 1000 --clear-groups "$NBMOUNT" mounts --config "$config" 2>&1 | grep -o 'Permission denied' | head -1)"

# --- who may ask: root in nbmountd's own mount and user namespaces, nothing else (issue 11, item 9) ---
# peer [WRAPPER...] -- JSON [FDS]: a hand-made request, its reply and "fds: N" on one line.
peer() {
        local -a wrapper=()
        while [ "$1" != -- ]; do wrapper+=("$1"); shift; done
        shift
        "${wrapper[@]}" python3 tests/lib/mountd_peer.py "$run_dir/mountd.sock" "$@" 2>&1 | tr '\n' '|' | sed 's/|$//'
}
# A mount request for acme's bucket, held by a process of the requester's own (it lives long enough).
steal_request() {
        printf '{"op": "mount", "container": "thief", "pid": %d, "team": "acme", "bucket": "acme-data", "prefix": "nb", "endpoint": "%s", "region": "", "access_key_id": "S3RVER", "secret": "s3key", "read_only": false, "uid": 0, "gid": 0}' \
                "$1" "$S3_ENDPOINT"
}
ns_refusal() { # ns_refusal mount|user: the reply's regex
        echo '^\{"ok":false,"error":"process [0-9]+ is in another '"$1"' namespace than nbmountd \(a container\?\); nbmountd serves only nbmount on the host"\}\|fds: 0$'
}
expect_eq "peers: root on the host is served" '{"ok":true,"mounts":[]}|fds: 0' "$(peer -- '{"op": "list"}')"
sleep 300 &
holder=$!
expect_match "peers: root in another mount namespace (unshare -m) asking for acme's bucket is refused, with the reason" \
        "$(ns_refusal mount)" "$(peer unshare -m -- "$(steal_request $holder)")"
expect_match "peers: root in another user namespace (unshare -U -r: uid 0 is still 0) is refused, with the reason" \
        "$(ns_refusal user)" "$(peer unshare -U -r -- "$(steal_request $holder)")"
expect_match "peers: a list from another mount namespace is refused too" "$(ns_refusal mount)" \
        "$(peer unshare -m -- '{"op": "list"}')"
expect_match "peers: a release from another mount namespace is refused too" "$(ns_refusal mount)" \
        "$(peer unshare -m -- '{"op": "release", "container": "c1"}')"
kill $holder; wait $holder 2>/dev/null
expect_eq "peers: the refused requests mounted nothing and hold no reference" "0 0 " "$(s3fs_count) $(s3_mounts) $(refs)"
expect_match "peers: nbmount in another mount namespace prints the reason" \
        "^nbmount: process [0-9]+ is in another mount namespace than nbmountd \(a container\?\); nbmountd serves only nbmount on the host$" \
        "$(unshare -m "$NBMOUNT" mounts --config "$config" 2>&1)"
expect_eq "peers: each refusal is logged with the peer" 5 \
        "$(grep -c -E 'refused a connection from uid 0 \(pid [0-9]+\): process [0-9]+ is in another (mount|user) namespace than nbmountd' "$MOUNTD_LOG")"

# --- file descriptors in a request: every one is closed, the request refused (item 13) -------------------
# fd_count: nbmountd's open fds, once two readings 0.2 s apart agree (a sweep opens /proc files briefly).
fd_count() {
        local a b i
        for ((i = 0; i < 25; i++)); do
                a=$(ls "/proc/$MOUNTD_PID/fd" | wc -l); sleep 0.2; b=$(ls "/proc/$MOUNTD_PID/fd" | wc -l)
                [ "$a" = "$b" ] && break
        done
        echo "$b"
}
fds_before=$(fd_count)
fd_replies=""
for n in 1 2 3 2 3 2 3 2 3 12; do fd_replies="$fd_replies$(peer -- '{"op": "list"}' $n)|"; done
expect_eq "fds: requests carrying 1, 2, 3 or 12 fds are refused, with the reason" \
        "$(for n in 1 2 3 2 3 2 3 2 3 12; do printf '%s|' '{"ok":false,"error":"a request to nbmountd carries no file descriptor; this one did (closed)"}|fds: 0'; done)" \
        "$fd_replies"
expect_eq "fds: none of the 33 fds stays open in nbmountd" "$fds_before" "$(fd_count)"
expect_eq "fds: each is logged" 10 "$(grep -c 'refused a request from pid [0-9]*: a request to nbmountd carries no file descriptor' "$MOUNTD_LOG")"

# --- nbmountd is not dumpable: a crash leaves no core dump with a secret in it (item 9) ------------------
# (An ASan build turns core dumps off itself: the check means nothing there.)
if [ -z "${SANITIZE:-}" ]; then
        mkdir -p "$work/dumps/control" "$work/dumps/mountd"
        expect_eq "coredump: this machine writes core dumps (a crashing sleep leaves one)" core \
                "$(python3 tests/lib/coredump.py "$work/dumps/control" - -- sleep 100)"
        sed "s|^mountd_socket: .*|mountd_socket: $run_dir-dump/mountd.sock|; s|^state: .*|state: $work/dumps/state|" \
                "$config" >"$work/dumps/node.yaml"
        expect_eq "coredump: a crashing nbmountd leaves none (it is not dumpable)" "no core" \
                "$(python3 tests/lib/coredump.py "$work/dumps/mountd" "$run_dir-dump/mountd.sock" -- "$NBMOUNTD" --config "$work/dumps/node.yaml" "${MOUNTD_FUSERMOUNT[@]}")"
        grep -q " $run_dir-dump/keys " /proc/self/mountinfo && umount "$run_dir-dump/keys"
        rm -rf "$run_dir-dump" "$work/dumps"
fi

# --- sharing: two containers of acme, one s3fs -------------------------------------------------------
# Containers wait at $barrier until the test creates NOTEBOOK/go (their /notebooks/go), 30 s at most.
barrier='i=0; while [ ! -e /notebooks/go ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done'
release_barrier() { local team; for team in acme beta gamma; do touch "$node/notebooks/$team/nb1/go"; done; }
reset_barrier() { rm -f "$node"/notebooks/*/nb1/go; }
start_bg c1 acme 'echo hello-from-c1 > /datasets/bucket/c1.txt && echo ready; i=0; while [ ! -s /datasets/bucket/c2.txt ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i+1)); done; echo "c1 reads: $(cat /datasets/bucket/c2.txt)"; '"$barrier"'; grep " /datasets/bucket " /proc/self/mountinfo | cut -d" " -f6,8'
wait_until 20 in_container c1
start_bg c2 acme 'echo ready; echo "c2 reads: $(cat /datasets/bucket/c1.txt)"; echo hello-from-c2 > /datasets/bucket/c2.txt; echo LEAKCHECK; cat /proc/[0-9]*/cmdline /proc/[0-9]*/environ /proc/self/mountinfo 2>/dev/null | tr "\0" " "; echo; cat /datasets/bucket/*; echo; '"$barrier"
wait_until 20 in_container c2
expect_eq "sharing: two containers of one team, one s3fs process" 1 "$(s3fs_count)"
expect_eq "hygiene: the key is in no command line or environment on the host" 0 \
        "$(cat /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null | tr '\0' '\n' | grep -c -F -f "$work/secret.pattern")"
expect_eq "hygiene: the passwd file is gone once the mount is up" "" "$(ls -A "$run_dir/keys")"
expect_eq "hygiene: the key is in no mount option on the host" 0 "$(grep -c -F -f "$work/secret.pattern" /proc/self/mountinfo)"
expect_eq "sharing: both containers hold a reference" "c1 acme-data|c2 acme-data" "$(refs | tr '\n' '|' | sed 's/|$//')"
mounts_text=$("$NBMOUNT" mounts --config "$config" 2>&1)
expect_match "nbmount mounts: the shared mount with both containers" "acme-data/nb +http://127.0.0.1:$S3_PORT +rw +[0-9]+ +ok +0 +1 +(c1,c2|c2,c1)$" "$(oneline "$mounts_text")"
# schema_check NAME FILE: the file validates against schemas/mountd.schema.json
schema_check() {
        local result
        result=$(node tests/schema/validate.js -s schemas/mountd.schema.json -r schemas/common.schema.json "$2" 2>&1)
        expect_eq "$1" "valid	$2" "$result"
}
cp "$run_dir/mountd.json" "$work/state-copy.json"
schema_check "schema: the state file with a shared mount validates against mountd.schema.json" "$work/state-copy.json"
"$NBMOUNT" mounts --config "$config" --json | jq '{ok: true, mounts: .}' >"$work/list-reply.json"
schema_check "schema: the list reply validates against mountd.schema.json" "$work/list-reply.json"
expect_eq "nbmount mounts --json: one mount, two containers, healthy" "1 2 true true" \
        "$("$NBMOUNT" mounts --config "$config" --json | jq -r '[length, (.[0].containers | length), .[0].s3fs_alive, .[0].mounted] | join(" ")')"
release_barrier
expect_eq "sharing: c1 exits 0" 0 "$(wait_rc c1)"
expect_eq "sharing: c2 exits 0" 0 "$(wait_rc c2)"
expect_eq "sharing: c2 reads what c1 wrote" "c2 reads: hello-from-c1" "$(out_of c2 | grep '^c2 reads')"
expect_eq "sharing: c1 reads what c2 wrote" "c1 reads: hello-from-c2" "$(out_of c1 | grep '^c1 reads')"
expect_eq "sharing: the mount in the container is fuse.s3fs, nosuid,nodev" "rw,nosuid,nodev,relatime fuse.s3fs" \
        "$(out_of c1 | grep 'fuse.s3fs')"
expect_eq "sharing: both files are in the bucket (the server's own listing)" "nb/c1.txt|nb/c2.txt" \
        "$(s3_list acme-data | sort | tr '\n' '|' | sed 's/|$//')"
expect_match "hygiene: the container's view was read (mountinfo, files)" "fuse.s3fs.*hello-from-c1" "$(out_of c2 | sed -n '/^LEAKCHECK/,$p' | tr '\n' ' ')"
expect_eq "hygiene: the key is in no /proc/*/cmdline, environ, mountinfo or file of the container" 0 \
        "$(out_of c2 | grep -c -F -f "$work/secret.pattern")"
wait_until 10 no_s3fs
reset_barrier
expect_eq "after both stop: no s3fs process" 0 "$(s3fs_count)"
expect_eq "after both stop: no mount left" 0 "$(s3_mounts)"
expect_eq "after both stop: no reference left" "" "$(refs)"
expect_eq "after both stop: no mount point, log or passwd file left" "" \
        "$(ls -A "$run_dir/mounts" "$run_dir/logs" "$run_dir/keys" | grep -v ':$' | grep -v '^$')"

# --- a public bucket (no key: anonymous, public_bucket=1), read-only when readOnly is absent -----------
cat >"$node/notebooks/gamma/nb1/.gradient/settings.yaml" <<EOT
bucket:
  type: s3
  url: s3://acme-data/nb
  endpoint: $S3_ENDPOINT
EOT
start_bg pub1 gamma 'echo ready; cat /datasets/bucket/c1.txt; echo x > /datasets/bucket/new.txt 2>/dev/null; echo "write: $?"; grep " /datasets/bucket " /proc/self/mountinfo | cut -d" " -f6; '"$barrier"
wait_until 20 in_container pub1
s3fs_args=$(tr '\0' ' ' </proc/"$(s3fs_pids | head -1)"/cmdline)
expect_eq "public bucket: s3fs runs with public_bucket=1 and ro, without a passwd file" "yes yes no" \
        "$([[ $s3fs_args == *"-o public_bucket=1 "* ]] && echo yes || echo no) $([[ $s3fs_args == *"-o ro "* || $s3fs_args == *"-o ro" ]] && echo yes || echo no) $([[ $s3fs_args == *passwd_file* ]] && echo yes || echo no)"
release_barrier
expect_eq "public bucket: read anonymously, read-only by default" "0 ready|hello-from-c1|write: 1|ro,nosuid,nodev,relatime" \
        "$(wait_rc pub1) $(out_of pub1 | tr '\n' '|' | sed 's/|$//')"
reset_barrier
wait_until 10 no_s3fs
settings gamma gamma-data S3RVER beta-key

# --- refusals: nothing reaches nbmountd, nothing is mounted ------------------------------------------
# expect_start_refused NAME TEAM EXPECTED_LINE_REGEX
expect_start_refused() {
        local name=$1 id=r$RANDOM
        start_bg $id "$2" 'echo started'
        expect_eq "$name: the start fails" 1 "$(wait_rc $id)"
        expect_match "$name: the hook says why" "$3" "$(hook_line_of $id)"
        expect_eq "$name: no s3fs, no mount" "0 0" "$(s3fs_count) $(s3_mounts)"
}
settings acme acme-data S3RVER beta-key
expect_start_refused "refusal: another team's secret" acme \
        "/datasets/bucket refused: secret beta-key is not a secret of team acme"
settings acme
sed -i "s|secretAccessKey: .*|secretAccessKey: $secret_value|" "$node/notebooks/acme/nb1/.gradient/settings.yaml"
expect_start_refused "refusal: a literal key" acme "secretAccessKey.*secret:NAME"
expect_eq "refusal: a literal key is not echoed" "" "$(grep -l "$secret_value" "$BB_WORK/out/"r*.err 2>/dev/null)"
settings acme
mv "$node/secrets/acme/s3key" "$work/s3key.real"
ln -s "$work/s3key.real" "$node/secrets/acme/s3key"
expect_start_refused "refusal: a symlinked secret" acme "secret s3key of team acme is not a regular file"
rm "$node/secrets/acme/s3key"
mv "$work/s3key.real" "$node/secrets/acme/s3key"
chmod 644 "$node/secrets/acme/s3key"
expect_start_refused "refusal: a 0644 secret" acme "secret s3key of team acme must be owned by root with mode 0600 or 0400"
chmod 600 "$node/secrets/acme/s3key"

# --- faults ---------------------------------------------------------------------------------------
# expect_mount_fails NAME EXPECTED_LINE_REGEX: a start of acme fails within the deadline (6 s) + 3 s.
expect_mount_fails() {
        local name=$1 id=f$RANDOM start=$SECONDS
        start_bg $id acme 'echo started'
        expect_eq "$name: the start fails" 1 "$(wait_rc $id)"
        if ((SECONDS - start <= 9)); then ok "$name: within the deadline"; else not_ok "$name: within the deadline" "$((SECONDS - start)) s"; fi
        expect_match "$name: the hook names the bucket and the cause" "$2" "$(hook_line_of $id)"
        wait_until 5 no_s3fs
        expect_eq "$name: nothing left mounted, no s3fs, no reference" "0 0 " "$(s3fs_count) $(s3_mounts) $(refs)"
}
closed_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
settings acme acme-data S3RVER s3key "http://127.0.0.1:$closed_port"
expect_mount_fails "fault: the server is down" "/datasets/bucket: s3://acme-data/nb: (cannot mount: cannot connect to the endpoint|the bucket did not answer within 6 s)"
settings acme no-such-bucket
expect_mount_fails "fault: a missing bucket" "/datasets/bucket: s3://no-such-bucket/nb: cannot mount: the bucket does not exist"
settings acme acme-data WRONGKEY
expect_mount_fails "fault: an unknown key" "/datasets/bucket: s3://acme-data/nb: cannot mount: the endpoint refused the access key or secret"
settings acme

# s3fs killed under a running container: nbmountd swaps a new one in (tests/s3-heal-check.sh goes further).
start_bg k1 acme 'echo ready; sleep 3; ls /datasets/bucket/ >/dev/null 2>&1; echo "after kill: $?"'
wait_until 20 in_container k1
old_s3fs=$(s3fs_pids)
kill -9 $old_s3fs
wait_until 5 sh -c "p=\$(pgrep -f '^/usr/bin/s3fs .* $run_dir/mounts/'); [ -n \"\$p\" ] && [ \"\$p\" != '$old_s3fs' ]"
expect_eq "fault: s3fs killed: the running container reads through the new s3fs" "after kill: 0" "$(wait_rc k1 >/dev/null; out_of k1 | grep '^after kill')"
wait_until 5 sh -c "[ \$(grep -c ' $run_dir/mounts/' /proc/self/mountinfo) = 0 ]"
expect_eq "fault: s3fs killed: once the container stopped, no mount and no record is left" "0 0" \
        "$(s3_mounts) $(jq '.mounts | length' "$run_dir/mountd.json")"
start_bg k2 acme 'echo ready; cat /datasets/bucket/c1.txt'
expect_eq "fault: s3fs killed: a new start mounts again and reads" "0 hello-from-c1" "$(wait_rc k2) $(out_of k2 | tail -1)"
expect_eq "fault: s3fs killed: a new s3fs process served it" "" "$(s3fs_pids | grep -x "$old_s3fs")"
wait_until 10 no_s3fs

# The S3 server killed and restarted under a live mount: the same s3fs serves the next start.
start_bg s1 acme 'echo ready; sleep 6; cat /datasets/bucket/c2.txt'
wait_until 20 in_container s1
first_s3fs=$(s3fs_pids)
s3_server_stop
sleep 1
s3_server_start "$work/s3" acme-data beta-data gamma-data
start_bg s2 acme 'cat /datasets/bucket/c1.txt'
expect_eq "fault: server restarted: a new start reads through the live mount" "0 hello-from-c1" "$(wait_rc s2) $(out_of s2)"
expect_eq "fault: server restarted: one s3fs all along" "$first_s3fs" "$(s3fs_pids)"
expect_eq "fault: server restarted: the running container reads again" "0 hello-from-c2" "$(wait_rc s1) $(out_of s1 | tail -1)"
wait_until 10 no_s3fs

# SIGTERM (an upgrade) leaves the mount serving; the next nbmountd adopts it and its reference.
start_bg u1 acme 'echo ready; sleep 4; cat /datasets/bucket/c1.txt'
wait_until 20 in_container u1
mountd_stop TERM
expect_eq "upgrade: SIGTERM leaves the mount in place" 1 "$(s3_mounts)"
mountd_start "$config" --sweep-interval 1
expect_match "upgrade: the new nbmountd adopts it" "adopted the live mount of acme-data" "$(cat "$MOUNTD_LOG")"
expect_eq "upgrade: the reference survives" "u1 acme-data" "$(refs)"
expect_eq "upgrade: the container reads through it" "0 hello-from-c1" "$(wait_rc u1) $(out_of u1 | tail -1)"
wait_until 10 no_s3fs
expect_eq "upgrade: its poststop reaches the new nbmountd: unmounted" "0 0" "$(s3fs_count) $(s3_mounts)"

# kill -9 nbmountd in the middle of 10 starts (two buckets), then a restart.
settings beta
for i in $(seq 1 10); do
        team=$([ $((i % 2)) = 0 ] && echo acme || echo beta)
        start_bg p$i $team 'echo ready; '"$barrier"'; ls /datasets/bucket/ >/dev/null && echo still-working'
        sleep 0.15
        [ $i = 4 ] && mountd_stop KILL
        [ $i = 7 ] && mountd_start "$config" --sweep-interval 1
done
started="" failed_starts=0
for i in $(seq 1 10); do
        wait_until 30 sh -c "grep -q ready '$BB_WORK/out/p$i.out' 2>/dev/null || [ -s '$work/out/p$i.rc' ]"
        if grep -q ready "$BB_WORK/out/p$i.out" 2>/dev/null; then started="$started p$i"; else failed_starts=$((failed_starts + 1)); fi
done
sleep 2 # one sweep after every failed start's container is gone
echo "# kill -9 in 10 starts: started:$started; failed: $failed_starts"
expected_refs=$(for c in $started; do echo "$c $([ $((${c#p} % 2)) = 0 ] && echo acme-data || echo beta-data)"; done | sort)
expect_eq "kill -9: references are exactly the containers that started" "$expected_refs" "$(refs)"
expected_s3fs=$(for c in $started; do [ $((${c#p} % 2)) = 0 ] && echo acme || echo beta; done | sort -u | wc -l)
expect_eq "kill -9: one s3fs per bucket in use, none leaked" "$expected_s3fs $expected_s3fs" "$(s3fs_count) $(s3_mounts)"
release_barrier
working=0
for c in $started; do wait_rc $c >/dev/null; out_of $c | grep -q still-working && working=$((working + 1)); done
reset_barrier
expect_eq "kill -9: every container that started has a working mount" "$(echo $started | wc -w)" "$working"
wait_until 10 no_s3fs
expect_eq "kill -9: after they stop, nothing is left" "0 0 " "$(s3fs_count) $(s3_mounts) $(refs)"

# --- load: 30 containers of 3 teams in parallel, 3 buckets ------------------------------------------
settings acme; settings beta; settings gamma gamma-data S3RVER beta-key
for i in $(seq 1 30); do
        team=$(case $((i % 3)) in 0) echo acme ;; 1) echo beta ;; 2) echo gamma ;; esac)
        start_bg l$i $team 'echo ready; '"$barrier"'; ls /datasets/bucket >/dev/null && echo listed'
done
all_ready() { local i; for i in $(seq 1 30); do in_container l$i || [ -s "$work/out/l$i.rc" ] || return 1; done; }
wait_until 180 all_ready || echo "# load: not every container of 30 was ready or done after 180 s"
expect_eq "load: 30 containers of 3 teams: exactly 3 s3fs processes" 3 "$(s3fs_count)"
expect_eq "load: 30 references" 30 "$(refs | wc -l)"
release_barrier
listed=0
for i in $(seq 1 30); do [ "$(wait_rc l$i)" = 0 ] && out_of l$i | grep -q listed && listed=$((listed + 1)); done
expect_eq "load: all 30 ran and read their bucket" 30 "$listed"
wait_until 15 no_s3fs
expect_eq "load: all stop cleanly: no s3fs, no mount, no reference" "0 0 " "$(s3fs_count) $(s3_mounts) $(refs)"

# --- limits: shared mounts per team and per node (issue 11, item 5) ---------------------------------------
mountd_stop TERM
sed -i 's|^s3: .*|s3: {allow_http: true, allow_private_endpoints: true, mount_timeout: 6, max_mounts_per_team: 3, max_mounts_per_node: 5}|' "$config"
mountd_start "$config" --sweep-interval 1
# many_buckets TEAM FIRST LAST [SECRET]: TEAM's settings.yaml mounts bFIRST..bLAST, each its own prefix
# pNNN of the bucket TEAM-data (so each is a mount of its own).
many_buckets() {
        local team=$1 first=$2 last=$3 secret=${4:-} i
        [ -n "$secret" ] || secret=$([ "$team" = acme ] && echo s3key || echo beta-key)
        for ((i = first; i <= last; i++)); do
                printf 'b%03d:\n  type: s3\n  url: s3://%s-data/p%03d\n  accessKeyId: S3RVER\n  secretAccessKey: secret:%s\n  endpoint: %s\n' \
                        "$i" "$team" "$i" "$secret" "$S3_ENDPOINT"
        done >"$node/notebooks/$team/nb1/.gradient/settings.yaml"
}
team_limit_line() { # team_limit_line CONTAINER TARGET
        echo "nbmount: container $1 (team acme, notebook nb1, user alice): $2: team acme already has 3 S3 mounts on this node (s3.max_mounts_per_team: 3); stop a notebook that uses buckets, or ask the operator to raise the limit"
}
many_buckets acme 1 256
start_bg lim256 acme 'echo started'
expect_eq "limits: a settings.yaml with 256 buckets: the start fails" 1 "$(wait_rc lim256)"
expect_eq "limits: 256 buckets: the start stops at the team's limit, with the reason" \
        "$(team_limit_line lim256 /datasets/b004)" "$(hook_line_of lim256)"
wait_until 10 no_s3fs
expect_eq "limits: 256 buckets: nothing is left (no s3fs, no mount, no reference)" "0 0 " "$(s3fs_count) $(s3_mounts) $(refs)"
expect_match "limits: 256 buckets: nbmountd logs the refusal" \
        "container lim256 \(team acme\): s3://acme-data/p004 refused: team acme already has 3 S3 mounts on this node" "$(cat "$MOUNTD_LOG")"

reset_barrier
many_buckets acme 1 3
start_bg la acme 'echo ready; '"$barrier"
wait_until 30 in_container la
expect_eq "limits: a container of acme holds 3 mounts" "3 3" "$(s3fs_count) $(s3_mounts)"
many_buckets acme 1 4
start_bg lb acme 'echo started'
expect_eq "limits: a 4th bucket of acme while acme holds 3: the start fails" 1 "$(wait_rc lb)"
expect_eq "limits: the 3 shared ones cost nothing, the 4th is refused with the reason" \
        "$(team_limit_line lb /datasets/b004)" "$(hook_line_of lb)"
many_buckets acme 1 3
start_bg lc acme 'echo ready; '"$barrier"
wait_until 30 in_container lc
expect_eq "limits: at its limit, acme still starts a container that shares its 3 mounts" "ready 3" \
        "$(out_of lc | head -1) $(s3fs_count)"
many_buckets beta 1 1
start_bg ld beta 'echo ready; '"$barrier"
wait_until 30 in_container ld
expect_eq "limits: while acme is at its limit, team beta gets its mount" "ready 4" "$(out_of ld | head -1) $(s3fs_count)"
many_buckets gamma 1 2 beta-key
start_bg le gamma 'echo started'
expect_eq "limits: gamma's second bucket would be the node's 6th mount: the start fails" 1 "$(wait_rc le)"
expect_eq "limits: the node's limit, with the reason" \
        "nbmount: container le (team gamma, notebook nb1, user alice): /datasets/b002: this node already has 5 S3 mounts (s3.max_mounts_per_node: 5); start the notebook on another node, or ask the operator to raise the limit" \
        "$(hook_line_of le)"
wait_until 10 sh -c "[ \$(pgrep -f '^/usr/bin/s3fs .* $run_dir/mounts/' | wc -l) = 4 ]"
expect_eq "limits: gamma's refused start leaves nothing of its own" "4 4" "$(s3fs_count) $(s3_mounts)"
release_barrier
expect_eq "limits: the containers that started end well" "0 0 0" "$(wait_rc la) $(wait_rc lc) $(wait_rc ld)"
wait_until 15 no_s3fs
reset_barrier
expect_eq "limits: afterwards nothing is left" "0 0 " "$(s3fs_count) $(s3_mounts) $(refs)"

# 20 requests at once for 20 new mounts of acme: mounts being made count, so exactly 3 are granted.
sleep 300 &
holder=$!
par_pids=()
for i in $(seq 1 20); do
        printf -v request '{"op": "mount", "container": "par%d", "pid": %d, "team": "acme", "bucket": "acme-data", "prefix": "q%02d", "endpoint": "%s", "region": "", "access_key_id": "S3RVER", "secret": "s3key", "read_only": true, "uid": 0, "gid": 0}' \
                "$i" "$holder" "$i" "$S3_ENDPOINT"
        python3 tests/lib/mountd_peer.py "$run_dir/mountd.sock" "$request" >"$work/par$i.out" 2>&1 &
        par_pids+=($!)
done
wait "${par_pids[@]}"
expect_eq "limits: 20 parallel requests for new mounts of acme: 3 granted, 17 refused with the reason, 3 s3fs" "3 17 3" \
        "$(grep -l '"ok":true' "$work"/par*.out | wc -l) $(grep -l 'team acme already has 3 S3 mounts on this node' "$work"/par*.out | wc -l) $(s3fs_count)"
for i in $(seq 1 20); do peer -- "{\"op\": \"release\", \"container\": \"par$i\"}" >/dev/null; done
kill $holder; wait $holder 2>/dev/null
wait_until 15 no_s3fs
expect_eq "limits: released, nothing is left" "0 0 " "$(s3fs_count) $(s3_mounts) $(refs)"
mountd_stop TERM
sed -i 's|^s3: .*|s3: {allow_http: true, allow_private_endpoints: true, mount_timeout: 6}|' "$config"
mountd_start "$config" --sweep-interval 1
settings acme; settings beta; settings gamma gamma-data S3RVER beta-key

# --- the sweep runs outside the table's lock: requests go on while it reads 2,000 mounts (item 5) ----
sweep_bench=$(dirname "$NBMOUNTD")/bench/sweep
if [ -x "$sweep_bench" ]; then
        sweep_out=$("$sweep_bench" --check --mounts 2000 --seconds 2 2>&1)
        if [[ $sweep_out =~ ^(not )?ok\ -\ sweep: ]] && [ "$(wc -l <<<"$sweep_out")" = 1 ]; then
                sed 's/^ok - sweep:/ok - s3 sweep:/; s/^not ok - sweep:/not ok - s3 sweep:/' <<<"$sweep_out"
        else
                not_ok "sweep: a request completes while sweeps of 2000 mounts run" "$sweep_out"
        fi
else
        not_ok "sweep: a request completes while sweeps of 2000 mounts run" "$sweep_bench is not built (make unit)"
fi

# --- hygiene on the host ----------------------------------------------------------------------------
expect_eq "hygiene: the key is in no log of nbmountd" 0 "$(grep -c -F -f "$work/secret.pattern" "$MOUNTD_LOG")"
expect_eq "hygiene: the key is in no state file" 0 "$(grep -c -F -f "$work/secret.pattern" "$run_dir/mountd.json")"

# --- a host name that resolves to a private address is refused by nbmountd itself ------------------
mountd_stop TERM
sed -i 's|^s3: .*|s3: {allow_http: true, allow_private_endpoints: false, mount_timeout: 6}|' "$config"
mountd_start "$config" --sweep-interval 1
# A name the plan cannot judge: this machine's host name when it resolves to loopback (Debian's
# /etc/hosts maps it to 127.0.1.1), else a name added to /etc/hosts for the test.
rebind_host=$(hostname)
if ! getent ahostsv4 "$rebind_host" | grep -q '^127\.'; then
        rebind_host=nbmount-rebind-test.invalid
        cp /etc/hosts "$work/hosts.orig"
        echo "127.0.0.1 $rebind_host" >>/etc/hosts
fi
settings acme acme-data S3RVER s3key "http://$rebind_host:$S3_PORT"
expect_start_refused "refusal: an endpoint name that resolves to loopback" acme \
        "/datasets/bucket: endpoint http://$rebind_host:$S3_PORT resolves to (127\.[0-9.]+|::1), a loopback address; this node refuses"
[ -f "$work/hosts.orig" ] && cat "$work/hosts.orig" >/etc/hosts
sed -i 's|^s3: .*|s3: {allow_http: true, allow_private_endpoints: true, mount_timeout: 6}|' "$config"
settings acme

# --- systemd socket activation (nbmountd.socket): the socket passed as fd 3 ----------------------------
mountd_stop TERM
activated=$work/activated.yaml
sed "s|^mountd_socket: .*|mountd_socket: $run_dir/activated.sock|" "$config" >"$activated"
systemd-socket-activate --seqpacket -l "$run_dir/activated.sock" "$NBMOUNTD" --config "$activated" "${MOUNTD_FUSERMOUNT[@]}" \
        >>"$MOUNTD_LOG" 2>&1 &
MOUNTD_PID=$!
wait_until 5 test -S "$run_dir/activated.sock"
expect_eq "socket activation: nbmount mounts through the socket systemd passes" "[]" \
        "$("$NBMOUNT" mounts --config "$activated" --json 2>&1 | tr -d ' \n')"
sed -i "s|^mountd_socket: .*|mountd_socket: $run_dir/activated.sock|" "$config"
start_bg sa2 acme 'cat /datasets/bucket/c1.txt'
expect_eq "socket activation: a container mounts through it" "0 hello-from-c1" "$(wait_rc sa2) $(out_of sa2)"
wait_until 10 no_s3fs
expect_eq "socket activation: after it stops, nothing is left" "0 0 " "$(s3fs_count) $(s3_mounts) $(refs)"

# --- a state file nbmountd cannot read: it refuses to start rather than guess ---------------------------
mountd_stop TERM
sed -i "s|^mountd_socket: .*|mountd_socket: $run_dir/mountd.sock|" "$config"
cp "$run_dir/mountd.json" "$work/state.good"
echo '{"version": 1, "mounts": [{"name": "x"}]}' >"$run_dir/mountd.json"
broken_line=$(timeout 10 "$NBMOUNTD" --config "$config" "${MOUNTD_FUSERMOUNT[@]}" 2>&1 | tail -1)
expect_match "state: an unreadable state file stops nbmountd with the fix" \
        "mountd.json:1:27: a mount is missing \"spec\"; add it; nbmountd will not guess: move .*/mountd.json away to start afresh" "$broken_line"
cp "$work/state.good" "$run_dir/mountd.json"

# --- an ASan/UBSan build (make check SANITIZE=1) reports into nbmountd's log ------------------------------
expect_eq "nbmountd's log has no sanitizer report" "" "$(grep -E 'Sanitizer|runtime error:' "$MOUNTD_LOG" | head -3)"
exit 0
