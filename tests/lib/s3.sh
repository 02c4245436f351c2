# SPDX-License-Identifier: Apache-2.0
# A real S3 server (s3rver, npm, tests/s3) on loopback and nbmountd, for the S3 tests, the
# benchmark and the demo. Sourced: `. tests/lib/s3.sh` from the top of the source tree.
#
#   s3_server_start DATA_DIR BUCKET...  s3rver on a free loopback port; sets S3_PID, S3_PORT,
#                                       S3_ENDPOINT (http://127.0.0.1:PORT). Any secret is accepted
#                                       for the key id S3RVER (--allow-mismatched-signatures).
#   s3_server_stop                      stops it by its own pid
#   s3_list BUCKET                      the keys of BUCKET, one a line, from the server's own listing
#   mountd_start CONFIG [ARGS]          build/nbmountd in the background, once its socket answers;
#                                       sets MOUNTD_PID; its output goes to MOUNTD_LOG. The
#                                       nbmount-fusermount beside NBMOUNTD, if there is one, is its
#                                       --fusermount (an installed nbmountd finds its own); see
#                                       mountd_fusermount_option
#   mountd_stop [SIGNAL]                signals it (TERM by default) and waits for it
#   free_port                           a loopback port nothing listens on (the kernel's pick, released)
#   s3_suite_cleanup NAME               the end of an S3 suite: nbmountd killed (its log kept as
#                                       build/test-logs/NAME-nbmountd.log), the bundles, every pid
#                                       in the array servers, what nbmountd left in $run_dir; then
#                                       $run_dir and $work removed

S3RVER_JS=${S3RVER_JS:-$PWD/tests/s3/node_modules/s3rver/bin/s3rver.js}
NBMOUNTD=${NBMOUNTD:-$PWD/build/nbmountd}

s3_server_start() {
        local dir=$1 bucket i
        shift
        local -a args=(-d "$dir" -p "${S3_PORT:-0}" -a 127.0.0.1 --allow-mismatched-signatures)
        for bucket in "$@"; do args+=(--configure-bucket "$bucket"); done
        mkdir -p "$dir"
        : >"$dir.log"
        node "$S3RVER_JS" "${args[@]}" >"$dir.log" 2>&1 &
        S3_PID=$!
        for ((i = 0; i < 100; i++)); do
                S3_PORT=$(sed -n 's/^S3rver listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$dir.log")
                [ -n "$S3_PORT" ] && break
                kill -0 "$S3_PID" 2>/dev/null || break
                sleep 0.1
        done
        if [ -z "$S3_PORT" ]; then
                echo "s3_server_start: s3rver did not start: $(cat "$dir.log")" >&2
                return 1
        fi
        S3_ENDPOINT=http://127.0.0.1:$S3_PORT
}

s3_server_stop() {
        [ -n "${S3_PID:-}" ] || return 0
        kill "$S3_PID" 2>/dev/null || true
        wait "$S3_PID" 2>/dev/null || true
        S3_PID=
}

s3_list() {
        curl -s --max-time 10 "$S3_ENDPOINT/$1?list-type=2" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g'
}

# mountd_fusermount_option: sets the array MOUNTD_FUSERMOUNT to "--fusermount PATH" for the
# nbmountd of a build tree (PATH may have spaces: use "${MOUNTD_FUSERMOUNT[@]}"), to nothing else.
mountd_fusermount_option() {
        local helper
        helper=$(dirname "$NBMOUNTD")/nbmount-fusermount
        MOUNTD_FUSERMOUNT=()
        [ -x "$helper" ] && MOUNTD_FUSERMOUNT=(--fusermount "$helper")
        return 0
}

mountd_start() {
        local config=$1 i socket before
        shift
        socket=$(sed -n 's/^mountd_socket: *//p' "$config")
        before=$(grep -c "listening on" "${MOUNTD_LOG:-/dev/null}" 2>/dev/null || true)
        mountd_fusermount_option
        "$NBMOUNTD" --config "$config" "${MOUNTD_FUSERMOUNT[@]}" "$@" >>"${MOUNTD_LOG:-/dev/null}" 2>&1 &
        MOUNTD_PID=$!
        for ((i = 0; i < 100; i++)); do
                [ -S "$socket" ] && (($(grep -c "listening on" "${MOUNTD_LOG:-/dev/null}" 2>/dev/null || true) > ${before:-0})) &&
                        return 0
                kill -0 "$MOUNTD_PID" 2>/dev/null || break
                sleep 0.05
        done
        echo "mountd_start: nbmountd did not start: $(tail -3 "${MOUNTD_LOG:-/dev/null}")" >&2
        return 1
}

# mountd_leftovers_remove RUN_DIR: what an nbmountd with that run folder leaves when it is killed:
# its s3fs mounts (detached lazily), their s3fs processes (killed), its keys tmpfs. The folder itself
# stays for the caller to remove.
mountd_leftovers_remove() {
        local mp
        for mp in $(grep -o " $1/mounts/[^ ]*" /proc/self/mountinfo); do umount -l "$mp"; done
        pkill -KILL -f "s3fs .* $1/mounts/" 2>/dev/null
        grep -q " $1/keys " /proc/self/mountinfo && umount -l "$1/keys"
        return 0
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

s3_suite_cleanup() {
        local pid
        mountd_stop KILL
        mkdir -p build/test-logs && cp "$MOUNTD_LOG" "build/test-logs/$1-nbmountd.log" 2>/dev/null
        bundle_cleanup
        for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
        mountd_leftovers_remove "$run_dir"
        rm -rf "$run_dir" "$work"
}

mountd_stop() {
        [ -n "${MOUNTD_PID:-}" ] || return 0
        kill -"${1:-TERM}" "$MOUNTD_PID" 2>/dev/null || true
        wait "$MOUNTD_PID" 2>/dev/null || true
        MOUNTD_PID=
}
