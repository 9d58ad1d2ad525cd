/* SPDX-License-Identifier: Apache-2.0 */
/* The ECS cluster query language (memberOf constraints, ListContainerInstances filters):
 *
 *   expr    := and { ("||" | "or") and }
 *   and     := unary { ("&&" | "and") unary }
 *   unary   := ("!" | "not") unary | "(" expr ")" | cond
 *   cond    := subject op [value | "[" value { "," value } "]"]
 *   subject := attribute:NAME | task:group | agentConnected | agentVersion | ec2InstanceId
 *              | registeredAt | runningTasksCount
 *
 * Operators in symbol and word form (==/equals, !=/not_equals, >, >=, <, <=, exists,
 * !exists/not_exists, in, !in/not_in/"not in", =~/matches, !~/not_matches). Keywords are
 * case-insensitive. Values are bare words; they end at white space, ')', ']', ',' or "&&"/"||",
 * so a regular expression may use '|' and balanced parentheses, but no spaces. Regular expressions
 * (POSIX extended, a close cousin of the Java ones ECS uses) must match the whole value, like
 * Java's matches(). Input is hostile: length and nesting are bounded and every error names its
 * column. */
#include "sched/placement.h"

#include <ctype.h>
#include <stdarg.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm/cleanup.h"
#include "cm/error.h"
#include "cm/xalloc.h"

#define MAX_EXPR_LEN 2000
#define MAX_DEPTH 32
#define MAX_LIST 100
#define MAX_REGEX_LEN 256

enum node_kind { N_AND, N_OR, N_NOT, N_COND };

enum subject {
    S_ATTRIBUTE,
    S_TASK_GROUP,
    S_AGENT_CONNECTED,
    S_AGENT_VERSION,
    S_EC2_INSTANCE_ID,
    S_REGISTERED_AT,
    S_RUNNING_TASKS,
};

enum op {
    OP_EQ,
    OP_NE,
    OP_GT,
    OP_GE,
    OP_LT,
    OP_LE,
    OP_EXISTS,
    OP_NEXISTS,
    OP_IN,
    OP_NIN,
    OP_RE,
    OP_NRE
};

struct node {
    enum node_kind kind;
    struct node *a, *b; /* AND/OR: both; NOT: a */
    enum subject subject;
    char *name; /* attribute name (S_ATTRIBUTE) */
    enum op op;
    char **values; /* NULL-terminated; one for scalar ops, several for in */
    regex_t re;
    bool has_re;
};

struct sched_query {
    struct node *root;
};

struct parser {
    const char *s;
    size_t pos;
    int depth;
    struct cm_error **err;
};

static void
node_free(struct node *n)
{
    if (!n)
        return;
    node_free(n->a);
    node_free(n->b);
    free(n->name);
    cm_strv_free(n->values);
    if (n->has_re)
        regfree(&n->re);
    free(n);
}

struct sched_query *
sched_query_free(struct sched_query *q)
{
    if (q) {
        node_free(q->root);
        free(q);
    }
    return NULL;
}

static int CM_PRINTF(3, 4) fail(struct parser *p, size_t at, const char *fmt, ...)
{
    cleanup_free char *what = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&what, fmt, ap) < 0)
        what = NULL;
    va_end(ap);
    return cm_error_set(p->err, 0, "column %zu: %s", at + 1, what ? what : "syntax error");
}

static void
skip_ws(struct parser *p)
{
    while (p->s[p->pos] && isspace((unsigned char)p->s[p->pos]))
        p->pos++;
}

static bool
is_word_char(char c)
{
    return c && !isspace((unsigned char)c) && !strchr("()[],=!<>&|~", c);
}

/* Reads a bare word at the cursor (not consumed if LEN is 0). */
static size_t
word_len(const struct parser *p)
{
    size_t n = 0;
    while (is_word_char(p->s[p->pos + n]))
        n++;
    return n;
}

static bool
word_is(const struct parser *p, size_t len, const char *kw)
{
    return strlen(kw) == len && strncasecmp(p->s + p->pos, kw, len) == 0;
}

