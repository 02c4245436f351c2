#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Metering and billing (issue 16): the test clock refused without its switch; a month of ledger
# for a few teams (a plan upgrade on the 10th, a card added on the 16th, a day not sampled, a
# notebook and buckets) written through the ledger's own writer (build/bench/ledger-gen) and its
# bill checked line by line; the ledger's crash safety (a batch torn at the end, kill -9 during
# large writes, a re-run of an hour); the schemas of the ledger and the bill; and in User-Mode
# Linux with real project quotas (tests/lib/uml-meter.sh) the meter itself hour by hour, its bill
# and its Prometheus textfile, which node_exporter then serves here and promtool accepts.
# Usage: tests/meter-check.sh [NBMOUNT]. Prints "ok - meter ..." / "not ok - meter ...: why".
# Needs build/bench/ledger-gen (make unit), jq, node (tests/schema), user-mode-linux, xfsprogs,
# python3, prometheus-node-exporter, prometheus (promtool), curl. METER_UML=0 skips the UML part.
set -u
cd "$(dirname "$0")/.."
NBMOUNT=$(realpath "${1:-build/nbmount}")
. tests/lib/testlib.sh
. tests/lib/uml.sh
testlib_init meter
need_tools jq curl node python3 prometheus-node-exporter promtool
gen=$(dirname "$NBMOUNT")/bench/ledger-gen
[ -x "$gen" ] || gen=build/bench/ledger-gen
if [ ! -x "$gen" ]; then
        not_ok "harness: the ledger generator" "$gen is missing; run make unit"
        exit 0
fi
work=$(mktemp -d /tmp/nbmount-meter.XXXXXX)
exporter=""
cleanup() {
        [ -n "$exporter" ] && kill "$exporter" 2>/dev/null
        rm -rf --one-file-system "$work"
}
trap cleanup EXIT
logs=build/test-logs
mkdir -p "$logs"

# --- the UML part, started first: it runs beside the host tests ---------------------------------------
# ASan cannot run in UML, and the pass with the plain build has run the UML part already.
if grep -q __asan_init "$NBMOUNT"; then
        echo "# meter: $NBMOUNT is an ASan build: the UML part runs in the pass with the plain build"
        METER_UML=0
fi
if [ "${METER_UML:-1}" = 1 ]; then
        export UML_WORK=$work/uml
        mkdir -p "$UML_WORK"
        (
                uml_disk "$UML_WORK/meter.img" 320M
                UML_TIMEOUT=${UML_TIMEOUT:-600} uml_run "$UML_WORK/meter.img" tests/lib/uml-meter.sh "$NBMOUNT" \
                        >"$work/uml.out" 2>"$logs/meter-uml.log"
                echo "$?" >"$work/uml.rc"
                cp "$uml_last/console.log" "$logs/meter-uml.console.log" 2>/dev/null
                cp -r "$uml_last/prom" "$work/prom" 2>/dev/null
                cp "$uml_last/with-mounts.prom" "$uml_last/bill.json" "$work/" 2>/dev/null
                cp "$uml_last/state/ledger/2026-12.jsonl" "$work/uml-ledger.jsonl" 2>/dev/null
                rm -f "$UML_WORK/meter.img"
        ) &
fi

node_yaml() { # STATE: a node config whose state folder is STATE
        mkdir -p "$1"
        printf 'cluster: east-1\nstate: %s\nbilling: {price_per_gb_month: 0.29}\n' "$1" >"$1/node.yaml"
}
bill() { # STATE NOW ARGS...: nbmount quota --month with the test clock
        local state=$1 now=$2
        shift 2
        NBMOUNT_TEST_CLOCK=1 "$NBMOUNT" quota --config "$state/node.yaml" --now "$now" "$@"
}

# --- the test clock -----------------------------------------------------------------------------------
node_yaml "$work/clock"
out=$("$NBMOUNT" meter --config "$work/clock/node.yaml" --now 2026-12-01T00:00:00Z 2>&1; echo "rc=$?")
expect_eq "clock: meter --now without NBMOUNT_TEST_CLOCK=1 is refused before anything is read" \
        "nbmount: --now is for tests only: it is refused unless NBMOUNT_TEST_CLOCK=1 is in the environment (a real run uses the system clock)|rc=2" \
        "$(oneline "$out")"
