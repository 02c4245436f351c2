#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end tests of the notebooks' offline copies (issue 18): real runc containers whose poststop
# hook asks a real nbmountd, which copies the notebook into a real S3 server (s3rver) behind
# tests/lib/s3auth.js (which checks each request's SigV4 signature and logs the key that made it).
# Usage: tests/offline-check.sh [NBMOUNT [NBMOUNTD]]. Prints "ok - offline ..." / "not ok - ..."
# lines; always exits 0. Needs root, runc, busybox, jq, git, node, curl, python3.
set -u
cd "$(dirname "$0")/.."
NBMOUNT=$(realpath "${1:-build/nbmount}")
NBMOUNTD=$(realpath "${2:-$(dirname "$NBMOUNT")/nbmountd}")
. tests/lib/sample-node.sh
. tests/lib/bundle.sh
. tests/lib/s3.sh
. tests/lib/testlib.sh
testlib_init offline

need_tools runc busybox jq git node curl python3 mkfifo truncate
[ -e "$S3RVER_JS" ] || { not_ok "prerequisites" "$S3RVER_JS is missing (run ./setup.sh)"; exit 0; }
need_root "the offline copy tests need root"

work=$(mktemp -d /tmp/nbmount-offline.XXXXXX)
run_dir=/run/nbmount-offtest-$$
MOUNTD_LOG=$work/mountd.log
servers=()
trap 's3_server_stop; s3_suite_cleanup offline' EXIT
trap 'echo "# interrupted"; exit 1' INT TERM
bundle_init "$work" "$NBMOUNT" >"$work/init.log" 2>&1 || { not_ok "harness: bundle_init" "$(cat "$work/init.log")"; exit 0; }
s3_server_start "$work/s3" nbm-offline || { not_ok "harness: s3rver" "did not start"; exit 0; }

# s3rver behind the signature check: only the node's key (label "node") is taken
secret_value="nbm-offline-secret-$RANDOM$RANDOM-do-not-leak"
auth_port=$(free_port)
echo "node $secret_value" >"$work/keys"
echo node >"$work/accept"
: >"$work/access.log"
: >"$work/delay"
node tests/lib/s3auth.js "$auth_port" "$S3_PORT" "$work/keys" "$work/accept" "$work/access.log" "$work/delay" \
        >>"$work/s3auth.log" 2>&1 &
servers+=($!)
wait_until 10 curl -s -o /dev/null "http://127.0.0.1:$auth_port/" || { not_ok "harness: s3auth.js" "did not start"; exit 0; }
: >"$work/access.log"

# --- the node: acme has a card on file, beta none; a small free allowance (4 KB) ---
node=$work/node
make_sample_node "$node"
config=$node/node.yaml
sed -i "s|^mountd_socket: .*|mountd_socket: $run_dir/mountd.sock|; s|^quota: .*|quota: {enforce: off}|" "$config"
cat >>"$config" <<EOT
bucket_storage:
  bucket: nbm-offline
  endpoint: http://127.0.0.1:$auth_port
  region: us-east-1
  access_key_id: S3RVER
  secret: offline-key
  free: 4kB
EOT
mkdir -p "$node/secrets/.node"
printf '%s\n' "$secret_value" >"$node/secrets/.node/offline-key"
chmod 600 "$node/secrets/.node/offline-key"
jq -c '.card_on_file = true' "$node/grants/acme.json" >"$work/g" && mv "$work/g" "$node/grants/acme.json"
for team in beta gamma; do
        jq -c --arg t $team '.team = $t | .datasets = [] | .card_on_file = false' "$node/grants/acme.json" \
                >"$node/grants/$team.json"
done
sed -i '/^my-bucket-data:/,$d' "$node/notebooks/acme/nb1/.gradient/settings.yaml"
BB_CONFIG=$config

