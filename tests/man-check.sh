#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Checks the man pages in man/:
#   - each page formats without a warning: `mandoc -T lint` (every level, STYLE included, except
#     the lookups of referenced pages in this machine's man database, which depend on what is
#     installed) and `groff -mandoc -ww -z`; whichever of the two is installed (setup.sh
#     installs mandoc), and at least one must be;
#   - each page has the sections NAME, SYNOPSIS, DESCRIPTION, FILES, EXAMPLES and SEE ALSO;
#   - each `.Xr nbmount... N` names a page that exists in man/;
#   - man/nbmount.8 names every command that `nbmount --help` lists and every option that
#     `nbmount --help` and `nbmount COMMAND --help` print; man/nbmountd.8 every option that
#     `nbmountd --help` prints (NBMOUNTD, default: nbmountd beside NBMOUNT; skipped when not built);
#   - man/nbmount-node.yaml.5 names every key of packaging/node.yaml, as a dotted path
#     (roots.notebooks, billing.overage_cap; a plan's keys as plans.NAME.storage, and the plan
#     names themselves), and the three file-format pages name every property of their JSON
#     Schemas (when jq is installed).
# Usage: tests/man-check.sh [NBMOUNT] (default $NBMOUNT, else build/nbmount). Prints "ok - man ..." /
# "not ok - man ...: why" lines; exits 0 when it ran to its end (the caller counts the lines).
set -u
cd "$(dirname "$0")/.." || exit 1
NBMOUNT=${1:-${NBMOUNT:-build/nbmount}}

. tests/lib/testlib.sh
testlib_init man

work=$(mktemp -d "${TMPDIR:-/tmp}/nbmount-man.XXXXXX")
trap 'rm -rf "$work"' EXIT

have() { command -v "$1" >/dev/null 2>&1; }

