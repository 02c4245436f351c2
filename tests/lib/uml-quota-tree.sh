#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The project tree tests of nbmount (lib/quotatree.c), run INSIDE User-Mode Linux by
# tests/quota-check.sh, one boot per file system, never on the host:
#   - a guarded uid-1000 container (a user namespace; the shipped seccomp rule) tries every way out
#     of its project and then writes past its limit: every attempt fails, nothing is written past it;
#   - a subtree that left the project during a start without a guard is found and put back at the
#     next guarded start, which stamps the folder; the next start trusts the stamp; a start without a
#     guard, and the poststop of such a container, remove it; a walk that dies midway is done again;
#     a running container that moves folders around or writes during a walk does not defeat it;
#     hard links; `nbmount quota apply` walks and says what it repaired; on ext4 the hook needs
#     CAP_SYS_RESOURCE to put back a subtree larger than the limit;
#   - file limits: a writer of empty files stops at the plan's file limit, and `nbmount quota`
#     shows the files used and the limit as the kernel counts them.
# Usage: tests/lib/uml-quota-tree.sh xfs|ext4 NBMOUNT FSX TEST_MODE_NBMOUNT
#   /dev/ubda  the quota file system (mkfs'd here, mounted with prjquota on /run/q)
# Prints "ok - quota FS: tree: NAME" / "not ok - quota FS: tree: NAME: why" lines; details on stderr.
set -u
FS=$1 NBMOUNT=$2 FSX=$3 TEST_NBMOUNT=$4
cd "$(dirname "$0")/../.."
. tests/lib/uml-lib.sh

. tests/lib/testlib.sh
testlib_init "quota $FS: tree:"
log() { echo "# ${SECONDS}s: $*" >&2; }

Q=/run/q
W=/tmp/tw
SECCOMP=packaging/seccomp/nbmount-quota.json
ERRNO_TEXT="Disk quota exceeded" ERRNO_NAME=EDQUOT
[ "$FS" = xfs ] && ERRNO_TEXT="No space left on device" ERRNO_NAME=ENOSPC # XFS reports a project quota as ENOSPC

if uml_quota_fs "$FS" /dev/ubda $Q >/tmp/mkfs.log 2>&1; then
        ok "harness: $FS on /dev/ubda mounted with prjquota"
else
        not_ok "harness: $FS on /dev/ubda mounted with prjquota" "$(cat /tmp/mkfs.log)"
        exit 0
fi
BLOCK=$(uml_fs_block $Q)
# The hook's syslog lines: busybox syslogd on /dev/log.
busybox syslogd -n -O /tmp/syslog.log -S &
syslogd_pid=$!

node=$Q/node
uml_node $node required
config=$node/node.yaml
# the same node with quota.enforce best-effort: a container without a guard starts there
sed 's/^quota: .*/quota: {enforce: best-effort}/' $config >$node/node-be.yaml
config_be=$node/node-be.yaml
registry=$Q/.nbmount-projid
if uml_bundles $W "$NBMOUNT" "$FSX" >$W.init.log 2>&1; then
        ok "harness: busybox bundles for runc on tmpfs"
else
        not_ok "harness: busybox bundles for runc on tmpfs" "$(cat $W.init.log)"
        exit 0
