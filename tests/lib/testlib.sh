# SPDX-License-Identifier: Apache-2.0
# The helpers every test suite shares. Sourced: `. tests/lib/testlib.sh`, then
# `testlib_init PREFIX [MAX]` once. The result lines are the ones tests/run.sh counts:
#
#   ok NAME                         "ok - PREFIX NAME"
#   not_ok NAME WHY                 "not ok - PREFIX NAME: WHY", WHY on one line (newlines become
#                                   "|") and cut at MAX bytes (default 3000)
#   oneline TEXT                    TEXT with its newlines as "|"
#   expect_eq NAME EXPECTED ACTUAL  ok when equal, else "expected «...», got «...»"
#   expect_ne NAME UNEXPECTED ACTUAL
#   expect_match NAME ERE ACTUAL    ok when ACTUAL matches the extended regular expression
#   expect_has NAME TEXT PART...    ok when TEXT contains every PART
#   expect_near NAME EXPECTED ACTUAL TOLERANCE   |ACTUAL - EXPECTED| < TOLERANCE (integers)
#   expect_run NAME COMMAND...      ok when COMMAND exits 0, else its exit status and output
#   wait_until SECONDS COMMAND...   runs COMMAND every 0.1 s until it succeeds (status 0) or
#                                   SECONDS have passed (status 1)
#
# Prerequisites: each prints one "not ok - PREFIX prerequisites: ..." line and exits 0 (the suite
# ran, and failed) when what it names is missing:
#   need_tools TOOL...              every TOOL is on PATH
#   need_root [WHY]                 the suite runs as root (WHY: "the quota tests need root")
#
# A part of a suite that runs elsewhere (in User-Mode Linux, a container, on a server) proves that
# it ran to its end: its last line is `testlib_end`'s marker, "# testlib end: N results". The
# suite's side reads that part's output with
#   remote_results WHAT RC OUT ERR [CONSOLE]
# which prints OUT and, when RC is not 0, the marker is missing or its count differs from the
# result lines that arrived, one "not ok - PREFIX WHAT did not run/report: CAUSE" line with the
# cause: the exit status and the last lines of ERR (or of CONSOLE, the kernel's console, when ERR
# is empty).
#
# TESTLIB_RESULTS counts the results printed by this shell (not by its subshells), TESTLIB_FAILED
# is 1 once a not_ok was printed.

TESTLIB_PREFIX="" TESTLIB_MAX=3000 TESTLIB_RESULTS=0 TESTLIB_FAILED=0
TESTLIB_END_MARKER="# testlib end:"

testlib_init() {
        TESTLIB_PREFIX=${1:+$1 }
        TESTLIB_MAX=${2:-3000}
}

oneline() { printf '%s' "$1" | tr '\n' '|'; }
ok() {
        TESTLIB_RESULTS=$((TESTLIB_RESULTS + 1))
        echo "ok - $TESTLIB_PREFIX$1"
}
not_ok() {
        TESTLIB_RESULTS=$((TESTLIB_RESULTS + 1)) TESTLIB_FAILED=1
        printf 'not ok - %s%s: %s\n' "$TESTLIB_PREFIX" "$1" "$(oneline "$2" | head -c "$TESTLIB_MAX")"
}

expect_eq() {
        if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected «$(oneline "$2")», got «$(oneline "$3")»"; fi
}
expect_ne() {
        if [ "$2" != "$3" ]; then ok "$1"; else not_ok "$1" "got «$(oneline "$3")»"; fi
}
expect_match() {
        if [[ $3 =~ $2 ]]; then ok "$1"; else not_ok "$1" "expected to match «$2», got «$(oneline "$3")»"; fi
}
expect_has() {
        local name=$1 text=$2 part missing=""
        shift 2
        for part in "$@"; do [[ $text == *"$part"* ]] || missing+=" «$part»"; done
        if [ -z "$missing" ]; then ok "$name"; else not_ok "$name" "missing$missing in «$(oneline "$text")»"; fi
}
expect_near() {
        if [[ $3 =~ ^-?[0-9]+$ ]] && (($3 - $2 < $4 && $2 - $3 < $4)); then ok "$1"; else
                not_ok "$1" "expected $2 (within $4), got «$(oneline "$3")»"
        fi
}
expect_run() {
        local name=$1 out
        shift
        if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "exit $?: $out"; fi
}

need_tools() {
        local tool
        for tool in "$@"; do
                if ! command -v "$tool" >/dev/null; then
                        not_ok "prerequisites" "$tool is not installed (./setup.sh installs it)"
                        exit 0
                fi
        done
}

wait_until() {
        local limit=$(($1 * 10)) i
        shift
        for ((i = 0; i < limit; i++)); do "$@" && return 0; sleep 0.1; done
        return 1
}

need_root() {
        if [ "$(id -u)" != 0 ]; then
                not_ok "prerequisites" "${1:-these tests need root}"
                exit 0
        fi
}

testlib_end() { echo "$TESTLIB_END_MARKER $TESTLIB_RESULTS results"; }

# remote_cause RC OUT ERR [CONSOLE]: why a remote part did not report (nothing when it did).
remote_cause() {
        local rc=$1 out=$2 err=$3 console=${4:-} marker arrived reported cause=""
        marker=$(grep "^$TESTLIB_END_MARKER " "$out" 2>/dev/null | tail -1)
        arrived=$(grep -cE '^(not )?ok - ' "$out" 2>/dev/null)
        reported=$(sed -n 's/^.* \([0-9][0-9]*\) results$/\1/p' <<<"$marker")
        if [ "$rc" != 0 ]; then
                cause="exit ${rc:-none}"
        elif [ -z "$marker" ]; then
                cause="exit 0 without its end marker, after ${arrived:-0} results"
        elif [ "$reported" != "${arrived:-0}" ]; then
                cause="it reported $reported results, ${arrived:-0} arrived"
        else
                return 0
        fi
        [ -r "$out" ] || cause+="; no output at all"
        [ -s "$err" ] && cause+="; its stderr ends: $(tail -5 "$err")"
        # the console when stderr says nothing (uml_run copies its end there when UML gave no status)
        [ -s "$err" ] || { [ -n "$console" ] && [ -s "$console" ] && cause+="; its console ends: $(grep -v '^\s*$' "$console" | tail -5)"; }
        printf '%s\n' "$cause"
}

remote_results() {
        local what=$1 rc=$2 out=$3 err=$4 console=${5:-} cause
        grep -v "^$TESTLIB_END_MARKER " "$out" 2>/dev/null
        cause=$(remote_cause "$rc" "$out" "$err" "$console")
        [ -z "$cause" ] || not_ok "$what did not run/report" "$cause"
}
