# mk/bench.mk - benchmark programs: bench/NAME_main.cc -> build/bench/NAME.
#
#   make bench      build them (they are tools, not tests: make check does
#                   not run them)
#
# build/bench/tlsmgr_bench [-c clients] [-n pairs] [-w window] [-t type] [-s bytes] SOCKET
#   lookups+updates per second against a running tlsmgr from N processes.

BENCH_SRC  := $(sort $(wildcard bench/*_main.cc))
BENCH_BINS := $(patsubst bench/%_main.cc,$(BUILD)/bench/%,$(BENCH_SRC))

$(BUILD)/bench/%: $(BUILD)/obj/bench/%_main.o $(BUILD)/lib/libpftls.a
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS_N) -o $@ $< $(BUILD)/lib/libpftls.a $(LDLIBS)

.PHONY: bench
bench: $(BENCH_BINS)
