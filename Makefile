# moonfeast — a plain Makefile. Every dependency comes from pkg-config.
#
#   make            build bin/moonfeast, lib/libmoonfeast.a, lib/libmoonfeast.so
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
LDFLAGS := $(SAN) $(EXTRA_LDFLAGS)

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

ASAN_VARS = BUILD=build-asan OPT="-O1 -g" \
  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"

# The tests that run threads on one store, also built with ThreadSanitizer
# (build-tsan/); tests/run.sh runs them as a third pass (MF_TSAN).
TSAN_TESTS := test_threads test_store test_pit_join test_server
TSAN_VARS = BUILD=build-tsan OPT="-O1 -g" SAN="-fsanitize=thread"
TSAN_BINS := $(patsubst %,build-tsan/tests/%,$(TSAN_TESTS))

.PHONY: all deps demo test test-asan test-tsan unit-tests bench fuzz fuzz-targets clean
.DELETE_ON_ERROR:

all: $(BIN_DIR)/moonfeast $(LIB_DIR)/libmoonfeast.a $(LIB_DIR)/libmoonfeast.so $(LIB_DIR)/moonfeast.pc

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

$(BUILD)/obj/%.pb-c.o: $(BUILD)/gen/%.pb-c.c $(PB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-unused-parameter -Wno-missing-braces -c -o $@ $<

$(BUILD)/obj/embedded_lua.o: $(BUILD)/gen/embedded_lua.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: runtime/%.c $(wildcard runtime/*.h) include/moonfeast.h $(PB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIB_DIR)/libmoonfeast.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIB_DIR)/libmoonfeast.so: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(LIB_DIR)/moonfeast.pc: tools/moonfeast.pc.in Makefile
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(CURDIR)|' -e 's|@REQUIRES@|$(PKGS)|' $< > $@

$(BIN_DIR)/moonfeast: $(BUILD)/obj/cli.o $(LIB_DIR)/libmoonfeast.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/cli.o: runtime/cli.c runtime/mf_internal.h include/moonfeast.h $(PB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(LIB_DIR)/libmoonfeast.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(LIB_DIR)/libmoonfeast.a $(LDFLAGS) $(LDLIBS)

unit-tests: $(TEST_BINS)

demo: deps
	$(MAKE) all
	sh examples/demo.sh

# Every test: unit binaries, Lua stdlib tests, CLI end-to-end scripts.
# The sanitizer pass runs when MF_SKIP_ASAN is not set.
# The sanitizer passes run when MF_SKIP_ASAN / MF_SKIP_TSAN are not set.
test: deps
	$(MAKE) all unit-tests
	@if [ -z "$$MF_SKIP_ASAN" ]; then $(MAKE) $(ASAN_VARS) all unit-tests; fi
	@if [ -z "$$MF_SKIP_TSAN" ]; then $(MAKE) $(TSAN_VARS) $(TSAN_BINS); fi
	@MF_BIN=$(CURDIR)/bin/moonfeast MF_TEST_BUILD=$(CURDIR)/build \
	  MF_ASAN=$${MF_SKIP_ASAN:+skip} MF_TSAN=$${MF_SKIP_TSAN:+skip} sh tests/run.sh

test-asan: deps
	$(MAKE) $(ASAN_VARS) all unit-tests
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

$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_DIR)/libmoonfeast.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB_DIR)/libmoonfeast.a $(LDFLAGS) $(LDLIBS)

clean:
	rm -rf build build-asan build-tsan build-fuzz bin lib