fi
mkdir -p $W/b
bundle_no=0
# with_guard userns|seccomp. In a user namespace (with_userns, tests/lib/bundle.sh), container uid
# 1000 is host uid 101000; a container without one runs as 101000 to own the same folders.
with_guard() { # userns|seccomp
        if [ "$1" = userns ]; then with_userns; else with_seccomp; fi
}
# hook_json STAGE CONFIG ERRFILE [NBMOUNT [ENV]]: a hook entry running nbmount --debug with its stderr
# appended to ERRFILE (runc shows a hook's stderr only when it fails).
hook_json() {
        local env=${5:-}
        printf '{"path": "/bin/sh", "args": ["sh", "-c", "exec \\"$0\\" hook %s --debug --config \\"$1\\" 2>>\\"$2\\"", "%s", "%s", "%s"]%s}' \
                "$1" "${4:-$NBMOUNT}" "$2" "$3" "${env:+, \"env\": [\"$env\"]}"
}
# start TEAM GUARD CONFIG CMD [USER [NBMOUNT [ENV]]]: a container of TEAM (notebook nb1, user alice)
# with its createRuntime and poststop hooks traced into $hook_err; GUARD is userns, seccomp or none.
start() {
        local team=$1 guard=$2 cfg=$3 cmd=$4 user=${5:-1000:1000} nbm=${6:-$NBMOUNT} env=${7:-}
        : >$W/hook.err
        new_bundle --user "$user" --identity "$team" nb1 alice --cmd "$cmd" \
                --hook-json createRuntime "$(hook_json createRuntime "$cfg" $W/hook.err "$nbm" "$env")" \
                --hook-json poststop "$(hook_json poststop "$cfg" $W/hook.err)"
        [ "$guard" = none ] || with_guard "$guard"
        run_runc $bundle
        hook_err=$(cat $W/hook.err)
}
expect_started() {
        if started; then ok "$1"; else not_ok "$1" "exit $run_rc, hook «$(oneline "$hook_err")», stderr «$(oneline "$run_err")», out «$(oneline "$run_out")»"; fi
}
out_line() { printf '%s\n' "$run_out" | sed -n "s|^$1||p" | head -1; }
project_id() { awk -F: -v n="$1" '{ id = $NF; sub(":[^:]*$", "") } $0 == n { print id }' $registry 2>/dev/null; }
usage_of() { uml_project_usage "$FS" $Q | awk -v id="$1" '$1 == id { u = $2 } END { print u + 0 }'; }
# files_of ID: "USED SOFT HARD" inodes of project ID, from xfs_quota or repquota.
files_of() {
        case $FS in
        xfs) xfs_quota -x -c 'report -p -i -n -N' $Q | awk -v id="#$1" '$1 == id { u = $2; s = $3; h = $4 } END { print u + 0, s + 0, h + 0 }' ;;
        # Project,BlockStatus,FileStatus,BlockUsed,BlockSoftLimit,BlockHardLimit,BlockGrace,FileUsed,FileSoftLimit,FileHardLimit,FileGrace
        ext4) repquota -P -n -O csv $Q 2>/dev/null | awk -F, -v id="$1" '{ i = $1; sub(/^#/, "", i) } i == id { u = $8; s = $9; h = $10 } END { print u + 0, s + 0, h + 0 }' ;;
        esac
}
stamp_of() { "$FSX" stamp "$1"; }
census() { "$FSX" census "$1" "$2"; }
# walk_line TARGET: what the start's debug trace says of the walk of TARGET's tree ("" when none).
walk_line() { printf '%s\n' "$hook_err" | sed -n "s|^nbmount: debug: $1: quota: [^:]*: ||p" | head -1; }
projid_of() { "$FSX" get "$1" | sed 's/projid=\([0-9]*\).*/\1/'; }
FILL_FN='fill() {
        dd if=/dev/zero of=$1/fill bs=65536 count=600 2>/dev/null
        s=$(stat -c %s $1/fill 2>/dev/null || echo 0)
        err=$(dd if=/dev/zero of=$1/fill bs=4096 seek=$((s / 4096)) count=64 conv=notrunc 2>&1)
        rc=$?
        echo "dd $1 rc=$rc size=$(stat -c %s $1/fill 2>&1) $(echo "$err" | grep -v records | tr "\n" " ")"
}'
# check_fill LABEL ID LIMIT TREE: the fill of /storage stopped at the limit, and the tree holds no
# more than the limit in all (what a writer put outside the project counts too).
check_fill() {
        local line total
        line=$(out_line "dd /storage ")
        expect_has "$1: the writer stops with $ERRNO_TEXT" "$line" "rc=1" "$ERRNO_TEXT"
        total=$(find "$4" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
        if ((total <= $3 && total > $3 - 16 * BLOCK)); then
                ok "$1: the files in the tree hold the limit and no more ($total bytes of $3)"
        else
                not_ok "$1: the files in the tree hold the limit and no more" "$total bytes, limit $3"
        fi
        expect_near "$1: the kernel accounts the limit to the project" "$3" "$(usage_of "$2")" "$BLOCK"
}
# fill_storage TEAM GUARD LABEL ID LIMIT: a container that fills /storage.
fill_storage() {
        start "$1" "$2" $config "$FILL_FN
echo started; fill /storage"
        expect_started "$3: the fill container starts"
        check_fill "$3" "$4" "$5" "$node/storage/east-1/$1"
}

# --- every way out, tried by a guarded container ---------------------------------------------------
# FS_IOC32_SETFLAGS is the 32-bit form: a 64-bit process gets ENOTTY from XFS and ext4 (only the
# compat path of a 32-bit process knows it, and this UML kernel has no IA32 emulation). file_setattr
# (Linux 6.17) does not exist in this 6.1 kernel: ENOSYS.
escape_attempts=(
        "set /storage 0" "sethigh /storage 0" "noinherit /storage" "noinherithigh /storage"
        "noinherit /storage/d" "noinherit32 /storage/d" "noinherithigh /storage/d" "set /storage/d 0"
        "sethigh /storage/d 0" "noinherit /storage/f" "set /storage/f 0" "sethigh /storage/f 0"
        "fset /storage/d 0" "fnoinherit /storage/d"
)
escape_cmd() {
        local a cmd="$FILL_FN
echo started
mkdir /storage/d && touch /storage/f"
        for a in "${escape_attempts[@]}"; do cmd+="
echo \"try $a: \$(fsx $a)\""; done
        cmd+="
mkdir /storage/d/later && dd if=/dev/zero of=/storage/d/later/x bs=4096 count=1 2>/dev/null
fill /storage"
        printf '%s\n' "$cmd"
}
# expected_escape GUARD ATTEMPT: what fsx prints for ATTEMPT in a container with GUARD.
expected_escape() {
        local op=${2%% *} rest=${2#* } path
        path=${rest%% *}
        case $1:$op in
        seccomp:set | seccomp:sethigh) echo "fsx: $path: set projid 0: Operation not permitted (errno EPERM)" ;;
        seccomp:noinherit) echo "fsx: $path: FS_IOC_SETFLAGS: Operation not permitted (errno EPERM)" ;;
        seccomp:noinherit32) echo "fsx: $path: FS_IOC32_SETFLAGS: Operation not permitted (errno EPERM)" ;;
        seccomp:noinherithigh) echo "fsx: $path: FS_IOC_SETFLAGS high bits: Operation not permitted (errno EPERM)" ;;
        userns:set | userns:sethigh) echo "fsx: $path: set projid 0: Invalid argument (errno EINVAL)" ;;
        userns:noinherit | userns:noinherithigh)
                # a file has no PROJINHERIT to clear: the call changes nothing and succeeds
                if [ "$path" = /storage/f ]; then echo "fsx: $path: PROJINHERIT cleared (FS_IOC_SETFLAGS)"; else
                        echo "fsx: $path: FS_IOC_SETFLAGS${op#noinherit}: Invalid argument (errno EINVAL)" | sed 's/SETFLAGShigh/SETFLAGS high bits/'
                fi ;;
        userns:noinherit32) echo "fsx: $path: FS_IOC32_SETFLAGS: Inappropriate ioctl for device (errno ENOTTY)" ;;
        *:fset) echo "fsx: $path: file_setattr projid 0: Function not implemented (errno ENOSYS)" ;;
        *:fnoinherit) echo "fsx: $path: file_setattr -P: Function not implemented (errno ENOSYS)" ;;
        esac
}
for guard in userns seccomp; do
        log "escapes with guard $guard"
        team=esc$guard
        uml_grant $node $team free false alice
        start $team $guard $config "$(escape_cmd)"
        expect_started "escape ($guard): the container starts"
        id=$(project_id team.$team)
        storage=$node/storage/east-1/$team
        for a in "${escape_attempts[@]}"; do
                expect_eq "escape ($guard): fsx $a fails" "$(expected_escape $guard "$a")" "$(out_line "try $a: ")"
        done
        expect_eq "escape ($guard): every folder and file is still in team.$team, every folder with PROJINHERIT" \
                "folders=3 files=3 out=0 noinherit=0" "$(census $storage "$id")"
        check_fill "escape ($guard): then" "$id" 8000000 "$storage"
