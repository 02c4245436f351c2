#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The README's quick start on a fresh Debian 12 machine (issue 12). Builds a minimal Debian 12 root
# with `mmdebstrap --variant=apt` (apt and the essential packages: no make, no compiler) from the
# Debian mirrors this machine's apt uses; gives it this machine's configuration, not packages: its
# local CA certificates, /etc/npmrc and /etc/resolv.conf (TESTBED.md); copies a clean clone of the
# commit under test into /root/nbmount (HEAD: uncommitted changes are not tested, and a line says
# so); and runs there, as root, the lines of the README's quick start up to `make demo`, as a new
# user types them. The fresh root is the root of a private mount and PID namespace (bound onto
# itself, /proc, /sys and /dev in, pivot_root), so that runc and the hook see a machine's root.
# Checks that the root was fresh, that `make demo` installed the packages and linked at its first
# run, and the demo's container's mounts and files, line for line.
# The root tarball is cached in FRESH_CACHE (default /var/cache/nbmount-tests): one per suite,
# mirror list, mmdebstrap version and day (UTC); a miss builds it (a minute or two) and removes
# the older ones. FRESH_TIMEOUT (default 600) bounds the whole suite, in seconds.
# Usage: tests/fresh-check.sh. Prints "ok - fresh ..." / "not ok - fresh ...: why" lines, and two
# "# fresh: ..." lines (the commit, the timings); exits 0 when it ran (tests/run.sh counts the lines). Needs root, mmdebstrap
# and git (setup.sh), util-linux (unshare, pivot_root, flock), a static busybox
# (busybox-static) and the network: the apt mirror and the npm registry. Whatever it starts runs in
# its namespaces and ends with them; the unpacked root is removed, also when interrupted.
set -u
self=$(realpath "$0")
cd "$(dirname "$0")/.." || exit 1

suite=bookworm
cache=${FRESH_CACHE:-/var/cache/nbmount-tests}
deadline=$((SECONDS + ${FRESH_TIMEOUT:-600}))

. tests/lib/testlib.sh
testlib_init fresh 4000

