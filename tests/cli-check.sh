#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end tests of the nbmount command line on a sample node: `nbmount plan` field by field,
# exit codes, refusals, and files that a user could have turned into symlinks or FIFOs.
# Usage: tests/cli-check.sh [NBMOUNT]. Prints "ok - ..." / "not ok - ..." lines.
set -u
cd "$(dirname "$0")/.."
NBMOUNT=${1:-build/nbmount}
NBMOUNT=$(realpath "$NBMOUNT")
. tests/lib/sample-node.sh

work=$(mktemp -d /tmp/nbmount-cli.XXXXXX)
trap 'rm -rf "$work"' EXIT
node=$work/node
make_sample_node "$node"
config=$node/node.yaml

. tests/lib/testlib.sh
testlib_init cli

# run_nbmount ARGS...: sets $out, $err, $rc. $WRAPPER (e.g. valgrind) runs nbmount if set.
WRAPPER=()
run_nbmount() {
        out=$("${WRAPPER[@]}" "$NBMOUNT" "$@" 2>"$work/stderr")
        rc=$?
        err=$(cat "$work/stderr")
}

plan_as() { run_nbmount plan --config "$config" --team acme --notebook nb1 --user "$1" --json "${@:2}"; }
refuse_config=$node/node-refuse.yaml
{ cat "$config"; echo "settings: {on_error: refuse}"; } >"$refuse_config"
# expect_settings_fault LABEL MESSAGE: settings.yaml cannot be used. settings.on_error skip (the
# default): exit 1, the plan says why, and no /datasets entry; refuse: exit 2 with MESSAGE, as before.
expect_settings_fault() {
        plan_as alice
        expect_eq "$1: skipped whole (on_error skip): exit 1, the reason, no /datasets entry" "1 $2 0" \
                "$rc $(echo "$out" | jq -r '.settings_problem') $(echo "$out" | jq '[.mounts[] | select(.target | startswith("/datasets/"))] | length')"
        plan_matches_schema "$1: plan"
        run_nbmount plan --config "$refuse_config" --team acme --notebook nb1 --user alice --json
        expect_eq "$1: refused (on_error refuse)" "2 nbmount: $2" "$rc $err"
}

# --- the sample plan, field by field -------------------------------------------------------------
plan_as alice
expect_eq "plan exit code is 0 when all is granted" 0 "$rc"
expect_eq "plan prints nothing on stderr" "" "$err"
echo "$out" >"$work/plan.json"
field() { jq -c "$1" "$work/plan.json"; }
n=$node
expect_eq "plan.team" '"acme"' "$(field .team)"
expect_eq "plan.notebook" '"nb1"' "$(field .notebook)"
expect_eq "plan.user" '"alice"' "$(field .user)"
expect_eq "plan.cluster" '"east-1"' "$(field .cluster)"
expect_eq "plan.storage_cluster" '"east-1"' "$(field .storage_cluster)"
expect_eq "plan.plan" '"pro"' "$(field .plan)"
expect_eq "plan.card_on_file" 'false' "$(field .card_on_file)"
expect_eq "plan.warnings" '[]' "$(field .warnings)"
expect_eq "plan has 6 mounts" 6 "$(field '.mounts | length')"
expect_eq "plan targets in order" \
        '["/notebooks","/storage","/datasets/quarterly-reports","/datasets/images","/datasets/mnist","/datasets/my-bucket-data"]' \
        "$(field '[.mounts[].target]')"
expect_eq "plan /notebooks" \
        "{\"target\":\"/notebooks\",\"kind\":\"notebook\",\"source\":\"$n/notebooks/acme/nb1\",\"readonly\":false,\"quota\":{\"project\":\"notebook.acme/nb1\",\"soft_bytes\":15000000000,\"hard_bytes\":15000000000,\"files\":915527},\"status\":\"granted\",\"reason\":null}" \
        "$(field '.mounts[0]')"
expect_eq "plan /storage" \
        "{\"target\":\"/storage\",\"kind\":\"storage\",\"source\":\"$n/storage/east-1/acme\",\"readonly\":false,\"quota\":{\"project\":\"team.acme\",\"soft_bytes\":15000000000,\"hard_bytes\":15000000000,\"files\":915527},\"status\":\"granted\",\"reason\":null}" \
        "$(field '.mounts[1]')"
expect_eq "plan pinned team dataset" \
        "{\"target\":\"/datasets/quarterly-reports\",\"kind\":\"dataset\",\"source\":\"$n/datasets/dsr8k5qzn401lb5/v1\",\"readonly\":true,\"quota\":null,\"status\":\"granted\",\"reason\":null,\"dataset\":{\"id\":\"dsr8k5qzn401lb5\",\"version\":\"v1\"}}" \
        "$(field '.mounts[2]')"
