#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# One /storage for the cluster: roots on NFS, quotas kept by the storage server. Run INSIDE
# User-Mode Linux by tests/quota-check.sh, never on the host. One boot is the storage server (XFS
# with prjquota on /dev/ubda, exported by knfsd, `nbmount quota sync --watch` on it) and two nodes
# (two NFS mounts of the export, nosharecache: caches of their own; node.yaml each, with state
# folders of their own). TESTBED.md, "NFS in UML", says how knfsd runs here.
# Usage: tests/lib/uml-nfs.sh NBMOUNT FSX
# Prints "ok - quota nfs: NAME" / "not ok - quota nfs: NAME: why" lines; details on stderr.
set -u
NBMOUNT=$1 FSX=$2
cd "$(dirname "$0")/../.."
. tests/lib/uml-lib.sh

. tests/lib/testlib.sh
testlib_init "quota nfs:"
log() { echo "# ${SECONDS}s: $*" >&2; }

SRV=/run/srv EXPORT=/run/srv/export CFG=/run/cfg W=/tmp/nw
BLOCK=4096
NFS_SLACK=$((128 * 1024 + 4096)) # the NFS client reports statfs in blocks of its rsize
ERRNO_TEXT="No space left on device" # XFS reports a project quota as ENOSPC, and NFS passes it on

# --- the storage server: XFS with project quotas, exported ------------------------------------------
nfs_server() {
        mkdir -p /run/lmr/lib/modules && ln -sfn "/usr/lib/uml/modules/$(uname -r)" /run/lmr/lib/modules/ &&
                modprobe -d /run/lmr nfsd && modprobe -d /run/lmr nfs && modprobe -d /run/lmr nfsv3 &&
                mount -t tmpfs tmpfs /var/lib/nfs && mkdir -p /var/lib/nfs/rpc_pipefs /var/lib/nfs/v4recovery && touch /var/lib/nfs/etab /var/lib/nfs/rmtab &&
                mount -t nfsd nfsd /proc/fs/nfsd && rpcbind -w &&
                exportfs -o rw,no_root_squash,fsid=1,no_subtree_check,sync 127.0.0.1:$EXPORT &&
                rpc.mountd && rpc.nfsd -N 4 -N 4.1 -N 4.2 4
}
log "the storage server"
if uml_quota_fs xfs /dev/ubda $SRV >/tmp/mkfs.log 2>&1 && mkdir -p $EXPORT/{notebooks,storage,datasets} $CFG/grants &&
        nfs_server >/tmp/nfsd.log 2>&1; then
        ok "harness: XFS with prjquota on /dev/ubda, exported by knfsd (NFSv3)"
else
        not_ok "harness: XFS with prjquota on /dev/ubda, exported by knfsd (NFSv3)" "$(cat /tmp/mkfs.log /tmp/nfsd.log)"
        exit 0
fi

# node_yaml FILE ROOTS STATE: a node config with small plans (pro 20MB/10MB, growth 40MB/20MB),
# no overage cap, the shared grants, quota.remote_wait 2 s and remote_timeout 2 s.
node_yaml() {
        mkdir -p "$3"
        cat >"$1" <<EOT
cluster: east-1
roots: {notebooks: $2/notebooks, storage: $2/storage, datasets: $2/datasets}
grants: $CFG/grants
secrets: $CFG/secrets
state: $3
mountd_socket: /run/nbmount-test/mountd.sock
plans:
  free: {storage: 8MB, notebook: 4MB}
  pro: {storage: 20MB, notebook: 10MB}
  growth: {storage: 40MB, notebook: 20MB}
  enterprise: {storage: unlimited, notebook: unlimited}
billing: {price_per_gb_month: 0.29, overage_cap: 5MB}
quota: {enforce: required, remote_wait: 2, remote_timeout: 2}
EOT
}
node_yaml $CFG/server.yaml $EXPORT $CFG/server-state
for n in a b; do
        mkdir -p /run/n$n
        node_yaml $CFG/node-$n.yaml /run/n$n $CFG/state-$n
