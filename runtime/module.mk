# runtime: the OCI runtime library and skiff-runtime (thin CLI, one file per verb).
MODULES += runtime
runtime_DIR := runtime
runtime_SRCS := $(wildcard runtime/*.c)
runtime_PKGS := jansson libseccomp libcap libcgroup
runtime_DEPS := common

PROGS += skiff-runtime
skiff-runtime_SRCS := $(wildcard runtime/cli/*.c)
skiff-runtime_MODS := runtime
