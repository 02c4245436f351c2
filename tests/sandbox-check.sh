#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Privilege separation: the settings.yaml parser's sandbox (lib/sandbox.c) and the hook's hardening
# (lib/harden.c), proven with the test-mode build (NBMOUNT_DIR/test-mode/nbmount, lib/testmode.h):
#   - a forbidden system call (open, socket, execve) kills the parser with SIGSYS, and `nbmount
#     plan`, `nbmount validate` and `nbmount hook` (under runc) refuse with one line, exit 2, host
#     unchanged;
#   - the parser runs as nobody with no capability, no_new_privs and seccomp; a parser that eats
#     memory or CPU, blocks, or answers settings that break the rules is refused, never waited for;
#   - the production build ignores the test marker, and parses normal settings as before;
#   - the hardened hook keeps exactly its capabilities (effective, permitted, bounding), has
#     no_new_privs and seccomp, cannot execve nor open an AF_INET, AF_INET6 or netlink socket, can
#     open an AF_UNIX one; and needs each capability it keeps (without it, the start fails).
# Usage: tests/sandbox-check.sh [NBMOUNT]. Prints "ok - ..." / "not ok - ...: why" lines; always
# exits 0. Needs root, runc, busybox (busybox-static) and jq.
set -u
cd "$(dirname "$0")/.."
NBMOUNT=${1:-build/nbmount}
NBMOUNT=$(realpath "$NBMOUNT")
TEST_NBMOUNT=$(dirname "$NBMOUNT")/test-mode/nbmount
. tests/lib/sample-node.sh
. tests/lib/bundle.sh

. tests/lib/testlib.sh
testlib_init sandbox

if [ ! -x "$TEST_NBMOUNT" ]; then
        not_ok "prerequisites" "$TEST_NBMOUNT is missing (make test-mode builds it)"
        exit 0
fi
need_tools runc busybox jq
need_root "the sandbox tests need root"

work=$(mktemp -d /tmp/nbmount-sandbox.XXXXXX)
trap 'bundle_cleanup; rm -rf --one-file-system "$work"' EXIT
trap 'echo "# interrupted"; exit 1' INT TERM
node=$work/node
make_sample_node "$node"
config=$node/node.yaml
sed -i 's/^quota: .*/quota: {enforce: off}/' "$config"
# The parser's failures are proven through the strict mode, where they refuse with one line; the
# default, skip, starts the container without settings.yaml (checked below with skip_config).
skip_config=$node/node-skip.yaml
cp "$config" "$skip_config"
echo "settings: {on_error: refuse}" >>"$config"
settings=$node/notebooks/acme/nb1/.gradient/settings.yaml
good='quarterly-reports:
  type: dataset
  id: dsr8k5qzn401lb5
  version: v1
images:
  type: dataset
  id: dsimg7
mnist:
  type: dataset
  id: dsmnist'
printf '%s\n' "$good" >"$settings"

# run BINARY ARGS...: sets out, err, rc, ms (wall-clock milliseconds).
run() {
        local start=$(date +%s%N)
        out=$("$@" 2>"$work/stderr")
        rc=$?
        ms=$((($(date +%s%N) - start) / 1000000))
        err=$(cat "$work/stderr")
}
plan() { run "$1" plan --config "$config" --team acme --notebook nb1 --user alice --json; }
# with_marker ACTION: settings.yaml with the test marker as its first line.
with_marker() { printf '# nbmount-test-sandbox: %s\n%s\n' "$1" "$good" >"$settings"; }
refusal() { echo "nbmount: $settings: the settings parser $1; the file was not used"; }
killed_by_sigsys=$(refusal "was killed by signal 31 (SIGSYS: it tried a system call the sandbox forbids)")

# --- the parser's sandbox, through nbmount plan and nbmount validate ------------------------------
plan "$NBMOUNT"
expect_eq "normal settings: plan grants all, nothing on stderr" "0 |" "$rc |$err"
plan_good=$out
plan "$TEST_NBMOUNT"
expect_eq "normal settings: the test-mode build plans the same" "0 $plan_good" "$rc $out"

