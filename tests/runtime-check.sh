#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# nbmount-runtime (issue 17): the runc-compatible runtime under a real containerd (Debian's, on its
# own root, state and socket) and directly, with runc and crun as the real runtime.
# Usage: tests/runtime-check.sh [NBMOUNT]; nbmount-runtime is the one beside NBMOUNT. Prints
# "ok - runtime ..." / "not ok - runtime ...: why" lines; always exits 0. Needs root.
set -u
cd "$(dirname "$0")/.."
NBMOUNT=$(realpath "${1:-build/nbmount}")
NBMOUNTD=$(realpath "$(dirname "$NBMOUNT")/nbmountd")
RUNTIME=$(dirname "$NBMOUNT")/nbmount-runtime
. tests/lib/testlib.sh
. tests/lib/sample-node.sh
. tests/lib/bundle.sh
. tests/lib/s3.sh
. tests/lib/containerd.sh
testlib_init runtime

need_tools containerd ctr runc crun busybox jq unshare sha256sum s3fs node python3
need_root "the runtime tests need root"
[ -x "$RUNTIME" ] || { not_ok "prerequisites" "$RUNTIME is missing (make)"; exit 0; }

work=$(mktemp -d /tmp/nbmount-runtime.XXXXXX)
run_dir=/run/nbmount-rttest-$$
MOUNTD_LOG=$work/mountd.log
cleanup() {
        containerd_stop
        mountd_stop KILL
        mkdir -p build/test-logs && cp "$work/ctrd/containerd.log" build/test-logs/runtime-containerd.log 2>/dev/null
        bundle_cleanup
        s3_server_stop
        mountd_leftovers_remove "$run_dir"
        rm -rf "$run_dir" "$work"
}
trap cleanup EXIT
trap 'echo "# interrupted"; exit 1' INT TERM
bundle_init "$work" "$NBMOUNT" >"$work/init.log" 2>&1 || { not_ok "harness: bundle_init" "$(cat "$work/init.log")"; exit 0; }

# --- the node: team acme (alice, bob), quotas off (this kernel has none), its datasets, a bucket ---
make_hostkernel_node "$work/node"
sed -i "s|^mountd_socket: .*|mountd_socket: $run_dir/mountd.sock|;
        s|^s3: .*|s3: {allow_http: true, allow_private_endpoints: true, mount_timeout: 6}|" "$config"
echo "report v1" >"$node/datasets/dsr8k5qzn401lb5/v1/report.csv"
echo "mnist v1" >"$node/datasets/dsmnist/v1/train.txt"
echo "hello" >"$node/notebooks/acme/nb1/hello.txt"
cat >"$settings" <<'EOT'
quarterly-reports: {type: dataset, id: dsr8k5qzn401lb5, version: v1}
mnist: {type: dataset, id: dsmnist}
EOT
export NBMOUNT_CONFIG=$config  # containerd's environment is its shims' and nbmount-runtime's

# capture: nbmount-runtime behind a script that keeps the bundle's config.json before and after it
# (in $work/cap/ID.before, ID.after) for create, so the test sees what the runtime wrote.
mkdir -p "$work/cap"
cat >"$work/capture" <<EOT
#!/bin/bash
bundle=\$PWD id="" create=0 prev=""
for a in "\$@"; do
        case \$prev in --bundle|-b) bundle=\$a ;; esac
        [ "\$a" = create ] && create=1
        prev=\$a
done
id=\${*: -1}
[ \$create = 1 ] && { cp "\$bundle/config.json" "$work/cap/\$id.before"; stat -c '%a %U %G' "\$bundle/config.json" >"$work/cap/\$id.mode"; }
"$RUNTIME" "\$@"
rc=\$?
[ \$create = 1 ] && { cp "\$bundle/config.json" "$work/cap/\$id.after"; ls -a "\$bundle" >"$work/cap/\$id.files"; stat -c '%a %U %G' "\$bundle/config.json" >>"$work/cap/\$id.mode"; }
exit \$rc
EOT
chmod 755 "$work/capture"

mkdir -p "$work/image"
oci_archive "$BB_WORK/rootfs.base" "$work/image/bb.tar" 1 >"$work/image.log" 2>&1 ||
        { not_ok "harness: OCI archive" "$(cat "$work/image.log")"; exit 0; }
