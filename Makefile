# Medusa: build, test, run.  See README.md.
#
#   make            build the programs: bin/medusa (the supervisor),
#                   bin/medusa-worker, bin/medusa-agent, bin/mlogin,
#                   bin/medusactl, and the benchmark's bin/medusa-bench and
#                   bin/bare-relay
#   make check      build and run the unit and integration tests of the
#                   plain build; installs nothing (a test whose tool is
#                   missing skips): what a developer runs all day
#   make test       install what is missing, build, run every test, then
#                   the whole suite again under ASan + UBSan, then the fuzz
#                   regressions: the one command for a fresh machine (CI)
#   make test-unit, make test-integration
#                   one half of `make check`
#                   (the integration tests also build two test workers:
#                   build/alt/ reports another version, build/faults/ is
#                   the only build with fault injection, worker/faults.h)
#   make run        install what running needs (no test tools), build, run
#                   on etc/medusa.json
#   make install, make uninstall   PREFIX=/usr/local DESTDIR= (FHS), and
#   make deb        a Debian 12 package: packaging/packaging.mk
#   make agent-static   bin/medusa-agent-static: the agent with no run-time
#                   dependencies
#   make SAN=1 ...  build (into build-san/) with ASan + UBSan
#   make sanitize   the suite under ASan + UBSan only
#   make valgrind   the integration tests under valgrind's memcheck
#   make fuzz, fuzz-regress, ...   tests/fuzz/fuzz.mk
#   make bench, bench-build        bench/bench.mk
#   make clean      remove every build output
#
# Every target that needs packages depends on `deps` (what building and
# testing need) or `deps-run` (what building and running need), which
# install only what is missing (tools/deps.sh).

CC	?= cc
SAN	?= 0
PY	?= /usr/bin/python3

ifeq ($(SAN),1)
BUILD	:= build-san
BIN	:= build-san/bin
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -fno-omit-frame-pointer
OPT	:= -O1
else
BUILD	:= build
BIN	:= bin
SANFLAGS :=
OPT	:= -O2
endif

WARN	:= -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
	   -Wmissing-prototypes -Wno-missing-field-initializers \
	   -Wno-format-zero-length
# shared/ is three libraries: common/ (every program), server/ (the
# reflector and medusactl), client/ (mlogin, the agent, the benchmark).
# Each program sees the headers of the libraries it links, and no others.
CPPFLAGS += -Ishared/common -D_GNU_SOURCE
CFLAGS	+= -std=gnu11 $(OPT) -g $(WARN) $(SANFLAGS) -MMD -MP
LDFLAGS	+= $(SANFLAGS)

PKGS	:= openssl msgpack jansson
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)
CPPFLAGS += $(PKG_CFLAGS)
LIBS	= $(PKG_LIBS) -lev
# The worker alone talks to the session directory (hiredis, libev adapter).
WORKER_LIBS = $(LIBS) -lhiredis

