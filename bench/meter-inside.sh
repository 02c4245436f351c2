#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs inside UML (bench/meter.sh): the filesystem of bench/quota-inside.sh (N team projects with
# their registry, grants and limits), then one `nbmount meter` pass (the quota pass, the grants, a
# new batch in the ledger: hyperfine's --prepare removes the ledger so every run appends) beside
# `xfs_quota -x -c 'report -p -n'` and `repquota -P -n`. Usage: meter-inside.sh N RUNS FILLER NBMOUNT
set -euo pipefail
n=$1 runs=$2 filler=$3 nbmount=$4
. bench/lib/quota-node.sh
quota_bench_node "$n" "$filler"
"$nbmount" meter --config /tmp/node/node.yaml >&2
echo "ledger records: $(grep -c '"hour"' /tmp/node/state/ledger/*.jsonl), xfs_quota rows: $(xfs_quota -x -c 'report -p -n' /run/q | grep -c '^#')"
hyperfine -N --warmup 1 --runs "$runs" --export-markdown /tmp/meter-bench.md \
        --prepare "rm -rf /tmp/node/state/ledger" \
        -n "nbmount meter" "$nbmount meter --config /tmp/node/node.yaml" \
        -n "nbmount quota --json" "$nbmount quota --json --config /tmp/node/node.yaml" \
        -n "xfs_quota report -p -n" "xfs_quota -x -c 'report -p -n' /run/q" \
        -n "repquota -P -n" "repquota -P -n /run/q" >&2
cat /tmp/meter-bench.md
