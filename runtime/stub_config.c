/* SPDX-License-Identifier: Apache-2.0 */
/* Throwaway stub of the config parser (rt-config writes the real one); links only. */
#include "rt/config.h"

#include <errno.h>
#include <stdlib.h>

int
rt_config_parse(const char *buf, size_t len, const char *name, struct rt_config **ret,
                struct cm_error **err)
{
    (void)buf, (void)len, (void)ret;
    return cm_error_set(err, ENOSYS, "%s: config parser not available yet", name);
}

int
rt_config_load(const char *bundle, struct rt_config **ret, struct cm_error **err)
{
    (void)ret;
    return cm_error_set(err, ENOSYS, "%s: config parser not available yet", bundle);
}

int
rt_process_parse(const char *buf, size_t len, const char *name, struct rt_process *ret,
                 struct cm_error **err)
{
    (void)buf, (void)len, (void)ret;
    return cm_error_set(err, ENOSYS, "%s: config parser not available yet", name);
}

void
rt_process_done(struct rt_process *p)
{
    (void)p;
}

void
rt_config_free(struct rt_config *c)
{
    free(c);
}

const struct rt_namespace *
rt_config_namespace(const struct rt_config *c, enum rt_ns_type t)
{
    for (size_t i = 0; i < c->linux_.n_namespaces; i++)
        if (c->linux_.namespaces[i].type == t)
            return &c->linux_.namespaces[i];
    return NULL;
}

const char *
rt_ns_type_name(enum rt_ns_type t)
{
    static const char *const n[] = {"pid", "network", "mount",  "ipc",
                                    "uts", "user",    "cgroup", "time"};
    return t < RT_NS_COUNT ? n[t] : NULL;
}

int
rt_ns_type_from_name(const char *name)
{
    (void)name;
    return -1;
}

int
rt_cap_from_name(const char *name)
{
    (void)name;
    return -1;
}

const char *
rt_cap_name(int cap)
{
    (void)cap;
    return NULL;
}

int
rt_cap_last(void)
{
    return 40;
}

int
rt_rlimit_from_name(const char *name)
{
    (void)name;
    return -1;
}

char *
rt_config_default_spec(bool rootless)
{
    (void)rootless;
    return NULL;
}
