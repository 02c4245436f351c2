#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Hostile inputs, end to end: big and malformed settings.yaml files made here (10,000 levels of
# nesting, a million keys, alias bombs, NUL bytes, invalid UTF-8, 1 MB lines, tabs, thousands of
# YAML documents, files at and just past the 64 KiB cap), grants and notebook folders with the
# wrong owner or mode, and the fds a started container inherits. The small cases of each kind are
# the fixture corpus's (tests/fixtures/settings/bad, tests/fixtures-check.sh); these are the big
# ones, run through `nbmount plan` and through `nbmount hook` under runc.
#
# Each refusal: exactly one line, the exact message and exit code, from `nbmount plan` and from the
# hook as runc shows it; the container does not start; the host mount table, the node's files, the
# host's / and the bundle's rootfs are as they were; every run ends within 20 s (`timeout 20`).
# Usage: tests/attack-check.sh [NBMOUNT]. Prints "ok - attack ..." / "not ok - attack ...: why"
# lines; always exits 0. Needs root, runc, busybox (busybox-static) and jq.
set -u
cd "$(dirname "$0")/.."
NBMOUNT=${1:-build/nbmount}
NBMOUNT=$(realpath "$NBMOUNT")
. tests/lib/sample-node.sh
. tests/lib/bundle.sh

. tests/lib/testlib.sh
testlib_init attack 2000

need_tools runc busybox jq timeout
need_root "the runtime tests need root"

LIMIT=20 # seconds for one run of nbmount or of a container
export BB_TIMEOUT=$LIMIT
bundle_start attack "$NBMOUNT"

# --- the node: the sample node without its s3 entry (no nbmountd yet) and without quotas ----------
make_hostkernel_node "$work/node"
skip_config=$config
refuse_config=$node/node-refuse.yaml
{ cat "$config"; echo "settings: {on_error: refuse}"; } >"$refuse_config"
printf 'mnist:\n  type: dataset\n  id: dsmnist\n' >"$settings"
cp "$settings" "$work/settings.good"
echo "mnist v1" >"$node/datasets/dsmnist/v1/train.txt"

mkdir -p "$work/b"
bundle_no=0
# new_bundle (tests/lib/bundle.sh) makes its bundles in $work/b.

# The host: its mount table (without the mounts of other test runs, under /tmp/nbmount-* and
# /run/nbmount-*, which may run beside this one), and the files a hook could touch: the node, the
# work dir's top, the host's / (names, types, modes, owners) and the rootfs of the bundle about to
# run.
host_mounts() {
        mount_table_snapshot | awk -v w="$work/" '(index($1, "/tmp/nbmount-") != 1 && index($1, "/run/nbmount-") != 1) ||
                                                   index($1 "/", w) == 1'
}
host_files() {
        # a started container leaves the notebook's status file new (and so .gradient's mtime)
        files_snapshot "$node" |
                awk '$1 ~ /\/\.gradient\/mounts\.status$/ { next } $1 ~ /\/\.gradient$/ && $2 == "d" { $6 = "" } { print }'
        find "$work" -mindepth 1 -maxdepth 1 -printf '%p %y\n' | sort
        files_snapshot --maxdepth 1 / | awk '{ print $1, $2, $3, $4 }'
        [ -n "${bundle:-}" ] && [ -d "$bundle/rootfs" ] && files_snapshot "$bundle/rootfs"
}
take_snapshots() {
        mounts_before=$(host_mounts)
        files_before=$(host_files)
}
expect_host_unchanged() {
        local mounts files
        mounts=$(host_mounts)
        if [ "$mounts" = "$mounts_before" ]; then ok "$1: host mount table unchanged"; else
                not_ok "$1: host mount table unchanged" "$(diff <(echo "$mounts_before") <(echo "$mounts") | grep '^[<>]')"
        fi
        files=$(host_files)
        if [ "$files" = "$files_before" ]; then ok "$1: no file changed, created or removed"; else
                not_ok "$1: no file changed, created or removed" "$(diff <(echo "$files_before") <(echo "$files") | grep '^[<>]')"
        fi
}