out=$(NBMOUNT_TEST_CLOCK=yes "$NBMOUNT" quota --month 2026-12 --config "$work/clock/node.yaml" --now 2026-12-01T00:00:00Z 2>&1; echo "rc=$?")
expect_match "clock: quota --month --now with NBMOUNT_TEST_CLOCK=yes (not 1) is refused" "tests only.*rc=2" "$(oneline "$out")"
out=$(NBMOUNT_TEST_CLOCK=1 "$NBMOUNT" quota --month 2026-12 --config "$work/clock/node.yaml" --now 'next tuesday' 2>&1; echo "rc=$?")
expect_match "clock: a --now that is no UTC time is refused" 'must be a UTC time like 2026-12-03T04:00:00Z.*rc=2' "$(oneline "$out")"
expect_eq "clock: no ledger folder was made by the refused runs" "node.yaml" "$(ls "$work/clock")"
out=$("$NBMOUNT" quota --month 2026-13 --config "$work/clock/node.yaml" 2>&1; echo "rc=$?")
expect_eq "month: 2026-13 is refused" 'nbmount: --month "2026-13" must be a month like 2026-12|rc=2' "$(oneline "$out")"

# --- a month for a few teams --------------------------------------------------------------------------
# acme: pro with a card, 20 GB used until the 10th, growth (50 GB) from the 10th 00:00 UTC.
# beta: free, 5 GB used and no card until the 16th (capped), a card and 8 GB from the 16th.
# gamma: pro with a card, its storage at 10 GB, notebook nb1 at 16 GB (15 GB allowance of its own),
# buckets at 3 GB (bucket_storage.free 2 GB).
# Nobody was sampled on the 20th.
GB=000000000
awk -v GB=$GB 'BEGIN {
        for (h = 0; h < 744; h++) {
                day = int(h / 24) + 1
                if (day == 20) continue
                t = sprintf("2026-12-%02dT%02d:00:00Z", day, h % 24)
                if (day < 10) print t, "team acme - pro 15" GB, 1, "20" GB
                else print t, "team acme - growth 50" GB, 1, "20" GB
                if (day < 16) print t, "team beta - free 5" GB, 0, "5" GB
                else print t, "team beta - free 5" GB, 1, "8" GB
                print t, "team gamma - pro 15" GB, 1, "10" GB
                print t, "notebook gamma nb1 pro 15" GB, 1, "16" GB
                print t, "bucket gamma - pro 2" GB, 1, "3" GB
        }
}' >"$work/month.scenario"
node_yaml "$work/month"
"$gen" "$work/month" <"$work/month.scenario" >"$work/month.gen" 2>&1
expect_eq "month: the generator appended 720 hours of batches" "720" "$(grep -c ' appended ' "$work/month.gen")"
bill "$work/month" 2027-01-01T00:00:00Z --month 2026-12 >"$work/month.bill" 2>&1
# acme: 5 GB x 216 h; beta: 3 GB x (384 - 24) h; gamma: 1 GB x 720 h (nb1); buckets 1 GB x 720 h;
# each x 0.29 / 744 h.
expect_eq "month: the bill, line by line" \
        "$(cat <<'EOT'
Month 2026-12 (UTC): 744 hours, 744 due, 720 recorded; $0.29 per GB-month above the allowance
TEAM                 STORAGE   SAMPLED  MISSING   OVER-H  GB-HOURS-OVER   CHARGE-$  NOTE
acme                 volumes       720       24      216       1080.000       0.42  
    missing (not sampled, not filled in): 2026-12-20T00:00:00Z..2026-12-20T23:00:00Z (24 h)
beta                 volumes       720       24      360       1080.000       0.42  no card on file for 360 h: capped, nothing accrued then
    missing (not sampled, not filled in): 2026-12-20T00:00:00Z..2026-12-20T23:00:00Z (24 h)
gamma                volumes       720       24      720        720.000       0.28  
    missing (not sampled, not filled in): 2026-12-20T00:00:00Z..2026-12-20T23:00:00Z (24 h)
