#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The quota tests that need a kernel with project quotas: run INSIDE User-Mode Linux by
# tests/quota-check.sh (one boot per file system), never on the host.
# Usage: tests/lib/uml-quota.sh xfs|ext4 NBMOUNT FSX
#   /dev/ubda  the quota file system (mkfs'd here, mounted with prjquota on /run/q)
#   /dev/ubdb  the same file system type without quotas (/run/nq)
#   /dev/ubdc  accounting only: XFS mounted with pqnoenforce, ext4 with the quota and project
#              features but mounted without prjquota (/run/aq)
#   /dev/ubdd  a quota file system reached only through bind mounts of its subfolders
# Prints "ok - quota FS: NAME" / "not ok - quota FS: NAME: why" lines; details on stderr.
set -u
FS=$1 NBMOUNT=$2 FSX=$3
cd "$(dirname "$0")/../.."
. tests/lib/uml-lib.sh

. tests/lib/testlib.sh
testlib_init "quota $FS:"
log() { echo "# ${SECONDS}s: $*" >&2; }

Q=/run/q NQ=/run/nq AQ=/run/aq
W=/tmp/qw
SECCOMP=packaging/seccomp/nbmount-quota.json
ERRNO_TEXT="Disk quota exceeded"
[ "$FS" = xfs ] && ERRNO_TEXT="No space left on device" # XFS reports a project quota as ENOSPC

# --- the file systems ------------------------------------------------------------------------------
if uml_quota_fs "$FS" /dev/ubda $Q >/tmp/mkfs.log 2>&1; then
        ok "harness: $FS on /dev/ubda mounted with prjquota"
else
        not_ok "harness: $FS on /dev/ubda mounted with prjquota" "$(cat /tmp/mkfs.log)"
        exit 0
fi
uml_quota_fs "$FS" /dev/ubdb $NQ noquota >&2 || not_ok "harness: $FS without quotas on /dev/ubdb" "see stderr"
if [ "$FS" = xfs ]; then
        mkfs.xfs -q -f /dev/ubdc && mkdir -p $AQ && mount -o pqnoenforce /dev/ubdc $AQ
else
        mkfs.ext4 -q -F -O quota,project -E quotatype=prjquota /dev/ubdc && mkdir -p $AQ && mount /dev/ubdc $AQ
fi >&2 || not_ok "harness: $FS with quota accounting only on /dev/ubdc" "see stderr"
BLOCK=$(uml_fs_block $Q)

# usage_of ID: the bytes the kernel accounts to project ID (0 when it reports none).
usage_of() { uml_project_usage "$FS" "${2:-$Q}" | awk -v id="$1" '$1 == id { u = $2 } END { print u + 0 }'; }
limits_of() { uml_project_usage "$FS" "${2:-$Q}" | awk -v id="$1" '$1 == id { s = $3; h = $4 } END { print s + 0, h + 0 }'; }
as_user() { setpriv --reuid 1000 --regid 1000 --clear-groups "$@"; }

# --- the harness: a project quota set by hand, a uid-1000 writer -----------------------------------
log "the harness: a project quota set by hand, a uid-1000 writer"
hand=$Q/hand
mkdir $hand && chown 1000:1000 $hand
if [ "$FS" = xfs ]; then
        xfs_quota -x -c "project -s -p $hand 42" $Q >&2 && xfs_quota -x -c 'limit -p bhard=10m 42' $Q >&2
else
        chattr -p 42 +P $hand && setquota -P 42 0 10240 0 0 $Q
fi
expect_eq "harness: a hand-made project 42 on a folder" "projid=42 inherit=1" "$("$FSX" get $hand)"
read -r b s <<<"$(stat -f -c '%b %S' $hand)"
expect_eq "harness: stat -f on the folder shows the 10 MiB limit" 10485760 "$((b * s))"
before=$(usage_of 42)
out=$(as_user dd if=/dev/zero of=$hand/f bs=64k 2>&1)
rc=$?
size=$(stat -c %s $hand/f)
expect_eq "harness: a uid-1000 writer stops with $ERRNO_TEXT" "1 yes" "$rc $(grep -q "$ERRNO_TEXT" <<<"$out" && echo yes || echo "no: $out")"
expect_near "harness: the uid-1000 writer wrote the limit (less what the folder used)" $((10485760 - before)) "$size" "$BLOCK"
out=$(as_user "$FSX" set $hand 0)
as_user dd if=/dev/zero of=$hand/g bs=64k count=32 2>/dev/null
expect_eq "harness: without nbmount, the folder's owner leaves the project (chattr -p 0) and writes past it" \
        "fsx: $hand: projid set to 0|2097152" "$out|$(stat -c %s $hand/g 2>&1)"
rm -rf $hand

# --- the node and the bundles --------------------------------------------------------------------
log "the node and the bundles"
node=$Q/node
uml_node $node required
config=$node/node.yaml
registry=$Q/.nbmount-projid
if uml_bundles $W "$NBMOUNT" "$FSX" >$W.init.log 2>&1; then
        ok "harness: busybox bundles for runc on tmpfs"
else
        not_ok "harness: busybox bundles for runc on tmpfs" "$(cat $W.init.log)"
        exit 0
