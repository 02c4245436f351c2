#!/bin/bash
# PID 1 of a User-Mode Linux run started by uml_run (tests/lib/uml.sh). Not for the host.
# The root file system is the host's, through hostfs: everything that must not reach the
# host's files goes to the tmpfs mounted here (/run, /tmp, /var/tmp, /dev/shm).
# $nbuml_run (from the kernel command line) is the host folder of this run: argv (the command,
# NUL-separated), cwd; the command's stdout, stderr and exit status go back to out, err, rc.
# Its parent (the host's UML_WORK) stays visible at the same path even when under /tmp.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp TMPDIR=/tmp LANG=C.UTF-8 TERM=dumb
run=${nbuml_run:-}
work=${run%/*}
unset nbuml_run mem uml_dir

finish() {
        sync
        poweroff -f 2>/dev/null || halt -f 2>/dev/null || echo o >/proc/sysrq-trigger
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
        mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
        mount -t tmpfs -o mode=1777 tmpfs /dev/shm
        mount -t tmpfs -o mode=755 tmpfs /run
        mkdir /run/uml-work
        mount --bind "$work" /run/uml-work
        mount -t tmpfs -o mode=1777 tmpfs /tmp
        mount -t tmpfs -o mode=1777 tmpfs /var/tmp
        # UML_WORK under /tmp is hidden by now: bind it back at the same path.
        if [ ! -f "$run/argv" ]; then
                mkdir -p "$work" && mount --bind /run/uml-work "$work"
        fi
        mount -t cgroup2 none /sys/fs/cgroup
        ip link set lo up 2>/dev/null
        hostname uml
} >"$run/init.log" 2>&1
export UML_RUN_DIR=$run UML_WORK=$work

argv=()
while IFS= read -r -d '' arg; do argv+=("$arg"); done <"$run/argv"
cd "$(cat "$run/cwd")" || cd /
"${argv[@]}" </dev/null >"$run/out" 2>"$run/err"
echo $? >"$run/rc.tmp"
mv "$run/rc.tmp" "$run/rc"
cd /
finish