/* Consumes keyword KW (a word) or symbol SYM if present. */
static bool
accept(struct parser *p, const char *kw, const char *sym)
{
    skip_ws(p);
    if (sym && strncmp(p->s + p->pos, sym, strlen(sym)) == 0) {
        p->pos += strlen(sym);
        return true;
    }
    if (kw) {
        size_t len = word_len(p);
        if (len && word_is(p, len, kw)) {
            p->pos += len;
            return true;
        }
    }
    return false;
}

static struct node *parse_or(struct parser *p);

/* A value ends at white space, ')', ']', ',' or a "&&"/"||". A regular expression may also
 * hold balanced parentheses and brackets: "(t3|m5)\..*". */
static char *
parse_value(struct parser *p, bool in_list, bool regex)
{
    size_t start, end;
    int parens = 0, brackets = 0;

    skip_ws(p);
    start = end = p->pos;
    for (;;) {
        char c = p->s[end];
        if (!c || isspace((unsigned char)c))
            break;
        if (regex && (c == '(' || c == '[')) {
            c == '(' ? parens++ : brackets++;
            end++;
            continue;
        }
        if (regex && ((c == ')' && parens > 0) || (c == ']' && brackets > 0))) {
            c == ')' ? parens-- : brackets--;
            end++;
            continue;
        }
        if (c == ')' || c == ']' || (in_list && c == ',') || c == '[' || c == '(')
            break;
        if ((c == '&' && p->s[end + 1] == '&') || (c == '|' && p->s[end + 1] == '|'))
            break;
        end++;
    }
    if (end == start) {
        fail(p, start, "expected a value%s", in_list ? " in the list" : "");
        return NULL;
    }
    p->pos = end;
    return xstrndup(p->s + start, end - start);
}

static int
parse_subject(struct parser *p, struct node *n)
{
    size_t start, len;

    skip_ws(p);
    start = p->pos;
    len = 0;
    /* Attribute names may contain ':' (and the "attribute:" prefix does). */
    while (is_word_char(p->s[start + len]))
        len++;
    if (len == 0)
        return fail(p, start, "expected a subject such as attribute:NAME");
    if (len > 10 && strncmp(p->s + start, "attribute:", 10) == 0) {
        if (len - 10 > 128)
            return fail(p, start, "attribute name longer than 128 characters");
        n->subject = S_ATTRIBUTE;
        n->name = xstrndup(p->s + start + 10, len - 10);
    } else if (len == 10 && strncmp(p->s + start, "task:group", 10) == 0) {
        n->subject = S_TASK_GROUP;
    } else if (word_is(p, len, "agentConnected")) {
        n->subject = S_AGENT_CONNECTED;
    } else if (word_is(p, len, "agentVersion")) {
        n->subject = S_AGENT_VERSION;
    } else if (word_is(p, len, "ec2InstanceId")) {
        n->subject = S_EC2_INSTANCE_ID;
    } else if (word_is(p, len, "registeredAt")) {
        n->subject = S_REGISTERED_AT;
    } else if (word_is(p, len, "runningTasksCount")) {
        n->subject = S_RUNNING_TASKS;
    } else {
        cleanup_free char *w = xstrndup(p->s + start, len);
        return fail(p, start, "unknown subject '%s' (expected attribute:NAME, task:group, ...)", w);
    }
    p->pos = start + len;
    return 0;
}

static const struct {
    const char *sym, *word;
    enum op op;
} ops[] = {
    /* Longest symbols first so that "!=" is not read as "!" and "=". */
    {"!exists", "not_exists", OP_NEXISTS},
    {"!in", "not_in", OP_NIN},
    {">=", "greater_than_equal", OP_GE},
    {"<=", "less_than_equal", OP_LE},
    {"==", "equals", OP_EQ},
    {"!=", "not_equals", OP_NE},
    {"=~", "matches", OP_RE},
    {"!~", "not_matches", OP_NRE},
    {">", "greater_than", OP_GT},
    {"<", "less_than", OP_LT},
    {NULL, "exists", OP_EXISTS},
    {NULL, "in", OP_IN},
};

