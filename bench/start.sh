#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Container start time with runc, three ways side by side in one hyperfine run per size:
#   none     the container without any of the mounts
#   native   the same bind mounts declared in config.json: runc does them
#   hook     the same mounts done by `nbmount hook createRuntime`
# for 6 mounts (/notebooks, /storage, 4 datasets) and 16, 64 and 256 dataset mounts
# (plus /notebooks and /storage). Then the hook's own wall time alone, exec included, measured
# around it inside runc's own call of the hook.
# Usage: bench/start.sh [RUNS] (default 40). Needs runc, busybox-static, hyperfine, jq.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-40}
command -v hyperfine >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
./setup.sh
make -s all
nbmount=$PWD/build/nbmount
. tests/lib/sample-node.sh

work=$(mktemp -d /tmp/nbmount-bench-start.XXXXXX)
cleanup() {
        for id in $(runc list -q 2>/dev/null | grep '^nbbench-' || true); do runc delete -f "$id" >/dev/null 2>&1 || true; done
        rm -rf "$work"
}
trap cleanup EXIT

make_sample_node "$work/node"
node=$work/node
mkdir -p "$work/rootfs/bin"
cp /bin/busybox "$work/rootfs/bin/busybox"
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

# make_bundle NAME KIND N: a bundle whose config.json has no mount, native mounts, or the hook.
make_bundle() {
        local dir=$work/$1 kind=$2 n=$3
        mkdir -p "$dir"
        cp -a "$work/rootfs" "$dir/rootfs"
        jq --arg kind "$kind" --argjson n "$n" --arg node "$node" --arg nbmount "$nbmount" '
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

# The hook alone: a bash wrapper as the hook takes $EPOCHREALTIME (no fork) around the exec of
# nbmount, in container starts of their own.
hook_alone_ms() {
        local bundle=$work/$1 log=$work/alone.log i
        : >"$log"
        jq --arg nbmount "$nbmount" --arg node "$node" --arg log "$log" '.hooks = {createRuntime: [{path: "/bin/bash",
                args: ["bash", "-c", "s=$EPOCHREALTIME; \"$0\" \"$@\"; rc=$?; echo \"$s $EPOCHREALTIME\" >>\($log); exit $rc",
                       $nbmount, "hook", "createRuntime", "--config", "\($node)/node.yaml"]}]}' \
                "$bundle/config.json" >"$bundle/config.timed" && mv "$bundle/config.timed" "$bundle/config.json"
        for i in $(seq 1 "$runs"); do runc run --bundle "$bundle" nbbench-alone >/dev/null; done
        awk '{print ($2 - $1) * 1000}' "$log" | sort -n |
                awk '{a[NR] = $1} END {printf "%.2f", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

printf '| mounts | none | native | hook | hook − none | hook − native | hook ÷ native | hook alone |\n'
printf '| --- | --- | --- | --- | --- | --- | --- | --- |\n'
for datasets in 4 16 64 256; do
        write_settings "$datasets"
        for kind in none native hook; do
                rm -rf "$work/$kind"
                make_bundle "$kind" "$kind" "$datasets"
        done
        hyperfine -N --warmup 10 --runs "$runs" --export-json "$work/result.json" \
                -n none "runc run --bundle $work/none nbbench-none" \
                -n native "runc run --bundle $work/native nbbench-native" \
                -n hook "runc run --bundle $work/hook nbbench-hook" >"$work/hyperfine.log" 2>&1 ||
                { cat "$work/hyperfine.log"; exit 1; }
        none=$(median_ms "$work/result.json" none)
        native=$(median_ms "$work/result.json" native)
        hook=$(median_ms "$work/result.json" hook)
        rm -rf "$work/alone" && make_bundle alone none "$datasets"
        alone=$(hook_alone_ms alone)
        awk -v m=$((datasets + 2)) -v none="$none" -v native="$native" -v hook="$hook" -v alone="$alone" 'BEGIN {
                printf "| %d | %.1f ms | %.1f ms | %.1f ms | %+.1f ms | %+.1f ms | %.2f× | %.1f ms |\n",
                        m, none, native, hook, hook - none, hook - native, hook / native, alone }'
done
