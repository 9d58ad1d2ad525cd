/* SPDX-License-Identifier: Apache-2.0 */
/* skiffd credentials: access keys from DIR/credentials (the aws CLI's INI
 * format, every profile accepted) and agent join tokens. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/log.h"
#include "cm/xalloc.h"
#include "skiffd.h"

#define MAX_CRED_FILE (256 * 1024)

static void
random_chars(char *out, size_t n, const char *alphabet)
{
    size_t al = strlen(alphabet);
    unsigned char b[64];
    while (n > 0) {
        size_t chunk = n < sizeof(b) ? n : sizeof(b);
        if (getrandom(b, chunk, 0) != (ssize_t)chunk)
            abort();
        for (size_t i = 0; i < chunk; i++)
            *out++ = alphabet[b[i] % al];
        n -= chunk;
    }
    *out = '\0';
}

static char *
trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Parses INI text: for each [profile], the aws_access_key_id and its secret. */
static int
parse_credentials(struct sched_daemon *d, char *text, const char *path, struct cm_error **err)
{
    char *save = NULL;
    int lineno = 0;
    cleanup_free char *cur_akid = NULL, *cur_secret = NULL;

    for (char *line = strtok_r(text, "\n", &save);; line = strtok_r(NULL, "\n", &save)) {
        char *l = line ? trim(line) : NULL;
        lineno++;
        if (!l || l[0] == '[') {
            if (cur_akid && cur_secret)
                json_object_set_new(d->creds, cur_akid, json_string(cur_secret));
            free(cur_akid);
            free(cur_secret);
            cur_akid = cur_secret = NULL;
            if (!l)
                break;
            continue;
        }
        if (!*l || l[0] == '#' || l[0] == ';')
            continue;
        char *eq = strchr(l, '=');
        if (!eq)
            return cm_error_set(err, 0, "%s:%d: expected 'name = value'", path, lineno);
        *eq = '\0';
        char *name = trim(l), *value = trim(eq + 1);
        if (!strcmp(name, "aws_access_key_id")) {
            free(cur_akid);
            cur_akid = xstrdup(value);
        } else if (!strcmp(name, "aws_secret_access_key")) {
            free(cur_secret);
            cur_secret = xstrdup(value);
        }
    }
    if (json_object_size(d->creds) == 0)
        return cm_error_set(err, 0,
                            "%s: no access key (aws_access_key_id + "
                            "aws_secret_access_key) found",
                            path);
    return 0;
}

int
sched_auth_load(struct sched_daemon *d, struct cm_error **err)
{
    cleanup_free char *path = xasprintf("%s/credentials", d->state_dir);
    cleanup_free char *buf = NULL;
    size_t len = 0;

    if (access(path, F_OK) < 0 && errno == ENOENT) {
        char akid[21], secret[41];
        random_chars(akid + 4, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
        memcpy(akid, "AKIA", 4);
        random_chars(secret, 40,
                     "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
        cleanup_free char *text = xasprintf("[default]\naws_access_key_id = %s\n"
                                            "aws_secret_access_key = %s\nregion = %s\n",
                                            akid, secret, d->region);
        if (cm_write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0600, err) < 0)
            return cm_error_wrap(err, "writing admin credentials");
        cm_log_info("generated admin credentials (access key %s) in '%s'", akid, path);
    }
    if (cm_read_file_at(AT_FDCWD, path, MAX_CRED_FILE, &buf, &len, err) < 0)
        return -1;
    return parse_credentials(d, buf, path, err);
}

char *
sched_join_token_new(struct sched_daemon *d, const char *cluster)
{
    char rnd[41];
    random_chars(rnd, 40, "abcdefghijklmnopqrstuvwxyz0123456789");
    char *tok = xasprintf("skiffjoin-%s", rnd);
    json_t *doc = json_pack("{s:s?,s:f}", "cluster", cluster, "createdAt", sched_now());
    sched_put(d, SCHED_K_TOKEN, tok, doc);
    return tok;
}

const char *
sched_join_token_check(struct sched_daemon *d, const char *token)
{
    json_t *doc = token ? sched_get(d, SCHED_K_TOKEN, token) : NULL;
    if (!doc)
        return NULL;
    const char *cl = json_string_value(json_object_get(doc, "cluster"));
    return cl ? cl : "";
}

int
sched_auth_join_token_file(struct sched_daemon *d, struct cm_error **err)
{
    cleanup_free char *path = xasprintf("%s/join-token", d->state_dir);
    cleanup_free char *buf = NULL;
    size_t len = 0;

    if (cm_read_file_at(AT_FDCWD, path, 4096, &buf, &len, NULL) == 0) {
        char *t = trim(buf);
        if (sched_join_token_check(d, t))
            return 0;
    }
    cleanup_free char *tok = sched_join_token_new(d, NULL);
    if (sched_flush(d, err) < 0)
        return -1;
    cleanup_free char *text = xasprintf("%s\n", tok);
    if (cm_write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0600, err) < 0)
        return cm_error_wrap(err, "writing join token");
    cm_log_info("wrote an agent join token (any cluster) to '%s'", path);
    return 0;
}
