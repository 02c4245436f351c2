#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The Debian package end to end, on this machine: builds the .deb (dpkg-buildpackage -us -uc -b,
# in a copy of the source tree), lints it, installs it with dpkg, checks every installed file,
# runs the installed nbmount and nbmountd against a demo node config written to
# /etc/nbmount/node.yaml, starts a podman container that gets its mounts purely from the
# installed hooks.d file, then removes and purges the package and checks what is left: nothing
# but the operator's grants and secrets (a purge deletes node.yaml even when the operator changed
# it; a remove keeps it).
# Usage: tests/package-check.sh. Prints "ok - package ..." / "not ok - package ...: why" lines;
# always exits 0. Needs root, dpkg-dev, debhelper, lintian, podman, runc, busybox, jq, git, s3fs
# and fuse3 (the package's dependencies). The machine is left as it was found: the package is
# purged, /etc/nbmount and /var/lib/nbmount are restored (or removed if they were not there).
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/sample-node.sh
. tests/lib/bundle.sh
NBMOUNTD=/usr/sbin/nbmountd
. tests/lib/s3.sh

. tests/lib/testlib.sh
testlib_init package 4000
# expect_mode NAME PATH TYPE MODE: PATH is a TYPE (f, d) with MODE (octal), owned by root:root.
expect_mode() {
        local actual
        actual=$(find "$2" -maxdepth 0 -printf '%y %m %u:%g' 2>&1)
        expect_eq "$1" "$3 $4 root:root" "$actual"
}
pkg_status() { dpkg-query -W -f='${Status}' nbmount 2>/dev/null; }

need_tools dpkg-buildpackage dh lintian podman runc busybox jq git s3fs fusermount3
need_root "installing a package needs root"
case $(pkg_status) in
"" | "unknown ok not-installed" | "deinstall ok not-installed" | "purge ok not-installed") ;;
*)
        not_ok "prerequisites" "the package nbmount is on this machine ($(pkg_status)); the test installs and purges it, so it does not run here"
        exit 0
        ;;
esac
if [ -e /run/nbmount ]; then
        not_ok "prerequisites" "/run/nbmount exists (an nbmountd runs here?); the test runs the packaged nbmountd there"
        exit 0
fi

version=$(cat VERSION)
work=$(mktemp -d /tmp/nbmount-package.XXXXXX)
BB_WORK=$work/bb # bundle_init sets it again; mount_table_snapshot leaves out its podman storage
MOUNTD_LOG=$work/mountd.log
touched=0  # set once dpkg -i is about to run: from then on the cleanup purges and restores
saved_etc=0 saved_var=0
cleanup() {
        mountd_stop KILL
        bundle_cleanup
        if ((touched)); then
                case $(pkg_status) in
                "" | *" not-installed") ;;
                *) dpkg --purge nbmount >"$work/cleanup-purge.log" 2>&1 || cat "$work/cleanup-purge.log" >&2 ;;
                esac
                if grep -q " /run/nbmount/keys " /proc/self/mountinfo; then umount -l /run/nbmount/keys; fi
                rm -rf --one-file-system /run/nbmount
                rm -rf /etc/nbmount /var/lib/nbmount
        fi
        ((saved_etc)) && mv "$work/saved/etc-nbmount" /etc/nbmount
        ((saved_var)) && mv "$work/saved/var-lib-nbmount" /var/lib/nbmount
        rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'echo "# interrupted"; exit 1' INT TERM

# --- build ---------------------------------------------------------------------------------------
# A copy of the tracked and untracked-but-not-ignored files (the working tree as it is), with
# packaging/debian as debian/; dpkg-buildpackage writes the .deb into the copy's parent folder.
src=$work/src/nbmount-$version
mkdir -p "$src"
git ls-files -co --exclude-standard -z | while IFS= read -r -d '' file; do
        [ -e "$file" ] || [ -L "$file" ] && printf '%s\0' "$file"
