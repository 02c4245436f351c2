#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end tests of `nbmount hook` under real container runtimes: runc, crun and podman start
# busybox containers whose config.json (or podman's hooks.d) calls the hook; each test checks
# what the container sees, what the host keeps, and what a refused start says.
# Usage: tests/hook-check.sh [NBMOUNT]. Prints "ok - hook ..." / "not ok - hook ...: why" lines;
# always exits 0. Needs root, runc, crun, podman, busybox (busybox-static), jq and cc.
set -u
cd "$(dirname "$0")/.."
NBMOUNT=${1:-build/nbmount}
NBMOUNT=$(realpath "$NBMOUNT")
. tests/lib/sample-node.sh
. tests/lib/bundle.sh

. tests/lib/testlib.sh
testlib_init hook 4000

need_tools runc crun podman busybox jq cc unshare
need_root "the runtime tests need root"

work=$(mktemp -d /tmp/nbmount-hook.XXXXXX)
swapper_pid=""
cleanup() {
        [ -n "$swapper_pid" ] && kill "$swapper_pid" 2>/dev/null
        bundle_cleanup
}
trap cleanup EXIT
trap 'echo "# interrupted"; exit 1' INT TERM
if ! bundle_init "$work" "$NBMOUNT" >"$work/init.log" 2>&1; then
        not_ok "harness: bundle_init" "$(cat "$work/init.log")"
        exit 0
fi

# --- the node ------------------------------------------------------------------------------------
# The sample node, without its s3 entry (no nbmountd yet) and without quotas (this kernel has none).
node=$work/node
make_sample_node "$node"
config=$node/node.yaml
sed -i 's/^quota: .*/quota: {enforce: off}/' "$config"
# Every refusal here is the old, strict behaviour (tests/skip-check.sh tests the default, skip).
echo "settings: {on_error: refuse}" >>"$config"
settings=$node/notebooks/acme/nb1/.gradient/settings.yaml
cat >"$settings" <<'EOT'
quarterly-reports:
  type: dataset
  id: dsr8k5qzn401lb5
  version: v1
images:
  type: dataset
  id: dsimg7
mnist:
  type: dataset
  id: dsmnist
EOT
cp "$settings" "$work/settings.good"
echo "notebook nb1" >"$node/notebooks/acme/nb1/hello.txt"
echo "team storage" >"$node/storage/east-1/acme/shared.txt"
echo "real-storage" >"$node/storage/east-1/acme/.marker"
echo "report v1" >"$node/datasets/dsr8k5qzn401lb5/v1/report.csv"
echo "report v2" >"$node/datasets/dsr8k5qzn401lb5/v2/report.csv"
echo "images v3" >"$node/datasets/dsimg7/v3/version.txt"
echo "mnist v1" >"$node/datasets/dsmnist/v1/train.txt"
# Another team, whose notebook an attacker would like to reach.
mkdir -p "$node/notebooks/rival/secretnb" "$node/storage/east-1/rival"
echo "rival secret" >"$node/notebooks/rival/secretnb/secret.txt"
# A host folder that image symlinks point at.
decoy=$work/somewhere
mkdir -p "$decoy"
echo "decoy" >"$decoy/marker"
cp "$work/settings.good" "$decoy/settings.yaml"

mkdir -p "$work/b"
bundle_no=0
# new_bundle RUNTIME [make_bundle options]: a fresh bundle, its path in $bundle.
new_bundle() {
        local runtime=$1
        shift
        bundle_no=$((bundle_no + 1))
        bundle=$work/b/$bundle_no
        local -a extra=()
        [ "$runtime" = crun ] && extra=(--crun)
        make_bundle "$bundle" "${extra[@]}" "$@"
}
# run RUNTIME: runs $bundle with run_runc or run_crun.
run() { "run_$1" "$bundle"; }

# hook_line RUNTIME: the line the hook printed, as the runtime reports it (runc and podman embed
# it in their error, escaped: `..., stderr: nbmount: ...\n"`; crun writes it to a file).
hook_line() {
        case $1 in
        crun) printf '%s' "$run_hook_err" ;;
        *) printf '%s\n' "$run_err" | sed -n 's/.*stderr: \(nbmount: .*\)$/\1/p' | head -1 |
                sed 's/\\n"*$//; s/\\"/"/g' ;;
        esac
}

# Snapshots of the host: the mount table, and every file outside the bundles that a hook could
# touch: the node (all of it), the decoy, the work dir's top levels, /etc and / (names, types,
# modes, owners; /etc's mtimes move with package installs).
host_files() { host_files_all; }
# A started container leaves the notebook's status file (and so the mtime of .gradient) new.
host_files_all() {
        files_snapshot --prune "$work/b" --prune "$work/out" --prune "$work/state" --prune "$work/podman" \
                --prune "$work/rootfs.base" "$work" |
                awk '$1 ~ /\/\.gradient\/mounts\.status$/ { next } $1 ~ /\/\.gradient$/ && $2 == "d" { $6 = "" } { print }'
        find "$work/b" -mindepth 1 -maxdepth 1 -printf '%p %y\n' | sort
        { files_snapshot --maxdepth 2 /etc; files_snapshot --maxdepth 1 /; } | awk '{ print $1, $2, $3, $4 }'
}
take_snapshots() {
        mounts_before=$(mount_table_snapshot)
        files_before=$(host_files)
}
# expect_mounts_unchanged NAME / expect_host_unchanged NAME: the host mount table (and files)
# equal the last snapshots.
expect_mounts_unchanged() {
        local mounts
        mounts=$(mount_table_snapshot)
        if [ "$mounts" = "$mounts_before" ]; then ok "$1: host mount table unchanged"; else
                not_ok "$1: host mount table unchanged" "$(diff <(echo "$mounts_before") <(echo "$mounts") | grep '^[<>]')"
        fi
}
expect_host_unchanged() {
        local files
        expect_mounts_unchanged "$1"
        files=$(host_files)
        if [ "$files" = "$files_before" ]; then ok "$1: host files unchanged"; else
                not_ok "$1: host files unchanged" "$(diff <(echo "$files_before") <(echo "$files") | grep '^[<>]')"
        fi
}

# The container's mounts of interest, from the mountinfo it printed after a "--mountinfo--" line:
# "TARGET ROOT" lines, ROOT the source path inside its file system (the host path here).
container_mounts() {
        printf '%s\n' "$run_out" | sed -n '/^--mountinfo--$/,$p' | sed 1d |
                awk '$5 ~ /^\/(notebooks|storage|datasets)(\/|$)/ { print $5, $4 }' | sort
}
# container_flags TARGET: the access flags (ro/rw, nosuid, nodev, noexec) of that mount.
container_flags() {
        printf '%s\n' "$run_out" | sed -n '/^--mountinfo--$/,$p' | sed 1d |
                awk -v t="$1" '$5 == t { print $6 }' | tr ',' '\n' | grep -xE 'ro|rw|nosuid|nodev|noexec' | paste -sd,
}
# fs_root PATH: PATH as mountinfo's "root" field shows a bind mount of it.
fs_root() {
        local target fsroot
        target=$(findmnt -n -o TARGET -T "$1")
        fsroot=$(findmnt -n -o FSROOT -T "$1")
        if [ "$target" = / ]; then echo "${fsroot%/}$1"; else echo "${fsroot%/}${1#"$target"}"; fi
}
# out_line PREFIX: the line of the container's output that starts with PREFIX, without it.
out_line() { printf '%s\n' "$run_out" | sed -n "s|^$1||p" | head -1; }

