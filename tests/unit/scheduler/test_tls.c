/* SPDX-License-Identifier: Apache-2.0 */
/* skiffd's HTTPS certificate/key check: good pairs and chains load, every bad
 * file is refused with an error naming that file. Keys and certificates are
 * made here with GnuTLS, so nothing secret or expiring lives in the tree. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../../scheduler/tls.h"
#include "../tmpdir_suite.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"

TMPDIR_SUITE(sched_tls, dir, "/tmp/sched-tls-XXXXXX");

static gnutls_x509_privkey_t
new_key(void)
{
    gnutls_x509_privkey_t k;
    cr_assert_eq(gnutls_x509_privkey_init(&k), 0);
    cr_assert_eq(gnutls_x509_privkey_generate(k, GNUTLS_PK_ECDSA,
                                              GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
                 0);
    return k;
}

/* A certificate for key, signed by (ca, ca_key) or self-signed when ca is NULL. */
static gnutls_x509_crt_t
new_cert(const char *cn, gnutls_x509_privkey_t key, gnutls_x509_crt_t ca,
         gnutls_x509_privkey_t ca_key, int is_ca)
{
    static unsigned char serial = 1;
    gnutls_x509_crt_t c;
    time_t now = time(NULL);

    cr_assert_eq(gnutls_x509_crt_init(&c), 0);
    cr_assert_eq(gnutls_x509_crt_set_version(c, 3), 0);
    serial++;
    cr_assert_eq(gnutls_x509_crt_set_serial(c, &serial, 1), 0);
    cr_assert_eq(gnutls_x509_crt_set_activation_time(c, now - 60), 0);
    cr_assert_eq(gnutls_x509_crt_set_expiration_time(c, now + 3600), 0);
    cr_assert_eq(gnutls_x509_crt_set_dn_by_oid(c, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn)),
                 0);
    cr_assert_eq(gnutls_x509_crt_set_key(c, key), 0);
    cr_assert_eq(gnutls_x509_crt_set_basic_constraints(c, is_ca, -1), 0);
    cr_assert_eq(gnutls_x509_crt_sign2(c, ca ? ca : c, ca ? ca_key : key, GNUTLS_DIG_SHA256, 0), 0);
    return c;
}

static char *
write_datum(const char *name, const gnutls_datum_t *d)
{
    char *path = xasprintf("%s/%s", dir, name);
    cr_assert_eq(cm_write_file_atomic_at(AT_FDCWD, path, d->data, d->size, 0600, NULL), 0);
    return path;
}

static char *
write_text(const char *name, const char *text)
{
    gnutls_datum_t d = {(unsigned char *)text, (unsigned)strlen(text)};
    return write_datum(name, &d);
}

static char *
write_key(const char *name, gnutls_x509_privkey_t k)
{
    gnutls_datum_t d;
    cr_assert_eq(gnutls_x509_privkey_export2(k, GNUTLS_X509_FMT_PEM, &d), 0);
    char *p = write_datum(name, &d);
    gnutls_free(d.data);
    return p;
}

/* Writes the certificates one after the other (a chain, leaf first). */
static char *
write_certs(const char *name, gnutls_x509_crt_t a, gnutls_x509_crt_t b)
{
    gnutls_datum_t da, db = {NULL, 0};
    cr_assert_eq(gnutls_x509_crt_export2(a, GNUTLS_X509_FMT_PEM, &da), 0);
    if (b)
        cr_assert_eq(gnutls_x509_crt_export2(b, GNUTLS_X509_FMT_PEM, &db), 0);
    cleanup_free char *all = xasprintf("%.*s%.*s", (int)da.size, (char *)da.data, (int)db.size,
                                       db.data ? (char *)db.data : "");
    gnutls_free(da.data);
    gnutls_free(db.data);
    return write_text(name, all);
}

struct pki {
    gnutls_x509_privkey_t ca_key, key, other_key;
    gnutls_x509_crt_t ca, leaf;
    char *ca_pem, *leaf_pem, *chain_pem, *key_pem, *other_key_pem;
};

static void
pki_make(struct pki *p)
{
    p->ca_key = new_key();
    p->key = new_key();
    p->other_key = new_key();
    p->ca = new_cert("sched-tls test CA", p->ca_key, NULL, NULL, 1);
    p->leaf = new_cert("127.0.0.1", p->key, p->ca, p->ca_key, 0);
    p->ca_pem = write_certs("ca.pem", p->ca, NULL);
    p->leaf_pem = write_certs("leaf.pem", p->leaf, NULL);
    p->chain_pem = write_certs("chain.pem", p->leaf, p->ca);
    p->key_pem = write_key("leaf.key", p->key);
    p->other_key_pem = write_key("other.key", p->other_key);
}

static void
pki_done(struct pki *p)
{
    gnutls_x509_crt_deinit(p->ca);
    gnutls_x509_crt_deinit(p->leaf);
    gnutls_x509_privkey_deinit(p->ca_key);
    gnutls_x509_privkey_deinit(p->key);
    gnutls_x509_privkey_deinit(p->other_key);
    free(p->ca_pem);
    free(p->leaf_pem);
    free(p->chain_pem);
    free(p->key_pem);
    free(p->other_key_pem);
}

