#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# nbmount-runtime's own cost on `create` (issue 17; goal: at most 1 ms), one run, side by side:
#   create   `runc create` of a busybox bundle without annotations, plain and through
#            nbmount-runtime (which reads node.yaml and config.json, then execs runc), alternating;
#            each created container is deleted outside the timing
#   own      the wrapper alone: runtime.binary /bin/true, so what is timed is nbmount-runtime
#            itself (exec, node.yaml, config.json, exec of /bin/true) against /bin/true alone;
#            for a container without annotations, and for a notebook's config.json that gets the
#            hooks written (a fresh copy before each run, outside the timing)
# Medians of RUNS (default 200) of each; prints each median, the ratio and the difference.
# Usage: bench/runtime.sh [RUNS]. Root; needs runc, busybox-static, jq.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench/runtime.sh [RUNS]" >&2; exit 2; }
. bench/lib/prelude.sh
bench_prelude bench/runtime.sh runc busybox jq
runtime=$(dirname "$NBMOUNT")/nbmount-runtime
work=$(mktemp -d /tmp/nbmount-bench-runtime.XXXXXX)
trap 'bundle_cleanup' EXIT
bundle_init "$work" "$NBMOUNT" >/dev/null
make_hostkernel_node "$work/node"
printf 'runtime: {binary: /bin/true}\n' >"$work/true.yaml"
cat "$config" "$work/true.yaml" >"$work/node-true.yaml"
make_bundle "$work/plain"
make_bundle "$work/nb" --identity acme nb1 alice --no-rootfs
cp "$work/nb/config.json" "$work/nb.json"
state=$BB_WORK/state/runc

now() { date +%s%N; }
# median FILE: the median of the numbers in FILE (nanoseconds), in ms with 3 decimals.
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f", m / 1e6 }'; }
# timed OUT COMMAND...: appends COMMAND's wall time (ns) to OUT.
timed() { local out=$1 t0 t1; shift; t0=$(now); "$@" </dev/null >/dev/null 2>&1; t1=$(now); echo $((t1 - t0)) >>"$out"; }

: >"$work/create.runc"; : >"$work/create.wrapper"
for ((i = 0; i < runs; i++)); do
        timed "$work/create.runc" runc --root "$state" create --bundle "$work/plain" "r$i"
        runc --root "$state" delete -f "r$i" >/dev/null 2>&1
        NBMOUNT_CONFIG=$config timed "$work/create.wrapper" "$runtime" --root "$state" create --bundle "$work/plain" "w$i"
        runc --root "$state" delete -f "w$i" >/dev/null 2>&1
done
: >"$work/own.true"; : >"$work/own.plain"; : >"$work/own.nb"
for ((i = 0; i < runs; i++)); do
        timed "$work/own.true" /bin/true create --bundle "$work/plain" x
        NBMOUNT_CONFIG=$work/node-true.yaml timed "$work/own.plain" "$runtime" create --bundle "$work/plain" x
        cp "$work/nb.json" "$work/nb/config.json"
        NBMOUNT_CONFIG=$work/node-true.yaml timed "$work/own.nb" "$runtime" create --bundle "$work/nb" x
done
jq -e '.hooks.createRuntime | length == 1' "$work/nb/config.json" >/dev/null ||
        { echo "bench/runtime.sh: the notebook's config.json did not get the hooks" >&2; exit 1; }

report() { # NAME BASE_FILE FILE
        local base cur
        base=$(median "$2"); cur=$(median "$3")
        awk -v n="$1" -v b="$base" -v c="$cur" 'BEGIN { printf "%-44s %9.3f ms %9.3f ms %6.2fx %+8.3f ms\n", n, b, c, c / b, c - b }'
}
echo "nbmount-runtime at $(git rev-parse --short HEAD), $runs runs each, medians"
printf '%-44s %12s %12s %7s %11s\n' "" "base" "wrapper" "ratio" "difference"
report "create, no annotations: runc vs wrapper" "$work/create.runc" "$work/create.wrapper"
report "own, no annotations: /bin/true vs wrapper" "$work/own.true" "$work/own.plain"
report "own, notebook (hooks written): vs wrapper" "$work/own.true" "$work/own.nb"