# --- the harness itself, without the hook -------------------------------------------------------
fd_cmd='for f in /proc/1/fd/*; do echo "fd ${f##*/} $(readlink $f)"; done'
# fd_list: the "fd N TARGET" lines of fd_cmd, without pipe numbers and run ids.
fd_list() { echo "$run_out" | grep '^fd ' | sed "s/\[[0-9]*\]/[N]/; s|$work/out/$run_id\.|OUT.|"; }
new_bundle crun --cmd "echo started; $fd_cmd"
crun_bundle=$bundle
new_bundle runc --cmd "echo started; $fd_cmd"
podman_init
podman_ok=$?
take_snapshots
run runc
expect_eq "harness: runc runs a busybox container" "0 started" "$run_rc $(echo "$run_out" | head -1)"
fd_baseline=$(fd_list)
bundle=$crun_bundle
run crun
expect_eq "harness: crun runs a busybox container" "0 started" "$run_rc $(echo "$run_out" | head -1)"
fd_baseline_crun=$(fd_list)
if [ $podman_ok = 0 ]; then
        run_podman "" 'echo started'
        expect_eq "harness: podman runs the imported busybox image" "0 started" "$run_rc $run_out"
else
        not_ok "harness: podman imports the busybox image" "$(cat "$work/podman/import.err")"
fi
expect_host_unchanged "harness: containers without the hook"
expect_ne "harness: the host files snapshot lists the node" "" "$(host_files | grep -c "^$node/storage/east-1/acme/shared.txt f 644 0:0 13 ")"

# --- from here on, the hook ----------------------------------------------------------------------
if ! "$NBMOUNT" hook --help >"$work/help.out" 2>&1; then
        not_ok "nbmount hook --help" "$(head -3 "$work/help.out")"
        exit 0
fi

# Direct calls: a bad state on stdin fails with one line; poststop always exits 0.
echo 'not json' | "$NBMOUNT" hook createRuntime --config "$config" >"$work/direct.out" 2>"$work/direct.err"
rc=$?
expect_eq "direct: bad state JSON fails with one nbmount: line" "yes 1 nbmount:" \
        "$([ $rc -ne 0 ] && echo yes || echo "no (exit $rc)") $(wc -l <"$work/direct.err") $(cut -d' ' -f1 "$work/direct.err" | head -1)"
echo 'not json' | "$NBMOUNT" hook poststop --config "$config" >"$work/direct.out" 2>&1
expect_eq "direct: poststop exits 0 even on a bad state" 0 "$?"

# The container of the functional tests: reads a file of every mount, writes to a dataset, to
# /storage and to /notebooks, and prints its mountinfo.
probe_cmd='echo started
for f in /notebooks/hello.txt /storage/shared.txt /datasets/quarterly-reports/report.csv /datasets/images/version.txt /datasets/mnist/train.txt; do
        echo "read $f: $(cat $f 2>&1)"
done
msg=$(touch /datasets/quarterly-reports/new 2>&1); echo "dataset write: $msg rc=$?"
msg=$(echo "from $RT" 2>&1 >/storage/written-$RT.txt); echo "storage write: $msg rc=$?"
msg=$(echo "from $RT" 2>&1 >/notebooks/written-$RT.txt); echo "notebook write: $msg rc=$?"
echo --mountinfo--
cat /proc/self/mountinfo'

expected_mounts() { # NOTEBOOK: the mounts of the good settings
        printf '%s\n' "/datasets/images $(fs_root "$node/datasets/dsimg7/v3")" \
                "/datasets/mnist $(fs_root "$node/datasets/dsmnist/v1")" \
                "/datasets/quarterly-reports $(fs_root "$node/datasets/dsr8k5qzn401lb5/v1")" \
                "/notebooks $(fs_root "$node/notebooks/acme/$1")" \
                "/storage $(fs_root "$node/storage/east-1/acme")"
}

# check_probe LABEL RUNTIME: the assertions on a probe_cmd container of notebook nb1.
check_probe() {
        local label=$1 rt=$2
        expect_eq "$label: starts, exit 0, nothing on stderr" "0 started ||" \
                "$run_rc $(echo "$run_out" | head -1) |$run_err|$run_hook_err"
        expect_eq "$label: reads the notebook at /notebooks" "notebook nb1" "$(out_line 'read /notebooks/hello.txt: ')"
        expect_eq "$label: reads the team storage at /storage" "team storage" "$(out_line 'read /storage/shared.txt: ')"
        expect_eq "$label: reads the pinned dataset version v1" "report v1" \
                "$(out_line 'read /datasets/quarterly-reports/report.csv: ')"
        expect_eq "$label: /datasets/images is the latest version, v3" "images v3" \
                "$(out_line 'read /datasets/images/version.txt: ')"
        expect_eq "$label: reads the public dataset" "mnist v1" "$(out_line 'read /datasets/mnist/train.txt: ')"
        expect_eq "$label: a write to a dataset fails with EROFS" \
                "touch: /datasets/quarterly-reports/new: Read-only file system rc=1" "$(out_line 'dataset write: ')"
        expect_eq "$label: a write to /storage lands in the team's storage folder on the host" \
                " rc=0|from $rt|0:0" \
                "$(out_line 'storage write: ')|$(cat "$node/storage/east-1/acme/written-$rt.txt" 2>&1)|$(stat -c %u:%g "$node/storage/east-1/acme/written-$rt.txt" 2>&1)"
        expect_eq "$label: a write to /notebooks lands in the notebook folder on the host" \
                " rc=0|from $rt" \
                "$(out_line 'notebook write: ')|$(cat "$node/notebooks/acme/nb1/written-$rt.txt" 2>&1)"
        expect_eq "$label: exactly the planned mounts, from the planned sources" "$(expected_mounts nb1)" "$(container_mounts)"
        local target flags
        for target in /datasets/quarterly-reports /datasets/images /datasets/mnist; do
                flags=$(container_flags $target)
                expect_eq "$label: $target is ro,nosuid,nodev" "ro nosuid nodev" \
                        "$(for f in ro nosuid nodev; do [[ ,$flags, == *,$f,* ]] && printf '%s ' $f; done | sed 's/ $//')"
        done
        for target in /notebooks /storage; do
                expect_eq "$label: $target is read-write" rw "$(container_flags $target | cut -d, -f1)"
        done
}

