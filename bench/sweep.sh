#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A request's latency while nbmountd sweeps 2,000 shared mounts (bench/sweep.c: the registry of
# mountd/ in-process, N fuse.s3fs mounts in a private mount namespace, see its header), built from the
# working tree or from a git revision, so that a change can be measured against what it replaces:
#
#   bench/sweep.sh [--mounts N] [--seconds S]             the working tree (make's objects)
#   REV=main bench/sweep.sh [--mounts N] [--seconds S]    mountd/ and lib/ of REV (git archive)
#
# bench/sweep.c uses only what both sides have (registry_acquire, registry_release, registry_sweep,
# state_load, state_recover). Root; the numbers go to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/sweep.sh: needs root (mounts, /dev/fuse)" >&2; exit 1; }
src=$PWD
if [ -n "${REV:-}" ]; then
        src=$(mktemp -d /tmp/nbmount-bench-src.XXXXXX)
        trap 'rm -rf "$src"' EXIT
        git archive "$REV" Makefile VERSION lib mountd | tar -x -C "$src"
fi
make -s -C "$src" build/libnbmount.a $(cd "$src" && ls mountd/*.c | grep -v main.c | sed 's|^|build/|; s|\.c$|.o|') >/dev/null
pkgs="mount json-c yaml-0.1 libcap libseccomp"
out=$(mktemp /tmp/nbmount-bench-sweep.XXXXXX)
trap 'rm -rf "$out" ${REV:+"$src"}' EXIT
cc -std=gnu11 -O2 -g -D_GNU_SOURCE -I"$src/lib" -I"$src/mountd" $(pkg-config --cflags $pkgs) -o "$out" bench/sweep.c \
        -Wl,--wrap=pthread_mutex_lock,--wrap=pthread_mutex_unlock \
        $(ls "$src"/build/mountd/*.o | grep -v /main.o) "$src/build/libnbmount.a" $(pkg-config --libs $pkgs) -pthread
echo "# bench/sweep.sh: ${REV:-working tree} ($(git -C "$src" rev-parse --short HEAD 2>/dev/null || git rev-parse --short "$REV")), $(date -u +%F), $(nproc) cores, kernel $(uname -r)"
"$out" "$@"
