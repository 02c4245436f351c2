#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Metering at the size of a real node: (1) `nbmount quota --month` over a whole month's ledger,
# 744 hours x N projects (default 10000), written through the ledger's own writer with a test clock
# (build/bench/ledger-gen --synthetic), timed with hyperfine on the host, beside what json-c would
# cost per line (bench/ledger-jsonc.c); (2) one `nbmount meter` pass over N projects on XFS in
# User-Mode Linux beside `xfs_quota -x -c 'report -p -n'` and `repquota -P -n` (bench/meter-inside.sh,
# the same filesystem and registry as bench/quota.sh). Usage: bench/meter.sh [N] [RUNS]
# (METER_BENCH_MONTH=0 skips part 1, METER_BENCH_UML=0 part 2.) Take /tmp/nbmount-heavy.lock around it when others test.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000} runs=${2:-5}
command -v hyperfine >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
make -s all build/bench/ledger-gen
work=$(mktemp -d /tmp/nbmount-bench-meter.XXXXXX)
trap 'rm -rf "$work"' EXIT

# --- (1) the bill of a month ------------------------------------------------------------------------
if [ "${METER_BENCH_MONTH:-1}" = 1 ]; then
mkdir -p "$work/state"
printf 'cluster: east-1\nstate: %s\n' "$work/state" >"$work/state/node.yaml"
start=$(date +%s.%N)
build/bench/ledger-gen --synthetic "$work/state" 2026-12 "$n" >/dev/null
end=$(date +%s.%N)
ledger=$work/state/ledger/2026-12.jsonl
echo "ledger: $(wc -l <"$ledger") lines, $(stat -c %s "$ledger") bytes, written in $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }') s (744 appends)"
cc -O2 -o "$work/ledger-jsonc" bench/ledger-jsonc.c $(pkg-config --cflags --libs json-c)
"$work/ledger-jsonc" "$ledger" 2000000
export NBMOUNT_TEST_CLOCK=1
hyperfine -N --warmup 1 --runs "$runs" --export-markdown "$work/bill.md" \
        -n "nbmount quota --month 2026-12 (744 h x $n projects)" \
        "$PWD/build/nbmount quota --month 2026-12 --json --now 2027-01-01T00:00:00Z --config $work/state/node.yaml" >&2
cat "$work/bill.md"
fi

# --- (2) one meter pass in User-Mode Linux -----------------------------------------------------------
[ "${METER_BENCH_UML:-1}" = 1 ] || exit 0
. tests/lib/uml.sh
export UML_WORK=$work/uml
mkdir -p "$UML_WORK/src/bench/lib" "$UML_WORK/src/tests"
cp -a tests/lib "$UML_WORK/src/tests/lib"
cp bench/lib/quota-node.sh "$UML_WORK/src/bench/lib/"
cp bench/meter-inside.sh "$UML_WORK/src/bench/"
cp build/nbmount "$UML_WORK/nbmount"
cc -O2 -static -o "$UML_WORK/quota-fill" bench/quota-fill.c
uml_disk "$UML_WORK/disk.img" 2G
rc=0
(cd "$UML_WORK/src" && UML_TIMEOUT=1200 uml_run "$UML_WORK/disk.img" bench/meter-inside.sh "$n" "$runs" \
        "$UML_WORK/quota-fill" "$UML_WORK/nbmount") || rc=$?
[ "$rc" = 0 ] || { echo "bench/meter.sh: the benchmark in User-Mode Linux failed (exit $rc; its stderr above)" >&2; exit "$rc"; }
