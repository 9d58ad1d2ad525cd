# cli: the `skiff` user command. main.c dispatches to one file per command group.
PROGS += skiff
skiff_SRCS := $(wildcard cli/*.c)
skiff_MODS := images
