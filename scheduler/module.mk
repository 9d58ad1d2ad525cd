# scheduler: skiffd, the ECS-compatible control plane (API, state, scheduling).
MODULES += scheduler
scheduler_DIR := scheduler
scheduler_SRCS := $(filter-out scheduler/main.c,$(wildcard scheduler/*.c))
scheduler_PKGS := jansson sqlite3 libmicrohttpd libcrypto
scheduler_DEPS := common

PROGS += skiffd
skiffd_SRCS := scheduler/main.c
skiffd_MODS := scheduler
# The Makefile's link_mods currently puts libcommon.a before libscheduler.a;
# repeat it after (harmless once that is fixed).
scheduler_LDLIBS = $(LIBDIR)/libcommon.a $(shell pkg-config --libs jansson libmicrohttpd libcrypto sqlite3)
