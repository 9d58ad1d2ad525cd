# common: errors, logging, JSON, files - what every module needs.
MODULES += common
common_DIR := common
common_SRCS := $(wildcard common/*.c)
common_PKGS := jansson libmicrohttpd libcrypto
common_DEPS :=
