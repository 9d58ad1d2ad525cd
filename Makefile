# SPDX-License-Identifier: Apache-2.0
# skiff - one non-recursive Makefile. Each module describes itself in
# <module>/module.mk (sources, packages, programs); this file holds the rules.
#
#   make                 debug build (-O0 -g3), programs in build/bin/
#   make release         optimised build in build/release/bin/
#   make asan            AddressSanitizer + UBSan build in build/asan/bin/
#   make check           unit tests (Criterion, unprivileged)
#   make check-integration   integration tests (root: namespaces, cgroups, registry)
#   make check-asan      unit + integration tests under ASan/UBSan, leaks fail the run
#   make check-conformance   the OCI runtime-tools validation suite
#   make test            everything CI runs (the README's test command)
#   make bench           benchmarks (release build)
#   make format / format-check

MODE ?= debug
ifeq ($(MODE),debug)
OUT := build
MODE_CFLAGS := -O0 -g3
else ifeq ($(MODE),release)
OUT := build/release
MODE_CFLAGS := -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong
else ifeq ($(MODE),asan)
OUT := build/asan
MODE_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
MODE_LDFLAGS := -fsanitize=address,undefined
else
$(error unknown MODE '$(MODE)' (debug, release, asan))
endif

OBJ := $(OUT)/obj
BIN := $(OUT)/bin
LIBDIR := $(OUT)/lib
TESTBIN := $(OUT)/tests

