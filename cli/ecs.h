/* SPDX-License-Identifier: Apache-2.0 */
/* The ECS side of the skiff CLI (private header): the one command table that
 * drives parsing, --help and docs/cli.md, the parsed arguments, the output
 * formats, and the signed ECS JSON 1.1 client. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "cm/error.h"

#define CLI_DEFAULT_ENDPOINT "http://127.0.0.1:8100"
#define CLI_DEFAULT_STATE "/var/lib/skiff"
#define CLI_MAX_RESPONSE (16u * 1024 * 1024)

enum cli_opt_kind {
    CLI_FLAG = 0, /* --force */
    CLI_VALUE,    /* --cluster NAME */
    CLI_LIST,     /* --services A B C (every following word until the next --option) */
    CLI_ARG,      /* --task ID, or ID alone as the command's one bare word (skiff logs TASK) */
};

struct cli_opt {
    const char *name; /* without the leading "--" */
    enum cli_opt_kind kind;
    const char *metavar;
    const char *help;
    bool required;
};

struct cli_args;
struct cli_ctx;

struct cli_cmd {
    const char *name; /* "create-service", "wait services-stable" */
    const char *api;  /* the ECS operation(s) it calls, for the docs ("" = none) */
    const char *summary;
    const char *description; /* longer text for --help and docs (may be NULL) */
    const struct cli_opt *opts;
    int (*run)(struct cli_ctx *ctx, const struct cli_args *a);
    bool local; /* talks to no endpoint (quickstart, help) */
};

/* Options every ECS command accepts. */
extern const struct cli_opt cli_global_opts[];
extern const struct cli_cmd cli_cmds[];
extern const size_t cli_n_cmds;

/* --- args.c -------------------------------------------------------------- */
struct cli_arg {
    const char *name; /* borrowed from the command table */
    char **values;    /* NULL-terminated, owned */
};

struct cli_args {
    const struct cli_cmd *cmd;
    struct cli_arg *v;
    size_t n;
};

/* Finds the command named by argv[0] (or argv[0] + " " + argv[1] for
 * two-word commands); *ret_used says how many words it took. NULL if none. */
const struct cli_cmd *cli_cmd_find(int argc, char **argv, int *ret_used);
/* Parses the options of cmd (and the global ones) from argv. Unknown options,
 * missing values and missing required options are errors naming the option. */
int cli_args_parse(const struct cli_cmd *cmd, int argc, char **argv, struct cli_args *ret,
                   struct cm_error **err);
void cli_args_done(struct cli_args *a);
/* The last value of an option, or NULL if absent. */
const char *cli_arg(const struct cli_args *a, const char *name);
/* All values of a list option (NULL-terminated, borrowed), or NULL if absent. */
char *const *cli_argv(const struct cli_args *a, const char *name);
bool cli_flag(const struct cli_args *a, const char *name);
/* Integer option in [min, max]; returns 0 and leaves *ret alone when absent. */
int cli_arg_int(const struct cli_args *a, const char *name, long long min, long long max,
                long long *ret, struct cm_error **err);

/* --- help.c: --help and docs/cli.md from the table ------------------------ */
void cli_usage(FILE *f);
void cli_help_cmd(FILE *f, const struct cli_cmd *cmd);
void cli_markdown(FILE *f);

/* --- output.c ------------------------------------------------------------ */
enum cli_format {
    CLI_OUT_TABLE = 0,
    CLI_OUT_JSON,
    CLI_OUT_TEXT, /* tab-separated, no header: for scripts */
};

int cli_format_parse(const char *s, enum cli_format *ret, struct cm_error **err);

struct cli_table;
/* Columns are given as a NULL-terminated list of header names. */
struct cli_table *cli_table_new(const char *title, const char *const *headers);
/* Adds a row: one string per column (NULL prints "-"). */
void cli_table_add(struct cli_table *t, const char *const *cells);
void cli_table_print(FILE *f, struct cli_table *t, enum cli_format fmt);
struct cli_table *cli_table_free(struct cli_table *t);
/* Prints JSON the way `aws --output json` does (4-space indent). */
void cli_json_print(FILE *f, json_t *v);
/* "2026-11-27 11:02:03" from an ECS epoch timestamp (seconds, fractional). */
void cli_time_fmt(double t, char out[32]);
/* Last path component of an ARN ("arn:...:service/c/web" -> "web"). */
const char *cli_arn_tail(const char *arn);

