/* SPDX-License-Identifier: Apache-2.0 */
/* skiffd's HTTPS certificate and key (private header): read the two PEM files
 * and check them with GnuTLS before libmicrohttpd sees them, so that a bad
 * file stops skiffd with an error naming that file. */
#pragma once

#include <stdbool.h>
#include <time.h>

#include "cm/cleanup.h"
#include "cm/error.h"

#define SCHED_TLS_MAX_FILE (1024 * 1024)

struct sched_tls {
    char *cert_pem; /* the certificate file as read (chain, leaf first) */
    char *key_pem;  /* the private key file as read (wiped on free) */
    char *subject;  /* the leaf's subject DN, for the log */
    time_t not_before, not_after;
    unsigned n_certs;  /* certificates in the chain */
    char *key_path;    /* for the log */
    unsigned key_mode; /* the key file's permission bits */
};

/* Reads cert_path and key_path, checks that the first holds PEM certificates,
 * the second an unencrypted PEM private key, and that the key belongs to the
 * first certificate. Errors name the file and the problem. */
struct sched_tls *sched_tls_load(const char *cert_path, const char *key_path,
                                 struct cm_error **err);
/* Accepts NULL; returns NULL. */
struct sched_tls *sched_tls_free(struct sched_tls *t);
CM_DEFINE_CLEANUP(struct sched_tls *, sched_tls_free)
#define cleanup_sched_tls __attribute__((cleanup(sched_tls_freep)))

/* Logs what is served (subject, chain length, expiry) and warns about a
 * certificate outside its validity (skiffd still starts: a restart must not
 * take the control plane down; clients will refuse it and say so) and about a
 * key file that others than its owner may read. */
void sched_tls_log(const struct sched_tls *t, const char *cert_path);
