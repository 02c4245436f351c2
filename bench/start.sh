#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Container start time with runc, side by side in one hyperfine run per size:
#   none     the container without any of the mounts
#   native   the same bind mounts declared in config.json: runc does them
#   pre      the same mounts done by `nbmount hook createRuntime` as built from PRE (default
#            786a44d, the last commit before the settings sandbox and the hook's own hardening)
#   hook     the same mounts done by this tree's `nbmount hook createRuntime`
# for 6 mounts (/notebooks, /storage, 4 datasets) and 16, 64 and 256 dataset mounts (plus
# /notebooks and /storage). Then each hook's own wall time alone, exec included, measured around it
# inside runc's own call of the hook, the two hooks' starts alternating.
#
# The node is the sample node (tests/lib/sample-node.sh) with quota.enforce: best-effort. With the
# sample's `required`, a host whose kernel has no project quotas (this project's machines: see
# /work/shared/TESTBED.md) refuses every start; best-effort sets the quota where the filesystem
# has project quotas and starts without where it has not, and mounts the same either way.
#
# Usage: [PRE=REV] bench/start.sh [RUNS] (default 40). Root; needs runc, busybox-static, hyperfine,
# jq and git history holding PRE. Any failed start stops it, nonzero, with runc's message.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-40}
pre_rev=${PRE:-786a44d}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench/start.sh [RUNS]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench/start.sh: needs root (runc, mounts)" >&2; exit 1; }
command -v hyperfine >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
./setup.sh >/dev/null
make -s all
nbmount=$PWD/build/nbmount
. tests/lib/sample-node.sh
for tool in runc busybox jq hyperfine git; do
        command -v $tool >/dev/null || { echo "bench/start.sh: $tool is not installed (run ./setup.sh)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/nbmount-bench-start.XXXXXX)
cleanup() {
        for id in $(runc list -q 2>/dev/null | grep '^nbbench-' || true); do runc delete -f "$id" >/dev/null 2>&1 || true; done
        rm -rf "$work"
}
trap cleanup EXIT

# The hook as it was before the sandbox, built from git archive in its own folder.
git rev-parse --verify -q "$pre_rev^{commit}" >/dev/null ||
        { echo "bench/start.sh: no commit $pre_rev in this clone's history (PRE=REV names another)" >&2; exit 1; }
mkdir "$work/pre-src"
git archive "$pre_rev" | tar -x -C "$work/pre-src"
make -s -C "$work/pre-src" build/nbmount >"$work/pre-build.log" 2>&1 ||
        { cat "$work/pre-build.log" >&2; echo "bench/start.sh: cannot build $pre_rev" >&2; exit 1; }
pre_nbmount=$work/pre-src/build/nbmount

make_sample_node "$work/node"
node=$work/node
sed -i 's|^quota: .*|quota: {enforce: best-effort}|' "$node/node.yaml"
mkdir -p "$work/rootfs/bin"
cp "$(command -v busybox)" "$work/rootfs/bin/busybox"
ln -s busybox "$work/rootfs/bin/true"
(cd "$work" && runc spec && mv config.json spec.json)

# settings.yaml with the dataset mounts of a case: 4 for "6 mounts", else N.
write_settings() {
        local n=$1 i
        for i in $(seq 1 "$n"); do
                mkdir -p "$node/datasets/ds$i/v1"
                printf 'set%d:\n  type: dataset\n  id: ds%d\n  version: v1\n' "$i" "$i"
        done >"$node/notebooks/acme/nb1/.gradient/settings.yaml"
        jq --argjson n "$n" '.datasets = [range(1; $n + 1) | {name: "set\(.)", id: "ds\(.)", versions: ["v1"], latest: "v1"}]' \
                "$node/grants/acme.json" >"$work/grants.json" && mv "$work/grants.json" "$node/grants/acme.json"
}

# make_bundle NAME KIND N [NBMOUNT]: a bundle whose config.json has no mount, native mounts, or the hook.
make_bundle() {
        local dir=$work/$1 kind=$2 n=$3 program=${4:-$nbmount}
        mkdir -p "$dir"
        cp -a "$work/rootfs" "$dir/rootfs"
        jq --arg kind "$kind" --argjson n "$n" --arg node "$node" --arg nbmount "$program" '
                .process.terminal = false | .process.args = ["true"] | del(.linux.resources)
                | .annotations = {"io.nbmount.team": "acme", "io.nbmount.notebook": "nb1", "io.nbmount.user": "alice"}
                | if $kind == "native" then .mounts += (
                        [{destination: "/notebooks", type: "bind", source: "\($node)/notebooks/acme/nb1",
                          options: ["bind", "nosuid", "nodev"]},
                         {destination: "/storage", type: "bind", source: "\($node)/storage/east-1/acme",
                          options: ["bind", "nosuid", "nodev"]}]
                        + [range(1; $n + 1) | {destination: "/datasets/set\(.)", type: "bind",
                          source: "\($node)/datasets/ds\(.)/v1", options: ["bind", "ro", "nosuid", "nodev"]}])
                  elif $kind == "hook" then .hooks = {createRuntime: [{path: $nbmount,
                          args: ["nbmount", "hook", "createRuntime", "--config", "\($node)/node.yaml"]}]}
                  else . end' "$work/spec.json" >"$dir/config.json"
}

median_ms() { jq -r --arg name "$2" '.results[] | select(.command == $name) | .median * 1000' "$1"; }

# timed_bundle NAME N NBMOUNT LOG: a bundle whose hook is a bash wrapper that takes $EPOCHREALTIME
# (no fork) around the exec of NBMOUNT and appends "start end rc" to LOG.
timed_bundle() {
        local name=$1 n=$2 program=$3 log=$4
        rm -rf "${work:?}/$name" && make_bundle "$name" none "$n"
        jq --arg nbmount "$program" --arg node "$node" --arg log "$log" '.hooks = {createRuntime: [{path: "/bin/bash",
                args: ["bash", "-c", "s=$EPOCHREALTIME; \"$0\" \"$@\"; rc=$?; echo \"$s $EPOCHREALTIME $rc\" >>\($log); exit $rc",
                       $nbmount, "hook", "createRuntime", "--config", "\($node)/node.yaml"]}]}' \
                "$work/$name/config.json" >"$work/$name/config.timed" && mv "$work/$name/config.timed" "$work/$name/config.json"
}

