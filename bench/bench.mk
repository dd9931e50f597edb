# Benchmarks: medusa-bench (the load generator), bare-relay (the limit) and
# the watershed relay (the original's data path).  Included by the top
# Makefile; see bench/README.md.
#
#   make bench         install what is missing, build, run every scenario
#                      against medusa (1 and 2 workers), the bare relay and
#                      the watershed relay; print the table (bench/run.py)
#   make bench-build   just build bin/medusa-bench and bin/bare-relay
#
# Scale with the environment: BENCH_SETUP, BENCH_IDLE, BENCH_LAT_SESSIONS,
# BENCH_DURATION, ... (bench/run.py --help).

BENCH_SRC	:= bench/medusa-bench.c bench/bconn.c bench/bstats.c
BENCH_PROGS	:= $(BIN)/medusa-bench $(BIN)/bare-relay

$(BUILD)/bench/%.o: CPPFLAGS += -Ishared/client

.PHONY: bench bench-build

# `make` builds them with the rest (the tests run them briefly).
all: $(BENCH_PROGS)

bench-build: $(BENCH_PROGS)

$(BIN)/medusa-bench: $(call obj,$(BENCH_SRC)) $(CLIENT_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BIN)/bare-relay: $(call obj,bench/bare-relay.c)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^

bench: deps
	@$(MAKE) --no-print-directory all bench-build
	$(PY) bench/run.py --bin $(CURDIR)/$(BIN)
