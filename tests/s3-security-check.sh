#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Security tests of nbmountd's S3 mounts (issue 11: s3fs and the network boundary): real runc
# containers, a real nbmountd and s3fs, S3 servers in a network namespace this test makes.
#   - s3fs's sandbox: the running s3fs and its supervisor (uid, capabilities, no_new_privs, seccomp,
#     core size, namespaces, mounts), and a stand-in for s3fs (tests/lib/s3fs-probe.c) that tries
#     what the sandbox must refuse;
#   - SSRF: an endpoint that redirects (301, 302, 307) to a service on the host's loopback and to
#     169.254.169.254, and a DNS answer that changes between nbmountd's check and s3fs's connect:
#     the container never reads the secret, the service sees no connection, the refusal is logged;
#   - staging: an object larger than s3.staging_per_mount reads with the right checksum, in the
#     sandbox's own /tmp, without the host's /tmp growing; s3.staging_per_node bounds the mounts;
#   - the supervisor outlives nbmountd (kill -9, restart: the policy holds), and s3fs dies with it.
# The endpoints live at 11.22.33.2, a globally routable address on a veth pair to a namespace of this
# test: the policy takes it as public, and no packet to it leaves the machine.
# Usage: tests/s3-security-check.sh [NBMOUNT [NBMOUNTD]]. Prints "ok - s3sec ..." / "not ok - ..."
# lines; always exits 0. Needs root, runc, busybox, jq, s3fs, node, curl, ip, cc.
set -u
cd "$(dirname "$0")/.."
NBMOUNT=$(realpath "${1:-build/nbmount}")
NBMOUNTD=$(realpath "${2:-$(dirname "$NBMOUNT")/nbmountd}")
. tests/lib/sample-node.sh
. tests/lib/bundle.sh
. tests/lib/s3.sh

. tests/lib/testlib.sh
testlib_init s3sec

need_tools runc busybox jq s3fs node curl ip cc pgrep md5sum
[ -e "$S3RVER_JS" ] || { not_ok "prerequisites" "$S3RVER_JS is missing (run ./setup.sh)"; exit 0; }
need_root "the S3 security tests need root"

work=$(mktemp -d /tmp/nbmount-s3sec.XXXXXX)
run_dir=/run/nbmount-s3sec-$$
ns=nbmsec$$ veth_host=nbmh$$ veth_ns=nbmn$$
host_ip=11.22.33.1 ns_ip=11.22.33.2
MOUNTD_LOG=$work/mountd.log
server_pids=()
cleanup() {
        mountd_stop KILL
        mkdir -p build/test-logs && cp "$MOUNTD_LOG" build/test-logs/s3sec-nbmountd.log 2>/dev/null
        bundle_cleanup
        local pid
        for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null; done
        mountd_leftovers_remove "$run_dir"
        grep -q " /etc/resolv.conf " /proc/self/mountinfo && [ -n "${resolv_bound:-}" ] && umount /etc/resolv.conf
        grep -q " $work/s3 " /proc/self/mountinfo && umount -l "$work/s3"
        ip link del "$veth_host" 2>/dev/null
        ip netns del "$ns" 2>/dev/null
        rm -rf "$run_dir" "$work"
}
trap cleanup EXIT
trap 'echo "# interrupted"; exit 1' INT TERM

# --- the network namespace and its servers ---------------------------------------------------------
if ! { ip netns add "$ns" && ip link add "$veth_host" type veth peer name "$veth_ns" &&
        ip link set "$veth_ns" netns "$ns" && ip addr add "$host_ip/30" dev "$veth_host" &&
        ip link set "$veth_host" up && ip netns exec "$ns" ip addr add "$ns_ip/30" dev "$veth_ns" &&
        ip netns exec "$ns" ip link set "$veth_ns" up && ip netns exec "$ns" ip link set lo up; } 2>"$work/netns.err"; then
        not_ok "harness: network namespace" "$(cat "$work/netns.err")"
        exit 0
