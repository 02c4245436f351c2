#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The hook under valgrind memcheck on real runc starts (issue 6), and the mount(2) fallback of
# lib/mount.c that makes this possible: valgrind 3.19 does not know open_tree, move_mount,
# mount_setattr or openat2 and answers ENOSYS, as a kernel before 5.2 would, so the hook mounts
# with the classic mount(2) API there.
#
# 1. valgrind: a createRuntime hook `valgrind --leak-check=full ... nbmount hook createRuntime` on
#    the sample node: the container sees its mounts with the right flags, the hook says it fell
#    back to mount(2); a refused start, a failure after three mounts and a symlinked target are
#    rolled back; poststop. Every valgrind log must be empty: no error, no leak. Left out: valgrind's
#    notes on the system calls it does not know (it answers ENOSYS, as an older kernel would, and
#    the hook falls back), listed in a "#" line.
# 2. the same fallback without valgrind, on this kernel made to look older by a seccomp filter
#    that answers ENOSYS (a small launcher built here): no new mount API, no openat2 and no statx
#    (Linux < 5.2: the fdinfo mount ids), and no mount_setattr alone (Linux 5.2 to 5.11).
#
# Usage: tests/valgrind-check.sh [NBMOUNT]. Prints "ok - valgrind ..." / "not ok - valgrind ...: why";
# always exits 0. Needs root, runc, busybox (busybox-static), jq, cc, libseccomp and valgrind.
set -u
cd "$(dirname "$0")/.." || exit 0
NBMOUNT=${1:-build/nbmount}
NBMOUNT=$(realpath "$NBMOUNT")
. tests/lib/sample-node.sh
. tests/lib/bundle.sh

. tests/lib/testlib.sh
testlib_init valgrind 4000

need_tools runc busybox jq cc valgrind pkg-config
need_root "the runtime tests need root"

work=$(mktemp -d /tmp/nbmount-valgrind.XXXXXX)
cleanup() {
        umount "$work/node/datasets/dsmnist/v1" 2>/dev/null
        bundle_cleanup
}
trap cleanup EXIT
trap 'echo "# interrupted"; exit 1' INT TERM
if ! bundle_init "$work" "$NBMOUNT" >"$work/init.log" 2>&1; then
        not_ok "harness: bundle_init" "$(cat "$work/init.log")"
        exit 0
fi

# The launcher of part 2: `limit [--enosys CALL]... [--fail-ro-mount] -- PROGRAM ARGS...` runs
# PROGRAM under a seccomp filter that answers ENOSYS to each CALL (a kernel without it) and, with
# --fail-ro-mount, EPERM to a mount(2) that sets MS_RDONLY (the remount of the first dataset: a
# failure after some mounts). The hook's own filter, if any, stacks on top.
cat >"$work/limit.c" <<'EOT'
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

int main(int argc, char **argv) {
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        int i, r = 0;

        for (i = 1; i < argc && strcmp(argv[i], "--") != 0 && r == 0; i++) {
                if (strcmp(argv[i], "--enosys") == 0 && i + 1 < argc) {
                        int nr = seccomp_syscall_resolve_name(argv[++i]);
                        r = nr == __NR_SCMP_ERROR ? -EINVAL : seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
                } else if (strcmp(argv[i], "--fail-ro-mount") == 0) {
                        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mount), 1,
                                             SCMP_A3(SCMP_CMP_MASKED_EQ, MS_RDONLY, MS_RDONLY));
                } else {
                        r = -EINVAL;
                }
        }
        if (r < 0 || i + 1 >= argc || (r = seccomp_load(ctx)) < 0) {
                fprintf(stderr, "limit: bad arguments or seccomp: %s\n", strerror(-r));
                return 125;
        }
        execv(argv[i + 1], argv + i + 1);
        perror("limit: execv");
        return 126;
}
EOT
# shellcheck disable=SC2046
if ! cc -o "$work/limit" "$work/limit.c" $(pkg-config --cflags --libs libseccomp) 2>"$work/limit.err"; then
        not_ok "harness: the seccomp launcher builds" "$(cat "$work/limit.err")"
        exit 0
fi

# --- the node: the sample node without its s3 entry, quotas off (this kernel has no project quotas)
make_hostkernel_node "$work/node"
sed -i '/^my-bucket-data:/,$d' "$settings"
echo "notebook nb1" >"$node/notebooks/acme/nb1/hello.txt"
echo "team storage" >"$node/storage/east-1/acme/shared.txt"
echo "report v1" >"$node/datasets/dsr8k5qzn401lb5/v1/report.csv"
echo "images v3" >"$node/datasets/dsimg7/v3/version.txt"
echo "mnist v1" >"$node/datasets/dsmnist/v1/train.txt"

