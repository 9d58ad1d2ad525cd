/* SPDX-License-Identifier: Apache-2.0 */
/* Differential tests: our BPF generator (rt_seccomp_compile) must return
 * what libseccomp's own compiler returns, for the default profiles and for
 * seeded random profiles, on every probed (arch, syscall, arguments). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <jansson.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <string.h>

#include "bpf_eval.h"
#include "cm/error.h"
#include "rt/security.h"
#include "seccomp_build.h"

static const uint64_t values[] = {
    0, 1, 5, 8, 0x30, 0xff, 0x20008, 0xffffffff, 0x100000000ull, 0x100000005ull, UINT64_MAX,
};
#define N_VALUES (sizeof(values) / sizeof(values[0]))

/* Names libseccomp multiplexes on x86 (socketcall, ipc) are left out: it
 * adds extra socketcall/ipc rules there that we do not (docs/seccomp.md). */
static const char *const pool[] = {
    "getpid",     "getppid",     "mkdir",  "mkdirat",  "rmdir",   "kill",       "tkill",
    "getcwd",     "chdir",       "fchdir", "open",     "openat",  "close",      "read",
    "write",      "personality", "clone",  "unshare",  "setns",   "mount",      "umount2",
    "reboot",     "chroot",      "ptrace", "prctl",    "ioctl",   "fcntl",      "dup",
    "dup2",       "dup3",        "mmap",   "mprotect", "madvise", "futex",      "nanosleep",
    "getuid",     "setuid",      "setgid", "uname",    "time",    "arch_prctl", "_llseek",
    "lseek",      "pipe",        "pipe2",  "sync",     "acct",    "swapon",     "swapoff",
    "exit_group", "fchmodat2",   "statx",  "waitid",   "wait4",
};
#define N_POOL (sizeof(pool) / sizeof(pool[0]))

static uint64_t rng_state;
static uint32_t
rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33) % n;
}

static enum rt_seccomp_action
random_action(uint32_t *errno_ret, bool *has)
{
    static const enum rt_seccomp_action acts[] = {
        RT_SCMP_ALLOW, RT_SCMP_ERRNO, RT_SCMP_ERRNO, RT_SCMP_KILL_PROCESS,
        RT_SCMP_KILL,  RT_SCMP_TRAP,  RT_SCMP_LOG,   RT_SCMP_TRACE,
    };
    enum rt_seccomp_action a = acts[rnd(sizeof(acts) / sizeof(acts[0]))];
    *has = false;
    if ((a == RT_SCMP_ERRNO || a == RT_SCMP_TRACE) && rnd(2)) {
        *has = true;
        *errno_ret = 1 + rnd(40);
    }
    return a;
}

static struct rt_seccomp *
random_profile(uint64_t seed, bool split_eq)
{
    static const char *const arch_sets[] = {
        NULL, "SCMP_ARCH_X86_64", "SCMP_ARCH_X86_64,SCMP_ARCH_X86",
        "SCMP_ARCH_X86_64,SCMP_ARCH_X86,SCMP_ARCH_X32", "SCMP_ARCH_X86,SCMP_ARCH_X32"};
    bool used[N_POOL] = {false};
    bool has;
    uint32_t e = 0;

    rng_state = seed;
    struct rt_seccomp *s = sb_new(random_action(&e, &has));
    s->has_default_errno_ret = has;
    s->default_errno_ret = e;
    const char *arches = arch_sets[rnd(sizeof(arch_sets) / sizeof(arch_sets[0]))];
    if (arches)
        s->architectures = sb_strv(arches);
    size_t n_entries = 1 + rnd(12);
    for (size_t i = 0; i < n_entries; i++) {
        char names[256] = "";
        size_t n_names = 1 + rnd(4);
        for (size_t k = 0; k < n_names; k++) {
            size_t p = rnd(N_POOL);
            if (used[p])
                continue;
            used[p] = true;
            if (names[0])
                strcat(names, ",");
            strcat(names, pool[p]);
        }
        if (!names[0])
            continue;
        struct rt_seccomp_syscall *sc = sb_rule(s, random_action(&e, &has), names);
        sc->has_errno_ret = has;
        sc->errno_ret = e;
        /* Distinct indexes: libseccomp 2.5 mis-compiles overlapping rules
         * on one argument (an unmatched range check falls to the default
         * action instead of the next rule), which is why runc splits them
         * and why we test split rules against the interpreter only. */
        size_t n_args = rnd(4), first = rnd(3);
        if (split_eq) {
            /* Same index, EQ on distinct values: ORed rules libseccomp gets right. */
            for (size_t j = 0; j < n_args; j++)
                sb_arg(sc, (unsigned)first, RT_SCMP_CMP_EQ, values[(first + 3 * j) % N_VALUES], 0);
            continue;
        }
        for (size_t j = 0; j < n_args; j++)
            sb_arg(sc, (unsigned)((first + j) % 3), (enum rt_seccomp_op)rnd(7),
                   values[rnd(N_VALUES)], values[rnd(N_VALUES)]);
    }
    return s;
}