done

# --- a subtree that left its project is found and put back ---------------------------------------
log "repair"
uml_grant $node rep free false alice
storage=$node/storage/east-1/rep
start rep userns $config 'echo started'
expect_started "repair: a first guarded start"
rep_id=$(project_id team.rep)
expect_eq "repair: the first start walks the new folder and stamps it" \
        "walked 1 folder and 0 files: all in the project; stamped|v1 $rep_id" \
        "$(walk_line /storage)|$(stamp_of $storage)"
start rep userns $config 'echo started'
expect_eq "repair: the next guarded start trusts the stamp: no walk" \
        "started||nbmount: debug: /storage: quota set (its tree's stamp holds)" \
        "$(started && echo started)|$(walk_line /storage)|$(grep '^nbmount: debug: /storage: quota set' <<<"$hook_err")"
# The escapes a container without a guard can make (quota.enforce best-effort): a folder without
# PROJINHERIT and what is made in it, a file and a folder given project 0; 6 MB in all.
unguarded_escape() { # TAG
        printf '%s\n' "echo started
mkdir /storage/esc$1 && fsx noinherit /storage/esc$1 >/dev/null && mkdir /storage/esc$1/sub
dd if=/dev/zero of=/storage/esc$1/a bs=1M count=3 2>/dev/null; dd if=/dev/zero of=/storage/esc$1/sub/b bs=1M count=1 2>/dev/null
touch /storage/f$1 && fsx set /storage/f$1 0 >/dev/null && dd if=/dev/zero of=/storage/f$1 bs=1M count=1 2>/dev/null
mkdir /storage/out$1 && fsx set /storage/out$1 0 >/dev/null && dd if=/dev/zero of=/storage/out$1/c bs=1M count=1 2>/dev/null
echo \"census \$(fsx census /storage $rep_id)\""
}
start rep none $config_be "$(unguarded_escape 1)" 101000:101000
expect_started "repair: a container without a guard starts where quota.enforce is best-effort"
expect_eq "repair: that start removed the stamp, and its container took 3 folders and 4 files (6 MB) out" \
        "none|folders=4 files=4 out=6 noinherit=2|yes" \
        "$(stamp_of $storage)|$(out_line 'census ')|$( (($(usage_of "$rep_id") < 1000000)) && echo yes || echo "no: $(usage_of "$rep_id")")"