static int
parse_op(struct parser *p, struct node *n)
{
    size_t at;

    skip_ws(p);
    at = p->pos;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (ops[i].sym) {
            size_t l = strlen(ops[i].sym);
            /* "!in"/"!exists" must be whole words: "!inx" is not an operator. */
            if (strncmp(p->s + at, ops[i].sym, l) == 0 &&
                !(isalpha((unsigned char)ops[i].sym[l - 1]) && is_word_char(p->s[at + l]))) {
                p->pos = at + l;
                n->op = ops[i].op;
                return 0;
            }
        }
        if (accept(p, ops[i].word, NULL)) {
            n->op = ops[i].op;
            return 0;
        }
    }
    /* "not in" in two words. */
    if (accept(p, "not", NULL)) {
        if (accept(p, "in", NULL)) {
            n->op = OP_NIN;
            return 0;
        }
        p->pos = at;
    }
    {
        size_t len = word_len(p);
        cleanup_free char *w = xstrndup(p->s + at, len ? len : (p->s[at] ? 1 : 0));
        if (!*w)
            return fail(p, at, "expected an operator, found the end of the expression");
        return fail(p, at, "expected an operator (==, !=, in, exists, =~, ...), found '%s'", w);
    }
}

/* Patterns come from API bodies: glibc's regcomp() builds automata whose size can explode
 * with stacked or large bounded repetitions ("a++++...", "(a{100}){100}") and backreferences
 * make matching exponential. Attribute values are short, so legitimate patterns are small:
 * refuse the costly shapes up front. Returns why, or NULL. */
static const char *
regex_too_costly(const char *re)
{
    bool after_quant = false;
    int depth = 0, quants = 0;

    if (strlen(re) > MAX_REGEX_LEN)
        return "longer than 256 characters";
    for (const char *c = re; *c; c++) {
        bool quant = false;
        switch (*c) {
        case '\\':
            if (c[1] >= '1' && c[1] <= '9')
                return "backreferences are not supported";
            if (c[1])
                c++;
            break;
        case '[':
            /* A bracket expression is one atom: skip to its end ("[]a]" and "[^]a]" too). */
            c++;
            if (*c == '^')
                c++;
            if (*c == ']')
                c++;
            while (*c && *c != ']')
                c++;
            if (!*c)
                return NULL; /* unbalanced: regcomp() reports it */
            break;
        case '(':
            if (++depth > 8)
                return "groups nested deeper than 8";
            break;
        case ')':
            depth--;
            break;
        case '*':
        case '+':
        case '?':
            quant = true;
            break;
        case '{': {
            unsigned long lo = strtoul(c + 1, (char **)&c, 10), hi = lo;
            if (*c == ',')
                hi = c[1] == '}' ? lo : strtoul(c + 1, (char **)&c, 10);
            if (lo > 32 || hi > 32)
                return "repetition bounds above 32";
            if (!*c)
                return NULL; /* "a{1": regcomp() reports it; do not step past the end */
            quant = true;
            break;
        }
        default:
            break;
        }
        if (quant && after_quant)
            return "stacked repetition operators";
        if (quant && ++quants > 16)
            return "more than 16 repetition operators";
        after_quant = quant;
    }
    return NULL;
}