# --namespace ROOT TARBALL COMMIT BUSYBOX COMMANDS: in the private namespaces (unshare, below), as
# the host: a tmpfs on ROOT, the root unpacked into it, the machine's configuration, a clean clone
# of COMMIT; then ROOT becomes / (bound onto itself, /proc, /sys, /dev, a tmpfs on /run, pivot_root;
# the host's static busybox unmounts the old root, the apt variant has no umount), and the quick
# start's COMMANDS run there, one line at a time, as root in a new login's environment.
if [ "${1:-}" = --namespace ]; then
        root=$2 tarball=$3 head=$4 busybox=$5 commands=$6
        set -e
        mount -t tmpfs -o size=12g,mode=0755 nbmount-fresh "$root"
        if ! out=$(tar -C "$root" --numeric-owner -xpf "$tarball" 2>&1); then
                rm -f "$tarball"  # a damaged cache entry: the next run builds it again
                not_ok "the root unpacks" "$tarball: $out (removed)"
                exit 1
        fi
        present=()
        for program in make cc gcc pkg-config node npm runc git; do
                for dir in usr/bin usr/sbin usr/local/bin; do [ -e "$root/$dir/$program" ] && present+=("/$dir/$program"); done
        done
        if ((${#present[@]})); then not_ok "the root is fresh" "it has ${present[*]}"; exit 1; fi
        ok "the root is fresh: no make, compiler, pkg-config, node, npm, runc or git"
        # this machine's configuration: the local CAs (the registries' proxy), npm's, the resolver
        mkdir -p "$root/usr/local/share/ca-certificates"
        for crt in /usr/local/share/ca-certificates/*.crt; do
                [ -e "$crt" ] && cp "$crt" "$root/usr/local/share/ca-certificates/"
        done
        [ -e /etc/npmrc ] && cp /etc/npmrc "$root/etc/npmrc"
        rm -f "$root/etc/resolv.conf" && cp -L /etc/resolv.conf "$root/etc/resolv.conf"
        # and its environment for TLS and proxies, when set (TESTBED.md: CI gets the same)
        environment=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root USER=root
                     LOGNAME=root SHELL=/bin/bash)
        for name in NODE_EXTRA_CA_CERTS SSL_CERT_FILE SSL_CERT_DIR http_proxy https_proxy no_proxy \
                    HTTP_PROXY HTTPS_PROXY NO_PROXY; do
                [ -n "${!name:-}" ] && environment+=("$name=${!name}")
        done
        clone=$root/root/nbmount
        if ! out=$(git clone --quiet --no-checkout "$PWD" "$clone" 2>&1 &&
                   git -C "$clone" fetch --quiet origin "$head" 2>&1 &&
                   git -C "$clone" checkout --quiet --detach "$head" 2>&1); then
                not_ok "a clean clone of $head" "$out"
                exit 1
        fi
        ok "a clean clone of HEAD in the root's /root/nbmount"
        mount --bind "$root" "$root"
        mount -t proc proc "$root/proc"
        mount --rbind /sys "$root/sys"
        mount --rbind /dev "$root/dev"
        mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$root/run"
        cd "$root"
        mkdir .oldroot
        pivot_root . .oldroot
        "/.oldroot$busybox" umount -l /.oldroot
        rmdir /.oldroot
        cd /
        quick_start='cd /root/nbmount || exit 1
echo "== the quick start begins"
while IFS= read -r line; do
        printf "\$ %s\n" "$line"
        bash -o pipefail -c "$line" </dev/null 2>&1 || { echo "== the quick start stopped: exit $? of: $line"; exit 1; }
done <<<"$1"
echo "== the quick start ran to the end"
echo "== leftovers of the demo:"
ls -d /tmp/nbmount-demo.* /run/nbmount-demo-* 2>/dev/null
grep -E " (/tmp/nbmount-demo\.|/run/nbmount-demo-)" /proc/self/mountinfo
echo "== end"'
        exec env -i "${environment[@]}" bash -c "$quick_start" quick-start "$commands"
fi

work="" runner="" building=""
cleanup() {
        # the namespace (and all it started: the demo, nbmountd, s3fs, containers) ends with unshare
        if [ -n "$runner" ] && kill -0 "$runner" 2>/dev/null; then
                kill -TERM "$runner" 2>/dev/null
                wait "$runner" 2>/dev/null
        fi
        [ -n "$building" ] && rm -f "$building"
        # the root's tmpfs and every mount were the namespace's: here $work is an empty folder and a log
        [ -n "$work" ] && rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- prerequisites -----------------------------------------------------------------------------
missing=()
[ "$(id -u)" -eq 0 ] || missing+=("root")
for tool in mmdebstrap git unshare pivot_root flock timeout tar busybox; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
# after pivot_root the fresh root has no umount (package mount is not in the apt variant): the
# host's busybox unmounts the old root, so it must need no library of the host
busybox=$(readlink -f "$(command -v busybox 2>/dev/null || echo /nonexistent)")
ldd "$busybox" 2>&1 | grep -q "not a dynamic executable" || missing+=("a static busybox (busybox-static)")
head=$(git rev-parse --verify -q HEAD 2>/dev/null) || missing+=("a git checkout (the clone is of its HEAD)")
if ((${#missing[@]})); then
        not_ok "prerequisites" "missing: ${missing[*]} (./setup.sh installs the packages)"
        exit 0
fi
ok "prerequisites"
echo "# fresh: testing commit $head, a clean clone$( [ -z "$(git status --porcelain --untracked-files=no)" ] ||
        echo "; this working tree's uncommitted changes are not in it")"

# --- the mirrors of this machine's apt ---------------------------------------------------------
# apt_sources: one "deb URI SUITE COMPONENTS" line per entry of /etc/apt/sources.list{,.d/*.list}
# and /etc/apt/sources.list.d/*.sources for $suite, $suite-updates and $suite-security (options and
# Signed-By are left out: the root's own debian-archive-keyring signs these).
apt_sources() {
        local file
        for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
                [ -r "$file" ] || continue
                sed -E 's/#.*//; s/\[[^]]*\]//' "$file" | awk -v s="$suite" '
                        $1 == "deb" && ($3 == s || index($3, s "-") == 1) {
                                line = "deb " $2 " " $3; for (i = 4; i <= NF; i++) line = line " " $i; print line }'
        done
        for file in /etc/apt/sources.list.d/*.sources; do
                [ -r "$file" ] || continue
                awk -v s="$suite" '
                        function flush(   n, m, i, j, U, S) {
                                if (f["types"] ~ /(^| )deb( |$)/ && tolower(f["enabled"]) != "no") {
                                        n = split(f["uris"], U, " "); m = split(f["suites"], S, " ")
                                        for (i = 1; i <= n; i++) for (j = 1; j <= m; j++)
                                                if (S[j] == s || index(S[j], s "-") == 1)
                                                        print "deb " U[i] " " S[j] " " f["components"]
                                }
                                delete f; key = ""
                        }
                        /^[ \t]*$/ { flush(); next }
                        /^#/ { next }
                        /^[ \t]/ { if (key != "") f[key] = f[key] " " $0; next }
                        {
                                key = tolower(substr($0, 1, index($0, ":") - 1))
                                f[key] = substr($0, index($0, ":") + 1)
                        }
                        END { flush() }' "$file" | tr -s ' \t' ' ' | sed 's/ $//'
        done
}
mapfile -t sources < <(apt_sources | awk '!seen[$0]++')
if ((${#sources[@]} == 0)); then
        not_ok "the mirrors of this machine's apt" "no entry for $suite in /etc/apt/sources.list or /etc/apt/sources.list.d/"
        exit 0
fi
ok "the mirrors of this machine's apt: $(printf '%s; ' "${sources[@]}" | sed 's/; $//')"

# --- the root tarball: from the cache, or built ------------------------------------------------
key=$(printf '%s\n' "$suite" apt "${sources[@]}" "$(mmdebstrap --version)" | sha256sum | cut -c1-12)
tarball=$cache/root-$suite-apt-$key-$(date -u +%Y%m%d).tar
t0=$SECONDS
if ! mkdir -p "$cache" || ! exec {lock}>"$cache/.lock"; then
        not_ok "the root tarball" "cannot write to the cache $cache"
        exit 0
fi
# another run building the same root: wait for it, then use it
if ! flock -w $((deadline - SECONDS)) "$lock"; then
        not_ok "the root tarball" "another run held $cache/.lock until the deadline"
        exit 0
fi
if [ -s "$tarball" ]; then
        how="from the cache"
else
        how="built"
        rm -f "$cache"/.building-*.tar  # of a run that was killed: we hold the lock
        building=$cache/.building-$$.tar
        if ! log=$(timeout -k 10 $((deadline - SECONDS)) mmdebstrap --variant=apt --quiet "$suite" "$building" \
                "${sources[@]}" 2>&1); then
                not_ok "a Debian root with mmdebstrap --variant=apt $suite" "$(tail -n 20 <<<"$log")"
                exit 0
        fi
        mv "$building" "$tarball"
        building=""
        # the older roots of this key, and any root unused for a week
        find "$cache" -maxdepth 1 -name "root-$suite-apt-$key-*.tar" ! -name "${tarball##*/}" -delete
        find "$cache" -maxdepth 1 -name "root-*.tar" -mtime +7 -delete
fi
flock -u "$lock"
exec {lock}>&-
root_seconds=$((SECONDS - t0))
ok "a Debian 12 root (mmdebstrap --variant=apt), $how"

# --- the fresh machine -------------------------------------------------------------------------
# The README's quick start, up to and including `make demo`, as committed.
commands=$(git show "$head:README.md" | awk '/^## Quick start/ { q = 1 } q && /^```sh/ { b = 1; next } b && /^```/ { exit } b' |
           awk '{ print } /^make demo([ \t#]|$)/ { found = 1; exit } END { exit !found }')
if [ $? -ne 0 ] || [ -z "$commands" ]; then
        not_ok "the README's quick start" "no \`make demo\` line in the first sh block after \"## Quick start\""
        exit 0
fi
ok "the README's quick start: $(oneline "$commands")"

# The rest runs in a private mount and PID namespace (tests/fresh-check.sh --namespace, above): the
# root is a tmpfs there, seen by nobody else, and it ends with the namespace, whatever happens.
work=$(mktemp -d /var/tmp/nbmount-fresh.XXXXXX)
mkdir "$work/root"
log=$work/quick-start.log
t0=$SECONDS
timeout -s KILL $((deadline - SECONDS)) unshare --mount --propagation private --pid --fork --kill-child \
        "$BASH" "$self" --namespace "$work/root" "$tarball" "$head" "$busybox" "$commands" >"$log" 2>&1 &
runner=$!
wait "$runner"
rc=$?
runner=""
run_seconds=$((SECONDS - t0))
out=$(cat "$log")
grep -E "^(not )?ok - fresh " <<<"$out"
grep -q "^not ok - fresh " <<<"$out" && TESTLIB_FAILED=1
echo "# fresh: root $how in ${root_seconds} s, quick start in ${run_seconds} s"

if [ "$rc" -eq 137 ] && ((SECONDS >= deadline)); then
        not_ok "the quick start finishes in time" "killed after ${FRESH_TIMEOUT:-600} s in all; its last lines: $(tail -n 15 <<<"$out")"
elif grep -qx "== the quick start ran to the end" <<<"$out"; then
        ok "the quick start runs to the end in the fresh root"
elif grep -qx "== the quick start begins" <<<"$out"; then
        not_ok "the quick start runs to the end" "exit $rc; its last lines: $(tail -n 25 <<<"$out")"
elif ! grep -q "^not ok - fresh " <<<"$out"; then
        not_ok "the fresh root in its namespace" "exit $rc: $(tail -n 15 <<<"$out")"
fi
grep -qx "== the quick start begins" <<<"$out" || exit 0

# check NAME STRING: STRING is a line of the quick start's output, whole.
check() {
        if grep -qxF -- "$2" <<<"$out"; then ok "$1"; else not_ok "$1" "no line «$2» in its output"; fi
}
# section FROM TO: the lines strictly between the line FROM and the next line TO.
section() { awk -v from="$1" -v to="$2" '$0 == to && on { exit } on { print } $0 == from { on = 1 }' <<<"$out"; }

# check_re NAME REGEX: a line of the quick start's output matches REGEX (grep -E), whole.
check_re() {
        if grep -qxE -- "$2" <<<"$out"; then ok "$1"; else not_ok "$1" "no line matching «$2» in its output"; fi
}

# `make demo` is the first make: setup installs the compiler and libraries, then the build links.
check_re "make demo installs the packages at its first run" "setup: installing (.* )?gcc( .*)? pkg-config( .*)? libjson-c-dev( .*)?"
if grep -q "undefined reference" <<<"$out"; then
        not_ok "make demo links at its first run" "$(grep -m3 "undefined reference" <<<"$out")"
else
        check "make demo links at its first run" "  LD build/nbmount"
fi

# The container's view, from scripts/demo.sh: its mounts (target, per-mount options, file system)
# and files. The bind mounts are of folders in the root's /tmp, on the root's tmpfs.
fs=tmpfs
expect_eq "the container's mounts" "   /datasets/my-bucket-data ro,nosuid,nodev,relatime fuse.s3fs
   /notebooks rw,nosuid,nodev,relatime $fs
   /storage rw,nosuid,nodev,relatime $fs
   /datasets/quarterly-reports ro,nosuid,nodev,relatime $fs
   /datasets/images ro,nosuid,nodev,relatime $fs
   /datasets/mnist ro,nosuid,nodev,relatime $fs" \
        "$(section "   -- mounts (target, options, file system):" "   -- files:")"
expect_eq "the container's files" "   hello from notebook nb1
   shared by team acme
   quarterly report, version 1
   dataset shard 0 from the bucket
   images
   mnist
   my-bucket-data
   quarterly-reports" \
        "$(section "   -- files:" "   -- a write to /storage:")"
check "a write to /storage lands on the host" "   written in the container"
check "a write to a dataset fails" "   sh: can't create /datasets/mnist/x: Read-only file system"
check "a non-member is refused with the reason" "   nbmount: container nbmount-demo-carol (team acme, notebook nb1, \
user carol): /notebooks refused: user carol is not a member of team acme; ask the team's admin to add carol"
check_re "nbmountd shares one s3fs between two containers" ".* ok +0 +1 +nbmount-demo-holder1,nbmount-demo-holder2"
expect_eq "the demo leaves nothing behind in the fresh root" "" "$(section "== leftovers of the demo:" "== end")"

if ((TESTLIB_FAILED)); then
        keep=${TMPDIR:-/tmp}/nbmount-fresh-last.log
        cp "$log" "$keep" && echo "# fresh: the quick start's whole output is in $keep"
fi
exit 0