gamma                buckets       720       24      720        720.000       0.28  
    missing (not sampled, not filled in): 2026-12-20T00:00:00Z..2026-12-20T23:00:00Z (24 h)
EOT
)" "$(cat "$work/month.bill")"
bill "$work/month" 2027-01-01T00:00:00Z --month 2026-12 beta --json >"$work/beta.json" 2>&1
expect_eq "month: beta --json: one team, exact micro-dollars (3 x 360 x 0.29 / 744 = 0.420968), 360 h without a card" \
        "1|beta|volumes|720|24|360|360|1080|420968|0.42" \
        "$(jq -r '"\(.teams | length)|\(.teams[0] | "\(.team)|\(.storage)|\(.hours_sampled)|\(.hours_missing)|\(.hours_over)|\(.hours_without_card)|\(.gb_hours_charged)|\(.charge_microdollars)|\(.charge)")"' "$work/beta.json")"
bill "$work/month" 2026-12-10T05:10:00Z --month 2026-12 acme --json >"$work/acme-now.json" 2>&1
expect_eq "month: in the middle of the month only the hours begun are due (9 days + 6 h = 222), none missing" "222|0|720" \
        "$(jq -r '"\(.hours_due)|\(.teams[0].hours_missing)|\(.teams[0].hours_sampled)"' "$work/acme-now.json")"
bill "$work/month" 2027-01-01T00:00:00Z --month 2026-12 nobody --json >"$work/nobody.json" 2>&1
expect_eq "month: a team without records: every hour missing, nothing charged" "0|744|0" \
        "$(jq -r '.teams[0] | "\(.hours_sampled)|\(.hours_missing)|\(.charge_microdollars)"' "$work/nobody.json")"
bill "$work/month" 2027-01-01T00:00:00Z --month 2026-11 --json >"$work/november.json" 2>&1
expect_eq "month: a month without a ledger file bills nobody and says 720 due, 0 recorded" "720|0|0" \
        "$(jq -r '"\(.hours_due)|\(.hours_recorded)|\(.teams | length)"' "$work/november.json")"