fi
# start_server NAME [ip netns exec NS] CMD...: in the background, once it prints "listening"
start_server() {
        local name=$1 i
        shift
        "$@" >"$work/$name.out" 2>&1 &
        server_pids+=($!)
        for ((i = 0; i < 100; i++)); do
                grep -q listening "$work/$name.out" 2>/dev/null && return 0
                sleep 0.1
        done
        not_ok "harness: $name" "did not start: $(cat "$work/$name.out")"
        exit 0
}

secret="nbm-ssrf-secret-$RANDOM$RANDOM-must-not-reach-a-container"
printf '%s\n' "$secret" >"$work/secret.txt"
secret_size=$(stat -c %s "$work/secret.txt")
internal_port=$(free_port)
: >"$work/internal.log" >"$work/hostile.log" >"$work/rebind-internal.log" >"$work/dns.log"
# the internal service: on the host's loopback, it serves the secret to whoever reaches it
start_server internal node tests/lib/hostile.js serve 127.0.0.1 "$internal_port" hostile-data secret.txt \
        "$work/secret.txt" "$work/internal.log"
# the hostile endpoint: secret-301.txt, -302, -307 redirect to the internal service, metadata.txt
# to the cloud metadata address
start_server hostile ip netns exec "$ns" node tests/lib/hostile.js redirect "$ns_ip" 9000 hostile-data \
        "$secret_size" "http://127.0.0.1:$internal_port/hostile-data/secret.txt" "$work/hostile.log"
# a real S3 server, public as far as the policy can tell; its data on a tmpfs of its own, so that
# the staging tests see the host's /tmp (the root file system here) grow only by what s3fs stages
mkdir -p "$work/s3"
mount -t tmpfs -o size=1g nbmsec-s3data "$work/s3"
start_server s3rver ip netns exec "$ns" node "$S3RVER_JS" -d "$work/s3" -p 9100 -a "$ns_ip" \
        --allow-mismatched-signatures --configure-bucket acme-data --configure-bucket beta-data \
        --configure-bucket gamma-data
S3_ENDPOINT=http://$ns_ip:9100

# --- the node ------------------------------------------------------------------------------------------
bundle_init "$work" "$NBMOUNT" >"$work/init.log" 2>&1 || { not_ok "harness: bundle_init" "$(cat "$work/init.log")"; exit 0; }
for applet in md5sum sort dd cp; do ln -s busybox "$work/rootfs.base/bin/$applet"; done
node_dir=$work/node
make_sample_node "$node_dir"
config=$node_dir/node.yaml
sed -i "s|^mountd_socket: .*|mountd_socket: $run_dir/mountd.sock|; s|^quota: .*|quota: {enforce: off}|;
        s|^s3: .*|s3: {allow_http: true, allow_private_endpoints: false, mount_timeout: 8, hang_timeout: 0}|" "$config"
# (hang_timeout 0: the hostile endpoint keeps s3fs busy for minutes, which would count as a hang;
# healing is tests/s3-heal-check.sh's) a bucket that cannot be mounted refuses the start here (settings.on_error skip: tests/s3-pending-check.sh)
echo "settings: {on_error: refuse}" >>"$config"
key_secret="nbm-s3sec-key-$RANDOM$RANDOM"
for team in acme beta gamma; do
        mkdir -p "$node_dir/secrets/$team" "$node_dir/notebooks/$team/nb1/.gradient"
        chown 1000:1000 "$node_dir/notebooks/$team/nb1" # the containers' user writes there
        printf '%s\n' "$key_secret" >"$node_dir/secrets/$team/key"
        chmod 600 "$node_dir/secrets/$team/key"
        [ $team = acme ] || jq -c --arg t $team '.team = $t | .datasets = []' "$node_dir/grants/acme.json" \
                >"$node_dir/grants/$team.json"
done