start rep userns $config 'echo started'
expect_started "repair: the next guarded start"
expect_eq "repair: it walks the tree, puts back 3 folders and 4 files, and stamps it (debug trace)" \
        "walked 4 folders and 4 files: repaired 3 folders and 4 files (0 hard links); stamped" "$(walk_line /storage)"
expect_has "repair: ... and says so in syslog, as a warning" "$(cat /tmp/syslog.log)" \
        "nbmount[" "(team rep, notebook nb1, user alice): quota: /storage: team.rep: walked 4 folders and 4 files: repaired 3 folders and 4 files (0 hard links); stamped"
expect_eq "repair: everything is in team.rep again, the stamp is v1 $rep_id, the walk's id holds nothing" \
        "folders=4 files=4 out=0 noinherit=0|v1 $rep_id|0" \
        "$(census $storage "$rep_id")|$(stamp_of $storage)|$(usage_of $((rep_id | 0x80000000)))"
fill_storage rep userns "repair" "$rep_id" 8000000

# A start without a guard removes the stamp; so does the poststop of such a container that ran
# while a guarded start walked and stamped.
log "the stamp and starts without a guard"
start rep none $config_be 'echo started; rm -f /storage/fill' 101000:101000
expect_eq "stamp: a start without a guard removes it" "started|none" "$(started && echo started)|$(stamp_of $storage)"
bundle_no=$((bundle_no + 1))
(
        : >$W/bg.err
        bundle=$W/b/bg
        make_bundle $bundle --user 101000:101000 --identity rep nb1 alice --cmd 'echo started; sleep 12' \
                --hook-json createRuntime "$(hook_json createRuntime $config_be $W/bg.err)" \
                --hook-json poststop "$(hook_json poststop $config_be $W/bg.err)"
        run_runc $bundle bg-unguarded
        echo "$run_rc $run_out" >$W/bg.out
) &
bg=$!
sleep 4
start rep userns $config 'echo started'
stamp_meanwhile=$(stamp_of $storage)
wait $bg
expect_eq "stamp: a guarded start while a container without a guard runs walks and stamps; that container's poststop removes the stamp" \
        "0 started|walked|v1 $rep_id|none" \
        "$(cat $W/bg.out)|$(walk_line /storage | cut -d' ' -f1)|$stamp_meanwhile|$(stamp_of $storage)"
