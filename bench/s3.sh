#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The hook's time for an S3 mount through nbmountd, against a plain bind, side by side in one run:
#   first   a container whose settings.yaml has one S3 entry when nobody holds that bucket yet:
#           nbmountd starts s3fs and waits until it answers (every run starts from no s3fs)
#   share   a second container of the same team and bucket while a first one holds the mount:
#           a request to nbmountd, a reference, a tree fd passed back, mount_setattr, move_mount
#   plain   the same container with a read-only dataset (a local folder) instead of the S3 entry:
#           open_tree clone, mount_setattr, move_mount
# Each container also gets /notebooks and /storage, so all three make 3 mounts; all run `true`.
# Real runc containers, a real s3rver on loopback and a real nbmountd. The hook is timed alone
# (exec included) by a bash wrapper in config.json that takes $EPOCHREALTIME around
# `nbmount hook createRuntime` (and poststop); the whole `runc run` is timed around it too.
# Then the round trip to nbmountd on its own: `nbmount mounts` against `nbmount validate node`
# (the same exec and node.yaml read, no socket), with hyperfine; the share request alone, from a
# python client, back to back and 50 ms apart (a start finds nbmountd idle); and the write of the
# state file that nbmountd makes at every share and release (a new file, write, rename; with and
# without fsync).
# nbmountd's run folder (its socket, its mount points, its state file RUN/mountd.json) is on a tmpfs,
# as /run is on a systemd host: the bench mounts one there when /run is not a tmpfs.
#
# Usage: [RUN_ON_DISK=1] [WARMUP=N] bench/s3.sh [RUNS] (RUNS default 20, WARMUP default 2 rounds).
# RUN_ON_DISK=1 leaves the run folder on /run's file system whatever it is (on this machine's ext4,
# it measures what writing the state file on a disk costs).
# Root; needs runc, busybox-static, jq, s3fs, node, hyperfine, python3 and tests/s3 (./setup.sh).
# NBMOUNT=... NBMOUNTD=... measure other builds (no make).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
warmup=${WARMUP:-2}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench/s3.sh [RUNS]" >&2; exit 2; }
command -v hyperfine >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
. bench/lib/prelude.sh
bench_prelude bench/s3.sh runc busybox jq s3fs node hyperfine python3
[ -e "$S3RVER_JS" ] || { echo "bench/s3.sh: $S3RVER_JS is missing (run ./setup.sh)" >&2; exit 1; }

work=$(mktemp -d /tmp/nbmount-bench-s3.XXXXXX)
run_dir=/run/nbmount-bench-s3-$$
MOUNTD_LOG=$work/mountd.log
holder_pid= holder_id=
# Our s3fs processes: those whose command line names a mount point under our run dir.
our_s3fs() {
        local pid
        for pid in $(pgrep -x s3fs || true); do
                grep -qF "$run_dir/mounts/" "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
        done
        return 0
}
our_mounts() { grep -c " $run_dir/mounts/" /proc/self/mountinfo || true; }
cleanup() {
        set +e
        touch "$node/notebooks/acme/nbs3/go" 2>/dev/null
        bundle_cleanup # our runc containers (their poststop still reaches nbmountd), leftover mounts
        [ -n "$holder_pid" ] && kill "$holder_pid" 2>/dev/null && wait "$holder_pid" 2>/dev/null
        mountd_stop KILL
        s3_server_stop
        mountd_leftovers_remove "$run_dir"
        grep -q " $run_dir " /proc/self/mountinfo && umount -l "$run_dir"
        rm -rf "$run_dir" "$work"
}
node=$work/node
trap cleanup EXIT
trap 'echo "# interrupted" >&2; exit 1' INT TERM HUP PIPE

bundle_init "$work/bb" "$NBMOUNT" >"$work/init.log" 2>&1 || { cat "$work/init.log" >&2; exit 1; }
s3_server_start "$work/s3" bench-data || exit 1
make_sample_node "$node"
config=$node/node.yaml
mkdir -p "$run_dir"
if [ "${RUN_ON_DISK:-0}" != 1 ] && [ "$(findmnt -no FSTYPE -T /run)" != tmpfs ]; then
        mount -t tmpfs -o mode=0755,size=4m nbmount-bench-run "$run_dir"
fi
sed -i "s|^mountd_socket: .*|mountd_socket: $run_dir/mountd.sock|; s|^quota: .*|quota: {enforce: off}|;
        s|^s3: .*|s3: {allow_http: true, allow_private_endpoints: true}|" "$config"