# settings TEAM BUCKET ENDPOINT: one s3 entry "bucket", read-only
settings() {
        cat >"$node_dir/notebooks/$1/nb1/.gradient/settings.yaml" <<EOT
bucket:
  type: s3
  url: s3://$2
  accessKeyId: S3RVER
  secretAccessKey: secret:key
  endpoint: $3
EOT
}
mkdir -p "$work/out"
# start_bg, wait_rc, out_of, hook_line_of, in_container (tests/lib/bundle.sh); wait_until (testlib.sh)
BB_CONFIG=$config BB_WAIT=90
# start_bg_afresh NAME TEAM CMD: start_bg, after clearing TEAM's barrier (a "go" left by an earlier step)
start_bg_afresh() { rm -f "$node_dir/notebooks/$2/nb1/go"; start_bg "$@"; }
go() { touch "$node_dir/notebooks/$1/nb1/go"; }
barrier='i=0; while [ ! -e /notebooks/go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; rm -f /notebooks/go'
s3fs_pids() { pgrep -f "^[^ ]*s3fs[^ ]* .* $run_dir/mounts/"; }
no_s3fs() { [ -z "$(s3fs_pids)" ]; }
status_of() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }

mountd_start "$config" --sweep-interval 1 || { not_ok "harness: nbmountd" "$(tail -5 "$MOUNTD_LOG")"; exit 0; }

# --- the running s3fs and its supervisor ----------------------------------------------------------------
settings acme acme-data "$S3_ENDPOINT"
start_bg_afresh hold acme 'echo ready; '"$barrier"'; ls /datasets/bucket >/dev/null && echo listed'
wait_until 30 in_container hold
s3fs_pid=$(s3fs_pids | head -1)
supervisor_pid=$(awk '{ print $4 }' "/proc/$s3fs_pid/stat" 2>/dev/null)
mount_name=$(basename "$(tr '\0' '\n' <"/proc/$s3fs_pid/cmdline" 2>/dev/null | grep "^$run_dir/mounts/")")
expect_eq "sandbox: s3fs runs as a uid and gid of its own (s3.uid_base, first slot), no supplementary group" \
        "1879048192 1879048192 1879048192 1879048192|1879048192 1879048192 1879048192 1879048192|" \
        "$(status_of "$s3fs_pid" Uid)|$(status_of "$s3fs_pid" Gid)|$(status_of "$s3fs_pid" Groups)"
expect_eq "sandbox: s3fs has no capability in any set, the bounding set included" \
        "0000000000000000 0000000000000000 0000000000000000 0000000000000000 0000000000000000" \
        "$(for f in CapInh CapPrm CapEff CapBnd CapAmb; do status_of "$s3fs_pid" $f; done | tr '\n' ' ' | sed 's/ $//')"
expect_eq "sandbox: s3fs has no_new_privs and a seccomp filter" "1 2" \
        "$(status_of "$s3fs_pid" NoNewPrivs) $(status_of "$s3fs_pid" Seccomp)"
expect_eq "sandbox: s3fs may not dump core (RLIMIT_CORE 0)" "0 0" \
        "$(awk '/^Max core file size/ { print $5, $6 }' "/proc/$s3fs_pid/limits")"
expect_eq "sandbox: s3fs is PID 1 of a PID namespace of its own" "$s3fs_pid 1" "$(status_of "$s3fs_pid" NSpid)"
expect_eq "sandbox: s3fs has its own mount, PID and IPC namespaces" "differ differ differ" \
        "$(for n in mnt pid_for_children ipc; do [ "$(readlink /proc/$s3fs_pid/ns/${n%_for_children})" != "$(readlink /proc/self/ns/${n%_for_children})" ] && echo differ || echo same; done | tr '\n' ' ' | sed 's/ $//')"
# mount point, mount options, file system type, super options
jail_mounts=$(sed 's/ - / | /' "/proc/$s3fs_pid/mountinfo" | awk -F' [|] ' '{ split($1, a, " "); split($2, b, " "); print a[5], a[6], b[1], b[3] }')
expect_match "sandbox: s3fs's root is read-only" "^/ ro[,a-z]* " "$(grep '^/ ' <<<"$jail_mounts")"
expect_match "sandbox: s3fs's /tmp is a tmpfs of 512 MiB (s3.staging_per_mount's default)" \
        "^/tmp rw,nosuid,nodev,noexec[,a-z]* tmpfs [a-z,]*size=524288k" "$(grep '^/tmp ' <<<"$jail_mounts" | tail -1)"