# --- runc and crun: the mounts ------------------------------------------------------------------
for rt in runc crun; do
        new_bundle $rt --cmd "RT=$rt; $probe_cmd" --identity acme nb1 alice --config "$config"
        take_snapshots
        run $rt
        check_probe "$rt" $rt
        rm -f "$node"/storage/east-1/acme/written-$rt.txt "$node"/notebooks/acme/nb1/written-$rt.txt
        expect_mounts_unchanged "$rt: after the container"

        # Folders absent before are created, owned by the container's uid/gid (1000 here).
        mv "$node/storage/east-1/acme" "$work/acme-storage.saved"
        new_bundle $rt --user 1000:1000 --identity acme fresh-$rt alice --config "$config" --cmd '
                echo "id: $(id -u):$(id -g)"
                msg=$(echo x 2>&1 >/storage/u.txt); echo "storage: $msg rc=$?"
                msg=$(echo y 2>&1 >/notebooks/u.txt); echo "notebook: $msg rc=$?"
                echo --mountinfo--; cat /proc/self/mountinfo'
        run $rt
        expect_eq "$rt: uid 1000 container starts" "0 |" "$run_rc |$run_err$run_hook_err"
        expect_eq "$rt: uid 1000 writes to the new /storage and /notebooks" "1000:1000| rc=0| rc=0" \
                "$(out_line 'id: ')|$(out_line 'storage: ')|$(out_line 'notebook: ')"
        expect_eq "$rt: absent storage folder is created owned by 1000:1000" "directory 1000:1000" \
                "$(stat -c '%F %u:%g' "$node/storage/east-1/acme" 2>&1)"
        expect_eq "$rt: absent notebook folder is created owned by 1000:1000" "directory 1000:1000" \
                "$(stat -c '%F %u:%g' "$node/notebooks/acme/fresh-$rt" 2>&1)"
        expect_eq "$rt: no settings.yaml, so only /notebooks and /storage" \
                "$(printf '%s\n' "/notebooks $(fs_root "$node/notebooks/acme/fresh-$rt")" "/storage $(fs_root "$node/storage/east-1/acme")")" \
                "$(container_mounts)"
        rm -rf "$node/storage/east-1/acme" "$node/notebooks/acme/fresh-$rt"
        mv "$work/acme-storage.saved" "$node/storage/east-1/acme"

        # The stage inferred from the state's status (no stage argument, as hooks.d calls it).
        new_bundle $rt --identity acme nb1 alice --cmd 'echo --mountinfo--; cat /proc/self/mountinfo' \
                --hook-json createRuntime "{\"path\": \"$NBMOUNT\", \"args\": [\"nbmount\", \"hook\", \"--config\", \"$config\"]}" \
                --hook-json poststop "{\"path\": \"$NBMOUNT\", \"args\": [\"nbmount\", \"hook\", \"--config\", \"$config\"]}"
        run $rt
        expect_eq "$rt: without a stage argument the hook infers createRuntime from the status" \
                "0 $(oneline "$(expected_mounts nb1)")" "$run_rc $(oneline "$(container_mounts)")"
done

# --- refusals: the container does not start, the runtime's error shows the reason ---------------
# expect_refused LABEL RUNTIME PART...: exit non-zero, the container never ran, and the hook's one
# line starts with "nbmount: " and contains every PART.
expect_refused() {
        local label=$1 rt=$2 line part missing=""
        shift 2
        line=$(hook_line $rt)
        expect_eq "$label: the container does not start" "yes no" \
                "$([ "$run_rc" -ne 0 ] && echo yes || echo no) $(echo "$run_out" | grep -q started && echo yes || echo no)"
        for part in "$@"; do [[ $line == *"$part"* ]] || missing+=" «$part»"; done
        if [[ $line == "nbmount: "* ]] && [ -z "$missing" ] && [[ $line != *'\n'* ]]; then
                ok "$label: the runtime shows the hook's line"
        else
                not_ok "$label: the runtime shows the hook's line" "line «$line» (missing:$missing); runtime stderr «$(oneline "$run_err")» hook stderr «$(oneline "$run_hook_err")»"
        fi
}
# plan_error: what `nbmount plan --bundle $bundle` says on stderr, without its "nbmount: ".
plan_error() { "$NBMOUNT" plan --config "$config" --bundle "$bundle" 2>&1 >/dev/null | sed 's/^nbmount: //'; }
# expect_refused_exactly LABEL RUNTIME LINE
expect_refused_exactly() {
        expect_refused "$1" "$2"
        expect_eq "$1: the hook's line" "$3" "$(hook_line "$2")"
}

for rt in runc crun; do
        new_bundle $rt --cmd 'echo started' --identity acme nb1 carol --config "$config"
        take_snapshots
        run $rt
        expect_refused_exactly "$rt: non-member" $rt \
                "nbmount: container $run_id (team acme, notebook nb1, user carol): /notebooks refused: user carol is not a member of team acme; ask the team's admin to add carol"
        expect_host_unchanged "$rt: non-member"
        new_bundle $rt --cmd 'echo started' --identity acme nb1 alice --annotation io.nbmount.storage-cluster=west-2 \
                --config "$config"
        take_snapshots
        run $rt
        expect_refused_exactly "$rt: storage of another cluster" $rt \
                "nbmount: container $run_id (team acme, notebook nb1, user alice): /storage refused: storage of cluster west-2 cannot be mounted on a node of cluster east-1; run the notebook on a west-2 node"
        expect_host_unchanged "$rt: storage of another cluster"
        new_bundle $rt --cmd 'echo started' --identity acme nb1 alice --annotation io.nbmount.bogus=1 --config "$config"
        take_snapshots
        run $rt
        expect_refused_exactly "$rt: unknown io.nbmount.* annotation" $rt "nbmount: container $run_id: $(plan_error)"
        expect_host_unchanged "$rt: unknown io.nbmount.* annotation"
done
# An s3 entry while nbmountd is not running: the start fails, naming the mount and the socket.
sed -n '/^my-bucket-data:/,$p' <<'EOT' >>"$settings"
my-bucket-data:
  type: s3
  url: s3://my-bucket/my-data
  accessKeyId: AK123
  secretAccessKey: secret:my-bucket-secret-key
  region: us-west-1
EOT
for rt in runc crun; do
        new_bundle $rt --cmd 'echo started' --identity acme nb1 alice --config "$config"
        take_snapshots
        run $rt
        expect_refused_exactly "$rt: s3 entry, nbmountd not running" $rt \
                "nbmount: container $run_id (team acme, notebook nb1, user alice): /datasets/my-bucket-data: nbmountd is not running (nothing listens on /run/nbmount-test/mountd.sock); start it: systemctl start nbmountd"
        expect_host_unchanged "$rt: s3 entry"
done
cp "$work/settings.good" "$settings"

# --- podman through hooks.d ----------------------------------------------------------------------
hooks_json=packaging/hooks.d/nbmount.json
if [ ! -f "$hooks_json" ]; then
        not_ok "podman: $hooks_json exists" "missing"
