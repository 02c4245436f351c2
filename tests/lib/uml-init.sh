#!/bin/bash
# PID 1 of a User-Mode Linux run started by uml_run (tests/lib/uml.sh). Not for the host.
# The root file system is the host's, through hostfs, mounted read-only: scratch files go to the
# tmpfs mounted here (/run, /tmp, /var/tmp, /dev/shm) or to the ubd disks.
# $nbuml_run (from the kernel command line) is the host folder of this run: argv (the command,
# NUL-separated), cwd; the command's stdout, stderr and exit status go back to out, err, rc,
# the mount table to mounts, and the init's own messages to the console.
# Its parent (the host's UML_WORK) stays visible at the same path even when under /tmp.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp TMPDIR=/tmp LANG=C.UTF-8 TERM=dumb
run=${nbuml_run:-}
work=${run%/*}
unset nbuml_run mem uml_dir

finish() {
        sync
        # -d: no wtmp record (the root is the host's; it is read-only anyway)
        poweroff -f -d 2>/dev/null || halt -f -d 2>/dev/null || echo o >/proc/sysrq-trigger
        sleep 10
}
if [ "$$" != 1 ] || [ -z "$run" ] || [ ! -f "$run/argv" ]; then
        echo "uml-init: not PID 1 of a uml_run boot (pid $$, run '$run')" >&2
        [ "$$" = 1 ] && finish
        exit 2
fi

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
        # The root is the host's, read-only (uml_run boots with `ro`); UML_WORK is the one host
        # folder mounted read-write, through a hostfs mount of its own.
        mkdir /run/uml-work
        mount -t hostfs -o "$work" hostfs /run/uml-work
        mount -t tmpfs -o mode=1777 tmpfs /tmp
        mount -t tmpfs -o mode=1777 tmpfs /var/tmp
        # UML_WORK under /tmp is hidden by now: bind it back at the same path.
        mkdir -p "$work" && mount --bind /run/uml-work "$work"
        mount -t cgroup2 none /sys/fs/cgroup
        ip link set lo up 2>/dev/null
        hostname uml
} >/dev/console 2>&1 # console.log on the host
export UML_RUN_DIR=$run UML_WORK=$work
cat /proc/mounts >"$run/mounts"

argv=()
while IFS= read -r -d '' arg; do argv+=("$arg"); done <"$run/argv"
cd "$(cat "$run/cwd")" || cd /
"${argv[@]}" </dev/null >"$run/out" 2>"$run/err"
echo $? >"$run/rc.tmp"
mv "$run/rc.tmp" "$run/rc"
cd /
finish