static void
dump(const struct rt_seccomp *s)
{
    cr_log_info("default %d errno %d/%u", s->default_action, s->has_default_errno_ret,
                s->default_errno_ret);
    for (size_t i = 0; s->architectures && s->architectures[i]; i++)
        cr_log_info("arch %s", s->architectures[i]);
    for (size_t i = 0; i < s->n_syscalls; i++) {
        const struct rt_seccomp_syscall *sc = &s->syscalls[i];
        cr_log_info("[%zu] %s%s action %d errno %d/%u", i, sc->names[0], sc->names[1] ? ",..." : "",
                    sc->action, sc->has_errno_ret, sc->errno_ret);
        for (size_t k = 1; sc->names[k]; k++)
            cr_log_info("      also %s", sc->names[k]);
        for (size_t j = 0; j < sc->n_args; j++)
            cr_log_info("      arg %u op %d %#llx %#llx", sc->args[j].index, sc->args[j].op,
                        (unsigned long long)sc->args[j].value,
                        (unsigned long long)sc->args[j].value_two);
    }
}

/* Probes both programs; returns the number of mismatches (first few printed). */
static size_t
compare(const struct rt_seccomp *s, const char *what)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_seccomp_filter struct rt_seccomp_filter *ours = NULL;
    cleanup_rt_seccomp_filter struct rt_seccomp_filter *ref = NULL;
    static const uint32_t audits[] = {AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64};
    size_t n_ours, n_ref, bad = 0;

    cr_assert_eq(rt_seccomp_compile(s, &ours, &err), 0, "%s: %s", what, err ? err->msg : "");
    cr_assert_eq(rt_seccomp_compile_libseccomp(s, &ref, &err), 0, "%s: %s", what,
                 err ? err->msg : "");
    const struct sock_filter *po = rt_seccomp_filter_program(ours, &n_ours);
    const struct sock_filter *pr = rt_seccomp_filter_program(ref, &n_ref);

    for (size_t a = 0; a < sizeof(audits) / sizeof(audits[0]); a++)
        for (uint32_t i = 0; i < 1100; i++) {
            struct seccomp_data d = {.arch = audits[a]};
            /* 0..499 plain numbers, then the x32 range, then extremes. */
            d.nr = i < 500    ? (int)i
                   : i < 1080 ? (int)(0x40000000u + i - 500)
                              : (int)(0x7fffffe0u + (i - 1080) * 0x4000000u);
            if (audits[a] == AUDIT_ARCH_I386 && (d.nr == 102 || d.nr == 117))
                continue; /* socketcall, ipc: multiplexed by libseccomp */
            for (size_t x = 0; x < N_VALUES; x++)
                for (size_t y = 0; y < N_VALUES; y += (x % 3) + 1) {
                    d.args[0] = values[x];
                    d.args[1] = values[y];
                    d.args[2] = values[(x + y) % N_VALUES];
                    uint32_t ro = bpf_eval(po, n_ours, &d), rr = bpf_eval(pr, n_ref, &d);
                    if (ro == rr)
                        continue;
                    if (bad++ < 5)
                        cr_log_error("%s: arch %#x nr %#x args %#llx %#llx %#llx: ours %#x, "
                                     "libseccomp %#x",
                                     what, d.arch, (unsigned)d.nr, (unsigned long long)d.args[0],
                                     (unsigned long long)d.args[1], (unsigned long long)d.args[2],
                                     ro, rr);
                }
        }
    if (bad)
        dump(s);
    return bad;
}

