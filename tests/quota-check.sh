#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Project quota tests of nbmount: what the hook sets at container start (project ids, limits,
# grace), what a writer in a runc container meets (EDQUOT/ENOSPC at the plan's allowance, or at
# allowance + overage cap with a card on file), the quota escape (chattr -p 0) and its seccomp
# rule, quota.enforce on file systems that cannot enforce, `nbmount quota` against the kernel's
# own reports, and 20 hooks at once (tests/lib/uml-quota.sh); every way out of a project tried by
# a guarded container, subtrees that left it found and put back, the stamp of a walked tree, and
# file limits (tests/lib/uml-quota-tree.sh).
# The host kernel has no project quotas (TESTBED.md): those tests run in User-Mode Linux, two
# boots per file system, one after the other (XFS and ext4 at once), through tests/lib/uml.sh;
# what needs no quota runs here on the host with runc meanwhile.
# Each UML part ends with an end marker (testlib_end): one that did not run or did not reach it
# (exit 127: its script not found; a panic; a timeout) is a "not ok" with its cause; a UML run of a
# missing script proves that this is so, every time.
# Usage: tests/quota-check.sh [NBMOUNT]. Prints "ok - quota ..." / "not ok - quota ...: why"
# lines; exits 0 when it ran to its end. Needs root, user-mode-linux, xfsprogs, e2fsprogs, quota, kmod, runc,
# busybox-static, jq, cc with a static libc, the test-mode nbmount beside NBMOUNT's build
# (BUILD/test-mode/nbmount, `make test-mode`), and /usr/share/containers/seccomp.json
# (containers-common) to build default-deny seccomp profiles from. Details of each UML run:
# build/test-logs/quota-FS.log and quota-tree-FS.log (and *.console.log, the kernel's console).
# QUOTA_FS="xfs" (or "ext4") runs one file system only, QUOTA_HOST=0 skips the host part,
# QUOTA_NFS=0 the NFS boot (tests/lib/uml-nfs.sh: roots on NFS, the storage server's quota sync;
# its log build/test-logs/quota-nfs.log).
set -u
cd "$(dirname "$0")/.."
NBMOUNT=${1:-build/nbmount}
NBMOUNT=$(realpath "$NBMOUNT")
. tests/lib/sample-node.sh
. tests/lib/bundle.sh
. tests/lib/uml.sh
. tests/lib/uml-lib.sh # seccomp_allowlist

. tests/lib/testlib.sh
testlib_init quota

need_tools linux.uml mkfs.xfs xfs_quota mkfs.ext4 repquota setquota insmod runc busybox jq cc setpriv unshare losetup
if [ ! -f /usr/share/containers/seccomp.json ]; then
        not_ok "prerequisites" "/usr/share/containers/seccomp.json (package containers-common, with podman) is missing"
        exit 0
fi
need_root "the quota tests need root"

