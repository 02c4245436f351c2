# SPDX-License-Identifier: Apache-2.0
# Helpers for test scripts that run INSIDE User-Mode Linux (started by uml_run, tests/lib/uml.sh).
# Sourced: `. tests/lib/uml-lib.sh`. The root file system is the host's (hostfs): keep every
# scratch file under /tmp, /run (tmpfs) or on a ubd disk.
#
#   uml_quota_fs xfs|ext4 DEV MNT [noquota]   mkfs DEV and mount it on MNT with prjquota (or
#                                   without quotas: XFS mounted without prjquota, ext4 without the
#                                   quota/project features); ext4 loads quota_tree and quota_v2
#   uml_fs_block MNT                the file system's block size
#   uml_project_usage FS MNT        "ID USED_BYTES SOFT_BYTES HARD_BYTES" for every project the
#                                   kernel accounts, from xfs_quota (XFS) or repquota (ext4),
#                                   the way an operator would read them (KiB units * 1024)
#   uml_node DIR [ENFORCE]          the sample node (tests/lib/sample-node.sh) under DIR with
#                                   small plans (pro: storage 20MB, notebook 10MB), overage cap
#                                   5MB, quota.enforce ENFORCE (required), no settings.yaml, and
#                                   without acme's storage and nb1 folders (the hook makes them,
#                                   owned by the container's user)
#   uml_bundles WORK NBMOUNT [FSX]  bundle_init (tests/lib/bundle.sh) in WORK (must be on tmpfs
#                                   or a ubd disk) with dd, rm, sync, du in the busybox rootfs,
#                                   the static FSX helper (tests/lib/uml-fsx.c) as /bin/fsx, a
#                                   user u1000 and /tmp writable by all
#   uml_grant DIR TEAM PLAN CARD [MEMBER...]   writes DIR/grants/TEAM.json (storage on east-1), a new
#                                   file renamed over the name
#   seccomp_allowlist OUT plain|ne [RULES]     an OCI seccomp profile that denies by default
#                                   (ENOSYS), allowing what /usr/share/containers/seccomp.json
#                                   allows without argument conditions (ignoring its arch and
#                                   capability "includes": an x86_64 approximation), plus the
#                                   RULES file's syscalls
#                                   (packaging/seccomp/nbmount-quota.json). plain: ioctl allowed
#                                   unconditionally, as in that profile; ne: ioctl allowed only
#                                   when its request is not FS_IOC_FSSETXATTR. Usable on the host.

UML_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$UML_LIB_DIR/sample-node.sh"
. "$UML_LIB_DIR/bundle.sh"

uml_ext4_modules() {
        local dir mod
        dir=/usr/lib/uml/modules/$(uname -r)/kernel/fs/quota
        for mod in quota_tree quota_v2; do
                grep -q "^$mod " /proc/modules && continue
                insmod "$dir/$mod.ko" || return 1
        done
}

uml_quota_fs() {
        local fs=$1 dev=$2 mnt=$3 mode=${4:-prjquota}
        mkdir -p "$mnt" || return 1
        case $fs:$mode in
        xfs:prjquota) mkfs.xfs -q -f "$dev" && mount -o prjquota "$dev" "$mnt" ;;
        xfs:noquota) mkfs.xfs -q -f "$dev" && mount "$dev" "$mnt" ;;
        ext4:prjquota)
                uml_ext4_modules &&
                        mkfs.ext4 -q -F -O quota,project -E quotatype=prjquota "$dev" &&
                        mount -o prjquota "$dev" "$mnt" ;;
        ext4:noquota) mkfs.ext4 -q -F "$dev" && mount "$dev" "$mnt" ;;
        *) echo "uml_quota_fs: unknown file system or mode $fs $mode" >&2; return 2 ;;
        esac
}

uml_fs_block() { stat -f -c %S "$1"; }

uml_project_usage() {
        local fs=$1 mnt=$2
        case $fs in
        # "#ID USED SOFT HARD WARN/GRACE" in KiB
        xfs) xfs_quota -x -c 'report -p -b -n -N' "$mnt" |
                awk '$1 ~ /^#[0-9]+$/ { print substr($1, 2), $2 * 1024, $3 * 1024, $4 * 1024 }' ;;
        # "#ID -- USED SOFT HARD [GRACE] FILES ..." in KiB; a used value over the soft limit may
        # carry a suffix-less grace column, so take the fixed columns 3, 4, 5.
        ext4) repquota -P -n -O csv "$mnt" 2>/dev/null | awk -F, 'NR > 1 && $1 ~ /^#?[0-9]+$/ {
                        id = $1; sub(/^#/, "", id); print id, $4 * 1024, $5 * 1024, $6 * 1024 }' ;;
        esac
}

uml_node() {
        local dir=$1 enforce=${2:-required}
        make_sample_node "$dir"
        rm -rf "$dir/notebooks/acme/nb1" "$dir/storage/east-1/acme"
        sed -i -e 's/^  pro: .*/  pro: {storage: 20MB, notebook: 10MB}/' \
                -e 's/^  free: .*/  free: {storage: 8MB, notebook: 4MB}/' \
                -e 's/^billing: .*/billing: {price_per_gb_month: 0.29, overage_cap: 5MB}/' \
                -e "s/^quota: .*/quota: {enforce: $enforce}/" "$dir/node.yaml"
}

uml_grant() {
        local dir=$1 team=$2 plan=$3 card=$4
        shift 4
        local members
        members=$(printf '%s\n' "$@" | jq -R . | jq -sc .)
        jq -n --arg t "$team" --arg p "$plan" --argjson c "$card" --argjson m "$members" \
                '{team: $t, plan: $p, card_on_file: $c, private_workspace: false, members: $m,
                  storage_clusters: ["east-1"], datasets: []}' >"$dir/grants/.$team.json.new" &&
                mv "$dir/grants/.$team.json.new" "$dir/grants/$team.json" # replaced, never rewritten (FORMATS.md §2)
}

uml_bundles() {
        local work=$1 nbmount=$2 fsx=${3:-} applet
        bundle_init "$work" "$nbmount" || return 1
        for applet in dd rm sync du tr sed awk cut seq; do
                ln -sf busybox "$work/rootfs.base/bin/$applet"
        done
        if [ -n "$fsx" ]; then cp "$fsx" "$work/rootfs.base/bin/fsx" || return 1; fi
        echo 'u1000:x:1000:1000::/tmp:/bin/sh' >>"$work/rootfs.base/etc/passwd"
        chmod 1777 "$work/rootfs.base/tmp"
}

seccomp_allowlist() {
        local out=$1 mode=$2 rules=${3:-packaging/seccomp/nbmount-quota.json}
        jq --arg mode "$mode" --slurpfile r "$rules" '
                [.syscalls[] | select(.action == "SCMP_ACT_ALLOW" and (.args | length) == 0) | .names[]]
                | unique as $allowed
                | {defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 38,
                   architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                   syscalls: ([{names: (if $mode == "ne" then $allowed - ["ioctl"] else $allowed end),
                                action: "SCMP_ACT_ALLOW"}]
                              + (if $mode == "ne" then [{names: ["ioctl"], action: "SCMP_ACT_ALLOW",
                                     args: [{index: 1, value: 1075599392, op: "SCMP_CMP_NE"}]}] else [] end)
                              + $r[0].syscalls)}' /usr/share/containers/seccomp.json >"$out"
}