pages=(man/*.[1-8])
if [ ! -e "${pages[0]}" ]; then
        not_ok "pages" "no page in man/"
        exit 0
fi

# lint PAGE: prints the first warning, or nothing.
lint() {
        local page=$1 out
        if have mandoc; then
                # "referenced manual not found" and the mandoc.db notes only say which pages this
                # machine has installed; the cross references between our pages are checked below.
                out=$(mandoc -T lint -W style "$page" 2>&1 |
                        grep -v -e 'STYLE: referenced manual not found' -e 'mandoc\.db' -e 'run makewhatis')
                [ -n "$out" ] && { echo "$out" | head -n 1; return; }
        fi
        if have groff; then
                out=$(groff -mandoc -ww -z "$page" 2>&1)
                [ -n "$out" ] && { echo "$out" | head -n 1; return; }
        fi
}

# render PAGE: the page as plain text, as wide as the formatter allows (mandoc: 1000 columns) and
# without hyphenation, so that no option or key is cut; a word still cut after a hyphen at a line
# end is joined again.
render() {
        if have mandoc; then
                mandoc -T ascii -O width=1000 "$1"
        else
                groff -mandoc -Tascii -rLL=1000n -rHY=0 "$1" 2>/dev/null
        fi | sed 's/.\x08//g' | awk '
                held != "" { sub(/^[ \t]+/, ""); $0 = held $0; held = "" }
                /[A-Za-z0-9]-$/ { held = $0; next }
                { print }
                END { if (held != "") print held }'
}

# --- formatting, sections, cross references -------------------------------------------------------
if ! have mandoc && ! have groff; then
        for page in "${pages[@]}"; do not_ok "${page#man/}" "neither mandoc nor groff is installed"; done
        exit 0
fi
for page in "${pages[@]}"; do
        name=${page#man/}
        warning=$(lint "$page")
        if [ -z "$warning" ]; then ok "$name"; else not_ok "$name" "$warning"; fi

        missing=()
        for section in NAME SYNOPSIS DESCRIPTION FILES EXAMPLES "SEE ALSO"; do
                grep -Eq "^\.S[Hh] \"?$section\"?\$" "$page" || missing+=("$section")
        done
        if [ ${#missing[@]} -eq 0 ]; then ok "$name has its sections"
        else not_ok "$name has its sections" "no ${missing[*]}"; fi

        missing=()
        while read -r ref section; do
                [ -e "man/$ref.$section" ] || missing+=("$ref($section)")
        done < <(sed -n 's/^\.Xr \(nbmount[^ ]*\) \([1-8]\).*/\1 \2/p' "$page" | sort -u)
        if [ ${#missing[@]} -eq 0 ]; then ok "$name cross references"
        else not_ok "$name cross references" "no page for ${missing[*]}"; fi
done

# --- man/nbmount.8 against the program's --help -----------------------------------------------------
# options_in TEXT: every -x and --long-option in a --help text, one a line.
options_in() {
        grep -oE -- '(^|[^A-Za-z0-9-])--?[A-Za-z][A-Za-z0-9-]*' <<<"$1" | sed 's/^[^-]*//' | sort -u
}

# documented TEXT WORD: WORD appears in TEXT, not as part of a longer option or word.
documented() {
        grep -qE -- "(^|[^A-Za-z0-9_-])$(sed 's/[.]/[.]/g' <<<"$2")([^A-Za-z0-9_-]|$)" <<<"$1"
}

if [ ! -x "$NBMOUNT" ]; then
        not_ok "nbmount.8 matches nbmount --help" "$NBMOUNT is not built (run make)"
elif [ ! -e man/nbmount.8 ]; then
        not_ok "nbmount.8 matches nbmount --help" "man/nbmount.8 is missing"
else
        manual=$(render man/nbmount.8)
        help=$("$NBMOUNT" --help 2>&1)
        commands=$(sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' <<<"$help")
        [ -n "$commands" ] || not_ok "nbmount.8 matches nbmount --help" "nbmount --help lists no command"
        for command in "" $commands; do
                label="nbmount${command:+ $command} --help"
                if [ -n "$command" ]; then
                        help=$("$NBMOUNT" "$command" --help 2>&1)
                        if ! documented "$manual" "nbmount $command"; then
                                not_ok "nbmount.8 documents nbmount $command" "no \"nbmount $command\" in man/nbmount.8"
                                continue
                        fi
                fi
                missing=()
                for option in $(options_in "$help"); do
                        documented "$manual" "$option" || missing+=("$option")
                done
                if [ ${#missing[@]} -eq 0 ]; then ok "nbmount.8 has every option of $label"
                else not_ok "nbmount.8 has every option of $label" "missing ${missing[*]}"; fi
        done
fi

# --- man/nbmountd.8 against nbmountd --help (when nbmountd is built beside nbmount) -------------------
NBMOUNTD=${NBMOUNTD:-$(dirname "$NBMOUNT")/nbmountd}
if [ ! -x "$NBMOUNTD" ]; then
        echo "# man: $NBMOUNTD is not built: nbmountd.8 is not checked against its --help"
elif [ ! -e man/nbmountd.8 ]; then
        not_ok "nbmountd.8 matches nbmountd --help" "man/nbmountd.8 is missing"
else
        manual=$(render man/nbmountd.8)
        missing=()
        for option in $(options_in "$("$NBMOUNTD" --help 2>&1)"); do
                documented "$manual" "$option" || missing+=("$option")
        done
        if [ ${#missing[@]} -eq 0 ]; then ok "nbmountd.8 has every option of nbmountd --help"
        else not_ok "nbmountd.8 has every option of nbmountd --help" "missing ${missing[*]}"; fi
fi

# --- man/nbmount-node.yaml.5 against packaging/node.yaml ---------------------------------------------
# node_keys FILE: the dotted path of every key of a simple YAML file (block maps, one level of
# flow maps {a: 1, b: 2}), one a line.
node_keys() {
        awk '
        /^[ \t]*#/ || /^[ \t]*$/ { next }
        {
                sub(/[ \t]+#.*$/, "")
                match($0, /^ */); indent = RLENGTH
                if (!match($0, /^ *[A-Za-z_][A-Za-z0-9_-]*:/)) next
                key = substr($0, indent + 1, RLENGTH - indent - 1)
                rest = substr($0, RLENGTH + 1)
                while (depth > 0 && at[depth] >= indent) depth--
                at[++depth] = indent; name[depth] = key
                path = name[1]; for (i = 2; i <= depth; i++) path = path "." name[i]
                print path
                if (match(rest, /\{.*\}/)) {
                        n = split(substr(rest, RSTART + 1, RLENGTH - 2), parts, ",")
                        for (i = 1; i <= n; i++)
                                if (match(parts[i], /[A-Za-z_][A-Za-z0-9_-]*:/))
                                        print path "." substr(parts[i], RSTART, RLENGTH - 1)
                }
        }' "$1"
}

if [ ! -e man/nbmount-node.yaml.5 ]; then
        not_ok "nbmount-node.yaml.5 has every key of packaging/node.yaml" "man/nbmount-node.yaml.5 is missing"
else
        manual=$(render man/nbmount-node.yaml.5)
        keys=$(node_keys packaging/node.yaml)
        missing=()
        for key in $keys; do
                case $key in
                plans.*.*) # a plan's own keys: documented once as plans.NAME.KEY
                        documented "$manual" "plans.NAME.${key##*.}" || missing+=("$key") ;;
                plans.*) # a plan name (one of the defaults)
                        documented "$manual" "${key#plans.}" || missing+=("$key") ;;
                *) documented "$manual" "$key" || missing+=("$key") ;;
                esac
        done
        if [ -z "$keys" ]; then not_ok "nbmount-node.yaml.5 has every key of packaging/node.yaml" "no key found in packaging/node.yaml"
        elif [ ${#missing[@]} -eq 0 ]; then ok "nbmount-node.yaml.5 has every key of packaging/node.yaml ($(wc -l <<<"$keys") keys)"
        else not_ok "nbmount-node.yaml.5 has every key of packaging/node.yaml" "missing ${missing[*]}"; fi
fi

# --- the file-format pages against the JSON Schemas ---------------------------------------------------
# schema_properties SCHEMA [JQ-PATH]: every property name in the schema (or below JQ-PATH).
schema_properties() {
        jq -r "${2:-.} | [.. | objects | select(has(\"properties\")) | .properties | keys[]] | unique[]" "schemas/$1"
}
if have jq; then
        for pair in "nbmount-node.yaml.5 node.schema.json" "nbmount-grants.5 grants.schema.json" \
                "nbmount-grants.5 public.schema.json" "nbmount-grants.5 common.schema.json .[\"\$defs\"].dataset" \
                "nbmount-settings.5 settings.schema.json"; do
                read -r page schema path <<<"$pair"
                label="$page has every property of $schema${path:+ (dataset)}"
                [ -e "man/$page" ] || { not_ok "$label" "man/$page is missing"; continue; }
                manual=$(render "man/$page")
                properties=$(schema_properties "$schema" "$path")
                missing=()
                for property in $properties; do documented "$manual" "$property" || missing+=("$property"); done
                if [ -z "$properties" ]; then not_ok "$label" "no property found in schemas/$schema"
                elif [ ${#missing[@]} -eq 0 ]; then ok "$label"
                else not_ok "$label" "missing ${missing[*]}"; fi
        done
fi

exit 0