/* --- ecs_client.c -------------------------------------------------------- */
struct cli_creds {
    char *akid;
    char *secret;
    char *token;  /* session token, may be NULL */
    char *source; /* where they came from, for messages */
};

struct cli_ctx {
    char *endpoint;
    char *ca_file;   /* PEM CAs for an https endpoint; NULL: the system's */
    char *ca_source; /* where ca_file came from, for messages */
    char *region;
    char *profile;
    struct cli_creds creds;
    enum cli_format format;
    bool debug;
    FILE *out;
    /* Filled when the last call failed with an ECS error. */
    char *err_type;
    int http_status;
};

/* Resolves endpoint, CA file, region, profile, output format and credentials
 * from the global options, the environment and the aws CLI's files. The CA
 * file, for https endpoints only: --ca-file (or --ca-bundle), SKIFF_CA_FILE,
 * AWS_CA_BUNDLE, the profile's ca_bundle in the aws config file. */
int cli_ctx_init(struct cli_ctx *ctx, const struct cli_args *a, bool need_creds,
                 struct cm_error **err);
void cli_ctx_done(struct cli_ctx *ctx);
/* Reads `key` of section [section] from an aws-style INI file. NULL if absent. */
char *cli_ini_get(const char *path, const char *section, const char *key);
/* Calls an ECS operation ("ListClusters"); *ret gets the parsed response.
 * Errors name the operation, the ECS error code and message, and a hint. */
int cli_ecs_call(struct cli_ctx *ctx, const char *op, json_t *in, json_t **ret,
                 struct cm_error **err);
/* Calls a List* operation page by page; *ret gets the concatenated `key` array. */
int cli_ecs_list_all(struct cli_ctx *ctx, const char *op, json_t *in, const char *key, json_t **ret,
                     struct cm_error **err);
/* Calls a Describe* operation whose request and response member `key`
 * ("tasks", "containerInstances") holds the list: arns 100 a call (ECS's
 * limit), each request a copy of in with its slice; *ret gets the
 * concatenated response arrays. */
int cli_ecs_describe_all(struct cli_ctx *ctx, const char *op, json_t *in, const char *key,
                         json_t *arns, json_t **ret, struct cm_error **err);
/* Loads a --cli-input-json value: "file://PATH" or inline JSON; must be an object. */
int cli_input_json(const char *arg, json_t **ret, struct cm_error **err);
/* What to do about an ECS error type or a transport failure (static text or NULL). */
const char *cli_error_hint(const char *err_type);

/* --- commands (one file per group) ---------------------------------------- */
int cli_cmd_register_task_definition(struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_list_task_definitions(struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_describe_task_definition(struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_deregister_task_definition(struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_create_cluster(struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_list_clusters(struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_create_service(struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_update_service(struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_delete_service(struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_describe_services(struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_list_services(struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_run_task(struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_stop_task(struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_list_tasks(struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_describe_tasks(struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_list_container_instances(struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_drain(struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_logs(struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_wait_services_stable(struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_quickstart(struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_help(struct cli_ctx *ctx, const struct cli_args *a);

/* Entry point from main.c: argv[0] is the command's first word. Returns
 * the exit status, or -1 if argv[0] names no command in the table. */
int cli_ecs_main(int argc, char **argv);
/* Reports err on stderr as "skiff COMMAND: message" (+ hint); returns 1. */
int cli_fail(struct cli_ctx *ctx, const struct cli_args *a, struct cm_error **err);
/* Shared by the commands: builds {"cluster": ...} from --cluster if given. */
json_t *cli_req_cluster(const struct cli_args *a);
