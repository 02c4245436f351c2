# SPDX-License-Identifier: Apache-2.0
# nbmount: `make` builds, `make check` installs what the tests need, builds and runs every test.
PKGS := mount json-c yaml-0.1 libcap libseccomp

# The libraries' flags come from pkg-config, which `make setup` installs along with them. So they
# are computed when a recipe first needs them, once: after setup has run (`make demo` on a fresh
# machine), never while make reads this file. A missing package stops the build with the fix,
# rather than compiling or linking without its flags.
# $(call pkg_config,OPTION,PACKAGES): pkg-config OPTION PACKAGES, or that stop.
pkg_missing = $(strip $(foreach p,$(1),$(if $(shell pkg-config --exists $(p) 2>/dev/null && echo y),,$(p))))
pkg_config = $(if $(call pkg_missing,$(2)),$(error pkg-config cannot find $(call pkg_missing,$(2)): \
	run `make setup` (as root) first, it installs what the build needs),$(shell pkg-config $(1) $(2)))
# Deferred, then evaluated once: each replaces itself with its value on first use.
PKG_CFLAGS = $(eval PKG_CFLAGS := $(call pkg_config,--cflags,$(PKGS)))$(PKG_CFLAGS)
PKG_LIBS = $(eval PKG_LIBS := $(call pkg_config,--libs,$(PKGS)))$(PKG_LIBS)
# nbmountd alone links libcurl and libgit2 (its offline copies); the hook does not grow.
MOUNTD_PKGS := libcurl libgit2
MOUNTD_PKG_CFLAGS = $(eval MOUNTD_PKG_CFLAGS := $(call pkg_config,--cflags,$(MOUNTD_PKGS)))$(MOUNTD_PKG_CFLAGS)
MOUNTD_PKG_LIBS = $(eval MOUNTD_PKG_LIBS := $(call pkg_config,--libs,$(MOUNTD_PKGS)))$(MOUNTD_PKG_LIBS)
CMOCKA_LIBS = $(eval CMOCKA_LIBS := $(call pkg_config,--libs,cmocka))$(CMOCKA_LIBS)

# When a goal that runs setup is asked for (`make demo`, `make all demo`, `make -j4 check`), every
# compilation waits for setup: an order-only prerequisite of the object rules below.
SETUP_GOALS := setup check demo fuzz fuzz-check fuzz-setup
after_setup := $(if $(filter $(SETUP_GOALS),$(MAKECMDGOALS)),setup)
# `make demo` alone installs only what the build and the demo need (./setup.sh --demo); any other
# goal that runs setup installs everything the tests need too.
setup_profile := $(if $(filter-out demo,$(filter $(SETUP_GOALS),$(MAKECMDGOALS))),,$(if $(filter demo,$(MAKECMDGOALS)),--demo))

CC ?= cc
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -D_FORTIFY_SOURCE=2 -fstack-protector-strong \
          -D_GNU_SOURCE -fPIE -Ilib -I$(BUILD)/gen $(PKG_CFLAGS)
LDFLAGS += -pie -Wl,-z,relro,-z,now -Wl,--as-needed
LDLIBS = $(PKG_LIBS)
VERSION := $(shell cat VERSION)
CFLAGS += -DNBMOUNT_VERSION='"$(VERSION)"'