# --- schemas ------------------------------------------------------------------------------------------
schema_valid() { # NAME SCHEMA FILE...
        local name=$1 schema=$2 result
        shift 2
        result=$(node tests/schema/validate.js -s "schemas/$schema" -r schemas/common.schema.json "$@" 2>&1)
        if [ -n "$result" ] && ! grep -qv '^valid	' <<<"$result"; then ok "$name"; else not_ok "$name" "$(grep -v '^valid	' <<<"$result" | head -3)"; fi
}
bill "$work/month" 2027-01-01T00:00:00Z --month 2026-12 --json >"$work/bill.json" 2>&1
schema_valid "schema: the month's bill validates against bill.schema.json" bill.schema.json "$work/bill.json"
mkdir -p "$work/lines"
grep -m1 '"kind":"team"' "$work/month/ledger/2026-12.jsonl" >"$work/lines/team.json"
grep -m1 '"kind":"notebook"' "$work/month/ledger/2026-12.jsonl" >"$work/lines/notebook.json"
grep -m1 '"kind":"bucket"' "$work/month/ledger/2026-12.jsonl" >"$work/lines/bucket.json"
grep -m1 '"commit"' "$work/month/ledger/2026-12.jsonl" >"$work/lines/commit.json"
schema_valid "schema: ledger lines of each kind and a commit validate against ledger.schema.json" ledger.schema.json "$work"/lines/*.json

# --- crash safety -------------------------------------------------------------------------------------
node_yaml "$work/torn"
printf '%s\n' "2026-12-01T00:00:00Z team acme - pro 15$GB 1 20$GB" "2026-12-01T01:00:00Z team acme - pro 15$GB 1 20$GB" \
        "2026-12-01T02:00:00Z team acme - pro 15$GB 1 20$GB" | "$gen" "$work/torn" >/dev/null
ledger=$work/torn/ledger/2026-12.jsonl
truncate -s -50 "$ledger" # a power loss in the last record's commit line
expect_eq "torn: a truncated last batch is not counted: 2 hours, 1 torn batch" "2|1|2" \
        "$(bill "$work/torn" 2026-12-01T03:00:00Z --month 2026-12 --json | jq -r '"\(.hours_recorded)|\(.torn_batches)|\(.teams[0].hours_over)"')"
size=$(stat -c %s "$ledger")
out=$(echo "2026-12-01T02:00:00Z team acme - pro 15$GB 1 21$GB" | "$gen" "$work/torn")
expect_eq "torn: the hour of the torn batch can be recorded again: appended" "2026-12-01T02:00:00Z appended 1" "$out"
expect_eq "torn: the tail was cut off first: nothing of it is left, 3 whole batches" "3|0|6" \
        "$(bill "$work/torn" 2026-12-01T03:00:00Z --month 2026-12 --json | jq -r '"\(.hours_recorded)|\(.torn_batches)"')|$(wc -l <"$ledger")"
expect_eq "torn: the bill counts the new batch's use, never the torn one's (5 + 5 + 6 GB over)" "16" \
        "$(bill "$work/torn" 2026-12-01T03:00:00Z --month 2026-12 --json | jq -r '.teams[0].gb_hours_charged')"
size=$(stat -c %s "$ledger")
out=$(echo "2026-12-01T02:00:00Z team acme - pro 15$GB 1 99$GB" | "$gen" "$work/torn")
expect_eq "re-run: the same hour again appends nothing" "2026-12-01T02:00:00Z already 0|$size" "$out|$(stat -c %s "$ledger")"
out=$(echo "2026-12-01T01:00:00Z team acme - pro 15$GB 1 99$GB" | "$gen" "$work/torn" 2>&1)
expect_match "re-run: an earlier hour is refused" "the hour 2026-12-01T01:00:00Z is before the last one recorded \\(2026-12-01T02:00:00Z\\)" "$out"

# A write cut short in the middle of a batch, every time: a file size limit (RLIMIT_FSIZE) lets the
# batch's pwrite write up to it, and the next one kills the writer (SIGXFSZ), as a crash would.
node_yaml "$work/fsize"
printf '%s\n' "2026-12-01T00:00:00Z team acme - pro 15$GB 1 20$GB" | "$gen" "$work/fsize" >/dev/null
ledger=$work/fsize/ledger/2026-12.jsonl
whole=$(stat -c %s "$ledger")
(ulimit -f 64; "$gen" --synthetic "$work/fsize" 2026-12 2000 3 >"$work/fsize.out" 2>&1) 2>/dev/null
echo "# fsize: the writer ended with status $? after: $(oneline "$(cat "$work/fsize.out")")"
expect_eq "cut write: the file ends inside a batch: 65536 bytes, no commit line at its end" "65536|no" \
        "$(stat -c %s "$ledger")|$(tail -n 1 "$ledger" | grep -q '^{"commit"' && echo yes || echo no)"
expect_eq "cut write: the bill counts the one whole hour and names the torn batch" "1|1" \
        "$(bill "$work/fsize" 2026-12-02T00:00:00Z --month 2026-12 --json | jq -r '"\(.hours_recorded)|\(.torn_batches)"')"
out=$(echo "2026-12-01T01:00:00Z team acme - pro 15$GB 1 21$GB" | "$gen" "$work/fsize")
expect_eq "cut write: the next append cuts the torn batch off (back to $whole bytes) and appends" \
        "2026-12-01T01:00:00Z appended 1|2|0" \
        "$out|$(bill "$work/fsize" 2026-12-02T00:00:00Z --month 2026-12 --json | jq -r '"\(.hours_recorded)|\(.torn_batches)"')"
expect_eq "cut write: what is left is the first hour, then the new one" "$whole|2" \
        "$(head -n 2 "$ledger" | wc -c)|$(grep -c '^{"commit"' "$ledger")"

# kill -9 while batches of 300,000 records (about 55 MB) are being written, a few times, until two
# kills land in the middle of a write (or 12 tries); the hours the generator saw committed must be
# the bill's, and the next append must cut any torn batch off.
torn_seen=0 tries=0 consistent=0
for tries in $(seq 1 12); do
        state=$work/kill$tries
        node_yaml "$state"
        "$gen" --synthetic "$state" 2026-11 300000 6 >"$state/gen.out" 2>&1 &
        pid=$!
        sleep "0.$((RANDOM % 9 + 1))"
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        f=$state/ledger/2026-11.jsonl
        [ -s "$f" ] || { consistent=$((consistent + 1)); continue; }
        printed=$(grep -c ' appended ' "$state/gen.out")
        recorded=$(bill "$state" 2026-12-01T00:00:00Z --month 2026-11 --json | jq .hours_recorded)
        last=$(tail -c 200 "$f" | tail -n 1)
        [[ $last == '{"commit"'* && $(tail -c 1 "$f" | od -An -c | tr -d ' ') == '\n' ]] || torn_seen=$((torn_seen + 1))
        # a batch can be synced and counted an instant before the kill, and not yet printed
        next=$(printf '2026-11-%02dT%02d:00:00Z' $((recorded / 24 + 1)) $((recorded % 24)))
        echo "$next team t0 - pro 15$GB 1 20$GB" | "$gen" "$state" >"$state/next.out" 2>&1
        after=$(bill "$state" 2026-12-01T00:00:00Z --month 2026-11 --json | jq -r '"\(.hours_recorded)|\(.torn_batches)"')
        if { [ "$recorded" = "$printed" ] || [ "$recorded" = $((printed + 1)) ]; } && [ "$after" = "$((recorded + 1))|0" ]; then
                consistent=$((consistent + 1))
        else
                echo "# kill $tries: printed $printed, recorded $recorded, after the next append $after ($(cat "$state/next.out"))"
        fi
        rm -rf "$state"
        [ "$torn_seen" -ge 2 ] && break
done
expect_eq "kill -9: every killed run left a ledger whose committed hours are the generator's, and the next append cut any torn tail ($tries runs)" \
        "$tries" "$consistent"
# Where a kill lands is chance: the cut write above tears a batch every time.
echo "# kill -9: $torn_seen of $tries kills landed inside a batch's write (a torn tail was there)"

# --- the UML part's results, then node_exporter on its textfile -------------------------------------
if [ "${METER_UML:-1}" = 1 ]; then
        wait
        remote_results "tests/lib/uml-meter.sh in User-Mode Linux" "$(cat "$work/uml.rc" 2>/dev/null)" "$work/uml.out" \
                "$logs/meter-uml.log" "$logs/meter-uml.console.log"
        [ -s "$work/bill.json" ] && schema_valid "schema: the UML bill validates against bill.schema.json" bill.schema.json "$work/bill.json"
        if [ -s "$work/with-mounts.prom" ]; then
                out=$(promtool check metrics <"$work/with-mounts.prom" 2>&1)
                expect_eq "promtool check metrics accepts the textfile (projects and mounts)" "" "$out"
                mkdir -p "$work/textfile" && cp "$work/with-mounts.prom" "$work/textfile/nbmount.prom"
                port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
                prometheus-node-exporter --web.listen-address="127.0.0.1:$port" --collector.disable-defaults \
                        --collector.textfile --collector.textfile.directory="$work/textfile" >"$work/exporter.log" 2>&1 &
                exporter=$!
                wait_until 20 curl -fsS -o "$work/scrape.txt" "http://127.0.0.1:$port/metrics" 2>/dev/null
                expect_has "node_exporter serves the metrics from the textfile" "$(cat "$work/scrape.txt" 2>/dev/null)" \
                        'nbmount_project_hard_limit_bytes{kind="team",notebook="",project="team.acme",team="acme"} 2.5e+07' \
                        'nbmount_s3_mount_restarts_total{bucket="acme-data",mount="m-acme-data",team="acme"} 2' \
                        'nbmount_mountd_up 1'
                expect_eq "node_exporter read the file without an error" "0" \
                        "$(grep '^node_textfile_scrape_error ' "$work/scrape.txt" | awk '{ print $2 }')"
                out=$(grep -v '^node_\|^# .* node_\|^promhttp\|^# .* promhttp\|^go_\|^# .* go_\|^process_\|^# .* process_' "$work/scrape.txt" | promtool check metrics 2>&1)
                expect_eq "promtool check metrics accepts the nbmount series as node_exporter serves them" "" "$out"
                kill "$exporter"
                exporter=""
        else
                not_ok "node_exporter scrape" "the UML part wrote no textfile"
        fi
fi
exit 0