fi
mkdir -p $W/b
bundle_no=0
# with_stderr_capture FILE: the createRuntime hook through sh, its stderr appended to FILE (runc
# shows a hook's stderr only when it fails); no poststop.
capture_hook() {
        printf '{"path": "/bin/sh", "args": ["sh", "-c", "exec \\"$0\\" hook createRuntime --config \\"$1\\" 2>>\\"$2\\"", "%s", "%s", "%s"]}' \
                "$NBMOUNT" "$1" "$2"
}
hook_line() {
        printf '%s\n' "$run_err" | sed -n 's/.*stderr: \(nbmount: .*\)$/\1/p' | head -1 | sed 's/\\n"*$//; s/\\"/"/g'
}
out_line() { printf '%s\n' "$run_out" | sed -n "s|^$1||p" | head -1; }
expect_started() {
        if started; then ok "$1"; else not_ok "$1" "exit $run_rc, hook «$(hook_line)», stderr «$(oneline "$run_err")», out «$(oneline "$run_out")»"; fi
}
# project_name KIND TEAM NOTEBOOK: the project the plan gives that mount.
project_name() {
        "$NBMOUNT" plan --json --config "${4:-$config}" --team "$2" --notebook "$3" --user alice 2>/dev/null |
                jq -r --arg k "$1" '.mounts[] | select(.kind == $k) | .quota.project'
}
registry_id() { awk -F: -v n="$1" '{ id = $NF; sub(":[^:]*$", "") } $0 == n { print id }' "${2:-$registry}" 2>/dev/null; }
folder_projid() { "$FSX" get "$1" | sed -n 's/^projid=\([0-9]*\) .*/\1/p'; }

# The container that fills a folder: its statfs, then dd until the file system says no. (Not
# busybox df: for a path it statfs's the first mount of the same device, so with /notebooks and
# /storage from one file system `df /storage` shows /notebooks' numbers.)
# fill: in the container, writes TARGET/fill with 64 KiB blocks (600 at most: 39 MB, past every
# limit here), then block by block (a 64 KiB write that does not fit fails whole on XFS); prints
# "dd TARGET rc=RC size=BYTES ERROR".
FILL_FN='fill() {
        dd if=/dev/zero of=$1/fill bs=65536 count=600 2>/dev/null
        s=$(stat -c %s $1/fill 2>/dev/null || echo 0)
        err=$(dd if=/dev/zero of=$1/fill bs=4096 seek=$((s / 4096)) count=64 conv=notrunc 2>&1)
        rc=$?
        echo "dd $1 rc=$rc size=$(stat -c %s $1/fill 2>&1) $(echo "$err" | grep -v records | tr "\n" " ")"
}'
fill_cmd() { # TARGET...
        local t cmd="$FILL_FN
echo started; grep CapEff /proc/self/status"
        for t in "$@"; do
                cmd+="
echo \"statfs $t \$(stat -f -c '%b %S' $t)\"
fill $t"
        done
        printf '%s\n' "$cmd"
}
# check_fill LABEL TARGET PROJECT ID LIMIT USED_BEFORE [STATFS]: the fill container's results.
check_fill() {
        local label=$1 t=$2 project=$3 id=$4 limit=$5 before=$6 statfs=${7:-$5} line b s size
        line=$(out_line "statfs $t ")
        read -r b s <<<"$line"
        expect_near "$label: stat -f $t in the container shows the allowance" "$statfs" "$((${b:-0} * ${s:-0}))" "$BLOCK"
        line=$(out_line "dd $t ")
        size=$(sed -n 's/.*size=\([0-9]*\).*/\1/p' <<<"$line")
        expect_has "$label: dd on $t stops with $ERRNO_TEXT" "$line" "rc=1" "$ERRNO_TEXT"
        expect_near "$label: bytes written to $t + what the project used before = the limit" "$limit" \
                "$((${size:-0} + before))" "$BLOCK"
        expect_near "$label: the kernel accounts the limit to $project" "$limit" "$(usage_of "$id")" "$BLOCK"
}

# --- a start gives /storage and /notebooks their projects and limits ------------------------------
log "a start gives /storage and /notebooks their projects and limits"
log "node $node, $FS block $BLOCK"
storage=$node/storage/east-1/acme
notebook=$node/notebooks/acme/nb1
team_project=$(project_name storage acme nb1)
nb_project=$(project_name notebook acme nb1)
expect_eq "plan: project names" "team.acme notebook.acme/nb1" "$team_project $nb_project"
new_bundle --user 1000:1000 --identity acme nb1 alice --config $config --cmd 'echo started'
with_seccomp
run_runc $bundle
expect_started "first start (uid 1000, shipped seccomp rule): the container starts"
team_id=$(registry_id "$team_project")
nb_id=$(registry_id "$nb_project")
expect_eq "registry: $registry has exactly the two projects, ids 10000 and 10001" \
        "$nb_project $team_project|10000 10001" \
        "$(awk -F: '{ sub(":[^:]*$", ""); print }' $registry 2>&1 | sort | paste -sd' ')|$(awk -F: '{ print $NF }' $registry 2>&1 | sort -n | paste -sd' ')"
expect_eq "registry: the lock file is beside it" "regular file" "$(stat -c %F $Q/.nbmount-projid.lock 2>&1 | sed 's/regular empty file/regular file/')"
expect_eq "the storage folder is in project team.acme with PROJINHERIT" "projid=${team_id:-?} inherit=1" "$("$FSX" get $storage)"
expect_eq "the notebook folder is in its project with PROJINHERIT" "projid=${nb_id:-?} inherit=1" "$("$FSX" get $notebook)"
expect_eq "the folders are owned by the container's user" "1000:1000 1000:1000" "$(stat -c %u:%g $storage $notebook | paste -sd' ')"
# Limits within one block: quotactl takes KiB, and XFS rounds a limit up to whole blocks.
read -r soft hard <<<"$(limits_of "$team_id")"
expect_near "kernel: team.acme soft limit = 20MB (pro storage)" 20000000 "$soft" "$BLOCK"
expect_near "kernel: team.acme hard limit = 20MB (no card on file)" 20000000 "$hard" "$BLOCK"
read -r soft hard <<<"$(limits_of "$nb_id")"
expect_near "kernel: notebook soft limit = 10MB (pro notebook)" 10000000 "$soft" "$BLOCK"
expect_near "kernel: notebook hard limit = 10MB (no card on file)" 10000000 "$hard" "$BLOCK"
if [ "$FS" = xfs ]; then
        grace=$(xfs_quota -x -c 'state -p' $Q 2>&1 | sed -n 's/.*Blocks grace time: \[\([0-9]*\) days.*/\1/p' | head -1)