Test(rt_seccomp_diff, default_profile, .timeout = 60)
{
    cleanup_sb struct rt_seccomp *s = rt_seccomp_default_profile();
    cr_expect_eq(compare(s, "default"), 0);
}

Test(rt_seccomp_diff, default_profile_sys_admin, .timeout = 60)
{
    cleanup_sb struct rt_seccomp *s = rt_seccomp_default_profile_for_caps(
        (UINT64_C(1) << CAP_SYS_ADMIN) | (UINT64_C(1) << CAP_SYS_PTRACE));
    cr_expect_eq(compare(s, "default+sys_admin"), 0);
}

struct seed_case {
    uint64_t seed;
};

ParameterizedTestParameters(rt_seccomp_diff, random_profiles)
{
    static struct seed_case seeds[100];
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
        seeds[i].seed = 0x5eed0000 + i * 7919;
    return cr_make_param_array(struct seed_case, seeds, sizeof(seeds) / sizeof(seeds[0]));
}

ParameterizedTest(struct seed_case *c, rt_seccomp_diff, random_profiles, .timeout = 60)
{
    cleanup_sb struct rt_seccomp *s = random_profile(c->seed, false);
    char what[64];
    snprintf(what, sizeof(what), "seed %#llx", (unsigned long long)c->seed);
    cr_expect_eq(compare(s, what), 0, "%s", what);
}

ParameterizedTestParameters(rt_seccomp_diff, random_split_eq)
{
    static struct seed_case seeds[20];
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
        seeds[i].seed = 0xe9000000 + i * 104729;
    return cr_make_param_array(struct seed_case, seeds, sizeof(seeds) / sizeof(seeds[0]));
}

ParameterizedTest(struct seed_case *c, rt_seccomp_diff, random_split_eq, .timeout = 60)
{
    cleanup_sb struct rt_seccomp *s = random_profile(c->seed, true);
    char what[64];
    snprintf(what, sizeof(what), "split seed %#llx", (unsigned long long)c->seed);
    cr_expect_eq(compare(s, what), 0, "%s", what);
}

/* Long rule chains make subtrees longer than a conditional jump reaches
 * (255): the generator must insert `ja` trampolines and stay correct. */
Test(rt_seccomp_diff, far_jumps, .timeout = 60)
{
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_seccomp_filter struct rt_seccomp_filter *f = NULL;
    size_t n = 0;
    s->architectures = sb_strv("SCMP_ARCH_X86_64,SCMP_ARCH_X86,SCMP_ARCH_X32");
    for (size_t i = 0; i < N_POOL; i++) {
        struct rt_seccomp_syscall *sc = sb_rule(s, RT_SCMP_ERRNO, pool[i]);
        sb_errno(sc, 1 + (uint32_t)i);
        sb_arg(sc, 0, RT_SCMP_CMP_GT, values[i % N_VALUES], 0);
        sb_arg(sc, 1, RT_SCMP_CMP_MASKED_EQ, 0xff, values[(i + 3) % N_VALUES]);
        sb_arg(sc, 2, RT_SCMP_CMP_NE, values[(i + 5) % N_VALUES], 0);
    }
    cr_assert_eq(rt_seccomp_compile(s, &f, &err), 0, "%s", err ? err->msg : "");
    rt_seccomp_filter_program(f, &n);
    cr_expect_gt(n, 1000, "only %zu instructions: no far jump exercised", n);
    cr_expect_eq(compare(s, "far jumps"), 0);
}

/* The profile podman hands to runtimes on this host (containers-common),
 * through the real config parser: both compilers must agree on it too.
 * The Docker-style selectors are resolved here as podman does for an
 * amd64 host with its default capabilities. */
