#!/bin/bash
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

ok() { echo "ok - hook $1"; }
oneline() { printf '%s' "$1" | tr '\n' '|'; }
not_ok() { printf 'not ok - hook %s: %s\n' "$1" "$(oneline "$2" | head -c 4000)"; }

# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
        if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected «$(oneline "$2")», got «$(oneline "$3")»"; fi
}
# expect_ne NAME UNEXPECTED ACTUAL
expect_ne() {
        if [ "$2" != "$3" ]; then ok "$1"; else not_ok "$1" "got «$(oneline "$3")»"; fi
}

for tool in runc crun podman busybox jq cc unshare; do
        if ! command -v $tool >/dev/null; then
                not_ok "prerequisites" "$tool is not installed"
                exit 0
        fi
done
if [ "$(id -u)" != 0 ]; then
        not_ok "prerequisites" "the runtime tests need root"
        exit 0
fi

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
host_files_all() {
        files_snapshot --prune "$work/b" --prune "$work/out" --prune "$work/state" --prune "$work/podman" \
                --prune "$work/rootfs.base" "$work"
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
exit 0