done | xargs -0 cp -a --parents -t "$src"
cp -a packaging/debian "$src/debian"
tree_snapshot() {
        (cd "$src" && find . \( -path ./build -o -path ./debian \) -prune -o -type d -printf '%p %y\n' \
                -o -printf '%p %y %s %T@\n' | sort)
}
tree_before=$(tree_snapshot)
# Not the environment of `make check`: its MAKEFLAGS (jobserver), SANITIZE=1 (another build folder).
if (cd "$src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE -u CC -u CFLAGS -u LDFLAGS \
        dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
        ok "dpkg-buildpackage -us -uc -b"
else
        not_ok "dpkg-buildpackage -us -uc -b" "$(tail -20 "$work/build.log")"
        exit 0
fi
deb=$(ls "$work"/src/nbmount_"$version"_*.deb 2>/dev/null | head -1)
changes=$(ls "$work"/src/nbmount_"$version"_*.changes 2>/dev/null | head -1)
if [ -z "$deb" ]; then
        not_ok "the .deb" "no nbmount_${version}_*.deb in $work/src: $(ls "$work/src")"
        exit 0
fi
tree_after=$(tree_snapshot)
expect_eq "build: no build product in the source tree outside build/ (and debian/)" "" \
        "$(diff <(echo "$tree_before") <(echo "$tree_after") | grep '^[<>]')"
expect_eq "version from VERSION" "$version" "$(dpkg-deb -f "$deb" Version)"
expect_eq "debian/changelog's version is VERSION" "$version" "$(cd packaging && dpkg-parsechangelog -l debian/changelog -S Version)"
depends=$(dpkg-deb -f "$deb" Depends)
for dep in s3fs fuse3 libc6 libmount1 libjson-c5 libyaml-0-2; do  # and the others the binaries link (shlibs)
        if [[ ", $depends," == *", $dep"[\ ,]* ]]; then ok "Depends: $dep"; else not_ok "Depends: $dep" "Depends: $depends"; fi
done

# --- lintian ------------------------------------------------------------------------------------
lintian --display-info --tag-display-limit 0 "$changes" 2>&1 | grep -v 'running with root privileges is not recommended' \
        >"$work/lintian.log"
errors=$(grep -c '^E: ' "$work/lintian.log")
warnings=$(grep -c '^W: ' "$work/lintian.log")
expect_eq "lintian: no error" "0" "$errors"
echo "# lintian: $errors errors, $warnings warnings, $(grep -c '^I: ' "$work/lintian.log") info tags"
sed -n 's/^\([EWI]: .*\)/# lintian: \1/p' "$work/lintian.log"

# --- before installing: what is there -----------------------------------------------------------
# A node config or state of another installation is put aside (and back at the end); any other file
# where the package installs one stops the test: it is not the test's to overwrite.
mkdir -p "$work/saved"
if [ -e /etc/nbmount ]; then mv /etc/nbmount "$work/saved/etc-nbmount" && saved_etc=1; fi
if [ -e /var/lib/nbmount ]; then mv /var/lib/nbmount "$work/saved/var-lib-nbmount" && saved_var=1; fi
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' >"$work/deb-files"
clash=$(while read -r f; do [ -e "$f" ] && echo "$f"; done <"$work/deb-files")
if [ -n "$clash" ]; then
        not_ok "prerequisites" "files of the package exist already on this machine: $clash"
        exit 0
fi
# Every path with nbmount in it (in its name or a folder's), outside the temporary folders and the
# run folders of the other tests (/run/nbmount-*: a test may run beside this one).
named_paths() {
        find /etc /usr /lib /var /srv /opt /run \( -path /var/tmp -o -path /var/cache/apt -o -path /var/lib/dpkg \
                -o -path '/run/nbmount-*' \) -prune -o -ipath '*nbmount*' -print 2>/dev/null | sort
}
# The host's mount table, less the mounts of the other tests (in /tmp and /run/nbmount-*).
host_mounts() {
        mount_table_snapshot | awk -v w="$work/" '!(index($1, "/run/nbmount-") == 1 ||
                (index($1, "/tmp/") == 1 && index($1 "/", w) != 1))'
}
named_before=$(named_paths)
mounts_before=$(host_mounts)
dpkg-deb -c "$deb" | awk '{ sub(/^\./, "", $6); sub(/\/$/, "", $6); if ($6 != "") print $6 }' | sort >"$work/deb-paths"
while read -r p; do [ -e "$p" ] || echo "$p"; done <"$work/deb-paths" >"$work/new-paths"

