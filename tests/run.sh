#!/bin/bash
# Runs every test of nbmount and ends with one line: "N passed, N failed".
# Each suite prints "ok - NAME" / "not ok - NAME: why" lines; this script counts them.
# Logs of the unit tests go to build/test-logs/.
set -u
shopt -s lastpipe
cd "$(dirname "$0")/.."

export NBMOUNT=${NBMOUNT:-$PWD/build/nbmount}
logs=build/test-logs
mkdir -p "$logs"
passed=0 failed=0

count() {
        local line
        while IFS= read -r line; do
                case $line in
                "ok - "*) passed=$((passed + 1)); [ -n "${VERBOSE:-}" ] && echo "$line" ;;
                "not ok - "*) failed=$((failed + 1)); echo "$line" ;;
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

suites=(unit_tests "tests/fixtures-check.sh $NBMOUNT" "tests/schema-check.sh" "tests/lint-check.sh"
        "tests/cli-check.sh $NBMOUNT" "tests/hook-check.sh $NBMOUNT" "tests/sandbox-check.sh $NBMOUNT"
        "tests/valgrind-check.sh $NBMOUNT"
        "tests/attack-check.sh $NBMOUNT"
        "tests/quota-check.sh $NBMOUNT" "tests/s3-check.sh $NBMOUNT" "tests/s3-security-check.sh $NBMOUNT"
        "tests/check-check.sh $NBMOUNT"
        "tests/man-check.sh $NBMOUNT"
        "tests/demo-check.sh" "tests/fresh-check.sh" "tests/package-check.sh"
        "make -s --no-print-directory fuzz-check")
for suite in "${suites[@]}"; do
        echo "== ${suite%% *}"
        case $suite in
        unit_tests) unit_tests ;;
        make*) $suite 2>&1 | grep -v '^  [CL][CD] ' ;;
        *) bash $suite ;;
        esac | count
done
# The second pass of `make check`: the unit and integration tests against the ASan+UBSan build
# (the quota tests run in User-Mode Linux, where ASan cannot run; valgrind and ASan do not mix).
if [ -n "${ASAN_NBMOUNT:-}" ]; then
        asan_suites=(unit_tests "tests/fixtures-check.sh $ASAN_NBMOUNT" "tests/cli-check.sh $ASAN_NBMOUNT"
                     "tests/hook-check.sh $ASAN_NBMOUNT" "tests/sandbox-check.sh $ASAN_NBMOUNT"
                     "tests/attack-check.sh $ASAN_NBMOUNT" "tests/s3-check.sh $ASAN_NBMOUNT"
                     "tests/s3-security-check.sh $ASAN_NBMOUNT" "tests/check-check.sh $ASAN_NBMOUNT")
        for suite in "${asan_suites[@]}"; do
                echo "== ASan+UBSan: ${suite%% *}"
                case $suite in
                unit_tests) UNIT_DIR=$ASAN_UNIT_DIR unit_tests ;;
                *) SANITIZE=1 bash $suite ;;
                esac | count
        done
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
