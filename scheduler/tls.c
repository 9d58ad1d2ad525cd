/* SPDX-License-Identifier: Apache-2.0 */
/* Loads and checks skiffd's HTTPS certificate and key (see tls.h). */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/log.h"
#include "cm/xalloc.h"

static void
crts_free(gnutls_x509_crt_t *crts, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        gnutls_x509_crt_deinit(crts[i]);
    gnutls_free(crts);
}

static void
privkey_freep(gnutls_x509_privkey_t *k)
{
    if (*k)
        gnutls_x509_privkey_deinit(*k);
}

static void
creds_freep(gnutls_certificate_credentials_t *c)
{
    if (*c)
        gnutls_certificate_free_credentials(*c);
}

/* Reads a PEM file; an empty file or one with a NUL byte is no PEM file. */
static char *
read_pem(const char *what, const char *path, struct cm_error **err)
{
    cleanup_free char *buf = NULL;
    size_t len = 0;

    if (cm_read_file_at(AT_FDCWD, path, SCHED_TLS_MAX_FILE, &buf, &len, err) < 0) {
        cm_error_wrap(err, "%s file '%s'", what, path);
        return NULL;
    }
    if (len == 0 || strlen(buf) != len) {
        cm_error_set(err, 0, "%s file '%s': %s", what, path,
                     len == 0 ? "empty" : "binary data, expected PEM text");
        return NULL;
    }
    return TAKE_PTR(buf);
}

static int
check_cert(struct sched_tls *t, const char *path, gnutls_x509_crt_t **ret_crts, unsigned *ret_n,
           struct cm_error **err)
{
    gnutls_datum_t d = {(unsigned char *)t->cert_pem, (unsigned)strlen(t->cert_pem)};
    gnutls_x509_crt_t *crts = NULL;
    unsigned n = 0;
    gnutls_datum_t dn = {NULL, 0};

    if (!strstr(t->cert_pem, "-----BEGIN CERTIFICATE-----"))
        return cm_error_set(err, 0, "certificate file '%s': no PEM certificate in it", path);
    int r = gnutls_x509_crt_list_import2(&crts, &n, &d, GNUTLS_X509_FMT_PEM, 0);
    if (r < 0)
        return cm_error_set(err, 0, "certificate file '%s': %s", path, gnutls_strerror(r));
    if (n == 0) {
        crts_free(crts, n);
        return cm_error_set(err, 0, "certificate file '%s': no PEM certificate in it", path);
    }
    t->n_certs = n;
    t->not_before = gnutls_x509_crt_get_activation_time(crts[0]);
    t->not_after = gnutls_x509_crt_get_expiration_time(crts[0]);
    if (gnutls_x509_crt_get_dn3(crts[0], &dn, 0) >= 0) {
        t->subject = xstrndup((const char *)dn.data, dn.size);
        gnutls_free(dn.data);
    } else {
        t->subject = xstrdup("(no subject)");
    }
    *ret_crts = crts;
    *ret_n = n;
    return 0;
}

