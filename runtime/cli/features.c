/* SPDX-License-Identifier: Apache-2.0 */
/* features: what this runtime supports (runtime-spec features.md). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "rt/config.h"
#include "rt/state.h"

static json_t *
strv(const char *const *v)
{
    json_t *a = json_array();
    for (; *v; v++)
        json_array_append_new(a, json_string(*v));
    return a;
}

int
cli_features(int argc, char **argv)
{
    static const char *const hooks[] = {
        "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
        NULL};
    static const char *const mount_opts[] = {
        "async",      "atime",         "bind",    "defaults", "dev",         "diratime", "dirsync",
        "exec",       "mand",          "noatime", "nodev",    "nodiratime",  "noexec",   "nomand",
        "norelatime", "nostrictatime", "nosuid",  "private",  "rbind",       "relatime", "remount",
        "ro",         "rprivate",      "rshared", "rslave",   "runbindable", "rw",       "shared",
        "slave",      "strictatime",   "suid",    "sync",     "unbindable",  NULL};
    static const char *const actions[] = {
        "SCMP_ACT_ALLOW",        "SCMP_ACT_ERRNO",       "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
        "SCMP_ACT_TRAP",         "SCMP_ACT_TRACE",       NULL};
    static const char *const ops[] = {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
                                      "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
                                      "SCMP_CMP_NE", NULL};
    static const char *const archs[] = {"SCMP_ARCH_X86",     "SCMP_ARCH_X86_64", "SCMP_ARCH_X32",
                                        "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM",    NULL};
    json_t *o = json_object(), *linux_ = json_object(), *ns = json_array(), *caps = json_array();
    json_t *cg = json_object(), *sc = json_object();
    char *s;

    (void)argc, (void)argv;
    json_object_set_new(o, "ociVersionMin", json_string("1.0.0"));
    json_object_set_new(o, "ociVersionMax", json_string(RT_OCI_VERSION));
    json_object_set_new(o, "hooks", strv(hooks));
    json_object_set_new(o, "mountOptions", strv(mount_opts));
    for (int t = 0; t < RT_NS_COUNT; t++)
        if (rt_ns_type_name((enum rt_ns_type)t))
            json_array_append_new(ns, json_string(rt_ns_type_name((enum rt_ns_type)t)));
    for (int c = 0; c <= rt_cap_last(); c++)
        if (rt_cap_name(c))
            json_array_append_new(caps, json_string(rt_cap_name(c)));
    json_object_set_new(linux_, "namespaces", ns);
    json_object_set_new(linux_, "capabilities", caps);
    json_object_set_new(cg, "v1", json_true());
    json_object_set_new(cg, "v2", json_true());
    json_object_set_new(cg, "systemd", json_false());
    json_object_set_new(cg, "systemdUser", json_false());
    json_object_set_new(linux_, "cgroup", cg);
    json_object_set_new(sc, "enabled", json_true());
    json_object_set_new(sc, "actions", strv(actions));
    json_object_set_new(sc, "operators", strv(ops));
    json_object_set_new(sc, "archs", strv(archs));
    json_object_set_new(linux_, "seccomp", sc);
    json_object_set_new(o, "linux", linux_);
    s = json_dumps(o, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
    printf("%s\n", s);
    free(s);
    json_decref(o);
    return 0;
}
