#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Metering with real project quotas: run INSIDE User-Mode Linux by tests/meter-check.sh.
# Usage: tests/lib/uml-meter.sh NBMOUNT
#   /dev/ubda  XFS with prjquota on /run/q: the node's storage and notebook roots
# Two teams' folders get their plans' quotas (nbmount quota apply), writers fill them hour by hour
# of a test clock (NBMOUNT_TEST_CLOCK=1, --now), `nbmount meter` samples each hour (one hour left
# out, one sampled twice), and the bill must charge exactly the hours a project was over its
# allowance, at the bytes the kernel accounted. The ledger, the bill (bill.json) and the metrics
# (prom/nbmount.prom, with a stand-in nbmountd's mounts) stay in UML_RUN_DIR for the host.
# Prints "ok - meter uml: NAME" / "not ok - meter uml: NAME: why"; details on stderr.
set -u
NBMOUNT=$1
cd "$(dirname "$0")/../.."
. tests/lib/uml-lib.sh
. tests/lib/sample-node.sh
. tests/lib/testlib.sh
testlib_init "meter uml:"

Q=/run/q N=/run/q/node
STATE=$UML_RUN_DIR/state PROM=$UML_RUN_DIR/prom
if uml_quota_fs xfs /dev/ubda $Q >/tmp/mkfs.log 2>&1; then
        ok "harness: XFS on /dev/ubda mounted with prjquota"
else
        not_ok "harness: XFS on /dev/ubda mounted with prjquota" "$(cat /tmp/mkfs.log)"
        testlib_end
        exit 0
fi
uml_node $N # pro {storage: 20MB, notebook: 10MB}, free {storage: 8MB, notebook: 4MB}, overage_cap 5MB
mkdir -p "$STATE/offline/usage" "$PROM"
sed -i "s|^state: .*|state: $STATE|; s|^mountd_socket: .*|mountd_socket: /run/nbmount-fake/mountd.sock|" $N/node.yaml
printf 'bucket_storage: {free: 2MB}\n' >>$N/node.yaml
uml_grant $N acme pro true alice
uml_grant $N beta free false bob
mkdir -p $N/storage/east-1/acme $N/storage/east-1/beta $N/notebooks/acme/nb1
for team in acme beta; do
        "$NBMOUNT" quota apply $team --config $N/node.yaml >&2 || not_ok "nbmount quota apply $team" "see stderr"
done
printf '{"team": "acme", "bytes": 3000000, "objects": 3, "updated_at": "2026-12-01T00:00:00Z"}' \
        >"$STATE/offline/usage/acme.json"

# A stand-in nbmountd with one healthy and one dead mount.
cat >/tmp/mounts.json <<'EOT'
{"ok": true, "mounts": [
 {"name": "m-acme-data", "spec": {"team": "acme", "bucket": "acme-data", "prefix": "", "endpoint": "", "read_only": false},
  "state": "ready", "s3fs_alive": true, "mounted": true, "restarts": 2, "s3fs_pid": 123, "key_generation": 1,
  "containers": [{"id": "c1"}, {"id": "c2"}]},
 {"name": "m-beta-logs", "spec": {"team": "beta", "bucket": "beta-logs", "prefix": "", "endpoint": "", "read_only": true},
  "state": "ready", "s3fs_alive": false, "mounted": true, "restarts": 0, "s3fs_pid": 0, "key_generation": 1,
  "containers": []}]}
EOT
python3 tests/lib/mountd_fake.py /run/nbmount-fake/mountd.sock /tmp/mounts.json >/tmp/fake.out 2>&1 &
fake=$!
wait_until 10 grep -q ready /tmp/fake.out

meter() { # HOUR: nbmount meter at minute 30 of that hour of 2026-12-01
        NBMOUNT_TEST_CLOCK=1 "$NBMOUNT" meter --config $N/node.yaml --now "2026-12-01T$1:30:00Z" --textfile "$PROM" 2>&1
}
used_of() { # PROJECT: the bytes the last ledger batch recorded for it
        grep "\"project\":\"$1\"" "$STATE/ledger/2026-12.jsonl" | tail -1 | jq '.used_bytes'
}
write() { dd if=/dev/zero of="$1" bs=1M count="$2" conv=fsync status=none; }

write $N/storage/east-1/acme/base 12
write $N/storage/east-1/beta/base 2
write $N/notebooks/acme/nb1/base 1
declare -A acme_used
# hour 00: under; 01, 02: over (+10 MiB); 03: under again; 04: not sampled; 05: over
for hour in 00 01 02 03 05; do
        case $hour in
        01) write $N/storage/east-1/acme/more 10 ;;
        03) rm $N/storage/east-1/acme/more && sync ;;
        05) write $N/storage/east-1/acme/more 10 ;;
        esac
        out=$(meter $hour)
        expect_match "hour $hour: nbmount meter records the hour" "2026-12-01T$hour:00:00Z: recorded" "$out"
        acme_used[$hour]=$(used_of team.acme)
done
out=$(meter 02 2>&1; echo "rc=$?")
expect_match "an earlier hour than the last recorded is refused, nothing appended" "before the last one recorded.*rc=1" "$(oneline "$out")"
size=$(stat -c %s "$STATE/ledger/2026-12.jsonl")
out=$(meter 05)
expect_match "a second run in hour 05 appends nothing" "already recorded; nothing appended" "$out"
expect_eq "... the ledger is unchanged" "$size" "$(stat -c %s "$STATE/ledger/2026-12.jsonl")"

