# Fuzzing: libFuzzer harnesses for the pure parsers in shared/ (and the
# agent's start.c).  Included by
# the top Makefile; see tests/fuzz/README.md.
#
#   make fuzz            install what is missing, build, and fuzz every
#                        harness for FUZZ_TIME seconds (as fuzz-run)
#   make fuzz-build      build build-fuzz/fuzz_<name> for every harness
#                        (clang, libFuzzer, ASan + UBSan)
#   make fuzz-regress    run every harness once over each file of
#                        tests/fuzz/corpus/<name>/ and tests/fuzz/regress/
#                        <name>/: no mutation, deterministic, seconds;
#                        non-zero on a crash (meant for `make test`)
#   make fuzz-run        (without the install) fuzz every harness for FUZZ_TIME seconds (default
#                        60), one after the other, on a scratch copy of its
#                        corpus in build-fuzz/corpus/; non-zero if any
#                        crashed
#   make fuzz-seeds      regenerate the encoder-made seeds (proto, wsframe)
#   make fuzz-clean      remove build-fuzz/
#
# FUZZ_NAMES=proto (say) limits any of them to some harnesses.  The
# harnesses are built with clang and compile the shared/*/*.c files they need
# themselves (instrumented), rather than link build/libmedusa.a, so they
# never touch build/ or build-san/.

FUZZ_CC		?= clang
FUZZ_TIME	?= 60
FUZZ_DIR	:= build-fuzz
FUZZ_NAMES	:= httphead wsframe proto config mlogin auth

FUZZ_PKGS	:= openssl msgpack jansson
FUZZ_SAN	:= -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
# The top Makefile's warnings (-Werror included), when it defines them.
FUZZ_WARN	:= $(or $(WARN),-Wall -Wextra)
FUZZ_CFLAGS	:= -std=gnu11 -g -O1 $(FUZZ_SAN) -Ishared/common -Ishared/server \
		   -Ishared/client -Iagent -D_GNU_SOURCE \
		   $(FUZZ_WARN)
FUZZ_PKG_CFLAGS	= $(shell pkg-config --cflags $(FUZZ_PKGS) 2>/dev/null)
FUZZ_LIBS	= $(shell pkg-config --libs $(FUZZ_PKGS) 2>/dev/null)

# What each harness compiles besides itself.
FUZZ_SRC_httphead := shared/common/httphead.c shared/server/route.c shared/common/wshandshake.c
FUZZ_SRC_wsframe  := shared/common/wsframe.c shared/common/utf8.c
FUZZ_SRC_proto    := shared/server/proto.c shared/common/utf8.c
FUZZ_SRC_config   := shared/server/config.c shared/server/paths.c shared/common/mlog.c shared/common/netutil.c
FUZZ_SRC_mlogin   := shared/client/mlproto.c shared/client/wsurl.c agent/start.c
FUZZ_SRC_auth     := shared/common/httpsig.c shared/common/presign.c shared/common/b64.c

FUZZ_BINS	:= $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_NAMES))
FUZZ_DEPS	:= tests/fuzz/fuzzutil.h tests/fuzz/fuzz.mk $(wildcard shared/*/*.h) \
		   agent/start.h

.PHONY: fuzz fuzz-build fuzz-run fuzz-regress fuzz-seeds fuzz-clean

# One rule per harness: build-fuzz/fuzz_NAME from tests/fuzz/fuzz_NAME.c.
define FUZZ_RULE
$(FUZZ_DIR)/fuzz_$(1): tests/fuzz/fuzz_$(1).c $(FUZZ_SRC_$(1)) $(FUZZ_DEPS)
	@mkdir -p $(FUZZ_DIR)
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) $$(FUZZ_PKG_CFLAGS) -o $$@ \
	    tests/fuzz/fuzz_$(1).c $(FUZZ_SRC_$(1)) $$(FUZZ_LIBS)
endef
$(foreach n,$(FUZZ_NAMES),$(eval $(call FUZZ_RULE,$(n))))

fuzz-build: $(FUZZ_BINS)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-run

fuzz-run: $(FUZZ_BINS)
	@tests/fuzz/run.sh campaign $(FUZZ_DIR) $(FUZZ_TIME) $(FUZZ_NAMES)

fuzz-regress: $(FUZZ_BINS)
	@tests/fuzz/run.sh regress $(FUZZ_DIR) 0 $(FUZZ_NAMES)

# The seed generator uses the real encoders; built without the fuzzer.
$(FUZZ_DIR)/mkseeds: tests/fuzz/mkseeds.c shared/server/proto.c shared/common/wsframe.c \
    shared/common/utf8.c $(FUZZ_DEPS)
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) -std=gnu11 -g -O1 $(FUZZ_WARN) -Ishared/common -Ishared/server -D_GNU_SOURCE \
	    $(FUZZ_PKG_CFLAGS) -o $@ tests/fuzz/mkseeds.c shared/server/proto.c \
	    shared/common/wsframe.c shared/common/utf8.c $(FUZZ_LIBS)

fuzz-seeds: $(FUZZ_DIR)/mkseeds
	@mkdir -p tests/fuzz/corpus/proto tests/fuzz/corpus/wsframe
	$(FUZZ_DIR)/mkseeds tests/fuzz/corpus/proto tests/fuzz/corpus/wsframe

fuzz-clean:
	rm -rf $(FUZZ_DIR)
