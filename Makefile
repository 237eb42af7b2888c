# cairn - one top-level build.
#
#   make            build build/cairn and build/cairnfs
#   make check      install missing packages, run every test, then again under ASan+UBSan
#   make format     apply .clang-format (make check fails on code that does not follow it)
#   make test       run every test against the current build (no installs)
#   make asan       the tests again in build-asan/ with AddressSanitizer and UBSan
#   make demo       back up sample data, mount it, show the tree and a diff
#   make fuzz       FUZZ_SECONDS=N: every fuzz target with libFuzzer (needs clang)
#   make bench      benchmarks against restic and borg (prints a table)
#   make install    PREFIX=/usr/local DESTDIR= (binaries, man pages, systemd units,
#                   bash completion, k8s examples)
#   make clean

BUILD   ?= build
CFLAGS  ?= -O2 -g
PREFIX  ?= /usr/local
VERSION := 0.1.0
DESTDIR ?=
PKGS    := fuse3 sqlite3 libzstd libcurl libcrypto libarchive
ASAN    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wundef -Wvla -Wwrite-strings \
           -Wstrict-prototypes -Wmissing-prototypes -Wold-style-definition -Wpointer-arith

# A fresh machine lacks the -dev packages: say which, and how to get them,
# instead of letting the compiler stop at the first missing header.
ifeq ($(filter deps check demo bench clean,$(MAKECMDGOALS)),)
PKGS_MISSING := $(shell for p in $(PKGS); do pkg-config --exists $$p || echo $$p; done)
ifneq ($(PKGS_MISSING),)
$(error missing development packages for: $(PKGS_MISSING); run 'make deps' (or 'make check' / 'make demo', which install them too))
endif
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libcurl is not linked: store/backend/curl-load.c loads it when the first
# HTTP client is made (its headers are still needed).
PKG_LIBS   := $(shell pkg-config --libs $(filter-out libcurl,$(PKGS)) 2>/dev/null) -ldl
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE -DCAIRN_VERSION=\"$(VERSION)\" -D_FILE_OFFSET_BITS=64 -pthread -Istore -I. $(WARN) \
             $(PKG_CFLAGS) $(SAN) $(CFLAGS)
ALL_LDFLAGS = -pthread $(SAN) $(LDFLAGS)