# --- install ------------------------------------------------------------------------------------
touched=1
if DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >"$work/install.log" 2>&1; then
        ok "dpkg -i (no systemd as PID 1: the maintainer scripts do not fail)"
else
        not_ok "dpkg -i" "$(tail -20 "$work/install.log")"
        exit 0
fi
expect_eq "dpkg: installed" "install ok installed" "$(pkg_status)"
expect_mode "/usr/bin/nbmount" /usr/bin/nbmount f 755
expect_mode "/usr/sbin/nbmountd" /usr/sbin/nbmountd f 755
expect_mode "/usr/bin/nbmount-runtime" /usr/bin/nbmount-runtime f 755
expect_eq "the containerd snippet, the Kubernetes and Docker examples are in /usr/share/doc/nbmount/examples" \
        "admission-policy.yaml containerd-nbmount.toml daemon.json pod.yaml runtimeclass.yaml" \
        "$(ls /usr/share/doc/nbmount/examples 2>&1 | tr '\n' ' ' | sed 's/ $//')"
expect_mode "/etc/nbmount/node.yaml" /etc/nbmount/node.yaml f 644
expect_eq "/etc/nbmount/node.yaml is the commented template packaging/node.yaml" \
        "$(cat packaging/node.yaml)" "$(cat /etc/nbmount/node.yaml)"
expect_eq "/etc/nbmount/node.yaml is a conffile" "/etc/nbmount/node.yaml" \
        "$(dpkg-query -W -f='${Conffiles}\n' nbmount | awk 'NF { print $1 }')"
expect_mode "/etc/nbmount/grants: root's, 0700" /etc/nbmount/grants d 700
expect_mode "/etc/nbmount/secrets: root's, 0700" /etc/nbmount/secrets d 700
expect_mode "/var/lib/nbmount: root's, 0700" /var/lib/nbmount d 700
hooks_file=/usr/share/containers/oci/hooks.d/nbmount.json
expect_mode "$hooks_file" $hooks_file f 644
expect_eq "$hooks_file is packaging/hooks.d/nbmount.json (path /usr/bin/nbmount)" \
        "$(jq -S . packaging/hooks.d/nbmount.json)" "$(jq -S . $hooks_file 2>&1)"
expect_mode "seccomp rule" /usr/share/nbmount/seccomp/nbmount-quota.json f 644
expect_eq "seccomp rule is packaging/seccomp/nbmount-quota.json" \
        "$(jq -S . packaging/seccomp/nbmount-quota.json)" "$(jq -S . /usr/share/nbmount/seccomp/nbmount-quota.json 2>&1)"
for unit in nbmountd.service nbmountd.socket nbmount-quota-sync.service nbmount-meter.service nbmount-meter.timer; do
        expect_mode "systemd: $unit" /lib/systemd/system/$unit f 644
        expect_eq "systemd: $unit is packaging's" "$(cat packaging/systemd/$unit)" "$(cat /lib/systemd/system/$unit 2>&1)"
done
expect_eq "systemd: nbmountd.service runs /usr/sbin/nbmountd" "/usr/sbin/nbmountd" \
        "$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' /lib/systemd/system/nbmountd.service)"
expect_eq "systemd: nbmount-quota-sync.service runs nbmount quota sync --watch, and is not enabled (storage servers only)" \
        "/usr/bin/nbmount quota sync --watch|" \
        "$(sed -n 's/^ExecStart=\([^ ]* [^ ]* [^ ]* [^ ]*\).*/\1/p' /lib/systemd/system/nbmount-quota-sync.service)|$(readlink /etc/systemd/system/multi-user.target.wants/nbmount-quota-sync.service)"
expect_eq "systemd: nbmount-meter.timer is enabled, hourly and persistent; its service runs nbmount meter --textfile for node_exporter" \
        "/lib/systemd/system/nbmount-meter.timer|hourly|true|/usr/bin/nbmount meter --textfile /var/lib/prometheus/node-exporter" \
        "$(readlink /etc/systemd/system/timers.target.wants/nbmount-meter.timer)|$(sed -n 's/^OnCalendar=//p' /lib/systemd/system/nbmount-meter.timer)|$(sed -n 's/^Persistent=//p' /lib/systemd/system/nbmount-meter.timer)|$(sed -n 's/^ExecStart=\([^ ]* [^ ]* [^ ]* [^ ]*\).*/\1/p' /lib/systemd/system/nbmount-meter.service)"
