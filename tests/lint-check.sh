#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Static analysis of every C source of lib/, hook/ and mountd/ (a new file is picked up by the
# wildcard): clang-tidy with the checks of .clang-tidy, and cppcheck at the level below. Any
# finding fails. A false positive is silenced on its line, with the reason:
#   clang-tidy: /* NOLINTNEXTLINE(check-name): why */    cppcheck: /* cppcheck-suppress id ; why */
# Usage: tests/lint-check.sh. Prints "ok - lint TOOL FILE" / "not ok - lint TOOL FILE: the first
# finding (and how many)" lines; always exits 0. Needs clang-tidy and cppcheck (./setup.sh).
#
# cppcheck's level: --enable=warning,performance,portability (errors are always on), for one
# configuration (-D__GNUC__ -D_GNU_SOURCE, the build's). Left out: style (its unreadVariable and
# redundantAssignment misread every _cleanup_close_ fd, which the cleanup attribute reads), and
# --library=posix (it reports every _cleanup_close_ fd as leaked: cppcheck does not model
# __attribute__((cleanup))).
#
# And the license: every source file (C and headers, shell, Python, JavaScript, the Makefiles,
# man pages, the packaging's scripts, units and node.yaml) names it in its first three lines,
# `SPDX-License-Identifier: Apache-2.0`, as a comment of its language: one "ok - lint spdx" line,
# or one "not ok" naming the files without it. Left out: JSON (schemas, hooks.d, seccomp rules,
# package.json; JSON has no comments), the test fixtures and fuzz seeds (data whose bytes are the
# test), Markdown, and files that are not code (VERSION, .gitignore, .clang-tidy, debian/control).
set -u
shopt -s nullglob
cd "$(dirname "$0")/.."

# spdx_sources: the files that must carry the line, one a line: in a git checkout its files and
# the new ones it does not ignore, else every file below here.
spdx_sources() {
        if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
                git ls-files && git ls-files --others --exclude-standard
        else
                find . -type f ! -path './.git/*' ! -path '*/node_modules/*' | sed 's|^\./||'
        fi |
                grep -vE '^(tests/fixtures|tests/fuzz/seeds)/' |
                grep -E '\.(c|h|sh|py|js)$|(^|/)Makefile$|^man/.*\.[1-8]$|^\.ci/run$|^packaging/(debian/(rules|postinst|postrm|preinst|prerm)|bash-completion/.*|systemd/.*|node\.yaml)$'
}
spdx_missing=""
spdx_count=0
while IFS= read -r file; do
        [ -f "$file" ] || continue
        spdx_count=$((spdx_count + 1))
        head -n 3 -- "$file" | grep -q 'SPDX-License-Identifier: Apache-2.0' || spdx_missing+=" $file"
done < <(spdx_sources)
if [ "$spdx_count" = 0 ]; then
        echo "not ok - lint spdx: no source file found"
elif [ -z "$spdx_missing" ]; then
        echo "ok - lint spdx: all $spdx_count source files carry SPDX-License-Identifier: Apache-2.0"
else
        echo "not ok - lint spdx: no \"SPDX-License-Identifier: Apache-2.0\" in the first 3 lines of:$spdx_missing"
fi

pkgs=(mount json-c yaml-0.1 libcap libseccomp)
missing=""
for tool in clang-tidy cppcheck pkg-config; do
        command -v $tool >/dev/null || missing+=" $tool"
done
if [ -n "$missing" ]; then
        echo "not ok - lint prerequisites: not installed:$missing (./setup.sh installs them)"
        exit 0
fi
if ! pkg_cflags=$(pkg-config --cflags "${pkgs[@]}" 2>&1) || ! pkg_includes=$(pkg-config --cflags-only-I "${pkgs[@]}" 2>&1); then
        echo "not ok - lint prerequisites: pkg-config ${pkgs[*]}: $pkg_cflags"
        exit 0
fi
version=$(cat VERSION)
# The build's CFLAGS (Makefile) that change what the compiler sees; warnings are the build's job.
# shellcheck disable=SC2206
cflags=(-std=gnu11 -D_GNU_SOURCE -Ilib -Ibuild/gen $pkg_cflags "-DNBMOUNT_VERSION=\"$version\"")
# shellcheck disable=SC2206
cppcheck_flags=(-q --std=c11 --enable=warning,performance,portability --error-exitcode=1 --inline-suppr
                --suppress=missingIncludeSystem -D__GNUC__ -D_GNU_SOURCE "-DNBMOUNT_VERSION=\"$version\""
                -Ilib -Ibuild/gen $pkg_includes --template='{file}:{line}:{column}: {id}: {message}')

# build/gen/filters.h (the seccomp filters compiled at build time) is included by harden.c and sandbox.c.
make -s build/gen/filters.h >/dev/null 2>&1 || echo "not ok - lint prerequisites: make build/gen/filters.h failed"
sources=(lib/*.c lib/gen/*.c hook/*.c mountd/*.c mountd/helper/*.c)
if ((${#sources[@]} == 0)); then
        echo "not ok - lint: no C source found"
        exit 0
fi
out=$(mktemp -d /tmp/nbmount-lint.XXXXXX)
trap 'rm -rf "$out"' EXIT

# lint_one FILE: both tools on FILE; their output and exit status under $out.
lint_one() {
        local file=$1 name=${1//\//_}
        clang-tidy --quiet "$file" -- "${cflags[@]}" >"$out/$name.tidy" 2>"$out/$name.tidy-err"
        echo $? >"$out/$name.tidy-rc"
        cppcheck "${cppcheck_flags[@]}" "$file" >"$out/$name.cppcheck" 2>&1
        echo $? >"$out/$name.cppcheck-rc"
}

# Two at a time (this machine has two cores); the report comes in file order.
for file in "${sources[@]}"; do
        while (($(jobs -rp | wc -l) >= 2)); do wait -n; done
        lint_one "$file" &
done
wait

# report TOOL FILE FINDINGS RC LOG: FINDINGS are "path:line:col: ..." lines.
report() {
        local tool=$1 file=$2 findings=$3 rc=$4 log=$5 count
        if [ -z "$findings" ] && [ "$rc" = 0 ]; then
                echo "ok - lint $tool $file"
        elif [ -n "$findings" ]; then
                count=$(grep -c . <<<"$findings")
                printf 'not ok - lint %s %s: %s%s\n' "$tool" "$file" "$(head -1 <<<"$findings")" \
                        "$( ((count > 1)) && echo " (and $((count - 1)) more)")"
        else
                echo "not ok - lint $tool $file: exit $rc: $(grep -m1 . "$log")"
        fi
}
for file in "${sources[@]}"; do
        name=${file//\//_}
        # clang-tidy: "FILE:LINE:COL: warning: MESSAGE [check]" (errors too); paths made relative
        # first (a checkout's path may have a space).
        findings=$(sed "s|^$PWD/||" "$out/$name.tidy" | grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error): ')
        report clang-tidy "$file" "$findings" "$(cat "$out/$name.tidy-rc")" "$out/$name.tidy-err"
        findings=$(grep -E '^[^ ]+:[0-9]+:[0-9]+: ' "$out/$name.cppcheck")
        report cppcheck "$file" "$findings" "$(cat "$out/$name.cppcheck-rc")" "$out/$name.cppcheck"
done
exit 0
