# SPDX-License-Identifier: Apache-2.0
# What every benchmark of containers with nbmountd needs first. Sourced from the checkout's root:
#   bench_prelude NAME TOOL...  root; the build (./setup.sh and make, unless NBMOUNT names one);
#                               NBMOUNT and NBMOUNTD as absolute paths (NBMOUNTD exported); the
#                               test libraries (sample node, bundles, s3); every TOOL installed.
# It exits 1 with one line naming what is missing.
bench_prelude() {
        local name=$1 tool
        shift
        [ "$(id -u)" = 0 ] || { echo "$name: needs root (runc, mounts)" >&2; exit 1; }
        if [ -z "${NBMOUNT:-}" ]; then
                ./setup.sh
                make -s all
        fi
        NBMOUNT=$(realpath "${NBMOUNT:-build/nbmount}")
        NBMOUNTD=$(realpath "${NBMOUNTD:-$(dirname "$NBMOUNT")/nbmountd}")
        export NBMOUNTD
        . tests/lib/sample-node.sh
        . tests/lib/bundle.sh
        . tests/lib/s3.sh
        for tool in "$@"; do
                command -v "$tool" >/dev/null || { echo "$name: $tool is not installed (run ./setup.sh)" >&2; exit 1; }
        done
}
