/* SPDX-License-Identifier: Apache-2.0 */
/* A Criterion suite whose tests each get a fresh temporary directory, the
 * set-up many unit test files share. */
#pragma once

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cm/file.h"

/* Criterion suite `suite` whose tests each start with a new directory at
 * `dir` (a static buffer made from the mkdtemp template tmpl, reset before
 * each test) after which the optional statements run (e.g. a fake tree's
 * files); the directory and all below it are removed after each test. */
#define TMPDIR_SUITE(suite, dir, tmpl, ...)                                                        \
    static char dir[] = tmpl;                                                                      \
    static void suite##_init(void)                                                                 \
    {                                                                                              \
        strcpy(dir, tmpl);                                                                         \
        cr_assert_not_null(mkdtemp(dir));                                                          \
        __VA_ARGS__;                                                                               \
    }                                                                                              \
    static void suite##_fini(void)                                                                 \
    {                                                                                              \
        cm_rm_rf(dir, NULL);                                                                       \
    }                                                                                              \
    TestSuite(suite, .init = suite##_init, .fini = suite##_fini)