# --- acme/nb1: every kind of file, and what must never be copied ---
nb=$node/notebooks/acme/nb1
mkdir -p "$nb"/{notes,repo/src,repo/build,data,img}
echo '{"cells": []}' >"$nb/a.ipynb"
echo '# notes' >"$nb/notes/b.md"
echo '# readme' >"$nb/README.md"
echo 'print(1)' >"$nb/repo/src/main.py"
echo 'build/' >"$nb/repo/.gitignore"
git -C "$nb/repo" init -q && git -C "$nb/repo" add src/main.py .gitignore
echo scratch >"$nb/repo/scratch.txt"
echo object >"$nb/repo/build/out.o"
printf 'data/*.csv\n!data/secret.csv\n*.png\n' >"$nb/.notebookinclude"
echo 1,2 >"$nb/data/x.csv"
echo secret >"$nb/data/secret.csv"
echo png >"$nb/img/p.png"
echo other >"$nb/other.bin"
ln -s /etc/shadow "$nb/link.md"
ln -s /etc/shadow "$nb/data/shadow.csv"
mkfifo "$nb/fifo.md"
truncate -s 3G "$nb/big.ipynb"
chown -R 1000:1000 "$nb"
expected="acme/nb1/README.md
acme/nb1/a.ipynb
acme/nb1/data/x.csv
acme/nb1/img/p.png
acme/nb1/notes/b.md
acme/nb1/repo/.gitignore
acme/nb1/repo/src/main.py"

keys_of() { s3_list nbm-offline | grep "^$1/" | sort; }
has_keys() { [ -n "$(keys_of "$1")" ]; }
manifest() { echo "$node/state/offline/notebooks/$1/nb1.json"; }
state_of() { jq -r .state "$(manifest "$1")" 2>/dev/null; }
complete_after() { # complete_after TEAM SECONDS-SINCE-EPOCH: the copy asked for then is complete
        [ "$(state_of "$1")" = complete ] &&
                [ "$(date -d "$(jq -r .updated_at "$(manifest "$1")")" +%s)" -ge "$2" ]
}
# stop_container TEAM: a container of TEAM/nb1 runs and stops; its poststop queues the copy
stop_container() {
        new_bundle --identity "$1" nb1 alice --config "$config" --user 1000:1000 --cmd "echo started"
        run_runc "$bundle"
}
puts() { grep -c "^PUT /nbm-offline/$1/" "$work/access.log"; }

mountd_start "$config" || { not_ok "harness: nbmountd" "$(tail -5 "$MOUNTD_LOG")"; exit 0; }

# --- the first stop: exactly the expected set ---
t0=$(date +%s)
start_ms=$(date +%s%N)
stop_container acme
stop_ms=$(date +%s%N)
expect_eq "stop: the container ran and stopped" "0 started" "$run_rc $run_out"
if wait_until 60 complete_after acme "$t0"; then ok "the copy completed after the stop"; else not_ok "the copy completed after the stop" "$(state_of acme); $(tail -5 "$MOUNTD_LOG")"; fi
expect_eq "the bucket holds exactly the .ipynb, .md, git-tracked and .notebookinclude files (ListObjectsV2)" \
        "$expected" "$(keys_of acme/nb1)"
expect_eq "the objects hold the files' bytes" '{"cells": []}|print(1)' \
        "$(curl -s "$S3_ENDPOINT/nbm-offline/acme/nb1/a.ipynb")|$(curl -s "$S3_ENDPOINT/nbm-offline/acme/nb1/repo/src/main.py")"
expect_eq "every request was signed by the node's key (SigV4 checked by s3auth.js) and taken" "" \
        "$(grep -v ' node taken$' "$work/access.log")"
expect_eq "one PUT per object" 7 "$(puts acme/nb1)"
expect_eq "the 3 GB sparse .ipynb is left out: over max_file_size" \
        "big.ipynb larger than bucket_storage.max_file_size (1000000000 bytes)" \
        "$(jq -r '.left_out[] | "\(.path) \(.why)"' "$(manifest acme)")"
expect_eq "no symlink, FIFO or excluded file is in the manifest" "" \
        "$(jq -r '.files[].path' "$(manifest acme)" | grep -E 'link.md|fifo.md|shadow|secret.csv|scratch|out.o|other.bin')"