expect_eq "sandbox: s3fs sees none of the host's S3 mount points and keys (tmpfs over them)" "tmpfs tmpfs" \
        "$(awk -v m="$run_dir/mounts" -v k="$run_dir/keys" '$1 == m || $1 == k { print $3 }' <<<"$jail_mounts" | tail -2 | tr '\n' ' ' | sed 's/ $//')"
expect_eq "sandbox: s3fs's /proc shows its own PID namespace only: s3fs and the fusermount it ran" "1 s3fs|2 fusermount" \
        "$(for p in $(ls "/proc/$s3fs_pid/root/proc" | grep '^[0-9]*$' | sort -n); do echo "$p $(cat "/proc/$s3fs_pid/root/proc/$p/comm")"; done | tr '\n' '|' | sed 's/|$//')"
expect_match "mount: the FUSE mount on the host is the supervisor's, for s3fs's uid, allow_other" \
        "fuse.s3fs s3fs r[ow],user_id=1879048192,group_id=1879048192,allow_other" \
        "$(grep " $run_dir/mounts/$mount_name " /proc/self/mountinfo)"
expect_eq "supervisor: s3fs's parent is its supervisor, in a session of its own" "s3fs-supervisor $supervisor_pid" \
        "$(cat "/proc/$supervisor_pid/comm") $(awk '{ print $6 }' "/proc/$supervisor_pid/stat")"
expect_eq "supervisor: s3fs's uid, no capability, no_new_privs, its own seccomp filter" \
        "1879048192 0000000000000000 0000000000000000 1 2" \
        "$(status_of "$supervisor_pid" Uid | cut -d' ' -f1) $(status_of "$supervisor_pid" CapEff) $(status_of "$supervisor_pid" CapBnd) $(status_of "$supervisor_pid" NoNewPrivs) $(status_of "$supervisor_pid" Seccomp)"
# /proc/PID files of a process that is not dumpable belong to root: s3fs cannot read the supervisor
expect_eq "supervisor: not dumpable (s3fs, the same uid, cannot trace it or read its memory); s3fs is" \
        "root 1879048192" "$(stat -c %U "/proc/$supervisor_pid/mem") $(stat -c %u "/proc/$s3fs_pid/mem")"
go acme
expect_eq "sandbox: the container reads the bucket through it" "0 listed" "$(wait_rc hold) $(out_of hold | tail -1)"
wait_until 10 no_s3fs

# --- what the sandbox refuses: a stand-in for s3fs tries -------------------------------------------------
probe=$(dirname "$NBMOUNT")/tests/s3fs-probe
mkdir -p "$(dirname "$probe")"
marker=/tmp/nbmount-s3sec-marker-$$
resolver=$(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf)
probe_conf="loopback=127.0.0.1:$internal_port public=$ns_ip:9100 resolver=${resolver:-127.0.0.1} marker=$marker secrets=/etc/shadow"
if cc -O1 -DPROBE_CONF="\"$probe_conf\"" -o "$probe" tests/lib/s3fs-probe.c 2>"$work/probe.err"; then
        touch "$marker"
        mountd_stop TERM
        mountd_start "$config" --sweep-interval 1 --s3fs "$probe"
        start_bg_afresh probe acme 'echo started'
        wait_rc probe >/dev/null
        probe_line=$(hook_line_of probe | sed 's/.*s3fs says: probe://')
        rm -f "$marker"
        expected=" ids=1879048192/1879048192 caps=0000000000000000/0000000000000000 nnp=1 seccomp=2 core=0 pid=1"
        expected+=" tmp=tmpfs:512M rootwrite=EROFS hosttmp=ENOENT shadow=EACCES proc1=ENOENT var=ENOENT resolvconf=ok"
        expected+=" ptrace=EPERM unshare=EPERM mount=EPERM bpf=EPERM uring=EPERM keyctl=EPERM perf=EPERM uffd=EPERM"
        expected+=" seccomp=EPERM clone3=ENOSYS clonens=EPERM packet=EAFNOSUPPORT nlaudit=EPROTONOSUPPORT"
        expected+=" loopback=EACCES public=ok udploop=EACCES resolver=ok unix=EACCES listen=EPERM scm=ok msgname=EACCES"
        expected+=" badcmsg=EINVAL"
        expect_eq "sandbox: what a taken-over s3fs tries fails (identity, files, refused calls, network)" \
                "$expected" "$probe_line"
        expect_eq "sandbox: the loopback service saw no connection from the stand-in" "" "$(grep connection "$work/internal.log")"
        mountd_stop TERM
        mountd_start "$config" --sweep-interval 1
        wait_until 10 no_s3fs