elif ! [ -d "$work/podman/root" ]; then
        not_ok "podman" "the image could not be imported (see the harness test)"
else
        mkdir -p "$work/hooks.d"
        jq --arg p "$NBMOUNT" --arg c "$config" '.hook.path = $p | .hook.args += ["--config", $c]' \
                "$hooks_json" >"$work/hooks.d/nbmount.json"
        expect_eq "podman: the packaged hooks.d file runs createRuntime and poststop, when io.nbmount.team is set" \
                '["createRuntime","poststop"] {"^io\\.nbmount\\.team$":".+"} ["nbmount","hook"]' \
                "$(jq -c .stages "$hooks_json") $(jq -c .when.annotations "$hooks_json") $(jq -c .hook.args "$hooks_json")"
        take_snapshots
        run_podman "$work/hooks.d" "RT=podman; $probe_cmd" --annotation io.nbmount.team=acme \
                --annotation io.nbmount.notebook=nb1 --annotation io.nbmount.user=alice
        check_probe podman podman
        rm -f "$node"/storage/east-1/acme/written-podman.txt "$node"/notebooks/acme/nb1/written-podman.txt
        expect_mounts_unchanged "podman: after the container"
        take_snapshots
        run_podman "$work/hooks.d" 'echo started; test -e /storage && echo has-storage; exit 0'
        expect_eq "podman: without the annotations the hook does not run" "0 started" "$run_rc $run_out"
        run_podman "$work/hooks.d" 'echo started' --annotation io.nbmount.team=acme \
                --annotation io.nbmount.notebook=nb1 --annotation io.nbmount.user=carol
        expect_refused "podman: non-member" podman "(team acme, notebook nb1, user carol): /notebooks refused: user carol is not a member of team acme; ask the team's admin to add carol"
        expect_host_unchanged "podman: after the containers"
fi

# --- attacks -------------------------------------------------------------------------------------
# Each: the container does not start (or its mounts stay inside its rootfs), the host mount table
# and the host files equal the snapshots taken before.

# Image symlinks at the mount targets. The right outcome: refused, naming the target and the
# symlink; following it inside the rootfs would put the mount somewhere the user did not ask
# for, and following it on the host would mount over (or create folders in) host paths.
# plant_symlink RUNTIME IMAGE_PATH TARGET: a bundle whose rootfs has IMAGE_PATH -> TARGET.
attack_symlink() {
        local rt=$1 path=$2 target=$3
        new_bundle $rt --cmd 'echo started; echo --mountinfo--; cat /proc/self/mountinfo' --identity acme nb1 alice \
                --config "$config"
        mkdir -p "$(dirname "$bundle/rootfs$path")"
        ln -s "$target" "$bundle/rootfs$path"
        take_snapshots
        run $rt
        expect_refused "$rt: image symlink $path -> $target" $rt "$path" symlink
        [ "$run_rc" = 0 ] && echo "# $rt: image symlink $path -> $target: the container ran with these mounts:" \
                "$(printf '%s\n' "$run_out" | sed -n '/^--mountinfo--$/,$p' | sed 1d |
                   awk '$4 ~ /node/ { printf "%s <- %s; ", $5, $4 }')"
        expect_host_unchanged "$rt: image symlink $path -> $target"
}
for path in /storage /notebooks /datasets /datasets/images; do
        for target in /etc "$decoy" ../../..; do attack_symlink runc $path "$target"; done
done
attack_symlink runc /storage /proc
attack_symlink crun /storage /etc
attack_symlink crun /storage /proc
attack_symlink crun /datasets/images ../../..

# settings.yaml that is not a plain small file: refused with the line `nbmount plan` prints.
# attack_settings NAME: $settings is already planted.
attack_settings() {
        local expected
        new_bundle runc --cmd 'echo started' --identity acme nb1 alice --config "$config"
        expected=$(plan_error)
        take_snapshots
        run runc
        expect_refused_exactly "runc: settings.yaml $1" runc \
                "nbmount: container $run_id (team acme, notebook nb1, user alice): $expected"
        expect_host_unchanged "runc: settings.yaml $1"
}
rm "$settings"
ln -s "$decoy/settings.yaml" "$settings"
attack_settings "is a symlink"
rm "$settings"
mkfifo "$settings"
attack_settings "is a FIFO"
rm "$settings"
mknod "$settings" c 1 3
attack_settings "is a device node"
rm "$settings"
yes '# padding' | head -c 10000000 >"$settings"
attack_settings "is 10 MB"
cp "$work/settings.good" "$settings"

# A notebook folder that is a symlink to another team's notebook folder: refused.
ln -s "$node/notebooks/rival/secretnb" "$node/notebooks/acme/nbsym"
for rt in runc crun; do
        new_bundle $rt --cmd 'echo started; cat /notebooks/secret.txt' --identity acme nbsym alice --config "$config"
        take_snapshots
        run $rt
        expect_refused "$rt: notebook folder is a symlink to another team's notebook" $rt symlink
        expect_eq "$rt: the other team's secret is not shown" "" "$(echo "$run_out" | grep 'rival secret')"
        expect_host_unchanged "$rt: notebook folder is a symlink"
done
rm "$node/notebooks/acme/nbsym"

