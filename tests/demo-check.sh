#!/bin/bash
# `make demo` (scripts/demo.sh) runs to the end and shows what it promises.
# Prints "ok - demo ..." / "not ok - demo ...: why" lines.
set -u
cd "$(dirname "$0")/.."
out=$(bash scripts/demo.sh 2>&1)
rc=$?
check() {
        if grep -qF -- "$2" <<<"$out"; then echo "ok - demo $1"; else echo "not ok - demo $1: no «$2» in its output"; fi
}
if [ "$rc" -eq 0 ]; then echo "ok - demo exits 0"; else echo "not ok - demo exits 0: exit $rc"; fi
check "container sees its notebook file" "   hello from notebook nb1"
check "container sees the team storage" "   shared by team acme"
check "container sees the pinned dataset version" "   quarterly report, version 1"
check "dataset mount is read-only" "/datasets/mnist ro,nosuid,nodev"
check "a write to a dataset fails" "can't create /datasets/mnist/x: Read-only file system"
check "a write to /storage lands on the host" "   written in the container"
check "a non-member is refused with the reason" \
        "/notebooks refused: user carol is not a member of team acme; ask the team's admin to add carol"
check "the operator's plan table" "/datasets/images             dataset"
leftover=$(ls -d /tmp/nbmount-demo.* 2>/dev/null)
if [ -z "$leftover" ]; then echo "ok - demo cleans up its folder"; else echo "not ok - demo cleans up its folder: $leftover"; fi