expect_eq "plan team dataset at its latest version" \
        "{\"target\":\"/datasets/images\",\"kind\":\"dataset\",\"source\":\"$n/datasets/dsimg7/v3\",\"readonly\":true,\"quota\":null,\"status\":\"granted\",\"reason\":null,\"dataset\":{\"id\":\"dsimg7\",\"version\":\"v3\"}}" \
        "$(field '.mounts[3]')"
expect_eq "plan public dataset" \
        "{\"target\":\"/datasets/mnist\",\"kind\":\"dataset\",\"source\":\"$n/datasets/dsmnist/v1\",\"readonly\":true,\"quota\":null,\"status\":\"granted\",\"reason\":null,\"dataset\":{\"id\":\"dsmnist\",\"version\":\"v1\"}}" \
        "$(field '.mounts[4]')"
expect_eq "plan s3 bucket" \
        '{"target":"/datasets/my-bucket-data","kind":"s3","source":"s3://my-bucket/my-data","readonly":true,"quota":null,"status":"granted","reason":null,"s3":{"bucket":"my-bucket","prefix":"my-data","region":"us-west-1","endpoint":null,"access_key_id":"AK123","secret":"my-bucket-secret-key","public":false}}' \
        "$(field '.mounts[5]')"
# plan_matches_schema NAME: the plan in $out validates against plan.schema.json (ajv, strict).
plan_matches_schema() {
        local result
        echo "$out" >"$work/schema-check.json"
        result=$(node tests/schema/validate.js -s schemas/plan.schema.json -r schemas/common.schema.json \
                "$work/schema-check.json" 2>&1)
        case $result in
        "valid	"*) ok "$1: output validates against plan.schema.json" ;;
        *) not_ok "$1: output validates against plan.schema.json" "$result" ;;
        esac
}
plan_matches_schema "sample plan"

# --- the table ----------------------------------------------------------------------------------
run_nbmount plan --config "$config" --team acme --notebook nb1 --user alice
expect_eq "table exit code" 0 "$rc"
expect_eq "table header" "team acme, notebook nb1, user alice, node cluster east-1, plan pro (no card on file), quota required, settings errors: skip" \
        "$(echo "$out" | sed -n 1p)"
expect_eq "table columns" "TARGET KIND SOURCE MODE QUOTA STATUS REASON" "$(echo "$out" | sed -n 2p | tr -s ' ')"
expect_eq "table /storage row" "/storage storage $n/storage/east-1/acme rw 15 GB/15 GB, 915527 files granted" \
        "$(echo "$out" | grep '^/storage ' | tr -s ' ' | sed 's/ $//')"
expect_eq "table s3 row" "/datasets/my-bucket-data s3 s3://my-bucket/my-data ro - granted" \
        "$(echo "$out" | grep '^/datasets/my-bucket-data ' | tr -s ' ' | sed 's/ $//')"

# --- refusals: exit 1 with the reason ------------------------------------------------------------
plan_as carol
expect_eq "non-member: exit 1" 1 "$rc"
plan_matches_schema "non-member plan"
expect_eq "non-member: every mount refused with the membership reason" \
        '["user carol is not a member of team acme; ask the team'"'"'s admin to add carol"]' \
        "$(echo "$out" | jq -c '[.mounts[].reason] | unique')"

run_nbmount plan --config "$config" --team acme --notebook nb1 --user alice --storage-cluster west-2 --json
expect_eq "other cluster's storage: exit 1" 1 "$rc"
expect_eq "other cluster's storage: reason names both clusters" \
        '"storage of cluster west-2 cannot be mounted on a node of cluster east-1; run the notebook on a west-2 node"' \
        "$(echo "$out" | jq -c '.mounts[1].reason')"
expect_eq "other cluster's storage: the rest is still granted" '["granted"]' \
        "$(echo "$out" | jq -c '[.mounts[] | select(.target != "/storage") | .status] | unique')"

settings=$node/notebooks/acme/nb1/.gradient/settings.yaml
cp "$settings" "$work/settings.orig"
printf 'q:\n  type: dataset\n  id: dsr8k5qzn401lb5\n  version: v9\n' >"$settings"
plan_as alice
expect_eq "unknown dataset version: exit 1" 1 "$rc"
expect_eq "unknown dataset version: reason lists the versions" \
        '"dataset dsr8k5qzn401lb5 has no version v9 (versions: v1, v2)"' "$(echo "$out" | jq -c '.mounts[2].reason')"

printf 'q:\n  type: dataset\n  id: dsnope\n' >"$settings"
plan_as alice
expect_eq "unknown dataset id: refused" \
        '1 "dataset dsnope is neither a dataset of team acme nor a public dataset; check its id in settings.yaml"' \
        "$rc $(echo "$out" | jq -c '.mounts[2].reason')"
