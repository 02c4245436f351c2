#!/bin/bash
# The demo: lays out a sample node in a temporary folder and shows what nbmount decides for a
# notebook container (nbmount plan). Cleans up after itself, also when interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/sample-node.sh

work=$(mktemp -d /tmp/nbmount-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
make_sample_node "$work"

echo "A sample node in $work: team acme (plan pro, members alice and bob), notebook nb1."
echo
echo "--- $work/notebooks/acme/nb1/.gradient/settings.yaml (written by the user)"
cat "$work/notebooks/acme/nb1/.gradient/settings.yaml"
echo
echo "--- nbmount plan --team acme --notebook nb1 --user alice"
build/nbmount plan --config "$work/node.yaml" --team acme --notebook nb1 --user alice
echo
echo "--- the same for bob, asking for the storage of another cluster"
build/nbmount plan --config "$work/node.yaml" --team acme --notebook nb1 --user bob \
        --storage-cluster west-2 || echo "(exit $?: refused)"
echo
echo "--- nbmount plan --json (schemas/plan.schema.json), first mount"
build/nbmount plan --config "$work/node.yaml" --team acme --notebook nb1 --user alice --json | jq '.mounts[0]'
