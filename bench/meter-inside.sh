#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs inside UML (bench/meter.sh): the filesystem of bench/quota-inside.sh (N team projects with
# their registry, grants and limits), then one `nbmount meter` pass (the quota pass, the grants, a
# new batch in the ledger: hyperfine's --prepare removes the ledger so every run appends) beside
# `xfs_quota -x -c 'report -p -n'` and `repquota -P -n`. Usage: meter-inside.sh N RUNS FILLER NBMOUNT
set -euo pipefail
n=$1 runs=$2 filler=$3 nbmount=$4
. tests/lib/uml-lib.sh
uml_quota_fs xfs /dev/ubda /run/q >/dev/null
mkdir -p /run/q/storage/east-1 /tmp/node/grants /tmp/node/notebooks /tmp/node/datasets /tmp/node/state
"$filler" /run/q/storage/east-1 "$n"
for i in $(seq 0 $((n - 1))); do echo "team.t$i:$((10000 + i))"; done >/run/q/.nbmount-projid
for i in $(seq 0 $((n - 1))); do
        printf '{"team": "t%d", "plan": "pro", "card_on_file": false, "private_workspace": false, "members": ["u"], "storage_clusters": ["east-1"], "datasets": []}\n' "$i" >"/tmp/node/grants/t$i.json"
done
printf 'cluster: east-1\nroots: {storage: /run/q/storage, notebooks: /tmp/node/notebooks, datasets: /tmp/node/datasets}\ngrants: /tmp/node/grants\nstate: /tmp/node/state\nmountd_socket: /tmp/node/none.sock\n' >/tmp/node/node.yaml
"$nbmount" meter --config /tmp/node/node.yaml >&2
echo "ledger records: $(grep -c '"hour"' /tmp/node/state/ledger/*.jsonl), xfs_quota rows: $(xfs_quota -x -c 'report -p -n' /run/q | grep -c '^#')"
hyperfine -N --warmup 1 --runs "$runs" --export-markdown /tmp/meter-bench.md \
        --prepare "rm -rf /tmp/node/state/ledger" \
        -n "nbmount meter" "$nbmount meter --config /tmp/node/node.yaml" \
        -n "nbmount quota --json" "$nbmount quota --json --config /tmp/node/node.yaml" \
        -n "xfs_quota report -p -n" "xfs_quota -x -c 'report -p -n' /run/q" \
        -n "repquota -P -n" "repquota -P -n /run/q" >&2
cat /tmp/meter-bench.md