else
        not_ok "sandbox: the stand-in for s3fs builds" "$(cat "$work/probe.err")"
fi

# --- SSRF: redirects to the host's loopback and to the metadata address -----------------------------------
settings acme hostile-data "http://$ns_ip:9000"
# s3fs tries a failed request 5 times, 4 s apart, and a read more than once: the four reads run at once
BB_TIMEOUT=240 start_bg_afresh ssrf acme 'echo ready; ls /datasets/bucket; '"$barrier"'; for f in secret-301 secret-302 secret-307 metadata; do (cat /datasets/bucket/$f.txt > /notebooks/read-$f; echo "cat $f: $?" >> /notebooks/status) & done; wait; cat /notebooks/read-*; sort /notebooks/status; '"$barrier"
wait_until 30 in_container ssrf
go acme
wait_until 200 grep -q '^cat secret-307' "$BB_WORK/out/ssrf.out"
ssrf_log=$(cat "$run_dir/logs/"*.log 2>/dev/null)
ssrf_out=$(out_of ssrf)
expect_eq "ssrf: the hostile endpoint mounts and lists its objects" \
        "metadata.txt secret-301.txt secret-302.txt secret-307.txt" "$(grep '\.txt$' <<<"$ssrf_out" | sort | tr '\n' ' ' | sed 's/ $//')"
expect_eq "ssrf: the endpoint answered each object with its redirect" \
        "GET /hostile-data/metadata.txt GET /hostile-data/secret-301.txt GET /hostile-data/secret-302.txt GET /hostile-data/secret-307.txt" \
        "$(grep '^GET /hostile-data/\(secret-30[127]\|metadata\)\.txt' "$work/hostile.log" | sort -u | tr '\n' ' ' | sed 's/ $//')"
expect_eq "ssrf: the container never reads the secret" "0" "$(grep -c -F "$secret" <<<"$ssrf_out")"
expect_eq "ssrf: every read fails instead" "cat metadata: 1|cat secret-301: 1|cat secret-302: 1|cat secret-307: 1" \
        "$(grep '^cat ' <<<"$ssrf_out" | tr '\n' '|' | sed 's/|$//')"
expect_eq "ssrf: the internal service saw no connection" "" "$(cat "$work/internal.log")"
expect_match "ssrf: s3fs's log names the refused destination and why" \
        "\[NET\] nbmountd refused connect to 127\.0\.0\.1:$internal_port: a loopback address, neither this mount's endpoint nor a DNS resolver of the node" \
        "$ssrf_log"
expect_match "ssrf: so does nbmountd's log (the supervisor's line, with the mount's name)" \
        "nbmountd: warning: [0-9a-f-]+: refused s3fs's connect to 127\.0\.0\.1:$internal_port: a loopback address" \
        "$(cat "$MOUNTD_LOG")"
expect_match "ssrf: the redirect to the cloud metadata address is refused too" \
        "refused connect to 169\.254\.169\.254:80: a link-local address" "$ssrf_log"
go acme
wait_rc ssrf >/dev/null
wait_until 10 no_s3fs

