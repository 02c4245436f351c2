#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs inside UML (bench/quota.sh): an XFS filesystem with prjquota and N projects as the hook
# leaves them (a registry, project folders with a file each, limits), then the three reports
# side by side with hyperfine. Usage: quota-inside.sh N RUNS FILLER NBMOUNT
set -euo pipefail
# The guest's root is the host's, read-only (tests/lib/uml.sh): the filesystem goes under /run, the
# node under /tmp (both tmpfs in the guest).
n=$1 runs=$2 filler=$3 nbmount=$4
. tests/lib/uml-lib.sh
uml_quota_fs xfs /dev/ubda /run/q >/dev/null
mkdir -p /run/q/storage/east-1 /tmp/node/grants /tmp/node/notebooks /tmp/node/datasets
"$filler" /run/q/storage/east-1 "$n"
for i in $(seq 0 $((n - 1))); do echo "team.t$i:$((10000 + i))"; done >/run/q/.nbmount-projid
for i in $(seq 0 $((n - 1))); do
        printf '{"team": "t%d", "plan": "pro", "card_on_file": false, "private_workspace": false, "members": ["u"], "storage_clusters": ["east-1"], "datasets": []}\n' "$i" >"/tmp/node/grants/t$i.json"
done
printf 'cluster: east-1\nroots: {storage: /run/q/storage, notebooks: /tmp/node/notebooks, datasets: /tmp/node/datasets}\ngrants: /tmp/node/grants\n' >/tmp/node/node.yaml
echo "projects: $("$nbmount" quota --json --config /tmp/node/node.yaml | jq '.projects | length'), xfs_quota rows: $(xfs_quota -x -c 'report -p -n' /run/q | grep -c '^#')"
hyperfine -N --warmup 1 --runs "$runs" --export-markdown /tmp/quota-bench.md \
        -n "nbmount quota --json" "$nbmount quota --json --config /tmp/node/node.yaml" \
        -n "xfs_quota report -p -n" "xfs_quota -x -c 'report -p -n' /run/q" \
        -n "repquota -P -n" "repquota -P -n /run/q" >&2
cat /tmp/quota-bench.md