static int
parse_args(struct parser *p, struct node *n)
{
    size_t cap = 0, count = 0;
    char **v = NULL;

    switch (n->op) {
    case OP_EXISTS:
    case OP_NEXISTS:
        return 0;
    case OP_IN:
    case OP_NIN:
        skip_ws(p);
        if (p->s[p->pos] != '[')
            return fail(p, p->pos, "expected '[' after in");
        p->pos++;
        for (;;) {
            char *val = parse_value(p, true, false);
            if (!val) {
                cm_strv_free(v);
                return -1;
            }
            if (count >= MAX_LIST) {
                free(val);
                cm_strv_free(v);
                return fail(p, p->pos, "more than 100 values in a list");
            }
            v = xreallocarray_grow(v, &cap, count + 2, sizeof(*v));
            v[count++] = val;
            v[count] = NULL;
            skip_ws(p);
            if (p->s[p->pos] == ',') {
                p->pos++;
                continue;
            }
            if (p->s[p->pos] == ']') {
                p->pos++;
                break;
            }
            cm_strv_free(v);
            return fail(p, p->pos, "expected ',' or ']' in the list");
        }
        n->values = v;
        return 0;
    case OP_EQ:
    case OP_NE:
    case OP_GT:
    case OP_GE:
    case OP_LT:
    case OP_LE:
    case OP_RE:
    case OP_NRE:
        break;
    }
    size_t at = (skip_ws(p), p->pos);
    char *val = parse_value(p, false, n->op == OP_RE || n->op == OP_NRE);
    if (!val)
        return -1;
    n->values = xcalloc(2, sizeof(*n->values));
    n->values[0] = val;
    if (n->op == OP_RE || n->op == OP_NRE) {
        cleanup_free char *anchored = NULL;
        const char *why = regex_too_costly(val);
        if (why)
            return fail(p, at, "regular expression rejected: %s", why);
        anchored = xasprintf("^(%s)$", val);
        if (regcomp(&n->re, anchored, REG_EXTENDED | REG_NOSUB) != 0)
            return fail(p, at, "invalid regular expression '%s'", val);
        n->has_re = true;
    }
    return 0;
}

static struct node *
parse_cond(struct parser *p)
{
    struct node *n = xcalloc(1, sizeof(*n));

    n->kind = N_COND;
    if (parse_subject(p, n) < 0 || parse_op(p, n) < 0 || parse_args(p, n) < 0) {
        node_free(n);
        return NULL;
    }
    return n;
}

static struct node *
parse_unary(struct parser *p)
{
    struct node *n;

    if (++p->depth > MAX_DEPTH) {
        fail(p, p->pos, "expression nested deeper than 32 levels");
        return NULL;
    }
    skip_ws(p);
    if (p->s[p->pos] == '!' || (word_len(p) == 3 && word_is(p, 3, "not")) ||
        (strncasecmp(p->s + p->pos, "not(", 4) == 0)) {
        p->pos += p->s[p->pos] == '!' ? 1 : 3;
        struct node *inner = parse_unary(p);
        if (!inner)
            return NULL;
        n = xcalloc(1, sizeof(*n));
        n->kind = N_NOT;
        n->a = inner;
    } else if (p->s[p->pos] == '(') {
        size_t open = p->pos++;
        n = parse_or(p);
        if (!n)
            return NULL;
        skip_ws(p);
        if (p->s[p->pos] != ')') {
            node_free(n);
            fail(p, p->pos, "expected ')' to close the '(' at column %zu", open + 1);
            return NULL;
        }
        p->pos++;
    } else {
        n = parse_cond(p);
    }
    p->depth--;
    return n;
}

static struct node *
parse_binary(struct parser *p, bool is_or)
{
    struct node *left = is_or ? parse_binary(p, false) : parse_unary(p);

    while (left) {
        if (is_or ? !accept(p, "or", "||") : !accept(p, "and", "&&"))
            break;
        struct node *right = is_or ? parse_binary(p, false) : parse_unary(p);
        if (!right) {
            node_free(left);
            return NULL;
        }
        struct node *n = xcalloc(1, sizeof(*n));
        n->kind = is_or ? N_OR : N_AND;
        n->a = left;
        n->b = right;
        left = n;
    }
    return left;
}

static struct node *
parse_or(struct parser *p)
{
    return parse_binary(p, true);
}

struct sched_query *
sched_query_parse(const char *expr, struct cm_error **err)
{
    struct parser p = {.s = expr, .err = err};
    struct node *root;
    struct sched_query *q;

    if (!expr)
        return cm_error_set(err, 0, "empty query expression"), NULL;
    if (strlen(expr) > MAX_EXPR_LEN)
        return cm_error_set(err, 0, "query expression longer than %d characters", MAX_EXPR_LEN),
               NULL;
    skip_ws(&p);
    if (!expr[p.pos])
        return cm_error_set(err, 0, "empty query expression"), NULL;
    root = parse_or(&p);
    if (!root)
        return NULL;
    skip_ws(&p);
    if (expr[p.pos]) {
        node_free(root);
        fail(&p, p.pos, "unexpected '%.20s' (expected and, or or the end)", expr + p.pos);
        return NULL;
    }
    q = xcalloc(1, sizeof(*q));
    q->root = root;
    return q;
}