for action in open socket execve; do
        with_marker $action
        plan "$TEST_NBMOUNT"
        expect_eq "$action in the parser: plan refuses with exit 2 and one line, nothing on stdout" \
                "2 $killed_by_sigsys |" "$rc $err |$out"
        run "$TEST_NBMOUNT" validate settings "$settings"
        expect_eq "$action in the parser: validate refuses the same way" "2 $killed_by_sigsys" "$rc $err"
done

for action in open socket execve status memory cpu hang bad-answer; do
        with_marker $action
        plan "$NBMOUNT"
        expect_eq "the production build ignores the marker \"$action\"" "0 $plan_good |" "$rc $out |$err"
done

with_marker status
plan "$TEST_NBMOUNT"
field() { printf '%s\n' "$err" | grep -o "$1: [^:]*" | sed "s/^$1: *//; s/ *[A-Z][A-Za-z]*\$//; s/ *\$//"; }
expect_eq "the parser runs as uid 65534 (nobody)" "65534 65534 65534 65534" "$(field Uid)"
expect_eq "the parser runs as gid 65534, no supplementary group" "65534 65534 65534 65534|" "$(field Gid)|$(field Groups)"
for set in CapInh CapPrm CapEff CapBnd CapAmb; do
        expect_eq "the parser has no capability: $set" 0000000000000000 "$(field $set)"
done
expect_eq "the parser has no_new_privs and a seccomp filter" "1 2" "$(field NoNewPrivs) $(field Seccomp)"

with_marker memory
plan "$TEST_NBMOUNT"
expect_match "a parser that eats memory is refused, exit 2, one line" \
        "^2 nbmount: $settings: the settings parser (ran out of memory \(the sandbox allows it 256 MiB\)|was killed by signal [0-9]+ \([^)]*\)); the file was not used\$" \
        "$rc $err"
expect_eq "a parser that eats memory is refused within 5 s" yes "$([ $ms -lt 5000 ] && echo yes || echo "no: $ms ms")"

with_marker cpu
plan "$TEST_NBMOUNT"
expect_eq "a parser that spins is killed by SIGXCPU, exit 2, one line" \
        "2 $(refusal "was killed by signal 24 (SIGXCPU: it used more than 2 s of CPU time)")" "$rc $err"
expect_eq "a parser that spins is refused within 5 s" yes "$([ $ms -lt 5000 ] && echo yes || echo "no: $ms ms")"

with_marker hang
plan "$TEST_NBMOUNT"
expect_eq "a parser that blocks is killed at the deadline, exit 2, one line" \
        "2 $(refusal "did not finish within 5 s and was killed")" "$rc $err"
expect_eq "a parser that blocks is refused after 5 s, not later" yes \
        "$([ $ms -ge 5000 ] && [ $ms -lt 7000 ] && echo yes || echo "no: $ms ms")"

with_marker bad-answer
plan "$TEST_NBMOUNT"
expect_eq "settings from the parser that break the rules are refused" \
        "2 nbmount: $settings: mount 1 (\"../etc\"): mount name starts with a dot (in the settings parser's answer); the file was not used" \
        "$rc $err"

expect_eq "no parser is left running" "" "$(ps -u 65534 -o pid=,args= | grep -F "$TEST_NBMOUNT")"

# --- the hook under runc: a refusing parser stops the container ----------------------------------
if ! bundle_init "$work" "$TEST_NBMOUNT" >"$work/init.log" 2>&1; then
        not_ok "harness: bundle_init" "$(cat "$work/init.log")"
        exit 0