expect_has "stamp: ... the poststop says so (debug trace)" "$(cat $W/bg.err)" \
        "nbmount: debug: $storage: quota stamp removed (the container was not guarded)"

# A walk that dies midway (the test-mode hook exits, as if killed, at its 3rd folder or file) leaves
# no stamp; the next guarded start walks again and puts everything back.
log "a walk that dies midway"
start rep none $config_be "$(unguarded_escape 2)" 101000:101000
start rep userns $config 'echo started' 1000:1000 "$TEST_NBMOUNT" NBMOUNT_TEST_HARDEN=walk-die:3
expect_eq "interrupted: the start fails, no stamp, folders left in the walk's id" \
        "not started|none|yes" \
        "$(started && echo started || echo not started)|$(stamp_of $storage)|$( (($(census $storage "$rep_id" | sed 's/.*out=\([0-9]*\).*/\1/') > 0)) && echo yes || census $storage "$rep_id")"
start rep userns $config 'echo started'
expect_eq "interrupted: the next guarded start walks again: all in team.rep, stamped, the walk's id empty" \
        "started|walked|out=0 noinherit=0|v1 $rep_id|0 0" \
        "$(started && echo started)|$(walk_line /storage | cut -d' ' -f1)|$(census $storage "$rep_id" | cut -d' ' -f3-)|$(stamp_of $storage)|$(files_of $((rep_id | 0x80000000)) | cut -d' ' -f1) $(usage_of $((rep_id | 0x80000000)))"

# nbmount quota apply walks whatever the stamp says, and prints what it repaired. A hard link made by
# root from another team's tree counts as repaired (and leaves that team's project).
log "quota apply and hard links"
uml_grant $node other free false alice
uml_grant $node hard growth false alice
start other userns $config 'echo started; echo x >/storage/shared'
start hard userns $config 'echo started'
hard_id=$(project_id team.hard)
hstorage=$node/storage/east-1/hard
mkdir $hstorage/hl && chown 101000:101000 $hstorage/hl && "$FSX" noinherit $hstorage/hl >/dev/null &&
        ln $node/storage/east-1/other/shared $hstorage/hl/shared # root on the host
