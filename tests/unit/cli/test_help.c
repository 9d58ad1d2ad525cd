/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: --help and docs/cli.md come from the one command table, and the
 * committed docs/cli.md is what the table generates now. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "../../../cli/ecs.h"
#include "cm/cleanup.h"
#include "cm/file.h"

static char *
capture(void (*fn)(FILE *, const struct cli_cmd *), const struct cli_cmd *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fn(f, c);
    fclose(f);
    return buf;
}

static void
markdown(FILE *f, const struct cli_cmd *c)
{
    (void)c;
    cli_markdown(f);
}

static void
usage(FILE *f, const struct cli_cmd *c)
{
    (void)c;
    cli_usage(f);
}

Test(cli_help, every_command_documents_every_option)
{
    cleanup_free char *md = capture(markdown, NULL);
    cleanup_free char *top = capture(usage, NULL);
    for (size_t i = 0; i < cli_n_cmds; i++) {
        const struct cli_cmd *c = &cli_cmds[i];
        cleanup_free char *h = capture(cli_help_cmd, c);
        cr_assert(strstr(h, c->name), "%s", c->name);
        cr_assert(strstr(top, c->name), "%s missing from usage", c->name);
        char heading[128];
        snprintf(heading, sizeof(heading), "### skiff %s\n", c->name);
        cr_assert(strstr(md, heading), "%s missing from markdown", c->name);
        for (const struct cli_opt *o = c->opts; o->name; o++) {
            char opt[96];
            snprintf(opt, sizeof(opt), "--%s", o->name);
            cr_assert(strstr(h, opt), "%s --help lacks %s", c->name, opt);
            cr_assert(o->help && *o->help, "%s %s has no help", c->name, opt);
        }
        if (!c->local)
            cr_assert(strstr(h, "--endpoint URL"), "%s lacks the global options", c->name);
    }
}

Test(cli_help, docs_cli_md_is_current)
{
    cleanup_free char *md = capture(markdown, NULL);
    cleanup_free char *file = NULL;
    size_t len = 0;
    struct cm_error *err = NULL;
    /* Tests run from the repository root (make check). */
    cr_assert_eq(cm_read_file_at(AT_FDCWD, "docs/cli.md", 1 << 20, &file, &len, &err), 0,
                 "docs/cli.md: %s", err ? err->msg : "");
    cr_assert(strcmp(md, file) == 0,
              "docs/cli.md is stale: regenerate it with 'make cli-docs' and commit it");
}