CC ?= cc
WERROR ?= 1
WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
	-Wpointer-arith -Wundef -Wimplicit-fallthrough -Wswitch-enum -Wvla
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
CFLAGS := -std=gnu11 -D_GNU_SOURCE -Iinclude $(WARNINGS) $(MODE_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := $(MODE_LDFLAGS) $(EXTRA_LDFLAGS)

# Filled in by the module.mk files.
MODULES :=
PROGS :=
HELPERS :=

include common/module.mk
include $(filter-out common/module.mk,$(wildcard */module.mk))
include tests/module.mk

# pkg-config flags, computed once for every package any module uses.
ALL_PKGS := $(sort $(foreach m,$(MODULES),$($(m)_PKGS)) criterion)
PKG_CFLAGS := $(shell pkg-config --cflags $(ALL_PKGS) 2>/dev/null)
CFLAGS += $(PKG_CFLAGS)

# A module's full dependency closure (modules it links against, itself first).
mod_closure = $(1) $(foreach d,$($(1)_DEPS),$(call mod_closure,$(d)))
uniq_last = $(if $(1),$(call uniq_last,$(wordlist 2,$(words $(1)),$(1))) $(if $(filter $(firstword $(1)),$(wordlist 2,$(words $(1)),$(1))),,$(firstword $(1))))
# Link order: dependants before dependencies; each library once, last occurrence kept
# (uniq_last returns the survivors in reverse order, hence one reverse).
link_mods = $(strip $(call reverse,$(call uniq_last,$(foreach m,$(1),$(call mod_closure,$(m))))))
reverse = $(if $(1),$(call reverse,$(wordlist 2,$(words $(1)),$(1))) $(firstword $(1)))
mod_libs = $(foreach m,$(call link_mods,$(1)),$(LIBDIR)/lib$(m).a)
mod_pkgs = $(sort $(foreach m,$(call link_mods,$(1)),$($(m)_PKGS)))
pkg_libs = $(if $(1),$(shell pkg-config --libs $(1)))

define module_rules
$(1)_OBJS := $$(patsubst %.c,$(OBJ)/%.o,$$($(1)_SRCS))
$(LIBDIR)/lib$(1).a: $$($(1)_OBJS)
	@mkdir -p $$(@D)
	@rm -f $$@
	$$(AR) rcs $$@ $$^
ALL_OBJS += $$($(1)_OBJS)
# Unit tests of a module: tests/unit/<dir>/*.c, one Criterion binary per module.
$(1)_UNIT_SRCS := $$(wildcard tests/unit/$$($(1)_DIR)/*.c)
ifneq ($$($(1)_UNIT_SRCS),)
$(1)_UNIT_OBJS := $$(patsubst %.c,$(OBJ)/%.o,$$($(1)_UNIT_SRCS))
ALL_OBJS += $$($(1)_UNIT_OBJS)
UNIT_BINS += $(TESTBIN)/unit-$(1)
$(TESTBIN)/unit-$(1): $$($(1)_UNIT_OBJS) $$(call mod_libs,$(1))
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$($(1)_UNIT_OBJS) $$(call mod_libs,$(1)) $$(call pkg_libs,$$(call mod_pkgs,$(1)) criterion) $$($(1)_LDLIBS)
endif
endef

define prog_rules
$(1)_OBJS := $$(patsubst %.c,$(OBJ)/%.o,$$($(1)_SRCS))
ALL_OBJS += $$($(1)_OBJS)
$(BIN)/$(1): $$($(1)_OBJS) $$(call mod_libs,$$($(1)_MODS))
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$($(1)_OBJS) $$(call mod_libs,$$($(1)_MODS)) $$(filter-out $$($(1)_NOLIBS),$$(call pkg_libs,$$(call mod_pkgs,$$($(1)_MODS)))) $$(foreach m,$$($(1)_MODS),$$($$(m)_LDLIBS)) $$($(1)_LDLIBS)
endef

# Static helper programs run inside test containers (no libc in the rootfs needed).
define helper_rules
$(TESTBIN)/helpers/$(1): tests/helpers/$(1).c
	@mkdir -p $$(@D)
	$$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static -o $$@ $$<
endef

UNIT_BINS :=
ALL_OBJS :=
$(foreach m,$(MODULES),$(eval $(call module_rules,$(m))))
$(foreach p,$(PROGS),$(eval $(call prog_rules,$(p))))
$(foreach h,$(HELPERS),$(eval $(call helper_rules,$(h))))
$(foreach a,$(IT_AREAS),$(eval $(call it_rules,$(a))))

PROG_BINS := $(addprefix $(BIN)/,$(PROGS))
HELPER_BINS := $(addprefix $(TESTBIN)/helpers/,$(HELPERS))

.PHONY: all release asan check check-unit check-integration check-asan check-conformance \
	test bench format format-check clean check-headers tests-build
.DEFAULT_GOAL := all

all: $(PROG_BINS)

release:
	$(MAKE) MODE=release all
asan:
	$(MAKE) MODE=asan all

$(OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(ALL_OBJS:.o=.d)

tests-build: $(PROG_BINS) $(UNIT_BINS) $(HELPER_BINS)

# Unit tests: unprivileged, no network.
check: tests-build
	OUT=$(OUT) scripts/run-tests unit $(UNIT_BINS)

# Integration tests: Criterion binaries from tests/integration/<area>/ and
# executable scripts tests/integration/*.sh. Need root.
check-integration: tests-build $(IT_BINS)
	OUT=$(OUT) scripts/run-tests integration $(IT_BINS) $(IT_SCRIPTS)

check-asan:
	$(MAKE) MODE=asan check
	$(MAKE) MODE=asan check-integration

check-conformance: release
	scripts/oci-validation $(CURDIR)/build/release/bin/skiff-runtime

# One suite after another even under -j: integration suites share loopback
# ports, cgroups and bridges and must not overlap (builds stay parallel).
test:
	$(MAKE) format-check
	$(MAKE) check
	@# the release build links differently (static runtime and shim): it must link too
	$(MAKE) release
	$(MAKE) check-integration
	$(MAKE) check-asan

bench: release
	bench/run-all

check-headers:
	@set -e; for h in $$(find include -name '*.h'); do \
		echo "#include \"$${h#include/}\"" | $(CC) $(CFLAGS) -x c -fsyntax-only - || { echo "$$h does not compile alone"; exit 1; }; \
	done; echo "headers ok"

FORMAT_FILES = $$(find common runtime images agent scheduler cli include tests bench -name '*.[ch]' 2>/dev/null)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run -Werror $(FORMAT_FILES)

clean:
	rm -rf build
