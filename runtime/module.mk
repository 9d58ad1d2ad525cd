# runtime: the OCI runtime library and skiff-runtime (thin CLI, one file per verb).
MODULES += runtime
runtime_DIR := runtime
runtime_SRCS := $(wildcard runtime/*.c)
runtime_PKGS := jansson libseccomp libcap libcgroup
runtime_DEPS := common

PROGS += skiff-runtime
skiff-runtime_SRCS := $(wildcard runtime/cli/*.c)
skiff-runtime_MODS := runtime
# Release: a static binary. The runtime is exec'd once per container operation;
# without the dynamic loader it starts faster and maps less (ASan cannot be static).
ifeq ($(MODE),release)
skiff-runtime_LDLIBS += -static
# ...and starts without glibc's CPU cache probing (runtime/cli/static_start.c:
# a hundred trapping cpuid instructions per start on a VM). STATIC_START=0
# keeps glibc's own start-up (touch that file when switching: the rules do
# not track flags).
STATIC_START ?= 1
ifeq ($(STATIC_START),1)
$(OBJ)/runtime/cli/static_start.o: CFLAGS += -DSKIFF_STATIC_START -fno-stack-protector
endif
endif
