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
endif