done
mkdir -p $CFG/secrets
uml_grant $CFG acme pro false alice bob
uml_grant $CFG beta pro false alice
chmod 755 $EXPORT/{notebooks,storage,datasets}
# actimeo=1: a file one node makes is seen by the other within a second (the default attribute
# and lookup caches keep a folder's listing for up to 30 s)
NFS_OPTS=vers=3,proto=tcp,nolock,hard,timeo=10,retrans=2,actimeo=1
if mount -t nfs -o $NFS_OPTS 127.0.0.1:$EXPORT /run/na 2>/tmp/mount.log &&
        mount -t nfs -o $NFS_OPTS,nosharecache 127.0.0.1:$EXPORT /run/nb 2>>/tmp/mount.log; then
        ok "harness: nodes a and b mount the export (NFSv3, hard, two caches)"
else
        not_ok "harness: nodes a and b mount the export" "$(cat /tmp/mount.log)"
        exit 0
fi
expect_eq "harness: the roots on the nodes are NFS (statfs type)" "nfs nfs" \
        "$(stat -f -c %T /run/na/storage /run/nb/notebooks | paste -sd' ')"

# --- the server's sync ----------------------------------------------------------------------------
sync_log=$CFG/sync.log
start_sync() {
        # each line stamped with the kernel's uptime when it came (a builtin read: no process to
        # wait for), then the time of day for the reader
        "$NBMOUNT" quota sync --watch --interval "${1:-10}" --config $CFG/server.yaml > >(while IFS= read -r line; do
                read -r up _ </proc/uptime; echo "$up $(date +%T.%N | cut -c1-12) $line"; done >>$sync_log) 2>&1 &
        sync_pid=$!
        local i
        for ((i = 0; i < 100; i++)); do grep -q 'full pass' $sync_log 2>/dev/null && return 0; sleep 0.05; done
        return 1
}
stop_sync() { kill "$sync_pid" 2>/dev/null && wait "$sync_pid" 2>/dev/null; }
registry=$SRV/.nbmount-projid
registry_id() { awk -F: -v n="$1" '{ id = $NF; sub(":[^:]*$", "") } $0 == n { print id }' $registry 2>/dev/null; }
limits_of() { uml_project_usage xfs $SRV | awk -v id="$1" '$1 == id { s = $3; h = $4 } END { print s + 0, h + 0 }'; }
usage_of() { uml_project_usage xfs $SRV | awk -v id="$1" '$1 == id { u = $2 } END { print u + 0 }'; }
folder_projid() { "$FSX" get "$1" | sed -n 's/^projid=\([0-9]*\) .*/\1/p'; }

if start_sync; then ok "server: nbmount quota sync --watch starts with a full pass"; else
        not_ok "server: nbmount quota sync --watch starts" "$(cat $sync_log)"
fi
expect_eq "server: nbmount check sees the sync running (lock held)" yes \
        "$([ "$(cat $CFG/server-state/quota-sync.status 2>/dev/null | sed -n 's/^pid //p')" = "$sync_pid" ] && echo yes || echo "no: $(cat $CFG/server-state/quota-sync.status 2>&1)")"
"$NBMOUNT" quota sync --config $CFG/server.yaml >/tmp/second.out 2>&1
expect_eq "server: a second sync is refused while one runs" \
        "2|nbmount: $CFG/server-state/quota-sync.lock: another nbmount quota sync runs on this server (Resource temporarily unavailable)" \
        "$?|$(cat /tmp/second.out)"

# --- containers on the nodes ----------------------------------------------------------------------
if uml_bundles $W "$NBMOUNT" "$FSX" >$W.init.log 2>&1; then ok "harness: busybox bundles for runc"; else
        not_ok "harness: busybox bundles for runc" "$(cat $W.init.log)"
        exit 0
