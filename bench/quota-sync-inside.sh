#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs inside UML (bench/quota-sync.sh). Usage: quota-sync-inside.sh N NBMOUNT
set -euo pipefail
n=$1 nbmount=$2 teams=$(($1 / 2))
. tests/lib/uml-lib.sh
now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# fresh XFS (prjquota) under /run/q with STORAGE/east-1/tI and NOTEBOOKS/tI/nb, grants for every team
layout() {
        umount /run/q 2>/dev/null || true
        uml_quota_fs xfs /dev/ubda /run/q >/dev/null
        mkdir -p /run/q/storage/east-1 /run/q/notebooks /run/q/datasets /tmp/node/grants /tmp/node/state
        (cd /run/q/storage/east-1 && eval "mkdir t{0..$((teams - 1))}")
        (cd /run/q/notebooks && eval "mkdir t{0..$((teams - 1))}" && for ((i = 0; i < teams; i++)); do mkdir "t$i/nb"; done)
}
mkdir -p /tmp/node/grants
for ((i = 0; i < teams; i++)); do
        card=false
        [ $((i % 2)) = 0 ] && card=true
        printf '{"team": "t%d", "plan": "pro", "card_on_file": %s, "private_workspace": false, "members": ["u"], "storage_clusters": ["east-1"], "datasets": []}\n' \
                "$i" "$card" >"/tmp/node/grants/t$i.json"
done
printf 'cluster: east-1\nroots: {storage: /run/q/storage, notebooks: /run/q/notebooks, datasets: /run/q/datasets}\ngrants: /tmp/node/grants\nstate: /tmp/node/state\n' >/tmp/node/node.yaml
layout
t0=$(now)
"$nbmount" quota sync --config /tmp/node/node.yaml
t1=$(now)
"$nbmount" quota sync --config /tmp/node/node.yaml
t2=$(now)
echo "check: $(grep -c . /run/q/.nbmount-projid) projects in the registry; xfs_quota lists $(xfs_quota -x -c 'report -p -n' /run/q | grep -c '^#[1-9]') with limits"
# xfs_quota: the same limits (pro: 15GB; card: hard + 1TB overage cap) and folder projects
layout
{
        for ((i = 0; i < teams; i++)); do
                hard=$([ $((i % 2)) = 0 ] && echo 1015000000000 || echo 15000000000)
                echo "-c"; echo "project -s -p /run/q/storage/east-1/t$i $((10000 + 2 * i))"
                echo "-c"; echo "limit -p bsoft=15000000000 bhard=$hard isoft=915527 ihard=915527 $((10000 + 2 * i))"
                echo "-c"; echo "project -s -p /run/q/notebooks/t$i/nb $((10001 + 2 * i))"
                echo "-c"; echo "limit -p bsoft=15000000000 bhard=$hard isoft=915527 ihard=915527 $((10001 + 2 * i))"
        done
} >/tmp/xfs-commands
mapfile -t args </tmp/xfs-commands
t3=$(now)
xfs_quota -x "${args[@]}" /run/q >/dev/null
t4=$(now)
echo "check: xfs_quota lists $(xfs_quota -x -c 'report -p -n' /run/q | grep -c '^#[1-9]') projects with limits"
echo "| what ($n folders: $teams teams, one notebook each) | seconds |"
echo "| --- | --- |"
echo "| \`nbmount quota sync\`, first pass (registry, limits, projects, stamps) | $(seconds "$t0" "$t1") |"
echo "| \`nbmount quota sync\`, second pass (nothing to change) | $(seconds "$t1" "$t2") |"
echo "| \`xfs_quota -x\` with \`project -s\` and \`limit -p\` for each (one process) | $(seconds "$t3" "$t4") |"
