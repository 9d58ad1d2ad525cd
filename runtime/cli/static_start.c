/* SPDX-License-Identifier: Apache-2.0 */
/* The static release binary's start-up without glibc's CPU probing: our own
 * __libc_start_main for glibc 2.36 on x86-64 (other builds: glibc's own).
 *
 * Why: glibc's static start-up probes the CPU's caches through about a
 * hundred `cpuid` instructions (init_cpu_features, dl_init_cacheinfo:
 * handle_intel and intel_check_word loop over leaves 2 and 4), all inlined
 * in __libc_start_main, with no tunable to skip them. On a VM each `cpuid`
 * traps to the hypervisor (6-9 us here): 0.55-0.7 ms per start, a fifth of
 * the CPU of a whole `run`. Every other step of glibc's start is kept, in
 * glibc's order, by calling glibc's own functions; only the probing is left
 * out. Its results stay zero, so the IFUNC resolvers pick the baseline
 * (SSE2) string functions, and the cache sizes the string functions read are
 * the fixed values below: correct everywhere, a little slower for large
 * copies, which the runtime does not do.
 *
 * Built only with SKIFF_STATIC_START (runtime/module.mk: release) and only
 * against glibc 2.36 (Debian 12): these are glibc-internal interfaces, so
 * another version falls back to glibc's start-up at compile time. */
#include <features.h>

#if defined(SKIFF_STATIC_START) && defined(__x86_64__) && __GLIBC__ == 2 && __GLIBC_MINOR__ == 36

#include <elf.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* glibc-internal (hidden in libc.a, which a static link may use). */
extern char **__environ;
extern void *__libc_stack_end;
extern void *_dl_random;
extern int __libc_enable_secure;
void _dl_aux_init(ElfW(auxv_t) * av);
void __tunables_init(char **env);
void _dl_relocate_static_pie(void);
void __libc_setup_tls(void);
void __libc_early_init(_Bool initial);
void __libc_init_first(int argc, char **argv, char **envp);
void __libc_check_standard_fds(void);
void *_dl_debug_initialize(ElfW(Addr) ldbase, long ns);
extern void __pthread_initialize_minimal(void) __attribute__((weak));
int __cxa_atexit(void (*f)(void *), void *arg, void *d);
void _init(void);
void _fini(void);
extern void (*__preinit_array_start[])(int, char **, char **) __attribute__((visibility("hidden")));
extern void (*__preinit_array_end[])(int, char **, char **) __attribute__((visibility("hidden")));
extern void (*__init_array_start[])(int, char **, char **) __attribute__((visibility("hidden")));
extern void (*__init_array_end[])(int, char **, char **) __attribute__((visibility("hidden")));
extern void (*__fini_array_start[])(void) __attribute__((visibility("hidden")));
extern void (*__fini_array_end[])(void) __attribute__((visibility("hidden")));
extern const ElfW(Rela) __rela_iplt_start[] __attribute__((weak, visibility("hidden")));
extern const ElfW(Rela) __rela_iplt_end[] __attribute__((weak, visibility("hidden")));

/* glibc's libc-start.o defines these (the probing's results, read by
 * memcpy/memset); defining them here keeps that object out of the link.
 * Sizes of a common x86-64 core: 32 KiB L1d, 1 MiB of shared cache. */
long int __x86_data_cache_size_half = 32 * 1024 / 2;
long int __x86_data_cache_size = 32 * 1024;
long int __x86_shared_cache_size_half = 1024 * 1024 / 2;
long int __x86_shared_cache_size = 1024 * 1024;
long int __x86_shared_non_temporal_threshold = 1024 * 1024 * 3 / 4;
long int __x86_rep_movsb_threshold = 2048;
long int __x86_rep_stosb_threshold = 2048;
long int __x86_rep_movsb_stop_threshold = 1024 * 1024 * 3 / 4;
int __x86_string_control;

int __libc_start_main(int (*main)(int, char **, char **), int argc, char **argv, void (*init)(void),
                      void (*fini)(void), void (*rtld_fini)(void), void *stack_end);

static void
call_fini(void *unused)
{
    size_t n = (size_t)(__fini_array_end - __fini_array_start);

    (void)unused;
    while (n-- > 0)
        __fini_array_start[n]();
    _fini();
}

/* No stack protector: the canary is set up in here. Nothing before the
 * IRELATIVE relocations may call an IFUNC (memcpy, strlen...). */
__attribute__((no_stack_protector, noinline)) int
__libc_start_main(int (*main)(int, char **, char **), int argc, char **argv, void (*init)(void),
                  void (*fini)(void), void (*rtld_fini)(void), void *stack_end)
{
    char **p = &argv[argc + 1];
    size_t n;

    (void)init; /* glibc >= 2.34's crt1.o passes none */
    (void)fini;
    __environ = p;
    __libc_stack_end = stack_end;
    while (*p)
        p++;
    _dl_aux_init((ElfW(auxv_t) *)(p + 1));
    __tunables_init(__environ);
    _dl_relocate_static_pie();
    for (const ElfW(Rela) *r = __rela_iplt_start; r < __rela_iplt_end; r++) {
        ElfW(Addr) (*resolver)(void) = (ElfW(Addr)(*)(void))r->r_addend;
        if (ELF64_R_TYPE(r->r_info) != R_X86_64_IRELATIVE)
            abort();
        *(ElfW(Addr) *)r->r_offset = resolver();
    }
    __libc_setup_tls();
    /* The stack guard and the pointer guard from the kernel's AT_RANDOM, as
     * glibc does (the guard's low byte zero stops string reads of it). Every
     * kernel since 2.6.29 passes AT_RANDOM; without it, refuse to run. */
    if (!_dl_random)
        abort();
    {
        uintptr_t guard = ((const uintptr_t *)_dl_random)[0] & ~(uintptr_t)0xff;
        __asm__ volatile("mov %0, %%fs:0x28" : : "r"(guard) : "memory");
    }
    if (__pthread_initialize_minimal)
        __pthread_initialize_minimal();
    {
        uintptr_t guard = ((const uintptr_t *)_dl_random)[1];
        __asm__ volatile("mov %0, %%fs:0x30" : : "r"(guard) : "memory");
    }
    if (rtld_fini)
        __cxa_atexit((void (*)(void *))(void *)rtld_fini, NULL, NULL);
    __libc_early_init(1);
    __libc_init_first(argc, argv, __environ);
    __cxa_atexit(call_fini, NULL, NULL);
    if (__libc_enable_secure)
        __libc_check_standard_fds();
    n = (size_t)(__preinit_array_end - __preinit_array_start);
    for (size_t i = 0; i < n; i++)
        __preinit_array_start[i](argc, argv, __environ);
    _init();
    n = (size_t)(__init_array_end - __init_array_start);
    for (size_t i = 0; i < n; i++)
        __init_array_start[i](argc, argv, __environ);
    _dl_debug_initialize(0, 0);
    /* glibc also arms a jump buffer here for pthread_exit() from the main
     * thread; the runtime has no threads and never calls it. */
    exit(main(argc, argv, __environ));
}

#else
/* glibc's own start-up. */
typedef int skiff_static_start_unused;
#endif
