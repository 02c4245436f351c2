#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `nbmount quota --json` for N projects (default 10000) on one XFS filesystem in User-Mode Linux,
# beside `xfs_quota -x -c 'report -p -n'` and `repquota -P -n` on the same filesystem, in one
# hyperfine run inside the same UML boot. Usage: bench/quota.sh [N] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000} runs=${2:-10}
command -v hyperfine >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
./setup.sh
make -s all
. tests/lib/uml.sh
UML_WORK=$(mktemp -d /tmp/nbmount-bench-quota.XXXXXX)
trap 'rm -rf "$UML_WORK"' EXIT
# The guest sees UML_WORK but not the rest of the host's /tmp, where this checkout may be: what it
# runs is copied there, and it runs from there.
mkdir -p "$UML_WORK/src/bench/lib" "$UML_WORK/src/tests"
cp -a tests/lib "$UML_WORK/src/tests/lib"
cp bench/lib/quota-node.sh "$UML_WORK/src/bench/lib/"
cp bench/quota-inside.sh "$UML_WORK/src/bench/"
cp build/nbmount "$UML_WORK/nbmount"
cc -O2 -static -o "$UML_WORK/quota-fill" bench/quota-fill.c
uml_disk "$UML_WORK/disk.img" 2G
rc=0
(cd "$UML_WORK/src" && UML_TIMEOUT=900 uml_run "$UML_WORK/disk.img" bench/quota-inside.sh "$n" "$runs" \
        "$UML_WORK/quota-fill" "$UML_WORK/nbmount") || rc=$?
[ "$rc" = 0 ] || { echo "bench/quota.sh: the benchmark in User-Mode Linux failed (exit $rc; its stderr above)" >&2; exit "$rc"; }
