# SPDX-License-Identifier: Apache-2.0
# A private containerd (Debian's package) for the tests of nbmount-runtime, and an OCI image of a
# busybox root folder made here, offline. Sourced: `. tests/lib/containerd.sh`.
#
#   oci_archive ROOTFS TAR NAME    TAR: an OCI image layout (one uncompressed layer: ROOTFS) whose
#                                  image is named NAME (org.opencontainers.image.ref.name)
#   containerd_start DIR [CONFIG]  containerd on its own root, state and socket under DIR, with
#                                  CONFIG (default: an empty one); sets CTRD_PID, CTRD_SOCK; its
#                                  output in DIR/containerd.log; returns once it answers
#   containerd_stop                stops it by its own pid, with every task and container of it
#   ctrd ARGS...                   ctr on that socket
#
# The environment of containerd is its shims' and so its runtimes': NBMOUNT_CONFIG set for
# containerd_start reaches nbmount-runtime.

# blob DIR FILE: FILE moved into DIR/blobs/sha256 under its digest; prints "sha256:HEX SIZE".
_oci_blob() {
        local hex size
        hex=$(sha256sum "$2" | cut -d' ' -f1)
        size=$(stat -c %s "$2")
        mv "$2" "$1/blobs/sha256/$hex"
        echo "sha256:$hex $size"
}

oci_archive() {
        local rootfs=$1 tar=$2 name=$3 layout layer config manifest
        layout=$(mktemp -d)
        mkdir -p "$layout/blobs/sha256"
        tar -C "$rootfs" --numeric-owner -cf "$layout/layer.tar" . || return 1
        read -r layer_digest layer_size < <(_oci_blob "$layout" "$layout/layer.tar")
        jq -nc --arg d "$layer_digest" '{architecture: "amd64", os: "linux", config: {Cmd: ["sh"]},
                rootfs: {type: "layers", diff_ids: [$d]}}' >"$layout/config.json"
        read -r config_digest config_size < <(_oci_blob "$layout" "$layout/config.json")
        jq -nc --arg cd "$config_digest" --argjson cs "$config_size" --arg ld "$layer_digest" --argjson ls "$layer_size" \
                '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
                  config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
                  layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $ld, size: $ls}]}' \
                >"$layout/manifest.json"
        read -r manifest_digest manifest_size < <(_oci_blob "$layout" "$layout/manifest.json")
        jq -nc --arg d "$manifest_digest" --argjson s "$manifest_size" --arg n "$name" \
                '{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
                  digest: $d, size: $s, annotations: {"org.opencontainers.image.ref.name": $n}}]}' >"$layout/index.json"
        echo '{"imageLayoutVersion": "1.0.0"}' >"$layout/oci-layout"
        tar -C "$layout" -cf "$tar" oci-layout index.json blobs
        rm -rf "$layout"
}

ctrd() { ctr --address "$CTRD_SOCK" "$@"; }

containerd_start() {
        local dir=$1 config=${2:-}
        mkdir -p "$dir"
        [ -n "$config" ] || { config=$dir/config.toml; : >"$config"; }
        CTRD_SOCK=$dir/containerd.sock
        containerd --config "$config" --root "$dir/root" --state "$dir/state" --address "$CTRD_SOCK" \
                >"$dir/containerd.log" 2>&1 &
        CTRD_PID=$!
        wait_until 20 ctrd version >/dev/null 2>&1 && return 0
        echo "containerd_start: containerd did not answer: $(tail -5 "$dir/containerd.log")" >&2
        return 1
}

containerd_stop() {
        [ -n "${CTRD_PID:-}" ] || return 0
        local id
        for id in $(ctrd tasks ls -q 2>/dev/null); do ctrd tasks kill -s KILL "$id" >/dev/null 2>&1; done
        for id in $(ctrd containers ls -q 2>/dev/null); do
                wait_until 10 sh -c "! ctr --address '$CTRD_SOCK' tasks ls -q | grep -qx '$id'"
                ctrd tasks delete "$id" >/dev/null 2>&1
                ctrd containers delete "$id" >/dev/null 2>&1
        done
        kill "$CTRD_PID" 2>/dev/null
        wait "$CTRD_PID" 2>/dev/null
        CTRD_PID=
}
