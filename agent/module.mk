# agent: skiff-agent (the per-host daemon) and skiff-shim (one per container):
# shim, container logs, exit records, bundles, CNI networking.
MODULES += agent
agent_DIR := agent
agent_SRCS := $(filter-out agent/main.c agent/shim_main.c agent/worker_main.c,$(wildcard agent/*.c))
agent_PKGS := jansson libcurl libmnl libnftnl
agent_DEPS := images runtime common
# See images/module.mk: libcommon named again after the libraries that use it.
agent_LDLIBS := $(LIBDIR)/libcommon.a

PROGS += skiff-shim
skiff-shim_SRCS := agent/shim_main.c
skiff-shim_MODS := agent
# Static in release builds: one shim runs per container, and a static one
# maps only the pages it touches (no ld.so, no shared libc relocations), which
# keeps its resident set under 1 MiB.
# <prog>_NOLIBS drops libraries of its modules it never calls: Debian ships
# ISA-L (images' gzip inflate) only as a shared library, and the shim runs no
# image code, so a static link must not ask for it.
ifeq ($(MODE),release)
skiff-shim_LDLIBS += -static
# Nor the port mapper's libmnl/libnftnl (the agent's own, agent/nat.c; Debian
# ships libmnl shared-only).
skiff-shim_NOLIBS := -lisal -lmnl -lnftnl
endif

PROGS += skiff-agent
skiff-agent_SRCS := agent/main.c
skiff-agent_MODS := agent

# The agent's slow jobs (preparation, image gc), one process each: only the
# worker loads the image libraries (libcurl, OpenSSL, libarchive).
PROGS += skiff-agent-worker
skiff-agent-worker_SRCS := agent/worker_main.c
skiff-agent-worker_MODS := agent

# Only the libraries a program really uses get loaded (Debian's linker does not
# default to --as-needed): the shim, one per container, stays small.
$(BIN)/skiff-shim: LDFLAGS += -Wl,--as-needed
$(BIN)/skiff-agent: LDFLAGS += -Wl,--as-needed
$(BIN)/skiff-agent-worker: LDFLAGS += -Wl,--as-needed

# skiff-init: pid 1 for initProcessEnabled, static (bind-mounted into any rootfs).
all: $(BIN)/skiff-init
tests-build: $(BIN)/skiff-init
$(BIN)/skiff-init: agent/init/skiff_init.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -static -o $@ $<