printf 'bench-secret-%s\n' "$RANDOM$RANDOM" >"$node/secrets/acme/s3key"
chmod 600 "$node/secrets/acme/s3key"
mkdir -p "$node/notebooks/acme/nbs3/.gradient" "$node/notebooks/acme/nbplain/.gradient"
echo hello >"$node/datasets/dsimg7/v3/hello.txt"
cat >"$node/notebooks/acme/nbs3/.gradient/settings.yaml" <<EOT
data:
  type: s3
  url: s3://bench-data/nb
  accessKeyId: S3RVER
  secretAccessKey: secret:s3key
  endpoint: $S3_ENDPOINT
  readOnly: true
EOT
cat >"$node/notebooks/acme/nbplain/.gradient/settings.yaml" <<'EOT'
data:
  type: dataset
  id: dsimg7
EOT

# timed_hook STAGE LOG: a hook entry that runs nbmount's hook with stdin passed through and
# appends "start end rc" ($EPOCHREALTIME, no fork) to LOG.
timed_hook() {
        jq -nc --arg nbmount "$NBMOUNT" --arg stage "$1" --arg config "$config" --arg log "$2" '{path: "/bin/bash",
                args: ["bash", "-c", "s=$EPOCHREALTIME; \"$0\" \"$@\"; rc=$?; echo \"$s $EPOCHREALTIME $rc\" >>\($log); exit $rc",
                       $nbmount, "hook", $stage, "--config", $config]}'
}
# bench_bundle KIND NOTEBOOK CMD: a bundle of team acme, user alice (uid 1000), timed hooks.
bench_bundle() {
        make_bundle "$work/b-$1" --identity acme "$2" alice --user 1000:1000 --cmd "$3" \
                --hook-json createRuntime "$(timed_hook createRuntime "$work/$1.create")" \
                --hook-json poststop "$(timed_hook poststop "$work/$1.poststop")"
}
barrier='i=0; while [ ! -e /notebooks/go ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done'
bench_bundle first nbs3 true
bench_bundle share nbs3 true
bench_bundle plain nbplain true
bench_bundle holder nbs3 "echo ready; $barrier"

# run_timed KIND: `runc run` of KIND's bundle to the end, its wall time appended to WORK/KIND.run;
# a failed start stops the benchmark with runc's own message.
seq_id=0
run_timed() {
        local kind=$1 id s e rc=0
        seq_id=$((seq_id + 1))
        id=nbbench-s3-$$-$seq_id
        s=$EPOCHREALTIME
        runc --root "$BB_WORK/state/runc" run --bundle "$work/b-$kind" "$id" </dev/null \
                >"$work/$kind.out" 2>"$work/$kind.err" || rc=$?
        e=$EPOCHREALTIME
        runc --root "$BB_WORK/state/runc" delete -f "$id" >/dev/null 2>&1 || true
        if [ "$rc" != 0 ]; then
                echo "bench/s3.sh: $kind: runc run exited $rc: $(cat "$work/$kind.err")" >&2
                exit 1
        fi
        echo "$s $e" >>"$work/$kind.run"
}
wait_until() { # wait_until SECONDS COMMAND...: polls every 0.05 s
        local i
        for ((i = 0; i < $1 * 20; i++)); do "${@:2}" && return 0; sleep 0.05; done
        return 1
}
no_s3fs() { [ -z "$(our_s3fs)" ] && [ "$(our_mounts)" = 0 ]; }
holder_ready() { grep -q '^ready' "$work/holder.out" 2>/dev/null; }
start_holder() {
        rm -f "$node/notebooks/acme/nbs3/go" "$work/holder.out"
        seq_id=$((seq_id + 1))
        holder_id=nbbench-s3-$$-h$seq_id
        runc --root "$BB_WORK/state/runc" run --bundle "$work/b-holder" "$holder_id" </dev/null \
                >"$work/holder.out" 2>"$work/holder.err" &
        holder_pid=$!
        wait_until 30 holder_ready || { echo "bench/s3.sh: the holder did not start: $(cat "$work/holder.err")" >&2; exit 1; }
}
stop_holder() {
        touch "$node/notebooks/acme/nbs3/go"
        wait "$holder_pid" || { echo "bench/s3.sh: the holder failed: $(cat "$work/holder.err")" >&2; exit 1; }
        holder_pid=
        runc --root "$BB_WORK/state/runc" delete -f "$holder_id" >/dev/null 2>&1 || true
}

mountd_start "$config" || { echo "bench/s3.sh: nbmountd did not start: $(tail -3 "$MOUNTD_LOG")" >&2; exit 1; }