fi
mkdir -p $W/b
bundle_no=0
capture_hook() { # CONFIG FILE: the createRuntime hook with its stderr appended to FILE
        printf '{"path": "/bin/sh", "args": ["sh", "-c", "exec \\"$0\\" hook createRuntime --config \\"$1\\" 2>>\\"$2\\"", "%s", "%s", "%s"]}' \
                "$NBMOUNT" "$1" "$2"
}
# start NODE TEAM NOTEBOOK CMD: runs a container of TEAM/NOTEBOOK on node NODE (no seccomp
# profile at all: network roots need no guard); sets run_* and hook_err.
start() {
        : >$W/hook.err
        new_bundle --user 1000:1000 --identity "$2" "$3" alice --cmd "$4" \
                --hook-json createRuntime "$(capture_hook $CFG/node-$1.yaml $W/hook.err)"
        run_runc "$bundle"
        hook_err=$(cat $W/hook.err)
}
# start_bg_on NAME NODE TEAM NOTEBOOK CMD: the same in the background (bundle.sh's out/NAME.*)
start_bg_on() {
        make_bundle "$BB_WORK/b-$1" --identity "$3" "$4" alice --config $CFG/node-$2.yaml --user 1000:1000 --cmd "$5" &&
                (run_runc "$BB_WORK/b-$1" "$1"; echo "$run_rc" >"$BB_WORK/out/$1.rc") &
}
out_line() { printf '%s\n' "$run_out" | sed -n "s|^$1||p" | head -1; }
statfs_bytes() { local b s; read -r b s <<<"$1"; echo $((${b:-0} * ${s:-0})); }

log "a first start on node a: the folders are made over NFS, the server applies the plan ($(date +%T.%N | cut -c1-12))"
t0=$SECONDS
start a acme nb1 "echo started; echo \"storage \$(stat -f -c '%b %S' /storage)\"; echo \"notebooks \$(stat -f -c '%b %S' /notebooks)\""
if started; then ok "node a: the first start of acme/nb1 (no seccomp profile) starts"; else
        not_ok "node a: the first start of acme/nb1 starts" "exit $run_rc, hook «$hook_err», $(oneline "$run_err")"
fi
team_id=$(registry_id team.acme) nb_id=$(registry_id notebook.acme/nb1)
expect_eq "server: the registry on the server's XFS has team.acme and notebook.acme/nb1" yes \
        "$([ -n "$team_id" ] && [ -n "$nb_id" ] && echo yes || echo "no: $(cat $registry 2>&1)")"
expect_eq "server: the folders made by node a are in their projects" "$team_id $nb_id" \
        "$(folder_projid $EXPORT/storage/east-1/acme) $(folder_projid $EXPORT/notebooks/acme/nb1)"
read -r soft hard <<<"$(limits_of "$team_id")"
expect_near "server: team.acme soft limit = 20MB (pro)" 20000000 "$soft" $BLOCK
expect_near "server: team.acme hard limit = 20MB (no card)" 20000000 "$hard" $BLOCK
expect_near "node a: stat -f /storage in the container shows the plan (20MB)" 20000000 "$(statfs_bytes "$(out_line 'storage ')")" $NFS_SLACK
expect_near "node a: stat -f /notebooks in the container shows the plan (10MB)" 10000000 "$(statfs_bytes "$(out_line 'notebooks ')")" $NFS_SLACK
echo "# first start: hook: $hook_err; now $(date +%T.%N | cut -c1-12): stat -f on node a: $(stat -f -c '%b*%S' /run/na/storage/east-1/acme /run/na/notebooks/acme/nb1 | paste -sd' '), on the server: $(stat -f -c '%b*%S' $EXPORT/storage/east-1/acme $EXPORT/notebooks/acme/nb1 | paste -sd' ')" >&2
echo "# the server's sync log after the first start:" >&2
sed 's/^/#   /' $sync_log >&2
log "first start took $((SECONDS - t0)) s"

