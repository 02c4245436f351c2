#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs every test of nbmount and ends with one line: "N passed, N failed".
# Each suite prints "ok - NAME" / "not ok - NAME: why" lines; this script counts them, and counts as
# one more failure a suite that exits non-zero or prints no "ok -" line (it did not run to its end).
# SUITES="tests/cli-check.sh NBMOUNT;tests/lint-check.sh" runs those suites only (";"-separated).
# Logs of the unit tests go to build/test-logs/.
set -u
shopt -s lastpipe
cd "$(dirname "$0")/.."

export NBMOUNT=${NBMOUNT:-$PWD/build/nbmount}
logs=build/test-logs
mkdir -p "$logs"
passed=0 failed=0

# count: reads a suite's output; counts its result lines (suite_ok, suite_not_ok) into the totals.
count() {
        local line
        while IFS= read -r line; do
                case $line in
                "ok - "*) passed=$((passed + 1)) suite_ok=$((suite_ok + 1)); [ -n "${VERBOSE:-}" ] && echo "$line" ;;
                "not ok - "*) failed=$((failed + 1)) suite_not_ok=$((suite_not_ok + 1)); echo "$line" ;;
                *) echo "$line" ;;
                esac
        done
}

# cmocka: every "[ RUN ]" that has no matching "[ OK ]" failed (a crash counts too).
unit_tests() {
        local test_binary name
        for test_binary in "${UNIT_DIR:-build/tests}"/test_*; do
                [ -x "$test_binary" ] || continue
                name=$(basename "$test_binary")
                "$test_binary" >"$logs/$name.log" 2>&1
                awk -v suite="$name" '
                        /^\[ RUN      \]/ { run[$4] = 1; order[++n] = $4 }
                        /^\[       OK \]/ { ok[$4] = 1 }
                        /Sanitizer|runtime error:/ { sanitizer = 1 }
                        END {
                                for (i = 1; i <= n; i++)
                                        if (ok[order[i]]) print "ok - unit " suite " " order[i]
                                        else print "not ok - unit " suite " " order[i] ": see build/test-logs/" suite ".log"
                                if (n == 0) print "not ok - unit " suite ": ran no test"
                                if (sanitizer) print "not ok - unit " suite ": sanitizer report in build/test-logs/" suite ".log"
                        }' "$logs/$name.log"
        done
}

# A suite is a command line; the word NBMOUNT stands for the binary under test (its path may have
# spaces). A suite that exits non-zero, or prints no "ok -" line at all, did not run to its end:
# that is one more failure, named with its exit status.
run_suite() { # BINARY WORD...
        local bin=$1 word
        local -a argv=()
        shift
        for word in "$@"; do
                if [ "$word" = NBMOUNT ]; then argv+=("$bin"); else argv+=("$word"); fi
        done
        case ${argv[0]} in
        unit_tests) unit_tests ;;
        make) "${argv[@]}" 2>&1 | grep -v '^  [CL][CD] '; return "${PIPESTATUS[0]}" ;;
        *) bash "${argv[@]}" ;;
        esac
}
# suites LABEL BINARY SUITE...: runs and counts each SUITE (a string of words, see run_suite).
suites() {
        local label=$1 bin=$2 suite rc name
        local -a words
        shift 2
        for suite in "$@"; do
                read -r -a words <<<"$suite"
                name=${words[0]}
                [ "$name" = make ] && name="make ${words[-1]}"
                echo "== $label$name"
                suite_ok=0 suite_not_ok=0
                run_suite "$bin" "${words[@]}" | count
                rc=${PIPESTATUS[0]}
                if [ "$rc" != 0 ]; then
                        failed=$((failed + 1))
                        echo "not ok - $label$name: the suite exited with status $rc (after $suite_ok ok, $suite_not_ok not ok)"
                elif [ "$suite_ok" = 0 ]; then
                        failed=$((failed + 1))
                        echo "not ok - $label$name: the suite printed no \"ok -\" line ($suite_not_ok not ok): it ran no test"
                fi
        done
}

if [ -n "${SUITES:-}" ]; then
        IFS=';' read -r -a chosen <<<"$SUITES"
        suites "" "$NBMOUNT" "${chosen[@]}"
        echo "$passed passed, $failed failed"
        [ "$failed" -eq 0 ]
        exit
fi
suites "" "$NBMOUNT" unit_tests "tests/fixtures-check.sh NBMOUNT" tests/schema-check.sh tests/lint-check.sh \
        "tests/cli-check.sh NBMOUNT" "tests/hook-check.sh NBMOUNT" "tests/skip-check.sh NBMOUNT" \
        "tests/sandbox-check.sh NBMOUNT" \
        "tests/valgrind-check.sh NBMOUNT" \
        "tests/attack-check.sh NBMOUNT" \
        "tests/quota-check.sh NBMOUNT" "tests/meter-check.sh NBMOUNT" "tests/s3-check.sh NBMOUNT" "tests/s3-security-check.sh NBMOUNT" \
        "tests/s3-pending-check.sh NBMOUNT" "tests/s3-heal-check.sh NBMOUNT" "tests/check-check.sh NBMOUNT" \
        "tests/s3-upgrade-check.sh NBMOUNT" "tests/runtime-check.sh NBMOUNT" \
        "tests/offline-check.sh NBMOUNT" \
        "tests/man-check.sh NBMOUNT" \
        tests/demo-check.sh tests/fresh-check.sh tests/package-check.sh \
        "make -s --no-print-directory fuzz-check"
# The second pass of `make check`: the unit and integration tests against the ASan+UBSan build
# (the quota tests run in User-Mode Linux, where ASan cannot run; valgrind and ASan do not mix).
if [ -n "${ASAN_NBMOUNT:-}" ]; then
        UNIT_DIR=$ASAN_UNIT_DIR SANITIZE=1 suites "ASan+UBSan: " "$ASAN_NBMOUNT" unit_tests \
                "tests/fixtures-check.sh NBMOUNT" "tests/cli-check.sh NBMOUNT" "tests/hook-check.sh NBMOUNT" \
                "tests/skip-check.sh NBMOUNT" \
                "tests/sandbox-check.sh NBMOUNT" "tests/attack-check.sh NBMOUNT" "tests/s3-check.sh NBMOUNT" \
                "tests/s3-security-check.sh NBMOUNT" "tests/s3-pending-check.sh NBMOUNT" "tests/s3-heal-check.sh NBMOUNT" \
                "tests/check-check.sh NBMOUNT" "tests/s3-upgrade-check.sh NBMOUNT" "tests/runtime-check.sh NBMOUNT" \
                "tests/meter-check.sh NBMOUNT" "tests/offline-check.sh NBMOUNT"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
