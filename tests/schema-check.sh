#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Checks the JSON Schemas in schemas/ against the fixtures in tests/fixtures/FORMAT/:
#   - every file in good/ must be valid;
#   - every bad/*.yaml and bad/*.json must be INVALID, except those listed in
#     bad/parser-only.txt (lines "FILENAME  reason", '#' comments), which break a rule
#     that only the C parser enforces and so must be VALID by the schema (a fixture that
#     js-yaml or JSON.parse cannot even read counts as "not rejected by the schema" too).
#     The NAME.err files beside them are the parser's expected messages: ignored here.
#
# Run from the repository root after `npm ci --prefix tests/schema`. Prints one line per
# check, "ok - schema FORMAT/good/FILE" or "not ok - schema FORMAT/bad/FILE: why", and
# nothing else on stdout; always exits 0 (the caller counts the lines). Ajv's messages go
# to $SCHEMA_CHECK_LOG (default: a temporary file, named on stderr when a check failed).
#
# One Ajv (strict, draft 2020-12) per format, via tests/schema/validate.js: the same check as
#   tests/schema/node_modules/.bin/ajv validate --spec=draft2020 --strict=true -c ajv-formats \
#     -r schemas/common.schema.json -s schemas/SCHEMA -d FILE
# without paying ajv-cli's start-up once per file.
set -u
cd "$(dirname "$0")/.." || exit 0

validator=tests/schema/validate.js
log=${SCHEMA_CHECK_LOG:-$(mktemp "${TMPDIR:-/tmp}/nbmount-schema-check.XXXXXX")}
: >"$log"

schema_of() {
        case $1 in
        config) echo oci-config.schema.json ;;
        *) echo "$1.schema.json" ;;
        esac
}

. tests/lib/testlib.sh
testlib_init schema

for format in node grants public settings config plan ledger bucket-usage offline; do
        dir=tests/fixtures/$format
        schema=schemas/$(schema_of "$format")

        good=()
        if [ -d "$dir/good" ]; then
                while IFS= read -r -d '' f; do good+=("$f"); done \
                        < <(find "$dir/good" -maxdepth 1 -type f -print0 | sort -z)
        fi
        bad=()
        if [ -d "$dir/bad" ]; then
                while IFS= read -r -d '' f; do bad+=("$f"); done \
                        < <(find "$dir/bad" -maxdepth 1 -type f \( -name '*.yaml' -o -name '*.json' \) -print0 | sort -z)
        fi

        # parser-only.txt: the first word of each line that is not blank or a comment.
        declare -A parser_only=()
        listed=()
        if [ -f "$dir/bad/parser-only.txt" ]; then
                while IFS= read -r line || [ -n "$line" ]; do
                        line=${line%%#*}
                        read -r name _ <<<"$line" || true
                        [ -n "${name:-}" ] || continue
                        parser_only[$name]=1
                        listed+=("$name")
                done <"$dir/bad/parser-only.txt"
        fi

        if [ ${#good[@]} -eq 0 ]; then
                not_ok "$format/good" "no good fixtures"
        fi

        # Validate every fixture of the format with one Ajv.
        declare -A status=()
        if [ $((${#good[@]} + ${#bad[@]})) -gt 0 ]; then
                echo "== $format: $schema" >>"$log"
                results=$(node "$validator" -s "$schema" -r schemas/common.schema.json -- "${good[@]}" "${bad[@]}" 2>>"$log")
                printf '%s\n' "$results" >>"$log"
                while IFS=$'\t' read -r st file _; do
                        [ -n "${file:-}" ] && status[$file]=$st
                done <<<"$results"
        fi

        for f in "${good[@]}"; do
                name=$format/good/${f##*/}
                case ${status[$f]:-error} in
                valid) ok "$name" ;;
                error) not_ok "$name" "expected valid (the validator failed)" ;;
                unparsable) not_ok "$name" "expected valid (not parsable)" ;;
                *) not_ok "$name" "expected valid" ;;
                esac
        done

        for f in "${bad[@]}"; do
                base=${f##*/}
                name=$format/bad/$base
                st=${status[$f]:-error}
                if [ -n "${parser_only[$base]:-}" ]; then
                        case $st in
                        valid | unparsable) ok "$name (parser only)" ;;
                        error) not_ok "$name" "expected valid (the validator failed)" ;;
                        *) not_ok "$name" "expected valid: listed in parser-only.txt but the schema rejects it" ;;
                        esac
                else
                        case $st in
                        invalid) ok "$name" ;;
                        error) not_ok "$name" "expected invalid (the validator failed)" ;;
                        unparsable) not_ok "$name" "expected invalid (not parsable: list it in parser-only.txt)" ;;
                        *) not_ok "$name" "expected invalid" ;;
                        esac
                fi
        done

        # The same verdicts from ajv-cli itself, for the good and the schema-invalid files. It stops at the first file it cannot load (js-yaml
        # refuses duplicate keys, which validate.js lets through for the parser to catch): such a
        # file counts as rejected, and the call goes on from the next one.
        checked=()
        for f in "${good[@]}" "${bad[@]}"; do
                [ -z "${parser_only[${f##*/}]:-}" ] || continue
                case ${status[$f]:-} in valid | invalid) checked+=("$f") ;; esac
        done
        declare -A cli_status=()
        rest=("${checked[@]}")
        while [ ${#rest[@]} -gt 0 ]; do
                data_args=()
                for f in "${rest[@]}"; do data_args+=(-d "$f"); done
                while read -r f verdict; do
                        cli_status[$f]=$verdict
                done < <(tests/schema/node_modules/.bin/ajv validate --spec=draft2020 --strict=true -c ajv-formats \
                        -r schemas/common.schema.json -s "$schema" "${data_args[@]}" 2>&1 |
                        grep -E ' (valid|invalid)$')
                next=()
                for i in "${!rest[@]}"; do
                        if [ -z "${cli_status[${rest[$i]}]:-}" ]; then
                                cli_status[${rest[$i]}]=unloadable
                                next=("${rest[@]:$((i + 1))}")
                                break
                        fi
                done
                rest=("${next[@]}")
        done
        disagree=()
        for f in "${checked[@]}"; do
                # ajv-cli reads an empty YAML file as no data at all, and applies YAML 1.1 merge keys
                # (<<) through js-yaml 3; nbmount and validate.js read YAML 1.2. Known, not drift.
                case $f in */settings/good/empty-file.yaml | */settings/bad/merge-key.yaml) continue ;; esac
                verdict=${cli_status[$f]}
                [ "$verdict" = unloadable ] && [ "${f#*/bad/}" != "$f" ] && verdict=any
                [ "$verdict" = "${status[$f]}" ] || [ "$verdict" = any ] || disagree+=("${f##*/}")
        done
        if [ ${#disagree[@]} -eq 0 ]; then
                ok "ajv-cli agrees on $format (${#checked[@]} files)"
        else
                not_ok "ajv-cli agrees on $format" "differs on ${disagree[*]}"
        fi
        unset cli_status

        for base in "${listed[@]}"; do
                if [ ! -f "$dir/bad/$base" ]; then
                        not_ok "$format/bad/$base" "listed in parser-only.txt but missing"
                fi
        done

        unset parser_only status
done

if [ "$TESTLIB_FAILED" -ne 0 ] && [ -z "${SCHEMA_CHECK_LOG:-}" ]; then
        echo "schema-check: details in $log" >&2
elif [ -z "${SCHEMA_CHECK_LOG:-}" ]; then
        rm -f "$log"
fi
exit 0