# --- SSRF: a DNS answer that changes between nbmountd's check and s3fs's connect ---------------------------
rebind_port=$(free_port)
start_server rebind-internal node tests/lib/hostile.js serve 127.0.0.1 "$rebind_port" hostile-data secret.txt \
        "$work/secret.txt" "$work/rebind-internal.log"
start_server dns ip netns exec "$ns" node tests/lib/hostile.js dns "$ns_ip" rebind.nbmount-test.example \
        "$ns_ip" 127.0.0.1 "$work/dns.log"
printf 'nameserver %s\noptions timeout:2 attempts:2\n' "$ns_ip" >"$work/resolv.conf"
mount --bind "$work/resolv.conf" /etc/resolv.conf && resolv_bound=1
settings acme hostile-data "http://rebind.nbmount-test.example:$rebind_port"
start_bg_afresh rebind acme 'echo ready; cat /datasets/bucket/secret.txt'
rebind_rc=$(wait_rc rebind)
umount /etc/resolv.conf && resolv_bound=
expect_eq "dns rebinding: nbmountd got the public answer, s3fs the loopback one" \
        "A rebind.nbmount-test.example -> $ns_ip|A rebind.nbmount-test.example -> 127.0.0.1" \
        "$(grep -o '^A [^ ]* -> [0-9.]*' "$work/dns.log" | head -2 | tr '\n' '|' | sed 's/|$//')"
expect_eq "dns rebinding: the container never reads the secret" "0" "$(out_of rebind | grep -c -F "$secret")"
expect_match "dns rebinding: the start fails, naming the refused connection" \
        "^1 nbmount: .*/datasets/bucket: s3://hostile-data: (cannot mount|the bucket did not answer within 8 s): the node refused s3fs's connect to 127\.0\.0\.1:$rebind_port: a loopback address" \
        "$rebind_rc $(hook_line_of rebind)"
expect_eq "dns rebinding: the internal service saw no connection" "" "$(cat "$work/rebind-internal.log")"
wait_until 10 no_s3fs

# --- the supervisor outlives nbmountd; s3fs does not outlive its supervisor ---------------------------------
settings acme hostile-data "http://$ns_ip:9000"
BB_TIMEOUT=240 start_bg_afresh survive acme 'echo ready; '"$barrier"'; cat /datasets/bucket/secret-307.txt; echo "cat: $?"'
wait_until 30 in_container survive
supervisor_pid=$(awk '{ print $4 }' "/proc/$(s3fs_pids | head -1)/stat" 2>/dev/null)
mountd_stop KILL
mountd_start "$config" --sweep-interval 1
expect_eq "restart: after kill -9 of nbmountd, the supervisor still runs" "s3fs-supervisor" \
        "$(cat "/proc/$supervisor_pid/comm" 2>/dev/null)"
expect_match "restart: the new nbmountd adopts the mount" "adopted the live mount of hostile-data" "$(cat "$MOUNTD_LOG")"
go acme
expect_eq "restart: the adopted mount's redirect is still refused" "0 cat: 1" "$(wait_rc survive) $(out_of survive | tail -1)"
expect_eq "restart: no secret, and the internal service saw no connection" "0 " \
        "$(out_of survive | grep -c -F "$secret") $(cat "$work/internal.log")"
wait_until 10 no_s3fs
start_bg_afresh orphan acme 'echo ready; '"$barrier"'; ls /datasets/bucket >/dev/null 2>&1; echo "ls: $?"'
wait_until 30 in_container orphan
orphan_s3fs=$(s3fs_pids | head -1)
kill -9 "$(awk '{ print $4 }' "/proc/$orphan_s3fs/stat")"
wait_until 5 sh -c "! kill -0 $orphan_s3fs 2>/dev/null"
expect_eq "supervisor killed: its s3fs dies with it (never unsupervised)" "gone" \
        "$(kill -0 "$orphan_s3fs" 2>/dev/null && echo alive || echo gone)"
