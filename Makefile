# Vessel build.  `make` builds the release tree, `make MODE=asan` the
# AddressSanitizer + UndefinedBehaviorSanitizer tree (MODE=debug: -O0,
# MODE=dev: a second -O2 tree for experiments), `make test` runs the
# whole suite (both trees), `make run` boots the main job.
#
# Sources are discovered, not listed: every src/**/*.c except src/cli/ and
# src/daemon/main.c goes into libvessel.a; src/cli/*.c make the `vessel`
# binary, src/daemon/main.c the `vesseld` daemon; each
# tests/unit/test_*.c is one cmocka program; each tests/isa/*.S or *.c is one
# bare-metal guest program.  A module that needs extra rules drops a
# module.mk beside its sources.

MODE    ?= release
# BUILD=build/mine on the command line gives a private tree.
BUILD   ?= build/$(MODE)
CC      ?= gcc
PKGS    := zlib libzstd liburing slirp libmicrohttpd libevent jansson libseccomp
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS_BASE := -std=gnu11 -g -Wall -Wextra -Werror -Wno-unused-parameter \
               -Isrc -D_GNU_SOURCE -MMD -MP $(PKG_CFLAGS)
ifeq ($(MODE),asan)
  SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
  CFLAGS_OPT := -O1 -fno-omit-frame-pointer $(SAN)
  LDFLAGS_OPT := $(SAN)
else ifeq ($(MODE),debug)
  CFLAGS_OPT := -O0
else ifeq ($(MODE),dev)
  CFLAGS_OPT := -O2   # a separate optimized tree for experiments
else
  CFLAGS_OPT := -O2
endif
CFLAGS  := $(CFLAGS_BASE) $(CFLAGS_OPT) $(EXTRA_CFLAGS)
LDLIBS  := -Wl,--as-needed $(PKG_LIBS) -lfdt -lm -lpthread   # Debian's libfdt ships no .pc file; as-needed: each binary maps only the libraries it calls

LIB_SRCS := $(shell find src -name '*.c' -not -path 'src/cli/*' -not -path src/daemon/main.c | sort)
CLI_SRCS := $(sort $(wildcard src/cli/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
LIBVESSEL := $(BUILD)/libvessel.a
VESSEL    := $(BUILD)/vessel
VESSELD   := $(BUILD)/vesseld

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)

.PHONY: all deps run test unit isa guests bench clean
all: $(VESSEL) $(VESSELD) $(UNIT_BINS)

deps:
	@scripts/install-deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIBVESSEL): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(VESSEL): $(CLI_OBJS) $(LIBVESSEL)
	$(CC) $(LDFLAGS_OPT) -o $@ $(CLI_OBJS) $(LIBVESSEL) $(LDLIBS)

$(VESSELD): $(BUILD)/src/daemon/main.o $(LIBVESSEL)
	$(CC) $(LDFLAGS_OPT) -o $@ $< $(LIBVESSEL) $(LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIBVESSEL)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(LIBVESSEL) $(LDFLAGS_OPT) $(LDLIBS) -lcmocka

unit: $(UNIT_BINS)

# Guest programs (ISA tests, benchmarks) are built once, in build/guest,
# whatever MODE is: they are RISC-V code, not host code.
include tests/isa/module.mk
-include $(filter-out tests/isa/module.mk,$(wildcard src/*/module.mk tests/*/module.mk bench/module.mk))

run: deps
	$(MAKE) $(VESSEL) guests
	scripts/run-main-job.sh

test: deps
	$(MAKE) MODE=release all guests
	$(MAKE) MODE=asan all
	tests/run.sh

clean:
	rm -rf build

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(BUILD)/src/daemon/main.d
