#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The storage server's `nbmount quota sync` full pass over N folders (N/2 teams with one notebook
# each, default N = 10000) on one XFS filesystem in User-Mode Linux: the first pass (every project
# new: registry, limits, folder projects and stamps), a second pass (all in place already), and
# xfs_quota setting the same limits and folder projects (one xfs_quota process, one -c per project).
# Usage: bench/quota-sync.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
./setup.sh
make -s all
. tests/lib/uml.sh
UML_WORK=$(mktemp -d /tmp/nbmount-bench-sync.XXXXXX)
trap 'rm -rf "$UML_WORK"' EXIT
# The guest sees UML_WORK but not the rest of the host's /tmp, where this checkout may be.
mkdir -p "$UML_WORK/src/bench" "$UML_WORK/src/tests"
cp -a tests/lib "$UML_WORK/src/tests/lib"
cp bench/quota-sync-inside.sh "$UML_WORK/src/bench/"
cp build/nbmount "$UML_WORK/nbmount"
uml_disk "$UML_WORK/disk.img" 2G
rc=0
(cd "$UML_WORK/src" && UML_TIMEOUT=1800 uml_run "$UML_WORK/disk.img" bench/quota-sync-inside.sh "$n" \
        "$UML_WORK/nbmount") || rc=$?
[ "$rc" = 0 ] || { echo "bench/quota-sync.sh: the benchmark in User-Mode Linux failed (exit $rc; its stderr above)" >&2; exit "$rc"; }
