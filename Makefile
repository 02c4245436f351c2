# nbmount: `make` builds, `make check` installs what the tests need, builds and runs every test.
PKGS := mount json-c yaml-0.1 libcap libseccomp
CC ?= cc
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -D_FORTIFY_SOURCE=2 -fstack-protector-strong \
          -D_GNU_SOURCE -fPIE -Ilib $(shell pkg-config --cflags $(PKGS))
LDFLAGS += -pie -Wl,-z,relro,-z,now -Wl,--as-needed
LDLIBS := $(shell pkg-config --libs $(PKGS))
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
UNIT_SRC := $(wildcard tests/unit/test_*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
HOOK_OBJ := $(HOOK_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

all: $(BUILD)/nbmount

$(BUILD)/%.o: %.c $(wildcard lib/*.h hook/*.h) VERSION Makefile
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libnbmount.a: $(LIB_OBJ)
	@$(AR) rcs $@ $^

$(BUILD)/nbmount: $(HOOK_OBJ) $(BUILD)/libnbmount.a
	@echo "  LD $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libnbmount.a $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) -Wno-unused-parameter $(LDFLAGS) -o $@ $< $(BUILD)/libnbmount.a $(LDLIBS) $(shell pkg-config --libs cmocka)

unit: $(UNIT_BIN)

setup:
	@SANITIZE=$(SANITIZE) ./setup.sh

check: setup
	@$(MAKE) --no-print-directory all unit
ifeq ($(SANITIZE),1)
	@$(MAKE) --no-print-directory SANITIZE= all # UML cannot run ASan builds: the quota tests use this one there
endif
	@SANITIZE=$(SANITIZE) NBMOUNT=$(CURDIR)/$(BUILD)/nbmount UNIT_DIR=$(BUILD)/tests tests/run.sh

demo: setup all
	@scripts/demo.sh

clean:
	rm -rf build build-sanitize

.PHONY: all unit setup check demo clean