expect_eq "systemd: the units are enabled (deb-systemd-helper, for the next boot with systemd)" \
        "/lib/systemd/system/nbmountd.service /lib/systemd/system/nbmountd.socket" \
        "$(readlink /etc/systemd/system/multi-user.target.wants/nbmountd.service) $(readlink /etc/systemd/system/sockets.target.wants/nbmountd.socket)"
for page in man/*.[58]; do
        name=$(basename "$page")
        section=${name##*.}
        expect_mode "man page $name" "/usr/share/man/man$section/$name.gz" f 644
        if command -v man >/dev/null; then
                expect_eq "man -w ${name%.*}($section)" "/usr/share/man/man$section/$name.gz" \
                        "$(man -w "$section" "${name%.*}" 2>&1)"
        fi
done
expect_mode "bash completion" /usr/share/bash-completion/completions/nbmount f 644
for doc in /usr/share/doc/nbmount/README.md.gz /usr/share/doc/nbmount/FORMATS.md.gz /usr/share/doc/nbmount/copyright; do
        expect_mode "doc $doc" "$doc" f 644
done
for schema in schemas/*.schema.json; do
        expect_eq "schema $(basename "$schema") in /usr/share/nbmount/schemas" "$(cat "$schema")" \
                "$(cat "/usr/share/nbmount/$schema" 2>&1)"
done
expect_eq "nbmount --version (/usr/bin)" "nbmount $version" "$(PATH=/usr/bin:/bin nbmount --version 2>&1)"
expect_eq "nbmountd --version (/usr/sbin)" "nbmountd $version" "$(PATH=/usr/sbin:/usr/bin:/bin nbmountd --version 2>&1)"
out=$(/usr/bin/nbmount validate node /etc/nbmount/node.yaml 2>&1)
expect_eq "the template asks for the cluster: exit 2, naming the key" "2 yes" \
        "$? $([[ $out == *'"cluster"'* ]] && echo yes || echo "no: $out")"
sed 's/^cluster: .*/cluster: east-1/' /etc/nbmount/node.yaml >"$work/template-filled.yaml"
expect_run "the template, once it names the cluster, is a valid node config" \
        /usr/bin/nbmount validate node "$work/template-filled.yaml"

# --- the demo node: its config in /etc/nbmount/node.yaml, its grants and secrets in /etc/nbmount --
# Roots in the work folder, quotas off (this kernel has none), no S3 entry in settings.yaml (no
# S3 server here: tests/s3-check.sh covers them), nbmountd on the package's default socket.
node=$work/node
make_sample_node "$node"
sed -e 's/^quota: .*/quota: {enforce: off}/' -e "s|^grants: .*|grants: /etc/nbmount/grants|" \
        -e "s|^secrets: .*|secrets: /etc/nbmount/secrets|" -e "s|^state: .*|state: /var/lib/nbmount|" \
        -e "s|^mountd_socket: .*|mountd_socket: /run/nbmount/mountd.sock|" "$node/node.yaml" >"$work/demo.yaml"