COMMON_SRC := $(wildcard shared/common/*.c)
SERVER_SRC := $(wildcard shared/server/*.c)
CLIENTLIB_SRC := $(wildcard shared/client/*.c)
SUP_SRC    := $(wildcard supervisor/*.c)
WORKER_SRC := $(wildcard worker/*.c)
AGENT_SRC  := $(wildcard agent/*.c)
CLIENT_SRC := $(wildcard client/*.c)
CTL_SRC    := $(wildcard ctl/*.c)
UNIT_SRC   := $(wildcard tests/unit/*.c)
# The programs' pure modules, unit-tested with tables.
UNIT_PROG_SRC := agent/start.c client/escape.c client/conn.c client/term.c

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

LIB_COMMON := $(BUILD)/libmedusa-common.a
LIB_SERVER := $(BUILD)/libmedusa-server.a
LIB_CLIENT := $(BUILD)/libmedusa-client.a
SERVER_LIBS := $(LIB_SERVER) $(LIB_COMMON)
CLIENT_LIBS := $(LIB_CLIENT) $(LIB_COMMON)
PROGS	:= $(BIN)/medusa $(BIN)/medusa-worker $(BIN)/medusa-agent $(BIN)/mlogin \
	   $(BIN)/medusactl
UNIT	:= $(BUILD)/unit-tests

.PHONY: all agent-static deps deps-run run check test test-suite test-unit test-integration \
	sanitize valgrind clean help

all: $(PROGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB_COMMON): $(call obj,$(COMMON_SRC))
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(LIB_SERVER): $(call obj,$(SERVER_SRC))
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(LIB_CLIENT): $(call obj,$(CLIENTLIB_SRC))
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

# Who sees which headers.
SERVER_DIRS := shared/server supervisor worker ctl
CLIENT_DIRS := shared/client agent client
$(foreach d,$(SERVER_DIRS),$(eval $(BUILD)/$(d)/%.o: CPPFLAGS += -Ishared/server))
$(foreach d,$(CLIENT_DIRS),$(eval $(BUILD)/$(d)/%.o: CPPFLAGS += -Ishared/client))
$(BUILD)/tests/unit/%.o: CPPFLAGS += -Ishared/server -Ishared/client -Iagent \
	-Iclient

$(BIN)/medusa: $(call obj,$(SUP_SRC)) $(SERVER_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BIN)/medusa-worker: $(call obj,$(WORKER_SRC)) $(SERVER_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(WORKER_LIBS)

$(BIN)/medusa-agent: $(call obj,$(AGENT_SRC)) $(CLIENT_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lutil

$(BIN)/mlogin: $(call obj,$(CLIENT_SRC)) $(CLIENT_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BIN)/medusactl: $(call obj,$(CTL_SRC)) $(SERVER_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The agent as one static executable with no run-time dependencies, to ship
# into any job as a single file.
agent-static: $(BIN)/medusa-agent-static

$(BIN)/medusa-agent-static: $(call obj,$(AGENT_SRC)) $(CLIENT_LIBS)
	@mkdir -p $(@D)
	$(CC) -static $(LDFLAGS) -o $@ $^ -ljansson -lssl -lcrypto -lev -lutil \
	    -lpthread -ldl -lm

# For the tests, two more builds of the worker: one that reports another
# version, to stand in for a new build during a rolling restart; and the
# only one with fault injection (worker/faults.h: the MEDUSA_FAULT_*
# variables), which the tests that need it name as their worker_path.
ALT_WORKER := $(BUILD)/alt/medusa-worker
FAULT_WORKER := $(BUILD)/faults/medusa-worker
TEST_WORKERS := $(ALT_WORKER) $(FAULT_WORKER)
TEST_ENV = MEDUSA_BIN=$(CURDIR)/$(BIN) \
	   MEDUSA_ALT_WORKER=$(CURDIR)/$(ALT_WORKER) \
	   MEDUSA_FAULT_WORKER=$(CURDIR)/$(FAULT_WORKER) \
	   MEDUSA_AUTHTOOL=$(CURDIR)/$(BUILD)/authtool \
	   MEDUSA_DIRTOOL=$(CURDIR)/$(BUILD)/dirtool
WORKER_ALL := $(WORKER_SRC) $(wildcard worker/*.h) $(SERVER_LIBS)

$(ALT_WORKER): $(WORKER_ALL)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Ishared/server $(filter-out -MMD -MP,$(CFLAGS)) \
	    -DMEDUSA_VERSION='"0.1.0-next"' $(LDFLAGS) -o $@ \
	    $(filter %.c %.a,$^) $(WORKER_LIBS)

$(FAULT_WORKER): $(WORKER_ALL)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Ishared/server $(filter-out -MMD -MP,$(CFLAGS)) \
	    -DMEDUSA_FAULTS $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(WORKER_LIBS)

# For the integration tests: the credential modules on the command line.
AUTHTOOL := $(BUILD)/authtool
$(BUILD)/tests/tools/%.o: CPPFLAGS += -Ishared/server -Ishared/client
$(AUTHTOOL): $(call obj,tests/tools/authtool.c) $(LIB_SERVER) $(LIB_CLIENT) \
    $(LIB_COMMON)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# For the integration tests: the worker's directory client, line by line.
DIRTOOL := $(BUILD)/dirtool
$(BUILD)/tests/tools/dirtool.o: CPPFLAGS += -Iworker
$(DIRTOOL): $(call obj,tests/tools/dirtool.c worker/directory.c) \
    $(LIB_SERVER) $(LIB_COMMON)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(WORKER_LIBS)

$(UNIT): $(call obj,$(UNIT_SRC) $(UNIT_PROG_SRC)) $(LIB_SERVER) $(LIB_CLIENT) \
	    $(LIB_COMMON)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(CHECK_LIBS)

deps:
	@tools/deps.sh test

deps-run:
	@tools/deps.sh run

run: deps-run
	@$(MAKE) --no-print-directory all
	@mkdir -p etc/keys
	@tools/getting-started.sh $(BIN)
	$(BIN)/medusa -f etc/medusa.json

# The static agent for test_cacerts (a static executable cannot carry the
# sanitizers: the SAN=1 run uses the plain build's).
TEST_STATIC := $(if $(filter 1,$(SAN)),,$(BIN)/medusa-agent-static)

# The whole suite against one build (plain, or SAN=1).
test-suite: all $(UNIT) $(TEST_WORKERS) $(AUTHTOOL) $(DIRTOOL) $(TEST_STATIC)
	@echo "== unit tests ($(BUILD))"
	CK_FORK=yes $(UNIT)
	@echo "== integration tests ($(BIN))"
	$(TEST_ENV) MEDUSA_REQUIRE_ALL=1 \
	    $(PY) -m unittest discover -s tests/integration -p 'test_*.py' -v

check: test-suite-plain

test-suite-plain: all $(UNIT) $(TEST_WORKERS) $(AUTHTOOL) $(DIRTOOL) $(TEST_STATIC)
	CK_FORK=yes $(UNIT)
	$(TEST_ENV) $(PY) -m unittest discover -s tests/integration -p 'test_*.py'

test-unit: all $(UNIT)
	CK_FORK=yes $(UNIT)

test-integration: all $(TEST_WORKERS) $(AUTHTOOL) $(DIRTOOL) $(TEST_STATIC)
	$(TEST_ENV) $(PY) -m unittest discover -s tests/integration -p 'test_*.py' -v

test: deps
	@$(MAKE) --no-print-directory test-suite
	@$(MAKE) --no-print-directory SAN=1 test-suite
	@$(MAKE) --no-print-directory fuzz-regress

sanitize: deps
	@$(MAKE) --no-print-directory SAN=1 test-suite

# The integration tests with the reflector and the agent under valgrind's
# memcheck: any error or definite/indirect leak fails the test.  Slow: not
# part of `make test`.
valgrind: deps
	@$(MAKE) --no-print-directory all $(TEST_WORKERS)
	$(TEST_ENV) MEDUSA_VALGRIND=1 MEDUSA_REQUIRE_ALL=1 \
	    $(PY) -m unittest discover -s tests/integration -p 'test_*.py' -v

clean:
	rm -rf build build-san build-fuzz build-deb bin

help:
	@sed -n '1,34p' Makefile

-include $(shell find build build-san -name '*.d' 2>/dev/null)

# Fuzzing (tests/fuzz/fuzz.mk), benchmarks (bench/bench.mk), installing
# and packaging (packaging/packaging.mk) keep their rules in files of their
# own.
-include tests/fuzz/fuzz.mk
-include bench/bench.mk
-include packaging/packaging.mk