static bool
json_array_has(json_t *arr, const char *const *any)
{
    size_t i;
    json_t *v;
    json_array_foreach (arr, i, v) {
        for (const char *const *a = any; *a; a++)
            if (json_is_string(v) && strcmp(json_string_value(v), *a) == 0)
                return true;
    }
    return false;
}

Test(rt_seccomp_diff, podman_profile_through_the_parser, .timeout = 60)
{
    static const char *const amd64[] = {"amd64", NULL};
    static const char *const caps[] = {"CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FOWNER",
                                       "CAP_FSETID",  "CAP_KILL",         "CAP_NET_BIND_SERVICE",
                                       "CAP_SETFCAP", "CAP_SETGID",       "CAP_SETPCAP",
                                       "CAP_SETUID",  "CAP_SYS_CHROOT",   NULL};
    const char *path = "/usr/share/containers/seccomp.json";
    json_error_t jerr;
    json_auto_t *prof = NULL, *cfg_json = NULL;
    cleanup_error struct cm_error *err = NULL;
    struct rt_config *cfg = NULL;
    size_t i;
    json_t *e, *arch;

    if (seccomp_arch_native() != SCMP_ARCH_X86_64)
        cr_skip_test("x86_64 host only");
    prof = json_load_file(path, 0, &jerr);
    if (!prof)
        cr_skip_test("%s not readable", path);
    json_t *sys = json_array(), *arches = json_array();
    json_array_foreach (json_object_get(prof, "archMap"), i, arch) {
        if (strcmp(json_string_value(json_object_get(arch, "architecture")), "SCMP_ARCH_X86_64"))
            continue;
        json_array_append(arches, json_object_get(arch, "architecture"));
        json_array_extend(arches, json_object_get(arch, "subArchitectures"));
    }
    json_array_foreach (json_object_get(prof, "syscalls"), i, e) {
        json_t *inc = json_object_get(e, "includes"), *exc = json_object_get(e, "excludes");
        json_t *v;
        if ((v = json_object_get(inc, "arches")) && !json_array_has(v, amd64))
            continue;
        if ((v = json_object_get(inc, "caps")) && !json_array_has(v, caps))
            continue;
        if ((v = json_object_get(exc, "arches")) && json_array_has(v, amd64))
            continue;
        if ((v = json_object_get(exc, "caps")) && json_array_has(v, caps))
            continue;
        json_t *n = json_object();
        json_object_set(n, "names", json_object_get(e, "names"));
        json_object_set(n, "action", json_object_get(e, "action"));
        if ((v = json_object_get(e, "errnoRet")))
            json_object_set(n, "errnoRet", v);
        if ((v = json_object_get(e, "args")) && json_is_array(v))
            json_object_set(n, "args", v);
        json_array_append_new(sys, n);
    }
    json_t *sc =
        json_pack("{s:O, s:o, s:o}", "defaultAction", json_object_get(prof, "defaultAction"),
                  "architectures", arches, "syscalls", sys);
    if (json_object_get(prof, "defaultErrnoRet"))
        json_object_set(sc, "defaultErrnoRet", json_object_get(prof, "defaultErrnoRet"));
    cfg_json = json_pack("{s:s, s:{s:s}, s:{s:o}}", "ociVersion", "1.1.0", "root", "path", "rootfs",
                         "linux", "seccomp", sc);
    cr_assert_not_null(cfg_json);
    char *text = json_dumps(cfg_json, 0);
    int r = rt_config_parse(text, strlen(text), "podman-seccomp.json", &cfg, &err);
    free(text);
    cr_assert_eq(r, 0, "%s", err ? err->msg : "");
    cr_assert_not_null(cfg->linux_.seccomp);
    cr_expect_gt(cfg->linux_.seccomp->n_syscalls, 5);
    cr_expect_eq(rt_seccomp_validate(cfg->linux_.seccomp, &err), 0, "%s", err ? err->msg : "");
    cr_expect_eq(compare(cfg->linux_.seccomp, "podman"), 0);
    rt_config_free(cfg);
}