STORE_SRC := $(wildcard store/*/*.c)
FS_SRC    := $(filter-out fs/cairnfs.c,$(wildcard fs/*.c))
TOOLS_SRC := $(wildcard tools/*.c)
HEADERS   := $(wildcard store/*/*.h fs/*.h tools/*.h)
UNIT_SRC  := $(wildcard tests/unit/test-*.c)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz-*.c)

STORE_OBJ := $(STORE_SRC:%.c=$(BUILD)/%.o)
FS_OBJ    := $(FS_SRC:%.c=$(BUILD)/%.o)
TOOLS_OBJ := $(TOOLS_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/%-replay)

HDR_OK    := $(HEADERS:%.h=$(BUILD)/hdr/%.ok)

LIBCAIRN := $(BUILD)/libcairn.a

.PHONY: all check test unit integration asan demo bench fuzz install install-files clean deps format format-check
.DELETE_ON_ERROR:
# Objects of tests and fuzz targets are intermediate to make; keep them, so a
# run is not followed by a line of rm.
.SECONDARY:

all: $(BUILD)/.layers $(HDR_OK) $(BUILD)/cairn $(BUILD)/cairnfs

# The layering of store/README: a lower layer including a higher one, or an
# include that does not name its folder, fails the build.
$(BUILD)/.layers: tests/check-layers.sh $(STORE_SRC) $(FS_SRC) fs/cairnfs.c $(TOOLS_SRC) $(HEADERS)
	@mkdir -p $(@D)
	$(Q)tests/check-layers.sh
	@touch $@

# Every header compiles on its own (it includes what it uses), and twice (its
# guard works).
$(BUILD)/hdr/%.ok: %.h $(BUILD)/.flags
	@mkdir -p $(@D)
	$(Q)printf '#include "%s"\n#include "%s"\n' $< $< | \
		$(CC) $(ALL_CFLAGS) -fsyntax-only -x c -o /dev/null -
	@touch $@

# Rebuild everything when the flags change.
$(BUILD)/.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(ALL_CFLAGS) $(ALL_LDFLAGS)' | cmp -s - $@ || echo '$(ALL_CFLAGS) $(ALL_LDFLAGS)' > $@
FORCE:

Q := $(if $(V),,@)

$(BUILD)/%.o: %.c $(BUILD)/.flags
	@mkdir -p $(@D)
	@$(if $(V),,echo '  CC      $<')
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIBCAIRN): $(STORE_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/cairn: $(TOOLS_OBJ) $(LIBCAIRN)
	$(CC) $(ALL_LDFLAGS) -o $@ $(TOOLS_OBJ) $(LIBCAIRN) $(PKG_LIBS)

$(BUILD)/cairnfs: $(BUILD)/fs/cairnfs.o $(FS_OBJ) $(LIBCAIRN)
	$(CC) $(ALL_LDFLAGS) -o $@ $(BUILD)/fs/cairnfs.o $(FS_OBJ) $(LIBCAIRN) $(PKG_LIBS)

# Unit tests link the library, and fs/ objects so fs-tree logic is reachable.
$(BUILD)/tests/test-%: $(BUILD)/tests/unit/test-%.o $(BUILD)/tests/unit/unit.o $(FS_OBJ) $(LIBCAIRN)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/tests/unit/unit.o $(FS_OBJ) $(LIBCAIRN) $(PKG_LIBS) $(CMOCKA_LIBS)

# Fuzz targets, built with a replay driver that runs the stored corpus.
$(BUILD)/tests/%-replay: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay.o $(LIBCAIRN)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/tests/fuzz/replay.o $(LIBCAIRN) $(PKG_LIBS)
$(BUILD)/tests/fuzz/replay.o: tests/fuzz/replay.c $(BUILD)/.flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

deps:
	tests/install-deps.sh

# libFuzzer over every target (or FUZZ_TARGETS) for FUZZ_SECONDS each; make
# check only replays the stored corpus, and needs no clang.
FUZZ_SECONDS ?= 120
FUZZ_TARGETS ?=
fuzz:
	tests/fuzz/run-libfuzzer.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The house style is .clang-format's; a change that does not follow it fails.
FORMAT_SRC = $(shell git ls-files 'store/*.[ch]' 'fs/*.[ch]' 'tools/*.[ch]' 'tests/*.[ch]' 2>/dev/null)
format-check:
	@clang-format --dry-run -Werror $(FORMAT_SRC) || \
		{ echo "hint: run 'make format' to apply .clang-format" >&2; exit 1; }
format:
	clang-format -i $(FORMAT_SRC)

check: deps
	$(MAKE) format-check
	$(MAKE) test
	$(MAKE) asan

test: all $(UNIT_BIN) $(FUZZ_BIN)
	tests/run-tests.sh $(BUILD)

unit: all $(UNIT_BIN)
	tests/run-tests.sh $(BUILD) unit

integration: all
	tests/run-tests.sh $(BUILD) integration

asan:
	$(MAKE) BUILD=build-asan SAN='$(ASAN)' CFLAGS='-O1 -g' test

demo: deps
	$(MAKE) all
	tests/demo.sh $(BUILD)

bench: deps
	$(MAKE) all
	tests/bench/run.sh $(BUILD)

# systemd looks in /usr/local/lib/systemd/system too; units name the
# installed binaries (@BINDIR@).
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
BASH_COMPLETION_DIR ?= $(PREFIX)/share/bash-completion/completions
DOC_DIR ?= $(PREFIX)/share/doc/cairn
SYSTEMD_UNITS := $(wildcard tools/systemd/*.service tools/systemd/*.timer tools/systemd/*.mount)
K8S_FILES := $(wildcard tools/k8s/*)

# install-files copies what is built without building (the tests use it on
# a build of their own flags).
install: all
	$(MAKE) install-files

install-files:
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(SYSTEMD_UNIT_DIR) \
		$(DESTDIR)$(BASH_COMPLETION_DIR) $(DESTDIR)$(DOC_DIR)/k8s
	install -m 755 $(BUILD)/cairn $(BUILD)/cairnfs $(DESTDIR)$(PREFIX)/bin/
	install -m 644 man/cairn.1 man/cairnfs.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 man/cairn-repository.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	for u in $(SYSTEMD_UNITS); do \
		sed 's|@BINDIR@|$(PREFIX)/bin|g' $$u >$(DESTDIR)$(SYSTEMD_UNIT_DIR)/$${u##*/} && \
		chmod 644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/$${u##*/} || exit 1; \
	done
	install -m 644 tools/completion/cairn.bash $(DESTDIR)$(BASH_COMPLETION_DIR)/cairn
	install -m 644 $(K8S_FILES) $(DESTDIR)$(DOC_DIR)/k8s/

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