# Races: a path the hook uses is exchanged with a symlink to /etc (renameat2 RENAME_EXCHANGE, so
# the path always exists, as one or the other) thousands of times while containers start, as
# uid 1000, for a few seconds. Each start either fails with the hook's line naming /storage, or
# runs with the real team folder at /storage (its marker is there) and the image's own /etc (not
# a mount); host /etc and the node stay as they were.
# race LABEL PATH SECONDS [WANT]: $bundle is ready; PATH is exchanged with $work/swap-link. WANT is
# the "marker|passwd|etc mounts" a started container must show, as a glob.
race() {
        local label=$1 path=$2 seconds=$3 want=${4:-"real-storage|root:x:0:0:root:/:/bin/sh|0"}
        local started=0 refused=0 bad="" refusal="" end
        ln -sfn /etc "$work/swap-link"
        rm -f "$work/out/swap.stop"
        take_snapshots
        "$work/swap" "$path" "$work/swap-link" "$work/out/swap.stop" >"$work/out/swap.out" 2>&1 &
        swapper_pid=$!
        end=$((SECONDS + seconds))
        while ((SECONDS < end)); do
                run runc
                if [ "$run_rc" = 0 ]; then
                        # shellcheck disable=SC2053
                        if [[ "$(out_line 'marker: ')|$(out_line 'passwd: ')|$(out_line 'etc mounts: ')" == $want ]]; then
                                started=$((started + 1))
                        else
                                bad+=" [started: $(oneline "$run_out")]"
                        fi
                elif [[ $(hook_line runc) == "nbmount: "*/storage* ]] && ! grep -q started <<<"$run_out"; then
                        refused=$((refused + 1))
                        [ -z "$refusal" ] && refusal=$(hook_line runc)
                else
                        bad+=" [exit $run_rc: $(oneline "$run_out$run_err")]"
                fi
        done
        touch "$work/out/swap.stop"
        wait "$swapper_pid"
        swapper_pid=""
        echo "# $label: $started starts with the real folder, $refused clean refusals, $(cat "$work/out/swap.out") exchanges"
        [ -n "$refusal" ] && echo "# $label: a refusal: $refusal"
        expect_eq "$label: every start mounts the real folder or fails cleanly" "" "$(echo "${bad# }" | head -c 2000)"
        expect_ne "$label: some starts happened" 0 $((started + refused))
        expect_eq "$label: the real folder is back in place" "directory" "$(stat -c %F "$path")"
        # The exchanges themselves change the mtimes of the folders holding the two paths.
        local ignore=(-e "^$work d " -e "^$(dirname "$path") d ")
        files_before=$(echo "$files_before" | grep -v "${ignore[@]}")
        host_files() { host_files_all | grep -v "${ignore[@]}"; }
        expect_host_unchanged "$label"
        host_files() { host_files_all; }
        rm -f "$work/swap-link"
}
race_cmd='echo started; echo "marker: $(cat /storage/.marker 2>&1)"; echo "passwd: $(cat /etc/passwd 2>&1)"
echo "etc mounts: $(grep -c " /etc " /proc/self/mountinfo)"'
if cc -O2 -o "$work/swap" tests/lib/swap.c 2>"$work/swap.err"; then
        # The team storage folder on the host.
        new_bundle runc --user 1000:1000 --identity acme nb1 alice --config "$config" --cmd "$race_cmd"
        race "runc: storage folder swapped with a symlink to /etc" "$node/storage/east-1/acme" 4
        # The mountpoint in the image: the hook must never be led from /storage to the image's /etc.
        # Only the host can rename inside a rootfs during a start, so this is about robustness: an
        # exchange right after the mount moves the mounted folder out of sight (the container then
        # sees the symlink at /storage, no marker) and no hook can prevent that; but /etc must
        # never be a mount, and nothing may leak onto the host.
        new_bundle runc --user 1000:1000 --identity acme nb1 alice --config "$config" --cmd "$race_cmd"
        mkdir "$bundle/rootfs/storage"
        race "runc: image's /storage swapped with a symlink to /etc" "$bundle/rootfs/storage" 3 \
                "*|root:x:0:0:root:/:/bin/sh|0"
else
        not_ok "swap races" "cannot build tests/lib/swap.c: $(cat "$work/swap.err")"
fi

# --- no fd of the hook in the container ---------------------------------------------------------
for rt in runc crun; do
        new_bundle $rt --cmd "$fd_cmd" --identity acme nb1 alice --config "$config"
        run $rt
        baseline=$fd_baseline
        [ $rt = crun ] && baseline=$fd_baseline_crun
        expect_eq "$rt: the container's init has the fds of a hook-less container" \
                "0 $(oneline "$baseline")" "$run_rc $(oneline "$(fd_list)")"
done

# --- the hook twice: no stacked mounts -----------------------------------------------------------
for rt in runc crun; do
        new_bundle $rt --identity acme nb1 alice --config "$config" --hook createRuntime --hook createRuntime \
                --hook poststop --cmd 'echo --mountinfo--; cat /proc/self/mountinfo'
        run $rt
        expect_eq "$rt: hook run twice: every mount exactly once" "0 $(oneline "$(expected_mounts nb1)")" \
                "$run_rc $(oneline "$(container_mounts)")"
done

# --- 50 containers in parallel, each with its own notebook --------------------------------------
for i in $(seq 0 49); do
        mkdir -p "$node/notebooks/acme/nb$i"
        echo "nb$i" >"$node/notebooks/acme/nb$i/marker.txt"
done
for i in $(seq 0 49); do
        make_bundle "$work/b/par$i" --identity acme nb$i alice --config "$config" \
                --cmd 'echo "marker: $(cat /notebooks/marker.txt)"; echo --mountinfo--; cat /proc/self/mountinfo'
done
take_snapshots
par_start=$SECONDS
for i in $(seq 0 49); do
        while (($(jobs -rp | wc -l) >= 10)); do wait -n; done
        (run_runc "$work/b/par$i" "nbt-$$-par$i"; printf '%s' "$run_rc" >"$work/out/par$i.rc"
         printf '%s\n' "$run_out" >"$work/out/par$i.stdout") &
done
wait
echo "# 50 containers in $((SECONDS - par_start)) s"
par_bad=""
for i in $(seq 0 49); do
        run_rc=$(cat "$work/out/par$i.rc")
        run_out=$(cat "$work/out/par$i.stdout")
        got="$run_rc $(out_line 'marker: ') $(container_mounts | grep '^/notebooks ')"
        want="0 nb$i /notebooks $(fs_root "$node/notebooks/acme/nb$i")"
        [ "$got" = "$want" ] || par_bad+=" [nb$i: $got]"
done
expect_eq "runc: 50 parallel containers each see exactly their own notebook" "" "${par_bad# }"
expect_eq "runc: no container left after the parallel runs" "" "$(runc --root "$work/state/runc" list -q)"
expect_host_unchanged "runc: 50 parallel containers"
rm -rf "$node"/notebooks/acme/nb{0..49}

# --- the quota guard: what a container could do to leave its project, and what the hook accepts ---
# The host kernel has no project quotas (TESTBED.md), but XFS keeps project ids and PROJINHERIT
# without them, and seccomp answers before the file system is reached: so the escapes themselves are
# tried here, in plain containers (no hook) whose /storage is a folder of an XFS loop file system,
# project 10000 with PROJINHERIT, owned by uid 1000 (tests/lib/projescape.c tries each way out).
# The hook's own judgement is seen through its refusals: with quota.enforce required, a start it
# lets past the guard is then refused for want of prjquota on this kernel, with that other line.
guard_work=$work/guard
mkdir -p "$guard_work" "$node/notebooks/acme/nb1/.gradient"
cp "$work/settings.good" "$settings" # the parallel runs above removed nb{0..49}, nb1 among them
chmod 755 "$work" # a user namespace's root must reach the bundles
required=$node/node-required.yaml
sed 's/^quota: .*/quota: {enforce: required}/' "$config" >"$required"
kernel_has_file_setattr=no
fsa_probe=$(mktemp -d "$guard_work/probe.XXXXXX")
if cc -static -no-pie -O2 -o "$guard_work/projescape" tests/lib/projescape.c 2>"$guard_work/cc.err" &&
        cc -O2 -o "$guard_work/lease" tests/lib/lease.c 2>>"$guard_work/cc.err"; then
        [ "$("$guard_work/projescape" file_setattr "$fsa_probe")" != "file_setattr: errno ENOSYS" ] && kernel_has_file_setattr=yes
        guard_tools=ok
else
        not_ok "guard: harness: static helpers" "$(cat "$guard_work/cc.err")"
        guard_tools=""
fi
echo "# guard: this kernel ($(uname -r)) has file_setattr(2): $kernel_has_file_setattr"

# The profiles. The pre-fix shipped rule; the README's old podman recipe (allow ioctl when the
# request is not FS_IOC_FSSETXATTR, in an allowlist); the shipped rules less FS_IOC_SETFLAGS; the
# profile `nbmount seccomp` makes of the stock one, in podman's format and as config.json's.
shipped=packaging/seccomp/nbmount-quota.json
cat >"$guard_work/old-eq.json" <<'EOT'
{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
  {"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": [{"index": 1, "value": 1075599392, "op": "SCMP_CMP_EQ"}]},
  {"names": ["file_setattr"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
EOT
jq '[.syscalls[] | select(.action == "SCMP_ACT_ALLOW" and (.args | length) == 0) | .names[]] | unique as $allowed
    | {defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 38, architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
       syscalls: [{names: ($allowed - ["ioctl"]), action: "SCMP_ACT_ALLOW"},
                  {names: ["ioctl"], action: "SCMP_ACT_ALLOW", args: [{index: 1, value: 1075599392, op: "SCMP_CMP_NE"}]}]}' \
        /usr/share/containers/seccomp.json >"$guard_work/old-ne.json"
jq 'del(.syscalls[] | select(.args[0].valueTwo == 1074292226))' "$shipped" >"$guard_work/no-setflags.json"
"$NBMOUNT" seccomp --oci >"$guard_work/nbmount-oci.json" 2>"$guard_work/seccomp.err"
expect_eq "guard: nbmount seccomp --oci writes a profile" "0 yes" \
        "$? $(jq -e '.defaultAction == "SCMP_ACT_ERRNO" and (.syscalls | length) > 69' "$guard_work/nbmount-oci.json" >/dev/null 2>&1 && echo yes || echo "no: $(head -c 300 "$guard_work/seccomp.err")")"
"$NBMOUNT" seccomp >"$guard_work/nbmount-podman.json" 2>>"$guard_work/seccomp.err"
expect_eq "guard: nbmount seccomp writes podman's profile: ioctl allowed only under one masked condition per rule, the three denied" \
        "0 69 3 0" \
        "$? $(jq '[.syscalls[] | select((.names | index("ioctl")) and .action == "SCMP_ACT_ALLOW" and (.args | length) == 1 and .args[0].op == "SCMP_CMP_MASKED_EQ" and .args[0].value < 4294967296)] | length' "$guard_work/nbmount-podman.json") $(jq '[.syscalls[] | select((.names | index("ioctl")) and .action == "SCMP_ACT_ERRNO" and .args[0].value == 4294967295)] | length' "$guard_work/nbmount-podman.json") $(jq '[.syscalls[] | select((.names | index("ioctl")) and (.args // [] | length) == 0 and .action != "SCMP_ACT_ERRNO")] | length' "$guard_work/nbmount-podman.json")"
"$NBMOUNT" seccomp --profile "$guard_work/old-ne.json" >/dev/null 2>"$guard_work/seccomp-ne.err"
expect_eq "guard: nbmount seccomp refuses a profile with conditions of its own on ioctl" \
        "2|nbmount: $guard_work/old-ne.json: syscalls[1] has conditions of its own on ioctl (args, includes, excludes or a denying action); nbmount seccomp rewrites only a profile that allows ioctl without condition" \
        "$?|$(cat "$guard_work/seccomp-ne.err")"

# set_seccomp FILE: $bundle's linux.seccomp is FILE's profile (its comment left out).
set_seccomp() {
        jq --slurpfile p "$1" '.linux.seccomp = ($p[0] | del(.comment))' "$bundle/config.json" >"$bundle/c" &&
                mv "$bundle/c" "$bundle/config.json"
}
# set_userns [PATH]: a user namespace for $bundle (container 0 is host 100000), or the one at PATH.
set_userns() {
        if [ -n "${1:-}" ]; then
                jq --arg p "$1" '.linux.namespaces += [{type: "user", path: $p}]' "$bundle/config.json" >"$bundle/c"
        else
                jq '.linux.namespaces += [{type: "user"}] | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
                    | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]' "$bundle/config.json" >"$bundle/c"
        fi
        mv "$bundle/c" "$bundle/config.json"
}
escape_line() { echo "nbmount: container $run_id (team acme, notebook nb1, user alice): /notebooks: the container could leave its quota project: $1; or run the container in a user namespace (quota.enforce is required)"; }
prjquota_line() { echo "nbmount: container $run_id (team acme, notebook nb1, user alice): /notebooks: $node/notebooks/acme/nb1: project quotas are not enabled on the filesystem mounted at $(findmnt -n -o TARGET -T "$node/notebooks/acme/nb1"); mount it with -o prjquota (ext4: mkfs.ext4 -O quota,project)"; }
FSA_DEFAULT_ALLOW="this kernel has file_setattr(2): linux.seccomp.defaultAction is SCMP_ACT_ALLOW, and a rule naming file_setattr(2) is dropped without a word by a runtime whose libseccomp does not know the name (libseccomp 2.5.4 does not): only a profile that denies by default stops it (nbmount seccomp writes one)"
EQ_PROBLEM="linux.seccomp.syscalls[0] (ioctl, SCMP_ACT_ERRNO, SCMP_CMP_EQ 1075599392) misses requests with bits above 31 set (the kernel reads bits 0-31 only); use SCMP_CMP_MASKED_EQ value 4294967295 valueTwo 1075599392 (see packaging/seccomp/nbmount-quota.json)"
# guard_start RUNTIME LABEL PROFILE|none|userns WANT: a uid-1000 start under the required node, with
# that guard; WANT is "escape:PROBLEM" (refused by the guard) or "prjquota" (let past it).
guard_start() {
        local rt=$1 label=$2 guard=$3 want=$4 expected
        new_bundle "$rt" --user 1000:1000 --identity acme nb1 alice --config "$required" --cmd 'echo started'
        case $guard in
        none) ;;
        userns) set_userns ;;
        *) set_seccomp "$guard" ;;
        esac
        run "$rt"
        if [ "$want" = prjquota ]; then expected=$(prjquota_line); else expected=$(escape_line "${want#escape:}"); fi
        expect_refused_exactly "$rt: guard: $label" "$rt" "$expected"
}
for rt in runc crun; do
        guard_start $rt "no seccomp profile, no user namespace: refused" none \
                "escape:config.json has no linux.seccomp profile, so nothing stops chattr -p or chattr -P; add the rules of packaging/seccomp/nbmount-quota.json to linux.seccomp (runc, crun), or use the profile nbmount seccomp writes (podman, CRI-O)"
        guard_start $rt "the old SCMP_CMP_EQ rule: refused, naming the rule and the fix" "$guard_work/old-eq.json" "escape:$EQ_PROBLEM"
        guard_start $rt "the old SCMP_CMP_NE recipe: refused" "$guard_work/old-ne.json" \
                "escape:linux.seccomp.syscalls[1] (ioctl, SCMP_ACT_ALLOW, SCMP_CMP_NE 1075599392) lets FS_IOC_FSSETXATTR (0x401c5820, chattr -p) through when bits above 31 of the request are set (the kernel reads bits 0-31 only); allow ioctl only through SCMP_CMP_MASKED_EQ conditions that ignore bits 32-63 and leave those requests out (nbmount seccomp writes such a profile)"
        guard_start $rt "the shipped rules without FS_IOC_SETFLAGS: refused" "$guard_work/no-setflags.json" \
                "escape:no rule of linux.seccomp (default action SCMP_ACT_ALLOW) denies FS_IOC_SETFLAGS (0x40086602, chattr -P); add the rules of packaging/seccomp/nbmount-quota.json (SCMP_CMP_MASKED_EQ value 4294967295 valueTwo 1074292226)"
        if [ $kernel_has_file_setattr = yes ]; then
                guard_start $rt "the shipped rules (allow by default) on a kernel with file_setattr: refused" "$shipped" "escape:$FSA_DEFAULT_ALLOW"
        else
                guard_start $rt "the shipped rules on a kernel without file_setattr: past the guard" "$shipped" prjquota
        fi
        guard_start $rt "the profile of nbmount seccomp --oci: past the guard" "$guard_work/nbmount-oci.json" prjquota
        guard_start $rt "a user namespace of its own: past the guard" userns prjquota
