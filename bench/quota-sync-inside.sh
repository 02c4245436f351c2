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
        (cd /run/q/notebooks && eval "mkdir t{0..$((teams - 1))}" && eval "mkdir t{0..$((teams - 1))}/nb")
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
echo "| what ($n folders: $teams teams, one notebook each) | seconds |"
echo "| --- | --- |"
t0=$(now)
"$nbmount" quota sync --config /tmp/node/node.yaml >&2
t1=$(now)
echo "| \`nbmount quota sync\`, first pass (registry, limits, folder projects, stamps) | $(seconds "$t0" "$t1") |"
"$nbmount" quota sync --config /tmp/node/node.yaml >&2
t2=$(now)
echo "| \`nbmount quota sync\`, second pass (nothing to change) | $(seconds "$t1" "$t2") |"
echo "check: $(grep -c . /run/q/.nbmount-projid) projects in the registry; xfs_quota lists $(xfs_quota -x -c 'report -p -n' /run/q | grep -c '^#[1-9]') with limits" >&2
# xfs_quota, one process each: the same limits for all N projects (pro: 15GB; with a card, hard =
# 15GB + the 1TB overage cap), then the folders' projects (project -s) for the first K folders
layout
limits() {
        for ((i = 0; i < teams; i++)); do
                hard=15000000000
                [ $((i % 2)) = 0 ] && hard=1015000000000
                printf -- '-c\nlimit -p bsoft=15000000000 bhard=%s isoft=915527 ihard=915527 %s\n' "$hard" $((10000 + 2 * i))
                printf -- '-c\nlimit -p bsoft=15000000000 bhard=%s isoft=915527 ihard=915527 %s\n' "$hard" $((10001 + 2 * i))
        done
}
mapfile -t args < <(limits)
t3=$(now)
xfs_quota -x "${args[@]}" /run/q >/dev/null
t4=$(now)
echo "| \`xfs_quota -x -c 'limit -p ...'\` for the $n projects (one process) | $(seconds "$t3" "$t4") |"
k=${XFS_PROJECT_FOLDERS:-500}
mapfile -t args < <(for ((i = 0; i < k / 2; i++)); do
        printf -- '-c\nproject -s -p /run/q/storage/east-1/t%d %d\n' "$i" $((10000 + 2 * i))
        printf -- '-c\nproject -s -p /run/q/notebooks/t%d/nb %d\n' "$i" $((10001 + 2 * i))
done)
t5=$(now)
xfs_quota -x "${args[@]}" /run/q >/dev/null
t6=$(now)
echo "| \`xfs_quota -x -c 'project -s -p DIR ID'\` for the first $k folders (one process) | $(seconds "$t5" "$t6") |"
echo "check: xfs_quota lists $(xfs_quota -x -c 'report -p -n' /run/q | grep -c '^#[1-9]') projects with limits" >&2
