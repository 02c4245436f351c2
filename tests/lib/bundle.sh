# SPDX-License-Identifier: Apache-2.0
# OCI bundles and real container runtimes (runc, crun, podman) for the hook tests.
# Sourced: `. tests/lib/bundle.sh`, then `bundle_init WORK_DIR NBMOUNT` once, as root.
#
#   bundle_start NAME NBMOUNT     bundle_init in a fresh $work, cleaned up at exit
#   make_bundle DIR [options]     a runc-spec-shaped bundle with its own copy of the busybox rootfs
#   run_runc DIR / run_crun DIR   run it to the end (BB_TIMEOUT seconds at most, default 60) with
#                                 runc (BB_RUNC, default runc) or crun (BB_CRUN, default crun); sets
#                                 run_id, run_rc (124: timed out), run_out, run_err (and
#                                 run_hook_err for crun, see below)
#   podman_init / run_podman      podman with a private storage under WORK_DIR
#   mount_table_snapshot [PID]    the mount table without its volatile ids, sorted
#   files_snapshot [opts] PATH... path, type, mode, owner, size, mtime, link target of a tree, sorted
#   bundle_cleanup                every container, podman storage and leftover mount of WORK_DIR
#   new_bundle [options]          make_bundle in a fresh WORK_DIR/b/N (N counts in $bundle_no); its
#                                 path in $bundle
#   edit_config JQ_FILTER         edits $bundle/config.json
#   with_seccomp [RULE_FILE]      RULE_FILE's syscalls (default $SECCOMP) added to $bundle's
#                                 linux.seccomp, or RULE_FILE (less its comment) as its profile
#   with_userns                   a user namespace: container ids 0-65535 are host ids 100000-165535
#   started                       the last run exited 0 and printed a line "started"
#   start_bg NAME TEAM CMD        a container of TEAM (notebook nb1, user alice, uid 1000) with the
#                                 hook of node BB_CONFIG, run in the background in WORK_DIR/b-NAME;
#                                 its exit code lands in out/NAME.rc, its output in out/NAME.out, .err
#   wait_rc NAME                  waits for it (BB_WAIT seconds at most, default 60), prints its
#                                 exit code ("none" if it did not end)
#   out_of NAME, hook_line_of NAME   its output; the hook's "nbmount: ..." line from runc's error
#   in_container NAME             it has printed its "ready" line
#
# Layout of WORK_DIR: rootfs.base/ (busybox), spec.json (`runc spec`), state/{runc,crun} (the
# runtimes' --root, so that cleanup can list exactly our containers), out/ (captured output),
# podman/ (podman's --root, --runroot and --tmpdir).

bundle_no=0
BB_APPLETS=(sh cat ls echo touch stat mkdir grep readlink sleep df mount wc head id true false test '[')
BB_SEQ=0

# bundle_start NAME NBMOUNT: a fresh work dir /tmp/nbmount-NAME.XXXXXX in $work, bundle_init in it,
# and bundle_cleanup at exit; a harness that cannot start is one failure with its cause, and the
# suite ends there.
bundle_start() {
        work=$(mktemp -d "/tmp/nbmount-$1.XXXXXX")
        trap bundle_cleanup EXIT
        trap 'echo "# interrupted"; exit 1' INT TERM
        if ! bundle_init "$work" "$2" >"$work/init.log" 2>&1; then
                not_ok "harness: bundle_init" "$(cat "$work/init.log")"
                exit 0
        fi
}

# bundle_init WORK_DIR NBMOUNT: the busybox rootfs and the runc spec, once per run.
bundle_init() {
        BB_WORK=$1
        BB_NBMOUNT=$2
        mkdir -p "$BB_WORK"/{rootfs.base/bin,state/runc,state/crun,out}
        local busybox applet
        busybox=$(command -v busybox) || { echo "bundle_init: busybox is not installed (busybox-static)" >&2; return 1; }
        cp "$busybox" "$BB_WORK/rootfs.base/bin/busybox"
        for applet in "${BB_APPLETS[@]}"; do ln -s busybox "$BB_WORK/rootfs.base/bin/$applet"; done
        mkdir -p "$BB_WORK"/rootfs.base/{proc,dev,sys,tmp,etc}
        echo 'root:x:0:0:root:/:/bin/sh' >"$BB_WORK/rootfs.base/etc/passwd"
        (cd "$BB_WORK/state" && runc spec && mv config.json ../spec.json) || return 1
}