BUILD := build
ifeq ($(SANITIZE),1)
BUILD := build-sanitize
CC := clang
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -U_FORTIFY_SOURCE
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC := $(wildcard lib/*.c)
HOOK_SRC := $(wildcard hook/*.c)
MOUNTD_SRC := $(wildcard mountd/*.c)
RUNTIME_SRC := $(wildcard runtime/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
HOOK_OBJ := $(HOOK_SRC:%.c=$(BUILD)/%.o)
MOUNTD_OBJ := $(MOUNTD_SRC:%.c=$(BUILD)/%.o)
RUNTIME_OBJ := $(RUNTIME_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

all: $(BUILD)/nbmount $(BUILD)/nbmountd $(BUILD)/nbmount-fusermount $(BUILD)/nbmount-runtime

# The hook's and the settings parser's seccomp filters, compiled by libseccomp here, once, so that
# neither compiles them at every start (lib/hookfilters.h).
FILTERS_H := $(BUILD)/gen/filters.h
FILTERGEN_OBJ := $(addprefix $(BUILD)/lib/,hookfilters.o confinerules.o confine.o error.o)
$(BUILD)/gen/filtergen: lib/gen/filtergen.c $(FILTERGEN_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(FILTERS_H): $(BUILD)/gen/filtergen
	@echo "  GEN $@"
	@$< >$@.new && mv $@.new $@

$(BUILD)/%.o: %.c $(wildcard lib/*.h hook/*.h mountd/*.h) VERSION Makefile | $(after_setup)
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/lib/harden.o $(BUILD)/lib/sandbox.o: $(FILTERS_H)

$(MOUNTD_OBJ): CFLAGS += $(MOUNTD_PKG_CFLAGS)

$(BUILD)/libnbmount.a: $(LIB_OBJ)
	@$(AR) rcs $@ $^

$(BUILD)/nbmount: $(HOOK_OBJ) $(BUILD)/libnbmount.a
	@echo "  LD $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/nbmountd: $(MOUNTD_OBJ) $(BUILD)/libnbmount.a
	@echo "  LD $@"
	@$(CC) $(LDFLAGS) -pthread -o $@ $^ $(LDLIBS) $(MOUNTD_PKG_LIBS)

# The runc-compatible runtime for containerd and Docker (runtime/main.c, nbmount-runtime(8)).
$(BUILD)/nbmount-runtime: $(RUNTIME_OBJ) $(BUILD)/libnbmount.a
	@echo "  LD $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# fusermount inside an s3fs's sandbox (mountd/helper/fusermount.c, nbmountd(8)): libc only.
$(BUILD)/nbmount-fusermount: $(BUILD)/mountd/helper/fusermount.o
	@echo "  LD $@"
	@$(CC) $(LDFLAGS) -o $@ $^

$(BUILD)/tests/%: tests/unit/%.c tests/unit/testutil.h $(BUILD)/libnbmount.a $(FILTERS_H) $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) -Wno-unused-parameter $(LDFLAGS) -o $@ $< $(BUILD)/libnbmount.a $(LDLIBS) $(CMOCKA_LIBS)

# bench/sweep.c: nbmountd's registry in-process (bench/sweep.sh; tests/s3-check.sh runs its --check).
$(BUILD)/bench/sweep: bench/sweep.c $(filter-out $(BUILD)/mountd/main.o,$(MOUNTD_OBJ)) $(BUILD)/libnbmount.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) -Imountd $(LDFLAGS) -Wl,--wrap=pthread_mutex_lock,--wrap=pthread_mutex_unlock -pthread \
		-o $@ $^ $(LDLIBS) $(MOUNTD_PKG_LIBS)

# bench/ledger-gen.c: ledger batches through lib/ledger.h's writer (tests/meter-check.sh, bench/meter.sh).
$(BUILD)/bench/ledger-gen: bench/ledger-gen.c $(BUILD)/libnbmount.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

unit: $(UNIT_BIN) $(BUILD)/bench/sweep $(BUILD)/bench/ledger-gen

setup:
	@./setup.sh $(setup_profile)

# `make check` also runs the unit and integration tests once more against the ASan+UBSan build
# (build-sanitize/), in the same count; `make check SANITIZE=1` runs everything against that build.
check: setup
	@$(MAKE) --no-print-directory all unit test-mode
ifeq ($(SANITIZE),1)
	@$(MAKE) --no-print-directory SANITIZE= all # UML cannot run ASan builds: the quota tests use this one there
	@SANITIZE=1 NBMOUNT="$(CURDIR)/$(BUILD)/nbmount" UNIT_DIR=$(BUILD)/tests tests/run.sh
else
	@$(MAKE) --no-print-directory SANITIZE=1 all unit test-mode
	@ASAN_NBMOUNT="$(CURDIR)/build-sanitize/nbmount" ASAN_UNIT_DIR=build-sanitize/tests \
		NBMOUNT="$(CURDIR)/$(BUILD)/nbmount" UNIT_DIR=$(BUILD)/tests tests/run.sh
endif

demo: setup all
	@scripts/demo.sh

clean:
	rm -rf build build-sanitize

.PHONY: all unit setup check demo clean

# libFuzzer harnesses (tests/fuzz/), built with clang, ASan and UBSan in build-fuzz/.
# `make fuzz FUZZ_SECONDS=N` fuzzes each for N seconds, seeded from the fixtures and
# tests/fuzz/seeds; what it learns stays in build-fuzz/corpus. `make fuzz-check` replays a fixed,
# seeded number of runs: deterministic, so it can run in `make check`.
FUZZERS := settings node grants config state plan
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?= 3000
FUZZ_BUILD := build-fuzz
FUZZ_CFLAGS = -std=gnu11 -g -O1 -Wall -Wextra -Werror -D_GNU_SOURCE -Ilib -I$(BUILD)/gen $(PKG_CFLAGS) \
               -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
seeds_settings := tests/fixtures/settings/good tests/fixtures/settings/bad
seeds_plan := tests/fixtures/settings/good tests/fixtures/settings/bad
seeds_node := tests/fixtures/node/good tests/fixtures/node/bad
seeds_grants := tests/fixtures/grants/good tests/fixtures/grants/bad tests/fixtures/public/good tests/fixtures/public/bad
seeds_config := tests/fixtures/config/good tests/fixtures/config/bad
seeds_state := tests/fuzz/seeds/state

$(FUZZ_BUILD)/lib/harden.o $(FUZZ_BUILD)/lib/sandbox.o: $(FILTERS_H)

$(FUZZ_BUILD)/%.o: %.c $(wildcard lib/*.h) Makefile | $(after_setup)
	@mkdir -p $(dir $@)
	@echo "  CC $< (fuzz)"
	@clang $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(FUZZ_LIB_OBJ)
	@echo "  LD $@"
	@clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJ) $(LDLIBS)

fuzz-build: $(FUZZERS:%=$(FUZZ_BUILD)/fuzz_%)

FUZZ_FLAGS := -max_len=70000 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1

fuzz: fuzz-setup fuzz-build
	@mkdir -p $(FUZZ_BUILD)/crashes
	@set -e; $(foreach f,$(FUZZERS),echo "== fuzz_$(f): $(FUZZ_SECONDS) s"; mkdir -p $(FUZZ_BUILD)/corpus/$(f); \
		$(FUZZ_BUILD)/fuzz_$(f) $(FUZZ_FLAGS) -max_total_time=$(FUZZ_SECONDS) \
		-artifact_prefix=$(FUZZ_BUILD)/crashes/$(f)- $(FUZZ_BUILD)/corpus/$(f) $(seeds_$(f)) 2>&1 | \
		grep -E "^(stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)";)

# Each harness, a fixed number of runs from a fixed seed, on the committed seeds only: one
# "ok - fuzz NAME" or "not ok - fuzz NAME: ..." line each, for tests/run.sh. Like `make fuzz`, it
# runs setup first (quiet when everything is there), so it works on a fresh machine too.
fuzz-check: fuzz-setup fuzz-build
	@$(foreach f,$(FUZZERS),rm -rf $(FUZZ_BUILD)/check/$(f) && mkdir -p $(FUZZ_BUILD)/check/$(f) && \
		if $(FUZZ_BUILD)/fuzz_$(f) $(FUZZ_FLAGS) -seed=1 -runs=$(FUZZ_RUNS) \
			-artifact_prefix=$(FUZZ_BUILD)/check/$(f)- $(FUZZ_BUILD)/check/$(f) $(seeds_$(f)) \
			>$(FUZZ_BUILD)/check/$(f).log 2>&1; \
		then echo "ok - fuzz $(f): $(FUZZ_RUNS) runs from seed 1"; \
		else echo "not ok - fuzz $(f): see $(FUZZ_BUILD)/check/$(f).log"; fi;)

fuzz-setup: setup

.PHONY: fuzz fuzz-build fuzz-check fuzz-setup

# The test-mode nbmount (lib/testmode.h): the same sources with -DNBMOUNT_TEST_MODE, in their own
# object folder, for tests/sandbox-check.sh. It obeys test markers that make the sandboxed parser
# and the hardened hook try what they must not do; it never ships.
TEST_MODE_BUILD := $(BUILD)/test-mode
TEST_MODE_OBJ := $(LIB_SRC:%.c=$(TEST_MODE_BUILD)/%.o) $(HOOK_SRC:%.c=$(TEST_MODE_BUILD)/%.o)

$(TEST_MODE_BUILD)/lib/harden.o $(TEST_MODE_BUILD)/lib/sandbox.o: $(FILTERS_H)

$(TEST_MODE_BUILD)/%.o: %.c $(wildcard lib/*.h hook/*.h) VERSION Makefile | $(after_setup)
	@mkdir -p $(dir $@)
	@echo "  CC $< (test mode)"
	@$(CC) $(CFLAGS) -DNBMOUNT_TEST_MODE -c -o $@ $<

$(TEST_MODE_BUILD)/nbmount: $(TEST_MODE_OBJ)
	@echo "  LD $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

test-mode: $(TEST_MODE_BUILD)/nbmount

.PHONY: test-mode

# `make install DESTDIR=... PREFIX=/usr`: the binaries, the commented node config (kept if one is
# there already), the operator folders (root-only), the OCI hooks.d file, the seccomp rule, the
# systemd units, the man pages, the bash completion, the docs and the schemas. The Debian package
# (packaging/debian) installs through this target. `make uninstall` removes what it installed,
# except /etc/nbmount and /var/lib/nbmount: the operator's config, grants, secrets and state.
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
LOCALSTATEDIR ?= /var
# Where systemd and the container engines (podman, CRI-O) look: /usr's own folders for PREFIX=/usr
# (the package), else /usr/local/lib/systemd/system and the administrator's /etc/containers.
ifeq ($(PREFIX),/usr)
SYSTEMDUNITDIR ?= /lib/systemd/system
HOOKSDIR ?= /usr/share/containers/oci/hooks.d
else
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
HOOKSDIR ?= $(SYSCONFDIR)/containers/oci/hooks.d
endif
DATADIR := $(PREFIX)/share/nbmount
DOCDIR ?= $(PREFIX)/share/doc/nbmount
MANDIR ?= $(PREFIX)/share/man
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions

install: all
	install -D -m 0755 $(BUILD)/nbmount $(DESTDIR)$(PREFIX)/bin/nbmount
	install -D -m 0755 $(BUILD)/nbmountd $(DESTDIR)$(PREFIX)/sbin/nbmountd
	install -D -m 0755 $(BUILD)/nbmount-runtime $(DESTDIR)$(PREFIX)/bin/nbmount-runtime
	install -D -m 0755 $(BUILD)/nbmount-fusermount $(DESTDIR)$(PREFIX)/lib/nbmount/nbmount-fusermount
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/nbmount
	test -e $(DESTDIR)$(SYSCONFDIR)/nbmount/node.yaml || \
		install -m 0644 packaging/node.yaml $(DESTDIR)$(SYSCONFDIR)/nbmount/node.yaml
	install -d -m 0700 $(DESTDIR)$(SYSCONFDIR)/nbmount/grants $(DESTDIR)$(SYSCONFDIR)/nbmount/secrets \
		$(DESTDIR)$(LOCALSTATEDIR)/lib/nbmount
	install -d -m 0755 $(DESTDIR)$(HOOKSDIR) $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|"/usr/bin/nbmount"|"$(PREFIX)/bin/nbmount"|' packaging/hooks.d/nbmount.json \
		>$(DESTDIR)$(HOOKSDIR)/nbmount.json
	chmod 0644 $(DESTDIR)$(HOOKSDIR)/nbmount.json
	sed -e 's|^ExecStart=/usr/sbin/nbmountd |ExecStart=$(PREFIX)/sbin/nbmountd |' \
		-e 's| --fusermount /usr/lib/nbmount/| --fusermount $(PREFIX)/lib/nbmount/|' packaging/systemd/nbmountd.service \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/nbmountd.service
	install -m 0644 packaging/systemd/nbmountd.socket $(DESTDIR)$(SYSTEMDUNITDIR)/nbmountd.socket
	sed 's|^ExecStart=/usr/bin/nbmount |ExecStart=$(PREFIX)/bin/nbmount |' packaging/systemd/nbmount-quota-sync.service \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/nbmount-quota-sync.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/nbmount-quota-sync.service
	sed 's|^ExecStart=/usr/bin/nbmount |ExecStart=$(PREFIX)/bin/nbmount |' packaging/systemd/nbmount-meter.service \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/nbmount-meter.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/nbmount-meter.service
	install -m 0644 packaging/systemd/nbmount-meter.timer $(DESTDIR)$(SYSTEMDUNITDIR)/nbmount-meter.timer
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/nbmountd.service
	install -D -m 0644 packaging/seccomp/nbmount-quota.json $(DESTDIR)$(DATADIR)/seccomp/nbmount-quota.json
	install -d -m 0755 $(DESTDIR)$(DATADIR)/schemas $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(COMPLETIONDIR)
	install -m 0644 schemas/*.schema.json $(DESTDIR)$(DATADIR)/schemas/
	install -m 0644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 README.md docs/FORMATS.md $(DESTDIR)$(DOCDIR)/
	install -d -m 0755 $(DESTDIR)$(DOCDIR)/examples
	sed 's|"/usr/bin/nbmount-runtime"|"$(PREFIX)/bin/nbmount-runtime"|' packaging/containerd/nbmount.toml \
		>$(DESTDIR)$(DOCDIR)/examples/containerd-nbmount.toml
	sed 's|"/usr/bin/nbmount-runtime"|"$(PREFIX)/bin/nbmount-runtime"|' packaging/docker/daemon.json \
		>$(DESTDIR)$(DOCDIR)/examples/daemon.json
	chmod 0644 $(DESTDIR)$(DOCDIR)/examples/containerd-nbmount.toml $(DESTDIR)$(DOCDIR)/examples/daemon.json
	install -m 0644 packaging/kubernetes/*.yaml $(DESTDIR)$(DOCDIR)/examples/
	install -m 0644 packaging/bash-completion/nbmount $(DESTDIR)$(COMPLETIONDIR)/nbmount

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/nbmount $(DESTDIR)$(PREFIX)/sbin/nbmountd $(DESTDIR)$(PREFIX)/bin/nbmount-runtime \
		$(DESTDIR)$(PREFIX)/lib/nbmount/nbmount-fusermount \
		$(DESTDIR)$(HOOKSDIR)/nbmount.json $(DESTDIR)$(SYSTEMDUNITDIR)/nbmountd.service \
		$(DESTDIR)$(SYSTEMDUNITDIR)/nbmountd.socket $(DESTDIR)$(SYSTEMDUNITDIR)/nbmount-quota-sync.service \
		$(DESTDIR)$(SYSTEMDUNITDIR)/nbmount-meter.service $(DESTDIR)$(SYSTEMDUNITDIR)/nbmount-meter.timer \
		$(DESTDIR)$(COMPLETIONDIR)/nbmount \
		$(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(wildcard man/*.5))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(wildcard man/*.8)))
	rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR)
	-rmdir $(DESTDIR)$(PREFIX)/lib/nbmount

.PHONY: install uninstall