# elapsed_since START: seconds since START (date +%s.%N), one decimal.
elapsed_since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }
# expect_in_time NAME RC SECONDS: the run was not stopped by `timeout` (exit 124) and took < LIMIT.
expect_in_time() {
        if [ "$2" != 124 ] && awk -v t="$3" -v l="$LIMIT" 'BEGIN { exit !(t < l) }'; then
                ok "$1: done within ${LIMIT} s"
        else
                not_ok "$1: done within ${LIMIT} s" "exit $2 after $3 s"
        fi
}

# plan_run: `nbmount plan` for acme/nb1/alice; sets plan_rc, plan_out, plan_err, plan_time.
plan_run() {
        local start
        start=$(date +%s.%N)
        timeout -k 5 $LIMIT "$NBMOUNT" plan --config "$config" --team acme --notebook nb1 --user alice \
                >"$work/out/plan.out" 2>"$work/out/plan.err"
        plan_rc=$?
        plan_time=$(elapsed_since "$start")
        plan_out=$(cat "$work/out/plan.out")
        plan_err=$(cat "$work/out/plan.err")
}

# hook_line: the line the hook printed, as runc shows it in its error
# (`..., stderr: nbmount: ...\n"`, escaped).
hook_line() {
        printf '%s\n' "$run_err" | sed -n 's/.*stderr: \(nbmount: .*\)$/\1/p' | head -1 | sed 's/\\n"*$//; s/\\"/"/g'
}
# hook_status: the hook's exit status as runc reports it.
hook_status() { printf '%s\n' "$run_err" | sed -n 's/.*error running hook: exit status \([0-9]*\),.*/\1/p' | head -1; }
# runc_run: $bundle under runc; sets run_* (bundle.sh) and run_time.
runc_run() {
        local start
        start=$(date +%s.%N)
        run_runc "$bundle"
        run_time=$(elapsed_since "$start")
}

# refused NAME LINE: $settings (or the node) is already planted. A fault of settings.yaml (LINE
# names it) is skipped with the node's default settings.on_error skip (skipped, below) and refuses
# the start with on_error refuse (strictly_refused); any other fault refuses in both.
refused() {
        if [[ $2 == *"$settings"* ]]; then
                skipped "$1" "$2"
                config=$refuse_config strictly_refused "$1 (on_error refuse)" "$2"
        else
                strictly_refused "$1" "$2"
        fi
}