# make_bundle DIR [options]: writes DIR/config.json (runc spec, edited) and DIR/rootfs (a copy).
#   --cmd CMD                 process.args = ["sh", "-c", CMD] (default: true)
#   --user UID:GID            process.user
#   --annotation KEY=VALUE    repeatable
#   --identity TEAM NB USER   the three io.nbmount.* annotations
#   --config NODE_YAML        nbmount hooks with --config NODE_YAML: createRuntime and poststop,
#                             unless --hook is given
#   --hook STAGE              repeatable: one entry [nbmount hook STAGE --config NODE_YAML] under
#                             hooks.STAGE (give createRuntime twice to get two entries)
#   --hook-json STAGE JSON    repeatable: one raw hook entry under hooks.STAGE
#   --crun                    linux.resources removed (crun cannot apply them here, see TESTBED.md),
#                             and the annotation run.oci.hooks.stderr set (see run_crun)
#   --no-rootfs               no rootfs copy (the caller lays it out)
make_bundle() {
        local dir=$1 cmd=true user="" config="" crun=0 rootfs=1
        local -a annotations=() stages=() raw=()
        shift
        while (($#)); do
                case $1 in
                --cmd) cmd=$2; shift 2 ;;
                --user) user=$2; shift 2 ;;
                --annotation) annotations+=("$2"); shift 2 ;;
                --identity)
                        annotations+=("io.nbmount.team=$2" "io.nbmount.notebook=$3" "io.nbmount.user=$4")
                        shift 4 ;;
                --config) config=$2; shift 2 ;;
                --hook) stages+=("$2"); shift 2 ;;
                --hook-json) raw+=("$2" "$3"); shift 3 ;;
                --crun) crun=1; shift ;;
                --no-rootfs) rootfs=0; shift ;;
                *) echo "make_bundle: unknown option $1" >&2; return 2 ;;
                esac
        done
        mkdir -p "$dir"
        if ((rootfs)); then
                rm -rf "$dir/rootfs"
                cp -a "$BB_WORK/rootfs.base" "$dir/rootfs"
        fi
        [ -n "$config" ] && ((${#stages[@]} == 0)) && stages=(createRuntime poststop)
        local hooks='{}' annotation_json='{}' kv stage i
        for kv in "${annotations[@]}"; do
                annotation_json=$(jq -c --arg k "${kv%%=*}" --arg v "${kv#*=}" '.[$k] = $v' <<<"$annotation_json")
        done
        for stage in "${stages[@]}"; do
                hooks=$(jq -c --arg s "$stage" --arg p "$BB_NBMOUNT" --arg c "$config" \
                        '.[$s] += [{path: $p, args: ["nbmount", "hook", $s, "--config", $c]}]' <<<"$hooks")
        done
        for ((i = 0; i < ${#raw[@]}; i += 2)); do
                hooks=$(jq -c --arg s "${raw[i]}" --argjson h "${raw[i + 1]}" '.[$s] += [$h]' <<<"$hooks")
        done
        jq --arg cmd "$cmd" --arg user "$user" --argjson ann "$annotation_json" --argjson hooks "$hooks" \
                --argjson crun "$crun" --arg hookerr "$(_crun_hook_err_file "$dir")" '
                .process.terminal = false
                | .process.args = ["sh", "-c", $cmd]
                | .root.path = "rootfs"
                | (if $user != "" then .process.user = {uid: ($user | split(":")[0] | tonumber),
                                                       gid: ($user | split(":")[1] | tonumber)} else . end)
                | (if ($ann | length) > 0 then .annotations = $ann else . end)
                | (if ($hooks | length) > 0 then .hooks = $hooks else . end)
                | (if $crun == 1 then del(.linux.resources)
                   | .annotations["run.oci.hooks.stderr"] = $hookerr else . end)' \
                "$BB_WORK/spec.json" >"$dir/config.json"
}

# _crun_hook_err_file BUNDLE_DIR: where crun writes the hooks' stderr for that bundle.
_crun_hook_err_file() { local d; d=$(realpath -m "$1"); echo "$BB_WORK/out/crun-hook-stderr${d//\//_}"; }

# _run_begin [ID]: sets run_id (ID, or a fresh container id) and the output files.
_run_begin() {
        BB_SEQ=$((BB_SEQ + 1))
        run_id=${1:-nbt-$$-$BB_SEQ}
        run_out_file=$BB_WORK/out/$run_id.out
        run_err_file=$BB_WORK/out/$run_id.err
        run_hook_err_file=/dev/null
}
_run_end() {
        run_out=$(cat "$run_out_file")
        run_err=$(cat "$run_err_file")
        run_hook_err=$(cat "$run_hook_err_file" 2>/dev/null)
}

# run_runc DIR [ID]: `runc run` to the end (BB_TIMEOUT seconds at most, default 60); the container is
# deleted afterwards.
# runc shows a failed hook's stderr in its own error line:
#   ... error running hook #0: error running hook: exit status 1, stdout: , stderr: nbmount: ...\n"
run_runc() {
        _run_begin "${2:-}"
        timeout -k 5 "${BB_TIMEOUT:-60}" "${BB_RUNC:-runc}" --root "$BB_WORK/state/runc" run --bundle "$1" "$run_id" \
                </dev/null >"$run_out_file" 2>"$run_err_file"
        run_rc=$?
        runc --root "$BB_WORK/state/runc" delete -f "$run_id" >/dev/null 2>&1
        _run_end
}

# run_crun DIR: crun refuses this host's hybrid cgroup layout, so it runs in a private mount
# namespace with a pure cgroup2 mount (TESTBED.md); the bundle must come from make_bundle --crun.
# crun does not show a hook's stderr (only "error executing hook `PATH` (exit code: N)"): it
# writes it to the file named by the annotation run.oci.hooks.stderr, which make_bundle --crun
# sets (to a file under WORK_DIR/out) and run_crun reads into run_hook_err.
run_crun() {
        _run_begin "${2:-}"
        run_hook_err_file=$(_crun_hook_err_file "$1")
        rm -f "$run_hook_err_file"
        timeout -k 5 "${BB_TIMEOUT:-60}" unshare -m --propagation private sh -c \
                'umount -R /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && exec "$4" --root "$1" run --bundle "$2" "$3"' \
                sh "$BB_WORK/state/crun" "$1" "$run_id" "${BB_CRUN:-crun}" </dev/null >"$run_out_file" 2>"$run_err_file"
        run_rc=$?
        crun --root "$BB_WORK/state/crun" delete -f "$run_id" >/dev/null 2>&1
        _run_end
}

# podman with everything under WORK_DIR/podman. What works here (podman 4.3, Debian 12):
# --root/--runroot/--tmpdir keep its images, containers and state out of /var/lib/containers
# and /run/libpod; --cgroup-manager cgroupfs and --events-backend file because there is no
# systemd/journald to talk to; --runtime runc because crun refuses the hybrid cgroup layout;
# `run` needs --network=none (no netavark/CNI setup) and the two --ulimit flags (the hard limits
# of this machine are too low for podman's defaults). The image is the busybox rootfs imported
# as localhost/nbmount-bb:1. podman runs hooks.d hooks itself for poststop (cwd = its own, the
# state without pid), and passes createRuntime to runc through config.json.
podman_cmd() {
        podman --root "$BB_WORK/podman/root" --runroot "$BB_WORK/podman/runroot" \
                --tmpdir "$BB_WORK/podman/tmp" --runtime runc --cgroup-manager cgroupfs \
                --events-backend file "$@"
}
podman_init() {
        mkdir -p "$BB_WORK/podman"
        tar -C "$BB_WORK/rootfs.base" -cf "$BB_WORK/podman/bb.tar" . &&
                podman_cmd import "$BB_WORK/podman/bb.tar" localhost/nbmount-bb:1 >/dev/null 2>"$BB_WORK/podman/import.err"
}
# run_podman HOOKS_DIR CMD [podman run options...]: `podman run --rm` of sh -c CMD.
run_podman() {
        _run_begin
        local hooks_dir=$1 cmd=$2
        shift 2
        local -a hooks=()
        [ -n "$hooks_dir" ] && hooks=(--hooks-dir "$hooks_dir")
        timeout -k 5 90 podman --root "$BB_WORK/podman/root" --runroot "$BB_WORK/podman/runroot" \
                --tmpdir "$BB_WORK/podman/tmp" --runtime runc --cgroup-manager cgroupfs \
                --events-backend file "${hooks[@]}" run --rm --name "$run_id" --network=none \
                --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$@" localhost/nbmount-bb:1 sh -c "$cmd" \
                </dev/null >"$run_out_file" 2>"$run_err_file"
        run_rc=$?
        podman_cmd rm -f "$run_id" >/dev/null 2>&1
        _run_end
}

# mount_table_snapshot [PID]: one line per mount: mount point, fs type, source, root inside the
# source fs, mount options, super options; without the mount ids, parent ids, device numbers and
# propagation peer groups, which change from run to run. Sorted.
# podman's own storage (overlay's bind of its root onto itself, which podman makes and drops as
# it likes) is left out: it is the runtime's, not the hook's.
mount_table_snapshot() {
        awk -v podman="${BB_WORK:-/nonexistent}/podman/" '
                { for (i = 7; $i != "-"; i++) ; if (index($5, podman) == 1) next
                  print $5, $(i + 1), $(i + 2), $4, $6, $(i + 3) }' "/proc/${1:-self}/mountinfo" | sort
}

# files_snapshot [--maxdepth N] [--prune PATH]... PATH...: every file under PATH (symlinks not
# followed): path, type, mode, uid:gid, size, mtime, link target. Sorted.
files_snapshot() {
        local -a depth=() prune=()
        while (($#)); do
                case $1 in
                --maxdepth) depth=(-maxdepth "$2"); shift 2 ;;
                --prune) prune+=(-path "$2" -o); shift 2 ;;
                *) break ;;
                esac
        done
        if ((${#prune[@]})); then
                unset 'prune[${#prune[@]}-1]'
                find "$@" "${depth[@]}" \( "${prune[@]}" \) -prune -o -printf '%p %y %m %U:%G %s %T@ %l\n' 2>&1 | sort
        else
                find "$@" "${depth[@]}" -printf '%p %y %m %U:%G %s %T@ %l\n' 2>&1 | sort
        fi
}

# bundle_cleanup: deletes our runc/crun containers and podman containers and images, unmounts
# anything still mounted under WORK_DIR, then removes WORK_DIR without crossing into another
# file system (so a mount that a bug left there is never emptied).
bundle_cleanup() {
        [ -n "${BB_WORK:-}" ] && [ -d "$BB_WORK" ] || return 0
        local id mountpoint
        for id in $(runc --root "$BB_WORK/state/runc" list -q 2>/dev/null); do
                runc --root "$BB_WORK/state/runc" delete -f "$id" >/dev/null 2>&1
        done
        for id in $(crun --root "$BB_WORK/state/crun" list -q 2>/dev/null); do
                crun --root "$BB_WORK/state/crun" delete -f "$id" >/dev/null 2>&1
        done
        if [ -d "$BB_WORK/podman/root" ]; then
                podman_cmd rm -af -t 0 >/dev/null 2>&1
                podman_cmd rmi -af >/dev/null 2>&1
        fi
        # Deepest first; a mount point is unescaped (\040 is a space).
        awk -v w="$BB_WORK" '{ p = $5; gsub(/\\040/, " ", p); if (index(p, w "/") == 1) print p }' \
                /proc/self/mountinfo | sort -r | while IFS= read -r mountpoint; do
                umount -l "$mountpoint" 2>/dev/null
        done
        rm -rf --one-file-system "$BB_WORK" 2>/dev/null
        # The overlay layers podman made are owned by root; anything left is reported, not forced.
        [ -e "$BB_WORK" ] && echo "# bundle_cleanup: $BB_WORK could not be removed entirely" >&2
        return 0
}

new_bundle() {
        bundle_no=$((bundle_no + 1))
        bundle=$BB_WORK/b/$bundle_no
        make_bundle "$bundle" "$@"
}

edit_config() { jq "$1" "$bundle/config.json" >"$bundle/config.new" && mv "$bundle/config.new" "$bundle/config.json"; }

with_seccomp() {
        local rule=${1:-$SECCOMP}
        jq --slurpfile r "$rule" '.linux.seccomp = (if .linux.seccomp then .linux.seccomp | .syscalls += $r[0].syscalls
                                                   else $r[0] | del(.comment) end)' "$bundle/config.json" >"$bundle/config.new" &&
                mv "$bundle/config.new" "$bundle/config.json"
}

with_userns() {
        edit_config '.linux.namespaces += [{type: "user"}]
                | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
                | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
}

started() { [ "$run_rc" = 0 ] && grep -q '^started$' <<<"$run_out"; }

start_bg() {
        local name=$1 team=$2 cmd=$3
        make_bundle "$BB_WORK/b-$name" --identity "$team" nb1 alice --config "$BB_CONFIG" --user 1000:1000 \
                --cmd "$cmd" || return 1
        (run_runc "$BB_WORK/b-$name" "$name"; echo "$run_rc" >"$BB_WORK/out/$name.rc") &
}
wait_rc() {
        local i
        for ((i = 0; i < ${BB_WAIT:-60} * 10; i++)); do [ -s "$BB_WORK/out/$1.rc" ] && break; sleep 0.1; done
        cat "$BB_WORK/out/$1.rc" 2>/dev/null || echo none
}
out_of() { cat "$BB_WORK/out/$1.out" 2>/dev/null; }
hook_line_of() {
        sed -n 's/.*stderr: \(nbmount: .*\)$/\1/p' "$BB_WORK/out/$1.err" | head -1 | sed 's/\\n"*$//; s/\\"/"/g'
}
in_container() { grep -q '^ready' "$BB_WORK/out/$1.out" 2>/dev/null; }
