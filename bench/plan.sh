#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Benchmarks `nbmount plan`, side by side in one hyperfine run:
#   baseline  nbmount --version (the cost of starting the program at all)
#   sample    the sample node: 2 team datasets, a public dataset, an S3 bucket
#   largest   settings.yaml at its cap (256 mounts) against grants with 4096 datasets
# Usage: bench/plan.sh [hyperfine options]. Needs hyperfine (Debian package).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
make -s all
. tests/lib/sample-node.sh

work=$(mktemp -d /tmp/nbmount-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
make_sample_node "$work/sample"
make_sample_node "$work/large"
{
        printf '{"team": "acme", "plan": "pro", "card_on_file": true, "private_workspace": false,\n'
        printf ' "members": ["alice", "bob"], "storage_clusters": ["east-1"], "datasets": [\n'
        for i in $(seq 1 4096); do
                printf '  {"name": "set%d", "id": "ds%d", "versions": ["v1", "v2", "v3"], "latest": "v3"}%s\n' \
                        "$i" "$i" "$([ "$i" -lt 4096 ] && echo ,)"
        done
        printf ']}\n'
} >"$work/large/grants/acme.json"
for i in $(seq 1 256); do
        printf 'mount%d:\n  type: dataset\n  id: ds%d\n  version: v2\n' "$i" "$((i * 16))"
done >"$work/large/notebooks/acme/nb1/.gradient/settings.yaml"
wc -c "$work/large/grants/acme.json" "$work/large/notebooks/acme/nb1/.gradient/settings.yaml"

plan() { echo "build/nbmount plan --config $work/$1/node.yaml --team acme --notebook nb1 --user alice --json"; }
# Each command once first: a failure stops here with its own message (hyperfine shows none).
build/nbmount --version >/dev/null
$(plan sample) >/dev/null
$(plan large) >/dev/null
hyperfine -N --warmup 20 --runs 300 "$@" \
        -n baseline "build/nbmount --version" \
        -n sample "$(plan sample)" \
        -n largest "$(plan large)"