expect_eq "unknown dataset id: no version" '{"id":"dsnope","version":null}' "$(echo "$out" | jq -c '.mounts[2].dataset')"
plan_matches_schema "unknown dataset plan"

printf 'b:\n  type: s3\n  url: s3://my-bucket\n  endpoint: https://169.254.169.254\n' >"$settings"
plan_as alice
expect_eq "metadata endpoint: refused" \
        '"endpoint https://169.254.169.254 is a link-local address; this node refuses endpoints that are not globally reachable (s3.allow_private_endpoints in node.yaml)"' \
        "$(echo "$out" | jq -c '.mounts[2].reason')"
plan_matches_schema "refused s3 plan"

mkdir "$node/notebooks/acme/nb1/checkpoints"
printf '{}\n' >"$settings"
plan_as alice
expect_eq "checkpoints folder: a warning, still exit 0" \
        '0 ["the notebook has a folder named checkpoints, which Jupyter reserves; rename it"]' \
        "$rc $(echo "$out" | jq -c '.warnings')"
rmdir "$node/notebooks/acme/nb1/checkpoints"

# --- invalid input: the entry skipped (exit 1), or exit 2 with FILE:LINE:COL when told to refuse ---
printf 'q:\n  type: dataset\n  id: dsr8k5qzn401lb5\n  versoin: v1\nr: {type: dataset, id: dsr8k5qzn401lb5}\n' >"$settings"
plan_as alice
expect_eq "bad settings.yaml entry: skipped alone, with file:line:col; the next entry granted" \
        "1 [\"/datasets/q\",\"invalid\",\"skipped\",\"$settings:4:3: unknown key \\\"versoin\\\" in mount \\\"q\\\" (allowed: type, id, version)\"] [\"/datasets/r\",\"granted\"]" \
        "$rc $(echo "$out" | jq -c '.mounts[2] | [.target, .kind, .status, .reason]') $(echo "$out" | jq -c '.mounts[3] | [.target, .status]')"
plan_matches_schema "skipped entry plan"
run_nbmount plan --config "$refuse_config" --team acme --notebook nb1 --user alice --json
expect_eq "bad settings.yaml, on_error refuse: exit 2 and file:line:col, as before" \
        "2 nbmount: $settings:4:3: unknown key \"versoin\" in mount \"q\" (allowed: type, id, version)" "$rc $err"
expect_eq "bad settings.yaml, on_error refuse: nothing on stdout" "" "$out"
printf 'q: [\n' >"$settings"
expect_settings_fault "settings.yaml not YAML" \
        "$settings:2:1: invalid YAML: did not find expected node content while parsing a flow node"
cp "$work/settings.orig" "$settings"

# --- files a user could have planted -------------------------------------------------------------
# Run natively (openat2) and under valgrind, which lacks openat2 and so takes the fallback walk
# through the tree one O_NOFOLLOW component at a time; valgrind also reports memory errors and leaks.
planted_files() {
        local label=$1
        gradient=$node/notebooks/acme/nb1/.gradient
        echo 'cluster: east-1' >"$work/elsewhere.yaml"
        mv "$settings" "$work/settings.real"
        ln -s "$work/elsewhere.yaml" "$settings"
        expect_settings_fault "${label}settings.yaml is a symlink" \
                "$node/notebooks/acme/nb1/.gradient/settings.yaml: a symlink is in the path; nbmount never follows symlinks here, replace it with a real file or folder"
        rm "$settings"
        mkfifo "$settings"
        expect_settings_fault "${label}settings.yaml is a FIFO (without blocking)" \
                "$settings: is not a regular file; replace it with a file"
        rm "$settings"
        mv "$gradient" "$work/gradient.real"
        ln -s "$work" "$gradient"
        cp "$work/settings.real" "$work/settings.yaml"
        expect_settings_fault "${label}.gradient is a symlink" \
                "$node/notebooks/acme/nb1/.gradient/settings.yaml: a symlink is in the path; nbmount never follows symlinks here, replace it with a real file or folder"
        rm "$gradient"
        mv "$work/gradient.real" "$gradient"
        mv "$work/settings.real" "$settings"
        plan_as alice
        expect_eq "${label}restored settings: exit 0" 0 "$rc"

        mv "$node/grants/acme.json" "$work/acme.json"
        ln -s "$work/acme.json" "$node/grants/acme.json"
        plan_as alice
        expect_eq "${label}grants file is a symlink: refused" \
                "2 nbmount: $node/grants/acme.json: a symlink is in the path; nbmount never follows symlinks here, replace it with a real file or folder" \
                "$rc $err"
        rm "$node/grants/acme.json"
        plan_as alice
        expect_eq "${label}no grants for the team: exit 2, says who writes them" \
                "2 nbmount: $node/grants/acme.json: team acme has no grants; the control plane writes this file when the team is created" \
                "$rc $err"
        mv "$work/acme.json" "$node/grants/acme.json"

        secret=$node/secrets/acme/my-bucket-secret-key
        chmod 644 "$secret"
        plan_as alice
        expect_eq "${label}world-readable secret: refused with the operator's fix" \
                "1 \"secret my-bucket-secret-key of team acme must be owned by root with mode 0600 or 0400; the operator must run chown root: $secret && chmod 600 $secret\"" \
                "$rc $(echo "$out" | jq -c '.mounts[5].reason')"
        chmod 600 "$secret"
        mv "$secret" "$work/secret"
        ln -s "$work/secret" "$secret"
        plan_as alice
        expect_eq "${label}secret is a symlink: refused" \
                "1 \"secret my-bucket-secret-key of team acme is not a regular file ($secret); the operator must replace it with a file\"" \
                "$rc $(echo "$out" | jq -c '.mounts[5].reason')"
        rm "$secret"
        mv "$work/secret" "$secret"
}
planted_files ""
if [ "${SANITIZE:-}" = 1 ]; then
        echo "# valgrind runs left out: this nbmount is built with ASan and UBSan, which do that job here"
