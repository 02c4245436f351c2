#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian and npm packages nbmount needs: `./setup.sh` everything that the build and the
# tests need (make check), `./setup.sh --demo` only what the build and the demo need (make demo, the
# README's first command: a third of the download). Idempotent, and quiet when everything is there
# already. Run as root.
set -euo pipefail
cd "$(dirname "$0")"
case ${1:-} in
--demo) profile=demo ;;
"") profile=all ;;
*) echo "usage: ./setup.sh [--demo]" >&2; exit 2 ;;
esac

# The build, and the demo (scripts/demo.sh: a runc busybox container, nbmountd with s3fs against s3rver).
debian_packages=(gcc make libc6-dev pkg-config libmount-dev libjson-c-dev libyaml-dev libcap-dev libseccomp-dev
                 libcurl4-openssl-dev libgit2-dev  # nbmountd's offline copy: S3 with SigV4, the git index and patterns
                 runc busybox-static jq curl s3fs fuse3)
command -v node >/dev/null && command -v npm >/dev/null || debian_packages+=(nodejs npm)
if [ "$profile" = all ]; then
        debian_packages+=(libcmocka-dev valgrind
                         crun podman  # the other real runtimes of the hook tests and benchmarks
                         user-mode-linux xfsprogs e2fsprogs quota kmod)  # a kernel with project quotas, for the quota tests
        debian_packages+=(nfs-kernel-server)  # knfsd's tools (rpcbind, exportfs, rpc.mountd, rpc.nfsd) for the NFS tests in UML
        debian_packages+=(mandoc)  # tests/man-check.sh lints the man pages
        debian_packages+=(python3)  # tests/lib/mountd_peer.py, coredump.py: hand-made peers of nbmountd, core dumps
        debian_packages+=(iproute2)  # tests/s3-security-check.sh: a network namespace and veth pair
        debian_packages+=(containerd)  # tests/runtime-check.sh: nbmount-runtime under a real containerd (ctr)
        debian_packages+=(clang libclang-rt-14-dev)  # make fuzz-check (in make check) and SANITIZE=1 builds
        debian_packages+=(clang-tidy cppcheck)  # tests/lint-check.sh (in make check)
        debian_packages+=(dpkg-dev debhelper lintian)  # tests/package-check.sh builds, lints and installs the .deb
        debian_packages+=(mmdebstrap git)  # tests/fresh-check.sh: a fresh Debian root and a clean clone in it
        debian_packages+=(prometheus-node-exporter prometheus)  # tests/meter-check.sh: a textfile scrape, promtool check metrics
fi

missing=()
for package in "${debian_packages[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
        echo "setup: installing ${missing[*]}"
        log=$(mktemp)
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
                cat "$log" >&2
                echo "setup: apt-get failed (above); run ./setup.sh again once the network or mirror is back" >&2
                exit 1
        fi
        rm -f "$log"
fi

# ajv-cli (JSON Schema validator) for the schema tests, pinned by tests/schema/package-lock.json.
if [ "$profile" = all ] && { [ ! -e tests/schema/node_modules/.package-lock.json ] ||
   [ tests/schema/package-lock.json -nt tests/schema/node_modules/.package-lock.json ]; }; then
        echo "setup: installing the npm packages of tests/schema"
        npm ci --prefix tests/schema --no-audit --no-fund --silent >/dev/null
fi
# s3rver, a real S3 server for the S3 tests and the demo, pinned by tests/s3/package-lock.json.
if [ ! -e tests/s3/node_modules/.package-lock.json ] ||
   [ tests/s3/package-lock.json -nt tests/s3/node_modules/.package-lock.json ]; then
        echo "setup: installing the npm packages of tests/s3"
        npm ci --prefix tests/s3 --no-audit --no-fund --silent >/dev/null
fi
