/* SPDX-License-Identifier: Apache-2.0 */
/* list: every container below --root, as runc's table or JSON. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cm/cleanup.h"
#include "cm/xalloc.h"
#include "rt/state.h"

enum { O_FORMAT, O_QUIET };
static const struct rt_opt list_opts[] = {{"format", 'f', true, O_FORMAT},
                                          {"quiet", 'q', false, O_QUIET}};

struct list_args {
    const char *format;
    bool quiet;
};

static int
on_opt(int id, const char *arg, void *ud, struct cm_error **err)
{
    struct list_args *a = ud;
    if (id == O_FORMAT) {
        if (strcmp(arg, "table") && strcmp(arg, "json"))
            return cm_error_set(err, 0, "invalid format option '%s'", arg);
        a->format = arg;
    } else {
        a->quiet = !strcmp(arg, "true");
    }
    return 0;
}

static char *
owner_of(const char *root, const char *id)
{
    char path[4096];
    struct stat st;
    char line[1024];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", root, id);
    if (stat(path, &st) < 0)
        return xstrdup("");
    /* /etc/passwd by hand: a static binary has no NSS. */
    f = fopen("/etc/passwd", "re");
    while (f && fgets(line, sizeof(line), f)) {
        char *name = line, *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = 0;
        if (strtoul(c2 + 1, NULL, 10) == st.st_uid) {
            fclose(f);
            return xstrdup(name);
        }
    }
    if (f)
        fclose(f);
    return xasprintf("#%u", (unsigned)st.st_uid);
}

int
cli_list(int argc, char **argv)
{
    struct list_args a = {.format = "table"};
    struct cm_error *err = NULL;
    cleanup_strv char **ids = NULL;
    size_t n;
    int ind = cli_parse(argc, argv, list_opts, 2, on_opt, &a);
    json_t *arr;
    const char **cells;
    char **owned;
    size_t row = 1, nown = 0;

    if (ind < 0)
        return 1;
    if (rt_state_list(arg_globals.root, &ids, &err) < 0)
        return cli_fail(&err);
    n = cm_strv_len(ids);
    if (a.quiet) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", ids[i]);
        return 0;
    }
    arr = json_array();
    cells = xcalloc((n + 1) * 6, sizeof(char *));
    owned = xcalloc(n * 3 + 1, sizeof(char *));
    cells[0] = "ID", cells[1] = "PID", cells[2] = "STATUS", cells[3] = "BUNDLE",
    cells[4] = "CREATED", cells[5] = "OWNER";
    for (size_t i = 0; i < n; i++) {
        struct rt_state st = {0};
        enum rt_status s;
        char *spec, *owner;
        json_t *o;
        if (rt_state_load(arg_globals.root, ids[i], &st, &err) < 0) {
            cm_error_free(&err);
            continue;
        }
        s = rt_state_status(arg_globals.root, &st);
        owner = owner_of(arg_globals.root, ids[i]);
        free(st.owner);
        st.owner = xstrdup(owner);
        spec = rt_state_spec_json(&st, s, false);
        o = json_loads(spec, 0, NULL);
        free(spec);
        if (o)
            json_array_append_new(arr, o);
        owned[nown++] = xasprintf("%d", s == RT_STATUS_STOPPED ? 0 : (int)st.pid);
        cells[row * 6 + 0] = ids[i];
        cells[row * 6 + 1] = owned[nown - 1];
        cells[row * 6 + 2] = rt_status_name(s);
        owned[nown++] = xstrdup(st.bundle ? st.bundle : "");
        cells[row * 6 + 3] = owned[nown - 1];
        owned[nown++] = xstrdup(st.created ? st.created : "");
        cells[row * 6 + 4] = owned[nown - 1];
        cells[row * 6 + 5] = owner;
        row++;
        rt_state_done(&st);
    }
    if (!strcmp(a.format, "json")) {
        char *s = json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s\n", json_array_size(arr) ? s : "null");
        free(s);
    } else {
        char *t = rt_format_table(cells, row, 6);
        fputs(t, stdout);
        free(t);
    }
    for (size_t r = 1; r < row; r++)
        free((char *)cells[r * 6 + 5]);
    for (size_t i = 0; i < nown; i++)
        free(owned[i]);
    free(owned);
    free(cells);
    json_decref(arr);
    return 0;
}
