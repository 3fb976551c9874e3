# moonfeast — a plain Makefile. Every dependency comes from pkg-config.
#
#   make            build bin/moonfeast, lib/libmoonfeast.a, lib/libmoonfeast.so
#                   (-> .so.MAJOR -> .so.MAJOR.MINOR.PATCH), lib/moonfeast.pc
#   make install    PREFIX (/usr/local), DESTDIR honoured; make uninstall
#   make examples   the C examples (examples/game_server, examples/edge_scoring)
#   make deps       install missing Debian packages (idempotent; root)
#   make demo       deps + build + the quickstart end to end
#   make test       deps + build + every test; ends with "N passed, N failed"
#   make test-asan  the tests built and run with ASan + UBSan
#   make test-tsan  the threaded tests built and run with ThreadSanitizer
#   make bench      benchmarks (see docs/benchmarks.md)
#   make fuzz       every libFuzzer target, FUZZ_SECONDS each (not in make test)

BUILD   ?= build
CC      ?= cc
PKGS    := luajit sqlite3 yaml-0.1 libprotobuf-c hiredis jansson libmicrohttpd libpq \
           libzstd liblz4 zlib
# libsnappy has no pkg-config file on Debian: linked by name
NOPC_LIBS := -lsnappy
OPT     ?= -O2 -g
SAN     ?=
CFLAGS_BASE := -std=gnu11 $(OPT) $(SAN) -Wall -Wextra -Werror -fPIC \
               -Iinclude -Iruntime -I$(BUILD)/gen -pthread
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS  := $(CFLAGS_BASE) $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDLIBS  := $(PKG_LIBS) $(NOPC_LIBS) -lm -pthread -ldl
# The library's objects are compiled with hidden visibility: the shared
# library exports only what moonfeast.h marks MF_API (the public mf_
# functions; tests/e2e/library.sh checks it). Programs (the CLI, tests,
# fuzz targets) keep the default, so that hooks the sanitizers look up at
# run time (__asan_default_options) stay visible.
LIB_CFLAGS = $(CFLAGS) -fvisibility=hidden
LDFLAGS := $(SAN) $(EXTRA_LDFLAGS)

# The version is written once, in include/moonfeast.h; the SONAME carries
# its major number.
VERSION   := $(shell sed -n 's/^\#define MF_VERSION_STRING "\(.*\)"/\1/p' include/moonfeast.h)
SOVERSION := $(firstword $(subst ., ,$(VERSION)))
SONAME    := libmoonfeast.so.$(SOVERSION)