fi
mkdir -p "$work/b"
bundle_no=0
# new_bundle [ENV_JSON_ARRAY] [make_bundle options]: $bundle, hooked to the test-mode nbmount.
new_bundle() {
        local env=$1
        shift
        bundle_no=$((bundle_no + 1))
        bundle=$work/b/$bundle_no
        make_bundle "$bundle" --identity acme nb1 alice --cmd 'echo started' \
                --hook-json createRuntime "{\"path\": \"$TEST_NBMOUNT\", \"args\": [\"nbmount\", \"hook\", \"createRuntime\", \"--config\", \"$config\"], \"env\": $env}" \
                "$@"
}
# hook_line: the hook's line from runc's error, and the hook's exit status.
hook_line() {
        printf '%s\n' "$run_err" | sed -n 's/.*stderr: \(nbmount: .*\)$/\1/p' | head -1 | sed 's/\\n"*$//; s/\\"/"/g'
}
hook_status() { printf '%s\n' "$run_err" | sed -n 's/.*error running hook: exit status \([0-9]*\),.*/\1/p' | head -1; }
host_state() { mount_table_snapshot; files_snapshot "$node"; }

printf '%s\n' "$good" >"$settings"
new_bundle '[]'
run_runc "$bundle"
expect_eq "hook: the test-mode build starts a container with normal settings" "0 started" "$run_rc $run_out"

for action in open socket execve; do
        with_marker $action
        new_bundle '[]'
        before=$(host_state)
        run_runc "$bundle"
        expect_eq "hook: $action in the parser: the container does not start, the hook exits 2" "yes no 2" \
                "$([ $run_rc -ne 0 ] && echo yes || echo no) $([[ $run_out == *started* ]] && echo yes || echo no) $(hook_status)"
        expect_eq "hook: $action in the parser: the hook's one line" \
                "nbmount: container $run_id (team acme, notebook nb1, user alice): ${killed_by_sigsys#nbmount: }" "$(hook_line)"
        expect_eq "hook: $action in the parser: host mounts and node files unchanged" "$before" "$(host_state)"
done
# settings.on_error skip: the same parsers cost the notebook its /datasets entries, never its start
status=$node/notebooks/acme/nb1/.gradient/mounts.status
for action in open socket execve; do
        with_marker $action
        rm -f "$status"
        config=$skip_config new_bundle '[]'
        run_runc "$bundle"
        expect_eq "hook, on_error skip: $action in the parser: the container starts; the status file says why" \
                "0 started|.gradient/settings.yaml  skipped  ${killed_by_sigsys#nbmount: $node/notebooks/acme/nb1/}" \
                "$run_rc $run_out|$(grep '^.gradient/settings.yaml ' "$status")"
done
printf '%s\n' "$good" >"$settings"