static int
check_key(struct sched_tls *t, const char *path, gnutls_x509_privkey_t key, struct cm_error **err)
{
    gnutls_datum_t d = {(unsigned char *)t->key_pem, (unsigned)strlen(t->key_pem)};

    if (strstr(t->key_pem, "ENCRYPTED"))
        return cm_error_set(err, 0,
                            "key file '%s': the key is encrypted; skiffd needs it unencrypted "
                            "(protect the file with mode 0600 instead)",
                            path);
    if (!strstr(t->key_pem, "PRIVATE KEY-----"))
        return cm_error_set(err, 0, "key file '%s': no PEM private key in it", path);
    int r = gnutls_x509_privkey_import2(key, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (r < 0)
        return cm_error_set(err, 0, "key file '%s': %s", path, gnutls_strerror(r));
    return 0;
}

/* The key belongs to the leaf when both name the same public key. */
static int
check_pair(gnutls_x509_crt_t leaf, gnutls_x509_privkey_t key, const char *cert_path,
           const char *key_path, struct cm_error **err)
{
    unsigned char a[64], b[64];
    size_t na = sizeof(a), nb = sizeof(b);

    if (gnutls_x509_crt_get_key_id(leaf, 0, a, &na) < 0 ||
        gnutls_x509_privkey_get_key_id(key, 0, b, &nb) < 0 || na != nb || memcmp(a, b, na) != 0)
        return cm_error_set(err, 0,
                            "key file '%s' does not belong to the certificate in '%s' (the first "
                            "certificate there must be the server's own)",
                            key_path, cert_path);
    return 0;
}

struct sched_tls *
sched_tls_load(const char *cert_path, const char *key_path, struct cm_error **err)
{
    __attribute__((cleanup(privkey_freep))) gnutls_x509_privkey_t key = NULL;
    __attribute__((cleanup(creds_freep))) gnutls_certificate_credentials_t creds = NULL;
    gnutls_x509_crt_t *crts = NULL;
    unsigned n = 0;
    struct sched_tls *t;
    int r;

    if (!cert_path || !key_path || !*cert_path || !*key_path) {
        cm_error_set(
            err, 0,
            "HTTPS needs both a certificate (--tls-cert, tlsCert) and a key (--tls-key, tlsKey)");
        return NULL;
    }
    t = xcalloc(1, sizeof(*t));
    if (!(t->cert_pem = read_pem("certificate", cert_path, err)) ||
        !(t->key_pem = read_pem("key", key_path, err)))
        return sched_tls_free(t);
    struct stat st;
    if (stat(key_path, &st) == 0)
        t->key_mode = st.st_mode & 07777;
    t->key_path = xstrdup(key_path);
    if (check_cert(t, cert_path, &crts, &n, err) < 0)
        return sched_tls_free(t);
    if (gnutls_x509_privkey_init(&key) < 0)
        abort();
    r = check_key(t, key_path, key, err);
    if (r == 0)
        r = check_pair(crts[0], key, cert_path, key_path, err);
    crts_free(crts, n);
    if (r < 0)
        return sched_tls_free(t);
    /* Last, what MHD will do with them: GnuTLS may still refuse the pair
     * (an algorithm it does not serve with, say). */
    gnutls_datum_t cd = {(unsigned char *)t->cert_pem, (unsigned)strlen(t->cert_pem)};
    gnutls_datum_t kd = {(unsigned char *)t->key_pem, (unsigned)strlen(t->key_pem)};
    if (gnutls_certificate_allocate_credentials(&creds) < 0)
        abort();
    r = gnutls_certificate_set_x509_key_mem2(creds, &cd, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (r < 0) {
        cm_error_set(err, 0, "certificate '%s' with key '%s': %s", cert_path, key_path,
                     gnutls_strerror(r));
        return sched_tls_free(t);
    }
    return t;
}

struct sched_tls *
sched_tls_free(struct sched_tls *t)
{
    if (!t)
        return NULL;
    if (t->key_pem)
        explicit_bzero(t->key_pem, strlen(t->key_pem));
    free(t->key_pem);
    free(t->cert_pem);
    free(t->subject);
    free(t->key_path);
    free(t);
    return NULL;
}

void
sched_tls_log(const struct sched_tls *tls, const char *path)
{
    time_t now = time(NULL);
    char until[32] = "?";
    struct tm tm;

    if (tls->not_after != (time_t)-1 && gmtime_r(&tls->not_after, &tm))
        strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
    cm_log_info("serving HTTPS with certificate '%s' (%s, %u in chain, valid until %s)", path,
                tls->subject, tls->n_certs, until);
    if (tls->not_after != (time_t)-1 && tls->not_after < now)
        cm_log_warn("certificate '%s' expired at %s: clients will refuse it", path, until);
    else if (tls->not_before != (time_t)-1 && tls->not_before > now)
        cm_log_warn("certificate '%s' is not valid yet: clients will refuse it", path);
    if (tls->key_mode & 0077)
        cm_log_warn("key file '%s' can be read by others than its owner (mode %04o): chmod 600 it",
                    tls->key_path, tls->key_mode);
}