"$NBMOUNT" quota apply hard --config $config >$W/apply.out 2>&1
expect_eq "apply: exit 0; the folder without PROJINHERIT and the hard link put back; stamped" \
        "0|$hstorage: team.hard set; walked 2 folders and 1 file: repaired 1 folder and 1 file (1 hard link); stamped" \
        "$?|$(grep "^$hstorage:" $W/apply.out)"
expect_eq "apply: the hard-linked file is now team.hard's (it left team.other)" \
        "$hard_id" "$(projid_of $node/storage/east-1/other/shared)"
"$NBMOUNT" quota apply hard --config $config >$W/apply.out 2>&1
expect_eq "apply: a second apply finds everything in place" \
        "$hstorage: team.hard set; walked 2 folders and 1 file: all in the project; stamped" "$(grep "^$hstorage:" $W/apply.out)"

# A running guarded container moves a folder of the project that holds files of project 0 between a
# folder the walk has done and one it has not, and creates files, while `quota apply` walks: the walk
# gives every folder its own id before listing it, so the folder cannot move into a done one (EXDEV)
# and the new files made there are refused; afterwards everything is in the project.
log "a running container races the walk"
uml_grant $node race growth false alice
rstorage=$node/storage/east-1/race
start race userns $config 'echo started; mkdir /storage/a /storage/m /storage/z && fsx mkfiles /storage/m 3000 >/dev/null'
race_id=$(project_id team.race)
mkdir $rstorage/a/X && dd if=/dev/zero of=$rstorage/a/X/Y bs=1M count=1 status=none && chown -R 101000:101000 $rstorage/a/X
"$FSX" noinherit $rstorage/a/X >/dev/null && "$FSX" set $rstorage/a/X/Y 0 >/dev/null # root on the host
bundle_no=$((bundle_no + 1))
(
        bundle=$W/b/race
        make_bundle $bundle --user 1000:1000 --identity race nb1 alice --config $config --cmd 'echo started
while [ ! -e /storage/go ]; do sleep 0.1; done
fsx mkfiles /storage/a 100000 | sed "s/^/mk /" & mk=$!
while [ ! -e /storage/stop ]; do fsx swap /storage/a/X /storage/z/X 2000; done | tail -1; wait $mk'
        with_userns
        run_runc $bundle race-mover
        echo "$run_rc|$run_out" >$W/race.out
) &
bg=$!
for _ in $(seq 1 100); do grep -q started $W/out/race-mover.out 2>/dev/null && break; sleep 0.2; done
touch $rstorage/go
sleep 0.5
"$NBMOUNT" quota apply race --config $config >$W/apply-race.out 2>&1
apply_rc=$?
touch $rstorage/stop
wait $bg
log "race: $(cat $W/race.out | tr '\n' ' ') apply: $(cat $W/apply-race.out | tr '\n' ' ')"
expect_eq "race: apply walks while the container moves a folder around and makes files; afterwards all is in team.race, the walk's id empty" \
        "0|out=0 noinherit=0|$race_id|0 0" \
        "$apply_rc|$(census $rstorage "$race_id" | cut -d' ' -f3-)|$(projid_of "$(ls -d $rstorage/?/X | head -1)/Y")|$(files_of $((race_id | 0x80000000)) | cut -d' ' -f1) $(usage_of $((race_id | 0x80000000)))"

# ext4 lets no one without CAP_SYS_RESOURCE move a file into a project over its limit: the hook keeps
# that capability to move folders into the walk's id and to put back a subtree larger than the plan
# (XFS lets CAP_FOWNER do both).
log "CAP_SYS_RESOURCE"
uml_grant $node over free false alice
ostorage=$node/storage/east-1/over
start over userns $config 'echo started'
over_id=$(project_id team.over)
start over none $config_be 'echo started; mkdir /storage/esc && fsx set /storage/esc 0 >/dev/null && dd if=/dev/zero of=/storage/esc/big bs=1M count=10 2>/dev/null; echo done' 101000:101000
start over userns $config 'echo started' 1000:1000 "$TEST_NBMOUNT" NBMOUNT_TEST_HARDEN=without:CAP_SYS_RESOURCE
if [ "$FS" = ext4 ]; then
        expect_has "CAP_SYS_RESOURCE: on ext4 a walk without it fails" \
                "$(started && echo started || echo not started)|$hook_err" "not started|" ": cannot set the project of the folder: Disk quota exceeded"