# skipped NAME LINE: `nbmount plan` exits 1 with nothing on stderr and shows LINE's reason as
# skipped; a runc container with the hook starts without any /datasets entry, its notebook's
# status file says why, in the same words less the notebook's host path; the host's mount table
# and files are unchanged (but for that status file); both within LIMIT seconds.
skipped() {
        local name=$1 reason=${2#nbmount: } nb_dir=$node/notebooks/acme/nb1/
        take_snapshots
        plan_run
        expect_eq "$name: nbmount plan exits 1, nothing on stderr, the reason shown as skipped" "1|yes" \
                "$plan_rc|$plan_err$(grep -qF -- "$reason" <<<"$plan_out" && grep -q skipped <<<"$plan_out" && echo yes)"
        expect_in_time "$name: nbmount plan" "$plan_rc" "$plan_time"
        expect_host_unchanged "$name: nbmount plan"

        new_bundle --cmd 'echo started; ls /datasets 2>/dev/null | wc -l' --identity acme nb1 alice --config "$config"
        bundle="" take_snapshots
        runc_run
        expect_eq "$name: the container starts, without /datasets entries" "0|started|0" \
                "$run_rc|$(oneline "$run_out" | sed 's/ *|* *$//; s/| */|/g')"
        expect_eq "$name: the status file says skipped, and why" "yes" \
                "$(grep -F -- " skipped  ${reason//$nb_dir/}" "$node/notebooks/acme/nb1/.gradient/mounts.status" >/dev/null && echo yes)"
        expect_in_time "$name: runc with the hook" "$run_rc" "$run_time"
        bundle="" expect_host_unchanged "$name: runc with the hook"
        rm -rf "$bundle"
        bundle=""
}

# strictly_refused NAME LINE: `nbmount plan` exits 2 with exactly LINE on stderr and nothing on
# stdout; a runc container with the hook does not start and runc shows the hook's exit status 2
# and LINE, prefixed with the container; nothing changes on the host; both within LIMIT seconds.
strictly_refused() {
        local name=$1 line=$2
        take_snapshots
        plan_run
        expect_eq "$name: nbmount plan exits 2 with exactly one line" "2|$line|" "$plan_rc|$plan_err|$plan_out"
        expect_in_time "$name: nbmount plan" "$plan_rc" "$plan_time"
        expect_host_unchanged "$name: nbmount plan"

        new_bundle --cmd 'echo started' --identity acme nb1 alice --config "$config"
        take_snapshots
        runc_run
        expect_eq "$name: the hook refuses the container (status 2), runc shows its line" \
                "yes no 2 nbmount: container $run_id (team acme, notebook nb1, user alice): ${line#nbmount: }" \
                "$([ "$run_rc" -ne 0 ] && echo yes || echo no) $(grep -q started <<<"$run_out" && echo yes || echo no) $(hook_status) $(hook_line)"
        expect_in_time "$name: runc with the hook" "$run_rc" "$run_time"
        expect_host_unchanged "$name: runc with the hook"
        rm -rf "$bundle"
        bundle=""
}

# accepted NAME: $settings is planted and valid. `nbmount plan` exits 0 and a runc container with
# the hook starts with /datasets/mnist mounted, within LIMIT seconds; the host mount table is
# unchanged afterwards.
accepted() {
        local name=$1
        plan_run
        expect_eq "$name: nbmount plan exits 0, nothing on stderr" "0|" "$plan_rc|$plan_err"
        expect_in_time "$name: nbmount plan" "$plan_rc" "$plan_time"
        new_bundle --cmd 'echo started; cat /datasets/mnist/train.txt' --identity acme nb1 alice --config "$config"
        mounts_before=$(host_mounts)
        runc_run
        expect_eq "$name: the container starts and reads /datasets/mnist" "0|started|mnist v1" \
                "$run_rc|$(oneline "$run_out$run_err")"
        expect_in_time "$name: runc with the hook" "$run_rc" "$run_time"
        local mounts
        mounts=$(host_mounts)
        expect_eq "$name: host mount table unchanged after the container" "" \
                "$(diff <(echo "$mounts_before") <(echo "$mounts") | grep '^[<>]')"
        rm -rf "$bundle"
        bundle=""
}

# repeat N TEXT: TEXT N times, without a newline.
repeat() { awk -v n="$1" -v t="$2" 'BEGIN { for (i = 0; i < n; i++) printf "%s", t }'; }
# padded SIZE HEAD TAIL: HEAD, a comment line of x's, TAIL: exactly SIZE bytes.
padded() {
        local pad=$(($1 - ${#2} - ${#3} - 3))
        printf '%s# %s\n%s' "$2" "$(repeat $pad x)" "$3"
}
mnist=$'mnist:\n  type: dataset\n  id: dsmnist\n'

# --- nesting: 10,000 levels, far past the cap of 16 --------------------------------------------
{ printf 'a: '; repeat 10000 '['; repeat 10000 ']'; echo; } >"$settings"
refused "10,000 nested flow sequences" "nbmount: $settings:1:19: nested more than 16 levels deep"
{ printf 'a: '; repeat 10000 '{a: '; printf 1; repeat 10000 '}'; echo; } >"$settings"
refused "10,000 nested flow mappings" "nbmount: $settings:1:61: nested more than 16 levels deep"
{ repeat 10000 '- '; echo x; } >"$settings"
refused "10,000 nested block sequences on one line" "nbmount: $settings:1:33: nested more than 16 levels deep"

# --- many keys ------------------------------------------------------------------------------------
awk 'BEGIN { for (i = 0; i < 1000000; i++) printf "k%d: 0\n", i }' >"$settings"
refused "1,000,000 keys (10.9 MB)" \
        "nbmount: $settings:7406:2: is 10888890 bytes, more than the 65536 allowed; shorten it"
{ printf 'm: {type: dataset, id: dsmnist'; awk 'BEGIN { for (i = 0; i < 6000; i++) printf ", k%d: 0", i }'; echo '}'; } >"$settings"
refused "6,000 keys in one flow mapping, within 64 KiB" \
        "nbmount: $settings:1:39863: more than 4096 entries in one collection"

# --- alias bombs ------------------------------------------------------------------------------------
{
        echo 'lol0: &l0 ["lol"]'
        for i in 1 2 3 4 5 6 7 8 9; do
                printf 'lol%d: &l%d [%s]\n' $i $i "$(repeat 9 "*l$((i - 1)),")*l$((i - 1))"
        done
} >"$settings"
refused "billion laughs (10 levels of 10 aliases)" \
        "nbmount: $settings:1:7: YAML anchors (&) are not allowed; write the value out"
{ printf 'b: ['; repeat 15000 '*a, '; echo '*a]'; } >"$settings"
refused "15,000 aliases of an undefined anchor" \
        "nbmount: $settings:1:5: YAML aliases (*) are not allowed; write the value out"
padded 60000 "$mnist" $'bomb: &a [x, x, x]\nb2: [*a, *a, *a]\n' >"$settings"
refused "an anchor after 60 KB of valid text" \
        "nbmount: $settings:5:7: YAML anchors (&) are not allowed; write the value out"

# --- big scalars and the 64 KiB cap ----------------------------------------------------------------
{ printf 'm:\n  type: dataset\n  id: '; repeat 61440 a; echo; } >"$settings"
refused "a 60 KB dataset id" "nbmount: $settings:3:7: \"id\" is longer than 64 bytes; shorten it"
{ printf 'm:\n  type: dataset\n  id: "'; repeat 61440 a; echo '"'; } >"$settings"
refused "a 60 KB quoted dataset id" "nbmount: $settings:3:7: \"id\" is longer than 64 bytes; shorten it"
{ repeat 61440 a; printf ':\n  type: dataset\n  id: dsmnist\n'; } >"$settings"
refused "a 60 KB mount name" \
        "nbmount: $settings:1:61441: invalid YAML: a key longer than 1024 characters; shorten it"
padded 65537 "" "$mnist" >"$settings"
refused "65,537 bytes, one past the cap" \
        "nbmount: $settings:4:14: is 65537 bytes, more than the 65536 allowed; shorten it"
{ repeat 1048576 x; } >"$settings"
refused "a single 1 MB line" "nbmount: $settings:1:65537: is 1048576 bytes, more than the 65536 allowed; shorten it"
padded 65536 "" "$mnist" >"$settings"
accepted "exactly 65,536 bytes (a 60 KB comment and one mount)"

# --- bytes that are not UTF-8 text ---------------------------------------------------------------
head -c 61440 /dev/zero >"$settings"
refused "60 KB of NUL bytes" "nbmount: $settings:1:1: contains a NUL byte; save the file as UTF-8 text"
{ padded 65535 "$mnist" ""; printf '\0'; } >"$settings"
refused "a NUL as the 65,536th byte" \
        "nbmount: $settings:5:1: contains a NUL byte; save the file as UTF-8 text"
LC_ALL=C awk 'BEGIN { for (i = 0; i < 61440; i++) printf "%c", 128 + i % 128 }' >"$settings"
refused "60 KB of bytes 0x80-0xff" "nbmount: $settings:1:1: is not valid UTF-8; save the file as UTF-8 text"
{ padded 60000 "$mnist" ""; printf '# \xff\xfe\n'; } >"$settings"
refused "an invalid UTF-8 comment after 60 KB of valid text" \
        "nbmount: $settings:5:3: is not valid UTF-8; save the file as UTF-8 text"

# --- tabs and document streams ---------------------------------------------------------------------
repeat 61440 $'\t' >"$settings"
refused "60 KB of tabs" "nbmount: $settings:1:1: invalid YAML: a tab cannot indent YAML; indent with spaces"
repeat 10000 $'---\n' >"$settings"
refused "10,000 empty YAML documents" "nbmount: $settings:2:1: more than one YAML document; keep only the first"
repeat 8000 $'--- {}\n' >"$settings"
refused "8,000 YAML documents" "nbmount: $settings:2:1: more than one YAML document; keep only the first"
repeat 1000 $'mnist: {type: dataset, id: dsmnist}\n...\n' >"$settings"
refused "1,000 documents ended by ..." \
        "nbmount: $settings:3:1: invalid YAML: did not find expected <document start>"
# Tabs as separators (not as indentation) are YAML.
printf 'mnist: {type:\tdataset,\tid:\tdsmnist}\n' >"$settings"
accepted "tabs between flow items"

# --- grants that root does not own alone: refused (exit 2) with the operator's fix ---------------
cp "$work/settings.good" "$settings"
chmod 0777 "$node/grants"
refused "grants folder mode 0777" \
        "nbmount: $node/grants: the grants folder must be owned by root and writable by no one else (it is owned by uid 0, mode 0777); the operator must run chown root: $node/grants && chmod go-w $node/grants"
chmod 0755 "$node/grants"
chown 1000:1000 "$node/grants/acme.json"
refused "grants file owned by uid 1000" \
        "nbmount: $node/grants/acme.json: a grants file must be owned by root and writable by no one else (it is owned by uid 1000, mode 0644); the operator must run chown root: $node/grants/acme.json && chmod go-w $node/grants/acme.json"
chown 0:0 "$node/grants/acme.json"
chmod 0666 "$node/grants/public.json"
refused "public.json mode 0666" \
        "nbmount: $node/grants/public.json: a grants file must be owned by root and writable by no one else (it is owned by uid 0, mode 0666); the operator must run chown root: $node/grants/public.json && chmod go-w $node/grants/public.json"
chmod 0644 "$node/grants/public.json"

# --- notebook and team folders writable by someone else: refused (exit 1) with the operator's fix ----
# Whoever can write a root or a team/cluster folder could plant the folder another notebook or team
# gets; a notebook or team folder must be root's or the container user's, not writable by others.
# (nbmount plan does not look at these folders: only the hook opens them.)
# folder_refused NAME LINE: a uid 1000 container is refused with LINE (status 1), the host unchanged.
folder_refused() {
        new_bundle --user 1000:1000 --cmd 'echo started' --identity acme nb1 alice --config "$config"
        take_snapshots
        runc_run
        expect_eq "$1: the hook refuses the container (status 1), runc shows its line" \
                "yes no 1 nbmount: container $run_id (team acme, notebook nb1, user alice): $2" \
                "$([ "$run_rc" -ne 0 ] && echo yes || echo no) $(grep -q started <<<"$run_out" && echo yes || echo no) $(hook_status) $(hook_line)"
        expect_host_unchanged "$1: runc with the hook"
        rm -rf "$bundle"
        bundle=""
}
nb_folder=$node/notebooks/acme/nb1
chown 1234:1234 "$nb_folder"
folder_refused "notebook folder owned by uid 1234" \
        "/notebooks: $nb_folder must be owned by root or by the container's user 1000, and not writable by others (it is owned by uid 1234, mode 0755); the operator must run chown 1000: $nb_folder && chmod o-w $nb_folder"
chown 0:0 "$nb_folder"
chmod 0777 "$nb_folder"
folder_refused "notebook folder mode 0777" \
        "/notebooks: $nb_folder must be owned by root or by the container's user 1000, and not writable by others (it is owned by uid 0, mode 0777); the operator must run chown 1000: $nb_folder && chmod o-w $nb_folder"
chmod 0755 "$nb_folder"
chmod 0777 "$node/notebooks/acme"
folder_refused "team's notebooks folder mode 0777" \
        "/notebooks: $node/notebooks/acme must be owned by root and writable by no one else (it is owned by uid 0, mode 0777): another user could plant folders there; the operator must run chown root: $node/notebooks/acme && chmod go-w $node/notebooks/acme"
chmod 0755 "$node/notebooks/acme"
chown 1000:1000 "$node/notebooks"
folder_refused "notebooks root owned by uid 1000" \
        "/notebooks: $node/notebooks must be owned by root and writable by no one else (it is owned by uid 1000, mode 0755): another user could plant folders there; the operator must run chown root: $node/notebooks && chmod go-w $node/notebooks"
chown 0:0 "$node/notebooks"
chmod 0775 "$node/storage/east-1"
folder_refused "cluster storage folder writable by its group" \
        "/storage: $node/storage/east-1 must be owned by root and writable by no one else (it is owned by uid 0, mode 0775): another user could plant folders there; the operator must run chown root: $node/storage/east-1 && chmod go-w $node/storage/east-1"
chmod 0755 "$node/storage/east-1"
chown 1000:1000 "$nb_folder"
chmod 0750 "$nb_folder"
new_bundle --user 1000:1000 --cmd 'echo started' --identity acme nb1 alice --config "$config"
runc_run
expect_eq "notebook folder of the container's user, 0750: the container starts" "0 started" "$run_rc $run_out"
rm -rf "$bundle"
bundle=""
chown 0:0 "$nb_folder"
chmod 0755 "$nb_folder"

# --- the fds of a container's init: those of a container without the hook -----------------------
# With the hook at its biggest: 256 dataset mounts (the cap) and a 50 KB comment.
fd_cmd='for f in /proc/1/fd/*; do echo "fd ${f##*/} $(readlink $f)"; done'
fd_list() { echo "$run_out" | grep '^fd ' | sed "s/\[[0-9]*\]/[N]/; s|$work/out/$run_id\.|OUT.|"; }
new_bundle --cmd "$fd_cmd"
runc_run
fd_baseline=$(fd_list)
expect_eq "fds: a container without the hook lists its fds" "0 yes" "$run_rc $([ -n "$fd_baseline" ] && echo yes)"
datasets_json=$(for i in $(seq 0 255); do printf '{"name": "d%d", "id": "dsbig%d", "versions": ["v1"], "latest": "v1"}\n' $i $i; done | jq -sc .)
jq --argjson d "$datasets_json" '.datasets += $d' "$node/grants/acme.json" >"$work/acme.json" &&
        cat "$work/acme.json" >"$node/grants/acme.json"
for i in $(seq 0 255); do mkdir -p "$node/datasets/dsbig$i/v1"; done
{ for i in $(seq 0 255); do printf 'd%d: {type: dataset, id: dsbig%d}\n' $i $i; done; printf '# %s\n' "$(repeat 50000 x)"; } >"$settings"
new_bundle --cmd "$fd_cmd; grep -cE ' /(notebooks|storage|datasets/d[0-9]+) ' /proc/self/mountinfo" --identity acme nb1 alice \
        --config "$config"
mounts_before=$(host_mounts)
runc_run
expect_eq "fds: with 256 dataset mounts the container starts with all 258 mounts" "0 258" \
        "$run_rc $(echo "$run_out" | tail -1)"
expect_in_time "fds: 256 dataset mounts" "$run_rc" "$run_time"
expect_eq "fds: the container's init has the fds of a container without the hook" \
        "$(oneline "$fd_baseline")" "$(oneline "$(fd_list)")"
expect_eq "fds: host mount table unchanged after the 256-mount container" "" \
        "$(diff <(echo "$mounts_before") <(host_mounts) | grep '^[<>]')"
exit 0
