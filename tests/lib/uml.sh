# SPDX-License-Identifier: Apache-2.0
# User-Mode Linux for the tests that need a kernel feature the host lacks (project quotas).
# Sourced on the host: `. tests/lib/uml.sh`. See TESTBED.md, "Project quotas".
#
#   uml_run DISK SCRIPT [ARGS...]   boots UML (the `user-mode-linux` package) with the host's root
#                                   file system as its root (hostfs) and DISK as /dev/ubda, runs
#                                   SCRIPT ARGS... inside as PID 1's child, in the caller's
#                                   working directory, then halts. SCRIPT's stdout goes to
#                                   uml_run's stdout and its stderr to uml_run's stderr, after UML
#                                   has exited; uml_run returns SCRIPT's exit status, or 125 when
#                                   UML gave none (did not boot, panicked, timed out), with the
#                                   end of the console on stderr.
#   uml_disk FILE [SIZE]            a fresh sparse disk image (default 512M; mkfs.xfs wants 300M).
#
# Inside UML (tests/lib/uml-init.sh): proc, sysfs, devtmpfs, devpts, tmpfs on /run, /tmp,
# /var/tmp and /dev/shm, cgroup2 on /sys/fs/cgroup, lo up, PATH set, HOME=/tmp. Everything else
# is the HOST's file system, mounted READ-ONLY (hostfs would otherwise write through to the
# host's real files): scratch state belongs under /tmp, /run or on /dev/ubda
# (tests/lib/uml-lib.sh makes and mounts quota file systems there).
#
# Where the checkout lives does not matter (/tmp, /work, a path with a space): UML_WORK (a host
# folder) is visible inside UML at the same path, read-write, even under /tmp; and so are,
# read-only, the working directory, SCRIPT's folder, the folder of every ARG that is an absolute
# path, and every folder of the array UML_SHARES, which the init mounts back over its tmpfs when
# they are under /tmp, /var/tmp, /run or /dev/shm (the rest of the host's /tmp is not visible).
# The kernel command line cannot quote a space: it names only a boot folder of uml_run's, without
# one (/tmp/nbmount-uml-boot.XXXXXX: the init and links to the disks), and the paths travel in
# files. A path with a comma cannot be shared (hostfs takes its path as a mount option).
# Each run has a folder UML_WORK/run-PID-N (so runs may go in parallel, from background
# subshells) (argv, cwd, shares, out, err, rc, mounts, console.log; $UML_RUN_DIR inside). Tests
# pass files in and out through UML_WORK.
#
# Environment: UML_WORK (default: a fresh /tmp/nbmount-uml.XXXXXX, removed by uml_cleanup),
# UML_EXTRA_DISKS (space-separated images, paths without spaces: /dev/ubdb, /dev/ubdc, ...),
# UML_SHARES (an array of host folders), UML_MEM (768M), UML_TIMEOUT (seconds, 300), UML_KERNEL
# (linux.uml), UML_VERBOSE=1 (console to stderr as well). After a run: uml_last (its folder),
# uml_boot_seconds (wall time).

UML_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
UML_SEQ=0

uml_disk() {
        rm -f "$1" && truncate -s "${2:-512M}" "$1"
}