log "the same team on both nodes at once"
BB_CONFIG=$CFG/node-a.yaml
rm -f $BB_WORK/out/wa.* $BB_WORK/out/wb.*
# wait_for FILE: up to 15 s (each node sees the other's new files within actimeo=1)
WAIT_FN='wait_for() { i=0; while [ ! -f "$1" ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done; }'
# fill NAME: 64 KiB at a time, each written back at once (fsync), until the server says no
FILL_FN='fill() { n=0; while e=$(dd if=/dev/zero of=/storage/$1 bs=65536 count=1 seek=$n conv=notrunc,fsync 2>&1); do n=$((n + 1)); done; echo "stopped after $n chunks: $(echo "$e" | tail -1)"; }'
start_bg_on wa a acme nb1 "$WAIT_FN; $FILL_FN; echo ready; echo from-a >/storage/shared; wait_for /storage/from-b; cat /storage/from-b; echo \"df \$(stat -f -c '%b %S' /storage)\"; fill fill-a"
start_bg_on wb b acme nb2 "$WAIT_FN; $FILL_FN; echo ready; wait_for /storage/shared; cat /storage/shared; echo from-b >/storage/from-b; echo \"df \$(stat -f -c '%b %S' /storage)\"; fill fill-b"
rc_a=$(wait_rc wa) rc_b=$(wait_rc wb)
expect_eq "nodes a and b: both containers ran" "0 0" "$rc_a $rc_b"
expect_eq "node b reads what node a wrote, node a what node b wrote" "from-a|from-b" \
        "$(out_of wb | grep '^from-a')|$(out_of wa | grep '^from-b')"
expect_near "node a: df (stat -f /storage) in the container shows the plan" 20000000 \
        "$(statfs_bytes "$(out_of wa | sed -n 's/^df //p')")" $NFS_SLACK
expect_near "node b: df (stat -f /storage) in the container shows the plan" 20000000 \
        "$(statfs_bytes "$(out_of wb | sed -n 's/^df //p')")" $NFS_SLACK
# Over NFS a write is kept by the server only once written back, and ENOSPC comes with the
# write-back: the writers fsync every 64 KiB, and what counts is what the server kept.
size_a=$(stat -c %s $EXPORT/storage/east-1/acme/fill-a) size_b=$(stat -c %s $EXPORT/storage/east-1/acme/fill-b)
used=$(usage_of "$team_id")
echo "# nfs: node a's container: $(oneline "$(out_of wa)"); node b's: $(oneline "$(out_of wb)")" >&2
expect_has "node a's writer stops with $ERRNO_TEXT" "$(out_of wa)" "$ERRNO_TEXT"
expect_has "node b's writer stops with $ERRNO_TEXT" "$(out_of wb)" "$ERRNO_TEXT"
echo "# nfs: combined writes of two nodes: the server kept a $size_a + b $size_b = $((size_a + size_b)) bytes, $((20000000 - size_a - size_b)) short of the plan (20000000); the project's usage is $used bytes"
expect_near "both nodes' writers together: the server kept the plan (20MB) within one write-back flush (1 MiB)" \
        20000000 $((size_a + size_b)) $((1024 * 1024))
expect_near "the server counts the team's project at its plan (20MB) after both writers stopped" 20000000 "$used" $((1024 * 1024))

log "a new notebook on node b: its first write is counted"
start b acme nb3 "echo started; dd if=/dev/zero of=/notebooks/first bs=65536 count=16 2>/dev/null; sync; echo \"notebooks \$(stat -f -c '%b %S' /notebooks)\""
nb3_id=$(registry_id notebook.acme/nb3)
if started; then ok "node b: a new notebook acme/nb3 starts"; else
        not_ok "node b: a new notebook acme/nb3 starts" "exit $run_rc, hook «$hook_err»"
fi
used=$(usage_of "${nb3_id:-x}")
echo "# nfs: nb3's first write of 1 MiB: the server counts $used bytes in its project" >&2
expect_eq "server: the first write of nb3 (1 MiB) is counted in its project (XFS may count its preallocation too)" yes \
        "$([ "$used" -ge 1048576 ] && echo yes || echo "no: $used")"
