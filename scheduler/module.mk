# scheduler: skiffd's library. The pure scheduling core (reconcile, placement pipeline, plan
# applier, query language, deployments, back-off) plus the daemon's API, store and protocol;
# build/bin/skiffd is the thin scheduler/main.c.
MODULES += scheduler
scheduler_DIR := scheduler
scheduler_SRCS := $(filter-out scheduler/main.c,$(wildcard scheduler/*.c))
scheduler_PKGS := jansson sqlite3 libmicrohttpd libcrypto gnutls
scheduler_DEPS := common

PROGS += skiffd
skiffd_SRCS := scheduler/main.c
skiffd_MODS := scheduler