done

# podman with the stock profile, and with the one nbmount seccomp makes of it.
if [ -d "$work/podman/root" ]; then
        mkdir -p "$guard_work/hooks.d"
        jq --arg p "$NBMOUNT" --arg c "$required" '.hook.path = $p | .hook.args += ["--config", $c]' \
                "$hooks_json" >"$guard_work/hooks.d/nbmount.json"
        for profile in /usr/share/containers/seccomp.json "$guard_work/nbmount-podman.json"; do
                run_podman "$guard_work/hooks.d" 'echo started' --user 1000:1000 --security-opt "seccomp=$profile" \
                        --annotation io.nbmount.team=acme --annotation io.nbmount.notebook=nb1 --annotation io.nbmount.user=alice
                if [ "$profile" = /usr/share/containers/seccomp.json ]; then
                        expect_refused "podman: guard: the stock profile (ioctl allowed without condition): refused" podman \
                                "/notebooks: the container could leave its quota project: linux.seccomp.syscalls[" \
                                "(ioctl, SCMP_ACT_ALLOW) lets every ioctl request through, FS_IOC_FSSETXATTR (0x401c5820, chattr -p) among them"
                else
                        expect_refused "podman: guard: the profile of nbmount seccomp: past the guard" podman \
                                "/notebooks: $node/notebooks/acme/nb1: project quotas are not enabled"
                fi
        done