expect_near "node b: stat -f /notebooks shows nb3's plan (10MB, within the client's 128 KiB blocks)" 10000000 "$(statfs_bytes "$(out_line 'notebooks ')")" $NFS_SLACK

log "nbmount check and nbmount quota on a node and on the server"
"$NBMOUNT" check --config $CFG/node-a.yaml >/tmp/check-a.out 2>&1
expect_has "node a: nbmount check names the export, its options (hard), and sees the server's limits" "$(cat /tmp/check-a.out)" \
        "ok    network root: /run/na/storage: nfs from 127.0.0.1:$EXPORT (" ",hard," \
        "ok    quota: /run/na/storage/east-1: 1 of its 1 folders show the storage server's limit through statfs"
"$NBMOUNT" check --config $CFG/server.yaml >/tmp/check-srv.out 2>&1
expect_has "server: nbmount check says the sync runs" "$(cat /tmp/check-srv.out)" "ok    quota sync: nbmount quota sync runs"
"$NBMOUNT" quota --notebooks --json --config $CFG/node-b.yaml >/tmp/quota-b.json 2>&1
expect_eq "node b: nbmount quota --json: seen through nfs, acme's storage and notebooks with use and plan" \
        "nfs|acme - pro 20000000|acme nb1 pro 10000000|acme nb2 pro 10000000|acme nb3 pro 10000000" \
        "$(jq -r '.seen_through' /tmp/quota-b.json 2>&1)|$(jq -r '.projects[] | "\(.team) \(.notebook // "-") \(.plan) \(.allowance_bytes)"' /tmp/quota-b.json 2>&1 | paste -sd'|')"
# XFS trims a file's speculative preallocation some time after it is closed: nb3's 1 MiB counts
# 1 to 2 MiB, depending on when it is read
nb3_used=$(jq -r '.projects[] | select(.notebook == "nb3") | .used_bytes' /tmp/quota-b.json 2>&1)
expect_eq "node b: nbmount quota: nb3's use is its project's as the server counts it (1 MiB written; 2 MiB with XFS's preallocation)" yes \
        "$([ "$nb3_used" -ge 1048576 ] 2>/dev/null && [ "$nb3_used" -le $((2 * 1048576 + NFS_SLACK)) ] && echo yes || echo "no: $nb3_used (the server: $(usage_of "${nb3_id:-x}"))")"

log "chattr -p 0 over NFS"
start a acme nb1 "echo started; fsx set /storage/shared 0; fsx fset /storage/shared 0; fsx set /storage 0"
expect_has "node a: the container cannot change a project id over NFS (ioctl and file_setattr fail)" \
        "$run_out" "/storage/shared: get: Inappropriate ioctl for device" "/storage: get: Inappropriate ioctl for device" "file_setattr projid 0: Function not implemented"
expect_eq "server: /storage/shared and the team folder stay in team.acme" "$team_id $team_id" \
        "$(folder_projid $EXPORT/storage/east-1/acme/shared) $(folder_projid $EXPORT/storage/east-1/acme)"

log "plan upgrade while a container runs"
rm -f $EXPORT/storage/east-1/acme/fill-*
BB_CONFIG=$CFG/node-b.yaml
rm -f $BB_WORK/out/up.*
start_bg_on up b acme nb2 "echo ready; i=0; while [ \$i -lt 100 ]; do read -r up _ </proc/uptime; echo \"df \$up \$(stat -f -c '%b %S' /storage)\"; sleep 0.05; i=\$((i + 1)); done"
for ((i = 0; i < 100; i++)); do in_container up && break; sleep 0.1; done
# the new grants are made beside, then renamed into place (as the control plane writes them): the
# time counts from the change itself, not from jq's start in this slow machine. Times are the kernel's
# uptime (10 ms steps), the same inside the container: its date has no sub-second format
mkdir -p $CFG/next/grants
uml_grant $CFG/next acme growth false alice bob
read -r t_grant _ </proc/uptime
mv $CFG/next/grants/acme.json $CFG/grants/acme.json
wait_rc up >/dev/null
seen=$(out_of up | awk -v t="$t_grant" '$1 == "df" && $2 > t && $3 * $4 >= 39000000 { print $2 - t; exit }')
echo "# nfs: pro -> growth seen in a container's df after ${seen:-never} s; the samples around the change (seconds from it, blocks, block size): $(out_of up | awk -v t="$t_grant" '$1 == "df" { d = $2 - t; if (d > -0.5 && d < 1.5) printf "%.3f:%s ", d, $3 }')" >&2
echo "# nfs: plan upgrade pro -> growth seen in a running container's stat -f after ${seen:-never} s"
expect_eq "plan upgrade pro -> growth: a running container's df shows 40MB within 1 s" yes \
        "$(awk -v s="${seen:-99}" 'BEGIN { print (s < 1.0 ? "yes" : "no: " s " s") }')"

log "grants changes: a card added, the team removed"
# limits_are ID SOFT HARD: the server's limits of project ID are those (within a block)
limits_are() {
        local soft hard
        read -r soft hard <<<"$(limits_of "$1")"
        ((soft - $2 < BLOCK && $2 - soft < BLOCK && hard - $3 < BLOCK && $3 - hard < BLOCK))
}
# elapsed_until SECONDS CMD...: how long CMD took to hold (polled every 0.1 s), or "never"
elapsed_until() {
        local t0
        t0=$(date +%s.%N)
        if wait_until "$@"; then awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; else echo never; fi
}
uml_grant $CFG gamma pro false alice
mkdir -p $EXPORT/notebooks/gamma/g1
g1_took=$(elapsed_until 5 eval '[ -n "$(registry_id notebook.gamma/g1)" ] && limits_are "$(registry_id notebook.gamma/g1)" 10000000 10000000')
g1_id=$(registry_id notebook.gamma/g1)
# applied_after UPTIME TEAM: seconds from UPTIME to the sync's first line after it that set a
# limit for TEAM's grants change (its log is stamped on the kernel's uptime), or "never". The
# sync's own time, not this slow machine's polling of xfs_quota.
applied_after() {
        awk -v t="$1" -v team="team $2: grants changed" '$1 > t && index($0, team) && !/ 0 limits set/ { printf "%.2f", $1 - t; found = 1; exit }
                END { if (!found) print "never" }' $sync_log
}
mkdir -p $CFG/next/grants
uml_grant $CFG/next gamma pro true alice
read -r t_card _ </proc/uptime
mv $CFG/next/grants/gamma.json $CFG/grants/gamma.json
card_took=$(elapsed_until 5 limits_are "${g1_id:-x}" 10000000 15000000)
read -r t_removed _ </proc/uptime
rm $CFG/grants/gamma.json
removed_took=$(elapsed_until 5 limits_are "${g1_id:-x}" 1024 1024)
card_applied=$(applied_after "$t_card" gamma) removed_applied=$(applied_after "$t_removed" gamma)
echo "# nfs: a new folder made on the server had its limits after $g1_took s; a card added: applied by the sync after $card_applied s, seen by xfs_quota after $card_took s; the team removed (frozen): $removed_applied s, seen $removed_took s"
expect_eq "server: a card added (hard limit 10MB -> 15MB) and the team removed (frozen at 1 KiB): the server's limits follow" \
        "yes yes" "$([ "$card_took" != never ] && echo yes || echo "no: $(limits_of "${g1_id:-x}")") $([ "$removed_took" != never ] && echo yes || echo "no: $(limits_of "${g1_id:-x}")")"
expect_eq "server: the sync applied each within 1 s of the change" \
        "yes yes" "$(awk -v a="$card_applied" -v b="$removed_applied" 'BEGIN { print (a != "never" && a < 1 ? "yes" : "no: " a), (b != "never" && b < 1 ? "yes" : "no: " b) }')"

log "a brand-new notebook with the sync stopped"
stop_sync
start b acme nb4 "echo started"
expect_eq "sync stopped, required: the start of a new notebook is refused, naming the server's job" \
        "not started|yes" \
        "$(started && echo started || echo 'not started')|$(grep -q 'nbmount quota sync --watch' <<<"$hook_err" && grep -q 'quota.remote_wait' <<<"$hook_err" && echo yes || echo "no: $hook_err")"
sed -i 's/enforce: required/enforce: best-effort/' $CFG/node-b.yaml
start b acme nb5 "echo started"
expect_eq "sync stopped, best-effort: it starts with one warning" "started|1" \
        "$(started && echo started || echo 'not started')|$(grep -c 'quota not verified' <<<"$hook_err")"
sed -i 's/enforce: best-effort/enforce: required/' $CFG/node-b.yaml

log "the sync killed mid-pass and restarted"
for ((i = 0; i < 400; i++)); do mkdir -p $EXPORT/notebooks/beta/n$i; done
"$NBMOUNT" quota sync --config $CFG/server.yaml >/tmp/pass1.out 2>&1 &
p=$!
sleep 0.3
kill -9 $p 2>/dev/null
wait $p 2>/dev/null
before=$(grep -c '^notebook.beta/' $registry)
"$NBMOUNT" quota sync --config $CFG/server.yaml >/tmp/pass2.out 2>&1
echo "# nfs: killed pass had registered $before of 400 beta notebooks; the rerun: $(cat /tmp/pass2.out)" >&2
dups=$(awk -F: '{ sub(":[^:]*$", ""); print }' $registry | sort | uniq -d | wc -l)
id_dups=$(awk -F: '{ print $NF }' $registry | sort | uniq -d | wc -l)
# one lsattr and one awk for the 400 folders (a process costs tens of ms in UML)
wrong=$(lsattr -dp $EXPORT/notebooks/beta/n* 2>&1 | awk -v reg=$registry '
        BEGIN { while ((getline line < reg) > 0) { n = split(line, f, ":"); name = substr(line, 1, length(line) - length(f[n]) - 1); id[name] = f[n] } }
        { split($3, p, "/"); if (id["notebook.beta/" p[length(p)]] != $1) bad++ } END { print bad + 0 }')
expect_eq "killed and restarted: every name and id once in the registry, all 400 folders in their projects" \
        "0 0 0" "$dups $id_dups $wrong"
"$NBMOUNT" quota sync --config $CFG/server.yaml >/tmp/pass3.out 2>&1
expect_has "a third pass changes nothing" "$(cat /tmp/pass3.out)" "0 limits set, 0 walked" " 0 failed"
start_sync

log "the server unreachable"
# a container (unguarded: its poststop would remove quota stamps on a local root) that ends while
# the server is away: its poststop must not ask the export anything
rm -f $BB_WORK/out/away.*
start_bg_on away a acme nb1 "echo ready; sleep 4"
for ((i = 0; i < 100; i++)); do in_container away && break; sleep 0.1; done
rpc.nfsd 0 >/dev/null 2>&1
t0=$(date +%s.%N)
start a acme nb1 "echo started"
t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "# nfs: a start with the server away ended after $t s" >&2
expect_eq "server away: the start is refused within the 2 s remote_timeout (+ runc), naming the root" "not started|yes|yes" \
        "$(started && echo started || echo 'not started')|$(grep -q "/run/na/notebooks: no answer within 2000 ms (quota.remote_timeout)" <<<"$hook_err" && echo yes || echo "no: $hook_err")|$(awk -v t="$t" 'BEGIN { print (t < 10 ? "yes" : "no: " t " s") }')"
away_rc=$(BB_WAIT=20 wait_rc away)
expect_eq "server away: a container that ends meanwhile stops (its poststop asks the export nothing)" "0" "$away_rc"
rpc.nfsd -N 4 -N 4.1 -N 4.2 4 >/dev/null 2>&1
stop_sync
echo "# the server's sync log:" >&2
sed 's/^/#   /' $sync_log >&2
testlib_end
