#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs inside UML (bench/quota.sh): an XFS filesystem with prjquota and N projects as the hook
# leaves them (a registry, project folders with a file each, limits), a grants file per team, then
# the reports side by side with hyperfine, and nbmount's ratio to each tool.
# Usage: quota-inside.sh N RUNS FILLER NBMOUNT
set -euo pipefail
# The guest's root is the host's, read-only (tests/lib/uml.sh): the filesystem goes under /run, the
# node under /tmp (both tmpfs in the guest).
n=$1 runs=$2 filler=$3 nbmount=$4
. bench/lib/quota-node.sh
quota_bench_node "$n" "$filler"
# The grants cache (lib/grantscache.h) is written once the grants folder's last change is a second old.
sleep 2
echo "projects: $("$nbmount" quota --json --config /tmp/node/node.yaml | jq '.projects | length'), xfs_quota rows: $(xfs_quota -x -c 'report -p -n' /run/q | grep -c '^#'), grants cache lines: $(($(wc -l </tmp/node/state/quota-grants.cache) - 1))"
# A grants file replaced before each run: the folder changed, so every grants file is read (the
# report after a grants change).
printf '#!/bin/sh\ncp /tmp/node/grants/t0.json /tmp/node/t0.new && mv /tmp/node/t0.new /tmp/node/grants/t0.json\n' >/tmp/node/replace-grants
chmod +x /tmp/node/replace-grants
hyperfine -N --warmup 1 --runs "$runs" --export-markdown /tmp/quota-bench.md --export-json /tmp/quota-bench.json \
        -n "nbmount quota --json" "$nbmount quota --json --config /tmp/node/node.yaml" \
        -n "xfs_quota -x -c 'report -p -n'" "xfs_quota -x -c 'report -p -n' /run/q" \
        -n "repquota -P -n" "repquota -P -n /run/q" >&2
hyperfine -N --runs "$runs" --prepare /tmp/node/replace-grants --export-markdown /tmp/quota-bench-changed.md \
        -n "nbmount quota --json, a grants file replaced before each run" "$nbmount quota --json --config /tmp/node/node.yaml" >&2
cat /tmp/quota-bench.md
tail -n 1 /tmp/quota-bench-changed.md
jq -r '.results as $r | ($r[0].mean) as $nb | $r[1:][] | "nbmount quota --json ÷ \(.command): \($nb / .mean * 1000 | round / 1000)×"' /tmp/quota-bench.json