sed -i "1i # The demo node config of tests/package-check.sh (an operator's change of the conffile)." "$work/demo.yaml"
# Files only: the folders keep the modes the package gave them.
cp "$work/demo.yaml" /etc/nbmount/node.yaml
cp -p "$node"/grants/*.json /etc/nbmount/grants/
mkdir -m 0700 /etc/nbmount/secrets/acme
cp -p "$node"/secrets/acme/* /etc/nbmount/secrets/acme/
(cd /etc/nbmount && find grants secrets -printf '%p %y %m %u:%g %s\n' | sort; cat grants/* secrets/acme/*) >"$work/operator-data"
find /etc/nbmount /etc/nbmount/grants /etc/nbmount/secrets -maxdepth 0 >"$work/operator-paths"
find /etc/nbmount/grants /etc/nbmount/secrets -mindepth 1 >>"$work/operator-paths"
settings=$node/notebooks/acme/nb1/.gradient/settings.yaml
cat >"$settings" <<'EOT'
quarterly-reports:
  type: dataset
  id: dsr8k5qzn401lb5
  version: v1
mnist:
  type: dataset
  id: dsmnist
EOT
echo "notebook nb1" >"$node/notebooks/acme/nb1/hello.txt"
echo "team storage" >"$node/storage/east-1/acme/shared.txt"
echo "report v1" >"$node/datasets/dsr8k5qzn401lb5/v1/report.csv"
echo "mnist v1" >"$node/datasets/dsmnist/v1/train.txt"
expect_run "nbmount validate node /etc/nbmount/node.yaml (the demo config)" /usr/bin/nbmount validate node /etc/nbmount/node.yaml

# --- bash completion ----------------------------------------------------------------------------
# complete WORDS...: what the installed completion offers for the last word.
complete_words() {
        bash -c '. /usr/share/bash-completion/completions/nbmount
                COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _nbmount
                printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' complete "$@"
}
expect_eq "completion: commands" "check hook meter mounts offline plan quota seccomp validate " "$(complete_words nbmount '')"
expect_eq "completion: nbmount pl" "plan " "$(complete_words nbmount pl)"
expect_eq "completion: hook stages" "createRuntime poststop prestart " "$(complete_words nbmount hook '')"
expect_eq "completion: validate kinds" "config grants node public settings " "$(complete_words nbmount validate '')"
expect_eq "completion: teams from the grants folder of the config" "acme " "$(complete_words nbmount plan --team '')"
expect_eq "completion: quota apply TEAM" "acme " "$(complete_words nbmount quota apply '')"
have_check=0
/usr/bin/nbmount check --help >/dev/null 2>&1 && have_check=1
for command in hook plan quota mounts check validate; do
        [ $command = check ] && ((!have_check)) && continue
        help_options=$(/usr/bin/nbmount $command --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u | tr '\n' ' ')
        offered=$(complete_words nbmount $command --)
        missing=$(for o in $help_options; do [[ " $offered" == *" $o "* ]] || printf '%s ' "$o"; done)
        expect_eq "completion: every option of nbmount $command --help is offered" "" "$missing"
done

# --- the installed programs, on the demo config -------------------------------------------------
if mountd_start /etc/nbmount/node.yaml; then
        ok "nbmountd (/usr/sbin) starts on /etc/nbmount/node.yaml"
        expect_run "nbmount mounts: reaches the installed nbmountd" /usr/bin/nbmount mounts
else
        not_ok "nbmountd (/usr/sbin) starts on /etc/nbmount/node.yaml" "$(tail -5 "$MOUNTD_LOG")"
fi
if ((have_check)); then
        expect_run "nbmount check (the demo config)" /usr/bin/nbmount check
        /usr/bin/nbmount check 2>&1 | tail -n 1 | sed 's/^/# nbmount check: /'
else
        echo "# nbmount check not available yet: skipped"
fi
expect_run "nbmount plan (default config): alice in acme, nb1: every mount granted" \
        /usr/bin/nbmount plan --team acme --notebook nb1 --user alice

# --- podman, through the installed hooks.d file only ---------------------------------------------
# No --hooks-dir: podman reads /usr/share/containers/oci/hooks.d by default. The hook is
# /usr/bin/nbmount with the default config, /etc/nbmount/node.yaml.
if ! bundle_init "$work/bb" /usr/bin/nbmount >"$work/bundle-init.log" 2>&1 || ! podman_init; then
        not_ok "podman: harness" "$(cat "$work/bundle-init.log" "$work/bb/podman/import.err" 2>/dev/null)"
else
        mounts_podman_before=$(host_mounts)
        probe='cat /notebooks/hello.txt /storage/shared.txt /datasets/quarterly-reports/report.csv /datasets/mnist/train.txt
               echo written >/notebooks/written.txt && echo notebooks-writable
               touch /datasets/mnist/x 2>/dev/null || echo datasets-read-only
               echo --mountinfo--; cat /proc/self/mountinfo'
        run_podman "" "$probe" --annotation io.nbmount.team=acme --annotation io.nbmount.notebook=nb1 \
                --annotation io.nbmount.user=alice
        expect_eq "podman: the container ran" "0 " "$run_rc $(oneline "$run_err")"
        expect_eq "podman: /notebooks, /storage and /datasets/NAME readable" \
                "$(printf '%s\n' 'notebook nb1' 'team storage' 'report v1' 'mnist v1' notebooks-writable datasets-read-only)" \
                "$(printf '%s\n' "$run_out" | sed '/^--mountinfo--$/,$d')"
        expect_eq "podman: /notebooks, /storage rw and the datasets ro are mounts" \
                "/datasets/mnist ro|/datasets/quarterly-reports ro|/notebooks rw|/storage rw|" \
                "$(printf '%s\n' "$run_out" | sed '1,/^--mountinfo--$/d' |
                   awk '$5 ~ /^\/(notebooks|storage|datasets\/)/ { split($6, o, ","); print $5, o[1] }' | sort | tr '\n' '|')"
        expect_eq "podman: the write landed in the notebook's folder" written \
                "$(cat "$node/notebooks/acme/nb1/written.txt" 2>&1)"
        run_podman "" 'echo started; test -e /storage || echo no-storage'
        expect_eq "podman: a container without the annotations is left alone" "0 started|no-storage" \
                "$run_rc $(oneline "$run_out")"
        expect_eq "podman: no mount left on the host" "$mounts_podman_before" "$(host_mounts)"
fi
mountd_stop TERM

# --- remove: the changed conffile stays --------------------------------------------------------------
dpkg -L nbmount | sort >"$work/dpkg-L"
if dpkg --remove nbmount >"$work/remove.log" 2>&1; then ok "dpkg --remove"; else not_ok "dpkg --remove" "$(tail -20 "$work/remove.log")"; fi
expect_eq "remove: the package's state is config-files" "deinstall ok config-files" "$(pkg_status)"
expect_eq "remove: the binaries and the hooks.d file are gone" "" \
        "$(ls /usr/bin/nbmount /usr/sbin/nbmountd $hooks_file 2>/dev/null)"
expect_eq "remove: the operator's node.yaml stays" "$(cat "$work/demo.yaml")" "$(cat /etc/nbmount/node.yaml 2>&1)"

# --- purge: nothing left but the operator's grants and secrets ------------------------------------
if dpkg --purge nbmount >"$work/purge.log" 2>&1; then ok "dpkg --purge"; else not_ok "dpkg --purge" "$(tail -20 "$work/purge.log")"; fi
expect_eq "purge: dpkg knows the package no more" "" "$(dpkg-query -W -f='${Status}' nbmount 2>/dev/null | grep -v not-installed)"
left=$(while read -r p; do
        case $p in /etc/nbmount) continue ;; esac
        grep -qxF "$p" "$work/new-paths" && [ -e "$p" ] && echo "$p"
done <"$work/dpkg-L")
expect_eq "purge: every path the package added is gone (dpkg -L)" "" "$left"
expect_eq "purge: node.yaml, /var/lib/nbmount and /run/nbmount are gone" "" \
        "$(ls -d /etc/nbmount/node.yaml /var/lib/nbmount /run/nbmount 2>/dev/null)"
expect_eq "purge: the operator's grants and secrets stay, as they were" "$(cat "$work/operator-data")" \
        "$( (cd /etc/nbmount && find grants secrets -printf '%p %y %m %u:%g %s\n' | sort; cat grants/* secrets/acme/*) 2>&1)"
expect_eq "purge: nothing else named nbmount (systemd links, deb-systemd-helper state, ...)" \
        "$( (printf '%s\n' "$named_before"; cat "$work/operator-paths") | sed '/^$/d' | sort)" \
        "$(named_paths)"
expect_eq "purge: no mount left (nbmountd's tmpfs included)" "$mounts_before" "$(host_mounts)"

# --- install and purge again, without operator data: /etc/nbmount goes too -------------------------
rm -rf /etc/nbmount
if DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >"$work/install2.log" 2>&1 &&
   dpkg --purge nbmount >"$work/purge2.log" 2>&1; then
        ok "install and purge without operator data"
        expect_eq "purge without operator data: nothing named nbmount is left" "$named_before" "$(named_paths)"
else
        not_ok "install and purge without operator data" "$(tail -20 "$work/install2.log" "$work/purge2.log" 2>/dev/null)"
fi
exit 0