expect_match "the notebook's offline.status says what the copy holds, as the notebook's user" \
        "^1000 # nbmount offline copy of acme/nb1: complete at .*; 7 files, [0-9]+ bytes \(a card on file: no cap\)" \
        "$(stat -c %u "$nb/.gradient/offline.status") $(head -1 "$nb/.gradient/offline.status")"
expect_eq "the team's usage for nbmount meter" "acme $(jq .bytes "$(manifest acme)") 7" \
        "$(jq -r '"\(.team) \(.bytes) \(.objects)"' "$node/state/offline/usage/acme.json")"
"$NBMOUNT" meter --config "$config" >"$work/meter.out" 2>&1
expect_eq "nbmount meter records the team's bucket usage as a bucket record of this hour" \
        "bucket.acme $(jq .bytes "$node/state/offline/usage/acme.json") 4000" \
        "$(cat "$node"/state/ledger/*.jsonl 2>/dev/null | jq -r 'select(.kind == "bucket") | "\(.project) \(.used_bytes) \(.allowance_bytes)"' | tail -1)"
sed 's/^/# nbmount meter: /' "$work/meter.out" >&2
expect_match "nbmount offline lists the copy" "^a.ipynb +[0-9]+ +ipynb +[0-9T:-]+Z$" \
        "$("$NBMOUNT" offline acme nb1 --config "$config" | grep '^a.ipynb')"
expect_eq "nbmount offline --json is the manifest" "7 complete" \
        "$("$NBMOUNT" offline acme nb1 --config "$config" --json | jq -r '"\(.objects) \(.state)"')"

# --- a change and a second stop: only what changed is sent, what was deleted goes ---
: >"$work/access.log"
sleep 1
echo '{"cells": [1]}' >"$nb/a.ipynb"
echo '# new' >"$nb/new.md"
chown 1000:1000 "$nb/new.md"
rm "$nb/notes/b.md"
t1=$(date +%s)
stop_container acme
if wait_until 60 complete_after acme "$t1"; then ok "the second copy completed"; else not_ok "the second copy completed" "$(state_of acme)"; fi
expect_eq "second stop: only the changed and the new file were sent (server log)" \
        "PUT /nbm-offline/acme/nb1/a.ipynb|PUT /nbm-offline/acme/nb1/new.md" \
        "$(grep '^PUT ' "$work/access.log" | cut -d' ' -f1,2 | sort | tr '\n' '|' | sed 's/|$//')"
expect_eq "second stop: the deleted file's object is gone" "DELETE /nbm-offline/acme/nb1/notes/b.md" \
        "$(grep '^DELETE ' "$work/access.log" | cut -d' ' -f1,2)"
expect_eq "second stop: the bucket holds the new set" \
        "$({ printf '%s\n' "$expected" | grep -v notes/b.md; echo acme/nb1/new.md; } | sort)" "$(keys_of acme/nb1)"

# --- a team without a card over its allowance: the ordered subset, and the record of what was left ---
nbb=$node/notebooks/beta/nb1
mkdir -p "$nbb/.gradient"
for f in old mid new; do head -c 1500 /dev/zero | tr '\0' x >"$nbb/$f.ipynb"; done
touch -d '2026-01-01' "$nbb/old.ipynb"; touch -d '2026-01-02' "$nbb/mid.ipynb"; touch -d '2026-01-03' "$nbb/new.ipynb"
head -c 900 /dev/zero | tr '\0' y >"$nbb/x.md"
chown -R 1000:1000 "$nbb"
t2=$(date +%s)
stop_container beta
expect_eq "no card: the stop does not fail" "0 started" "$run_rc $run_out"
if wait_until 60 complete_after beta "$t2"; then ok "no card: the copy completed"; else not_ok "no card: the copy completed" "$(state_of beta)"; fi
expect_eq "no card: .ipynb newest first, then .md, up to the 4 kB allowance" \
        "beta/nb1/mid.ipynb beta/nb1/new.ipynb beta/nb1/x.md" "$(keys_of beta/nb1 | tr '\n' ' ' | sed 's/ $//')"
