#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# PID 1 of a User-Mode Linux run started by uml_run (tests/lib/uml.sh). Not for the host.
# The root file system is the host's, through hostfs, mounted read-only: scratch files go to the
# tmpfs mounted here (/run, /tmp, /var/tmp, /dev/shm) or to the ubd disks.
# $nbuml_boot (from the kernel command line, which cannot quote a space) is a host folder with a
# path without spaces; its file "run" names the host folder of this run, which may have any path:
# argv (the command, NUL-separated), cwd, shares (host folders, NUL-separated, that the command
# needs: the checkout, the build); the command's stdout, stderr and exit status go back to out,
# err, rc, the mount table to mounts, and the init's own messages to the console.
# The run's parent (the host's UML_WORK) is mounted read-write at its own path, and every share
# that the tmpfs mounts here would hide (a checkout under /tmp) read-only at its own path.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp TMPDIR=/tmp LANG=C.UTF-8 TERM=dumb
boot=${nbuml_boot:-}
run=""
[ -n "$boot" ] && [ -f "$boot/run" ] && run=$(cat "$boot/run")
work=${run%/*}
unset nbuml_boot mem uml_dir

finish() {
        sync
        # -d: no wtmp record (the root is the host's; it is read-only anyway)
        poweroff -f -d 2>/dev/null || halt -f -d 2>/dev/null || echo o >/proc/sysrq-trigger
        sleep 10
}
# fail STATUS MESSAGE: the command cannot run; the host sees MESSAGE as its stderr.
fail() {
        echo "uml-init: $2" >"$run/err"
        echo "$1" >"$run/rc"
        finish
}
if [ "$$" != 1 ] || [ -z "$run" ] || [ ! -f "$run/argv" ]; then
        echo "uml-init: not PID 1 of a uml_run boot (pid $$, boot '$boot', run '$run')" >&2
        [ "$$" = 1 ] && finish
        exit 2
fi
# Read before /tmp is covered: the boot folder is there.
shares=()
if [ -f "$run/shares" ]; then
        while IFS= read -r -d '' dir; do shares+=("$dir"); done <"$run/shares"
fi

# hidden PATH: PATH is (under) one of the folders this init covers with a tmpfs.
hidden() {
        case $1 in
        /tmp | /tmp/* | /var/tmp | /var/tmp/* | /run | /run/* | /dev/shm | /dev/shm/*) return 0 ;;
        esac
        return 1
}

{
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
        mkdir -p /dev/pts /dev/shm
        # devtmpfs has no /dev/fd: bash's <(...) and many tools need it
        ln -sfn /proc/self/fd /dev/fd
        ln -sfn /proc/self/fd/0 /dev/stdin
        ln -sfn /proc/self/fd/1 /dev/stdout
        ln -sfn /proc/self/fd/2 /dev/stderr
        mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
        mount -t tmpfs -o mode=1777 tmpfs /dev/shm
        mount -t tmpfs -o mode=755 tmpfs /run
        mount -t tmpfs -o mode=1777 tmpfs /tmp
        mount -t tmpfs -o mode=1777 tmpfs /var/tmp
        # The shares that a tmpfs hides come back read-only at their own paths, the shortest
        # first (a share inside another one is then visible already).
        for dir in "${shares[@]}"; do printf '%s\t%s\0' "${#dir}" "$dir"; done | sort -z -n | cut -z -f2- |
                while IFS= read -r -d '' dir; do
                        hidden "$dir" || continue
                        [ -d "$dir" ] && continue
                        mkdir -p "$dir" && mount -t hostfs -o "ro,$dir" hostfs "$dir"
                done
        # The root is the host's, read-only (uml_run boots with `ro`); UML_WORK is the one host
        # folder mounted read-write, at its own path, through a hostfs mount of its own.
        mkdir -p "$work" && mount -t hostfs -o "$work" hostfs "$work"
        mount -t cgroup2 none /sys/fs/cgroup
        ip link set lo up 2>/dev/null
        hostname uml
} >/dev/console 2>&1 # console.log on the host
export UML_RUN_DIR=$run UML_WORK=$work
cat /proc/mounts >"$run/mounts"

argv=()
while IFS= read -r -d '' arg; do argv+=("$arg"); done <"$run/argv"
cwd=$(cat "$run/cwd")
cd "$cwd" || fail 125 "cannot enter the working directory $cwd in User-Mode Linux (not shared?)"
"${argv[@]}" </dev/null >"$run/out" 2>"$run/err"
echo $? >"$run/rc.tmp"
mv "$run/rc.tmp" "$run/rc"
cd /
finish