work=$(mktemp -d /tmp/nbmount-quota.XXXXXX)
logs=build/test-logs
mkdir -p "$logs"
cleanup() {
        bundle_cleanup # unmounts what is left under $work/host, removes it
        rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'echo "# interrupted"; exit 1' INT TERM
export UML_WORK=$work/uml
# uml_run's default of 300 s cut every boot short on a busy machine (seen: load 8 on two cores, cut
# after 264 s of tests); a boot cut short by this longer limit is still reported (no exit status).
UML_TIMEOUT=${UML_TIMEOUT:-900}
mkdir -p "$UML_WORK"
fsx=$UML_WORK/fsx
if ! cc -static -O2 -o "$fsx" tests/lib/uml-fsx.c 2>"$work/cc.log"; then
        not_ok "harness: static fsx helper" "$(cat "$work/cc.log")"
        exit 0
fi

# --- in User-Mode Linux, one boot per file system, both at once (UML uses one CPU) ----------------
# AddressSanitizer cannot run in UML (its shadow memory overlaps UML's own mappings: "Shadow memory
# range interleaves with an existing memory mapping"): an ASan build is tested on the host only,
# and the UML part uses build/nbmount when there is one.
uml_nbmount=$NBMOUNT
if grep -q __asan_init "$NBMOUNT"; then
        if [ -x build/nbmount ]; then
                uml_nbmount=$(realpath build/nbmount)
                echo "# quota: $NBMOUNT is an ASan build, which cannot run in User-Mode Linux: the UML tests use $uml_nbmount"
        else
                uml_nbmount=""
                echo "# quota: $NBMOUNT is an ASan build, which cannot run in User-Mode Linux, and there is no build/nbmount: UML tests skipped"
        fi
fi
uml_test_mode=$(dirname "$uml_nbmount")/test-mode/nbmount
if [ -n "$uml_nbmount" ] && [ ! -x "$uml_test_mode" ]; then
        not_ok "harness: the test-mode nbmount" "$uml_test_mode is missing; run make test-mode"
        uml_test_mode=""
fi
for fs in ${QUOTA_FS:-xfs ext4}; do
        [ -n "$uml_nbmount" ] || break
        (
                uml_disk "$UML_WORK/$fs-a.img" 512M
                uml_disk "$UML_WORK/$fs-b.img" 320M
                uml_disk "$UML_WORK/$fs-c.img" 320M
                uml_disk "$UML_WORK/$fs-d.img" 320M
                UML_EXTRA_DISKS="$UML_WORK/$fs-b.img $UML_WORK/$fs-c.img $UML_WORK/$fs-d.img" \
                        uml_run "$UML_WORK/$fs-a.img" tests/lib/uml-quota.sh "$fs" "$uml_nbmount" "$fsx" \
                        >"$work/uml-$fs.out" 2>"$logs/quota-$fs.log"
                echo "$? $uml_boot_seconds" >"$work/uml-$fs.rc"
                cp "$uml_last/console.log" "$logs/quota-$fs.console.log" 2>/dev/null
                cp "$uml_last/quota.json" "$work/quota-$fs.json" 2>/dev/null
                rm -f "$UML_WORK/$fs"-?.img
                [ -n "$uml_test_mode" ] || exit 0
                uml_disk "$UML_WORK/$fs-t.img" 512M
                UML_EXTRA_DISKS="" uml_run "$UML_WORK/$fs-t.img" tests/lib/uml-quota-tree.sh "$fs" "$uml_nbmount" "$fsx" \
                        "$uml_test_mode" >"$work/uml-tree-$fs.out" 2>"$logs/quota-tree-$fs.log"
                echo "$? $uml_boot_seconds" >"$work/uml-tree-$fs.rc"
                cp "$uml_last/console.log" "$logs/quota-tree-$fs.console.log" 2>/dev/null
                rm -f "$UML_WORK/$fs-t.img"
        ) &
done

# Roots on NFS (tests/lib/uml-nfs.sh): one more boot, the storage server and two nodes, beside the
# others (about 80 s in UML; skipped without knfsd's tools, package nfs-kernel-server).
nfs_suite=0
if [ -n "$uml_nbmount" ] && [ "${QUOTA_NFS:-1}" = 1 ]; then
        if command -v rpc.nfsd >/dev/null && command -v exportfs >/dev/null && command -v rpcbind >/dev/null &&
                command -v mount.nfs >/dev/null; then
                nfs_suite=1
                (
                        uml_disk "$UML_WORK/nfs.img" 512M
                        UML_EXTRA_DISKS="" uml_run "$UML_WORK/nfs.img" tests/lib/uml-nfs.sh "$uml_nbmount" "$fsx" \
                                >"$work/uml-nfs.out" 2>"$logs/quota-nfs.log"
                        echo "$? $uml_boot_seconds" >"$work/uml-nfs.rc"
                        cp "$uml_last/console.log" "$logs/quota-nfs.console.log" 2>/dev/null
                        rm -f "$UML_WORK/nfs.img"
                ) &
        else
                not_ok "nfs: prerequisites" "rpc.nfsd, exportfs, rpcbind or mount.nfs is missing (package nfs-kernel-server; make setup installs it)"
        fi
fi

# The harness's own check (see the end): a UML run of a guest script that does not exist.
if [ -n "$uml_nbmount" ]; then
        (
                uml_disk "$UML_WORK/broken.img" 64M
                uml_run "$UML_WORK/broken.img" "$UML_WORK/missing/uml-quota.sh" xfs "$uml_nbmount" "$fsx" \
                        >"$work/uml-broken.out" 2>"$work/uml-broken.err"
                echo "$?" >"$work/uml-broken.rc"
                cp "$uml_last/console.log" "$work/uml-broken.console.log" 2>/dev/null
                rm -f "$UML_WORK/broken.img"
        ) &
fi

# --- on the host kernel (no project quotas) -----------------------------------------------------
host_tests() {
        if ! bundle_init "$work/host" "$NBMOUNT" >"$work/init.log" 2>&1; then
                not_ok "harness: bundle_init" "$(cat "$work/init.log")"
                return
        fi
        cp "$fsx" "$work/host/rootfs.base/bin/fsx"
        SECCOMP=packaging/seccomp/nbmount-quota.json
        # capture_hook CONFIG FILE: a createRuntime hook entry running nbmount with its stderr appended to
        # FILE (runc shows a hook's stderr only when it fails).
        capture_hook() {
                printf '{"path": "/bin/sh", "args": ["sh", "-c", "exec \\"$0\\" hook createRuntime --config \\"$1\\" 2>>\\"$2\\"", "%s", "%s", "%s"]}' \
                        "$NBMOUNT" "$1" "$2"
        }
        host_start() { # ENFORCE
                local node=$work/host/node-$1
                make_sample_node "$node"
                rm -rf "$node/notebooks/acme/nb1" "$node/storage/east-1/acme"
                sed -i "s/^quota: .*/quota: {enforce: $1}/" "$node/node.yaml"
                new_bundle --user 1000:1000 --identity acme nb1 alice --cmd 'echo started' \
                        --hook-json createRuntime "$(capture_hook "$node/node.yaml" "$work/host/hook-$1.err")"
                with_seccomp
                : >"$work/host/hook-$1.err"
                run_runc "$bundle"
                hook_err=$(cat "$work/host/hook-$1.err")
                host_node=$node
        }
        mount_of() { findmnt -n -o TARGET -T "$1"; }
        # Linux 6.17 added file_setattr(2), which changes a project id like the ioctl. A rule naming
        # it is dropped without a word by a runtime whose libseccomp does not know the name (runc
        # 1.1.5 with libseccomp 2.5.4): there, only a profile that denies by default stops it, and
        # the hook refuses the shipped rules in an allow-by-default profile (tested below). The
        # default-deny profile is the one `nbmount seccomp --oci` makes of podman's stock one.
        local kver k shipped=$SECCOMP
        k=$(uname -r)
        kver=$(uname -r | awk -F. '{ print $1 * 1000 + $2 }')
        "$NBMOUNT" seccomp --oci >"$work/host/nbmount-oci.json" 2>"$work/host/seccomp.err" ||
                not_ok "host kernel: nbmount seccomp --oci" "$(cat "$work/host/seccomp.err")"
        [ "$kver" -ge 6017 ] && SECCOMP=$work/host/nbmount-oci.json
        host_start required
        folder=$host_node/notebooks/acme/nb1
        expect_eq "host kernel: required refuses the start; the line names the folder and says prjquota" \
                "not started|yes" \
                "$(started && echo started || echo not started)|$([[ $hook_err == "nbmount: container $run_id (team acme, notebook nb1, user alice): /notebooks: $folder"*prjquota* ]] && echo yes || echo "no: $hook_err")"
        expect_eq "host kernel: required: the line names the mount point ($(mount_of "$folder"))" yes \
                "$(grep -qF "on the filesystem mounted at $(mount_of "$folder");" <<<"$hook_err" && echo yes || echo "no: $hook_err")"
        host_start best-effort
        expect_eq "host kernel: best-effort starts with exactly one warning line" \
                "started|1|nbmount: warning: container $run_id: /notebooks: no quota (quota.enforce is best-effort): " \
                "$(started && echo started || echo "not started: $(oneline "$run_err")")|$(grep -c . <<<"$hook_err")|$(sed 's/\(best-effort): \).*/\1/' <<<"$hook_err")"
        host_start off
        expect_eq "host kernel: off starts silently" "started|" "$(started && echo started || echo not started)|$hook_err"
        "$NBMOUNT" quota --json --config "$host_node/node.yaml" >"$work/host/quota.out" 2>"$work/host/quota.err"
        quota_rc=$?
        expect_eq "host kernel: nbmount quota exits 2 with one line: the storage root has no quotas" \
                "2||nbmount: $host_node/storage: project quotas are not enabled on the filesystem mounted at $(mount_of "$host_node/storage"); mount it with -o prjquota (ext4: mkfs.ext4 -O quota,project)" \
                "$quota_rc|$(cat "$work/host/quota.out")|$(cat "$work/host/quota.err")"

        SECCOMP=$shipped
        if [ "$kver" -ge 6017 ]; then
                host_start required # the shipped rules in an allow-by-default profile
                expect_eq "host kernel $k (file_setattr): the shipped rules in an allow-by-default profile are refused" \
                        "not started|nbmount: container $run_id (team acme, notebook nb1, user alice): /notebooks: the container could leave its quota project: this kernel has file_setattr(2): linux.seccomp.defaultAction is SCMP_ACT_ALLOW, and a rule naming file_setattr(2) is dropped without a word by a runtime whose libseccomp does not know the name (libseccomp 2.5.4 does not): only a profile that denies by default stops it (nbmount seccomp writes one); or run the container in a user namespace (quota.enforce is required)" \
                        "$(started && echo started || echo not started)|$hook_err"
                xfs_img=$work/host/xfs.img xfs_dir=$work/host/xfs
                mkdir -p "$xfs_dir"
                if truncate -s 320M "$xfs_img" && mkfs.xfs -q -f "$xfs_img" && mount -o loop "$xfs_img" "$xfs_dir" 2>"$work/loop.err"; then
                        # XFS keeps project ids without quotas: enough to see a change
                        mkdir "$xfs_dir/team" && chown 1000:1000 "$xfs_dir/team" && "$fsx" set "$xfs_dir/team" 10000 >/dev/null
                        local profile
                        # a plain container (no hook) with /storage bound from the XFS
                        for profile in "$SECCOMP" "$work/host/nbmount-oci.json"; do
                                new_bundle --user 1000:1000 --cmd 'echo started; echo "ioctl $(fsx set /storage 0)"; echo "syscall $(fsx fset /storage 0)"'
                                SECCOMP=$profile with_seccomp
                                jq --arg s "$xfs_dir/team" '.mounts += [{destination: "/storage", type: "bind", source: $s, options: ["rbind", "rw"]}]' \
                                        "$bundle/config.json" >"$bundle/c" && mv "$bundle/c" "$bundle/config.json"
                                run_runc "$bundle"
                                echo "${profile##*/}|$(sed -n 's/^ioctl //p' <<<"$run_out")|$(sed -n 's/^syscall //p' <<<"$run_out")|$("$fsx" get "$xfs_dir/team" | cut -d' ' -f1)"
                                "$fsx" set "$xfs_dir/team" 10000 >/dev/null
                        done >"$work/host/fsx.out"
                        expect_eq "host kernel $k: the shipped rules alone (allow by default): the ioctl fails, file_setattr passes (hence the refusal above)" \
                                "nbmount-quota.json|fsx: /storage: set projid 0: Operation not permitted (errno EPERM)|fsx: /storage: projid set to 0 (file_setattr)|projid=0" \
                                "$(sed -n 1p "$work/host/fsx.out")"
                        expect_eq "host kernel $k: the default-deny profile stops both" \
                                "nbmount-oci.json|fsx: /storage: set projid 0: Operation not permitted (errno EPERM)|fsx: /storage: file_setattr projid 0: Function not implemented (errno ENOSYS)|projid=10000" \
                                "$(sed -n 2p "$work/host/fsx.out")"
                        umount "$xfs_dir"
                else
                        not_ok "harness: XFS on a loop device on the host" "$(cat "$work/loop.err")"
                fi
        fi
}
[ "${QUOTA_HOST:-1}" = 1 ] && host_tests

# --- the User-Mode Linux results ------------------------------------------------------------------
# Each UML part reports through remote_results (tests/lib/testlib.sh): a part that did not run, or
# did not run to its end marker, is a "not ok" with its exit status and the end of its stderr and
# console.
wait
for fs in ${QUOTA_FS:-xfs ext4}; do
        [ -n "$uml_nbmount" ] || break
        rc="" seconds=""
        read -r rc seconds <"$work/uml-$fs.rc"
        remote_results "$fs: tests/lib/uml-quota.sh in User-Mode Linux" "$rc" "$work/uml-$fs.out" \
                "$logs/quota-$fs.log" "$logs/quota-$fs.console.log"
        echo "# quota $fs: User-Mode Linux boot and tests in ${seconds:-?}s"
        if [ -n "$uml_test_mode" ]; then
                rc="" seconds=""
                read -r rc seconds <"$work/uml-tree-$fs.rc"
                remote_results "$fs: tests/lib/uml-quota-tree.sh in User-Mode Linux" "$rc" "$work/uml-tree-$fs.out" \
                        "$logs/quota-tree-$fs.log" "$logs/quota-tree-$fs.console.log"
                echo "# quota $fs: tree: User-Mode Linux boot and tests in ${seconds:-?}s"
        fi
        schema_result=$(node tests/schema/validate.js -s schemas/quota.schema.json -r schemas/common.schema.json \
                "$work/quota-$fs.json" 2>&1)
        if [[ $schema_result == "valid	"* ]] && [ "$(jq '.projects | length' "$work/quota-$fs.json")" -gt 0 ]; then
                ok "$fs: nbmount quota --notebooks --json validates against quota.schema.json"
        else
                not_ok "$fs: nbmount quota --notebooks --json validates against quota.schema.json" "$schema_result"
        fi
done
if [ "$nfs_suite" = 1 ]; then
        rc="" seconds=""
        read -r rc seconds <"$work/uml-nfs.rc"
        remote_results "nfs: tests/lib/uml-nfs.sh in User-Mode Linux" "$rc" "$work/uml-nfs.out" \
                "$logs/quota-nfs.log" "$logs/quota-nfs.console.log"
        echo "# quota nfs: User-Mode Linux boot and tests in ${seconds:-?}s"
fi
# The harness itself: the broken run above (a guest script that is missing, as a checkout the guest
# cannot see) must come out as a failure with its cause. Its report is shown once, as a comment;
# that it was made is the test.
if [ -n "$uml_nbmount" ]; then
        rc=""
        read -r rc <"$work/uml-broken.rc"
        broken=$(remote_results "harness: a missing guest script in User-Mode Linux" "$rc" "$work/uml-broken.out" \
                "$work/uml-broken.err" "$work/uml-broken.console.log")
        echo "# quota: what a broken User-Mode Linux run looks like (expected here, not counted): $broken"
        expect_match "harness: a User-Mode Linux run whose guest script is missing is a failure with its cause (exit 127, No such file)" \
                '^not ok - quota harness: a missing guest script in User-Mode Linux did not run/report: exit 127; its stderr ends: .*No such file or directory' \
                "$broken"
fi
exit 0
