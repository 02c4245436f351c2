#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs inside UML (bench/quota.sh): an XFS filesystem with prjquota and N projects as the hook
# leaves them (a registry, project folders with a file each, limits), then the three reports
# side by side with hyperfine. Usage: quota-inside.sh N RUNS FILLER NBMOUNT
set -euo pipefail
# The guest's root is the host's, read-only (tests/lib/uml.sh): the filesystem goes under /run, the
# node under /tmp (both tmpfs in the guest).
n=$1 runs=$2 filler=$3 nbmount=$4
. bench/lib/quota-node.sh
quota_bench_node "$n" "$filler"
echo "projects: $("$nbmount" quota --json --config /tmp/node/node.yaml | jq '.projects | length'), xfs_quota rows: $(xfs_quota -x -c 'report -p -n' /run/q | grep -c '^#')"
hyperfine -N --warmup 1 --runs "$runs" --export-markdown /tmp/quota-bench.md \
        -n "nbmount quota --json" "$nbmount quota --json --config /tmp/node/node.yaml" \
        -n "xfs_quota report -p -n" "xfs_quota -x -c 'report -p -n' /run/q" \
        -n "repquota -P -n" "repquota -P -n /run/q" >&2
cat /tmp/quota-bench.md
