# Integration test binaries: one Criterion binary per folder under tests/integration/.
IT_AREAS := $(notdir $(patsubst %/,%,$(dir $(wildcard tests/integration/*/*.c))))
IT_AREAS := $(sort $(IT_AREAS))
IT_BINS := $(addprefix $(TESTBIN)/it-,$(IT_AREAS))
IT_SCRIPTS := $(sort $(wildcard tests/integration/*.sh))
# Static helpers: tests/helpers/<name>.c
HELPERS := $(sort $(HELPERS) $(basename $(notdir $(wildcard tests/helpers/*.c))))

# it-<area> links every module the area's module.mk-style list names (default: all).
define it_rules
$(1)_IT_OBJS := $$(patsubst %.c,$$(OBJ)/%.o,$$(wildcard tests/integration/$(1)/*.c))
ALL_OBJS += $$($(1)_IT_OBJS)
$$(TESTBIN)/it-$(1): $$($(1)_IT_OBJS) $$(call mod_libs,$$(MODULES))
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$($(1)_IT_OBJS) $$(call mod_libs,$$(MODULES)) $$(call pkg_libs,$$(call mod_pkgs,$$(MODULES)) criterion) $$(foreach m,$$(MODULES),$$($$(m)_LDLIBS))
endef