fi

# The escapes themselves, in plain containers: every way out, and what each profile answers.
vectors="fssetxattr fssetxattr-hi32 fssetxattr-hiall setflags setflags-hi32 setflags32 compat-setflags32 compat-setflags compat-fssetxattr file_setattr compat-file_setattr getflags fsgetxattr tcgets fionread"
escape_cmd="for v in $vectors; do projescape \$v /storage; done; projescape get /storage"
fsa_open="ok"
[ $kernel_has_file_setattr = yes ] || fsa_open="errno ENOSYS"
# expected_escapes IOCTL_RESULT FILE_SETATTR_RESULT FINAL: the output of escape_cmd when every
# escaping ioctl answers IOCTL_RESULT ("ok" or "errno EPERM") and file_setattr FILE_SETATTR_RESULT.
expected_escapes() {
        local v out="" result
        for v in $vectors; do
                case $v in
                file_setattr | compat-file_setattr) result=$2 ;;
                getflags | fsgetxattr | fionread) result=ok ;;
                tcgets) result="errno ENOTTY" ;; # stdin is no terminal: the tty layer answers, not seccomp
                setflags32) [ "$1" = ok ] && result="errno ENOTTY" || result=$1 ;; # a 32-bit number, 64-bit call
                *) result=$1 ;;
                esac
                out+="$v: $result|"
        done
        echo "$out$3"
}
xfs_img=$guard_work/xfs.img xfs_dir=$guard_work/xfs
mkdir -p "$xfs_dir"
if [ -n "$guard_tools" ] && truncate -s 320M "$xfs_img" && mkfs.xfs -q -f "$xfs_img" &&
        mount -o loop "$xfs_img" "$xfs_dir" 2>"$guard_work/loop.err"; then
        team_dir=$xfs_dir/team
        mkdir "$team_dir" && chown 1000:1000 "$team_dir"
        cp "$guard_work/projescape" "$work/rootfs.base/bin/projescape"
        reset_team() { xfs_io -c "chproj 10000" -c "chattr +P" "$team_dir"; }
        # escapes RUNTIME LABEL PROFILE|none WANT: a uid-1000 container without the hook.
        escapes() {
                local rt=$1 label=$2 profile=$3 want=$4
                reset_team
                if [ "$rt" = podman ]; then
                        local -a opt=()
                        [ "$profile" != none ] && opt=(--security-opt "seccomp=$profile")
                        run_podman "" "$escape_cmd" --user 1000:1000 "${opt[@]}" -v "$team_dir:/storage" \
                                -v "$guard_work/projescape:/bin/projescape:ro"
                else
                        new_bundle "$rt" --user 1000:1000 --cmd "$escape_cmd"
                        [ "$profile" != none ] && set_seccomp "$profile"
                        jq --arg s "$team_dir" '.mounts += [{destination: "/storage", type: "bind", source: $s, options: ["rbind", "rw"]}]' \
                                "$bundle/config.json" >"$bundle/c" && mv "$bundle/c" "$bundle/config.json"
                        run "$rt"
                fi
                expect_eq "$rt: escapes: $label" "0|$want" "$run_rc|$(oneline "$run_out")"
        }
        for rt in runc crun; do
                escapes $rt "without seccomp, every way out works (project 0, PROJINHERIT cleared)" none \
                        "$(expected_escapes ok "$fsa_open" "projid=0 inherit=0")"
                escapes $rt "the shipped rules: every ioctl, with high bits or from 32-bit code, fails with EPERM; file_setattr is not stopped (its rule is dropped)" \
                        "$shipped" "$(expected_escapes "errno EPERM" "$fsa_open" "$([ $kernel_has_file_setattr = yes ] && echo "projid=0 inherit=0" || echo "projid=10000 inherit=1")")"
                escapes $rt "the profile of nbmount seccomp --oci: each fails (EPERM; file_setattr the default's ENOSYS), ordinary ioctls work" \
                        "$guard_work/nbmount-oci.json" "$(expected_escapes "errno EPERM" "errno ENOSYS" "projid=10000 inherit=1")"
        done
        # (it lists no architecture: the 32-bit calls are killed, SIGSYS, and print nothing)
        escapes runc "the old SCMP_CMP_EQ rule: the plain request fails, the same with bit 32 set does not" "$guard_work/old-eq.json" \
                "$(expected_escapes ok "$fsa_open" "projid=0 inherit=0" | sed 's/^fssetxattr: ok/fssetxattr: errno EPERM/; s/compat-[^|]*|//g')"
        if [ -d "$work/podman/root" ]; then
                escapes podman "the stock profile: every ioctl way out works" /usr/share/containers/seccomp.json \
                        "$(expected_escapes ok "errno ENOSYS" "projid=0 inherit=0")"
                escapes podman "the profile of nbmount seccomp: each fails, ordinary ioctls work" "$guard_work/nbmount-podman.json" \
                        "$(expected_escapes "errno EPERM" "errno ENOSYS" "projid=10000 inherit=1")"
        fi
        umount "$xfs_dir"
