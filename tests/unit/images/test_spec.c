/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for image config -> runtime config mapping and USER resolution. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"
#include "img/spec.h"

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "app:x:1000:1001:app:/home/app:/bin/sh\n"
                             "svc:x:200:200::/:/sbin/nologin\n";
static const char group[] = "root:x:0:\napp:x:1001:\nwheel:x:10:app,svc\naudio:x:29:svc,app\n";

Test(img_spec, user_by_name_with_groups)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_free gid_t *g = NULL;
    uid_t u;
    gid_t gid;
    size_t n;

    cr_assert_eq(img_user_resolve("app", passwd, group, &u, &gid, &g, &n, &err), 0);
    cr_assert_eq(u, 1000);
    cr_assert_eq(gid, 1001);
    cr_assert_eq(n, 2);
    cr_assert_eq(g[0], 10);
    cr_assert_eq(g[1], 29);
}

Test(img_spec, user_forms)
{
    cleanup_error struct cm_error *err = NULL;
    uid_t u;
    gid_t gid;
    size_t n;
    gid_t *g = NULL;

    cr_assert_eq(img_user_resolve("1000:wheel", passwd, group, &u, &gid, &g, &n, &err), 0);
    cr_assert_eq(u, 1000);
    cr_assert_eq(gid, 10);
    free(g);
    cr_assert_eq(img_user_resolve("4242", passwd, group, &u, &gid, &g, &n, &err), 0);
    cr_assert_eq(u, 4242);
    cr_assert_eq(gid, 0);
    free(g);
    cr_assert_eq(img_user_resolve("svc:29", NULL, NULL, &u, &gid, &g, &n, &err), -1);
    cr_assert_not_null(strstr(err->msg, "svc"));
    cm_error_free(&err);
    cr_assert_eq(img_user_resolve("app:nogroup", passwd, group, &u, &gid, &g, &n, &err), -1);
    cr_assert_not_null(strstr(err->msg, "nogroup"));
    cm_error_free(&err);
    cr_assert_eq(img_user_resolve(NULL, NULL, NULL, &u, &gid, &g, &n, &err), 0);
    cr_assert_eq(u, 0);
    free(g);
}

static struct img_config *
config(void)
{
    struct img_config *c = xcalloc(1, sizeof(*c));
    char *ep[] = {"/bin/sh", "-c", NULL};
    char *cmd[] = {"echo hi", NULL};
    char *env[] = {"PATH=/custom", "A=1", NULL};
    char *ports[] = {"80/tcp", "53/udp", NULL};
    c->entrypoint = xstrv_dup(ep);
    c->cmd = xstrv_dup(cmd);
    c->env = xstrv_dup(env);
    c->exposed_ports = xstrv_dup(ports);
    c->workdir = xstrdup("/srv");
    c->user = xstrdup("0:0");
    c->stop_signal = xstrdup("SIGQUIT");
    return c;
}

Test(img_spec, image_defaults)
{
    cleanup_error struct cm_error *err = NULL;
    struct img_config *c = config();
    json_auto_t *s = img_spec_from_config(c, -1, NULL, &err);
    json_t *p;

    cr_assert_not_null(s, "%s", err ? err->msg : "");
    p = json_object_get(s, "process");
    cr_assert_eq(json_array_size(json_object_get(p, "args")), 3);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(p, "args"), 2)), "echo hi");
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(p, "env"), 0)),
                     "PATH=/custom");
    cr_assert_str_eq(json_string_value(json_object_get(p, "cwd")), "/srv");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(s, "annotations"),
                                                       "org.opencontainers.image.stopSignal")),
                     "SIGQUIT");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(s, "annotations"),
                                                       "org.opencontainers.image.exposedPorts")),
                     "80/tcp,53/udp");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(s, "root"), "path")),
                     "rootfs");
    img_config_free(c);
}