# What the kernel accounted, hour by hour, against acme's allowance of 20 MB (pro; card on file).
expected=$(for hour in 00 01 02 03 05; do echo "${acme_used[$hour]}"; done |
        awk '{ over = $1 - 20000000; if (over > 0) { hours++; bytes += over } }
             END { printf "%d %.0f %.0f\n", hours, bytes, int((bytes * 290000 + 1e9 * 744 / 2) / (1e9 * 744)) }')
read -r over_hours over_bytes over_micro <<<"$expected"
echo "# acme used per hour: ${acme_used[*]}; expected: $expected" >&2
expect_eq "the kernel's figures: acme over its 20 MB in exactly 3 sampled hours (01, 02, 05)" 3 "$over_hours"
NBMOUNT_TEST_CLOCK=1 "$NBMOUNT" quota --month 2026-12 --json --now 2026-12-01T05:59:00Z --config $N/node.yaml \
        >"$UML_RUN_DIR/bill.json" 2>/tmp/bill.err
expect_eq "the bill of acme's volumes: 5 sampled, hour 04 missing, 3 over, the GB-hours and the charge of those hours" \
        "5|1|2026-12-01T04:00:00Z..2026-12-01T04:00:00Z|3|$(awk -v b="$over_bytes" 'BEGIN { printf "%.6f", b / 1e9 }')|$over_micro" \
        "$(jq -r '.teams[] | select(.team == "acme" and .storage == "volumes") |
                "\(.hours_sampled)|\(.hours_missing)|\(.missing[0].from)..\(.missing[0].to)|\(.hours_over)|\(.gb_hours_charged * 1000000 | round / 1000000 | tostring)|\(.charge_microdollars)"' \
                "$UML_RUN_DIR/bill.json" | awk -F'|' '{ $5 = sprintf("%.6f", $5); print }' OFS='|')"
expect_eq "beta (free, no card): 5 h without a card, never over, nothing charged" "5|0|0" \
        "$(jq -r '.teams[] | select(.team == "beta") | "\(.hours_without_card)|\(.hours_over)|\(.charge_microdollars)"' "$UML_RUN_DIR/bill.json")"
expect_eq "acme's buckets: their own line, 1 MB over bucket_storage.free for 5 h" "buckets|5|5|0.005" \
        "$(jq -r '.teams[] | select(.team == "acme" and .storage == "buckets") | "\(.storage)|\(.hours_sampled)|\(.hours_over)|\(.gb_hours_charged)"' "$UML_RUN_DIR/bill.json")"

# The metrics of the last run: the kernel's use, the plan's limits, the stand-in nbmountd's mounts.
prom=$PROM/nbmount.prom
text=$(cat "$prom")
expect_has "metrics: acme's use as the ledger has it" "$text" \
        "nbmount_project_used_bytes{kind=\"team\",team=\"acme\",notebook=\"\",project=\"team.acme\"} ${acme_used[05]}"
expect_has "metrics: acme's hard limit is its allowance plus the overage cap (card on file)" "$text" \
        'nbmount_project_hard_limit_bytes{kind="team",team="acme",notebook="",project="team.acme"} 25000000'
expect_has "metrics: beta's hard limit is its allowance (no card)" "$text" \
        'nbmount_project_hard_limit_bytes{kind="team",team="beta",notebook="",project="team.beta"} 8000000'
expect_has "metrics: the notebook's soft limit" "$text" \
        'nbmount_project_soft_limit_bytes{kind="notebook",team="acme",notebook="nb1",project="notebook.acme/nb1"} 10000000'
expect_has "metrics: acme's bucket overage" "$text" \
        'nbmount_project_overage_bytes{kind="bucket",team="acme",notebook="",project="bucket.acme"} 1000000'
expect_eq "metrics: a bucket has no hard limit: no sample" "" "$(grep 'hard_limit_bytes{kind="bucket"' "$prom")"
expect_has "metrics: nbmountd answered" "$text" "nbmount_mountd_up 1"
expect_has "metrics: the mounts' health (ok: 1, s3fs dead: 0)" "$text" \
        'nbmount_s3_mount_healthy{mount="m-acme-data",team="acme",bucket="acme-data"} 1' \
        'nbmount_s3_mount_healthy{mount="m-beta-logs",team="beta",bucket="beta-logs"} 0'
expect_has "metrics: restarts are a counter" "$text" \
        'nbmount_s3_mount_restarts_total{mount="m-acme-data",team="acme",bucket="acme-data"} 2' '# TYPE nbmount_s3_mount_restarts_total counter'
expect_has "metrics: containers holding each mount" "$text" \
        'nbmount_s3_mount_containers{mount="m-acme-data",team="acme",bucket="acme-data"} 2'
expect_eq "metrics: no temporary file is left beside nbmount.prom" "nbmount.prom" "$(ls "$PROM")"
cp "$prom" "$UML_RUN_DIR/with-mounts.prom"
kill "$fake"
out=$(meter 06)
expect_has "metrics: without nbmountd the meter still records and writes the file, with nbmount_mountd_up 0" \
        "$(cat "$prom")" "nbmount_mountd_up 0"
expect_match "... and says why on stderr" "nbmountd is not running.*nbmount_mountd_up 0" "$out"
testlib_end