else
        grace=$(repquota -P $Q 2>&1 | sed -n 's/^Block grace time: \([0-9]*\)days.*/\1/p')
fi
if [ "${grace:-0}" -ge 36500 ] 2>/dev/null; then ok "kernel: the project block grace period is huge ($grace days)"; else
        not_ok "kernel: the project block grace period is huge" "grace «$grace» days"
fi

# --- the notebook's status file is the user's, and counted in the notebook's project --------------
mkdir $notebook/.gradient && chown 1000:1000 $notebook/.gradient
new_bundle --user 1000:1000 --identity acme nb1 alice --config $config --cmd 'echo started'
with_seccomp
run_runc $bundle
expect_started "with a .gradient folder: the container starts"
expect_eq "the status file is alice's and in the notebook's project (counted in its quota)" \
        "1000:1000 projid=${nb_id:-?}" \
        "$(stat -c %u:%g $notebook/.gradient/mounts.status 2>&1) $("$FSX" get $notebook/.gradient/mounts.status 2>&1 | cut -d' ' -f1)"

# --- the writer stops at the allowance -----------------------------------------------------------
log "the writer stops at the allowance"
used_team=$(usage_of "$team_id")
used_nb=$(usage_of "$nb_id")
new_bundle --user 1000:1000 --identity acme nb1 alice --config $config --cmd "$(fill_cmd /storage /notebooks)"
with_seccomp
run_runc $bundle
expect_started "no card: the fill container starts"
expect_eq "no card: the writer (uid 1000) has no capability (CAP_SYS_RESOURCE would pass an ext4 limit)" \
        "0000000000000000" "$(out_line 'CapEff:' | tr -d '\t ')"
check_fill "no card" /storage "$team_project" "$team_id" 20000000 "$used_team"
check_fill "no card" /notebooks "$nb_project" "$nb_id" 10000000 "$used_nb"

# --- card on file: the allowance + overage_cap ----------------------------------------------------
log "card on file: the allowance + overage_cap"
jq '.card_on_file = true' $node/grants/acme.json >$W/g && mv $W/g $node/grants/acme.json
new_bundle --user 1000:1000 --identity acme nb1 alice --config $config --cmd 'echo started; rm -f /storage/fill /notebooks/fill'
with_seccomp
run_runc $bundle
expect_started "card on file: a start after the grants change"
read -r soft hard <<<"$(limits_of "$team_id")"
expect_near "card on file: kernel team.acme soft limit stays 20MB" 20000000 "$soft" "$BLOCK"
expect_near "card on file: kernel team.acme hard limit = 20MB + 5MB" 25000000 "$hard" "$BLOCK"
read -r soft hard <<<"$(limits_of "$nb_id")"
expect_near "card on file: kernel notebook soft limit stays 10MB" 10000000 "$soft" "$BLOCK"
expect_near "card on file: kernel notebook hard limit = 10MB + 5MB" 15000000 "$hard" "$BLOCK"
used_team=$(usage_of "$team_id")
used_nb=$(usage_of "$nb_id")
new_bundle --user 1000:1000 --identity acme nb1 alice --config $config --cmd "$(fill_cmd /storage /notebooks)"
with_seccomp
run_runc $bundle
expect_started "card on file: the fill container starts"
check_fill "card on file" /storage "$team_project" "$team_id" 25000000 "$used_team" 20000000
check_fill "card on file" /notebooks "$nb_project" "$nb_id" 15000000 "$used_nb" 10000000

# --- the card removed: the hard limit falls back under what is used ------------------------------
log "the card removed: the hard limit falls back under what is used"
jq '.card_on_file = false' $node/grants/acme.json >$W/g && mv $W/g $node/grants/acme.json
new_bundle --user 1000:1000 --identity acme nb1 alice --config $config --cmd 'echo started
err=$(dd if=/dev/zero of=/storage/more bs=4096 count=1 2>&1); echo "more rc=$? $(echo "$err" | grep -v records | tr "\n" " ")"'
with_seccomp
run_runc $bundle
expect_started "card removed: the container starts"
read -r soft hard <<<"$(limits_of "$team_id")"
expect_near "card removed: kernel team.acme hard limit back to 20MB" 20000000 "$hard" "$BLOCK"
expect_has "card removed: one more block to /storage fails" "$(out_line 'more ')" "rc=1" "$ERRNO_TEXT"