else
        not_ok "guard: harness: XFS on a loop device" "$(cat "$guard_work/loop.err" 2>/dev/null)"
fi
rm -f "$xfs_img"

# --- the container's process: the state's pid is held and checked ---------------------------------
# hook_direct BUNDLE PID CONFIG: the hook called as a runtime would, on a process we made.
hook_direct() {
        printf '{"ociVersion": "1.0.2", "id": "direct-%s", "pid": %s, "bundle": "%s", "status": "creating"}' "$2" "$2" "$1" |
                "$NBMOUNT" hook createRuntime --config "$3" >"$work/out/direct.out" 2>"$work/out/direct.err"
        direct_rc=$?
        direct_err=$(cat "$work/out/direct.err")
}
# A process whose mount namespace has another folder where the bundle's root is (what a pid reused
# by another process would show): nothing is mounted there, the start is refused.
new_bundle runc --identity acme nb1 alice --config "$config"
other_root=$work/out/other-root
mkdir -p "$other_root"
unshare -m --propagation private sh -c 'mount --bind "$1" "$2" && exec sleep 60' sh "$other_root" "$bundle/rootfs" &
sleeper=$!
for _ in $(seq 50); do grep -q " $bundle/rootfs " /proc/$sleeper/mountinfo 2>/dev/null && break; sleep 0.1; done
take_snapshots
hook_direct "$bundle" $sleeper "$config"
expect_eq "process: a pid whose mount namespace has another folder at the bundle's root is refused, nothing mounted there" \
        "1|nbmount: container direct-$sleeper (team acme, notebook nb1, user alice): the mount namespace of process $sleeper has another folder at $bundle/rootfs than the bundle's root: it is not this container's (did its process end, and another get its pid?); nothing was mounted|0|" \
        "$direct_rc|$direct_err|$(grep -c -F " $bundle/rootfs/" /proc/$sleeper/mountinfo)|$(ls -A "$other_root")"
kill $sleeper 2>/dev/null
wait $sleeper 2>/dev/null
expect_host_unchanged "process: another folder at the bundle's root"
# A pid that is gone by the time the hook runs.
sleep 0.01 &
gone=$!
wait $gone
hook_direct "$bundle" $gone "$config"
expect_eq "process: a pid that is gone is refused" \
        "1|nbmount: container direct-$gone: process $gone of the OCI state: No such process; is the container still there?" \
        "$direct_rc|$direct_err"
# The init of another, running container (its root is not this bundle's).
new_bundle runc --cmd 'sleep 60'
other_bundle=$bundle
runc --root "$work/state/runc" run -d --bundle "$other_bundle" "nbt-$$-other" </dev/null >/dev/null 2>"$work/out/other.err"
other_pid=$(runc --root "$work/state/runc" state "nbt-$$-other" 2>/dev/null | jq -r .pid)
new_bundle runc --identity acme nb1 alice --config "$config"
take_snapshots
hook_direct "$bundle" "${other_pid:-0}" "$config"
expect_eq "process: the pid of another container is refused" \
        "1|nbmount: container direct-$other_pid (team acme, notebook nb1, user alice): the container's root $bundle/rootfs: No such file or directory" \
        "$direct_rc|$direct_err"
runc --root "$work/state/runc" delete -f "nbt-$$-other" >/dev/null 2>&1
expect_host_unchanged "process: the pid of another container"

# A user namespace joined by path counts only when it is not nbmount's own: runc and crun cannot join
# their own (setns: EINVAL), so the hook is called directly, on a process in the host's user
# namespace whose config.json names that namespace by path.
unshare -m --propagation private sleep 60 &
sleeper=$!
sleep 0.2
new_bundle runc --user 1000:1000 --identity acme nb1 alice --config "$required"
set_userns "/proc/$sleeper/ns/user"
hook_direct "$bundle" $sleeper "$required"
expect_eq "process: a user namespace joined by path to the host's is no guard" \
        "1|nbmount: container direct-$sleeper (team acme, notebook nb1, user alice): /notebooks: the container could leave its quota project: config.json names a user namespace, but the container's is nbmount's own (joined by path?): config.json has no linux.seccomp profile, so nothing stops chattr -p or chattr -P; add the rules of packaging/seccomp/nbmount-quota.json to linux.seccomp (runc, crun), or use the profile nbmount seccomp writes (podman, CRI-O); or run the container in a user namespace (quota.enforce is required)" \
        "$direct_rc|$direct_err"
kill $sleeper 2>/dev/null
wait $sleeper 2>/dev/null

# --- a lease on settings.yaml --------------------------------------------------------------------
# The notebook's user owns settings.yaml and may hold a write lease on it (from a running container
# of the notebook): an open for reading would wait until the lease breaks (45 s). The hook refuses
# at once instead.
if [ -n "$guard_tools" ]; then
        chown 1000:1000 "$settings"
        setpriv --reuid 1000 --regid 1000 --clear-groups "$guard_work/lease" "$settings" >"$guard_work/lease.out" 2>&1 &
        leaser=$!
        for _ in $(seq 50); do grep -q leased "$guard_work/lease.out" && break; sleep 0.1; done
        for rt in runc crun; do
                new_bundle $rt --cmd 'echo started' --identity acme nb1 alice --config "$config"
                lease_start=$SECONDS
                BB_TIMEOUT=40 run $rt
                expect_refused_exactly "$rt: settings.yaml under a lease of its owner: refused at once, with the reason" $rt \
                        "nbmount: container $run_id (team acme, notebook nb1, user alice): $settings: another process holds a lease on it (fcntl F_SETLEASE: a running container of this notebook?), and nbmount does not wait for a lease to break; release it, or stop that process, and start again"
                expect_eq "$rt: settings.yaml under a lease: answered within 5 s" yes \
                        "$( ((SECONDS - lease_start <= 5)) && echo yes || echo "no: $((SECONDS - lease_start)) s")"
        done
        kill $leaser 2>/dev/null
        wait $leaser 2>/dev/null
        chown 0:0 "$settings"
fi
exit 0