go acme
expect_eq "supervisor killed: a new s3fs is swapped in under the container; once it stops, nothing is left" "0 ls: 0 0" \
        "$(wait_rc orphan) $(out_of orphan | tail -1) $(wait_until 5 sh -c "! grep -q ' $run_dir/mounts/' /proc/self/mountinfo"; grep -c " $run_dir/mounts/" /proc/self/mountinfo)"

# --- staging: a large object through a small staging area; the node's bound ----------------------------------
mountd_stop TERM
sed -i "s|^s3: .*|s3: {allow_http: true, allow_private_endpoints: false, mount_timeout: 8, staging_per_mount: 96MiB, staging_per_node: 192MiB}|" "$config"
mountd_start "$config" --sweep-interval 1
head -c $((200 << 20)) /dev/urandom >"$work/big.bin"
big_sum=$(md5sum <"$work/big.bin" | cut -d' ' -f1)
curl -s -f --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
        -T "$work/big.bin" "$S3_ENDPOINT/acme-data/big.bin" ||
        not_ok "harness: upload of a 200 MiB object" "curl failed"
rm -f "$work/big.bin"
settings acme acme-data "$S3_ENDPOINT"
# sample NAME: until container NAME ends, the most its s3fs staged (in its /tmp) and the most the
# host's /tmp grew, in bytes: "STAGED GROWN"
sample() {
        local s3fs_pid=$(s3fs_pids | head -1) staged host_tmp max_staged=0 tmp_before max_tmp
        tmp_before=$(df --output=used -B1 /tmp | tail -1)
        max_tmp=$tmp_before
        while [ ! -s "$work/out/$1.rc" ]; do
                staged=$(stat -f -c '%b %f %S' "/proc/$s3fs_pid/root/tmp" 2>/dev/null | awk '{ printf "%d\n", ($1 - $2) * $3 }')
                host_tmp=$(df --output=used -B1 /tmp | tail -1)
                ((${staged:-0} > max_staged)) && max_staged=$staged
                ((host_tmp > max_tmp)) && max_tmp=$host_tmp
                sleep 0.2
        done
        echo "$max_staged $((max_tmp - tmp_before))"
}
# expect_staging WHAT "STAGED GROWN" [USED]: s3fs staged something (USED "used", the default; "any" where
# s3fs may fail before staging a byte), at most 96 MiB; the host's /tmp grew less than 32 MiB
expect_staging() {
        local staged=${2% *} grown=${2#* } used=${3:-used}
        echo "# staging ($1): at most $((staged >> 20)) MiB in s3fs's /tmp; the host's /tmp grew $((grown >> 20)) MiB at most"
        [ "$used" = any ] && used=$( ((staged > 0)) && echo used || echo unused)
        expect_eq "staging ($1): s3fs staged in its own /tmp, never more than 96 MiB" "$used, within" \
                "$( ((staged > 0)) && echo used || echo unused), $( ((staged <= 96 << 20)) && echo within || echo beyond)"
        expect_eq "staging ($1): the host's /tmp did not grow with the object (less than 32 MiB)" "yes" \
                "$( ((grown < 32 << 20)) && echo yes || echo "no: $((grown >> 20)) MiB")"
}
BB_TIMEOUT=240 start_bg_afresh big acme 'echo ready; '"$barrier"'; md5sum /datasets/bucket/big.bin'
wait_until 30 in_container big
go acme
staging=$(sample big)
expect_eq "staging (read): a 200 MiB object reads whole through a 96 MiB staging area (its checksum)" "0 $big_sum" \
        "$(wait_rc big) $(out_of big | tail -1 | cut -d' ' -f1)"
expect_staging read "$staging"
wait_until 10 no_s3fs
cat >>"$node_dir/notebooks/acme/nb1/.gradient/settings.yaml" <<EOT
  readOnly: false
EOT
# write_object MIB: a container writes an object of MIB MiB; "EXIT CP_STATUS STAGED GROWN", and in
# $work/written-MIB its checksum (the container's, then the server's)
write_object() {
        BB_TIMEOUT=300 start_bg_afresh "w$1" acme 'dd if=/dev/urandom of=/notebooks/w.bin bs=1M count='"$1"' 2>/dev/null; md5sum /notebooks/w.bin; echo ready; '"$barrier"'; cp /notebooks/w.bin /datasets/bucket/w'"$1"'.bin; echo "cp: $?"'
        wait_until 60 in_container "w$1"
        go acme
        local staging
        staging=$(sample "w$1")
        echo "$(out_of "w$1" | grep w.bin | cut -d' ' -f1) $(curl -s "$S3_ENDPOINT/acme-data/w$1.bin" | md5sum | cut -d' ' -f1)" \
                >"$work/written-$1"
        echo "$(wait_rc "w$1") $(out_of "w$1" | tail -1 | cut -d' ' -f2) $staging"
        rm -f "$node_dir/notebooks/acme/nb1/w.bin"
        wait_until 10 no_s3fs
}
result=$(write_object 60)
written_sums=$(cat "$work/written-60")
expect_eq "staging (write): a 60 MiB object writes whole through a 96 MiB staging area (the server's checksum)" \
        "0 0 same" "$(cut -d' ' -f1,2 <<<"$result") $([ "${written_sums% *}" = "${written_sums#* }" ] && echo same || echo "differ: $written_sums")"
expect_staging "write of 60 MiB" "$(cut -d' ' -f3,4 <<<"$result")"
# Larger than the staging area: s3fs 1.90 then fails the write (its upload without a local copy
# has a bug, fixed in 1.91: s3fs-fuse #1747); later versions stream it. Either way, nothing spills.
result=$(write_object 150)
written_sums=$(cat "$work/written-150")
staged_150=used
if s3fs --version 2>&1 | grep -q 'V1\.90 '; then
        staged_150=any # the failing upload may give up before staging anything
        expect_eq "staging (write): a 150 MiB object through a 96 MiB staging area fails (s3fs 1.90), spilling nowhere" \
                "0 1" "$(cut -d' ' -f1,2 <<<"$result")"
else
        expect_eq "staging (write): a 150 MiB object writes whole through a 96 MiB staging area (the server's checksum)" \
                "0 0 same" "$(cut -d' ' -f1,2 <<<"$result") $([ "${written_sums% *}" = "${written_sums#* }" ] && echo same || echo "differ: $written_sums")"
fi
expect_staging "write of 150 MiB" "$(cut -d' ' -f3,4 <<<"$result")" "$staged_150"
wait_until 10 no_s3fs
settings beta beta-data "$S3_ENDPOINT"
settings gamma gamma-data "$S3_ENDPOINT"
start_bg_afresh first acme 'echo ready; '"$barrier"
start_bg_afresh second beta 'echo ready; '"$barrier"
wait_until 30 in_container first
wait_until 30 in_container second
start_bg_afresh third gamma 'echo ready'
expect_match "staging: a third mount past s3.staging_per_node (2 x 96 MiB) is refused, naming the keys" \
        "^1 nbmount: .*/datasets/bucket: the node's staging space for S3 mounts is taken \(2 mounts of s3.staging_per_mount 100663296 bytes, s3.staging_per_node 201326592 bytes in node.yaml\)" \
        "$(wait_rc third) $(hook_line_of third)"
go acme
go beta
wait_rc first >/dev/null
wait_rc second >/dev/null
wait_until 10 no_s3fs
start_bg_afresh fourth gamma 'echo ready; ls /datasets/bucket >/dev/null && echo listed'
expect_eq "staging: once they are gone, the next mount fits again" "0 listed" "$(wait_rc fourth) $(out_of fourth | tail -1)"
wait_until 10 no_s3fs

expect_eq "nbmountd's log has no sanitizer report" "" "$(grep -E 'Sanitizer|runtime error:' "$MOUNTD_LOG" | head -3)"
expect_eq "the key is in no log of nbmountd" 0 "$(grep -c -F "$key_secret" "$MOUNTD_LOG")"
exit 0