elif command -v valgrind >/dev/null; then
        WRAPPER=(valgrind -q --log-file="$work/valgrind.log" --leak-check=full --errors-for-leak-kinds=all --error-exitcode=99)
        planted_files "valgrind: "
        plan_as alice
        expect_eq "valgrind: sample plan without memory errors or leaks" "0 " "$rc $err"
        WRAPPER=()
else
        not_ok "valgrind runs" "valgrind is not installed (./setup.sh installs it)"
fi

chmod 777 "$node/grants"
plan_as alice
expect_eq "grants folder writable by others: refused with the operator's fix" \
        "2 nbmount: $node/grants: the grants folder must be owned by root and writable by no one else (it is owned by uid 0, mode 0777); the operator must run chown root: $node/grants && chmod go-w $node/grants" \
        "$rc $err"
chmod 755 "$node/grants"
chown 1000 "$node/grants/acme.json"
plan_as alice
expect_eq "grants file owned by another user: refused" \
        "2 nbmount: $node/grants/acme.json: a grants file must be owned by root and writable by no one else (it is owned by uid 1000, mode 0644); the operator must run chown root: $node/grants/acme.json && chmod go-w $node/grants/acme.json" \
        "$rc $err"
chown 0 "$node/grants/acme.json"
chmod 666 "$node/grants/public.json"
plan_as alice
expect_eq "public.json writable by others: refused" "2" "$rc"
chmod 644 "$node/grants/public.json"
plan_as alice
expect_eq "grants restored: exit 0" 0 "$rc"

# --- --bundle: the identity from config.json annotations ------------------------------------------
mkdir -p "$work/bundle"
cat >"$work/bundle/config.json" <<'EOT'
{"ociVersion": "1.0.2", "process": {"args": ["sh"], "cwd": "/"}, "root": {"path": "rootfs"},
 "annotations": {"io.nbmount.team": "acme", "io.nbmount.notebook": "nb1", "io.nbmount.user": "bob",
                 "org.example.other": "ignored"}}
EOT
run_nbmount plan --config "$config" --bundle "$work/bundle" --json
expect_eq "--bundle: exit 0 and the annotated user" '0 "bob"' "$rc $(echo "$out" | jq -c .user)"

# --- usage ---------------------------------------------------------------------------------------
run_nbmount --version
expect_eq "--version" "0 nbmount $(cat VERSION)" "$rc $out"
run_nbmount --help
expect_eq "--help exits 0 and lists plan" "0 yes" "$rc $(echo "$out" | grep -q '^  plan ' && echo yes)"
for command in plan validate; do
        run_nbmount $command --help
        expect_eq "$command --help" "0 Usage: nbmount $command" "$rc $(echo "$out" | head -1 | cut -d' ' -f1-3)"
done
run_nbmount plan --config "$config" --team acme
expect_eq "plan without --notebook/--user: exit 2" \
        "2 nbmount: plan needs either --bundle DIR or --team, --notebook and --user; see nbmount plan --help" "$rc $err"
run_nbmount plan --config "$config" --team ../acme --notebook nb1 --user alice
expect_eq "plan --team with a path: exit 2" "2 nbmount: --team \"../acme\" starts with a dot" "$rc $err"
run_nbmount frobnicate
expect_eq "unknown command: exit 2" '2 nbmount: unknown command "frobnicate"; see nbmount --help' "$rc $err"
run_nbmount plan --config "$work/missing.yaml" --team acme --notebook nb1 --user alice
expect_eq "missing node config: exit 2 with the fix" \
        "2 nbmount: $work/missing.yaml: cannot open the node config: No such file or directory; write one (see nbmount-node.yaml(5)) or pass --config FILE" \
        "$rc $err"
exit 0