/* Loading must fail with a message containing both needles. */
static void
expect_refused(const char *cert, const char *key, const char *needle1, const char *needle2)
{
    cleanup_error struct cm_error *err = NULL;
    struct sched_tls *t = sched_tls_load(cert, key, &err);
    cr_assert_null(t, "'%s' + '%s' were accepted", cert ? cert : "-", key ? key : "-");
    cr_assert_not_null(err);
    cr_assert_not_null(strstr(err->msg, needle1), "'%s' lacks '%s'", err->msg, needle1);
    if (needle2)
        cr_assert_not_null(strstr(err->msg, needle2), "'%s' lacks '%s'", err->msg, needle2);
}

Test(sched_tls, good_pair_loads)
{
    struct pki p;
    cleanup_error struct cm_error *err = NULL;
    pki_make(&p);
    cleanup_sched_tls struct sched_tls *t = sched_tls_load(p.leaf_pem, p.key_pem, &err);
    cr_assert_not_null(t, "%s", err ? err->msg : "");
    cr_assert_eq(t->n_certs, 1);
    cr_assert_not_null(strstr(t->subject, "CN=127.0.0.1"), "%s", t->subject);
    cr_assert(t->not_after > time(NULL) && t->not_before < time(NULL));
    cr_assert_not_null(strstr(t->cert_pem, "BEGIN CERTIFICATE"));
    cr_assert_not_null(strstr(t->key_pem, "PRIVATE KEY"));
    cr_assert_eq(t->key_mode, 0600);
    pki_done(&p);
}

Test(sched_tls, chain_loads_leaf_first)
{
    struct pki p;
    cleanup_error struct cm_error *err = NULL;
    pki_make(&p);
    cleanup_sched_tls struct sched_tls *t = sched_tls_load(p.chain_pem, p.key_pem, &err);
    cr_assert_not_null(t, "%s", err ? err->msg : "");
    cr_assert_eq(t->n_certs, 2);
    cr_assert_not_null(strstr(t->subject, "CN=127.0.0.1"), "%s", t->subject);
    /* The CA first: the key belongs to the second certificate, not the first. */
    cleanup_free char *wrong = write_certs("wrong-order.pem", p.ca, p.leaf);
    expect_refused(wrong, p.key_pem, "does not belong", wrong);
    pki_done(&p);
}

Test(sched_tls, missing_and_empty_files_are_named)
{
    struct pki p;
    pki_make(&p);
    cleanup_free char *nope = xasprintf("%s/nope.pem", dir);
    cleanup_free char *empty = write_text("empty.pem", "");
    expect_refused(nope, p.key_pem, "certificate file", nope);
    expect_refused(p.leaf_pem, nope, "key file", nope);
    expect_refused(empty, p.key_pem, "certificate file", "empty");
    expect_refused(p.leaf_pem, empty, "key file", "empty");
    pki_done(&p);
}

Test(sched_tls, only_one_of_the_pair)
{
    struct pki p;
    pki_make(&p);
    expect_refused(p.leaf_pem, NULL, "--tls-key", NULL);
    expect_refused(NULL, p.key_pem, "--tls-cert", NULL);
    pki_done(&p);
}

Test(sched_tls, swapped_or_garbled_files)
{
    struct pki p;
    pki_make(&p);
    expect_refused(p.key_pem, p.key_pem, "certificate file", "no PEM certificate");
    expect_refused(p.leaf_pem, p.leaf_pem, "key file", "no PEM private key");
    cleanup_free char *bad_cert =
        write_text("bad.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    expect_refused(bad_cert, p.key_pem, "certificate file", bad_cert);
    cleanup_free char *bad_key =
        write_text("bad.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    expect_refused(p.leaf_pem, bad_key, "key file", bad_key);
    static const char bin[] = "\x30\x82\x01\x00\x00binary";
    gnutls_datum_t d = {(unsigned char *)bin, sizeof(bin) - 1};
    cleanup_free char *der = write_datum("der.crt", &d);
    expect_refused(der, p.key_pem, "certificate file", "binary");
    pki_done(&p);
}

Test(sched_tls, key_of_another_certificate)
{
    struct pki p;
    pki_make(&p);
    expect_refused(p.leaf_pem, p.other_key_pem, "does not belong", p.other_key_pem);
    pki_done(&p);
}

Test(sched_tls, encrypted_key_is_refused)
{
    struct pki p;
    gnutls_datum_t d;
    pki_make(&p);
    cr_assert_eq(gnutls_x509_privkey_export2_pkcs8(p.key, GNUTLS_X509_FMT_PEM, "secret",
                                                   GNUTLS_PKCS_PBES2_AES_256, &d),
                 0);
    cleanup_free char *enc = write_datum("enc.key", &d);
    gnutls_free(d.data);
    expect_refused(p.leaf_pem, enc, "encrypted", enc);
    pki_done(&p);
}