uml_run() {
        local disk=$1 kernel=${UML_KERNEL:-linux.uml}
        shift
        if ! command -v "$kernel" >/dev/null; then
                echo "# uml_run: $kernel not found (package user-mode-linux)" >&2
                return 125
        fi
        if [ -z "${UML_WORK:-}" ]; then
                UML_WORK=$(mktemp -d /tmp/nbmount-uml.XXXXXX) || return 125
                UML_WORK_OWNED=1
        fi
        UML_SEQ=$((UML_SEQ + 1))
        mkdir -p "$UML_WORK" || return 125
        uml_last=$(realpath -e -- "$UML_WORK")/run-$BASHPID-$UML_SEQ || return 125
        rm -rf "$uml_last"
        mkdir -p "$uml_last" || return 125
        # argv NUL-separated, the script resolved to an absolute path (it runs from the same cwd).
        local script=$1 arg
        shift
        case $script in
        /*) ;;
        */*) script=$PWD/$script ;;
        *) script=$(command -v "$script" 2>/dev/null || echo "$PWD/$script") ;;
        esac
        printf '%s\0' "$script" "$@" >"$uml_last/argv"
        pwd >"$uml_last/cwd"
        # What the command needs of the host, wherever it lives (the guest covers /tmp, /run,
        # /var/tmp with tmpfs): the working directory, the script's folder, the folder of each
        # argument that is an absolute path, and UML_SHARES.
        {
                uml_share_of "$PWD"
                uml_share_of "$script"
                for arg in "$@" ${UML_SHARES[@]+"${UML_SHARES[@]}"}; do
                        [[ $arg == /* ]] && uml_share_of "$arg"
                done
        } >"$uml_last/shares"
        # The kernel command line cannot quote a space: the init and the name of this run's
        # folder go through a folder whose path has none.
        local boot
        boot=$(mktemp -d /tmp/nbmount-uml-boot.XXXXXX) || return 125
        cp "$UML_LIB_DIR/uml-init.sh" "$boot/init" && chmod 755 "$boot/init" &&
                printf '%s' "$uml_last" >"$boot/run" || { rm -rf "$boot"; return 125; }
        # the disks by links in the boot folder, for the same reason
        local -a disks=() images=("$disk")
        local image n=0
        # shellcheck disable=SC2206 # UML_EXTRA_DISKS: space-separated
        images+=(${UML_EXTRA_DISKS:-})
        for image in "${images[@]}"; do
                ln -s "$(realpath -m -- "$image")" "$boot/ubd$n" && disks+=("ubd$n=$boot/ubd$n") || { rm -rf "$boot"; return 125; }
                n=$((n + 1))
        done
        local start end rc
        start=$(date +%s.%N)
        # timeout signals the whole process group, so UML's helper processes go too. The kernel
        # passes unknown name=value parameters to init as environment variables.
        timeout -k 10 "${UML_TIMEOUT:-300}" "$kernel" mem="${UML_MEM:-768M}" root=/dev/root \
                rootfstype=hostfs rootflags=/ ro "${disks[@]}" init="$boot/init" \
                con=null con0=null,fd:1 uml_dir="$boot" quiet nbuml_boot="$boot" \
                </dev/null >"$uml_last/console.log" 2>&1
        rc=$?
        rm -rf "$boot"
        end=$(date +%s.%N)
        uml_boot_seconds=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }')
        [ "${UML_VERBOSE:-}" = 1 ] && cat "$uml_last/console.log" >&2
        cat "$uml_last/out" 2>/dev/null
        cat "$uml_last/err" >&2 2>/dev/null
        if [ -s "$uml_last/rc" ]; then
                return "$(cat "$uml_last/rc")"
        fi
        {
                echo "# uml_run: UML gave no exit status for $script (kernel exit $rc after ${uml_boot_seconds}s); console ends with:"
                tail -20 "$uml_last/console.log" | sed 's/^/#   /'
        } >&2
        return 125
}

# uml_share_of PATH: the host folder that makes PATH visible (PATH itself when it is a folder),
# resolved, NUL-terminated; nothing when it does not exist.
uml_share_of() {
        local path
        path=$(realpath -e -- "$1" 2>/dev/null) || return 0
        [ -d "$path" ] || path=$(dirname -- "$path")
        printf '%s\0' "$path"
}

# uml_cleanup: removes UML_WORK if uml_run made it.
uml_cleanup() {
        if [ "${UML_WORK_OWNED:-}" = 1 ] && [ -d "${UML_WORK:-}" ]; then
                rm -rf --one-file-system "$UML_WORK"
        fi
        return 0
}