Test(img_spec, overrides)
{
    cleanup_error struct cm_error *err = NULL;
    struct img_config *c = config();
    char *ep[] = {"/app", NULL};
    char *env[] = {"A=2", "B=3", NULL};
    struct img_spec_overrides ov = {.entrypoint = ep, .env = env, .workdir = "/w", .user = "7"};
    json_auto_t *s = img_spec_from_config(c, -1, &ov, &err);
    json_t *p = json_object_get(s, "process");
    json_t *env_j = json_object_get(p, "env");

    /* A new entrypoint drops the image's Cmd. */
    cr_assert_eq(json_array_size(json_object_get(p, "args")), 1);
    cr_assert_str_eq(json_string_value(json_array_get(env_j, 1)), "A=2");
    cr_assert_str_eq(json_string_value(json_array_get(env_j, 2)), "B=3");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(p, "user"), "uid")), 7);
    cr_assert_str_eq(json_string_value(json_object_get(p, "cwd")), "/w");
    img_config_free(c);
}

Test(img_spec, nothing_to_run)
{
    cleanup_error struct cm_error *err = NULL;
    struct img_config c = {0};
    cr_assert_null(img_spec_from_config(&c, -1, NULL, &err));
    cr_assert_not_null(strstr(err->msg, "Entrypoint"));
}

Test(img_spec, user_resolved_inside_the_rootfs)
{
    cleanup_error struct cm_error *err = NULL;
    char root[] = "/tmp/img-spec-XXXXXX";
    cleanup_free char *p = NULL;
    cleanup_close int rfd = -1;
    struct img_config *c = config();
    json_t *s, *u;
    FILE *f;

    cr_assert_not_null(mkdtemp(root));
    cr_assert(asprintf(&p, "%s/alt", root) > 0);
    cr_assert_eq(mkdir(p, 0755), 0);
    free(p);
    cr_assert(asprintf(&p, "%s/alt/passwd", root) > 0);
    f = fopen(p, "w");
    fputs("web:x:1234:4321::/:/bin/sh\n", f);
    fclose(f);
    free(p);
    cr_assert(asprintf(&p, "%s/etc", root) > 0);
    cr_assert_eq(mkdir(p, 0755), 0);
    free(p);
    /* An absolute symlink must resolve inside the rootfs, never on the host. */
    cr_assert(asprintf(&p, "%s/etc/passwd", root) > 0);
    cr_assert_eq(symlink("/alt/passwd", p), 0);
    rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(c->user);
    c->user = xstrdup("web");
    s = img_spec_from_config(c, rfd, NULL, &err);
    cr_assert_not_null(s, "%s", err ? err->msg : "");
    u = json_object_get(json_object_get(s, "process"), "user");
    cr_assert_eq(json_integer_value(json_object_get(u, "uid")), 1234);
    cr_assert_eq(json_integer_value(json_object_get(u, "gid")), 4321);
    json_decref(s);
    free(c->user);
    c->user = xstrdup("root"); /* the host has root; this rootfs does not */
    cr_assert_null(img_spec_from_config(c, rfd, NULL, &err));
    cr_assert_not_null(strstr(err->msg, "root"));
    img_config_free(c);
    cm_rm_rf(root, NULL);
}

Test(img_spec, default_capabilities)
{
    cleanup_error struct cm_error *err = NULL;
    struct img_config *c = config();
    json_auto_t *s = img_spec_from_config(c, -1, NULL, &err);
    json_t *caps = json_object_get(json_object_get(s, "process"), "capabilities");
    json_t *b = json_object_get(caps, "bounding");
    bool chown = false, sys_admin = false;
    size_t i;
    json_t *v;

    json_array_foreach (b, i, v) {
        chown |= !strcmp(json_string_value(v), "CAP_CHOWN");
        sys_admin |= !strcmp(json_string_value(v), "CAP_SYS_ADMIN");
    }
    cr_assert(chown);
    cr_assert_not(sys_admin);
    cr_assert_eq(json_array_size(json_object_get(caps, "effective")), json_array_size(b));
    img_config_free(c);
}