containerd_start "$work/ctrd" 2>"$work/ctrd.err" || { not_ok "harness: containerd" "$(cat "$work/ctrd.err")"; exit 0; }
ctrd images import --base-name localhost/bb "$work/image/bb.tar" >"$work/import.log" 2>&1 ||
        { not_ok "harness: ctr images import" "$(cat "$work/import.log")"; exit 0; }
ok "harness: a private containerd ($(containerd --version | awk '{print $3}')) with the busybox image imported"

# ctr_run ID [ctr run options...] -- CMD: ctr run --rm through the capture; sets out, err, rc.
ctr_run() {
        local id=$1
        local -a options=()
        shift
        while [ "$1" != -- ]; do options+=("$1"); shift; done
        shift
        out=$(timeout -k 5 60 ctr --address "$CTRD_SOCK" run --rm --runc-binary "$work/capture" "${options[@]}" \
                localhost/bb:1 "$id" sh -c "$1" 2>"$work/ctr.err" </dev/null)
        rc=$?
        err=$(cat "$work/ctr.err")
}
identity() { echo --annotation io.nbmount.team="$1" --annotation io.nbmount.notebook=nb1 --annotation io.nbmount.user="$2"; }

# --- a member's notebook: its mounts, through containerd ---
# shellcheck disable=SC2046
ctr_run nb-alice $(identity acme alice) -- \
        'cat /notebooks/hello.txt; ls -d /storage; ls /datasets; cat /datasets/quarterly-reports/report.csv /datasets/mnist/train.txt'
expect_eq "containerd: a member's container sees /notebooks, /storage and its datasets" \
        "0|hello|/storage|mnist|quarterly-reports|report v1|mnist v1" "$rc|$(oneline "$out")"
expect_eq "containerd: the bundle's config.json got nbmount's createRuntime and poststop hooks, with the node config" \
        "$NBMOUNT hook createRuntime --config $config|$NBMOUNT hook poststop --config $config" \
        "$(jq -r '.hooks.createRuntime[], .hooks.poststop[] | "\(.path) \(.args[1:] | join(" "))"' "$work/cap/nb-alice.after" 2>&1 | tr '\n' '|' | sed 's/|$//')"
expect_eq "containerd: the rest of config.json is as containerd wrote it" \
        "$(jq -S 'del(.hooks.createRuntime, .hooks.poststop) | if .hooks == {} then del(.hooks) else . end' "$work/cap/nb-alice.before")" \
        "$(jq -S 'del(.hooks.createRuntime, .hooks.poststop) | if .hooks == {} then del(.hooks) else . end' "$work/cap/nb-alice.after")"
expect_eq "containerd: config.json keeps its mode and owner; no temporary file is left in the bundle" \
        "$(head -1 "$work/cap/nb-alice.mode")|$(head -1 "$work/cap/nb-alice.mode")|0" \
        "$(oneline "$(cat "$work/cap/nb-alice.mode")")|$(grep -c nbmount "$work/cap/nb-alice.files")"

# --- a non-member is refused, with the hook's reason in ctr's error ---
# shellcheck disable=SC2046
ctr_run nb-carol $(identity acme carol) -- 'echo started'
expect_match "containerd: a non-member's start is refused, the reason in ctr's error" \
        "user carol is not a member of team acme" "$rc $err"
expect_eq "containerd: the refused container printed nothing and exited non-zero" "1 " "$((rc != 0)) $out"

# --- a container without annotations: untouched, byte for byte ---
ctr_run plain -- 'echo plain'
expect_eq "containerd: a container without annotations runs" "0 plain" "$rc $out"
expect_run "containerd: its config.json is byte for byte what containerd wrote" \
        cmp "$work/cap/plain.before" "$work/cap/plain.after"

# --- a bad annotation value: a clear error in ctr's, config.json untouched ---
ctr_run bad-team --annotation io.nbmount.team=../etc --annotation io.nbmount.notebook=nb1 \
        --annotation io.nbmount.user=alice -- 'echo started'
expect_match "containerd: a bad io.nbmount.team value is refused by nbmount-runtime, the reason in ctr's error" \
        'nbmount-runtime|io\.nbmount\.team' "$err"
expect_has "containerd: ... naming the file, the annotation and the fault" "$err" "nbmount-runtime: " \
        "/bad-team/config.json:1:" '"io.nbmount.team" "../etc" starts with a dot'