# --- nbmount quota --------------------------------------------------------------------------------
log "nbmount quota"
# rows: the JSON rows of `nbmount quota ARGS --json` as "project id used files allowance hard over
# overage plan card team notebook" lines.
quota_rows() {
        "$NBMOUNT" quota "$@" --json --config $config 2>$W/quota.err |
                jq -r '(if type == "array" then . else (.rows // .projects) end)[]
                       | [.project, .project_id, .used_bytes, .used_files, (.allowance_bytes // "null"),
                          (.hard_bytes // "null"), .over_bytes, .overage_per_month, .plan, .card_on_file,
                          .team, (.notebook // "null")] | map(tostring) | join(" ")' 2>>$W/quota.err
}
rows=$(quota_rows acme --notebooks)
log "quota acme --notebooks --json: $("$NBMOUNT" quota acme --notebooks --json --config $config 2>&1)"
if [ -n "$rows" ]; then ok "quota acme --notebooks --json: answers"; else not_ok "quota acme --notebooks --json: answers" "$(cat $W/quota.err)"; fi
used_team=$(usage_of "$team_id")
over=$((used_team > 20000000 ? used_team - 20000000 : 0))
team_row=$(awk -v p="$team_project" '$1 == p' <<<"$rows")
expect_eq "quota: team.acme row: id, plan, card, allowance, hard, over" \
        "$team_project $team_id pro false 20000000 20000000 $over team=acme nb=null" \
        "$(awk '{ print $1, $2, $9, $10, $5, $6, $7, "team=" $11, "nb=" $12 }' <<<"$team_row")"
expect_eq "quota: team.acme overage_per_month = over_bytes / 1e9 * \$0.29, in cents" \
        "$(awk -v o=$over 'BEGIN { printf "%.2f", o / 1e9 * 0.29 }')" "$(awk '{ printf "%.2f", $8 }' <<<"$team_row")"
expect_eq "quota: the notebook row" "$nb_project $nb_id pro false 10000000 10000000 team=acme nb=nb1" \
        "$(awk -v p="$nb_project" '$1 == p { print $1, $2, $9, $10, $5, $6, "team=" $11, "nb=" $12 }' <<<"$rows")"
expect_eq "quota acme (without --notebooks): only the team row" "$team_project" "$(quota_rows acme | awk '{ print $1 }')"
"$NBMOUNT" quota --config $config >$W/quota.txt 2>&1
expect_eq "quota (table): exit 0 and a row for team.acme" "0 yes" "$? $(grep -q acme $W/quota.txt && echo yes || echo "no: $(cat $W/quota.txt)")"

# --- an unlimited plan: a project, no limit ------------------------------------------------------
log "unlimited plan"
uml_grant $node ent enterprise false alice
new_bundle --user 1000:1000 --identity ent nb1 alice --config $config --cmd 'echo started; echo "statfs $(stat -f -c "%b %S" /storage)"'
with_seccomp
run_runc $bundle
expect_started "unlimited plan: starts"
ent_id=$(registry_id "$(project_name storage ent nb1)")
expect_eq "unlimited plan: the folder has its project, the kernel no limit, stat -f the whole file system" \
        "projid=${ent_id:-?} inherit=1|0 0|$(stat -f -c '%b %S' $Q)" \
        "$("$FSX" get $node/storage/east-1/ent)|$(limits_of "$ent_id")|$(out_line 'statfs ')"
expect_eq "unlimited plan: quota --json shows allowance and hard limit null" "null null 0" \
        "$(quota_rows ent | awk '{ print $5, $6, $7 }')"

# --- the quota escape ----------------------------------------------------------------------------
log "the quota escape"
uml_grant $node esc free false alice
new_bundle --user 1000:1000 --identity esc nb1 alice --config $config --cmd 'echo started'
run_runc $bundle
expect_eq "escape: without seccomp rule or user namespace, required refuses the start" \
        "nbmount: container $run_id (team esc, notebook nb1, user alice): /notebooks: the container could leave its quota project: config.json has no linux.seccomp profile, so nothing stops chattr -p or chattr -P; add the rules of packaging/seccomp/nbmount-quota.json to linux.seccomp (runc, crun), or use the profile nbmount seccomp writes (podman, CRI-O); or run the container in a user namespace (quota.enforce is required)|not started" \
        "$(hook_line)|$(started && echo started || echo not started)"

escape_cmd="$FILL_FN"'
echo started
echo "get $(fsx get /storage)"
echo "set $(fsx set /storage 0)"
mkdir -p /storage/sub; echo "setsub $(fsx set /storage/sub 0)"
echo "after $(fsx get /storage)"
fill /storage'
new_bundle --user 1000:1000 --identity esc nb1 alice --config $config --cmd "$escape_cmd"
with_seccomp
run_runc $bundle
expect_started "escape: with the shipped seccomp rule the container starts"
esc_id=$(registry_id "$(project_name storage esc nb1)")
expect_eq "escape: chattr -p 0 on /storage fails with EPERM" \
        "fsx: /storage: set projid 0: Operation not permitted (errno EPERM)" "$(out_line 'set ')"
expect_eq "escape: chattr -p 0 on a folder the user made fails with EPERM" \
        "fsx: /storage/sub: set projid 0: Operation not permitted (errno EPERM)" "$(out_line 'setsub ')"
expect_eq "escape: /storage stays in the team's project" "projid=${esc_id:-?} inherit=1" "$(out_line 'after ')"
expect_near "escape: the free plan's 8MB still holds (kernel usage of team.esc)" 8000000 "$(usage_of "$esc_id")" "$BLOCK"
expect_has "escape: the writer stops with $ERRNO_TEXT" "$(out_line 'dd /storage ')" "rc=1" "$ERRNO_TEXT"

# A rule that denies the ioctl only for one fd (two args, ANDed by seccomp) does not protect.
jq '.syscalls[0].args += [{index: 0, value: 9999, op: "SCMP_CMP_EQ"}]' $SECCOMP >$W/weak-seccomp.json
uml_grant $node weak free false alice
new_bundle --user 1000:1000 --identity weak nb1 alice --config $config --cmd "$escape_cmd"
with_seccomp $W/weak-seccomp.json
run_runc $bundle
if ! started; then ok "escape: a rule denying the ioctl only when fd == 9999 is not taken for protection (refused)"; else
        not_ok "escape: a rule denying the ioctl only when fd == 9999 is not taken for protection (refused)" \
                "the container started and: $(out_line 'set ') / $(out_line 'dd /storage ')"
fi

# A profile that denies by default but allows ioctl unconditionally (as every stock profile does,
# /usr/share/containers/seccomp.json among them): libseccomp lets the unconditional ALLOW win over
# the conditional ERRNO, whatever their order, so the shipped rule merged into it protects nothing.
seccomp_allowlist $W/allowlist.json plain
uml_grant $node allow free false alice
new_bundle --user 1000:1000 --identity allow nb1 alice --config $config --cmd "$escape_cmd"
with_seccomp $W/allowlist.json
run_runc $bundle
if ! started; then ok "escape: a profile that also allows ioctl unconditionally is not taken for protection (refused)"; else
        not_ok "escape: a profile that also allows ioctl unconditionally is not taken for protection (refused)" \
                "the container started and: $(out_line 'set ') / $(out_line 'dd /storage ')"
fi
# The same profile with ioctl allowed only for requests other than FS_IOC_FSSETXATTR (the old
# README's recipe) lets FS_IOC_FSSETXATTR with a high bit set through, and every FS_IOC_SETFLAGS:
# refused. The one `nbmount seccomp --oci` makes of it (ioctl allowed through masked conditions on
# the low 32 bits only) protects.
seccomp_allowlist $W/allowlist-ne.json ne
uml_grant $node allowne free false alice
new_bundle --user 1000:1000 --identity allowne nb1 alice --config $config --cmd "$escape_cmd"
with_seccomp $W/allowlist-ne.json
run_runc $bundle
expect_eq "escape: a default-deny profile allowing ioctl only when the request is SCMP_CMP_NE FS_IOC_FSSETXATTR: refused" \
        "not started|nbmount: container $run_id (team allowne, notebook nb1, user alice): /notebooks: the container could leave its quota project: linux.seccomp.syscalls[" \
        "$(started && echo started || echo not started)|$(hook_line | sed 's/\(linux\.seccomp\.syscalls\[\).*/\1/')"
"$NBMOUNT" seccomp --oci >$W/nbmount-oci.json 2>$W/seccomp.err || not_ok "escape: nbmount seccomp --oci" "$(cat $W/seccomp.err)"
uml_grant $node masked free false alice
new_bundle --user 1000:1000 --identity masked nb1 alice --config $config --cmd "$escape_cmd"
with_seccomp $W/nbmount-oci.json
run_runc $bundle
expect_started "escape: the profile of nbmount seccomp --oci (ioctl allowed through masked conditions): starts"
expect_eq "escape: ... and chattr -p 0 fails with EPERM" \
        "fsx: /storage: set projid 0: Operation not permitted (errno EPERM)" "$(out_line 'set ')"
expect_has "escape: ... and the writer stops at the limit" "$(out_line 'dd /storage ')" "rc=1" "$ERRNO_TEXT"

# In a user namespace the kernel refuses a project change (EINVAL); no seccomp rule needed.
uml_grant $node ns free false alice
new_bundle --user 1000:1000 --identity ns nb1 alice --config $config --cmd "$escape_cmd"
with_userns
run_runc $bundle
expect_started "escape: a container with a user namespace starts without the seccomp rule"
expect_eq "escape: in a user namespace chattr -p 0 fails with EINVAL" \
        "fsx: /storage: set projid 0: Invalid argument (errno EINVAL)" "$(out_line 'set ')"
ns_id=$(registry_id "$(project_name storage ns nb1)")
expect_has "escape: user namespace: the writer (container uid 1000) stops at the free plan's 8MB" \
        "$(out_line 'dd /storage ')" "rc=1" "$ERRNO_TEXT"
expect_near "escape: user namespace: the kernel accounts 8MB to team.ns" 8000000 "$(usage_of "$ns_id")" "$BLOCK"
log "userns storage folder: $(stat -c '%u:%g %a' $node/storage/east-1/ns 2>&1)"

# CAP_SYS_RESOURCE: ext4 lets a process with it write past a project limit (XFS does not).
uml_grant $node capres free false alice
new_bundle --user 0:0 --identity capres nb1 alice --config $config --cmd "$FILL_FN
echo started; grep CapEff /proc/self/status; fill /storage"
with_seccomp
edit_config '.process.capabilities |= with_entries(.value += ["CAP_SYS_RESOURCE"])'
run_runc $bundle
if [ "$FS" = ext4 ]; then
        if ! started; then ok "CAP_SYS_RESOURCE: on ext4 a container holding it is refused (it would pass the limit)"; else
                not_ok "CAP_SYS_RESOURCE: on ext4 a container holding it is refused (it would pass the limit)" \
                        "it started ($(out_line 'CapEff:' | tr -d '\t ')) and its writer got «$(out_line 'dd /storage ')» against the free plan's 8MB"
        fi
else
        expect_started "CAP_SYS_RESOURCE: on XFS a container holding it starts"
        expect_has "CAP_SYS_RESOURCE: on XFS its writer still stops at the limit" "$(out_line 'dd /storage ')" "rc=1" "$ERRNO_TEXT"
fi

# A root container whose config.json has no process.capabilities: runc gives it none.
uml_grant $node nocaps free false alice
new_bundle --user 0:0 --identity nocaps nb1 alice --config $config --cmd "$FILL_FN
echo started; grep CapEff /proc/self/status; fill /storage"
with_seccomp
edit_config 'del(.process.capabilities)'
run_runc $bundle
expect_eq "a root container without process.capabilities starts with no capability" \
        "started 0000000000000000" "$(started && echo started || echo "not started: $(hook_line)") $(out_line 'CapEff:' | tr -d '\t ')"
expect_has "... and its writer stops at the limit" "$(out_line 'dd /storage ')" "rc=1" "$ERRNO_TEXT"

# A folder that existed before its first start: everything below it joins the project, and the
# walk neither follows a symlink nor touches what the symlink points at.
uml_grant $node pre free false alice
pre=$node/storage/east-1/pre
mkdir -p $pre/sub
dd if=/dev/zero of=$pre/big bs=1M count=3 status=none
dd if=/dev/zero of=$pre/sub/small bs=1M count=1 status=none
ln -s $node/grants $pre/out
mkfifo $pre/fifo
chown -R 1000:1000 $pre
chmod 770 $pre
new_bundle --user 1000:1000 --identity pre nb1 alice --config $config --cmd 'echo started; cat /storage/sub/small | wc -c'
with_seccomp
run_runc $bundle
expect_started "pre-existing folder: the container starts"
pre_id=$(registry_id "$(project_name storage pre nb1)")
expect_eq "pre-existing folder: its files and folders join team.pre, the symlink's target does not" \
        "${pre_id:-?} ${pre_id:-?} ${pre_id:-?} 0 0" \
        "$(folder_projid $pre/big) $(folder_projid $pre/sub) $(folder_projid $pre/sub/small) $(folder_projid $node/grants) $(folder_projid $node/grants/acme.json)"
used=$(usage_of "$pre_id")
if ((used >= 4194304 && used < 4194304 + 3 * BLOCK)); then ok "pre-existing folder: the kernel accounts its 4 MiB to team.pre"; else
        not_ok "pre-existing folder: the kernel accounts its 4 MiB to team.pre" "used $used"
fi

# --- quota.enforce: a filesystem that cannot enforce ---------------------------------------------
log "quota.enforce: a filesystem that cannot enforce"
# node_on DIR ENFORCE: a node whose roots are under DIR, team acme with storage on east-1.
node_on() { uml_node "$1" "$2"; }
start_on() { # CONFIG LABEL: a seccomp-protected uid-1000 start, the hook's stderr captured
        new_bundle --user 1000:1000 --identity acme nb1 alice --cmd 'echo started' \
                --hook-json createRuntime "$(capture_hook "$1" "$W/hook-$2.err")"
        with_seccomp
        : >"$W/hook-$2.err"
        run_runc $bundle
        hook_err=$(cat "$W/hook-$2.err")
}
node_on $NQ/node required
start_on $NQ/node/node.yaml nq-required
expect_eq "required, $FS without prjquota: refused with the folder, the mount and prjquota" \
        "not started|nbmount: container $run_id (team acme, notebook nb1, user alice): /notebooks: $NQ/node/notebooks/acme/nb1: project quotas are not enabled on the filesystem mounted at $NQ; mount it with -o prjquota$([ "$FS" = ext4 ] && echo ' (ext4: mkfs.ext4 -O quota,project)')" \
        "$(started && echo started || echo not started)|$hook_err"
node_on $NQ/node-be best-effort
start_on $NQ/node-be/node.yaml nq-best-effort
expect_started "best-effort, $FS without prjquota: starts"
expect_eq "best-effort: exactly one warning line, for the first folder" \
        "1|nbmount: warning: container $run_id: /notebooks: no quota (quota.enforce is best-effort): $NQ/node-be/notebooks/acme/nb1: project quotas are not enabled on the filesystem mounted at $NQ; mount it with -o prjquota$([ "$FS" = ext4 ] && echo ' (ext4: mkfs.ext4 -O quota,project)')" \
        "$(grep -c . <<<"$hook_err")|$hook_err"
node_on $NQ/node-off off
start_on $NQ/node-off/node.yaml nq-off
expect_started "off: starts"
expect_eq "off: nothing on stderr, no registry, folders without a project" "||projid=0 inherit=0" \
        "$hook_err|$(ls $NQ/.nbmount-projid 2>/dev/null)|$("$FSX" get $NQ/node-off/storage/east-1/acme 2>&1)"

node_on $AQ/node required
start_on $AQ/node/node.yaml aq-required
if ! started; then ok "required, quota accounting without enforcement ($([ "$FS" = xfs ] && echo pqnoenforce || echo 'ext4 quota,project mounted without prjquota')): refused"; else
        new_bundle --user 1000:1000 --identity acme nb1 alice --config $AQ/node/node.yaml --cmd "$(fill_cmd /storage)"
        with_seccomp
        run_runc $bundle
        not_ok "required, quota accounting without enforcement ($([ "$FS" = xfs ] && echo pqnoenforce || echo 'ext4 quota,project mounted without prjquota')): refused" \
                "the container started; a writer then got «$(out_line 'dd /storage ')» against a 20MB plan (limits set but not enforced)"
fi

node_on /tmp/tmpfs-node required
start_on /tmp/tmpfs-node/node.yaml tmpfs-required
expect_has "required, node on tmpfs: refused, the message says what to do" \
        "$(started && echo started || echo not started)|$hook_err" "not started|" \
        "/tmp/tmpfs-node/notebooks/acme/nb1 is on a filesystem without project quotas" "prjquota"

# --- roots that are bind mounts of folders of the quota file system ------------------------------
log "roots that are bind mounts of folders of the quota file system"
# The registry must be per file system: two bind mounts of one file system are one id space.
mkdir -p $Q/bind-nb $Q/bind-st /run/bnb /run/bst
mount --bind $Q/bind-nb /run/bnb && mount --bind $Q/bind-st /run/bst
node_on $Q/node-bind required
sed -i -e "s|^  notebooks: .*|  notebooks: /run/bnb|" -e "s|^  storage: .*|  storage: /run/bst|" $Q/node-bind/node.yaml
mkdir -p /run/bst/east-1
uml_grant $Q/node-bind bindteam free false alice
new_bundle --user 1000:1000 --identity bindteam nb1 alice --config $Q/node-bind/node.yaml --cmd 'echo started'
with_seccomp
run_runc $bundle
expect_started "bind-mounted roots: starts"
bt=$(folder_projid /run/bst/east-1/bindteam)
bn=$(folder_projid /run/bnb/bindteam/nb1)
expect_eq "bind-mounted roots: the projects are in the file system's registry ($registry)" \
        "$(registry_id team.bindteam) $(registry_id notebook.bindteam/nb1)|no registry in the bind mounts" \
        "$bt $bn|$(ls /run/bnb/.nbmount-projid /run/bst/.nbmount-projid 2>/dev/null || echo no registry in the bind mounts)"
dups=$(for id in $bt $bn; do awk -F: -v id="$id" '$NF == id { print $0 }' $registry /run/bnb/.nbmount-projid /run/bst/.nbmount-projid 2>/dev/null; done | sort | uniq)
expect_eq "bind-mounted roots: team.bindteam and its notebook get ids no other project has" \
        "2 distinct ids, each named once" \
        "$( [ "$bt" != "$bn" ] && [ "$(grep -c . <<<"$dups")" = 2 ] && echo "2 distinct ids, each named once" || echo "ids $bt $bn, registered as: $(oneline "$dups")")"
umount /run/bnb /run/bst

# A file system reached only through bind mounts of its subfolders (/dev/ubdd): no root to keep the
# registry in. Then its root mounted again, but hidden under a tmpfs: the registry must not land
# in the tmpfs.
D=/run/d
uml_quota_fs "$FS" /dev/ubdd $D >&2 && mkdir -p $D/nb $D/st/east-1 /run/dnb /run/dst &&
        mount --bind $D/nb /run/dnb && mount --bind $D/st /run/dst && umount $D
node_on $Q/node-sub required
sed -i -e "s|^  notebooks: .*|  notebooks: /run/dnb|" -e "s|^  storage: .*|  storage: /run/dst|" $Q/node-sub/node.yaml
uml_grant $Q/node-sub subteam free false alice
new_bundle --user 1000:1000 --identity subteam nb1 alice --config $Q/node-sub/node.yaml --cmd 'echo started'
with_seccomp
run_runc $bundle
expect_eq "file system mounted only from subfolders: refused, no registry written" \
        "not started|nbmount: container $run_id (team subteam, notebook nb1, user alice): /notebooks: /run/dnb/subteam/nb1: its filesystem is mounted only from a subfolder; mount the filesystem's root too (anywhere), so that nbmount keeps one project registry for it|" \
        "$(started && echo started || echo not started)|$(hook_line)|$(ls /run/dnb/.nbmount-projid /run/dst/.nbmount-projid 2>/dev/null)"
mount /dev/ubdd $D && mount -t tmpfs tmpfs $D
new_bundle --user 1000:1000 --identity subteam nb1 alice --config $Q/node-sub/node.yaml --cmd 'echo started'
with_seccomp
run_runc $bundle
mkdir -p /run/d2 && mount /dev/ubdd /run/d2
in_tmpfs=$(ls $D/.nbmount-projid 2>/dev/null)
on_fs=$(grep -c subteam /run/d2/.nbmount-projid 2>/dev/null)
if ! started || { [ -z "$in_tmpfs" ] && [ "$on_fs" = 2 ]; }; then
        ok "file system root hidden under a tmpfs: the registry goes to the file system or the start is refused"
else
        not_ok "file system root hidden under a tmpfs: the registry goes to the file system or the start is refused" \
                "started; registry in the tmpfs over $D: «$(oneline "$(cat $D/.nbmount-projid 2>&1)")», subteam lines on the file system: ${on_fs:-0}"
fi
umount /run/d2 $D $D /run/dnb /run/dst 2>/dev/null

# --- 20 hooks at once for 5 teams ----------------------------------------------------------------
log "20 hooks at once for 5 teams"
# Each run is the hook itself, called as runc would at createRuntime, on a process in its own
# mount namespace (cheaper than 20 runc containers in a one-CPU UML).
for t in 1 2 3 4 5; do uml_grant $node par$t free false alice; done
mkdir -p $W/par
seccomp_json=$(jq -c 'del(.comment)' $SECCOMP)
for i in $(seq 1 20); do
        mkdir -p $W/par/$i/rootfs
        printf '{"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "process": {"user": {"uid": 1000, "gid": 1000}, "args": ["sh"], "cwd": "/"},
 "annotations": {"io.nbmount.team": "par%s", "io.nbmount.notebook": "nb%s", "io.nbmount.user": "alice"},
 "linux": {"seccomp": %s}}\n' $(((i - 1) % 5 + 1)) $((i % 2)) "$seccomp_json" >$W/par/$i/config.json
done
parallel_hooks() { # ROUND: prints how many hooks failed
        local i pids=() sleepers=() pid failed=0
        for i in $(seq 1 20); do
                unshare -m --propagation private sleep 300 &
                sleepers+=($!)
        done
        sleep 0.3
        for i in $(seq 1 20); do
                printf '{"ociVersion": "1.0.2", "id": "par-%s-%s", "pid": %s, "bundle": "%s", "status": "creating"}' \
                        "$1" "$i" "${sleepers[i - 1]}" "$W/par/$i" |
                        "$NBMOUNT" hook createRuntime --config $config >$W/par/$1-$i.out 2>$W/par/$1-$i.err &
                pids+=($!)
        done
        for i in $(seq 1 20); do wait "${pids[i - 1]}" || { failed=$((failed + 1)); log "hook $1-$i: $(cat $W/par/$1-$i.err)"; }; done
        for pid in "${sleepers[@]}"; do kill "$pid" 2>/dev/null; done
        wait 2>/dev/null
        echo $failed
}
failed=$(parallel_hooks 1)
expect_eq "parallel: 20 hooks at once for 5 teams all succeed" 0 "$failed"
par_ids=$(grep -E '^(team\.par[1-5]|notebook\.par[1-5]/nb[01]):' $registry | sort)
expect_eq "parallel: exactly 5 team ids and 10 notebook ids, each name once" "5 10" \
        "$(grep -c '^team\.par' <<<"$par_ids") $(grep -c '^notebook\.par' <<<"$par_ids")"
expect_eq "parallel: no id is given twice in the registry" "" "$(awk -F: '{ print $NF }' $registry | sort | uniq -d)"
expect_eq "parallel: no name is registered twice" "" "$(awk -F: '{ sub(":[^:]*$", ""); print }' $registry | sort | uniq -d)"
expect_eq "parallel: every id is 10000 or more" "" "$(awk -F: '$NF < 10000' $registry)"
mismatch=""
for t in 1 2 3 4 5; do
        [ "$(folder_projid $node/storage/east-1/par$t)" = "$(registry_id team.par$t)" ] || mismatch+=" par$t"
        for n in nb0 nb1; do
                [ "$(folder_projid $node/notebooks/par$t/$n)" = "$(registry_id notebook.par$t/$n)" ] || mismatch+=" par$t/$n"
        done
done
expect_eq "parallel: every folder carries its registered id" "" "$mismatch"
cp $registry $W/registry.before
failed=$(parallel_hooks 2)
expect_eq "parallel: a restart (20 hooks again) succeeds" 0 "$failed"
expect_eq "parallel: a restart keeps every id (registry unchanged)" "" "$(diff $W/registry.before $registry)"

# --- nbmount quota --json against the kernel, every project -------------------------------------
log "nbmount quota --json against the kernel, every project"
rows=$(quota_rows --notebooks)
"$NBMOUNT" quota --notebooks --json --config $config >"$UML_RUN_DIR/quota.json" 2>/dev/null # the host checks its schema
declare -A kernel_used=() registered=()
while read -r id used _; do kernel_used[$id]=$used; done < <(uml_project_usage "$FS" $Q)
while IFS= read -r line; do registered[${line%:*}]=${line##*:}; done <$registry
diffs=""
n=0
while read -r project id used rest; do
        [ -n "$project" ] || continue
        n=$((n + 1))
        # the tools print KiB, rounded up
        [ "$(((used + 1023) / 1024 * 1024))" = "${kernel_used[$id]:-0}" ] || diffs+=" $project(#$id): nbmount $used, $([ "$FS" = xfs ] && echo xfs_quota || echo repquota) ${kernel_used[$id]:-none};"
        [ "${registered[$project]:-}" = "$id" ] || diffs+=" $project: id $id, registry ${registered[$project]:-none};"
done <<<"$rows"
expect_eq "quota --notebooks --json agrees with $([ "$FS" = xfs ] && echo "xfs_quota report -p -b -n" || echo "repquota -P -n") on every project" \
        "$(grep -c . $registry) rows|" "$n rows|$diffs"

# --- nbmount quota: plans from the grants cache, each grants change seen at once -------------------
log "nbmount quota: plans from the grants cache"
cache=$node/state/quota-grants.cache
cp $node/grants/acme.json $W/acme.saved
plan_of() { quota_rows "$1" | awk -v p="team.$1" '$1 == p { print $9, $10 }'; }
rm -f $cache
sleep 1.2 # the grants folder settles (lib/grantscache.h): the next report writes the cache
plan_of acme >/dev/null
expect_eq "grants cache: a report writes it once the grants folder has settled; acme's line" \
        "acme pro 0" "$(grep '^acme ' $cache 2>&1)"
expect_eq "grants cache: the next report gives acme's plan and card from it" "pro false" "$(plan_of acme)"
jq '.plan = "growth" | .card_on_file = true' $node/grants/acme.json >$W/g && mv $W/g $node/grants/acme.json
expect_eq "grants cache: acme's plan changed after the cache was written: the next report shows the new plan and card" \
        "growth true" "$(plan_of acme)"
mv $node/grants/acme.json $W/acme.json
expect_eq "grants cache: acme's grants file removed: the next report shows no plan" "null false" "$(plan_of acme)"
sleep 1.2
plan_of acme >/dev/null
expect_eq "grants cache: written again without acme" "" "$(grep '^acme ' $cache)"
mv $W/acme.saved $node/grants/acme.json
expect_eq "grants cache: acme's grants back, a team the cache never saw: the next report shows its plan" \
        "pro false" "$(plan_of acme)"

# --- nbmount quota apply -------------------------------------------------------------------------
log "nbmount quota apply"
jq '.plan = "free"' $node/grants/acme.json >$W/g && mv $W/g $node/grants/acme.json
"$NBMOUNT" quota apply acme --config $config >$W/apply.out 2>&1
rc=$?
read -r s1 h1 <<<"$(limits_of "$team_id")"
read -r s2 h2 <<<"$(limits_of "$nb_id")"
expect_eq "quota apply acme after pro -> free: exits 0" 0 "$rc"
near() { (($2 - $1 < BLOCK && $1 - $2 < BLOCK)) && echo "~$1" || echo "$2"; }
expect_eq "quota apply acme after pro -> free: kernel limits 8MB/8MB (storage) and 4MB/4MB (notebook)" \
        "~8000000 ~8000000 ~4000000 ~4000000" \
        "$(near 8000000 "$s1") $(near 8000000 "$h1") $(near 4000000 "$s2") $(near 4000000 "$h2")"
[ "$rc" = 0 ] || log "quota apply: $(cat $W/apply.out)"
testlib_end # the host counts on it (remote_results, tests/lib/testlib.sh)
exit 0