/* ---- evaluation ---- */

static int
compare(const char *a, const char *b)
{
    char *ea, *eb;
    double x = strtod(a, &ea), y = strtod(b, &eb);

    if (*a && *b && !*ea && !*eb)
        return x < y ? -1 : x > y;
    return strcmp(a, b);
}

static bool
eval_cond(const struct node *n, const struct sched_cluster *c, uint32_t index,
          const struct sched_query_ctx *ctx)
{
    const struct sched_instance *inst = &c->instances[index];
    const char *v = NULL;
    char buf[32];

    switch (n->subject) {
    case S_TASK_GROUP: {
        /* Membership, not a value: "instance runs a task of group G". */
        bool any = false;
        for (char **g = n->values; g && *g && !any; g++)
            any =
                ctx && ctx->instance_has_group && ctx->instance_has_group(ctx->userdata, index, *g);
        switch (n->op) {
        case OP_EQ:
        case OP_IN:
        case OP_RE:
        case OP_EXISTS:
            return any;
        case OP_NE:
        case OP_NIN:
        case OP_NRE:
        case OP_NEXISTS:
            return !any;
        case OP_GT:
        case OP_GE:
        case OP_LT:
        case OP_LE:
            return false;
        }
        return false;
    }
    case S_ATTRIBUTE:
        v = sched_instance_attr(inst, n->name);
        break;
    case S_AGENT_CONNECTED:
        v = inst->agent_connected ? "true" : "false";
        break;
    case S_AGENT_VERSION:
        v = sched_instance_attr(inst, "agentVersion");
        break;
    case S_EC2_INSTANCE_ID:
        v = sched_instance_attr(inst, "ec2InstanceId");
        break;
    case S_REGISTERED_AT:
        snprintf(buf, sizeof(buf), "%lld", (long long)inst->registered_at);
        v = buf;
        break;
    case S_RUNNING_TASKS:
        snprintf(buf, sizeof(buf), "%u", inst->running_tasks);
        v = buf;
        break;
    }

    switch (n->op) {
    case OP_EXISTS:
        return v != NULL;
    case OP_NEXISTS:
        return v == NULL;
    case OP_EQ:
        return v && strcmp(v, n->values[0]) == 0;
    case OP_NE:
        return !v || strcmp(v, n->values[0]) != 0;
    case OP_GT:
        return v && compare(v, n->values[0]) > 0;
    case OP_GE:
        return v && compare(v, n->values[0]) >= 0;
    case OP_LT:
        return v && compare(v, n->values[0]) < 0;
    case OP_LE:
        return v && compare(v, n->values[0]) <= 0;
    case OP_IN:
    case OP_NIN: {
        bool found = false;
        for (char **x = n->values; v && *x && !found; x++)
            found = strcmp(v, *x) == 0;
        return n->op == OP_IN ? found : !found;
    }
    case OP_RE:
        return v && regexec(&n->re, v, 0, NULL, 0) == 0;
    case OP_NRE:
        return !v || regexec(&n->re, v, 0, NULL, 0) != 0;
    }
    return false;
}

static bool
eval(const struct node *n, const struct sched_cluster *c, uint32_t index,
     const struct sched_query_ctx *ctx)
{
    switch (n->kind) {
    case N_AND:
        return eval(n->a, c, index, ctx) && eval(n->b, c, index, ctx);
    case N_OR:
        return eval(n->a, c, index, ctx) || eval(n->b, c, index, ctx);
    case N_NOT:
        return !eval(n->a, c, index, ctx);
    case N_COND:
        return eval_cond(n, c, index, ctx);
    }
    return false;
}

bool
sched_query_eval(const struct sched_query *q, const struct sched_cluster *cluster, uint32_t index,
                 const struct sched_query_ctx *ctx)
{
    if (!q || index >= cluster->n_instances)
        return false;
    return eval(q->root, cluster, index, ctx);
}
