# mk/fuzz.mk - libFuzzer targets (t/fuzz/*_fuzz.cc), built with Debian's
# clang-14 (+ libclang-rt-14-dev) with -fsanitize=fuzzer,address,undefined,
# compiling the ipc/ and util/ sources they need directly.
#
#   make fuzz                 run every target for FUZZ_SECONDS (default 60)
#   make check-fuzz           check step: every target for FUZZ_CHECK_SECONDS
#                             (default 35, >= 30 s in total), seeded from
#                             t/fuzz/corpus/; fails on any crash, leak or
#                             sanitizer report.
# New findings are written to build/fuzz/artifacts/; the working corpus
# lives in build/fuzz/corpus-<target>/ (the seed corpus is never modified).

FUZZ_CXX           ?= clang++-14
FUZZ_SECONDS       ?= 60
FUZZ_CHECK_SECONDS ?= 35
FUZZ_FLAGS         := -std=c++20 -g -O1 -I. -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
                      -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_LIB_SRC       := ipc/attr0.cc ipc/msg_tlsmgr.cc ipc/msg_tlsproxy.cc ipc/msg_context.cc util/log.cc
FUZZ_TARGETS       := $(patsubst t/fuzz/%_fuzz.cc,$(BUILD)/fuzz/%_fuzz,$(wildcard t/fuzz/*_fuzz.cc))

$(BUILD)/fuzz/%_fuzz: t/fuzz/%_fuzz.cc $(FUZZ_LIB_SRC) $(wildcard ipc/*.h util/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_LIB_SRC) -lssl -lcrypto

# run-fuzz: $(1) = seconds per target
define run-fuzz
	@set -e; for t in $(FUZZ_TARGETS); do \
	  n=$$(basename $$t); mkdir -p $(BUILD)/fuzz/corpus-$$n $(BUILD)/fuzz/artifacts; \
	  echo "fuzz: $$n for $(1) s"; \
	  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  $$t -max_total_time=$(1) -timeout=10 -rss_limit_mb=2048 -max_len=300000 -print_final_stats=1 \
	      -artifact_prefix=$(BUILD)/fuzz/artifacts/ $(BUILD)/fuzz/corpus-$$n t/fuzz/corpus \
	      2>$(BUILD)/fuzz/$$n.log || { tail -60 $(BUILD)/fuzz/$$n.log; exit 1; }; \
	  grep -E '^stat::number_of_executed_units|^Done' $(BUILD)/fuzz/$$n.log || true; \
	done
endef

.PHONY: fuzz check-fuzz fuzz-build
fuzz-build: $(FUZZ_TARGETS)

fuzz: $(FUZZ_TARGETS)
	$(call run-fuzz,$(FUZZ_SECONDS))

check-fuzz: $(FUZZ_TARGETS)
	$(call run-fuzz,$(FUZZ_CHECK_SECONDS))

CHECK_STEPS += check-fuzz
