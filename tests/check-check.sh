#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end tests of `nbmount check`, the operator's doctor, on a sample node on its own tmpfs (so
# that the quota lines do not depend on the host's filesystem): every line of a sound node with
# quota.enforce off, best-effort and required; one thing broken at a time (folders, grants, secrets,
# the config, the hooks.d file and its program), each with its exact line and exit status; and a
# real nbmountd, reachable and then stopped.
# Usage: tests/check-check.sh [NBMOUNT [NBMOUNTD]]. Prints "ok - check ..." / "not ok - check ...:
# why" lines; always exits 0. Needs root (a tmpfs, nbmountd) and jq.
set -u
cd "$(dirname "$0")/.." || exit 0
NBMOUNT=$(realpath "${1:-build/nbmount}")
NBMOUNTD=$(realpath "${2:-$(dirname "$NBMOUNT")/nbmountd}")
VERSION=$(cat VERSION)
. tests/lib/sample-node.sh
. tests/lib/s3.sh # mountd_start, mountd_stop

. tests/lib/testlib.sh
testlib_init check

need_tools jq mount umount
need_root "the check tests need root (a tmpfs, nbmountd)"

umask 022
work=$(mktemp -d /tmp/nbmount-checktest.XXXXXX)
run_dir=/run/nbmount-checktest-$$
MOUNTD_LOG=$work/mountd.log
cleanup() {
        mountd_stop KILL
        grep -q " $run_dir/keys " /proc/self/mountinfo && umount -l "$run_dir/keys"
        rm -rf "$run_dir"
        grep -q " $work/fs " /proc/self/mountinfo && umount -l "$work/fs"
        rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "# interrupted"; exit 1' INT TERM

mkdir "$work/fs"
mount -t tmpfs -o mode=0755,size=64m nbmount-checktest "$work/fs" ||
        { not_ok "harness: tmpfs" "cannot mount a tmpfs on $work/fs"; exit 0; }
fs=$work/fs
node=$fs/node
make_sample_node "$node"
chmod 700 "$node/secrets" # the sample node's is 0755, which check refuses
config=$node/node.yaml
sed -i "s|^mountd_socket: .*|mountd_socket: $run_dir/mountd.sock|" "$config"
hooks=$fs/hooks
mkdir -p "$hooks" "$fs/bin"

set_enforce() { sed -i "s/^quota: .*/quota: {enforce: $1}/" "$config"; }

# containerd's config: the package's snippet naming the nbmount-runtime built beside NBMOUNT, so
# that the check never reads this machine's /etc/containerd/config.toml
containerd_toml=$work/containerd.toml
sed "s|\"/usr/bin/nbmount-runtime\"|\"$(dirname "$NBMOUNT")/nbmount-runtime\"|" packaging/containerd/nbmount.toml >"$containerd_toml"
# run_check ARGS...: nbmount check on the sample node; sets $out (stdout and stderr) and $rc.
run_check() {
        out=$("${CHECK_PROGRAM:-$NBMOUNT}" check --config "$config" --hooks-dir "$hooks" --containerd-config "$containerd_toml" "$@" 2>&1)
        rc=$?
}
# lines_of CHECK: the lines of that check, e.g. "grants" or "kernel openat2".
lines_of() { grep -E "^(ok|warn|fail) +$1: " <<<"$out"; }
count_of() { grep -c "^$1 " <<<"$out"; }

# expect_summary NAME: the last line counts the lines above it.
expect_summary() {
        local oks warns fails
        oks=$(count_of ok) warns=$(count_of warn) fails=$(count_of fail)
        expect_eq "$1: the summary counts the lines" \
                "$oks ok, $warns warning$( ((warns == 1)) || echo s), $fails failure$( ((fails == 1)) || echo s)" \
                "$(tail -1 <<<"$out")"
}

# expect_broken NAME RC LINE: exit status RC, LINE among the output, and it the only failure.
expect_broken() {
        expect_eq "$1: exit status" "$2" "$rc"
        if grep -qxF -- "$3" <<<"$out"; then ok "$1: line"; else not_ok "$1: line" "no «$3» in «$(oneline "$out")»"; fi
        expect_eq "$1: the only failure" "$3" "$(grep '^fail ' <<<"$out")"
}

s3fs_line="ok    s3fs: /usr/bin/s3fs is installed"
[ -x /usr/bin/s3fs ] || s3fs_line="warn  s3fs: /usr/bin/s3fs: No such file or directory: S3 mounts will fail; apt-get install s3fs"
mountd_down="warn  nbmountd: nbmountd is not running (nothing listens on $run_dir/mountd.sock); start it: systemctl start nbmountd; until then S3 mounts fail (a node without S3 buckets works without it)"
no_hooks="warn  hooks.d: no nbmount.json in $hooks: podman/CRI-O will not call nbmount (install packaging/hooks.d/nbmount.json there); runc/crun users configure hooks in config.json"

# --- a sound node, quota.enforce off: every line -----------------------------------------------------
set_enforce off
run_check
expect_eq "sound node: exit status 0" 0 "$rc"
expected="ok    node config: $config: valid (cluster east-1, quota.enforce off)
ok    roots.notebooks: $node/notebooks: a folder of root's, mode 0755
ok    roots.storage: $node/storage: a folder of root's, mode 0755
ok    roots.datasets: $node/datasets: a folder of root's, mode 0755
ok    grants: $node/grants: root's, mode 0755; 1 team and public.json, every file root's and valid
ok    secrets: $node/secrets: root's, mode 0700; 1 secret of 1 team, each root's with mode 0600 or 0400
ok    state: $node/state: root's, mode 0755
ok    settings.on_error: skip: a fault in what a notebook asks for skips only that entry, said in its .gradient/mounts.status; a bucket not ready within s3.start_wait 2 s is attached later"
expect_eq "sound node: config and folder lines" "$expected" "$(head -8 <<<"$out")"
for feature in openat2 open_tree move_mount mount_setattr quotactl_fd file_setattr; do
        expect_match "sound node: kernel $feature" "^(ok    kernel $feature: (present|absent)|warn  kernel $feature: (absent|cannot tell))" \
                "$(lines_of "kernel $feature")"
done
expect_eq "sound node: kernel openat2 line" \
        "ok    kernel openat2: present: files under the roots, grants and secrets are opened without following symlinks" \
        "$(lines_of "kernel openat2")"
expected="ok    quota: quotas off (quota.enforce: off)
$mountd_down
$s3fs_line
$no_hooks"
expect_eq "sound node: quota, nbmountd, s3fs and hooks.d lines" "$expected" "$(tail -6 <<<"$out" | head -4)"
expect_eq "sound node: the containerd line" \
        "ok    containerd: $containerd_toml: runtime handler nbmount runs $(dirname "$NBMOUNT")/nbmount-runtime and passes the io.nbmount.* annotations (RuntimeClass handler: nbmount)" \
        "$(lines_of containerd)"
expect_eq "sound node: no failure" 0 "$(count_of fail)"
expect_eq "sound node: 20 lines (19 checks and the summary)" 20 "$(wc -l <<<"$out")"
expect_summary "sound node"
echo "settings: {on_error: refuse}" >>"$config"
run_check
expect_eq "settings.on_error refuse: said, with the wait it means" \
        "ok    settings.on_error: refuse: a fault in what a notebook asks for (settings.yaml, a dataset not granted, a bucket that does not answer within s3.mount_timeout 15 s) refuses its start; set skip to start without it" \
        "$(lines_of settings.on_error)"
sed -i '/^settings: {on_error: refuse}$/d' "$config"

# --- quota.enforce best-effort and required on a filesystem without project quotas (tmpfs) -------------
tmpfs_type=0x1021994
set_enforce best-effort
run_check
expect_eq "best-effort: exit status 0" 0 "$rc"
expect_eq "best-effort: a warning for each root" \
        "warn  quota: $node/notebooks is on a filesystem without project quotas (type $tmpfs_type); put it on XFS or ext4 mounted with prjquota; quota.enforce is best-effort: containers start without limits there
warn  quota: $node/storage is on a filesystem without project quotas (type $tmpfs_type); put it on XFS or ext4 mounted with prjquota; quota.enforce is best-effort: containers start without limits there" \
        "$(lines_of quota)"
expect_summary "best-effort"

set_enforce required
run_check
expect_eq "required: exit status 1" 1 "$rc"
expect_eq "required: a failure for each root, with the fix" \
        "fail  quota: $node/notebooks is on a filesystem without project quotas (type $tmpfs_type); put it on XFS or ext4 mounted with prjquota; quota.enforce is required: every container start with a quota there is refused until then (or set quota.enforce: best-effort)
fail  quota: $node/storage is on a filesystem without project quotas (type $tmpfs_type); put it on XFS or ext4 mounted with prjquota; quota.enforce is required: every container start with a quota there is refused until then (or set quota.enforce: best-effort)" \
        "$(lines_of quota)"
expect_eq "required: only the quota lines fail" 2 "$(count_of fail)"
expect_summary "required"

# --- --json: the same checks ------------------------------------------------------------------------
text_lines=$(($(wc -l <<<"$out") - 1))
run_check --json
expect_eq "json: exit status as in text" 1 "$rc"
expect_eq "json: the same checks and counts" "$text_lines 2 node config ok" \
        "$(jq -r '"\(.checks | length) \(.failures) \(.checks[0].check) \(.checks[0].status)"' <<<"$out" 2>&1)"
expect_eq "json: the quota failure" \
        "$node/notebooks is on a filesystem without project quotas (type $tmpfs_type); put it on XFS or ext4 mounted with prjquota; quota.enforce is required: every container start with a quota there is refused until then (or set quota.enforce: best-effort)" \
        "$(jq -r '[.checks[] | select(.check == "quota")][0].message' <<<"$out" 2>&1)"

# --- one thing broken at a time (quota.enforce off) ----------------------------------------------------
set_enforce off

chmod 775 "$node/grants"
run_check
expect_broken "grants folder 0775" 1 \
        "fail  grants: $node/grants: the grants folder must be owned by root and writable by no one else (it is owned by uid 0, mode 0775); the operator must run chown root: $node/grants && chmod go-w $node/grants"
chmod 755 "$node/grants"

chmod 664 "$node/grants/acme.json"
run_check
expect_broken "grants file 0664" 1 \
        "fail  grants: $node/grants/acme.json: a grants file must be owned by root and writable by no one else (it is owned by uid 0, mode 0664); the operator must run chown root: $node/grants/acme.json && chmod go-w $node/grants/acme.json"
chmod 644 "$node/grants/acme.json"

cp "$node/grants/acme.json" "$fs/acme.json.real"
sed -i 's/"plan": "pro"/"plan": "gold"/' "$node/grants/acme.json"
run_check
expect_broken "grants: a team on a plan the node does not define" 1 \
        "fail  grants: $node/grants/acme.json: team acme is on plan \"gold\", which the node config does not define; add it under \"plans\" in node.yaml"
cp "$fs/acme.json.real" "$node/grants/acme.json"

mv "$node/grants/acme.json" "$fs/acme.json"
ln -s "$fs/acme.json" "$node/grants/acme.json"
run_check
expect_broken "grants file a symlink" 1 \
        "fail  grants: $node/grants/acme.json: a symlink is in the path; nbmount never follows symlinks here, replace it with a real file or folder"
rm "$node/grants/acme.json" && mv "$fs/acme.json" "$node/grants/acme.json"

secret=$node/secrets/acme/my-bucket-secret-key
chmod 644 "$secret"
run_check
expect_broken "secret 0644" 1 \
        "fail  secrets: $secret: a secret must be owned by root with mode 0600 or 0400 (it is owned by uid 0, mode 0644); run chown root: $secret && chmod 600 $secret"
chmod 600 "$secret"

printf 'another-key\n' >"$fs/elsewhere-key" && chmod 600 "$fs/elsewhere-key"
ln -s "$fs/elsewhere-key" "$node/secrets/acme/linked-key"
run_check
expect_broken "secret a symlink" 1 \
        "fail  secrets: $node/secrets/acme/linked-key is a symlink, which the hook and nbmountd refuse: a secret must be a regular file; replace the link with the file"
rm "$node/secrets/acme/linked-key"

chmod 755 "$node/secrets"
run_check
expect_broken "secrets folder 0755" 1 \
        "fail  secrets: $node/secrets: the secrets folder must be owned by root with mode 0700 (it is owned by uid 0, mode 0755): others could see which teams hold keys, or plant one; run: chown root: $node/secrets && chmod 700 $node/secrets"
chmod 700 "$node/secrets"

mv "$node/datasets" "$fs/datasets.away"
run_check
expect_broken "datasets root missing" 1 \
        "fail  roots.datasets: $node/datasets does not exist, so the hook cannot mount from it; create it: install -d -m 755 $node/datasets"
mv "$fs/datasets.away" "$node/datasets"

chmod 777 "$node/notebooks"
run_check
expect_broken "notebooks root world-writable" 1 \
        "fail  roots.notebooks: $node/notebooks is writable by anyone (mode 0777): a local user could plant a team's folder in it that the hook would mount into a team's containers; run: chmod o-w $node/notebooks"
chmod 775 "$node/notebooks"
run_check
expect_eq "notebooks root group-writable: exit status 0" 0 "$rc"
expect_eq "notebooks root group-writable: a warning" \
        "warn  roots.notebooks: $node/notebooks is writable by group root (mode 0775): its members could plant a team's folder in it; run: chmod g-w $node/notebooks" \
        "$(lines_of roots.notebooks)"
chmod 755 "$node/notebooks"

chown 1000 "$node/storage"
run_check
expect_broken "storage root owned by uid 1000" 1 \
        "fail  roots.storage: $node/storage is owned by uid 1000, who could plant a cluster's folder in it that the hook would mount into a team's containers; run: chown root: $node/storage"
chown 0 "$node/storage"

mv "$node/datasets" "$fs/datasets.real" && ln -s "$fs/datasets.real" "$node/datasets"
run_check
expect_broken "datasets root a symlink" 1 \
        "fail  roots.datasets: $node/datasets is a symlink (to $fs/datasets.real): a root must be the folder itself, so that what is checked is what the hook mounts from; set roots.datasets: $fs/datasets.real in the node config"
rm "$node/datasets" && mv "$fs/datasets.real" "$node/datasets"

# an invalid config: its error as a fail line, the checks that need no config still run, exit 2
good_config=$config
config=$fs/bad-node.yaml
printf 'cluster: east-1\nversoin: 2\n' >"$config"
bad_error=$("$NBMOUNT" validate node "$config" 2>&1)
run_check
expect_broken "invalid config" 2 "fail  node config: ${bad_error#nbmount: }"
expect_eq "invalid config: the kernel, s3fs and hooks.d checks still run" "6 1 1" \
        "$(grep -c '^[a-z]* *kernel ' <<<"$out") $(lines_of s3fs | wc -l) $(lines_of hooks.d | wc -l)"
expect_summary "invalid config"
config=$fs/missing.yaml
run_check
expect_broken "missing config" 2 \
        "fail  node config: $config: cannot open the node config: No such file or directory; write one (see nbmount-node.yaml(5)) or pass --config FILE"
config=$good_config

# --- nbmountd: reachable, then stopped ----------------------------------------------------------------
if [ -x "$NBMOUNTD" ] && mountd_start "$config" 2>"$work/mountd-start.err"; then
        run_check
        expect_eq "nbmountd running: its line" "ok    nbmountd: running at $run_dir/mountd.sock: 0 shared mounts" \
                "$(lines_of nbmountd)"
        expect_eq "nbmountd running: exit status 0" 0 "$rc"
        mountd_stop
        run_check
        expect_eq "nbmountd stopped: its line" "$mountd_down" "$(lines_of nbmountd)"
else
        not_ok "nbmountd running" "cannot start $NBMOUNTD: $(cat "$work/mountd-start.err" 2>/dev/null; tail -3 "$MOUNTD_LOG" 2>/dev/null)"
fi

# --- the hooks.d file and its program --------------------------------------------------------------------
program=$fs/bin/nbmount
cp "$NBMOUNT" "$program" && chmod 755 "$program"
hooks_file=$hooks/nbmount.json
# write_hooks JQ_FILTER: packaging/hooks.d/nbmount.json with hook.path = $program, through JQ_FILTER.
write_hooks() {
        jq --arg path "$program" ".hook.path = \$path | $1" packaging/hooks.d/nbmount.json >"$hooks_file"
        chmod 644 "$hooks_file"
}
hooks_ok="ok    hooks.d: $hooks_file: podman and CRI-O run $program at createRuntime and poststop"

write_hooks .
run_check
expect_eq "hooks.d installed: exit status 0" 0 "$rc"
expect_eq "hooks.d installed: its line" "$hooks_ok" "$(lines_of hooks.d)"
expect_eq "hooks.d installed: the program's version, asked" \
        "ok    version: $program is nbmount $VERSION, as this one" "$(lines_of version)"
CHECK_PROGRAM=$program run_check
expect_eq "hooks.d installed: the program's version, when it is the running one" \
        "ok    version: $program is this nbmount ($VERSION)" "$(lines_of version)"

printf '#!/bin/sh\necho "nbmount 0.0.9"\n' >"$fs/bin/old-nbmount" && chmod 755 "$fs/bin/old-nbmount"
program=$fs/bin/old-nbmount write_hooks .
run_check
expect_eq "hooks.d with an older nbmount: exit status 0" 0 "$rc"
expect_eq "hooks.d with an older nbmount: a warning" \
        "warn  version: $fs/bin/old-nbmount is \"nbmount 0.0.9\", this is nbmount $VERSION: the runtimes run the installed one; install this version" \
        "$(lines_of version)"

write_hooks '.stages = ["createRuntime"]'
run_check
expect_broken "hooks.d without poststop" 1 \
        "fail  hooks.d: $hooks_file: \"stages\" must hold createRuntime and poststop: without them no mount is made, or none given back"

write_hooks '.hook.args = ["nbmount"]'
run_check
expect_broken "hooks.d without the hook command" 1 \
        "fail  hooks.d: $hooks_file: hook.args must be [\"nbmount\", \"hook\"]: without the hook command, nbmount prints its usage and every container fails"

write_hooks '.when = {"always": true}'
run_check
expect_broken "hooks.d for every container" 1 \
        "fail  hooks.d: $hooks_file: when.always is true: podman would call nbmount for every container, and nbmount refuses those without io.nbmount.team; use when.annotations as packaging/hooks.d/nbmount.json does"

program=$fs/bin/missing write_hooks .
run_check
expect_broken "hooks.d naming a missing program" 1 \
        "fail  hooks.d: $hooks_file: hook.path $fs/bin/missing: No such file or directory; install nbmount there or fix hook.path"

chmod 775 "$program"
write_hooks .
run_check
expect_broken "hooks.d program writable by its group" 1 \
        "fail  hooks.d: $hooks_file: $program: the hook's program must be owned by root and writable by no one else (it is owned by uid 0, mode 0775); the operator must run chown root: $program && chmod go-w $program"
chmod 755 "$program"

write_hooks . && chmod 666 "$hooks_file"
run_check
expect_broken "hooks.d file writable by anyone" 1 \
        "fail  hooks.d: $hooks_file: a hooks.d file must be owned by root and writable by no one else (it is owned by uid 0, mode 0666); the operator must run chown root: $hooks_file && chmod go-w $hooks_file"

printf '{"version": "1.0.0", "hook": {' >"$hooks_file" && chmod 644 "$hooks_file"
run_check
expect_eq "hooks.d not JSON: exit status 1" 1 "$rc"
expect_match "hooks.d not JSON: its line" "^fail  hooks\.d: $hooks_file:1:[0-9]+: " "$(lines_of hooks.d)"

# --- the command line --------------------------------------------------------------------------------------
out=$("$NBMOUNT" check --help 2>&1)
rc=$?
expect_eq "--help: exit status 0" 0 "$rc"
expect_eq "--help: usage" "Usage: nbmount check [--config FILE] [--hooks-dir DIR] [--containerd-config FILE] [--json]" "$(head -1 <<<"$out")"
out=$("$NBMOUNT" check --no-such-option 2>&1)
expect_eq "unknown option: exit status 2" 2 "$?"
out=$("$NBMOUNT" check extra 2>&1)
expect_eq "an argument: exit status 2 and the line" "2 nbmount: check takes no argument \"extra\"; see nbmount check --help" \
        "$? $out"
exit 0
