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
# UML_WORK (a host folder) is visible inside UML at the same path, even under /tmp: the init
# binds it back over the tmpfs; the rest of the host's /tmp is not (a SCRIPT under /tmp must be
# under UML_WORK). Each run has a folder UML_WORK/run-PID-N (so runs may go in parallel, from
# background subshells) (argv, cwd, out, err, rc, mounts,
# console.log; $UML_RUN_DIR inside). Tests pass files in and out through UML_WORK.
#
# Environment: UML_WORK (default: a fresh /tmp/nbmount-uml.XXXXXX, removed by uml_cleanup),
# UML_EXTRA_DISKS (space-separated images: /dev/ubdb, /dev/ubdc, ...), UML_MEM (768M), UML_TIMEOUT (seconds, 300), UML_KERNEL (linux.uml), UML_VERBOSE=1 (console
# to stderr as well). After a run: uml_last (its folder), uml_boot_seconds (wall time).

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
        uml_last=$UML_WORK/run-$BASHPID-$UML_SEQ
        rm -rf "$uml_last"
        mkdir -p "$uml_last" || return 125
        # argv NUL-separated, the script resolved to an absolute path (it runs from the same cwd).
        local script=$1
        shift
        [[ $script == /* ]] || script=$(command -v "$script" 2>/dev/null || echo "$PWD/$script")
        printf '%s\0' "$script" "$@" >"$uml_last/argv"
        pwd >"$uml_last/cwd"
        local -a disks=("ubd0=$disk")
        local extra n=1
        for extra in ${UML_EXTRA_DISKS:-}; do disks+=("ubd$n=$extra"); n=$((n + 1)); done
        local start end rc
        start=$(date +%s.%N)
        # timeout signals the whole process group, so UML's helper processes go too. The kernel
        # passes unknown name=value parameters to init as environment variables.
        timeout -k 10 "${UML_TIMEOUT:-300}" "$kernel" mem="${UML_MEM:-768M}" root=/dev/root \
                rootfstype=hostfs rootflags=/ ro "${disks[@]}" init="$UML_LIB_DIR/uml-init.sh" \
                con=null con0=null,fd:1 uml_dir="$uml_last" quiet nbuml_run="$uml_last" \
                </dev/null >"$uml_last/console.log" 2>&1
        rc=$?
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

# uml_cleanup: removes UML_WORK if uml_run made it.
uml_cleanup() {
        if [ "${UML_WORK_OWNED:-}" = 1 ] && [ -d "${UML_WORK:-}" ]; then
                rm -rf --one-file-system "$UML_WORK"
        fi
        return 0
}
