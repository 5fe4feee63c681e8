# mk/bench.mk - benchmark programs: bench/NAME_main.cc -> build/bench/NAME.
#
#   make bench          build them (they are tools, not tests: make check
#                       does not run them)
#   make bench-deps     install the peers (haproxy, nginx stream, hitch,
#                       stunnel4) without starting their services
#   make bench-compare  pftls against the peers, side by side (root;
#                       BENCH_QUICK=1 for a short development run); writes
#                       bench/results/<date>.md and bench/results/latest.md
#
# Every bench/*.cc that is not a NAME_main.cc is linked into every bench
# program (the load generator's pieces: bench/load_*.cc); they stay out of
# libpftls.
#
# build/bench/tlsmgr_bench [-c clients] [-n pairs] [-w window] [-t type] [-s bytes] SOCKET
#   lookups+updates per second against a running tlsmgr from N processes.
# build/bench/tlsload ...    the load generator (see bench/tlsload_main.cc)
# build/bench/benchsink ...  SMTP sink and bulk backend
# build/bench/ssl_floor      libssl in-memory handshake cost

BENCH_SRC     := $(sort $(wildcard bench/*_main.cc))
BENCH_LIB_SRC := $(filter-out %_main.cc,$(sort $(wildcard bench/*.cc)))
BENCH_LIB_OBJ := $(patsubst %.cc,$(BUILD)/obj/%.o,$(BENCH_LIB_SRC))
BENCH_BINS    := $(patsubst bench/%_main.cc,$(BUILD)/bench/%,$(BENCH_SRC))

$(BUILD)/bench/%: $(BUILD)/obj/bench/%_main.o $(BENCH_LIB_OBJ) $(BUILD)/lib/libpftls.a
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS_N) -o $@ $< $(BENCH_LIB_OBJ) $(BUILD)/lib/libpftls.a $(LDLIBS)

.PHONY: bench bench-deps bench-compare
bench: $(BENCH_BINS)

bench-deps:
	bash bench/deps.sh

bench-compare: all bench bench-deps
	python3 bench/compare.py

# Keep the objects (they are intermediate files of the pattern rule).
.SECONDARY: $(BENCH_LIB_OBJ) $(patsubst bench/%.cc,$(BUILD)/obj/bench/%.o,$(BENCH_SRC))