expect_eq "no card: what was left out is recorded, with why" \
        "old.ipynb over the team's free allowance of 4000 bytes (no card on file)" \
        "$(jq -r '.left_out[] | "\(.path) \(.why)"' "$(manifest beta)")"
expect_eq "no card: the notebook's offline.status shows it" \
        "left out  old.ipynb  1500  over the team's free allowance of 4000 bytes (no card on file)" \
        "$(grep '^left out' "$nbb/.gradient/offline.status")"
expect_match "no card: nbmount offline shows it" "^old.ipynb +1500 +ipynb +left out: over the team's free allowance" \
        "$("$NBMOUNT" offline beta nb1 --config "$config" | grep '^old.ipynb')"

# --- nbmountd killed mid-copy and started again: the copy completes ---
nbg=$node/notebooks/gamma/nb1
mkdir -p "$nbg/.gradient"
for i in $(seq 1 40); do echo "page $i" >"$nbg/p$i.md"; done
chown -R 1000:1000 "$nbg"
echo 150 >"$work/delay"
t3=$(date +%s)
stop_container gamma
wait_until 30 has_keys gamma/nb1
walker=$(pgrep -P "$MOUNTD_PID" -x nbmountd | head -1)
leaks=0
for pid in "$MOUNTD_PID" $(pgrep -P "$MOUNTD_PID"); do
        for f in cmdline environ; do grep -qaF "$secret_value" "/proc/$pid/$f" 2>/dev/null && leaks=$((leaks + 1)); done
done
expect_eq "the key is in no argv or environ of nbmountd or its children, mid-copy" 0 "$leaks"
expect_eq "the walk's child runs as the notebook's owner, without capabilities" "1000 0000000000000000" \
        "$([ -n "$walker" ] && echo "$(awk '/^Uid:/ { print $3 }' "/proc/$walker/status") $(awk '/^CapEff:/ { print $2 }' "/proc/$walker/status")")"
mountd_stop KILL
partial=$(keys_of gamma/nb1 | wc -l)
expect_eq "killed mid-copy: some objects sent, the manifest still pending" "yes pending" \
        "$([ "$partial" -gt 0 ] && [ "$partial" -lt 40 ] && echo yes || echo "no ($partial)") $(state_of gamma)"
: >"$work/delay"
mountd_start "$config" || { not_ok "harness: nbmountd again" "$(tail -5 "$MOUNTD_LOG")"; exit 0; }
if wait_until 60 complete_after gamma "$t3"; then ok "restarted: the copy completed"; else not_ok "restarted: the copy completed" "$(state_of gamma)"; fi
expect_eq "restarted: all 40 objects are there" 40 "$(keys_of gamma/nb1 | wc -l)"
expect_match "restarted: nbmountd said it resumed" "offline copy of gamma/nb1: pending before; resumed" "$(cat "$MOUNTD_LOG")"
expect_eq "the key is in no log or state file" "" \
        "$(grep -rlaF "$secret_value" "$MOUNTD_LOG" "$node/state" "$run_dir" "$node/notebooks" 2>/dev/null)"

# --- nbmountd not running: poststop does not fail ---
mountd_stop TERM
stop_container acme
expect_eq "nbmountd down: the container still starts and stops" "0 started" "$run_rc $run_out"

# --- the feature off (no bucket_storage): poststop sends nothing ---
sed -i '/^bucket_storage:/,$d' "$config"
mountd_start "$config" || { not_ok "harness: nbmountd without bucket_storage" "$(tail -5 "$MOUNTD_LOG")"; exit 0; }
before=$(grep -c "no offline copy" "$MOUNTD_LOG")
stop_container acme
expect_eq "bucket_storage absent: nothing is asked for" "0 started $before" "$run_rc $run_out $(grep -c "no offline copy" "$MOUNTD_LOG")"
testlib_end
