# scheduler: skiffd's library. The pure scheduling core (reconcile, placement pipeline, plan
# applier, query language, deployments, back-off) plus the daemon's API, store and protocol.
MODULES += scheduler
scheduler_DIR := scheduler
scheduler_SRCS := $(filter-out scheduler/main.c,$(wildcard scheduler/*.c))
scheduler_PKGS := jansson
scheduler_DEPS := common