LIB_SRCS := $(filter-out runtime/cli.c,$(wildcard runtime/*.c))
PROTOS   := $(wildcard runtime/*.proto)
PB_HDRS  := $(patsubst runtime/%.proto,$(BUILD)/gen/%.pb-c.h,$(PROTOS))
PB_OBJS  := $(patsubst runtime/%.proto,$(BUILD)/obj/%.pb-c.o,$(PROTOS))
LIB_OBJS := $(patsubst runtime/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS)) \
            $(PB_OBJS) $(BUILD)/obj/embedded_lua.o
LUA_SRCS := $(shell find lua stdlib -name '*.lua' 2>/dev/null | sort)
TEST_SRCS := $(wildcard tests/unit/test_*.c)
TEST_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRCS))

ifeq ($(BUILD),build)
BIN_DIR := bin
LIB_DIR := lib
else
BIN_DIR := $(BUILD)/bin
LIB_DIR := $(BUILD)/lib
endif

# (float-cast-overflow: GCC's "undefined" leaves out floating-point to
# integer conversions out of range, undefined in C)
ASAN_VARS = BUILD=build-asan OPT="-O1 -g" \
  SAN="-fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer -fno-sanitize-recover=all"

# The tests that run threads on one store, also built with ThreadSanitizer
# (build-tsan/); tests/run.sh runs them as a third pass (MF_TSAN).
TSAN_TESTS := test_threads test_store test_pit_join test_server test_online_store_sqlite
TSAN_VARS = BUILD=build-tsan OPT="-O1 -g" SAN="-fsanitize=thread"
TSAN_BINS := $(patsubst %,build-tsan/tests/%,$(TSAN_TESTS))

.PHONY: all deps demo test test-asan test-tsan unit-tests examples bench fuzz fuzz-targets fuzz-compile \
        install uninstall clean
.DELETE_ON_ERROR:

all: $(BIN_DIR)/moonfeast $(LIB_DIR)/libmoonfeast.a $(LIB_DIR)/libmoonfeast.so \
     $(LIB_DIR)/$(SONAME) $(LIB_DIR)/libmoonfeast.so.$(VERSION) $(LIB_DIR)/moonfeast.pc \
     $(LIB_DIR)/moonfeast-static.pc

deps:
	@sh tools/deps.sh

# Every runtime/*.proto becomes build/gen/<name>.pb-c.[ch] and one object.
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: runtime/%.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=runtime --c_out=$(BUILD)/gen $<

# keep the generated sources (make would delete them as intermediates)
.SECONDARY: $(patsubst runtime/%.proto,$(BUILD)/gen/%.pb-c.c,$(PROTOS))

$(BUILD)/gen/embedded_lua.c: tools/embed.sh $(LUA_SRCS)
	@mkdir -p $(BUILD)/gen
	sh tools/embed.sh > $@

# Objects and programs are compiled again when the flags change (a new
# flag, OPT, SAN): $(BUILD)/cflags holds the last ones and is rewritten only
# when they differ.
CFLAGS_TEXT = library: $(LIB_CFLAGS); programs: $(CFLAGS)
$(BUILD)/cflags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CFLAGS_TEXT)' | cmp -s - $@ || echo '$(CFLAGS_TEXT)' > $@
.PHONY: FORCE

$(BUILD)/obj/%.pb-c.o: $(BUILD)/gen/%.pb-c.c $(PB_HDRS) $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -Wno-unused-parameter -Wno-missing-braces -c -o $@ $<

$(BUILD)/obj/embedded_lua.o: $(BUILD)/gen/embedded_lua.c $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: runtime/%.c $(wildcard runtime/*.h) include/moonfeast.h $(PB_HDRS) $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c -o $@ $<

$(LIB_DIR)/libmoonfeast.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# libmoonfeast.so -> libmoonfeast.so.MAJOR -> libmoonfeast.so.MAJOR.MINOR.PATCH
$(LIB_DIR)/libmoonfeast.so.$(VERSION): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--no-undefined $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(LIB_DIR)/$(SONAME): $(LIB_DIR)/libmoonfeast.so.$(VERSION)
	ln -sfn libmoonfeast.so.$(VERSION) $@

$(LIB_DIR)/libmoonfeast.so: $(LIB_DIR)/$(SONAME)
	ln -sfn $(SONAME) $@

# The in-tree pkg-config files (PKG_CONFIG_PATH=lib): moonfeast (the shared
# library) and moonfeast-static (libmoonfeast.a, its dependencies shared);
# `make install` writes them with the installed paths.
PC_SED = -e 's|@VERSION@|$(VERSION)|' -e 's|@REQUIRES@|$(PKGS)|' -e 's|@NOPC_LIBS@|$(NOPC_LIBS)|'
$(LIB_DIR)/%.pc: tools/%.pc.in Makefile include/moonfeast.h
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(CURDIR)|' -e 's|@INCLUDEDIR@|$${prefix}/include|' \
	    -e 's|@LIBDIR@|$${prefix}/$(LIB_DIR)|' $(PC_SED) $< > $@

$(BIN_DIR)/moonfeast: $(BUILD)/obj/cli.o $(LIB_DIR)/libmoonfeast.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/cli.o: runtime/cli.c runtime/mf_internal.h include/moonfeast.h $(PB_HDRS) $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(LIB_DIR)/libmoonfeast.a $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(LIB_DIR)/libmoonfeast.a $(LDFLAGS) $(LDLIBS)

unit-tests: $(TEST_BINS)

# The C examples that embed the library (each folder's README runs them).
EXAMPLES := game_server edge_scoring
EXAMPLE_BINS := $(patsubst %,$(BUILD)/examples/%,$(EXAMPLES))

examples: $(EXAMPLE_BINS)

# examples/NAME/NAME.c -> $(BUILD)/examples/NAME: strict C11 against the
# public header only, linked with the static library.
EXAMPLE_CFLAGS = -std=c11 $(OPT) $(SAN) -Wall -Wextra -Werror -Iinclude -pthread
define example_rule
$(BUILD)/examples/$(1): examples/$(1)/$(1).c include/moonfeast.h $(LIB_DIR)/libmoonfeast.a $(BUILD)/cflags
	@mkdir -p $$(dir $$@)
	$$(CC) $$(EXAMPLE_CFLAGS) -o $$@ $$< $(LIB_DIR)/libmoonfeast.a $$(LDFLAGS) $$(LDLIBS)
endef
$(foreach e,$(EXAMPLES),$(eval $(call example_rule,$(e))))

# make install PREFIX=/usr/local DESTDIR= : the header, both libraries (with
# the SONAME links), moonfeast.pc and moonfeast-static.pc with the installed
# paths, the binary and its man page. make uninstall removes exactly those
# files (given the same PREFIX and DESTDIR), not the folders.
PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
MANDIR       ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# a path under PREFIX as ${prefix}/... in moonfeast.pc
pc_path = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))
INSTALLED := $(BINDIR)/moonfeast $(INCLUDEDIR)/moonfeast.h $(LIBDIR)/libmoonfeast.a \
             $(LIBDIR)/libmoonfeast.so.$(VERSION) $(LIBDIR)/$(SONAME) $(LIBDIR)/libmoonfeast.so \
             $(PKGCONFIGDIR)/moonfeast.pc $(PKGCONFIGDIR)/moonfeast-static.pc \
             $(MANDIR)/man1/moonfeast.1

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(BIN_DIR)/moonfeast $(DESTDIR)$(BINDIR)/moonfeast
	install -m 644 include/moonfeast.h $(DESTDIR)$(INCLUDEDIR)/moonfeast.h
	install -m 644 $(LIB_DIR)/libmoonfeast.a $(DESTDIR)$(LIBDIR)/libmoonfeast.a
	install -m 755 $(LIB_DIR)/libmoonfeast.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libmoonfeast.so.$(VERSION)
	ln -sfn libmoonfeast.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sfn $(SONAME) $(DESTDIR)$(LIBDIR)/libmoonfeast.so
	for pc in moonfeast moonfeast-static; do \
	    sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@INCLUDEDIR@|$(call pc_path,$(INCLUDEDIR))|' \
	        -e 's|@LIBDIR@|$(call pc_path,$(LIBDIR))|' $(PC_SED) tools/$$pc.pc.in \
	        > $(DESTDIR)$(PKGCONFIGDIR)/$$pc.pc && \
	    chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/$$pc.pc || exit 1; \
	done
	install -m 644 man/moonfeast.1 $(DESTDIR)$(MANDIR)/man1/moonfeast.1
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
	    echo ldconfig; ldconfig; fi

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
	    echo ldconfig; ldconfig; fi

demo: deps
	$(MAKE) all
	sh examples/demo.sh

# Every test: unit binaries, Lua stdlib tests, CLI end-to-end scripts.
# The sanitizer pass runs when MF_SKIP_ASAN is not set.
# The sanitizer passes run when MF_SKIP_ASAN / MF_SKIP_TSAN are not set.
test: deps
	$(MAKE) all unit-tests examples fuzz-compile
	@if [ -z "$$MF_SKIP_ASAN" ]; then $(MAKE) $(ASAN_VARS) all unit-tests examples; fi
	@if [ -z "$$MF_SKIP_TSAN" ]; then $(MAKE) $(TSAN_VARS) $(TSAN_BINS); fi
	@MF_BIN=$(CURDIR)/bin/moonfeast MF_TEST_BUILD=$(CURDIR)/build \
	  MF_ASAN=$${MF_SKIP_ASAN:+skip} MF_TSAN=$${MF_SKIP_TSAN:+skip} sh tests/run.sh

test-asan: deps
	$(MAKE) $(ASAN_VARS) all unit-tests examples
	@MF_BIN=$(CURDIR)/build-asan/bin/moonfeast MF_TEST_BUILD=$(CURDIR)/build-asan \
	  MF_ASAN=only MF_TSAN=skip sh tests/run.sh

# The threaded tests under ThreadSanitizer (their other process, `moonfeast
# apply`, is the normal build's); any report fails.
test-tsan: deps
	$(MAKE) all
	$(MAKE) $(TSAN_VARS) $(TSAN_BINS)
	@MF_BIN=$(CURDIR)/bin/moonfeast MF_ASAN=skip MF_TSAN=only sh tests/run.sh

bench: deps
	$(MAKE) all
	sh bench/run.sh

# Fuzzing: every tests/fuzz/fuzz_*.c, built with clang's libFuzzer, ASan and
# UBSan against the library (in build-fuzz/), runs FUZZ_SECONDS from its seed
# corpus tests/fuzz/corpus/<target>/; a crash fails (tests/fuzz/run.sh).
FUZZ_SECONDS ?= 30
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_VARS = BUILD=build-fuzz CC=clang OPT="-O1 -g" \
  SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"

fuzz: deps
	@sh tools/deps.sh clang libclang-rt-14-dev
	$(MAKE) $(FUZZ_VARS) fuzz-targets
	@sh tests/fuzz/run.sh build-fuzz "$(FUZZ_SECONDS)"

fuzz-targets: $(FUZZ_BINS)

# make test compiles the fuzz targets with the normal compiler (no fuzzer
# runtime, not linked), so that a change of an internal interface cannot
# leave them broken until someone runs make fuzz.
FUZZ_CHECKS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzzcheck/%.o,$(FUZZ_SRCS))
fuzz-compile: $(FUZZ_CHECKS)

$(BUILD)/fuzzcheck/%.o: tests/fuzz/%.c $(LIB_DIR)/libmoonfeast.a $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -c -o $@ $<

$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_DIR)/libmoonfeast.a $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB_DIR)/libmoonfeast.a $(LDFLAGS) $(LDLIBS)

clean:
	rm -rf build build-asan build-tsan build-fuzz bin lib
