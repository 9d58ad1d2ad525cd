/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the image index: an unchanged re-pull within the hour leaves
 * index.json alone, anything else rewrites it. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../images/store_private.h"
#include "cm/cleanup.h"
#include "cm/xalloc.h"

#define DG(c)                                                                                      \
    "sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c  \
        c c c c c c c c c c c c c c c c c c c c c c

static char dir[] = "/tmp/unit-img-index-XXXXXX";

static void
setup(void)
{
    cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
    cleanup_free char *cmd = xasprintf("rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static ino_t
index_ino(void)
{
    cleanup_free char *p = xasprintf("%s/index.json", dir);
    struct stat st;
    cr_assert_eq(stat(p, &st), 0, "%s", p);
    return st.st_ino;
}

static int64_t
stored_pulled(struct img_store *s)
{
    cleanup_error struct cm_error *err = NULL;
    struct img_image *got = NULL;
    int64_t t;
    cr_assert_eq(img_store_get(s, "127.0.0.1:5000/busybox:latest", NULL, &got, &err), 0, "%s",
                 err ? err->msg : "");
    t = got->pulled;
    img_image_free(got);
    return t;
}

Test(img_store_index, unchanged_repull_keeps_the_record, .init = setup, .fini = teardown)
{
    cleanup_error struct cm_error *err = NULL;
    struct img_store *s = NULL;
    char *layers[] = {DG("a"), NULL}, *diff_ids[] = {DG("b"), NULL};
    struct img_image img = {.name = "127.0.0.1:5000/busybox:latest",
                            .digest = DG("c"),
                            .manifest = DG("c"),
                            .config = DG("d"),
                            .platform = "linux/amd64",
                            .layers = layers,
                            .diff_ids = diff_ids,
                            .n_layers = 1,
                            .size = 100,
                            .pulled = 1000000};
    ino_t ino;

    cr_assert_eq(img_store_open(dir, &s, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(img_store_index_put(s, &img, &err), 0, "%s", err ? err->msg : "");
    ino = index_ino();
    /* The same record a minute later: nothing written. */
    img.pulled += 60;
    cr_assert_eq(img_store_index_put(s, &img, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(index_ino(), ino, "an unchanged re-pull rewrote index.json");
    cr_assert_eq(stored_pulled(s), 1000000);
    /* The tag moved: rewritten. */
    img.digest = img.manifest = DG("e");
    cr_assert_eq(img_store_index_put(s, &img, &err), 0, "%s", err ? err->msg : "");
    cr_assert_neq(index_ino(), ino, "a moved tag was not recorded");
    ino = index_ino();
    cr_assert_eq(stored_pulled(s), 1000060);
    /* Unchanged but over an hour later: the pull time is refreshed. */
    img.pulled += 3600;
    cr_assert_eq(img_store_index_put(s, &img, &err), 0, "%s", err ? err->msg : "");
    cr_assert_neq(index_ino(), ino, "an hour-old pull time was kept");
    cr_assert_eq(stored_pulled(s), 1003660);
    img_store_free(s);
}
