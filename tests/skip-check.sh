#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Never lock a user out (issue 13), with real runc containers: a fault in what the notebook asked
# for (settings.yaml, its datasets, its S3 entries' policy) skips that entry and the container
# starts, with /notebooks, /storage and every good entry; NOTEBOOK/.gradient/mounts.status says what
# was skipped and why. A fault in who or where still refuses the start. settings.on_error refuse
# keeps the old behaviour. The status file, written by root in a folder the user controls, is
# attacked with symlinks, hard links, a FIFO and a folder.
# (S3 buckets that cannot be mounted or are late: tests/s3-pending-check.sh.)
# Usage: tests/skip-check.sh [NBMOUNT]. Needs root, runc, busybox, jq.
set -u
cd "$(dirname "$0")/.."
NBMOUNT=$(realpath "${1:-build/nbmount}")
. tests/lib/sample-node.sh
. tests/lib/bundle.sh
. tests/lib/testlib.sh
testlib_init skip 2000

need_tools runc busybox jq
need_root "the runtime tests need root"

bundle_start skip "$NBMOUNT"

make_hostkernel_node "$work/node"
nb=$node/notebooks/acme/nb1
settings=$nb/.gradient/settings.yaml
status=$nb/.gradient/mounts.status
echo "notebook nb1" >"$nb/hello.txt"
echo "team storage" >"$node/storage/east-1/acme/shared.txt"
echo "report v1" >"$node/datasets/dsr8k5qzn401lb5/v1/report.csv"
echo "mnist v1" >"$node/datasets/dsmnist/v1/train.txt"
chown -R 1000:1000 "$nb"
good_entries='reports: {type: dataset, id: dsr8k5qzn401lb5, version: v1}
mnist: {type: dataset, id: dsmnist}'

# start [NODE_YAML]: a runc container of alice (uid 1000) that shows what it got.
start() {
        make_bundle "$work/b" --identity acme nb1 alice --config "${1:-$config}" --user 1000:1000 \
                --cmd 'echo started; cat /notebooks/hello.txt /storage/shared.txt; ls /datasets 2>/dev/null | tr "\n" " "; echo; cat /datasets/reports/report.csv /datasets/mnist/train.txt 2>&1; true' ||
                not_ok "harness: make_bundle" "failed"
        run_runc "$work/b"
        rm -rf "$work/b"
}
# entry TARGET STATE [REASON]: the status file's line for TARGET, as it must read.
entry() { printf '%-24s %s%s\n' "$1" "$2" "${3:+  $3}"; }
# expect_started_with NAME DATASETS: the container started with /notebooks, /storage and DATASETS
# ("reports mnist" when the good entries are there).
expect_started_with() {
        expect_eq "$1: the container starts with /notebooks, /storage and: $2" \
                "0 started|notebook nb1|team storage|$2" "$run_rc $(printf '%s\n' "$run_out" | head -4 | tr '\n' '|' | sed 's/ |/|/; s/|$//')"
}
# expect_status NAME TARGET STATE REASON: the status file names the entry exactly.
expect_status() {
        expect_eq "$1: the status file says $2 $3" "$(entry "$2" "$3" "$4")" \
                "$(grep -F "$2 " "$status" 2>&1 | head -1)"
}
# fault NAME SETTINGS_TEXT TARGET REASON: with SETTINGS_TEXT, the entry TARGET is skipped with
# REASON and the good entries still mount.
fault() {
        printf '%s\n%s\n' "$good_entries" "$2" >"$settings"
        start
        expect_started_with "$1" "mnist reports"
        expect_status "$1" "$3" skipped "$4"
        expect_status "$1" /datasets/reports mounted ""
        expect_status "$1" /notebooks mounted ""
}
sf=.gradient/settings.yaml

# --- entries at fault: only they are skipped --------------------------------------------------------
fault "unknown key" "typo: {type: dataset, id: dsmnist, versoin: v1}" /datasets/typo \
        "$sf:3:36: unknown key \"versoin\" in mount \"typo\" (allowed: type, id, version)"
fault "unknown type" "ftp: {type: ftp}" /datasets/ftp "$sf:3:13: \"type\" \"ftp\" is not one of dataset, s3"
fault "invalid mount name" "\"../../etc\": {type: dataset, id: dsmnist}" "/datasets/..?..?etc" \
        "$sf:3:1: mount name \"../../etc\" starts with a dot"
