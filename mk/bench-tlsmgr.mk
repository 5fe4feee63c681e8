# mk/bench-tlsmgr.mk - make bench-tlsmgr: tlsmgr cache requests/s from 2
# clients, one request at a time and pipelined (bench/tlsmgr_bench.sh).
.PHONY: bench-tlsmgr
bench-tlsmgr: $(BUILD)/bin/tlsmgr $(BUILD)/bench/tlsmgr_bench
	bash bench/tlsmgr_bench.sh