# One round: first (from no s3fs; its poststop is the last release, which unmounts), then a
# holder, then share and plain in alternating order, then the holder stops and s3fs goes.
round() {
        local n=$1
        no_s3fs || { echo "bench/s3.sh: an s3fs of ours is still there before round $n" >&2; exit 1; }
        run_timed first
        wait_until 10 no_s3fs || { echo "bench/s3.sh: s3fs still there after the first container stopped" >&2; exit 1; }
        start_holder
        local held
        held="$(our_s3fs | wc -l) $(our_mounts)"
        [ "$held" = "1 1" ] || { echo "bench/s3.sh: round $n: expected one s3fs and one mount, not $held" >&2; exit 1; }
        if ((n % 2)); then run_timed share; run_timed plain; else run_timed plain; run_timed share; fi
        [ "$(our_s3fs | wc -l)" = 1 ] || { echo "bench/s3.sh: the share start did not reuse the one s3fs" >&2; exit 1; }
        stop_holder
        wait_until 10 no_s3fs || { echo "bench/s3.sh: s3fs still there after the holder stopped" >&2; exit 1; }
}
for ((r = 1; r <= warmup; r++)); do round $r; done
rm -f "$work"/*.create "$work"/*.poststop "$work"/*.run
for ((r = 1; r <= runs; r++)); do round $r; done

# Correctness of what was measured: the share runs made no s3fs of their own (one "mounted" per
# first and holder start), and every hook exited 0.
mounted=$(grep -c ': mounted bench-data/nb' "$MOUNTD_LOG" || true)
[ "$mounted" = $((2 * (runs + warmup))) ] || echo "# warning: nbmountd mounted $mounted times, expected $((2 * (runs + warmup)))" >&2
if awk '$3 != 0 {bad = 1} END {exit !bad}' "$work"/*.create "$work"/*.poststop; then
        echo "bench/s3.sh: a hook exited non-zero" >&2
        exit 1
fi

# The round trip alone, with the holder's mount held (as in a share): exec + node.yaml + socket.
start_holder
for cmd in "$NBMOUNT --version" "$NBMOUNT validate node $config" "$NBMOUNT mounts --config $config"; do
        $cmd >/dev/null || { echo "bench/s3.sh: $cmd failed (above)" >&2; exit 1; }
done
hyperfine -N --warmup 20 --runs 300 --export-json "$work/rtt.json" \
        -n version "$NBMOUNT --version" \
        -n validate "$NBMOUNT validate node $config" \
        -n mounts "$NBMOUNT mounts --config $config" >"$work/hyperfine.log" 2>&1 ||
        { cat "$work/hyperfine.log" >&2; exit 1; }
# The share request alone, as the hook sends it for the holder (each one more use of its reference,
# all dropped by its poststop): 400 back to back, and 200 with 50 ms between them (as a start finds
# nbmountd: idle); medians in ms, python's own time included.
read -r share_warm share_idle <<<"$(python3 - "$run_dir/mountd.sock" "$holder_id" \
        "$(runc --root "$BB_WORK/state/runc" state "$holder_id" | jq .pid)" "$S3_ENDPOINT" "$work/b-holder/rootfs" <<'EOT'
import json, os, socket, statistics, sys, time
path, cid, pid, endpoint, rootfs = sys.argv[1:6]
request = json.dumps({"team": "acme", "bucket": "bench-data", "prefix": "nb", "endpoint": endpoint, "region": "",
                      "access_key_id": "S3RVER", "secret": "s3key", "read_only": True, "uid": 1000, "gid": 1000,
                      "op": "mount", "container": cid, "pid": int(pid), "start_wait_ms": 2000,
                      "target": "/datasets/data", "rootfs": rootfs, "notebook": "nbs3"}).encode()
def median_ms(n, gap):
    t = []
    for i in range(n):
        time.sleep(gap)
        s = time.perf_counter()
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as c:
            c.connect(path)
            c.send(request)
            reply, fds, _, _ = socket.recv_fds(c, 4096, 1)
            t.append((time.perf_counter() - s) * 1000)
        for fd in fds:
            os.close(fd)
        if b'"ok":true' not in reply:
            sys.exit("bench/s3.sh: the share request failed: %s" % reply.decode())
    return statistics.median(t)
print("%.3f %.3f" % (median_ms(400, 0), median_ms(200, 0.05)))
EOT
)"
stop_holder

# What nbmountd does on disk at every share and release: the state file replaced (a new file,
# write, rename), without and with an fsync before the rename (nbmountd fsynced until d387e87),
# 300 times each in the same folder; medians in ms.
read -r save_ms save_fsync_ms <<<"$(python3 - "$run_dir" <<'EOT'
import os, statistics, sys, time
d, data = sys.argv[1], b"x" * 828
def save(sync):
    fd = os.open(d + "/bench.json.new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    os.write(fd, data)
    if sync:
        os.fsync(fd)
    os.rename(d + "/bench.json.new", d + "/bench.json")
    os.close(fd)
def median_ms(sync):
    t = []
    for i in range(300):
        s = time.perf_counter()
        save(sync)
        t.append((time.perf_counter() - s) * 1000)
    return statistics.median(t)
print("%.2f %.2f" % (median_ms(False), median_ms(True)))
EOT
)"

# stats FILE: median and p90 (nearest rank) of (end - start) in ms.
stats() {
        awk '{print ($2 - $1) * 1000}' "$1" | sort -n | awk '{a[NR] = $1} END {
                med = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
                p = int(0.9 * NR); if (p < 0.9 * NR) p++
                printf "%.2f %.2f", med, a[p] }'
}
rtt_ms() { jq -r --arg n "$1" '.results[] | select(.command == $n) | "\(.median * 1000) \(.stddev * 1000)"' "$work/rtt.json"; }
read -r first_c first_c90 <<<"$(stats "$work/first.create")"
read -r share_c share_c90 <<<"$(stats "$work/share.create")"
read -r plain_c plain_c90 <<<"$(stats "$work/plain.create")"
read -r first_p first_p90 <<<"$(stats "$work/first.poststop")"
read -r share_p share_p90 <<<"$(stats "$work/share.poststop")"
read -r plain_p plain_p90 <<<"$(stats "$work/plain.poststop")"
read -r first_r first_r90 <<<"$(stats "$work/first.run")"
read -r share_r share_r90 <<<"$(stats "$work/share.run")"
read -r plain_r plain_r90 <<<"$(stats "$work/plain.run")"
read -r v_med _ <<<"$(rtt_ms version)"
read -r val_med _ <<<"$(rtt_ms validate)"
read -r m_med _ <<<"$(rtt_ms mounts)"

echo "Command: $([ "${RUN_ON_DISK:-0}" = 1 ] && echo "RUN_ON_DISK=1 ")bench/s3.sh $runs ($warmup warm-up rounds; state on $(findmnt -no FSTYPE -T "$run_dir"); $(runc --version | head -1); s3fs $(s3fs --version 2>&1 | grep -o 'V[0-9.]*' | head -1); kernel $(uname -r); $(nproc) cores)"
echo "nbmount: $NBMOUNT ($(cd "$(dirname "$NBMOUNT")/.." && git rev-parse --short HEAD 2>/dev/null || echo "not a git tree"))"
echo
printf '| case | hook createRuntime median | p90 | poststop median | p90 | whole `runc run` median | p90 |\n'
printf '| --- | --- | --- | --- | --- | --- | --- |\n'
for k in first share plain; do
        c=${k}_c c90=${k}_c90 p=${k}_p p90=${k}_p90 r=${k}_r r90=${k}_r90
        printf '| %s | %.1f ms | %.1f ms | %.1f ms | %.1f ms | %.1f ms | %.1f ms |\n' \
                "$k" "${!c}" "${!c90}" "${!p}" "${!p90}" "${!r}" "${!r90}"
done
echo
awk -v s="$share_c" -v p="$plain_c" -v sr="$share_r" -v pr="$plain_r" -v f="$first_c" 'BEGIN {
        printf "share ÷ plain: hook %.2f× (%+.2f ms), whole runc run %.2f× (%+.2f ms); first ÷ share: hook %.0f×\n",
                s / p, s - p, sr / pr, sr - pr, f / s }'
echo
echo "Round trip to nbmountd (hyperfine -N, 20 warm-up, 300 runs, one mount held; medians):"
awk -v v="$v_med" -v val="$val_med" -v m="$m_med" 'BEGIN {
        printf "| `nbmount --version` | %.2f ms |\n| `nbmount validate node` (exec + node.yaml) | %.2f ms |\n", v, val
        printf "| `nbmount mounts` (exec + node.yaml + one LIST round trip) | %.2f ms |\n", m
        printf "| mounts − validate: the socket round trip | %+.2f ms |\n", m - val }'
echo "| the share request alone (python, connect + request + reply with the mount's fd), back to back | $share_warm ms |"
echo "| the same, 50 ms apart (nbmountd idle before each, as at a start) | $share_idle ms |"
echo "| the state file replaced as nbmountd does (open O_CREAT, write 828 B, rename; python, 300 times) | $save_ms ms |"
echo "| the same with an fsync before the rename | $save_fsync_ms ms |"