fault "dataset not granted" "gone: {type: dataset, id: dsdeleted}" /datasets/gone \
        "dataset dsdeleted is neither a dataset of team acme nor a public dataset; check its id in settings.yaml"
fault "version no longer granted" "old: {type: dataset, id: dsr8k5qzn401lb5, version: v0}" /datasets/old \
        "dataset dsr8k5qzn401lb5 has no version v0 (versions: v1, v2)"
fault "literal S3 key" "b: {type: s3, url: s3://my-bucket, accessKeyId: AK, secretAccessKey: wJalrXUtnFEMI}" /datasets/b \
        "$sf:3:70: \"secretAccessKey\" must be secret:NAME, not a literal key; store the key as a team secret and write secret:NAME"
expect_eq "literal S3 key: the key is in no status file" "" "$(grep -l wJalrXUtnFEMI "$status")"
fault "missing secret" "b: {type: s3, url: s3://my-bucket, accessKeyId: AK, secretAccessKey: secret:nope}" /datasets/b \
        "secret nope is not a secret of team acme; add it with the control plane (it must exist as $node/secrets/acme/nope)"
fault "private endpoint" "b: {type: s3, url: s3://my-bucket, endpoint: https://10.1.2.3}" /datasets/b \
        "endpoint https://10.1.2.3 is a private address; this node refuses endpoints that are not globally reachable (s3.allow_private_endpoints in node.yaml)"
fault "http endpoint" "b: {type: s3, url: s3://my-bucket, endpoint: http://s3.example.com}" /datasets/b \
        "endpoint http://s3.example.com is not https; use https, or ask the operator to allow http (s3.allow_http in node.yaml)"

# --- the file as a whole cannot be used: no /datasets entry, the rest starts --------------------------
# whole NAME REASON: settings.yaml (laid out by the caller) is skipped whole with REASON.
whole() {
        start
        expect_started_with "$1" ""
        expect_status "$1" "$sf" skipped "$2"
        expect_eq "$1: no /datasets entry in the status file" "" "$(grep '^/datasets/' "$status")"
}
printf 'a: [\n' >"$settings"
whole "invalid YAML" "$sf:2:1: invalid YAML: did not find expected node content while parsing a flow node"
printf 'a: {type: dataset, id: "\xff\xfe"}\n' >"$settings"
whole "invalid UTF-8" "$sf:1:25: is not valid UTF-8; save the file as UTF-8 text"
head -c $((10 << 20)) /dev/zero | tr '\0' '#' >"$settings"
whole "10 MB" "$sf:1:65537: is 10485760 bytes, more than the 65536 allowed; shorten it"
for i in $(seq 257); do echo "d$i: {type: dataset, id: dsmnist}"; done >"$settings"
whole "257 entries" "$sf:257:1: more than 256 mounts; remove some"
echo '- a list' >"$settings"
whole "a list, not a map" "$sf:1:1: settings.yaml must be a map of keys, not a list"
rm "$settings"
ln -s /etc/shadow "$settings"
whole "a symlink to /etc/shadow" "$sf: a symlink is in the path; nbmount never follows symlinks here, replace it with a real file or folder"
rm "$settings"
mkfifo "$settings"
BB_TIMEOUT=20 whole "a FIFO (never opened)" "$sf: is not a regular file; replace it with a file"
rm "$settings"
mkdir "$settings"
whole "a folder" "$sf: is not a regular file; replace it with a file"
rmdir "$settings"

