# SPDX-License-Identifier: Apache-2.0
# The node of the quota benchmarks in UML (bench/quota-inside.sh, bench/meter-inside.sh), sourced:
#   quota_bench_node N FILLER  XFS with prjquota on /run/q (from /dev/ubda), N team folders as the
#                              hook leaves them (FILLER: bench/quota-fill.c), their registry, their
#                              grants (plan pro, no card) and /tmp/node/node.yaml (state /tmp/node/state).
quota_bench_node() {
        local n=$1 filler=$2 i
        . tests/lib/uml-lib.sh
        uml_quota_fs xfs /dev/ubda /run/q >/dev/null
        mkdir -p /run/q/storage/east-1 /run/q/notebooks /tmp/node/grants /tmp/node/datasets /tmp/node/state
        "$filler" /run/q/storage/east-1 "$n"
        for i in $(seq 0 $((n - 1))); do echo "team.t$i:$((10000 + i))"; done >/run/q/.nbmount-projid
        for i in $(seq 0 $((n - 1))); do
                printf '{"team": "t%d", "plan": "pro", "card_on_file": false, "private_workspace": false, "members": ["u"], "storage_clusters": ["east-1"], "datasets": []}\n' "$i" >"/tmp/node/grants/t$i.json"
        done
        printf 'cluster: east-1\nroots: {storage: /run/q/storage, notebooks: /run/q/notebooks, datasets: /tmp/node/datasets}\ngrants: /tmp/node/grants\nstate: /tmp/node/state\nmountd_socket: /tmp/node/none.sock\n' >/tmp/node/node.yaml
}
