# pftls - top-level GNU Makefile.
#
# Layout (DESIGN.md §2): library directories (util ipc sandbox tls) and role
# directories (master proxy mgr front keytool). Every *.cc in them is built
# into build/lib/libpftls.a except files named NAME_main.cc, each of which is
# the entry point of the program build/bin/NAME. Test helper programs live in
# t/tools/NAME_main.cc and go to build/t/bin/NAME. Unit tests are all .cc
# files under t/unit (tests are *_test.cc), linked into build/t/unit_tests (GoogleTest), and again
# with ASan+UBSan into build/asan/t/unit_tests.
#
# Further targets come from mk/*.mk fragments (fuzzing, e2e suites, bench).
# A fragment adds a check step with:  CHECK_STEPS += check-foo

SHELL        := /bin/bash
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SUFFIXES:

CXX          ?= g++
ifeq ($(origin CXX),default)
CXX          := g++
endif
PREFIX       ?= /usr/local
DESTDIR      ?=
BUILD        := build
NPROC        := $(shell nproc 2>/dev/null || echo 2)

LIBDIRS      := util ipc sandbox tls
ROLEDIRS     := master proxy mgr front keytool
ALL_SRC      := $(sort $(foreach d,$(LIBDIRS) $(ROLEDIRS),$(wildcard $(d)/*.cc)))
MAIN_SRC     := $(filter %_main.cc,$(ALL_SRC))
LIB_SRC      := $(filter-out %_main.cc,$(ALL_SRC))
TOOL_SRC     := $(sort $(wildcard t/tools/*_main.cc))
TOOL_LIB_SRC := $(filter-out %_main.cc,$(sort $(wildcard t/tools/*.cc)))
UNIT_SRC     := $(sort $(shell find t/unit -name '*.cc' 2>/dev/null))

PROGRAMS     := $(patsubst %_main.cc,$(BUILD)/bin/%,$(notdir $(MAIN_SRC)))
TOOLS        := $(patsubst %_main.cc,$(BUILD)/t/bin/%,$(notdir $(TOOL_SRC)))

CPPFLAGS     := -I. -D_GNU_SOURCE -MMD -MP
WARN         := -Wall -Wextra -Werror -Wformat=2 -Wshadow=local -Wno-missing-field-initializers
CXXFLAGS_N   := -std=c++20 -O2 -g $(WARN) -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
CXXFLAGS_A   := -std=c++20 -O1 -g $(WARN) -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS_N    := -pie -Wl,-z,relro,-z,now
LDFLAGS_A    := -fsanitize=address,undefined
LDLIBS       := -lssl -lcrypto -levent -lsqlite3 -lseccomp -lpthread
GTEST_LIBS   := -lgtest -lpthread

# $(call variant,DIR,CXXFLAGS,LDFLAGS): object, library, program and test rules
# for one build variant rooted at DIR.
define variant
$(1)/obj/%.o: %.cc
	@mkdir -p $$(@D)
	$$(CXX) $$(CPPFLAGS) $(2) -c $$< -o $$@

$(1)/lib/libpftls.a: $(patsubst %.cc,$(1)/obj/%.o,$(LIB_SRC))
	@mkdir -p $$(@D)
	@rm -f $$@
	ar rcs $$@ $$^

$(1)/t/unit_tests: $(patsubst %.cc,$(1)/obj/%.o,$(UNIT_SRC) $(TOOL_LIB_SRC)) $(1)/lib/libpftls.a
	@mkdir -p $$(@D)
	$$(CXX) $(3) -o $$@ $$(filter %.o,$$^) $(1)/lib/libpftls.a $$(GTEST_LIBS) -lgtest_main $$(LDLIBS)

-include $$(shell find $(1)/obj -name '*.d' 2>/dev/null)
endef

$(eval $(call variant,$(BUILD),$(CXXFLAGS_N),$(LDFLAGS_N)))
$(eval $(call variant,$(BUILD)/asan,$(CXXFLAGS_A),$(LDFLAGS_A)))

# One link rule per program: build/bin/NAME from DIR/NAME_main.cc.
define program
$(BUILD)/bin/$(patsubst %_main.cc,%,$(notdir $(1))): $(BUILD)/obj/$(1:.cc=.o) $(BUILD)/lib/libpftls.a
	@mkdir -p $$(@D)
	$$(CXX) $$(LDFLAGS_N) -o $$@ $$< $(BUILD)/lib/libpftls.a $$(LDLIBS)
endef
$(foreach m,$(MAIN_SRC),$(eval $(call program,$(m))))

define tool
$(BUILD)/t/bin/$(patsubst %_main.cc,%,$(notdir $(1))): $(BUILD)/obj/$(1:.cc=.o) $(patsubst %.cc,$(BUILD)/obj/%.o,$(TOOL_LIB_SRC)) $(BUILD)/lib/libpftls.a
	@mkdir -p $$(@D)
	$$(CXX) $$(LDFLAGS_N) -o $$@ $$(filter %.o,$$^) $(BUILD)/lib/libpftls.a $$(LDLIBS)
endef
$(foreach m,$(TOOL_SRC),$(eval $(call tool,$(m))))

CHECK_STEPS  :=
-include $(sort $(wildcard mk/*.mk))

.PHONY: all deps tools unit asan-unit check run clean install
all: $(PROGRAMS) $(BUILD)/lib/libpftls.a
tools: $(TOOLS)

deps:
	@scripts/deps.sh

unit: $(BUILD)/t/unit_tests
	$(BUILD)/t/unit_tests --gtest_brief=1

asan-unit: $(BUILD)/asan/t/unit_tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	$(BUILD)/asan/t/unit_tests --gtest_brief=1

# check: install what is missing, build everything, then run each step and
# report one summary line; non-zero exit when any step failed.
check:
	@scripts/deps.sh
	@$(MAKE) --no-print-directory -j$(NPROC) all tools $(BUILD)/t/unit_tests $(BUILD)/asan/t/unit_tests
	@scripts/run-checks.sh unit asan-unit $(CHECK_STEPS)

run:
	@scripts/deps.sh
	@$(MAKE) --no-print-directory -j$(NPROC) all tools
	@scripts/run-demo.sh

clean:
	rm -rf $(BUILD)

# install: programs into $(PREFIX)/libexec/pftls (a daemon_directory),
# postfix-tls into $(PREFIX)/sbin, man pages, and example configuration.
install: all
	install -d $(DESTDIR)$(PREFIX)/libexec/pftls $(DESTDIR)$(PREFIX)/sbin \
	    $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8 \
	    $(DESTDIR)$(PREFIX)/share/pftls/etc
	for p in $(PROGRAMS); do install -m 0755 $$p $(DESTDIR)$(PREFIX)/libexec/pftls/; done
	if [ -x $(BUILD)/bin/postfix-tls ]; then install -m 0755 $(BUILD)/bin/postfix-tls $(DESTDIR)$(PREFIX)/sbin/; fi
	for m in $(wildcard man/*.1); do install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man1/; done
	for m in $(wildcard man/*.8); do install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man8/; done
	for f in $(wildcard etc/*); do install -m 0644 $$f $(DESTDIR)$(PREFIX)/share/pftls/etc/; done