else
        expect_started "CAP_SYS_RESOURCE: on XFS a walk without it puts back 10 MB over the 8 MB plan"
fi
start over userns $config 'echo started'
over_used=$(usage_of "$over_id")
start over userns $config 'echo started; dd if=/dev/zero of=/storage/more bs=4096 count=1 2>&1 | grep -v records; echo "more rc=$?"'
expect_eq "CAP_SYS_RESOURCE: the hook puts the 10 MB back into team.over (over its 8 MB); a writer cannot add a block" \
        "out=0|yes|yes" \
        "$(census $ostorage "$over_id" | sed 's/.* \(out=[0-9]*\).*/\1/')|$( ((over_used > 10000000)) && echo yes || echo "used $over_used")|$( [[ $run_out == *"$ERRNO_TEXT"* ]] && [ "$(usage_of "$over_id")" = "$over_used" ] && echo yes || echo "$(oneline "$run_out"), used $(usage_of "$over_id") (was $over_used)")"

# --- file limits --------------------------------------------------------------------------------
log "file limits"
# tiny: file limits small enough to reach with empty files
sed -i 's/^plans:$/plans:\n  tiny: {storage: 8MB, notebook: 4MB, storage_files: 40, notebook_files: 30}/' $config
uml_grant $node tiny tiny false alice
start tiny userns $config 'echo started; echo "storage $(fsx mkfiles /storage 1000)"; echo "notebook $(fsx mkfiles /notebooks 1000)"'
expect_started "files: the container starts"
tiny_id=$(project_id team.tiny) tiny_nb=$(project_id notebook.tiny/nb1)
# the folder itself is one of the 40 (30)
expect_eq "files: a uid-1000 writer of empty files stops at 39 files in /storage (40 with the folder) with $ERRNO_NAME" \
        "made 39: /storage/f39: $ERRNO_TEXT (errno $ERRNO_NAME)" "$(out_line 'storage ')"
expect_eq "files: ... and at 29 in /notebooks (30)" \
        "made 29: /notebooks/f29: $ERRNO_TEXT (errno $ERRNO_NAME)" "$(out_line 'notebook ')"
expect_eq "files: the kernel counts 40 and 30 files, with limits 40/40 and 30/30" "40 40 40|30 30 30" \
        "$(files_of "$tiny_id")|$(files_of "$tiny_nb")"
rows=$("$NBMOUNT" quota tiny --notebooks --json --config $config 2>&1 | jq -r '.projects[] | "\(.project) \(.used_files) \(.file_limit)"')
expect_eq "files: nbmount quota --json shows the files used and the limit, as the kernel counts them" \
        "notebook.tiny/nb1 $(files_of "$tiny_nb" | cut -d' ' -f1) 30|team.tiny $(files_of "$tiny_id" | cut -d' ' -f1) 40" \
        "$(sort <<<"$rows" | paste -sd'|')"
expect_has "files: the table's FILES column shows 40/40" "$("$NBMOUNT" quota tiny --config $config | grep '^tiny ')" " 40/40 "
uml_grant $node ent enterprise false alice
start ent userns $config 'echo started'
expect_eq "files: an unlimited plan sets no file limit" "0 0" "$(files_of "$(project_id team.ent)" | cut -d' ' -f2-)"

kill $syslogd_pid 2>/dev/null
testlib_end # the host counts on it (remote_results, tests/lib/testlib.sh)
exit 0
