/* SPDX-License-Identifier: Apache-2.0 */
/* Output of the ECS commands: aligned tables for people, tab-separated text
 * for scripts, and the raw ECS response as JSON (same shape as the aws CLI). */
#include <assert.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"
#include "ecs.h"

#define MAX_COLS 16

struct cli_table {
    char *title;
    size_t ncols;
    char *headers[MAX_COLS];
    char ***rows;
    size_t nrows;
};

int
cli_format_parse(const char *s, enum cli_format *ret, struct cm_error **err)
{
    if (!strcmp(s, "table"))
        *ret = CLI_OUT_TABLE;
    else if (!strcmp(s, "json"))
        *ret = CLI_OUT_JSON;
    else if (!strcmp(s, "text"))
        *ret = CLI_OUT_TEXT;
    else
        return cm_error_set(err, 0, "--output '%s': expected table, json or text", s);
    return 0;
}

struct cli_table *
cli_table_new(const char *title, const char *const *headers)
{
    struct cli_table *t = xcalloc(1, sizeof(*t));
    t->title = title ? xstrdup(title) : NULL;
    while (headers[t->ncols]) {
        assert(t->ncols < MAX_COLS);
        t->headers[t->ncols] = xstrdup(headers[t->ncols]);
        t->ncols++;
    }
    return t;
}

void
cli_table_add(struct cli_table *t, const char *const *cells)
{
    char **row = xcalloc(t->ncols, sizeof(char *));
    for (size_t i = 0; i < t->ncols; i++) {
        const char *c = cells[i] && *cells[i] ? cells[i] : "-";
        /* Cells are single-line: a newline or tab from the server would break
         * the columns (and the text format's fields). */
        row[i] = xstrdup(c);
        for (char *p = row[i]; *p; p++)
            if (*p == '\n' || *p == '\t' || *p == '\r')
                *p = ' ';
    }
    t->rows = xrealloc(t->rows, (t->nrows + 1) * sizeof(char **));
    t->rows[t->nrows++] = row;
}

/* The last column is not padded, so lines carry no trailing blanks. */
static void
cell(FILE *f, const char *s, size_t w, bool last)
{
    if (last)
        fprintf(f, "%s\n", s);
    else
        fprintf(f, "%-*s  ", (int)w, s);
}

void
cli_table_print(FILE *f, struct cli_table *t, enum cli_format fmt)
{
    size_t w[MAX_COLS] = {0};

    if (fmt == CLI_OUT_TEXT) {
        for (size_t r = 0; r < t->nrows; r++)
            for (size_t c = 0; c < t->ncols; c++)
                fprintf(f, "%s%s", t->rows[r][c], c + 1 < t->ncols ? "\t" : "\n");
        return;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        w[c] = strlen(t->headers[c]);
        for (size_t r = 0; r < t->nrows; r++)
            if (strlen(t->rows[r][c]) > w[c])
                w[c] = strlen(t->rows[r][c]);
    }
    if (t->title)
        fprintf(f, "%s\n", t->title);
    for (size_t c = 0; c < t->ncols; c++)
        cell(f, t->headers[c], w[c], c + 1 == t->ncols);
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++)
            cell(f, t->rows[r][c], w[c], c + 1 == t->ncols);
    if (t->nrows == 0)
        fprintf(f, "(none)\n");
}

struct cli_table *
cli_table_free(struct cli_table *t)
{
    if (!t)
        return NULL;
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++)
            free(t->rows[r][c]);
        free(t->rows[r]);
    }
    for (size_t c = 0; c < t->ncols; c++)
        free(t->headers[c]);
    free(t->rows);
    free(t->title);
    free(t);
    return NULL;
}

void
cli_json_print(FILE *f, json_t *v)
{
    cleanup_free char *s = json_dumps(v, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
    fprintf(f, "%s\n", s ? s : "null");
}

void
cli_time_fmt(double t, char out[32])
{
    time_t s = (time_t)t;
    struct tm tm;
    if (t <= 0 || !gmtime_r(&s, &tm)) {
        strcpy(out, "-");
        return;
    }
    strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

const char *
cli_arn_tail(const char *arn)
{
    if (!arn)
        return NULL;
    if (strncmp(arn, "arn:", 4))
        return arn;
    const char *s = strrchr(arn, '/');
    return s ? s + 1 : arn;
}