expect_run "containerd: ... and config.json is not written" cmp "$work/cap/bad-team.before" "$work/cap/bad-team.after"
ctr_run after-bad -- 'echo still'
expect_eq "containerd: other containers still run after a refusal" "0 still" "$rc $out"

# --- S3: the bucket nbmountd mounts for the container is released at its poststop ---
s3_server_start "$work/s3" acme-data >"$work/s3.err" 2>&1 || { not_ok "harness: s3rver" "$(cat "$work/s3.err")"; }
printf 'S3RVER\n' >"$node/secrets/acme/s3key" && chmod 600 "$node/secrets/acme/s3key"
cat >>"$settings" <<EOT
bucket: {type: s3, url: s3://acme-data/nb, accessKeyId: S3RVER, secretAccessKey: secret:s3key, endpoint: "$S3_ENDPOINT", readOnly: false}
EOT
held() { "$NBMOUNT" mounts --json --config "$config" | jq -r '[.[].containers[]] | length'; }
no_mounts() { [ "$("$NBMOUNT" mounts --json --config "$config" | jq 'length')" = 0 ]; }
if mountd_start "$config" --sweep-interval 1 2>"$work/mountd.err"; then
        # shellcheck disable=SC2046
        ctr_run nb-s3 $(identity acme alice) -- \
                'echo data >/datasets/bucket/file && cat /datasets/bucket/file && ls /datasets'
        expect_eq "S3: a member's container writes to its bucket, mounted by nbmountd" "0|data|bucket|mnist|quarterly-reports" \
                "$rc|$(oneline "$out")"
        expect_eq "S3: after the container is deleted (poststop), no container holds a mount" 0 "$(held)"
        if wait_until 20 no_mounts; then ok "S3: ... and nbmount mounts shows none (nbmountd's sweep unmounted it)"; else
                not_ok "S3: ... and nbmount mounts shows none" "$("$NBMOUNT" mounts --config "$config" 2>&1)"
        fi
        mountd_stop
else
        not_ok "harness: nbmountd" "$(cat "$work/mountd.err")"
fi
sed -i '/^bucket:/d' "$settings"
containerd_stop

# --- directly, as runc's command line: bad inputs, passing through, crun ---
state=$work/state/runc
rt() { "$RUNTIME" --root "$state" "$@"; }
# create_with ID BUNDLE: nbmount-runtime create; sets rc and err (its output). The created
# container's process keeps runc's stdio: a file, not a pipe that $(...) would wait on.
create_with() {
        "$RUNTIME" --root "$state" create --bundle "$2" "$1" </dev/null >"$work/create.out" 2>&1
        rc=$?
        err=$(cat "$work/create.out")
}
# direct NAME [make_bundle options]: a bundle in $work/d/NAME, $bundle its path.
direct() { bundle=$work/d/$1; shift; make_bundle "$bundle" --cmd 'sleep 30' "$@"; }
sum() { sha256sum "$1" | cut -d' ' -f1; }
leftovers() { find "$1" -maxdepth 1 -name '.config.json.nbmount-*' | wc -l; }

direct huge --identity acme nb1 alice
head -c 5000000 /dev/zero | tr '\0' x >"$work/pad"
jq --rawfile pad "$work/pad" '.annotations.pad = $pad' "$bundle/config.json" >"$bundle/c" &&
        mv "$bundle/c" "$bundle/config.json"
before=$(sum "$bundle/config.json")
create_with huge "$bundle"
expect_match "bad input: a notebook's config.json over 4 MiB is refused, with the reason" \
        "^1 nbmount-runtime: $bundle/config.json: is 50[0-9]{5} bytes, more than the 4194304 nbmount reads; shorten it$" "$rc $err"
expect_eq "bad input: ... nothing written" "$before 0" "$(sum "$bundle/config.json") $(leftovers "$bundle")"
jq 'del(.annotations["io.nbmount.team"], .annotations["io.nbmount.notebook"], .annotations["io.nbmount.user"])' \
        "$bundle/config.json" >"$bundle/c" && mv "$bundle/c" "$bundle/config.json"
before=$(sum "$bundle/config.json")
create_with huge-plain "$bundle"
expect_eq "bad input: a config.json over 4 MiB without io.nbmount.* annotations goes to runc, which creates it" \
        "0 created" "$rc $(runc --root "$state" state huge-plain | jq -r .status)"
expect_eq "bad input: ... untouched" "$before" "$(sum "$bundle/config.json")"
rt delete -f huge-plain >/dev/null 2>&1

direct real --identity acme nb1 alice
ln -s "$bundle" "$work/d/link"
before=$(sum "$bundle/config.json")
create_with linked "$work/d/link"
expect_eq "bad input: a notebook's bundle given through a symlink is refused, with the reason" \
        "1 nbmount-runtime: $work/d/link/config.json: the bundle is a symbolic link, which nbmount-runtime does not follow to edit config.json; give the runtime the bundle's real path" \
        "$rc $err"
expect_eq "bad input: ... nothing written" "$before 0" "$(sum "$bundle/config.json") $(leftovers "$bundle")"
direct plainlink
ln -s "$bundle" "$work/d/plainlink-link"
create_with plainlink "$work/d/plainlink-link"
expect_eq "bad input: a bundle symlink of a container without annotations goes to runc" "0 " "$rc $err"
rt delete -f plainlink >/dev/null 2>&1

direct unreadable --identity acme nb1 alice
mv "$bundle/config.json" "$bundle/c" && mkfifo "$bundle/config.json"
create_with unreadable "$bundle"
expect_eq "bad input: an unreadable config.json (a FIFO) is refused at once, with the reason" \
        "1 nbmount-runtime: $bundle/config.json: is not a regular file" "$rc $err"
expect_eq "bad input: ... nothing written" "0 p" "$(leftovers "$bundle") $(stat -c %A "$bundle/config.json" | head -c 1)"

for bad in "io.nbmount.team=a b" "io.nbmount.user=" "io.nbmount.colour=red"; do
        direct bad --identity acme nb1 alice --annotation "$bad"
        before=$(sum "$bundle/config.json")
        create_with bad "$bundle"
        expect_match "bad input: annotation $bad is refused, naming it" "^1 nbmount-runtime: $bundle/config.json:[0-9]+:[0-9]+: .*${bad%%=*}" \
                "$rc $err"
        expect_eq "bad input: ... nothing written" "$before 0" "$(sum "$bundle/config.json") $(leftovers "$bundle")"
done

direct hooked --config "$config" --identity acme nb1 alice
jq '.hooks.createRuntime[0].path = $p | .hooks.poststop[0].path = $p' --arg p "$NBMOUNT" "$bundle/config.json" >"$bundle/c" &&
        mv "$bundle/c" "$bundle/config.json"
before=$(sum "$bundle/config.json")
create_with hooked "$bundle"
expect_eq "a notebook whose config.json has nbmount's hooks already is created" "0 " "$rc $err"
expect_eq "... and its config.json is not written again" "$before" "$(sum "$bundle/config.json")"

# --- other commands pass through, argument for argument ---
expect_eq "pass-through: --version is runc's" "$(runc --version)" "$("$RUNTIME" --version)"
expect_eq "pass-through: state is runc's" "$(runc --root "$state" state hooked | jq -S 'del(.created)')" \
        "$(rt state hooked | jq -S 'del(.created)')"
expect_eq "pass-through: list is runc's" "$(runc --root "$state" list -q)" "$(rt list -q)"
expect_run "pass-through: start" rt start hooked
expect_run "pass-through: kill" rt kill hooked KILL
wait_until 10 sh -c "runc --root '$state' state hooked | grep -q '\"status\": \"stopped\"'"
expect_run "pass-through: delete (runs the poststop hook)" rt delete hooked
expect_eq "pass-through: runc no longer knows it" "1" "$(runc --root "$state" state hooked >/dev/null 2>&1; echo $?)"
expect_eq "pass-through: an unknown command gets runc's own error" \
        "$(runc --root "$state" frobnicate 2>&1; echo "rc $?")" "$(rt frobnicate 2>&1; echo "rc $?")"

# --- the real runtime: node.yaml's runtime.binary; never nbmount-runtime itself ---
cp "$config" "$work/self.yaml" && printf 'runtime: {binary: %s}\n' "$RUNTIME" >>"$work/self.yaml"
expect_eq "real runtime: a node.yaml that names nbmount-runtime itself falls back to runc" "$(runc --version)" \
        "$(NBMOUNT_CONFIG=$work/self.yaml "$RUNTIME" --version)"
cp "$config" "$work/crun.yaml" && printf 'runtime: {binary: %s}\n' "$(command -v crun)" >>"$work/crun.yaml"
expect_eq "real runtime: runtime.binary crun: --version is crun's" "$(crun --version)" \
        "$(NBMOUNT_CONFIG=$work/crun.yaml "$RUNTIME" --version)"
new_bundle --crun --identity acme nb1 alice --cmd 'cat /notebooks/hello.txt; ls /datasets'
NBMOUNT_CONFIG=$work/crun.yaml BB_CRUN=$RUNTIME run_crun "$bundle"
expect_eq "real runtime: crun through nbmount-runtime runs a member's notebook with its mounts" "0|hello|mnist|quarterly-reports" \
        "$run_rc|$(oneline "$run_out")"
new_bundle --crun --identity acme nb1 carol
NBMOUNT_CONFIG=$work/crun.yaml BB_CRUN=$RUNTIME run_crun "$bundle"
expect_match "real runtime: ... and refuses a non-member (crun: the hook's line in run.oci.hooks.stderr)" \
        "user carol is not a member of team acme" "$run_rc $run_hook_err"
echo 'cluster: [' >"$work/broken.yaml"
new_bundle --cmd 'echo plain'
NBMOUNT_CONFIG=$work/broken.yaml BB_RUNC=$RUNTIME run_runc "$bundle"
expect_eq "real runtime: a broken node.yaml does not stop a container without annotations" "0 plain" "$run_rc $run_out"
new_bundle --identity acme nb1 alice
NBMOUNT_CONFIG=$work/broken.yaml BB_RUNC=$RUNTIME run_runc "$bundle"
expect_match "real runtime: ... and refuses a notebook, naming the node config" "^1 nbmount-runtime: .*$work/broken.yaml:" \
        "$run_rc $run_err"

# --- the shipped containerd snippet: containerd loads it; nbmount check reads it ---
{ echo 'version = 2'; cat packaging/containerd/nbmount.toml; } >"$work/containerd.toml"
dump=$(containerd --config "$work/containerd.toml" config dump 2>&1)
expect_eq "containerd config dump with the shipped snippet shows the runtime nbmount, its type, BinaryName and pod_annotations" \
        'pod_annotations = ["io.nbmount.*"]|runtime_type = "io.containerd.runc.v2"|BinaryName = "/usr/bin/nbmount-runtime"' \
        "$(awk '/^ *\[plugins\."io\.containerd\.grpc\.v1\.cri"\.containerd\.runtimes\.nbmount\]/ { on = 1; next }
                on && /^ *\[/ && !/runtimes\.nbmount\.options\]/ { on = 0 }
                on && /runtime_type|pod_annotations|BinaryName/ { sub(/^ */, ""); print }' <<<"$dump" | tr '\n' '|' | sed 's/|$//')"
sed "s|/usr/bin/nbmount-runtime|$RUNTIME|" "$work/containerd.toml" >"$work/containerd-here.toml"
check_line() { "$NBMOUNT" check --config "$config" --containerd-config "$1" | grep '^[a-z]* *containerd:'; }
expect_eq "nbmount check: the snippet (BinaryName this nbmount-runtime) is ok" \
        "ok    containerd: $work/containerd-here.toml: runtime handler nbmount runs $RUNTIME and passes the io.nbmount.* annotations (RuntimeClass handler: nbmount)" \
        "$(check_line "$work/containerd-here.toml")"
grep -v pod_annotations "$work/containerd-here.toml" >"$work/no-annotations.toml"
expect_eq "nbmount check: without pod_annotations it fails, with the fix" \
        "fail  containerd: $work/no-annotations.toml: runtime nbmount does not pass the pods' io.nbmount.* annotations; add pod_annotations = [\"io.nbmount.*\"]" \
        "$(check_line "$work/no-annotations.toml")"
echo 'version = 2' >"$work/bare.toml"
expect_match "nbmount check: a config without the runtime warns, naming the snippet" \
        "^warn  containerd: $work/bare.toml names no runtime handler with BinaryName nbmount-runtime: .*packaging/containerd/nbmount.toml" \
        "$(check_line "$work/bare.toml")"
