# cli: the `skiff` user command. main.c dispatches to one file per command group;
# everything but main.c is the cli library, so tests/unit/cli can link it.
MODULES += cli
cli_DIR := cli
cli_SRCS := $(filter-out cli/main.c,$(wildcard cli/*.c))
cli_PKGS := jansson libcurl libcrypto
cli_DEPS := images common
cli_LDLIBS := $(LIBDIR)/libimages.a $(LIBDIR)/libcommon.a -lpthread

PROGS += skiff
skiff_SRCS := cli/main.c
skiff_MODS := cli

# docs/cli.md is generated from the command table; tests/unit/cli checks it is current.
.PHONY: cli-docs
cli-docs: $(BIN)/skiff
	$(BIN)/skiff help --markdown > docs/cli.md
