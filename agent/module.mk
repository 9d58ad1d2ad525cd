# agent: skiff-agent (the per-host daemon) and skiff-shim (one per container):
# shim, container logs, exit records, bundles, CNI networking.
MODULES += agent
agent_DIR := agent
agent_SRCS := $(filter-out agent/main.c agent/shim_main.c,$(wildcard agent/*.c))
agent_PKGS := jansson libcurl
agent_DEPS := images runtime common
# See images/module.mk: libcommon named again after the libraries that use it.
agent_LDLIBS := $(LIBDIR)/libcommon.a

PROGS += skiff-shim
skiff-shim_SRCS := agent/shim_main.c
skiff-shim_MODS := agent

PROGS += skiff-agent
skiff-agent_SRCS := agent/main.c
skiff-agent_MODS := agent

# Only the libraries a program really uses get loaded (Debian's linker does not
# default to --as-needed): the shim, one per container, stays small.
$(BIN)/skiff-shim: LDFLAGS += -Wl,--as-needed
$(BIN)/skiff-agent: LDFLAGS += -Wl,--as-needed