# run_alone NAME: one start of a timed bundle; a failed one stops the benchmark with runc's message.
run_alone() {
        runc run --bundle "$work/$1" "nbbench-$1" </dev/null >/dev/null 2>"$work/alone.err" ||
                { echo "bench/start.sh: hook alone ($1): runc run failed: $(cat "$work/alone.err")" >&2; exit 1; }
}

# median_log LOG: the median of (end - start) in ms, after checking that every hook exited 0.
median_log() {
        awk '$3 != 0 {exit 1}' "$1" || { echo "bench/start.sh: a timed hook exited nonzero ($1)" >&2; exit 1; }
        awk '{print ($2 - $1) * 1000}' "$1" | sort -n |
                awk '{a[NR] = $1} END {printf "%.2f", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

# why_failed MOUNTS: hyperfine names no cause; one more start of each bundle shows runc's (the hook's).
why_failed() {
        local kind
        for kind in none native pre hook; do
                runc run --bundle "$work/$kind" nbbench-why </dev/null >/dev/null 2>"$work/why.err" ||
                        echo "bench/start.sh: $kind at $1 mounts: runc run failed: $(cat "$work/why.err")" >&2
                runc delete -f nbbench-why >/dev/null 2>&1 || true
        done
}

echo "Command: bench/start.sh $runs; $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- || echo +changes) against pre $(git rev-parse --short "$pre_rev"); $(runc --version | head -1); kernel $(uname -r); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%F %H:%M UTC')"
echo
printf '| mounts | none | native | pre | hook | hook − native | pre ÷ native | hook ÷ native | pre alone | hook alone | hook ÷ pre alone |\n'
printf '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
for datasets in 4 16 64 256; do
        write_settings "$datasets"
        for kind in none native; do
                rm -rf "${work:?}/$kind"
                make_bundle "$kind" "$kind" "$datasets"
        done
        rm -rf "$work/hook" "$work/pre"
        make_bundle hook hook "$datasets" "$nbmount"
        make_bundle pre hook "$datasets" "$pre_nbmount"
        hyperfine -N --warmup 10 --runs "$runs" --export-json "$work/result.json" \
                -n none "runc run --bundle $work/none nbbench-none" \
                -n native "runc run --bundle $work/native nbbench-native" \
                -n pre "runc run --bundle $work/pre nbbench-pre" \
                -n hook "runc run --bundle $work/hook nbbench-hook" >"$work/hyperfine.log" 2>&1 ||
                { cat "$work/hyperfine.log" >&2; why_failed "$((datasets + 2))"; exit 1; }
        none=$(median_ms "$work/result.json" none)
        native=$(median_ms "$work/result.json" native)
        pre=$(median_ms "$work/result.json" pre)
        hook=$(median_ms "$work/result.json" hook)
        : >"$work/pre.log" && : >"$work/hook.log"
        timed_bundle alone-pre "$datasets" "$pre_nbmount" "$work/pre.log"
        timed_bundle alone-hook "$datasets" "$nbmount" "$work/hook.log"
        for i in $(seq 1 "$runs"); do
                if ((i % 2)); then run_alone alone-pre; run_alone alone-hook; else run_alone alone-hook; run_alone alone-pre; fi
        done
        pre_alone=$(median_log "$work/pre.log")
        hook_alone=$(median_log "$work/hook.log")
        awk -v m=$((datasets + 2)) -v none="$none" -v native="$native" -v pre="$pre" -v hook="$hook" \
                -v pa="$pre_alone" -v ha="$hook_alone" 'BEGIN {
                printf "| %d | %.1f ms | %.1f ms | %.1f ms | %.1f ms | %+.1f ms | %.3f× | %.3f× | %.2f ms | %.2f ms | %.2f× |\n",
                        m, none, native, pre, hook, hook - native, pre / native, hook / native, pa, ha, ha / pa }'
done