# --- hooks ---------------------------------------------------------------------------------------
# make_hook NAME LAUNCHER...: $work/hooks/NAME, the hook program of a bundle: `LAUNCHER... nbmount
# hook STAGE --config ... --debug`, its stderr copied to out/NAME.STAGE.err (runc shows a hook's
# stderr only when it fails), and at createRuntime the container's mount table before and after
# the hook in out/NAME.before and out/NAME.after.
mkdir -p "$work/hooks"
make_hook() {
        local name=$1 launcher
        shift
        # every path %q-quoted: the build may live in a folder with a space
        launcher=$(printf '%q ' "$@")
        cat >"$work/hooks/$name" <<EOT
#!/bin/bash
out=$(printf '%q' "$work/out/$name")
state=\$(cat)
pid=\$(printf '%s' "\$state" | $(printf '%q' "$(command -v jq)") -r '.pid // 0')
[ "\$1" = createRuntime ] && cat /proc/\$pid/mountinfo >"\$out.before" 2>&1
printf '%s' "\$state" | $launcher $(printf '%q' "$NBMOUNT") hook "\$1" --config $(printf '%q' "$config") --debug 2> >($(printf '%q' "$(command -v tee)") "\$out.\$1.err" >&2)
rc=\$?
[ "\$1" = createRuntime ] && cat /proc/\$pid/mountinfo >"\$out.after" 2>&1
exit \$rc
EOT
        chmod 755 "$work/hooks/$name"
}
# valgrind_hook NAME [LIMIT ARGS...]: the hook under valgrind, its logs in out/NAME.vg.PID; with
# LIMIT ARGS, valgrind itself runs under the seccomp launcher.
valgrind_hook() {
        local name=$1
        shift
        local -a limit=()
        (($#)) && limit=("$work/limit" "$@" --)
        make_hook "$name" "${limit[@]}" "$(command -v valgrind)" --error-exitcode=99 --leak-check=full \
                --show-leak-kinds=all --errors-for-leak-kinds=all --track-fds=no -q \
                "--log-file=$work/out/$name.vg.%p"
}
# hook_bundle NAME CMD [make_bundle options]: bundle b/NAME of alice's notebook nb1 (unless
# --identity is given again) whose createRuntime and poststop hooks are hooks/NAME.
hook_bundle() {
        local name=$1 cmd=$2 hook=$work/hooks/$1
        shift 2
        make_bundle "$work/b/$name" --identity acme nb1 alice --cmd "$cmd" "$@" \
                --hook-json createRuntime "{\"path\": \"$hook\", \"args\": [\"hook\", \"createRuntime\"]}" \
                --hook-json poststop "{\"path\": \"$hook\", \"args\": [\"hook\", \"poststop\"]}"
        bundle=$work/b/$name
}

# valgrind_problems NAME: what valgrind's logs of hook NAME say, less its notes on the system calls it
# does not know (here open_tree, the hook's probe of the new mount API, and openat2, which
# safeopen.c replaces by a walk); valgrind_unknown lists their numbers. A call the hook needed and
# could not replace would show in the assertions on what the container sees.
valgrind_notes='^--[0-9]+-- (WARNING: unhandled amd64-linux syscall: [0-9]+|You may be able to write your own handler\.|Read the file README_MISSING_SYSCALL_OR_IOCTL\.|Nevertheless we consider this a bug\.  Please report|it at http://valgrind\.org/support/bug_reports\.html\.)$'
valgrind_problems() { cat "$work/out/$1".vg.* 2>/dev/null | grep -vE "$valgrind_notes"; }
valgrind_unknown() {
        cat "$work/out/"*.vg.* 2>/dev/null | sed -n 's/^--[0-9]*-- WARNING: unhandled amd64-linux syscall: //p' | sort -nu | paste -sd' '
}
# expect_valgrind_clean LABEL NAME N: valgrind ran the N runs of hook NAME (a log per process, so a
# run that forks leaves more), and nothing is in the logs.
expect_valgrind_clean() {
        local logs
        logs=$(find "$work/out" -name "$2.vg.*" | wc -l)
        if ((logs >= $3)); then ok "$1: valgrind ran the hook"; else not_ok "$1: valgrind ran the hook" "$logs logs for $3 runs"; fi
        expect_eq "$1: valgrind reports no error and no leak" "" "$(valgrind_problems "$2")"
}

# --- what the container sees ---------------------------------------------------------------------
probe_cmd='echo started
for f in /notebooks/hello.txt /storage/shared.txt /datasets/quarterly-reports/report.csv /datasets/images/version.txt /datasets/mnist/train.txt; do
        echo "read $f: $(cat $f 2>&1)"
done
msg=$(touch /datasets/quarterly-reports/new 2>&1); echo "dataset write: $msg rc=$?"
msg=$(echo "from $NAME" 2>&1 >/storage/written-$NAME.txt); echo "storage write: $msg rc=$?"
msg=$(echo "from $NAME" 2>&1 >/notebooks/written-$NAME.txt); echo "notebook write: $msg rc=$?"
echo --mountinfo--
cat /proc/self/mountinfo'
out_line() { printf '%s\n' "$run_out" | sed -n "s|^$1||p" | head -1; }
mountinfo_of() { printf '%s\n' "$run_out" | sed -n '/^--mountinfo--$/,$p' | sed 1d; }
container_mounts() { mountinfo_of | awk '$5 ~ /^\/(notebooks|storage|datasets)(\/|$)/ { print $5, $4 }' | sort; }
# container_flags TARGET: its per-mount flags among ro, rw, nosuid, nodev, noexec.
container_flags() {
        mountinfo_of | awk -v t="$1" '$5 == t { print $6 }' | tr ',' '\n' | grep -xE 'ro|rw|nosuid|nodev|noexec' | paste -sd' '
}
fs_root() { # PATH as mountinfo's "root" field shows a bind mount of it
        local target fsroot
        target=$(findmnt -n -o TARGET -T "$1")
        fsroot=$(findmnt -n -o FSROOT -T "$1")
        if [ "$target" = / ]; then echo "${fsroot%/}$1"; else echo "${fsroot%/}${1#"$target"}"; fi
}
expected_mounts() {
        printf '%s\n' "/datasets/images $(fs_root "$node/datasets/dsimg7/v3")" \
                "/datasets/mnist $(fs_root "$node/datasets/dsmnist/v1")" \
                "/datasets/quarterly-reports $(fs_root "$node/datasets/dsr8k5qzn401lb5/v1")" \
                "/notebooks $(fs_root "$node/notebooks/acme/nb1")" \
                "/storage $(fs_root "$node/storage/east-1/acme")"
}
# A mount table without its ids, sorted: out/NAME.before and .after, or /proc/self/mountinfo.
mount_table() { awk '{ for (i = 7; $i != "-"; i++) ; print $5, $(i + 1), $(i + 2), $4, $6, $(i + 3) }' "$1" | sort; }
# The host's mounts of anything under the work dir: where a mount of the hook that leaked to the
# host would show (its source is under the node). The rest of the host's table is left out: other
# programs mount and unmount there meanwhile.
host_mounts() { mount_table /proc/self/mountinfo | grep -F "$work"; }
# rootfs_snapshot DIR: files_snapshot without the mtimes (making and removing a folder moves its parent's).
rootfs_snapshot() { files_snapshot "$1" | awk '{ $6 = ""; print }'; }
hook_err() { cat "$work/out/$1.$2.err" 2>/dev/null; }
# hook_line: the hook's line in runc's error.
hook_line() {
        printf '%s\n' "$run_err" | sed -n 's/.*stderr: \(.*\)$/\1/p' | head -1 | sed 's/\\n"*$//; s/\\"/"/g' |
                sed 's/\\n/\n/g' | grep -v '^nbmount: debug: ' | head -1
}

# check_start LABEL NAME FALLBACK_TRACE: the assertions on a probe_cmd container that started.
check_start() {
        local label=$1 name=$2 target
        expect_eq "$label: the container starts and exits 0" "0 started" "$run_rc $(echo "$run_out" | head -1)"
        expect_has "$label: the hook says it fell back to mount(2)" "$(hook_err "$name" createRuntime)" "$3"
        expect_eq "$label: reads the notebook, the storage and the datasets" \
                "notebook nb1|team storage|report v1|images v3|mnist v1" \
                "$(out_line 'read /notebooks/hello.txt: ')|$(out_line 'read /storage/shared.txt: ')|$(out_line 'read /datasets/quarterly-reports/report.csv: ')|$(out_line 'read /datasets/images/version.txt: ')|$(out_line 'read /datasets/mnist/train.txt: ')"
        expect_eq "$label: a write to a dataset fails with EROFS" \
                "touch: /datasets/quarterly-reports/new: Read-only file system rc=1" "$(out_line 'dataset write: ')"
        expect_eq "$label: a write to /storage lands in the team's folder on the host" " rc=0|from $name" \
                "$(out_line 'storage write: ')|$(cat "$node/storage/east-1/acme/written-$name.txt" 2>&1)"
        expect_eq "$label: a write to /notebooks lands in the notebook folder on the host" " rc=0|from $name" \
                "$(out_line 'notebook write: ')|$(cat "$node/notebooks/acme/nb1/written-$name.txt" 2>&1)"
        rm -f "$node/storage/east-1/acme/written-$name.txt" "$node/notebooks/acme/nb1/written-$name.txt"
        expect_eq "$label: exactly the planned mounts, from the planned sources" "$(expected_mounts)" "$(container_mounts)"
        for target in /datasets/quarterly-reports /datasets/images /datasets/mnist; do
                expect_eq "$label: $target is ro nosuid nodev" "ro nosuid nodev" "$(container_flags $target)"
        done
        for target in /notebooks /storage; do
                expect_eq "$label: $target is rw nosuid nodev" "rw nosuid nodev" "$(container_flags $target)"
        done
        expect_eq "$label: the host's mount table is unchanged" "$host_mounts" "$(host_mounts)"
}

# check_refused LABEL NAME PART...: the start fails with the hook's line holding every PART, the
# container's mount table and root are as before the hook, and so is the host's mount table.
check_refused() {
        local label=$1 name=$2
        shift 2
        expect_eq "$label: the container does not start" "yes no" \
                "$([ "$run_rc" -ne 0 ] && echo yes || echo no) $(echo "$run_out" | grep -q started && echo yes || echo no)"
        expect_has "$label: runc shows the hook's line" "$(hook_line)" "nbmount: container " "$@"
        expect_eq "$label: the container's mount table is as before the hook" \
                "$(mount_table "$work/out/$name.before")" "$(mount_table "$work/out/$name.after")"
        expect_eq "$label: the container's root is as before the hook" "$rootfs_before" \
                "$(rootfs_snapshot "$bundle/rootfs")"
        expect_eq "$label: the host's mount table is unchanged" "$host_mounts" "$(host_mounts)"
}

host_mounts=$(host_mounts)
if ! "$NBMOUNT" hook --help >/dev/null 2>&1; then
        not_ok "nbmount hook --help" "$NBMOUNT does not run"
        exit 0
fi

# --- 1. under valgrind ---------------------------------------------------------------------------
if [ "${SANITIZE:-}" = 1 ]; then
        echo "# valgrind runs left out: this nbmount is built with ASan and UBSan, which do that job here"
else
        valgrind_hook vg-start
        hook_bundle vg-start "NAME=vg-start; $probe_cmd"
        run_runc "$bundle"
        check_start "start" vg-start "fallback to mount(2)"
        expect_eq "start: poststop exits 0" "" "$(echo "$run_err" | grep -i poststop)"
        expect_valgrind_clean "start, createRuntime and poststop" vg-start 2

        valgrind_hook vg-refused
        hook_bundle vg-refused 'echo started' --identity acme nb1 carol
        rootfs_before=$(rootfs_snapshot "$bundle/rootfs")
        run_runc "$bundle"
        check_refused "non-member" vg-refused \
                "/notebooks refused: user carol is not a member of team acme; ask the team's admin to add carol"
        expect_valgrind_clean "non-member" vg-refused 2

        # The third mount, the first dataset, cannot be made read-only: /notebooks and /storage are
        # mounted, /datasets/quarterly-reports bound; all three must go again, with their folders.
        valgrind_hook vg-rollback --fail-ro-mount
        hook_bundle vg-rollback 'echo started'
        rootfs_before=$(rootfs_snapshot "$bundle/rootfs")
        run_runc "$bundle"
        check_refused "failure at the third mount" vg-rollback \
                "/datasets/quarterly-reports: cannot make $node/datasets/dsr8k5qzn401lb5/v1 ro, nosuid, nodev: Operation not permitted"
        expect_eq "failure at the third mount: the three mounts made are unmounted, last first" \
                "/datasets/quarterly-reports: unmounted|/storage: unmounted|/notebooks: unmounted" \
                "$(hook_err vg-rollback createRuntime | sed -n 's/^nbmount: debug: \(.*: unmounted\)$/\1/p' | paste -sd'|')"
        expect_valgrind_clean "failure at the third mount" vg-rollback 2

        # The third target is a symlink in the image: refused before any mount; the mountpoint
        # folders made for the first two go again.
        valgrind_hook vg-symlink
        hook_bundle vg-symlink 'echo started'
        mkdir -p "$bundle/rootfs/datasets"
        ln -s /etc "$bundle/rootfs/datasets/quarterly-reports"
        rootfs_before=$(rootfs_snapshot "$bundle/rootfs")
        run_runc "$bundle"
        check_refused "symlink at the third target" vg-symlink "/datasets/quarterly-reports: cannot make the mountpoint"
        expect_valgrind_clean "symlink at the third target" vg-symlink 2
        echo "# system calls of the hook that valgrind does not know and answers ENOSYS: $(valgrind_unknown)"
fi

# --- 2. the fallback without valgrind, on a kernel made to look older ----------------------------
new_api=(--enosys open_tree --enosys move_mount --enosys mount_setattr --enosys fsopen --enosys fsmount
         --enosys fspick --enosys fsconfig)
before_5_2=("${new_api[@]}" --enosys openat2 --enosys statx)
kernels=("Linux < 5.2" "Linux 5.2 to 5.11")
for k in 0 1; do
        kernel=${kernels[k]}
        if ((k == 0)); then limit=("${before_5_2[@]}"); trace="no open_tree/move_mount (Linux 5.2+)"
        else limit=(--enosys mount_setattr); trace="no mount_setattr (Linux 5.12+)"; fi
        make_hook "old$k" "$work/limit" "${limit[@]}" --
        hook_bundle "old$k" "NAME=old$k; $probe_cmd"
        run_runc "$bundle"
        check_start "$kernel simulated: start" "old$k" "$trace"
        expect_has "$kernel simulated: start: it is the fallback" "$(hook_err "old$k" createRuntime)" \
                "fallback to mount(2) for every mount"

        make_hook "old$k-rollback" "$work/limit" "${limit[@]}" --fail-ro-mount --
        hook_bundle "old$k-rollback" 'echo started'
        rootfs_before=$(rootfs_snapshot "$bundle/rootfs")
        run_runc "$bundle"
        check_refused "$kernel simulated: failure at the third mount" "old$k-rollback" \
                "/datasets/quarterly-reports: cannot make $node/datasets/dsr8k5qzn401lb5/v1 ro, nosuid, nodev"

        make_hook "old$k-etc" "$work/limit" "${limit[@]}" --
        hook_bundle "old$k-etc" 'echo started'
        ln -s /etc "$bundle/rootfs/storage"
        rootfs_before=$(rootfs_snapshot "$bundle/rootfs")
        run_runc "$bundle"
        check_refused "$kernel simulated: image symlink /storage -> /etc" "old$k-etc" "/storage: cannot make the mountpoint"

        # Twice the same stage: the second run finds the mounts of the first and leaves them.
        make_hook "old$k-twice" "$work/limit" "${limit[@]}" --
        hook_bundle "old$k-twice" 'echo --mountinfo--; cat /proc/self/mountinfo'
        jq '.hooks.createRuntime += .hooks.createRuntime' "$bundle/config.json" >"$bundle/config.json.new" &&
                mv "$bundle/config.json.new" "$bundle/config.json"
        run_runc "$bundle"
        expect_eq "$kernel simulated: hook run twice: every mount exactly once" "0 $(oneline "$(expected_mounts)")" \
                "$run_rc $(oneline "$(container_mounts)")"
done

# A source on a noexec mount stays noexec, as mount_setattr (which only adds flags) keeps it.
mount -t tmpfs -o noexec,size=1m nbmount-noexec "$node/datasets/dsmnist/v1"
echo "mnist v1" >"$node/datasets/dsmnist/v1/train.txt"
host_mounts=$(host_mounts)
hook_bundle old0-noexec 'echo --mountinfo--; cat /proc/self/mountinfo'
make_hook old0-noexec "$work/limit" "${before_5_2[@]}" --
run_runc "$bundle"
expect_eq "Linux < 5.2 simulated: a source on a noexec mount: ro nosuid nodev noexec" "0 ro nosuid nodev noexec" \
        "$run_rc $(container_flags /datasets/mnist)"
umount "$node/datasets/dsmnist/v1"
exit 0