# --- who and where: still refused, nothing mounted ---------------------------------------------------
printf '%s\ntypo: {type: dataset, id: dsmnist, versoin: v1}\n' "$good_entries" >"$settings"
# refused NAME LINE_PART: the container did not start and the hook said LINE_PART.
refused() {
        expect_eq "$1: refused, the container does not start" "no" "$(started && echo yes || echo no)"
        expect_match "$1: the hook names why" "$2" "$run_err"
        expect_eq "$1: nothing left mounted on the host" "" "$(grep -F "$work/" /proc/self/mountinfo)"
}
make_bundle "$work/b" --identity acme nb1 carol --config "$config" --user 1000:1000 --cmd 'echo started'
run_runc "$work/b"; rm -rf "$work/b"
refused "a non-member (and a settings fault)" "user carol is not a member of team acme"
make_bundle "$work/b" --identity acme nb1 alice --annotation io.nbmount.storage-cluster=west-2 --config "$config" --cmd 'echo started'
run_runc "$work/b"; rm -rf "$work/b"
refused "another cluster's storage" "storage of cluster west-2 cannot be mounted on a node of cluster east-1"
make_bundle "$work/b" --annotation io.nbmount.team=acme --config "$config" --cmd 'echo started'
run_runc "$work/b"; rm -rf "$work/b"
refused "annotations missing" "io.nbmount.notebook"
chmod 666 "$node/grants/acme.json"
start
refused "grants writable by others" "a grants file must be owned by root and writable by no one else"
chmod 644 "$node/grants/acme.json"
mv "$nb" "$work/nb1.real"
ln -s "$work/nb1.real" "$nb"
start
refused "the notebook folder a symlink" "a symlink"
rm "$nb"
mv "$work/nb1.real" "$nb"

# --- settings.on_error refuse: the old behaviour ------------------------------------------------------
refuse_config=$node/refuse.yaml
{ cat "$config"; echo "settings: {on_error: refuse}"; } >"$refuse_config"
rm -f "$status"
start "$refuse_config"
refused "on_error refuse: an entry at fault" \
        "exit status 2, .*nbmount: container [^ ]* \\(team acme, notebook nb1, user alice\\): $settings:3:36: unknown key .*versoin.* in mount .*typo"
expect_eq "on_error refuse: no status file" "no" "$([ -e "$status" ] && echo yes || echo no)"
printf '%s\ngone: {type: dataset, id: dsdeleted}\n' "$good_entries" >"$settings"
start "$refuse_config"
refused "on_error refuse: a dataset not granted" \
        "/datasets/gone refused: dataset dsdeleted is neither a dataset of team acme nor a public dataset"

# --- the status file: planted things at its name and on its way ---------------------------------------
printf '%s\n' "$good_entries" >"$settings"
echo "root's own" >"$work/rootfile"
chmod 644 "$work/rootfile"
rootfile_before=$(stat -c '%i %h %s %U' "$work/rootfile"; md5sum <"$work/rootfile")
# expect_replaced NAME: the start went on, the status file is a new regular file of alice's, and
# the root file is untouched.
expect_replaced() {
        expect_started_with "$1" "mnist reports"
        expect_eq "$1: the status file is a regular file of uid 1000, mode 644, one link, replaced" "regular file 1000:1000 644 1 1" \
                "$(stat -c '%F %u:%g %a %h' "$status") $(grep -c "^# nbmount: the mounts of container" "$status")"
        expect_eq "$1: the root file is untouched" "$rootfile_before" \
                "$(stat -c '%i %h %s %U' "$work/rootfile"; md5sum <"$work/rootfile")"
}
rm -f "$status"
ln -s "$work/rootfile" "$status"
start
expect_replaced "a symlink at its name"
rm -f "$status"
ln "$work/rootfile" "$status"
start
expect_replaced "a hard link to a root file at its name"
rm -f "$status"
mkfifo "$status"
BB_TIMEOUT=20 start
expect_replaced "a FIFO at its name (never opened)"
rm -f "$status"
mkdir "$status"
touch "$status/keep"
start
expect_started_with "a folder at its name: the start goes on" "mnist reports"
expect_eq "a folder at its name: left as it was" "directory keep" "$(stat -c %F "$status") $(ls "$status")"
rm -rf "$status"
mv "$nb/.gradient" "$work/gradient.real"
mkdir "$work/decoy"
ln -s "$work/decoy" "$nb/.gradient"
start
expect_started_with ".gradient a symlink: the start goes on (settings.yaml skipped)" ""
expect_eq ".gradient a symlink: nothing written where it points" "" "$(ls -A "$work/decoy")"
rm "$nb/.gradient"
mv "$work/gradient.real" "$nb/.gradient"
rm -rf "$nb/.gradient"
start
expect_started_with "no .gradient folder: the start goes on" ""
expect_eq "no .gradient folder: none is made (nothing was asked for, nothing to report)" "no" \
        "$([ -e "$nb/.gradient" ] && echo yes || echo no)"
exit 0