# --- the hardened hook ---------------------------------------------------------------------------
# harden_line ACTION: the line of a hook told NBMOUNT_TEST_HARDEN=ACTION, its status, and whether
# the container ran.
harden_run() {
        new_bundle "[\"NBMOUNT_TEST_HARDEN=$1\"]" "${@:2}"
        run_runc "$bundle"
        line=$(hook_line)
        line=${line#"nbmount: container $run_id (team acme, notebook nb1, user alice): "}
}
# The kept capabilities: CAP_CHOWN 0, CAP_DAC_OVERRIDE 1, CAP_FOWNER 3, CAP_SYS_CHROOT 18,
# CAP_SYS_ADMIN 21 (not CAP_SYS_PTRACE 19: the container's /proc/PID is held before hardening),
# CAP_SYS_RESOURCE 24 (needed on ext4 only: tests/lib/uml-quota-tree.sh); those of them this test
# itself holds (a machine may run its root without some: this test bed lacks CAP_SYS_RESOURCE),
# which is all the hook can keep.
bounding=$(awk '$1 == "CapBnd:" { print $2 }' /proc/self/status)
kept=$(printf '%016x' $((((1 << 0) | (1 << 1) | (1 << 3) | (1 << 18) | (1 << 21) | (1 << 24)) & 0x$bounding)))
harden_run status
err=$line
expect_eq "hook: after hardening, CapEff, CapPrm and CapBnd hold only the kept capabilities" \
        "$kept $kept $kept" "$(field CapEff) $(field CapPrm) $(field CapBnd)"
expect_eq "hook: after hardening, no inheritable or ambient capability" "0000000000000000 0000000000000000" \
        "$(field CapInh) $(field CapAmb)"
expect_eq "hook: after hardening, no_new_privs and a seccomp filter" "1 2" "$(field NoNewPrivs) $(field Seccomp)"

before=$(host_state)
harden_run execve
expect_eq "hook: the hardened hook cannot execve" "test mode: execve(/bin/true): Operation not permitted" "$line"
expect_eq "hook: execve refused: the container does not start, host unchanged" "no $before" \
        "$([[ $run_out == *started* ]] && echo yes || echo no) $(host_state)"
for family in inet inet6 netlink; do
        harden_run socket-$family
        expect_eq "hook: the hardened hook cannot open an AF_${family^^} socket" \
                "test mode: socket(AF_${family^^}): Operation not permitted" "$line"
done
harden_run mount
expect_eq "hook: mount(2) only as a bind, to private, or a bind remount that keeps nosuid,nodev" \
        "test mode: mount: tmpfs EPERM, MS_MOVE EPERM, MS_BIND|MS_REC EPERM, MS_SHARED EPERM, MS_REMOUNT|MS_BIND|MS_RDONLY EPERM, MS_BIND ENOENT, MS_PRIVATE ENOENT, MS_REMOUNT|MS_BIND|MS_NOSUID|MS_NODEV ENOENT" \
        "$line"
harden_run socket-unix
expect_eq "hook: the hardened hook can open an AF_UNIX socket (nbmountd, syslog)" \
        "test mode: socket(AF_UNIX): allowed" "$line"

# Each kept capability is needed: without it, a start that needs it fails. A fresh notebook of a
# uid 1000 container needs CAP_CHOWN and CAP_FOWNER; an image whose / belongs to uid 1000 (0755),
# CAP_DAC_OVERRIDE for its mountpoints; any start the rest.
harden_run ""
expect_eq "hook: a hardened start with every kept capability works" "0 started" "$run_rc $run_out"
# expect_fails_without CAP FRAGMENT: the last start failed with FRAGMENT in the hook's line.
expect_fails_without() {
        line=$(hook_line)
        line=${line#"nbmount: container $run_id (team acme, notebook "*", user alice): "}
        if [ $run_rc -ne 0 ] && [[ $line == *"$2"* ]]; then ok "hook: without $1 the start fails"; else
                not_ok "hook: without $1 the start fails with «$2»" "exit $run_rc, «$line» «$(oneline "$run_err")»"
        fi
}
harden_run without:CAP_SYS_ADMIN
expect_fails_without CAP_SYS_ADMIN "/notebooks: cannot clone $node/notebooks/acme/nb1: Operation not permitted"
harden_run without:CAP_SYS_CHROOT
expect_fails_without CAP_SYS_CHROOT "cannot join the mount namespace of process"
for cap in "" CAP_CHOWN CAP_FOWNER; do
        rm -rf "$node/notebooks/acme/fresh"
        new_bundle "[\"NBMOUNT_TEST_HARDEN=without:$cap\"]" --user 1000:1000
        jq '.annotations["io.nbmount.notebook"] = "fresh"' "$bundle/config.json" >"$bundle/config.new" &&
                mv "$bundle/config.new" "$bundle/config.json"
        run_runc "$bundle"
        if [ -z "$cap" ]; then
                expect_eq "hook: a fresh notebook for uid 1000 with every kept capability" "0 started directory 1000:1000" \
                        "$run_rc $run_out $(stat -c '%F %u:%g' "$node/notebooks/acme/fresh" 2>&1)"
        else
                expect_fails_without $cap "/notebooks: "
        fi
done
rm -rf "$node/notebooks/acme/fresh"
for cap in "" CAP_DAC_OVERRIDE; do
        new_bundle "[\"NBMOUNT_TEST_HARDEN=without:$cap\"]"
        chown 1000:1000 "$bundle/rootfs" && chmod 0755 "$bundle/rootfs"
        run_runc "$bundle"
        if [ -z "$cap" ]; then
                expect_eq "hook: an image whose / belongs to uid 1000, with every kept capability" "0 started" "$run_rc $run_out"
        else
                expect_fails_without $cap "cannot make the mountpoint: Permission denied"
        fi
done
exit 0
