#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs `nbmount validate` on every fixture in tests/fixtures/FORMAT/{good,bad}/ for the
# formats it can check (node, grants, public, settings, config):
#   - good/FILE must exit 0, print "FILE: valid FORMAT" on stdout and nothing on stderr;
#   - bad/NAME.yaml and bad/NAME.json must exit 2, print nothing on stdout and exactly
#     one line on stderr: the line in bad/NAME.err.
# Each file is validated from inside its folder, as `nbmount validate FORMAT FILE`, so the
# messages name the bare FILE. Grants: good/TEAM.json runs without --team (the team comes
# from the file name), bad/ fixtures run with --team acme.
#
# usage: tests/fixtures-check.sh [NBMOUNT]   (default build/nbmount; a relative NBMOUNT is taken
# from the current directory, normally the repo root)
#
# Prints one line per fixture, "ok - fixture FORMAT/good|bad/FILE" or
# "not ok - fixture FORMAT/good|bad/FILE: expected «…» got «…» (exit N)", and nothing else
# on stdout; always exits 0 (the caller counts the lines). One fork per fixture: the
# binary itself.
set -u
export LC_ALL=C

bin=${1:-build/nbmount}
case $bin in
/*) ;;
*) bin=$PWD/$bin ;;
esac
case $0 in
*/*) here=${0%/*} ;;
*) here=. ;;
esac
cd "$here/.." || exit 0
root=$PWD/tests/fixtures

tmp_out=$(mktemp "${TMPDIR:-/tmp}/nbmount-fixtures.XXXXXX") || exit 0
tmp_err=$tmp_out.err
trap 'rm -f "$tmp_out" "$tmp_err"' EXIT

# Makes text fit on one line, unambiguously: a backslash becomes \\, and a newline,
# carriage return, tab or escape character becomes \n, \r, \t or \e.
one_line() {
        local s=$1
        s=${s//\\/\\\\}
        s=${s//$'\n'/\\n}
        s=${s//$'\r'/\\r}
        s=${s//$'\t'/\\t}
        s=${s//$'\e'/\\e}
        escaped=$s
}

# Runs the binary; sets rc, out (first stdout line, "" if none), n_out (stdout lines),
# err (stderr lines joined by a newline) and n_err.
run() {
        local lines=()
        "$bin" validate "$@" >"$tmp_out" 2>"$tmp_err" </dev/null
        rc=$?
        mapfile -t lines <"$tmp_out"
        n_out=${#lines[@]}
        out=${lines[0]:-}
        mapfile -t lines <"$tmp_err"
        n_err=${#lines[@]}
        if [ "$n_err" -eq 0 ]; then
                err=""
        else
                printf -v err '%s\n' "${lines[@]}"
                err=${err%$'\n'}
        fi
}

for format in node grants public settings config; do
        if ! cd "$root/$format/good" 2>/dev/null; then
                printf 'not ok - fixture %s/good: no such folder\n' "$format"
        else
                for file in *; do
                        [ -f "$file" ] || continue
                        name=$format/good/$file
                        run "$format" "$file"
                        want="$file: valid $format"
                        if [ "$rc" -eq 0 ] && [ "$n_err" -eq 0 ] && [ "$n_out" -eq 1 ] && [ "$out" = "$want" ]; then
                                printf 'ok - fixture %s\n' "$name"
                        else
                                if [ -n "$err" ]; then one_line "$err"; else one_line "$out"; fi
                                printf 'not ok - fixture %s: expected «%s» got «%s» (exit %d)\n' "$name" "$want" "$escaped" "$rc"
                        fi
                done
        fi

        if ! cd "$root/$format/bad" 2>/dev/null; then
                printf 'not ok - fixture %s/bad: no such folder\n' "$format"
                continue
        fi
        team=()
        [ "$format" = grants ] && team=(--team acme)
        for file in *.yaml *.json; do
                [ -f "$file" ] || continue
                name=$format/bad/$file
                if [ ! -f "${file%.*}.err" ]; then
                        printf 'not ok - fixture %s: no %s.err\n' "$name" "${file%.*}"
                        continue
                fi
                expected=
                IFS= read -r expected <"${file%.*}.err"
                run "$format" "$file" ${team[@]+"${team[@]}"}
                if [ "$rc" -eq 2 ] && [ "$n_out" -eq 0 ] && [ "$n_err" -eq 1 ] && [ "$err" = "$expected" ]; then
                        printf 'ok - fixture %s\n' "$name"
                        continue
                fi
                one_line "$expected"
                want=$escaped
                if [ "$n_out" -gt 0 ] && [ "$rc" -ne 0 ]; then
                        one_line "$err (stdout: $out)"
                elif [ "$n_err" -gt 0 ]; then
                        one_line "$err"
                else
                        one_line "$out"
                fi
                printf 'not ok - fixture %s: expected «%s» got «%s» (exit %d)\n' "$name" "$want" "$escaped" "$rc"
        done
done
exit 0
